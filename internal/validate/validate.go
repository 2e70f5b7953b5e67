package validate

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/rules"
	"github.com/posml/posml/internal/schedule"
)

// PreviewCount is how many upcoming fires a validation previews per pipeline.
const PreviewCount = 5

// Result is the outcome of validating one project; `posml validate --json`
// prints it, and the project registry stores it with each commit.
type Result struct {
	Dir         string             `json:"dir"`
	Valid       bool               `json:"valid"`
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
	Diagnostics []posml.Diagnostic `json:"diagnostics"`
	Pipelines   []Preview          `json:"pipelines"`
}

// Preview is the upcoming fires of one pipeline.
type Preview struct {
	Name     string `json:"name"`     // e.g. "iris-train-pipeline"
	Interval string `json:"interval"` // as written
	TimeZone string `json:"time_zone"`
	Mode     string `json:"mode"`
	Catchup  bool   `json:"catchup"`
	Start    string `json:"start"`
	Runs     []Fire `json:"runs"`
}

// Fire is one upcoming fire of a pipeline.
type Fire struct {
	FireAt      string `json:"fire_at"`     // RFC 3339 in the project's zone
	FireAtUTC   string `json:"fire_at_utc"` // RFC 3339 in UTC
	LogicalDate string `json:"logical_date"`
	DSTChange   string `json:"dst_change,omitempty"` // set when the UTC offset differs from the day before
}

// Project validates the project in dir: its merged config, the template
// rules (parsing Python with the interpreter python), and a preview of the
// next fires of each pipeline as of now. It also returns the loaded config
// (nil when src/config.yaml could not be read at all). err is for failures to
// validate at all (no python3, unreadable files), never for findings.
func Project(ctx context.Context, dir, python string, now time.Time) (*Result, *projectconfig.Config, error) {
	cfg, diags, err := projectconfig.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	opt := rules.Options{Python: python}
	if cfg != nil && cfg.Trigger.IntervalText != "" {
		opt.TriggerRequired = true
	}
	rd, err := rules.Check(ctx, dir, opt)
	if err != nil {
		return nil, nil, err
	}
	diags = append(diags, rd...)
	sortDiagnostics(diags)
	abs, _ := filepath.Abs(dir) // only for display; Abs fails only without a working directory
	v := &Result{Dir: abs, Diagnostics: diags}
	if v.Diagnostics == nil {
		v.Diagnostics = []posml.Diagnostic{}
	}
	for _, d := range diags {
		if d.Severity == posml.SeverityError {
			v.Errors++
		} else {
			v.Warnings++
		}
	}
	v.Valid = v.Errors == 0
	v.Pipelines = []Preview{}
	if cfg != nil {
		for _, p := range []projectconfig.Pipeline{cfg.Train, cfg.Trigger} {
			if !p.Enabled() {
				continue
			}
			v.Pipelines = append(v.Pipelines, preview(cfg, p, now))
		}
	}
	return v, cfg, nil
}

// PipelineName is the name posml (like the original platform's Airflow DAGs)
// gives a project's pipeline.
func PipelineName(proj, pipeline string) string {
	if pipeline == "train_trigger" {
		return proj + "-train-pipeline-trigger"
	}
	return proj + "-train-pipeline"
}

func preview(cfg *projectconfig.Config, p projectconfig.Pipeline, now time.Time) Preview {
	tt := cfg.Timetable(p)
	loc := cfg.Location
	pp := Preview{
		Name: PipelineName(cfg.ProjName, p.Name), Interval: p.IntervalText, TimeZone: loc.String(),
		Mode: tt.Mode.String(), Catchup: tt.Catchup, Start: rfc3339(tt.Start, loc), Runs: []Fire{},
	}
	runs := tt.Upcoming(nil, now, PreviewCount)
	prev := PrevFires(tt, runs)
	for i, r := range runs {
		pp.Runs = append(pp.Runs, Fire{
			FireAt: rfc3339(r.FireAt, loc), FireAtUTC: r.FireAt.UTC().Format(time.RFC3339),
			LogicalDate: rfc3339(r.LogicalDate, loc), DSTChange: DSTNote(prev[i], r.FireAt, loc),
		})
	}
	return pp
}

func sortDiagnostics(ds []posml.Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// DSTNote flags a fire time whose UTC offset differs from that of the fire
// before it (prev; zero when unknown): a DST change lies between them.
func DSTNote(prev, t time.Time, loc *time.Location) string {
	if prev.IsZero() {
		return ""
	}
	_, off := t.In(loc).Zone()
	_, before := prev.In(loc).Zone()
	if off == before {
		return ""
	}
	return fmt.Sprintf("DST change (UTC%s → UTC%s)", offset(before), offset(off))
}

func offset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	return fmt.Sprintf("%c%02d:%02d", sign, sec/3600, sec%3600/60)
}

// PrevFires returns, for each run, the fire time before it: the previous run's,
// and for the first the schedule's previous tick.
func PrevFires(tt schedule.Timetable, runs []schedule.Run) []time.Time {
	prev := make([]time.Time, len(runs))
	for i, r := range runs {
		if i > 0 {
			prev[i] = runs[i-1].FireAt
		} else if tt.Schedule != nil && !tt.Schedule.IsOnce() {
			prev[i] = tt.Schedule.Prev(r.FireAt)
		}
	}
	return prev
}

func rfc3339(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }
