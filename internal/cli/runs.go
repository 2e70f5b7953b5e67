package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/restapi"
)

func init() { register(newRunsCmd) }

func newRunsCmd(e *env) *cobra.Command {
	var cf clientFlags
	c := &cobra.Command{
		Use:   "runs",
		Short: "List, inspect, follow, cancel and retry pipeline runs",
		Long: `Inspect the pipeline runs of a posml server. Runs are in one of the states
queued, running, succeeded, failed, timed_out, canceled or skipped; each has
its attempts (a failed attempt is retried per the config's retries) and a
cause: schedule, manual, trigger, backfill or webhook.

Every subcommand talks to the server at --url, else $POSML_URL, else
` + defaultServerURL + `.`,
	}
	cf.add(c, true)
	c.AddCommand(newRunsListCmd(e, &cf), newRunsShowCmd(e, &cf), newRunsLogsCmd(e, &cf),
		newRunsActionCmd(e, &cf, "cancel", "Cancel a queued or running run"),
		newRunsActionCmd(e, &cf, "retry", "Queue a failed, timed out or canceled run again"))
	return c
}

func newRunsListCmd(e *env, cf *clientFlags) *cobra.Command {
	var (
		project, pipeline, state, cause string
		limit                           int
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Example: `  posml runs list --project iris
  posml runs list --state failed,timed_out --limit 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"project": project, "pipeline": pipeline, "state": state, "cause": cause} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			var out struct {
				Runs []restapi.Run `json:"runs"`
			}
			if err := cl.do(cmd.Context(), "GET", "/api/posml/runs?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, out)
			}
			var rows [][]string
			for _, r := range out.Runs {
				rows = append(rows, []string{r.ID, r.Project, r.Pipeline, r.State, r.Cause, r.LogicalDate.Local().Format("2006-01-02 15:04"),
					when(r.StartedAt), duration(r), fmt.Sprintf("%d/%d", r.Attempts, r.MaxAttempts), shortSHA(r.Commit)})
			}
			return table(e.stdout, []string{"ID", "PROJECT", "PIPELINE", "STATE", "CAUSE", "LOGICAL DATE", "STARTED", "DURATION", "ATTEMPTS", "COMMIT"}, rows)
		},
	}
	f := c.Flags()
	f.StringVar(&project, "project", "", "only this project's runs")
	f.StringVar(&pipeline, "pipeline", "", "only this pipeline's runs: train or trigger")
	f.StringVar(&state, "state", "", "only runs in these states (comma-separated)")
	f.StringVar(&cause, "cause", "", "only runs of this cause")
	f.IntVar(&limit, "limit", 50, "at most this many runs")
	return c
}

// duration is how long a run took, or has been running.
func duration(r restapi.Run) string {
	if r.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if r.EndedAt != nil {
		end = *r.EndedAt
	}
	return end.Sub(*r.StartedAt).Round(time.Second).String()
}

func newRunsShowCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a run with its attempts and what it produced",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var r restapi.Run
			if err := cl.do(cmd.Context(), "GET", "/api/posml/runs/"+url.PathEscape(args[0]), nil, &r); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, r)
			}
			printRun(e.stdout, r)
			return nil
		},
	}
}

func printRun(w io.Writer, r restapi.Run) {
	fmt.Fprintf(w, "run:           %s\n", r.ID)
	fmt.Fprintf(w, "project:       %s\n", r.Project)
	fmt.Fprintf(w, "pipeline:      %s\n", r.Pipeline)
	fmt.Fprintf(w, "state:         %s\n", r.State)
	if r.Reason != "" {
		fmt.Fprintf(w, "reason:        %s\n", r.Reason)
	}
	fmt.Fprintf(w, "cause:         %s\n", r.Cause)
	if r.ParentRunID != "" {
		fmt.Fprintf(w, "parent run:    %s\n", r.ParentRunID)
	}
	fmt.Fprintf(w, "commit:        %s\n", r.Commit)
	fmt.Fprintf(w, "logical date:  %s\n", r.LogicalDate.Format(time.RFC3339))
	fmt.Fprintf(w, "data interval: %s – %s\n", r.DataIntervalStart.Format(time.RFC3339), r.DataIntervalEnd.Format(time.RFC3339))
	fmt.Fprintf(w, "queued:        %s\n", when(&r.QueuedAt))
	fmt.Fprintf(w, "started:       %s\n", when(r.StartedAt))
	fmt.Fprintf(w, "ended:         %s\n", when(r.EndedAt))
	fmt.Fprintf(w, "attempts:      %d of %d\n", r.Attempts, r.MaxAttempts)
	if len(r.AttemptList) > 0 {
		var rows [][]string
		for _, a := range r.AttemptList {
			exit := "-"
			if a.EndedAt != nil && a.ExitCode >= 0 {
				exit = strconv.Itoa(a.ExitCode)
			}
			rows = append(rows, []string{"  " + strconv.Itoa(a.N), a.State, when(&a.StartedAt), when(a.EndedAt), exit, executor.DescribeRef(a.Where), a.Error})
		}
		fmt.Fprintln(w)
		table(w, []string{"  #", "STATE", "STARTED", "ENDED", "EXIT", "WHERE", "ERROR"}, rows)
	}
	if len(r.Decisions) > 0 {
		fmt.Fprintln(w, "\npromotion:")
		for _, d := range r.Decisions {
			fmt.Fprintf(w, "  %s: %s (%s %s: candidate %s, champion %s) — %s\n", d.Model, d.Outcome, d.Metric, d.Direction,
				metricValue(d.CandidateValue), metricValue(d.ChampionValue), d.Reason)
		}
	}
	if len(r.Outputs) > 0 {
		fmt.Fprintln(w, "\noutputs:")
		for _, o := range r.Outputs {
			switch {
			case o.ModelName != "":
				fmt.Fprintf(w, "  model version %s/%d\n", o.ModelName, o.ModelVersion)
			default:
				fmt.Fprintf(w, "  MLflow run %s\n", o.MLflowRunID)
			}
		}
	}
}

func newRunsLogsCmd(e *env, cf *clientFlags) *cobra.Command {
	var (
		follow  bool
		attempt int
	)
	c := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a run's log; -f follows it until the run ends",
		Long: `Print the log (stdout and stderr of the training process) of a run's latest
attempt, or of --attempt N. With -f, print the log as it grows, across
retries, until the run ends; the exit status is then 0 when the run
succeeded (or was skipped) and 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			if follow {
				return waitRun(cmd, e, cl, args[0], false, cf.asJSON)
			}
			path := "/api/posml/runs/" + url.PathEscape(args[0]) + "/logs"
			if attempt > 0 {
				path += "?attempt=" + strconv.Itoa(attempt)
			}
			resp, err := cl.send(cmd.Context(), "GET", path, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(e.stdout, resp.Body)
			return err
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "follow the log until the run ends")
	c.Flags().IntVar(&attempt, "attempt", 0, "the attempt whose log to print (default: the latest)")
	return c
}

// waitRun follows a run's log to stdout until the run ends and returns an
// exit error unless it succeeded or was skipped. With spin, a spinner
// shows until the first attempt starts.
func waitRun(cmd *cobra.Command, e *env, cl *client, id string, spin, asJSON bool) error {
	var sp *spinner
	if spin {
		sp = startSpinner(e.stderr, "run "+id+" is queued")
	}
	stop := func(sseEvent) {
		if sp != nil {
			sp.stop()
		}
	}
	logs := e.stdout
	if asJSON {
		logs = e.stderr // stdout is for the run's JSON
	}
	state, reason, err := cl.followLogs(cmd.Context(), id, logs, stop)
	stop(sseEvent{})
	if err != nil {
		return err
	}
	if asJSON {
		var r restapi.Run
		if err := cl.do(cmd.Context(), "GET", "/api/posml/runs/"+url.PathEscape(id), nil, &r); err != nil {
			return err
		}
		if err := printJSON(e.stdout, r); err != nil {
			return err
		}
	}
	msg := "run " + id + " " + state
	if reason != "" {
		msg += ": " + reason
	}
	switch state {
	case "succeeded", "skipped":
		fmt.Fprintln(e.stderr, msg)
		return nil
	}
	return &exitError{code: 1, msg: msg}
}

// newRunsActionCmd is cancel or retry.
func newRunsActionCmd(e *env, cf *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var r restapi.Run
			if err := cl.do(cmd.Context(), "POST", "/api/posml/runs/"+url.PathEscape(args[0])+"/"+action, nil, &r); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, r)
			}
			switch {
			case action == "cancel" && r.State == "running":
				fmt.Fprintf(e.stdout, "run %s: cancel requested; the process is being stopped\n", r.ID)
			default:
				fmt.Fprintf(e.stdout, "run %s is %s\n", r.ID, r.State)
			}
			return nil
		},
	}
}

func metricValue(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 6, 64)
}
