package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/loadgen"
)

func init() { register(newBenchCmd) }

func newBenchCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure posml's servers under load",
	}
	c.AddCommand(newBenchTrackingCmd(e))
	return c
}

func newBenchTrackingCmd(e *env) *cobra.Command {
	var (
		url, jsonPath, only string
		runs, writers       int
		duration            time.Duration
	)
	c := &cobra.Command{
		Use:   "tracking --url URL",
		Short: "Load-test an MLflow-compatible tracking server",
		Long: `Load-test any MLflow-compatible tracking server (posml or MLflow) over its REST API.

Phases (select some with --only):
  log-metric  2000 sequential runs/log-metric calls: latency
  log-batch   50 runs/log-batch requests of 1000 metrics: metrics/s
  get-run     sequential runs/get of a run with params, tags and metrics: latency
  history     full metrics/get-history of a 5000-point metric: latency
  search      seeds an experiment of --runs runs, then runs/search with the filter
              "metrics.acc > 0.5" at max_results 100 and 1000: latency
  writers     --writers concurrent writers log for --duration, each on its own run;
              every acknowledged metric is then counted back with get-history

Every answer is checked. Progress goes to stderr, a table to stdout, and with
--json a JSON summary to a file (or to stdout with "-", the table then going to
stderr). The exit status is 1 when a call failed, an answer was wrong or a
metric was lost. The benchmark creates experiments named posml-bench-* and
leaves them in place.`,
		Example: `  posml bench tracking --url http://127.0.0.1:5000
  posml bench tracking --url http://127.0.0.1:5000 --only search,writers --runs 2000 --duration 10s --json bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return &usageError{errors.New("--url is required")}
			}
			cfg := loadgen.Config{URL: url, SearchRuns: runs, Writers: writers, Duration: duration}
			if only != "" {
				ps, err := loadgen.ParsePhases(only)
				if err != nil {
					return &usageError{fmt.Errorf("--only: %w", err)}
				}
				cfg.Phases = ps
			}
			if runs <= 0 || writers <= 0 || duration <= 0 {
				return &usageError{errors.New("--runs, --writers and --duration must be positive")}
			}
			hc := loadgen.NewHTTPClient(2 * max(writers, 8))
			defer hc.CloseIdleConnections()
			b, err := loadgen.New(cfg, hc, loadgen.NewProgress(e.stderr, isTerminal(e.stderr)))
			if err != nil {
				return &usageError{err}
			}
			fmt.Fprintf(e.stderr, "posml bench tracking %s\n", url)
			report, runErr := b.Run(cmd.Context())

			table := e.stdout
			if jsonPath == "-" {
				table = e.stderr
			}
			fmt.Fprintln(table)
			if err := report.WriteTable(table); err != nil {
				return err
			}
			if jsonPath != "" {
				if err := writeReportJSON(jsonPath, e.stdout, report); err != nil {
					return err
				}
			}
			if runErr != nil {
				return runErr
			}
			if f := report.Failures(); len(f) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("bench: %d checks failed", len(f))}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&url, "url", "", "base URL of the tracking server, e.g. http://127.0.0.1:5000")
	f.IntVar(&runs, "runs", 10000, "runs in the experiment the search phase searches")
	f.DurationVar(&duration, "duration", 30*time.Second, "how long the concurrent writers write")
	f.IntVar(&writers, "writers", 8, "concurrent writers")
	f.StringVar(&jsonPath, "json", "", `write a JSON summary to this file ("-" for stdout)`)
	f.StringVar(&only, "only", "", "comma-separated phases to run (log-metric,log-batch,get-run,history,search,writers)")
	return c
}

func writeReportJSON(path string, stdout io.Writer, r *loadgen.Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("--json: %w", err)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where progress can be redrawn
// in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
