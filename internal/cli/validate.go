package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/rules"
)

func init() { register(newValidateCmd) }

// previewCount is how many upcoming fires `posml validate` shows per pipeline.
const previewCount = 5

// validation is the outcome of validating one project; `posml validate
// --json` prints it, and other parts of posml (the project registry, the UI)
// will reuse it.
type validation struct {
	Dir         string             `json:"dir"`
	Valid       bool               `json:"valid"`
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
	Diagnostics []posml.Diagnostic `json:"diagnostics"`
	Pipelines   []pipelinePreview  `json:"pipelines"`
}

type pipelinePreview struct {
	Name     string        `json:"name"`     // e.g. "iris-train-pipeline"
	Interval string        `json:"interval"` // as written
	TimeZone string        `json:"time_zone"`
	Mode     string        `json:"mode"`
	Catchup  bool          `json:"catchup"`
	Start    string        `json:"start"`
	Runs     []previewFire `json:"runs"`
}

type previewFire struct {
	FireAt      string `json:"fire_at"`     // RFC 3339 in the project's zone
	FireAtUTC   string `json:"fire_at_utc"` // RFC 3339 in UTC
	LogicalDate string `json:"logical_date"`
	DSTChange   string `json:"dst_change,omitempty"` // set when the UTC offset differs from the day before
}

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
			v, err := validateProject(cmd.Context(), dir, python, at)
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

func validateProject(ctx context.Context, dir, python string, now time.Time) (*validation, error) {
	cfg, diags, err := projectconfig.Load(dir)
	if err != nil {
		return nil, err
	}
	opt := rules.Options{Python: python}
	if cfg != nil && cfg.Trigger.IntervalText != "" {
		opt.TriggerRequired = true
	}
	rd, err := rules.Check(ctx, dir, opt)
	if err != nil {
		return nil, err
	}
	diags = append(diags, rd...)
	sortDiagnostics(diags)
	abs, _ := filepath.Abs(dir) // only for display; Abs fails only without a working directory
	v := &validation{Dir: abs, Diagnostics: diags}
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
	v.Pipelines = []pipelinePreview{}
	if cfg != nil {
		for _, p := range []projectconfig.Pipeline{cfg.Train, cfg.Trigger} {
			if !p.Enabled() {
				continue
			}
			v.Pipelines = append(v.Pipelines, preview(cfg, p, now))
		}
	}
	return v, nil
}

// PipelineName is the name posml (like the original platform's Airflow DAGs)
// gives a project's pipeline.
func pipelineName(proj, pipeline string) string {
	if pipeline == "train_trigger" {
		return proj + "-train-pipeline-trigger"
	}
	return proj + "-train-pipeline"
}

func preview(cfg *projectconfig.Config, p projectconfig.Pipeline, now time.Time) pipelinePreview {
	tt := cfg.Timetable(p)
	loc := cfg.Location
	pp := pipelinePreview{
		Name: pipelineName(cfg.ProjName, p.Name), Interval: p.IntervalText, TimeZone: loc.String(),
		Mode: tt.Mode.String(), Catchup: tt.Catchup, Start: rfc(tt.Start, loc), Runs: []previewFire{},
	}
	runs := tt.Upcoming(nil, now, previewCount)
	prev := prevFires(tt, runs)
	for i, r := range runs {
		pp.Runs = append(pp.Runs, previewFire{
			FireAt: rfc(r.FireAt, loc), FireAtUTC: r.FireAt.UTC().Format(time.RFC3339),
			LogicalDate: rfc(r.LogicalDate, loc), DSTChange: dstNote(prev[i], r.FireAt, loc),
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

func printValidation(w io.Writer, v *validation) {
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
