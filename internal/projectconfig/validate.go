package projectconfig

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/schedule"
	"github.com/posml/posml/internal/strptime"
)

// validator checks the merged document and fills a Config, collecting
// every problem.
type validator struct {
	diags []posml.Diagnostic
}

func (v *validator) add(sev posml.Severity, file string, line, col int, rule, fix, msg string) {
	v.diags = append(v.diags, posml.Diagnostic{
		File: file, Line: line, Col: col, Severity: sev, Rule: rule, Msg: msg, Fix: fix,
	})
}

// errorAt reports a problem with a value.
func (v *validator) errorAt(n *node, rule, fix, format string, args ...any) {
	v.add(posml.SeverityError, n.file, n.line(), n.col(), rule, fix, fmt.Sprintf(format, args...))
}

func (v *validator) warnAt(n *node, rule, fix, format string, args ...any) {
	v.add(posml.SeverityWarning, n.file, n.line(), n.col(), rule, fix, fmt.Sprintf(format, args...))
}

// missing reports a required field that is not set: at the key of the
// mapping that should hold it, or at the top of the user's file.
func (v *validator) missing(parent *entry, rule, fix, msg string) {
	if parent != nil {
		v.errorAt(parent.key, rule, fix, "%s", msg)
		return
	}
	v.add(posml.SeverityError, UserFile, 0, 0, rule, fix, msg)
}

// emptyAt is where to report that e has no value: at its key, unless the
// (empty) value came from the other file.
func emptyAt(e *entry) *node {
	if e.val.file != e.key.file {
		return e.val
	}
	return e.key
}

// state is what a field holds.
type state uint8

const (
	absent  state = iota // the key is not there
	empty                // the key has no value (or "")
	invalid              // the value is wrong; already reported
	set                  // the value is usable
)

// str reads a string field. A value Python does not read as a string is a
// type error, except that an unquoted date is taken as written when
// dateOK.
func (v *validator) str(e *entry, rule string, dateOK bool) (string, state) {
	if e == nil {
		return "", absent
	}
	n := e.val
	switch {
	case n.isEmpty():
		return "", empty
	case n.tag == tagStr, n.tag == tagTimestamp && dateOK:
		return n.y.Value, set
	case n.tag == tagInvalid:
		return "", invalid
	case n.tag == tagSeq || n.tag == tagMap:
		v.errorAt(n, rule, "write a single value: "+examples[rule], "must be a string, not %s", n.describe())
	default:
		v.errorAt(n, rule, fmt.Sprintf("quote it: %s: %q", lastKey(rule), n.y.Value),
			"must be a string, but YAML reads %s as %s", n.y.Value, n.describe())
	}
	return "", invalid
}

func lastKey(rule string) string {
	if i := strings.LastIndexByte(rule, '.'); i >= 0 {
		return rule[i+1:]
	}
	return rule
}

