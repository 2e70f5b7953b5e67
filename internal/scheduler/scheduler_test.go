package scheduler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/sqlstore"
)

var seoul = mustZone("Asia/Seoul")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func kst(s string) time.Time {
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += ":05" // fractional seconds are read too
	}
	t, err := time.ParseInLocation(layout, s, seoul)
	if err != nil {
		panic(err)
	}
	return t
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openStore(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "posml.db")
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:///" + path + "?synchronous=off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// config is a project's src/config.yaml with a train schedule.
func config(name, interval, extra string) string {
	return "proj_name: " + name + "\nmodel_name: " + name + "\nmart_id: m1\ntime_zone: Asia/Seoul\n" +
		"train_start_date: \"2026-03-01 00:00:00\"\ntrain_schedule_interval: \"" + interval + "\"\n" +
		"mlflow:\n  target_metric: accuracy_score\n" + extra
}

// settings loads a config the way the project registry does.
func settings(t testing.TB, cfgYAML string) pipeline.Settings {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "src", "config.yaml"), []byte(cfgYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := projectconfig.Load(dir)
	if err != nil || cfg == nil {
		t.Fatalf("Load: %v %v", diags, err)
	}
	for _, d := range diags {
		if d.Severity.String() == "error" {
			t.Fatalf("config: %v", diags)
		}
	}
	return pipeline.SettingsOf(cfg)
}

func addProject(t testing.TB, s *sqlstore.Store, name string, st pipeline.Settings) pipeline.Project {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, pipeline.Project{Name: name, RepoURL: "/repo/" + name}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	activate(t, s, p.ID, "c1", st)
	return p
}

func activate(t testing.TB, s *sqlstore.Store, id pipeline.ProjectID, sha string, st pipeline.Settings) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: id, SHA: sha, Valid: true, Settings: st}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateCommit(ctx, id, sha); err != nil {
		t.Fatal(err)
	}
}

