package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/restapi"
)

func init() { register(newRunCmd) }

func newRunCmd(e *env) *cobra.Command {
	var (
		cf       clientFlags
		pipeline string
		wait     bool
	)
	c := &cobra.Command{
		Use:   "run PROJECT",
		Short: "Start a manual run of a project's pipeline",
		Long: `Queue a manual run of PROJECT's train pipeline (or, with --pipeline trigger,
its trigger pipeline) on the active commit, on the server at --url, else
$POSML_URL, else ` + defaultServerURL + `.

With --wait, follow the run's log until it ends; the exit status is 0 when
it succeeded (or, for a trigger run, was skipped) and 1 otherwise.`,
		Example: `  posml run iris --wait
  posml run iris --pipeline trigger`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var r restapi.Run
			if err := cl.do(cmd.Context(), "POST", "/api/posml/runs", restapi.StartRun{Project: args[0], Pipeline: pipeline}, &r); err != nil {
				return err
			}
			if cf.asJSON && !wait {
				return printJSON(e.stdout, r)
			}
			fmt.Fprintf(e.stderr, "run %s queued (%s pipeline of %s at commit %s)\n", r.ID, r.Pipeline, r.Project, shortSHA(r.Commit))
			if !wait {
				if !cf.asJSON {
					fmt.Fprintln(e.stdout, r.ID)
				}
				return nil
			}
			return waitRun(cmd, e, cl, r.ID, true)
		},
	}
	cf.add(c, false)
	c.Flags().StringVar(&pipeline, "pipeline", "train", "the pipeline to run: train or trigger")
	c.Flags().BoolVar(&wait, "wait", false, "follow the run's log and exit with its outcome")
	return c
}