// validate checks root, the merged document, and fills c.
func (v *validator) validate(root *node, c *Config) {
	c.TimeZone = DefaultTimeZone
	c.Location = time.UTC
	c.DateFormat = DefaultDateFormat
	c.Train.Name, c.Trigger.Name = "train", "train_trigger"
	c.ScheduleMode = schedule.ModeTrigger
	c.TrainTimeout = DefaultTrainTimeout
	c.Retries = DefaultRetries
	c.RetryDelay = DefaultRetryDelay
	c.TriggerTimeout = DefaultTriggerTimeout
	c.TriggerPokeInterval = DefaultTriggerPokeInterval
	c.MaxActiveRuns = DefaultMaxActiveRuns
	c.Merged = map[string]any{}

	if root == nil || root.tag == tagNull {
		root = &node{tag: tagMap}
	}
	if root.tag != tagMap {
		v.errorAt(root, "config", "write one field per line, e.g. "+examples["proj_name"],
			"must be a mapping of field: value, not %s", root.describe())
		return
	}
	for _, e := range root.entries {
		if name, ok := e.name(); ok {
			c.Merged[name] = e.val.python()
		}
	}
	v.unknownKeys(root, topLevelKeys, "", mlflowKeys, "mlflow")

	c.ProjName = v.projName(root.field("proj_name"))
	modelName := root.field("model_name")
	c.ModelNames = v.modelNames(modelName)
	if (modelName == nil || modelName.val.isEmpty()) && c.ProjName != "" {
		c.ModelNames = []string{c.ProjName}
	}
	c.MartID, _ = v.str(root.field("mart_id"), "mart_id", false)

	loc := v.timeZone(root.field("time_zone"), c)
	parser := v.dateFormat(root.field("date_format"), c)
	c.Train = v.pipeline(root, "train", "train_start_date", "train_schedule_interval", true, loc, parser)
	c.Trigger = v.pipeline(root, "train_trigger", "train_trigger_start_date", "train_trigger_schedule_interval", false, loc, parser)
	if c.Location == nil {
		// The schedules were checked in UTC for their own errors; they
		// cannot be used in a zone that is wrong.
		c.Train.Schedule, c.Train.Start = nil, time.Time{}
		c.Trigger.Schedule, c.Trigger.Start = nil, time.Time{}
	}

	v.mlflow(root.field("mlflow"), c)

	v.scheduleMode(root.field("schedule_mode"), c)
	c.Catchup = v.boolean(root.field("catchup"), "catchup", false)
	c.TrainTimeout = v.duration(root.field("train_timeout"), "train_timeout", DefaultTrainTimeout, false)
	c.Retries = v.integer(root.field("retries"), "retries", 0, DefaultRetries)
	c.RetryDelay = v.duration(root.field("retry_delay"), "retry_delay", DefaultRetryDelay, true)
	c.TriggerTimeout = v.duration(root.field("trigger_timeout"), "trigger_timeout", DefaultTriggerTimeout, false)
	c.TriggerPokeInterval = v.duration(root.field("trigger_poke_interval"), "trigger_poke_interval", DefaultTriggerPokeInterval, false)
	if e := root.field("trigger_poke_interval"); e != nil && c.TriggerPokeInterval >= c.TriggerTimeout {
		v.warnAt(e.val, "trigger_poke_interval", "make it shorter than trigger_timeout",
			"is not shorter than trigger_timeout (%s), so train_trigger is called only once per run", c.TriggerTimeout)
	}
	c.MaxActiveRuns = v.integer(root.field("max_active_runs"), "max_active_runs", 1, DefaultMaxActiveRuns)
	v.executor(root.field("executor"), c)
}

// unknownKeys warns about the keys of m that are not in known, for keys of
// the user's file only: the system file is the platform's, and may carry
// keys for the user's code. Keys that belong to the other level (a top-level
// key under mlflow:, or the reverse) are pointed there.
func (v *validator) unknownKeys(m *node, known []string, prefix string, otherKeys []string, otherPrefix string) {
	for _, e := range m.entries {
		if e.key.file != UserFile {
			continue
		}
		name, ok := e.name()
		switch {
		case !ok && e.key.tag == tagNull:
			v.warnAt(e.key, ruleOf(strings.TrimSuffix(prefix, ".")), "write a name before the colon",
				"a key is empty, so neither posml nor config.py finds its value")
			continue
		case !ok:
			v.warnAt(e.key, prefix+name, fmt.Sprintf("quote the key: %q:", name),
				"YAML reads the key %s as %s, not as a name, so neither posml nor config.py finds it", name, e.key.describe())
			continue
		}
		if slices.Contains(known, name) {
			continue
		}
		rule := prefix + name
		msg := "unknown key; posml does not use it"
		switch {
		case renamedKeys[name] != "" && slices.Contains(known, renamedKeys[name]):
			v.warnAt(e.key, rule, didYouMean([]string{renamedKeys[name]}), "%s", msg)
		case slices.Contains(otherKeys, name) && otherPrefix != "":
			where := "at the top level"
			if prefix != "" {
				where = "under " + strings.TrimSuffix(prefix, ".") + ":"
			}
			v.warnAt(e.key, rule, fmt.Sprintf("move it under %s:", otherPrefix), "%s %s; it belongs under %s:", name, where, otherPrefix)
		case slices.Contains(otherKeys, name):
			v.warnAt(e.key, rule, "move it to the top level, out of mlflow:", "%s belongs at the top level, not under mlflow:", name)
		default:
			fix := didYouMean(closest(name, known, 2))
			if fix == "" {
				fix = "remove it, unless your own code reads it"
			}
			v.warnAt(e.key, rule, fix, "%s", msg)
		}
	}
}

var projNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

const maxProjName = 63

func (v *validator) projName(e *entry) string {
	const rule = "proj_name"
	s, st := v.str(e, rule, false)
	switch st {
	case absent:
		v.missing(nil, rule, "add the project's name, e.g. "+examples[rule], "is required but not set")
		return ""
	case empty:
		v.errorAt(emptyAt(e), rule, "write the project's name after the colon, e.g. "+examples[rule], "is empty")
		return ""
	case invalid:
		return ""
	}
	if len(s) <= maxProjName && projNameRE.MatchString(s) {
		return s
	}
	var why []string
	if s[0] < 'a' || s[0] > 'z' {
		why = append(why, "must start with a lowercase letter")
	}
	if strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		why = append(why, "may contain only lowercase letters, digits and '-'")
	}
	if strings.HasSuffix(s, "-") {
		why = append(why, "must not end with '-'")
	}
	if len(s) > maxProjName {
		why = append(why, fmt.Sprintf("must have at most %d characters, not %d", maxProjName, len(s)))
	}
	fix := "use lowercase letters, digits and '-', starting with a letter, e.g. e2e-pipeline-iris"
	if n := normalizeProjName(s); n != "" {
		fix = fmt.Sprintf("use %q", n)
	}
	v.errorAt(e.val, rule, fix, "%q %s", s, strings.Join(why, ", and "))
	return s
}

// normalizeProjName turns s into a valid proj_name when it can: lower case,
// each run of other characters replaced by '-', a leading "proj-" when s
// starts with a digit.
func normalizeProjName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	n := b.String()
	if n == "" {
		return ""
	}
	if n[0] >= '0' && n[0] <= '9' {
		n = "proj-" + n
	}
	if len(n) > maxProjName {
		n = strings.TrimRight(n[:maxProjName], "-")
	}
	return n
}

func (v *validator) timeZone(e *entry, c *Config) *time.Location {
	const rule = "time_zone"
	s, st := v.str(e, rule, false)
	switch st {
	case absent:
		v.add(posml.SeverityWarning, UserFile, 0, 0, rule, "set the zone your schedule is meant in, e.g. "+examples[rule],
			"is not set; schedules and start dates are read in UTC")
		return time.UTC
	case empty:
		v.errorAt(emptyAt(e), rule, "write an IANA time zone, e.g. "+examples[rule]+", or delete the line to use UTC", "is empty")
	case set:
		c.TimeZone = s
		loc, err := loadZone(s)
		if err == nil {
			c.Location = loc
			return loc
		}
		fix := didYouMean(suggestZones(s))
		if fix == "" {
			fix = "use an IANA time zone name such as Asia/Seoul, Europe/Berlin or UTC, as Python's pendulum.timezones lists them"
		}
		v.errorAt(e.val, rule, fix, "%v", err)
	}
	c.Location = nil
	return time.UTC // to check the schedules for their own errors
}

