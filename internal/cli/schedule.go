package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/schedule"
	"github.com/posml/posml/internal/strptime"
	"github.com/posml/posml/internal/validate"
)

func init() { register(newScheduleCmd) }

func newScheduleCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Inspect schedules: when pipelines will run",
	}
	c.AddCommand(newScheduleNextCmd(e))
	return c
}

// scheduleNextJSON is the contract of `posml schedule next --json`; other
// tools parse it, so fields are only ever added.
type scheduleNextJSON struct {
	Start      string        `json:"start"`
	StartLocal string        `json:"start_local"`
	Runs       []runJSONItem `json:"runs"`
}

type runJSONItem struct {
	FireAt            string `json:"fire_at"`
	LogicalDate       string `json:"logical_date"`
	DataIntervalStart string `json:"data_interval_start"`
	DataIntervalEnd   string `json:"data_interval_end"`
}

func newScheduleNextCmd(e *env) *cobra.Command {
	var (
		interval, tz, start, dateFormat, mode, now, lastRun string
		catchup, asJSON                                     bool
		count                                               int
	)
	c := &cobra.Command{
		Use:   "next --interval SPEC --tz ZONE --start TEXT",
		Short: "Print the next runs of a schedule",
		Long: `Print the runs a schedule will produce next, as of --now (default: the current time).

With --catchup: the runs after --last-run (or from the start) whose fire time is
strictly after now. Without it: first the run the scheduler would create at now
(which may be due at once), then the following ones.

Instants are printed in the zone's offset (RFC 3339).`,
		Example: `  posml schedule next --interval @daily --tz Asia/Seoul --start "2024-01-01 00:00:00"
  posml schedule next --interval "30 2 * * *" --tz America/New_York --start "2024-03-01 00:00:00" \
      --now 2024-03-09T12:00:00Z --count 3 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loc, err := loadZone(tz)
			if err != nil {
				return err
			}
			tt, err := buildTimetable(interval, loc, start, dateFormat, mode, catchup)
			if err != nil {
				return err
			}
			at := time.Now()
			if now != "" {
				if at, err = time.Parse(time.RFC3339, now); err != nil {
					return &usageError{fmt.Errorf("--now %q: want RFC 3339 such as 2024-03-10T07:00:00Z", now)}
				}
			}
			var last *schedule.Interval
			if lastRun != "" {
				iv, err := parseInterval(lastRun)
				if err != nil {
					return &usageError{err}
				}
				last = &iv
			}
			if count < 1 {
				return &usageError{errors.New("--count must be at least 1")}
			}
			runs := tt.Upcoming(last, at, count)
			if asJSON {
				return printScheduleJSON(e, tt, loc, runs)
			}
			printScheduleText(e, tt, loc, runs, at)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&interval, "interval", "", "schedule: a preset (@once @hourly @daily @weekly @monthly @quarterly @yearly) or a 5-field cron")
	f.StringVar(&tz, "tz", "UTC", "IANA time zone the cron and the start date are read in")
	f.StringVar(&start, "start", "", "start date, written in --date-format")
	f.StringVar(&dateFormat, "date-format", "%Y-%m-%d %H:%M:%S", "Python strptime format of --start")
	f.StringVar(&mode, "mode", "trigger", "run model: trigger (fire at each tick, Airflow 3) or interval (fire at the end of each data interval, Airflow 2)")
	f.BoolVar(&catchup, "catchup", false, "create every missed run since the start")
	f.StringVar(&now, "now", "", "evaluate as of this instant (RFC 3339; default: now)")
	f.StringVar(&lastRun, "last-run", "", "data interval of the last scheduled run: START,END (RFC 3339)")
	f.IntVar(&count, "count", 5, "how many runs to print")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = c.MarkFlagRequired("interval")
	_ = c.MarkFlagRequired("start")
	return c
}

// loadZone loads an IANA zone, refusing "" and "Local", whose meaning would
// depend on the host.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q: give an IANA name such as Asia/Seoul or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: give an IANA name such as Asia/Seoul or UTC", name)
	}
	return loc, nil
}

func buildTimetable(interval string, loc *time.Location, start, dateFormat, mode string, catchup bool) (schedule.Timetable, error) {
	s, err := schedule.Parse(interval, loc)
	if err != nil {
		return schedule.Timetable{}, fmt.Errorf("--interval: %w", err)
	}
	m, err := schedule.ParseMode(mode)
	if err != nil {
		return schedule.Timetable{}, fmt.Errorf("--mode: %w", err)
	}
	res, err := strptime.Parse(start, dateFormat)
	if err != nil {
		return schedule.Timetable{}, fmt.Errorf("--start: %w", err)
	}
	return schedule.Timetable{Schedule: s, Start: res.Instant(loc), Mode: m, Catchup: catchup}, nil
}

func parseInterval(s string) (schedule.Interval, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return schedule.Interval{}, fmt.Errorf("--last-run %q: want START,END in RFC 3339", s)
	}
	start, err1 := time.Parse(time.RFC3339, strings.TrimSpace(a))
	end, err2 := time.Parse(time.RFC3339, strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return schedule.Interval{}, fmt.Errorf("--last-run %q: want START,END in RFC 3339", s)
	}
	if end.Before(start) {
		return schedule.Interval{}, fmt.Errorf("--last-run %q: END is before START", s)
	}
	return schedule.Interval{Start: start, End: end}, nil
}

func printScheduleJSON(e *env, tt schedule.Timetable, loc *time.Location, runs []schedule.Run) error {
	out := scheduleNextJSON{
		Start:      rfc(tt.Start, loc),
		StartLocal: tt.Start.In(loc).Format("2006-01-02T15:04:05"),
		Runs:       make([]runJSONItem, 0, len(runs)),
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, runJSONItem{
			FireAt:            rfc(r.FireAt, loc),
			LogicalDate:       rfc(r.LogicalDate, loc),
			DataIntervalStart: rfc(r.Interval.Start, loc),
			DataIntervalEnd:   rfc(r.Interval.End, loc),
		})
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func rfc(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }

func printScheduleText(e *env, tt schedule.Timetable, loc *time.Location, runs []schedule.Run, now time.Time) {
	fmt.Fprintf(e.stdout, "start %s (%s)  mode %s  catchup %t\n", rfc(tt.Start, loc), loc, tt.Mode, tt.Catchup)
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "no more runs")
		return
	}
	fmt.Fprintf(e.stdout, "%-4s %-27s %-22s %-27s %s\n", "#", "fires at ("+loc.String()+")", "fires at (UTC)", "logical date", "data interval")
	prev := validate.PrevFires(tt, runs)
	for i, r := range runs {
		note := validate.DSTNote(prev[i], r.FireAt, loc)
		if note != "" {
			note = "  " + note
		}
		due := ""
		if !r.FireAt.After(now) {
			due = "  (due now)"
		}
		fmt.Fprintf(e.stdout, "%-4d %-27s %-22s %-27s [%s, %s]%s%s\n", i+1,
			rfc(r.FireAt, loc), r.FireAt.UTC().Format(time.RFC3339), rfc(r.LogicalDate, loc),
			rfc(r.Interval.Start, loc), rfc(r.Interval.End, loc), note, due)
	}
}