func runs(t *testing.T, s *sqlstore.Store, id pipeline.ProjectID) []pipeline.Run {
	t.Helper()
	rs, err := s.PipelineRuns(context.Background(), pipeline.RunFilter{ProjectID: id, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// oldest first
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

func tick(t *testing.T, sch *Scheduler) int {
	t.Helper()
	n, err := sch.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHourlySeoul: @hourly in Asia/Seoul fires at the right instants in
// both run models.
func TestHourlySeoul(t *testing.T) {
	for _, tc := range []struct {
		mode string
		// logical dates and data intervals of the runs fired at 10:30,
		// 10:59:59, 11:00 and 12:00:01 KST.
		first, second, third        pipeline.Interval
		firstLogical, secondLogical time.Time
		thirdLogical                time.Time
	}{
		{
			mode:          "trigger",
			firstLogical:  kst("2026-03-02 10:00"),
			first:         pipeline.Interval{Start: kst("2026-03-02 10:00"), End: kst("2026-03-02 10:00")},
			secondLogical: kst("2026-03-02 11:00"),
			second:        pipeline.Interval{Start: kst("2026-03-02 11:00"), End: kst("2026-03-02 11:00")},
			thirdLogical:  kst("2026-03-02 12:00"),
			third:         pipeline.Interval{Start: kst("2026-03-02 12:00"), End: kst("2026-03-02 12:00")},
		},
		{
			mode:          "interval",
			firstLogical:  kst("2026-03-02 09:00"),
			first:         pipeline.Interval{Start: kst("2026-03-02 09:00"), End: kst("2026-03-02 10:00")},
			secondLogical: kst("2026-03-02 10:00"),
			second:        pipeline.Interval{Start: kst("2026-03-02 10:00"), End: kst("2026-03-02 11:00")},
			thirdLogical:  kst("2026-03-02 11:00"),
			third:         pipeline.Interval{Start: kst("2026-03-02 11:00"), End: kst("2026-03-02 12:00")},
		},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := openStore(t, "")
			clk := &clock{t: kst("2026-03-02 10:30")}
			p := addProject(t, s, "iris", settings(t, config("iris", "@hourly", "schedule_mode: "+tc.mode+"\n")))
			sch := New(s, Config{Now: clk.Now}, nil)

			check := func(at string, want int) {
				t.Helper()
				if n := tick(t, sch); n != want {
					t.Fatalf("tick at %s created %d runs; want %d", at, n, want)
				}
			}
			check("10:30", 1) // no catch-up: the latest run is due at once
			check("10:30 again", 0)
			clk.Set(kst("2026-03-02 11:00").Add(-time.Second))
			check("10:59:59", 0)
			clk.Set(kst("2026-03-02 11:00"))
			check("11:00", 1)
			clk.Set(kst("2026-03-02 12:00").Add(time.Second))
			check("12:00:01", 1)

			rs := runs(t, s, p.ID)
			if len(rs) != 3 {
				t.Fatalf("%d runs; want 3", len(rs))
			}
			for i, want := range []struct {
				logical time.Time
				iv      pipeline.Interval
			}{{tc.firstLogical, tc.first}, {tc.secondLogical, tc.second}, {tc.thirdLogical, tc.third}} {
				r := rs[i]
				if !r.LogicalDate.Equal(want.logical) || !r.DataInterval.Start.Equal(want.iv.Start) || !r.DataInterval.End.Equal(want.iv.End) {
					t.Errorf("run %d: logical %v interval [%v, %v]; want %v [%v, %v]", i, r.LogicalDate.In(seoul),
						r.DataInterval.Start.In(seoul), r.DataInterval.End.In(seoul), want.logical.In(seoul), want.iv.Start.In(seoul), want.iv.End.In(seoul))
				}
				if r.Cause != pipeline.CauseSchedule || r.State != pipeline.Queued || r.MaxAttempts != 2 || r.Commit != "c1" {
					t.Errorf("run %d = %+v", i, r)
				}
			}
			scs, _ := s.Schedules(context.Background(), p.ID)
			var next time.Time
			for _, sc := range scs {
				if sc.Pipeline == pipeline.Train {
					next = sc.NextFireAt
				}
			}
			if !next.Equal(kst("2026-03-02 13:00")) {
				t.Errorf("next fire %v; want 13:00 KST", next.In(seoul))
			}
		})
	}
}

// TestNoDoubleCreation: two schedulers (two servers, each with its own
// connection pool) on one database create each run once.
func TestNoDoubleCreation(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "posml.db")
		noDoubleCreation(t, openStore(t, path), openStore(t, path))
	})
	if base := os.Getenv("POSML_TEST_POSTGRES_URL"); base != "" {
		t.Run("postgres", func(t *testing.T) {
			u := postgresSchema(t, base)
			open := func() *sqlstore.Store {
				s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			noDoubleCreation(t, open(), open())
		})
	}
}

