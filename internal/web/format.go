package web

import (
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/tracking"
)

// templateFuncs are the helpers every template may call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"ms":         formatMillis,
		"ago":        agoMillis,
		"iso":        isoMillis,
		"duration":   runDuration,
		"num":        formatFloat,
		"status":     statusClass,
		"pathEscape": url.PathEscape,
		"runName":    runName,
		"add":        func(a, b int) int { return a + b },
		"short":      shortSHA,
		"when":       formatTime,
		"where":      executor.DescribeRef,
		"whenISO":    isoTime,
		"fval":       formatFloatPtr,
		"firstLine":  firstLine,
	}
}

// formatMillis shows a time in ms since the epoch in UTC, to the second.
func formatMillis(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05")
}

// isoMillis is the machine-readable form, for <time datetime>.
func isoMillis(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// agoMillis is a coarse relative time ("3 h ago").
func agoMillis(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return ago(time.Since(time.UnixMilli(ms)))
}

func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
	}
}

// runDuration is the run's wall time, or "" while it has no end.
func runDuration(info tracking.RunInfo) string {
	if info.EndTime <= 0 || info.StartTime <= 0 || info.EndTime < info.StartTime {
		return ""
	}
	d := time.Duration(info.EndTime-info.StartTime) * time.Millisecond
	switch {
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min " + strconv.Itoa(int(d%time.Minute/time.Second)) + " s"
	default:
		return strconv.Itoa(int(d/time.Hour)) + " h " + strconv.Itoa(int(d%time.Hour/time.Minute)) + " min"
	}
}

// formatFloat shows a metric value with up to 6 significant digits.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// statusClass is the CSS modifier of a status chip.
func statusClass(s string) string {
	switch strings.ToUpper(s) {
	case "FINISHED", "READY", "SUCCEEDED", "ACTIVE", "PROMOTED", "REGISTERED":
		return "ok"
	case "FAILED", "FAILED_REGISTRATION", "TIMED_OUT":
		return "bad"
	case "KILLED", "CANCELED", "SKIPPED", "PAUSED", "HELD":
		return "off"
	case "RUNNING", "PENDING_REGISTRATION", "QUEUED":
		return "busy"
	default:
		return "neutral"
	}
}

// runName is a run's name, or its ID when it has none.
func runName(info tracking.RunInfo) string {
	if info.RunName != "" {
		return info.RunName
	}
	return info.RunID
}

// shortSHA is the first 10 characters of a commit SHA.
func shortSHA(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// formatTime shows an instant in UTC, to the second; "—" when zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// isoTime is the machine-readable form, for <time datetime>.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// formatFloatPtr shows a score that may be missing.
func formatFloatPtr(v *float64) string {
	if v == nil {
		return "—"
	}
	return formatFloat(*v)
}

// firstLine is the first line of a commit message.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
