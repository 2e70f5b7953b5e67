package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

// TestLeases: a started attempt is leased by its replica's renewal; once
// the lease expires, concurrent take-overs by several replicas hand it to
// exactly one; the former owner can no longer renew it.
func TestLeases(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo")
		t0 := time.Now().Truncate(time.Millisecond)
		const timeout = 3 * time.Second
		var ids []pipeline.RunID
		for range 3 {
			r, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		// max_active_runs is 1: one attempt runs.
		_, a, ok, err := s.StartAttempt(ctx, ids[0], t0, nil)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		// Not leased yet: it counts from its start.
		if got, err := s.TakeOverExpired(ctx, "r2", t0.Add(timeout-time.Millisecond), t0.Add(2*timeout), timeout, 10); err != nil || len(got) != 0 {
			t.Fatalf("TakeOverExpired before the start's timeout = %v, %v; want none", got, err)
		}
		renewed, err := s.RenewLeases(ctx, "r1", map[pipeline.RunID]int{a.RunID: a.N}, t0.Add(timeout))
		if err != nil || renewed[a.RunID] != a.N {
			t.Fatalf("RenewLeases = %v, %v", renewed, err)
		}
		if n, err := s.LeasesActive(ctx, t0); err != nil || n != 1 {
			t.Errorf("LeasesActive = %d, %v; want 1", n, err)
		}
		if got, err := s.ReplicaAttempts(ctx, "r1"); err != nil || len(got) != 1 {
			t.Errorf("ReplicaAttempts(r1) = %v, %v; want 1", got, err)
		}
		// The lease expires: three replicas race to take it over.
		at := t0.Add(timeout)
		var mu sync.Mutex
		taken := map[string]int{}
		var wg sync.WaitGroup
		for i := range 3 {
			replica := fmt.Sprintf("r%d", i+2)
			wg.Go(func() {
				got, err := s.TakeOverExpired(ctx, replica, at, at.Add(timeout), timeout, 10)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				taken[replica] += len(got)
				mu.Unlock()
			})
		}
		wg.Wait()
		total := 0
		for _, n := range taken {
			total += n
		}
		if total != 1 {
			t.Fatalf("take-overs = %v; want exactly one in all", taken)
		}
		if renewed, err := s.RenewLeases(ctx, "r1", map[pipeline.RunID]int{a.RunID: a.N}, at.Add(timeout)); err != nil || len(renewed) != 0 {
			t.Errorf("RenewLeases by the former owner = %v, %v; want nothing renewed", renewed, err)
		}
	})
}

func TestReplicasAndLag(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		for i, beat := range []time.Time{now, now.Add(-2 * time.Minute)} {
			r := Replica{ID: fmt.Sprintf("r%d", i), Host: "h", PID: 1, StartedAt: now.Add(-time.Hour), LeaseTimeout: time.Minute}
			if err := s.HeartbeatReplica(ctx, r, beat); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.ReplicasAlive(ctx, now); err != nil || n != 1 {
			t.Errorf("ReplicasAlive = %d, %v; want 1", n, err)
		}
		rs, err := s.Replicas(ctx)
		if err != nil || len(rs) != 2 || rs[1].ID != "r1" || !rs[1].HeartbeatAt.Equal(now.Add(-2*time.Minute).Truncate(time.Millisecond)) || rs[0].LeaseTimeout != time.Minute || rs[0].PID != 1 {
			t.Errorf("Replicas = %+v, %v", rs, err)
		}
		if err := s.HeartbeatReplica(ctx, Replica{ID: "r2", StartedAt: now, LeaseTimeout: time.Minute}, now.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if rs, err := s.Replicas(ctx); err != nil || len(rs) != 1 || rs[0].ID != "r2" {
			t.Errorf("Replicas after a beat a day later = %+v, %v; want r2 only", rs, err)
		}
		if err := s.RemoveReplica(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		if err := s.HeartbeatReplica(ctx, Replica{ID: "r0", StartedAt: now, LeaseTimeout: time.Minute}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveReplica(ctx, "r0"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.ReplicasAlive(ctx, now); err != nil || n != 0 {
			t.Errorf("ReplicasAlive after RemoveReplica = %d, %v; want 0", n, err)
		}
		seedProject(t, s, "demo") // its next fire is to be computed: due since now
		lag, err := s.SchedulerLag(ctx, now.Add(time.Minute))
		if err != nil || lag < 59*time.Second || lag > 61*time.Second {
			t.Errorf("SchedulerLag a minute later = %v, %v; want about 1m", lag, err)
		}
		if lag, err := s.SchedulerLag(ctx, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || lag != 0 {
			t.Errorf("SchedulerLag before any fire = %v, %v; want 0", lag, err)
		}
	})
}

func TestCheckSchema(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema of a fresh database = %v", err)
		}
		applied, known, err := s.SchemaVersion(ctx)
		if err != nil || applied != known || known < 60 {
			t.Fatalf("SchemaVersion = %d, %d, %v", applied, known, err)
		}
		if _, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`), known+1); err != nil {
			t.Fatal(err)
		}
		err = s.CheckSchema(ctx)
		kindOf(t, err, posml.KindConflict, "newer than this posml knows")
	})
}

func TestRunLog(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo")
		r, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			pos  int64
			data string
		}{{0, "hello "}, {6, "world\n"}, {6, "again\n"}, {20, "after a gap"}} {
			if err := s.AppendLog(ctx, r.ID, 1, c.pos, []byte(c.data)); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			from  int64
			limit int
			want  string
		}{
			{0, 1 << 20, "hello world\n"}, // the duplicate at 6 is ignored; the gap stops the read
			{3, 1 << 20, "lo world\n"},
			{0, 1, "hello "}, // whole chunks
			{12, 1 << 20, ""},
		} {
			got, err := s.ReadLog(ctx, r.ID, 1, tc.from, tc.limit)
			if err != nil || string(got) != tc.want {
				t.Errorf("ReadLog(from %d, limit %d) = %q, %v; want %q", tc.from, tc.limit, got, err, tc.want)
			}
		}
		// An append retried at the same position with more bytes (the first
		// committed but reported an error) keeps the longer chunk: no gap.
		for _, c := range []struct {
			pos  int64
			data string
		}{{0, "one "}, {4, "two "}, {0, "one two three"}, {13, " four"}} {
			if err := s.AppendLog(ctx, r.ID, 3, c.pos, []byte(c.data)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.ReadLog(ctx, r.ID, 3, 0, 1<<20); err != nil || string(got) != "one two three four" {
			t.Errorf("ReadLog after a longer retried append = %q, %v; want %q", got, err, "one two three four")
		}
		if got, err := s.ReadLog(ctx, r.ID, 2, 0, 100); err != nil || len(got) != 0 {
			t.Errorf("ReadLog of attempt 2 = %q, %v; want empty", got, err)
		}
	})
}
