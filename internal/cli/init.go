package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/scaffold"
)

func init() { register(newInitCmd) }

func newInitCmd(e *env) *cobra.Command {
	var dir string
	var lite bool
	c := &cobra.Command{
		Use:   "init NAME",
		Short: "Create a new project from the template",
		Long: `Create a new training-pipeline project called NAME in ./NAME (or --dir): the
layout of the platform's template (src/config.yaml, config.py, load_data.py,
preprocess.py, modeling.py, model_evaluate.py, train.py, train_trigger.py,
requirements.txt), ready for 'posml validate'.

With --lite the project logs through posml.tracking, the zero-dependency
MLflow client of posml's Python SDK (which the platform puts on every run's
PYTHONPATH), instead of the mlflow package: for machines where mlflow
cannot be installed.`,
		Example: "  posml init iris && posml validate iris\n  posml init --lite iris",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			if dir == "" {
				dir = name
			}
			files, err := scaffold.WriteWith(dir, name, scaffold.Options{Lite: lite})
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(e.stdout, "  created "+filepath.Join(dir, f))
			}
			fmt.Fprintf(e.stdout, "\nProject %s is ready. Next:\n  posml validate %s\n  cd %s && python3 src/train.py\n", name, dir, dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to create (default: ./NAME)")
	c.Flags().BoolVar(&lite, "lite", false, "log with posml.tracking (posml's Python SDK) instead of the mlflow package")
	return c
}
