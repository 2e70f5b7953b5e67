// Package airflow renders a posml project as the pair of Airflow DAGs the
// original platform used: {proj}-train-pipeline and, when the project has a
// trigger schedule, {proj}-train-pipeline-trigger. The DAGs only decide
// when; each task runs the pipeline through posml (posml run PROJECT
// --pipeline ... --wait), so tracking, lineage and promotion are posml's.
//
// The package is pure: it turns a projectconfig.Config into Python source.
package airflow

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/schedule"
)

//go:embed dag.py.tmpl
var tmplFS embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"py":     pyString,
	"pybool": func(b bool) string { return map[bool]string{true: "True", false: "False"}[b] },
}).ParseFS(tmplFS, "dag.py.tmpl"))

// URLTemplate is the Jinja expression the tasks pass to posml --url: the
// Airflow Variable posml_url.
const URLTemplate = "{{ var.value.posml_url }}"

// File is one rendered DAG file.
type File struct {
	Name   string // e.g. iris_train_pipeline.py
	DagID  string // e.g. iris-train-pipeline
	Source []byte
}

// Command returns the shell command a DAG of pipeline ("train" or "trigger")
// runs for project.
func Command(project, pipeline string) string {
	return fmt.Sprintf("posml run %s --pipeline %s --wait --url %s", shellQuote(project), pipeline, shellQuote(URLTemplate))
}

type dagData struct {
	Project, DagID, Description, TaskID, Command string
	Trigger                                      bool
	PokeInterval, TriggerTimeout                 string
	Kind                                         string // "trigger", "interval" or "" (no timetable class)
	HasStart                                     bool
	StartArgs, TimeZone, Schedule                string
	Catchup                                      bool
	MaxActiveRuns, Retries                       int
	RetryDelaySeconds, TimeoutSeconds            int64
}

// Render returns the DAG files of c: the train DAG, and the trigger DAG when
// c has a trigger schedule. c must be valid (no error diagnostics).
func Render(c *projectconfig.Config) ([]File, error) {
	if c == nil || c.ProjName == "" {
		return nil, errors.New("airflow: the project has no proj_name")
	}
	if c.Location == nil {
		return nil, fmt.Errorf("airflow: invalid time_zone %q", c.TimeZone)
	}
	// A posml run makes up to retries+1 attempts of train_timeout each, with
	// retry_delay between them; the task waits for all of it.
	runBound := time.Duration(c.Retries+1)*c.TrainTimeout + time.Duration(c.Retries)*c.RetryDelay
	train := dagData{
		Project: c.ProjName, DagID: c.ProjName + "-train-pipeline", TaskID: "train",
		Description:    "posml train pipeline of " + c.ProjName + " (runs src/train.py through posml)",
		Command:        Command(c.ProjName, "train"),
		TimeoutSeconds: seconds(runBound),
	}
	files := []File{}
	f, err := render(c, c.Train, train, c.ProjName+"_train_pipeline.py")
	if err != nil {
		return nil, err
	}
	files = append(files, f)
	if c.Trigger.IntervalText != "" {
		trig := dagData{
			Project: c.ProjName, DagID: c.ProjName + "-train-pipeline-trigger", TaskID: "train_trigger",
			Description: "posml trigger pipeline of " + c.ProjName + " (train_trigger, then the train pipeline, through posml)",
			Command:     Command(c.ProjName, "trigger"), Trigger: true,
			PokeInterval: c.TriggerPokeInterval.String(), TriggerTimeout: c.TriggerTimeout.String(),
			TimeoutSeconds: seconds(c.TriggerTimeout + runBound),
		}
		f, err := render(c, c.Trigger, trig, c.ProjName+"_train_pipeline_trigger.py")
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func render(c *projectconfig.Config, p projectconfig.Pipeline, d dagData, name string) (File, error) {
	d.TimeZone = c.TimeZone
	d.Catchup = c.Catchup
	d.MaxActiveRuns = c.MaxActiveRuns
	d.Retries = c.Retries
	d.RetryDelaySeconds = seconds(c.RetryDelay)
	if !p.Start.IsZero() {
		t := p.Start.In(c.Location)
		d.HasStart = true
		d.StartArgs = fmt.Sprintf("%d, %d, %d, %d, %d, %d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	}
	switch s := p.Schedule; {
	case p.IntervalText == "" || s == nil:
		if p.IntervalText != "" {
			return File{}, fmt.Errorf("airflow: invalid schedule %q of the %s pipeline", p.IntervalText, p.Name)
		}
		d.Schedule = "None"
	case s.IsOnce():
		d.Schedule = `"@once"`
	case c.ScheduleMode == schedule.ModeInterval:
		d.Kind = "interval"
		d.Schedule = fmt.Sprintf("CronDataIntervalTimetable(%s, timezone=%s)", pyString(s.Cron()), pyString(c.TimeZone))
	default:
		d.Kind = "trigger"
		d.Schedule = fmt.Sprintf("CronTriggerTimetable(%s, timezone=%s)", pyString(s.Cron()), pyString(c.TimeZone))
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "dag", d); err != nil {
		return File{}, err
	}
	return File{Name: name, DagID: d.DagID, Source: b.Bytes()}, nil
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// pyString returns s as a Python string literal (JSON string syntax is a
// subset of Python's).
func pyString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