func (v *validator) dateFormat(e *entry, c *Config) *strptime.Parser {
	const rule = "date_format"
	s, st := v.str(e, rule, false)
	switch st {
	case absent:
		v.add(posml.SeverityWarning, UserFile, 0, 0, rule, "set it to the format of your start dates, e.g. "+examples[rule],
			fmt.Sprintf("is not set; start dates are read with %q", DefaultDateFormat))
		s = DefaultDateFormat
	case empty:
		v.errorAt(emptyAt(e), rule, "write a Python strptime format, e.g. "+examples[rule]+", or delete the line to use that default", "is empty")
		return nil
	case invalid:
		return nil
	}
	p, err := strptime.Compile(s)
	if err != nil {
		v.errorAt(e.val, rule, "use Python strptime directives, e.g. "+examples[rule]+"; strptime has no %e, %-d, %s or %k", "%v", err)
		return nil
	}
	c.DateFormat = s
	if st == set && !hasYear(s) {
		v.warnAt(e.val, rule, "add the year, e.g. "+examples[rule],
			"has no year directive (%%Y, %%y or %%G), so every start date falls in 1900, as in Python")
	}
	return p
}

// hasYear reports whether a strptime format reads a year.
func hasYear(format string) bool {
	for i := 0; i+1 < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if strings.IndexByte("YyGcx", format[i+1]) >= 0 {
			return true
		}
		i++ // skip the directive, so that %%Y is not taken for %Y
	}
	return false
}

// exampleDate is the start date the fixes show, written in date_format.
var exampleDate = time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)

func (v *validator) pipeline(root *node, name, startKey, intervalKey string, required bool, loc *time.Location, parser *strptime.Parser) Pipeline {
	p := Pipeline{Name: name}
	startE, intervalE := root.field(startKey), root.field(intervalKey)
	start, startSt := v.str(startE, startKey, true)
	interval, intervalSt := v.str(intervalE, intervalKey, false)
	p.StartText, p.IntervalText = start, interval

	startExample := examples[startKey]
	if parser != nil {
		if s, err := strptime.Format(exampleDate, parser.Format()); err == nil {
			startExample = fmt.Sprintf("%s: %q", startKey, s)
		}
	}
	unset := func(st state) bool { return st == absent || st == empty }
	if !required && unset(startSt) && unset(intervalSt) {
		return p // no trigger pipeline
	}
	report := func(e *entry, st state, key, example, other string) {
		if !unset(st) {
			return
		}
		msg, fix := "is required but not set", "add it, e.g. "+example
		if !required {
			msg = fmt.Sprintf("is required when %s is set", other)
			fix = fmt.Sprintf("add it, e.g. %s, or remove %s to run no trigger", example, other)
		}
		if st == empty {
			msg = "is empty"
			if !required {
				msg = fmt.Sprintf("is empty, but %s is set", other)
			}
			fix = "write it after the colon, e.g. " + example
			v.errorAt(emptyAt(e), key, fix, "%s", msg)
			return
		}
		v.missing(nil, key, fix, msg)
	}
	report(startE, startSt, startKey, startExample, intervalKey)
	report(intervalE, intervalSt, intervalKey, examples[intervalKey], startKey)

	if startSt == set && parser != nil {
		r, err := parser.Parse(start)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "time data ") {
				msg = fmt.Sprintf("%q: %s", start, msg)
			}
			v.errorAt(startE.val, startKey, fmt.Sprintf("write it in date_format %q, e.g. %s", parser.Format(), startExample), "%s", msg)
		} else {
			p.Start = r.Instant(loc) // an offset written in the date wins over time_zone
		}
	}
	if intervalSt == set {
		s, err := schedule.Parse(interval, loc)
		if err != nil {
			v.errorAt(intervalE.val, intervalKey,
				scheduleSyntax,
				"%v", err)
		} else {
			p.Schedule = s
		}
	}
	return p
}

