package pipeline

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/posml/posml/internal/projectconfig"
)

func TestSettingsOf(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	cfg := `proj_name: iris
model_name:
  - model_name_1: "knn_model_1"
  - model_name_2: "knn_model_2"
mart_id: m1
time_zone: Asia/Seoul
train_start_date: "2026-03-01 09:00:00"
train_schedule_interval: "@daily"
schedule_mode: interval
catchup: true
retries: 3
retry_delay: 30s
train_timeout: 10m
max_active_runs: 2
mlflow:
  target_metric: log_loss
  auto_alias: true
`
	if err := os.WriteFile(filepath.Join(dir, "src", "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags, err := projectconfig.Load(dir)
	if err != nil || c == nil {
		t.Fatalf("Load: %v %v", diags, err)
	}
	st := SettingsOf(c)
	want := Spec{Expr: "@daily", TimeZone: "Asia/Seoul", Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Mode: "interval", Catchup: true}
	if st.Train != want {
		t.Errorf("Train = %+v; want %+v", st.Train, want)
	}
	if st.Trigger != (Spec{}) {
		t.Errorf("Trigger = %+v; want unscheduled", st.Trigger)
	}
	if st.Retries != 3 || st.RetryDelay != 30*time.Second || st.TrainTimeout != 10*time.Minute || st.MaxActiveRuns != 2 ||
		st.Direction != "minimize" || st.ExperimentName != "iris" || st.RegisterModel != "knn_model_1" || len(st.ModelNames) != 2 ||
		!st.AutoAlias {
		t.Errorf("settings = %+v", st)
	}
	tt, ok, err := st.Spec(Train).Timetable()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	r, _ := tt.NextRun(nil, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC); !r.FireAt.Equal(want) { // unaligned 09:00 start: [Mar 2, Mar 3) KST, ends Mar 3 00:00 KST
		t.Errorf("first fire %v; want %v", r.FireAt, want)
	}
	if _, ok, err := st.Spec(Trigger).Timetable(); ok || err != nil {
		t.Errorf("unscheduled trigger: ok %v err %v", ok, err)
	}
	if _, _, err := (Spec{Expr: "@daily", TimeZone: "Mars/Olympus"}).Timetable(); err == nil {
		t.Error("bad zone accepted")
	}
}

func TestStates(t *testing.T) {
	for _, s := range []State{Succeeded, Failed, TimedOut, Canceled, Skipped} {
		if !s.Terminal() || !s.Valid() {
			t.Errorf("%s: not terminal", s)
		}
	}
	for _, s := range []State{Queued, Running} {
		if s.Terminal() || !s.Valid() {
			t.Errorf("%s: terminal", s)
		}
	}
	if State("done").Valid() || Cause("cron").Valid() || Kind("deploy").Valid() {
		t.Error("unknown values accepted")
	}
	if !CauseSchedule.Keyed() || !CauseBackfill.Keyed() || CauseManual.Keyed() || CauseTrigger.Keyed() {
		t.Error("Keyed")
	}
	if id, err := ParseRunID(RunID(42).String()); err != nil || id != 42 {
		t.Errorf("ParseRunID = %v, %v", id, err)
	}
	for _, s := range []string{"", "0", "-1", "x"} {
		if _, err := ParseRunID(s); err == nil {
			t.Errorf("ParseRunID(%q) accepted", s)
		}
	}
	if s := (Credentials{Token: "secret"}).String(); s != "pipeline.Credentials{redacted}" {
		t.Errorf("Credentials print as %q", s)
	}
}
