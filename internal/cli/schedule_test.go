package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScheduleNext checks `posml schedule next --json` against the Airflow
// behaviour recorded in ../shared/specs/airflow-schedule.md.
func TestScheduleNext(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantFire []string
		// wantInterval, when set, is the data interval of the first run.
		wantInterval [2]string
		wantLogical  string // logical date of the first run, when set
	}{
		{
			name:     "new york gap shifts 02:30 to 03:30 EDT",
			args:     []string{"--interval", "30 2 * * *", "--tz", "America/New_York", "--start", "2024-03-01 00:00:00", "--now", "2024-03-09T12:00:00Z"},
			wantFire: []string{"2024-03-09T02:30:00-05:00", "2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"},
		},
		{
			name:     "new york hourly fall back runs both 01:00",
			args:     []string{"--interval", "@hourly", "--tz", "America/New_York", "--start", "2024-11-01 00:00:00", "--now", "2024-11-03T04:30:00Z", "--count", "4"},
			wantFire: []string{"2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"},
		},
		{
			name:     "new york overlap fires once at standard time",
			args:     []string{"--interval", "30 1 * * *", "--tz", "America/New_York", "--start", "2024-11-01 00:00:00", "--now", "2024-11-02T12:00:00Z"},
			wantFire: []string{"2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"},
		},
		{
			name:     "london gap",
			args:     []string{"--interval", "30 1 * * *", "--tz", "Europe/London", "--start", "2024-03-01 00:00:00", "--now", "2024-03-30T12:00:00Z"},
			wantFire: []string{"2024-03-30T01:30:00Z", "2024-03-31T02:30:00+01:00", "2024-04-01T01:30:00+01:00"},
		},
		{
			name:         "london interval mode 25 hour day",
			args:         []string{"--interval", "0 1 * * *", "--tz", "Europe/London", "--start", "2024-10-01 00:00:00", "--now", "2024-10-27T02:00:00Z", "--mode", "interval", "--count", "1"},
			wantFire:     []string{"2024-10-27T01:00:00Z"},
			wantInterval: [2]string{"2024-10-26T01:00:00+01:00", "2024-10-27T01:00:00Z"},
			wantLogical:  "2024-10-26T01:00:00+01:00",
		},
		{
			name:     "month ends are skipped not clamped",
			args:     []string{"--interval", "0 0 31 * *", "--tz", "UTC", "--start", "2024-01-01 00:00:00", "--now", "2024-01-31T12:00:00Z"},
			wantFire: []string{"2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z"},
		},
		{
			name:     "feb 29 every four years",
			args:     []string{"--interval", "0 0 29 2 *", "--tz", "UTC", "--start", "2024-01-01 00:00:00", "--now", "2024-01-01T00:00:00Z"},
			wantFire: []string{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
		},
		{
			name:     "day of month OR day of week",
			args:     []string{"--interval", "0 0 13 * 5", "--tz", "UTC", "--start", "2024-10-01 00:00:00", "--now", "2024-10-01T00:00:00Z", "--count", "4"},
			wantFire: []string{"2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z"},
		},
		{
			name:     "weekly is sunday midnight",
			args:     []string{"--interval", "@weekly", "--tz", "Asia/Seoul", "--start", "2024-10-01 00:00:00", "--now", "2024-09-30T15:00:00Z"},
			wantFire: []string{"2024-10-06T00:00:00+09:00", "2024-10-13T00:00:00+09:00", "2024-10-20T00:00:00+09:00"},
		},
		{
			name:         "interval mode without catchup runs the latest complete interval",
			args:         []string{"--interval", "@daily", "--tz", "UTC", "--start", "2024-01-01 00:00:00", "--now", "2024-01-03T12:00:00Z", "--mode", "interval", "--count", "2"},
			wantFire:     []string{"2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"},
			wantInterval: [2]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"},
			wantLogical:  "2024-01-02T00:00:00Z",
		},
		{
			name:         "interval mode with catchup lists the runs still to come",
			args:         []string{"--interval", "@daily", "--tz", "UTC", "--start", "2024-01-01 00:00:00", "--now", "2024-01-03T12:00:00Z", "--mode", "interval", "--catchup", "--count", "1"},
			wantFire:     []string{"2024-01-04T00:00:00Z"},
			wantInterval: [2]string{"2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"},
			wantLogical:  "2024-01-03T00:00:00Z",
		},
		{
			name:     "trigger mode with catchup after a last run",
			args:     []string{"--interval", "@daily", "--tz", "UTC", "--start", "2024-01-01 00:00:00", "--now", "2024-01-05T12:00:00Z", "--catchup", "--last-run", "2024-01-02T00:00:00Z,2024-01-02T00:00:00Z", "--count", "2"},
			wantFire: []string{"2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"},
		},
		{
			name:         "trigger mode without catchup runs the latest tick at once",
			args:         []string{"--interval", "@daily", "--tz", "Asia/Seoul", "--start", "2023-01-09 00:00:00", "--now", "2024-03-09T12:00:00Z", "--count", "2"},
			wantFire:     []string{"2024-03-09T00:00:00+09:00", "2024-03-10T00:00:00+09:00"},
			wantInterval: [2]string{"2024-03-09T00:00:00+09:00", "2024-03-09T00:00:00+09:00"},
			wantLogical:  "2024-03-09T00:00:00+09:00",
		},
		{
			name:     "once fires at the start only",
			args:     []string{"--interval", "@once", "--tz", "Asia/Seoul", "--start", "2030-01-01 09:00:00", "--now", "2024-03-09T12:00:00Z"},
			wantFire: []string{"2030-01-01T09:00:00+09:00"},
		},
		{
			name:     "start date offset wins over the zone",
			args:     []string{"--interval", "@daily", "--tz", "Asia/Seoul", "--start", "2030-01-01 00:00:00+0000", "--date-format", "%Y-%m-%d %H:%M:%S%z", "--now", "2024-03-09T12:00:00Z", "--count", "1"},
			wantFire: []string{"2030-01-02T00:00:00+09:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"schedule", "next", "--json", "--count", "3"}, tt.args...)
			stdout, stderr, code := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, stderr)
			}
			var got scheduleNextJSON
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("bad JSON %q: %v", stdout, err)
			}
			var fires []string
			for _, r := range got.Runs {
				fires = append(fires, r.FireAt)
			}
			if diff := cmp.Diff(tt.wantFire, fires); diff != "" {
				t.Errorf("fire_at (-want +got):\n%s", diff)
			}
			if tt.wantInterval[0] != "" && len(got.Runs) > 0 {
				r := got.Runs[0]
				if r.DataIntervalStart != tt.wantInterval[0] || r.DataIntervalEnd != tt.wantInterval[1] {
					t.Errorf("first data interval = [%s, %s]; want [%s, %s]", r.DataIntervalStart, r.DataIntervalEnd, tt.wantInterval[0], tt.wantInterval[1])
				}
			}
			if tt.wantLogical != "" && len(got.Runs) > 0 && got.Runs[0].LogicalDate != tt.wantLogical {
				t.Errorf("first logical_date = %s; want %s", got.Runs[0].LogicalDate, tt.wantLogical)
			}
		})
	}
}

func TestScheduleNextErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"bad cron", []string{"--interval", "0 0 30 2 *", "--start", "2024-01-01 00:00:00"}, 1, "--interval"},
		{"bad zone", []string{"--interval", "@daily", "--tz", "Asia/Seol", "--start", "2024-01-01 00:00:00"}, 1, "Asia/Seol"},
		{"start does not match format", []string{"--interval", "@daily", "--start", "2024/01/01"}, 1, "--start"},
		{"bad mode", []string{"--interval", "@daily", "--start", "2024-01-01 00:00:00", "--mode", "airflow"}, 1, "--mode"},
		{"bad now", []string{"--interval", "@daily", "--start", "2024-01-01 00:00:00", "--now", "yesterday"}, 2, "--now"},
		{"bad last run", []string{"--interval", "@daily", "--start", "2024-01-01 00:00:00", "--last-run", "2024-01-01"}, 2, "--last-run"},
		{"missing interval", []string{"--start", "2024-01-01 00:00:00"}, 1, "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, append([]string{"schedule", "next", "--json"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d; want %d (stderr %q)", code, tt.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q; want nothing on error", stdout)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.wantErr)
			}
		})
	}
}
