package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/airflow"
	"github.com/posml/posml/internal/validate"
)

func init() { register(newExportCmd) }

func newExportCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Export a project for another scheduler (airflow)",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newExportAirflowCmd(e))
	return c
}

func newExportAirflowCmd(e *env) *cobra.Command {
	var (
		projectDir string
		out        string
		python     string
	)
	c := &cobra.Command{
		Use:   "airflow DIR | airflow --project-dir DIR",
		Short: "Write the project's Airflow DAGs (train pipeline and trigger)",
		Long: `Validate the project in DIR as posml validate does and write its Airflow DAG
files to --out (default: the current directory):

  {proj}_train_pipeline.py          DAG {proj}-train-pipeline
  {proj}_train_pipeline_trigger.py  DAG {proj}-train-pipeline-trigger (only
                                    when train_trigger_schedule_interval is set)

Each DAG has the project's schedule (schedule_mode trigger: CronTriggerTimetable,
interval: CronDataIntervalTimetable, @once as is), start date and time zone,
catchup, max_active_runs, retries and retry_delay. Airflow only decides when:
its one task runs the pipeline through posml, so tracking, lineage and
promotion stay posml's:

  posml run PROJECT --pipeline train|trigger --wait --url '{{ var.value.posml_url }}'

The workers need the posml binary, the Airflow Variable posml_url, and
POSML_TOKEN when the server requires authentication. An invalid project is
refused with its diagnostics (exit status 1).`,
		Example: `  posml export airflow ./iris --out ~/airflow/dags`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1) == (projectDir != "") {
				return &usageError{errors.New("export airflow: give the project directory, as DIR or --project-dir DIR")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := projectDir
			if len(args) == 1 {
				dir = args[0]
			}
			if python == "" {
				python = defaultPython(e)
			}
			res, cfg, err := validate.Project(cmd.Context(), dir, python, time.Now().UTC())
			if err != nil {
				return err
			}
			for _, d := range res.Diagnostics {
				fmt.Fprintln(e.stderr, d.String())
			}
			if !res.Valid || cfg == nil {
				return &exitError{code: 1, msg: fmt.Sprintf("%s is not valid (%d errors): nothing exported", dir, res.Errors)}
			}
			files, err := airflow.Render(cfg)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for _, f := range files {
				p := filepath.Join(out, f.Name)
				if err := writeDAGFile(p, f.Source); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s  (DAG %s)\n", p, f.DagID)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&projectDir, "project-dir", "", "the project directory (instead of DIR)")
	f.StringVar(&out, "out", ".", "the directory the DAG files are written to (e.g. Airflow's dags folder)")
	f.StringVar(&python, "python", "", "the Python interpreter used to check the scripts (env POSML_PYTHON; default python3)")
	return c
}

// writeDAGFile writes data to path through a temporary file in the same
// directory, so a scheduler scanning the directory never sees half a DAG.
func writeDAGFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".posml-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
