package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/restapi"
)

func init() { register(newBackfillCmd) }

func newBackfillCmd(e *env) *cobra.Command {
	var (
		cf             clientFlags
		from, to, pipe string
		dryRun         bool
	)
	c := &cobra.Command{
		Use:   "backfill PROJECT --from TIME --to TIME",
		Short: "Queue runs for the past logical dates of a project's schedule",
		Long: `Queue one run (cause backfill) for every logical date of PROJECT's train
schedule (or --pipeline trigger) between --from and --to, both included, as
the active commit's timetable defines them. Dates that already have a
scheduled or backfilled run are left alone. --dry-run only lists the dates.

--from and --to are RFC 3339 instants (2024-03-01T00:00:00+09:00) or dates
(2024-03-01, midnight UTC).`,
		Example: `  posml backfill iris --from 2024-03-01T00:00:00+09:00 --to 2024-03-07T00:00:00+09:00 --dry-run`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parseInstant("--from", from)
			if err != nil {
				return err
			}
			t, err := parseInstant("--to", to)
			if err != nil {
				return err
			}
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var res restapi.BackfillResult
			if err := cl.do(cmd.Context(), "POST", "/api/posml/backfill", restapi.Backfill{Project: args[0], Pipeline: pipe, From: f, To: t, DryRun: dryRun}, &res); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, res)
			}
			if dryRun {
				fmt.Fprintf(e.stdout, "dry run: %d logical dates of %s's %s pipeline between %s and %s:\n", len(res.LogicalDates), res.Project, res.Pipeline, f.Format(time.RFC3339), t.Format(time.RFC3339))
				for _, d := range res.LogicalDates {
					fmt.Fprintln(e.stdout, "  "+d.Format(time.RFC3339))
				}
				return nil
			}
			fmt.Fprintf(e.stdout, "queued %d runs (%d logical dates; the others have runs already)\n", len(res.Runs), len(res.LogicalDates))
			for _, r := range res.Runs {
				fmt.Fprintf(e.stdout, "  run %s  %s\n", r.ID, r.LogicalDate.Format(time.RFC3339))
			}
			return nil
		},
	}
	cf.add(c, false)
	fl := c.Flags()
	fl.StringVar(&from, "from", "", "first logical date (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&to, "to", "", "last logical date (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&pipe, "pipeline", "train", "the pipeline: train or trigger")
	fl.BoolVar(&dryRun, "dry-run", false, "only list the logical dates")
	c.MarkFlagRequired("from")
	c.MarkFlagRequired("to")
	return c
}

func parseInstant(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, &usageError{fmt.Errorf("%s %q: want an RFC 3339 instant such as 2024-03-01T00:00:00+09:00, or a date such as 2024-03-01", flag, s)}
}