func (v *validator) mlflow(e *entry, c *Config) {
	var m *node
	wrongType := false
	if e != nil {
		switch {
		case e.val.isEmpty():
		case e.val.tag == tagMap:
			m = e.val
		default:
			v.errorAt(e.val, "mlflow", "write its fields indented below it, e.g. mlflow: {target_metric: accuracy_score}",
				"must be a mapping, not %s", e.val.describe())
			wrongType = true
		}
	}
	if m != nil {
		v.unknownKeys(m, mlflowKeys, "mlflow.", topLevelKeys, "")
	}

	const rule = "mlflow.target_metric"
	metric, st := v.str(m.field("target_metric"), rule, false)
	switch {
	case st == absent && wrongType:
	case st == absent:
		v.missing(e, rule, "add it under mlflow:, e.g. mlflow: {target_metric: accuracy_score}",
			"is required but not set: it decides which model is best")
	case st == empty:
		v.errorAt(emptyAt(m.field("target_metric")), rule, "write the metric that picks the best model, one of "+metricList(), "is empty")
	}
	c.MLflow.TargetMetric = metric

	dirE := m.field("target_metric_direction")
	dirText, dirSt := v.str(dirE, "mlflow.target_metric_direction", false)
	var dir Direction
	dirOK := false
	if dirSt == set {
		d, err := ParseDirection(dirText)
		if err != nil {
			v.errorAt(dirE.val, "mlflow.target_metric_direction", "write maximize (larger is better) or minimize (smaller is better)",
				"must be maximize or minimize, not %q", dirText)
		} else {
			dir, dirOK = d, true
		}
	}
	known, isKnown := MetricDirection(metric)
	switch {
	case st != set:
	case isKnown && dirOK && dir != known:
		v.warnAt(dirE.val, "mlflow.target_metric_direction", "remove target_metric_direction unless you mean it",
			"%s is normally %sd, but this says %s, so the model with the %s value wins", metric, known, dir, map[Direction]string{Maximize: "larger", Minimize: "smaller"}[dir])
		c.MLflow.Direction = dir
	case isKnown:
		c.MLflow.Direction = known
	case dirOK:
		c.MLflow.Direction = dir
	case dirSt == invalid || (dirSt == set && !dirOK):
		// already reported
	default:
		fix := "use one of " + metricList()
		if s := closest(metric, metricNames(), 2); len(s) > 0 {
			fix = didYouMean(s)
		}
		if !strings.HasSuffix(fix, "?") {
			fix += "."
		}
		fix += " For a metric of your own, also set mlflow.target_metric_direction: maximize or minimize"
		v.errorAt(m.field("target_metric").val, rule, fix, "unknown metric %q: posml cannot tell whether larger is better", metric)
	}

	uriE := m.field("tracking_uri")
	if uri, st := v.str(uriE, "mlflow.tracking_uri", false); st == set {
		u, err := url.Parse(uri)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorAt(uriE.val, "mlflow.tracking_uri", "use the tracking server's http(s) URL, e.g. http://mlflow.example.com:5000, or leave it out: the platform sets it",
				"%q is not an http or https URL", uri)
		} else {
			c.MLflow.TrackingURI = uri
		}
	}
	c.MLflow.ExperimentName, _ = v.str(m.field("experiment_name"), "mlflow.experiment_name", false)
	if c.MLflow.ExperimentName == "" {
		c.MLflow.ExperimentName = c.ProjName
	}
	c.MLflow.RegisterModel, _ = v.str(m.field("register_model"), "mlflow.register_model", false)
	if c.MLflow.RegisterModel == "" && len(c.ModelNames) > 0 {
		c.MLflow.RegisterModel = c.ModelNames[0]
	}
	c.MLflow.AutoAlias = v.boolean(m.field("auto_alias"), "mlflow.auto_alias", false)
}

// emptyDefault warns that an optional field was left empty.
func (v *validator) emptyDefault(e *entry, rule string, def any) {
	v.warnAt(emptyAt(e), rule, "write a value, e.g. "+examples[rule]+", or delete the line", "is empty; the default %v is used", def)
}

func (v *validator) scheduleMode(e *entry, c *Config) {
	const rule = "schedule_mode"
	s, st := v.str(e, rule, false)
	switch st {
	case empty:
		v.emptyDefault(e, rule, c.ScheduleMode)
	case set:
		for _, m := range []schedule.Mode{schedule.ModeTrigger, schedule.ModeInterval} {
			if s == m.String() {
				c.ScheduleMode = m
				return
			}
		}
		v.errorAt(e.val, rule, "write trigger (run at each tick, Airflow 3) or interval (run at the end of each interval, Airflow 2)",
			"must be trigger or interval, not %q", s)
	}
}