// postgresSchema makes a schema of its own for the test and returns the
// URL that uses it.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("pgx", base); err == nil {
			a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func noDoubleCreation(t *testing.T, s1, s2 *sqlstore.Store) {
	var ps []pipeline.Project
	for _, name := range []string{"a", "b", "c"} {
		ps = append(ps, addProject(t, s1, name, settings(t, config(name, "@hourly", "catchup: true\n"))))
	}
	clk := &clock{t: kst("2026-03-01 00:00")}
	sch1 := New(s1, Config{Now: clk.Now, MaxFiresPerTick: 3}, nil)
	sch2 := New(s2, Config{Now: clk.Now, MaxFiresPerTick: 3}, nil)
	for h := 0; h <= 30; h += 5 { // the clock jumps: catch-up runs pile up
		clk.Set(kst("2026-03-01 00:00").Add(time.Duration(h) * time.Hour))
		for range 4 {
			var wg sync.WaitGroup
			for _, sch := range []*Scheduler{sch1, sch2} {
				wg.Go(func() {
					if _, err := sch.Tick(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
	}
	for _, p := range ps {
		rs := runs(t, s1, p.ID)
		if len(rs) != 31 {
			t.Errorf("project %s: %d runs; want 31 (00:00 .. 06:00 next day, hourly)", p.Name, len(rs))
		}
		seen := map[int64]bool{}
		for _, r := range rs {
			if seen[r.LogicalDate.Unix()] {
				t.Errorf("project %s: logical date %v twice", p.Name, r.LogicalDate)
			}
			seen[r.LogicalDate.Unix()] = true
		}
	}
}

// TestRestartCatchup: fires missed while no scheduler ran follow the
// catch-up rule at the next start.
func TestRestartCatchup(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  []time.Time
	}{
		{"catchup: false\n", []time.Time{kst("2026-03-02 10:00"), kst("2026-03-02 15:00")}},
		{"catchup: true\n", nil}, // filled below
	} {
		t.Run(tc.extra[:len(tc.extra)-1], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "posml.db")
			s := openStore(t, path)
			p := addProject(t, s, "iris", settings(t, config("iris", "@hourly", tc.extra)))
			clk := &clock{t: kst("2026-03-02 10:00")}
			before := New(s, Config{Now: clk.Now}, nil)
			if tc.want == nil {
				// with catch-up, everything since the start date runs first
				for h := kst("2026-03-01 00:00"); !h.After(kst("2026-03-02 15:00")); h = h.Add(time.Hour) {
					tc.want = append(tc.want, h)
				}
			}
			for tick(t, before) > 0 {
			}
			s.Close()

			// Down from 10:00 to 15:30.
			s = openStore(t, path)
			clk.Set(kst("2026-03-02 15:30"))
			after := New(s, Config{Now: clk.Now}, nil)
			for tick(t, after) > 0 {
			}
			rs := runs(t, s, p.ID)
			if len(rs) != len(tc.want) {
				t.Fatalf("%d runs; want %d", len(rs), len(tc.want))
			}
			for i, r := range rs {
				if !r.LogicalDate.Equal(tc.want[i]) {
					t.Errorf("run %d at %v; want %v", i, r.LogicalDate.In(seoul), tc.want[i].In(seoul))
				}
			}
		})
	}
}

// TestScheduleChange: a new active commit's schedule takes effect from
// then on; pausing stops fires, resuming applies the catch-up rule.
func TestScheduleChange(t *testing.T) {
	s := openStore(t, "")
	ctx := context.Background()
	p := addProject(t, s, "iris", settings(t, config("iris", "@hourly", "")))
	clk := &clock{t: kst("2026-03-02 10:30")}
	sch := New(s, Config{Now: clk.Now}, nil)
	if n := tick(t, sch); n != 1 {
		t.Fatalf("first tick: %d runs", n)
	}
	// A new commit: daily at 06:00 KST.
	activate(t, s, p.ID, "c2", settings(t, config("iris", "0 6 * * *", "")))
	clk.Set(kst("2026-03-02 10:40"))
	if n := tick(t, sch); n != 0 {
		t.Fatalf("tick after change: %d runs; want 0", n)
	}
	scs, _ := s.Schedules(ctx, p.ID)
	if sc := scs[1]; sc.Commit != "c2" || !sc.NextFireAt.Equal(kst("2026-03-03 06:00")) {
		t.Fatalf("schedule after change = %+v; want c2, next 06:00 KST", sc)
	}
	// Paused over the 06:00 fire; resumed at 07:10 without catch-up, the
	// missed 06:00 runs at once (Airflow 3: the latest tick).
	if err := s.SetProjectPaused(ctx, p.ID, true); err != nil {
		t.Fatal(err)
	}
	clk.Set(kst("2026-03-03 06:30"))
	if n := tick(t, sch); n != 0 {
		t.Fatalf("tick while paused: %d runs", n)
	}
	if err := s.SetProjectPaused(ctx, p.ID, false); err != nil {
		t.Fatal(err)
	}
	clk.Set(kst("2026-03-03 07:10"))
	if n := tick(t, sch); n != 1 {
		t.Fatalf("tick after resume: %d runs; want 1", n)
	}
	rs := runs(t, s, p.ID)
	if last := rs[len(rs)-1]; last.Commit != "c2" || !last.LogicalDate.Equal(kst("2026-03-03 06:00")) {
		t.Errorf("run after resume = %v on %s; want 06:00 KST on c2", last.LogicalDate.In(seoul), last.Commit)
	}
}

// TestOnce: @once fires once.
func TestOnce(t *testing.T) {
	s := openStore(t, "")
	p := addProject(t, s, "iris", settings(t, config("iris", "@once", "")))
	clk := &clock{t: kst("2026-03-02 10:30")}
	sch := New(s, Config{Now: clk.Now}, nil)
	tick(t, sch)
	clk.Set(kst("2026-03-09 10:30"))
	tick(t, sch)
	if rs := runs(t, s, p.ID); len(rs) != 1 || !rs[0].LogicalDate.Equal(kst("2026-03-01 00:00")) {
		t.Errorf("runs = %+v; want one at the start date", rs)
	}
}

// TestTriggerPipeline: a project with a trigger schedule gets runs of both
// pipelines, each on its own timetable.
func TestTriggerPipeline(t *testing.T) {
	s := openStore(t, "")
	p := addProject(t, s, "iris", settings(t, config("iris", "@daily",
		"train_trigger_start_date: \"2026-03-01 00:00:00\"\ntrain_trigger_schedule_interval: \"30 * * * *\"\n")))
	clk := &clock{t: kst("2026-03-02 10:45")}
	sch := New(s, Config{Now: clk.Now}, nil)
	if n := tick(t, sch); n != 2 {
		t.Fatalf("first tick: %d runs; want 2", n)
	}
	clk.Set(kst("2026-03-02 11:30"))
	if n := tick(t, sch); n != 1 {
		t.Fatalf("11:30 tick: %d runs; want 1 (trigger)", n)
	}
	got := map[pipeline.Kind][]time.Time{}
	for _, r := range runs(t, s, p.ID) {
		got[r.Pipeline] = append(got[r.Pipeline], r.LogicalDate)
	}
	wantTrain := []time.Time{kst("2026-03-02 00:00")}
	wantTrigger := []time.Time{kst("2026-03-02 10:30"), kst("2026-03-02 11:30")}
	if !equalTimes(got[pipeline.Train], wantTrain) || !equalTimes(got[pipeline.Trigger], wantTrigger) {
		t.Errorf("runs: train %v trigger %v; want %v and %v", got[pipeline.Train], got[pipeline.Trigger], wantTrain, wantTrigger)
	}
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// TestRunSleepsUntilDue: Run ticks, sleeps until the next fire (at most
// PollInterval), and fires when woken at that instant.
func TestRunSleepsUntilDue(t *testing.T) {
	s := openStore(t, "")
	p := addProject(t, s, "iris", settings(t, config("iris", "@hourly", "")))
	clk := &clock{t: kst("2026-03-02 10:59:59.5")}
	waits := make(chan time.Duration)
	wake := make(chan time.Time)
	fired := make(chan pipeline.Run, 10)
	sch := New(s, Config{Now: clk.Now, PollInterval: time.Minute, FiredFunc: func(r pipeline.Run) { fired <- r },
		After: func(d time.Duration) <-chan time.Time { waits <- d; return wake }}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	if d := <-waits; d != 500*time.Millisecond { // the 10:00 run fired at once; 11:00 is next
		t.Errorf("first sleep %v; want 500ms", d)
	}
	if r := <-fired; !r.LogicalDate.Equal(kst("2026-03-02 10:00")) {
		t.Errorf("first run at %v", r.LogicalDate.In(seoul))
	}
	clk.Set(kst("2026-03-02 11:00"))
	wake <- clk.Now()
	if d := <-waits; d != time.Minute { // 12:00 is an hour away: PollInterval bounds the sleep
		t.Errorf("second sleep %v; want 1m", d)
	}
	if r := <-fired; !r.LogicalDate.Equal(kst("2026-03-02 11:00")) || r.ProjectID != p.ID {
		t.Errorf("second run %+v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
