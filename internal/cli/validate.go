package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/validate"
)

func init() { register(newValidateCmd) }

func newValidateCmd(e *env) *cobra.Command {
	var (
		asJSON bool
		python string
		now    string
	)
	c := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a project's config, template rules and schedules",
		Long: `Check the project in DIR (default: the current directory): src/config.yaml
merged with the system config.yaml, the template rules of train.py and the
modules it imports, and train_trigger.py when a trigger schedule is set. Every
finding is printed as file:line:col: rule: message (fix), followed by a preview
of the next fires of each pipeline in the project's time zone and in UTC.

Exit status: 0 when the project is valid (warnings allowed), 1 when not.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			at := time.Now()
			if now != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, now); err != nil {
					return &usageError{fmt.Errorf("--now %q: want RFC 3339 such as 2024-03-10T07:00:00Z", now)}
				}
			}
			v, _, err := validate.Project(cmd.Context(), dir, python, at)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return err
				}
			} else {
				printValidation(e.stdout, v)
			}
			if !v.Valid {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.Flags().StringVar(&python, "python", defaultPython(e), "Python interpreter used to parse the scripts (env POSML_PYTHON)")
	c.Flags().StringVar(&now, "now", "", "preview schedules as of this instant (RFC 3339; default: now)")
	return c
}

// defaultPython is the interpreter posml uses when --python is not given:
// POSML_PYTHON, else python3 on PATH.
func defaultPython(e *env) string {
	if p := e.getenv("POSML_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

func printValidation(w io.Writer, v *validate.Result) {
	for _, d := range v.Diagnostics {
		fmt.Fprintln(w, d.String())
	}
	if v.Valid {
		fmt.Fprintf(w, "valid: %d warning(s)\n", v.Warnings)
	} else {
		fmt.Fprintf(w, "invalid: %d error(s), %d warning(s)\n", v.Errors, v.Warnings)
	}
	for _, p := range v.Pipelines {
		fmt.Fprintf(w, "\n%s  %q in %s, mode %s, catchup %t, start %s\n", p.Name, p.Interval, p.TimeZone, p.Mode, p.Catchup, p.Start)
		if len(p.Runs) == 0 {
			fmt.Fprintln(w, "  no more runs")
		}
		for _, r := range p.Runs {
			note := ""
			if r.DSTChange != "" {
				note = "  " + r.DSTChange
			}
			fmt.Fprintf(w, "  %s  = %s%s\n", r.FireAt, r.FireAtUTC, note)
		}
	}
}