func (v *validator) boolean(e *entry, rule string, def bool) bool {
	switch {
	case e == nil:
		return def
	case e.val.tag == tagNull:
		v.emptyDefault(e, rule, def)
		return def
	case e.val.tag == tagBool:
		return e.val.value.(bool)
	case e.val.tag == tagStr && slices.Contains([]string{"true", "false", "yes", "no", "on", "off"}, strings.ToLower(e.val.y.Value)):
		v.errorAt(e.val, rule, fmt.Sprintf("remove the quotes: %s: %s", rule, strings.ToLower(e.val.y.Value)), "must be true or false, not the string %q", e.val.y.Value)
	case e.val.tag != tagInvalid:
		v.errorAt(e.val, rule, "write true or false", "must be true or false, not %s", e.val.describe())
	}
	return def
}

func (v *validator) integer(e *entry, rule string, least, def int) int {
	if e == nil {
		return def
	}
	n := e.val
	switch n.tag {
	case tagNull:
		v.emptyDefault(e, rule, def)
		return def
	case tagInvalid:
		return def
	case tagInt:
		i, ok := n.value.(int)
		if ok && i >= least {
			return i
		}
		v.errorAt(n, rule, "write an integer of at least "+strconv.Itoa(least), "must be at least %d, not %s", least, n.y.Value)
	case tagStr:
		fix := "write an integer, e.g. " + examples[rule]
		if _, err := strconv.Atoi(n.y.Value); err == nil {
			fix = fmt.Sprintf("remove the quotes: %s: %s", rule, n.y.Value)
		}
		v.errorAt(n, rule, fix, "must be an integer, not the string %q", n.y.Value)
	default:
		v.errorAt(n, rule, "write an integer, e.g. "+examples[rule], "must be an integer, not %s", n.describe())
	}
	return def
}

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// duration reads a duration: Go syntax (90m, 1h30m, 45s) or a plain
// integer meaning seconds. It must be positive, or zero when zeroOK.
func (v *validator) duration(e *entry, rule string, def time.Duration, zeroOK bool) time.Duration {
	if e == nil {
		return def
	}
	n := e.val
	fix := "write a duration such as 90s, 10m or 1h30m, or a number of seconds"
	var d time.Duration
	switch n.tag {
	case tagNull:
		v.emptyDefault(e, rule, def)
		return def
	case tagInvalid:
		return def
	case tagInt, tagStr:
		s := n.y.Value
		if decimalRE.MatchString(s) {
			secs, err := strconv.ParseInt(s, 10, 64)
			if err != nil || secs > int64(1<<63-1)/int64(time.Second) {
				v.errorAt(n, rule, fix, "%s seconds is too long", s)
				return def
			}
			d = time.Duration(secs) * time.Second
			break
		}
		if n.tag == tagInt {
			v.errorAt(n, rule, fix, "YAML reads %s as the number %v, which is ambiguous as a duration", s, n.value)
			return def
		}
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			v.errorAt(n, rule, fix, "%q is not a duration", s)
			return def
		}
	default:
		v.errorAt(n, rule, fix, "must be a duration, not %s", n.describe())
		return def
	}
	if d < 0 || (d == 0 && !zeroOK) {
		want := "positive"
		if zeroOK {
			want = "zero or positive"
		}
		v.errorAt(n, rule, fix, "must be %s, not %s", want, n.y.Value)
		return def
	}
	return d
}

// scheduleSyntax reminds the user what a schedule may be; it follows the
// schedule package's own explanation of the error.
const scheduleSyntax = "a schedule is a preset (@once @hourly @daily @weekly @monthly @quarterly @yearly) or 5 cron fields: minute hour day-of-month month day-of-week"
