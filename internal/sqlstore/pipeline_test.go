package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

// seedProject creates a project with one valid, active commit scheduled
// @hourly for train.
func seedProject(t *testing.T, s *Store, name string) pipeline.Project {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, pipeline.Project{Name: name, RepoURL: "/tmp/" + name}, pipeline.Credentials{Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	st := pipeline.Settings{
		Train:         pipeline.Spec{Expr: "@hourly", TimeZone: "Asia/Seoul", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Mode: "trigger"},
		MaxActiveRuns: 1, Retries: 1, RetryDelay: time.Minute,
	}
	added, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "c1", Valid: true, Validation: json.RawMessage(`{"valid":true}`), Settings: st})
	if err != nil || !added {
		t.Fatalf("AddCommit = %v, %v", added, err)
	}
	if err := s.ActivateCommit(ctx, p.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Project(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjects(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo")
		if p.ActiveCommit != "c1" || !p.HasCredentials || p.Branch != "main" {
			t.Errorf("project = %+v", p)
		}
		if _, err := s.CreateProject(ctx, pipeline.Project{Name: "demo", RepoURL: "x"}, pipeline.Credentials{}); posml.KindOf(err) != posml.KindExists {
			t.Errorf("duplicate CreateProject: %v; want KindExists", err)
		}
		c, err := s.ProjectCredentials(ctx, p.ID)
		if err != nil || c.Token != "secret" {
			t.Errorf("ProjectCredentials = %v, %v", c.Token, err)
		}
		// An invalid commit never becomes active.
		if _, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "bad", Valid: false}); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateCommit(ctx, p.ID, "bad"); posml.KindOf(err) != posml.KindInvalid {
			t.Errorf("ActivateCommit(invalid) = %v; want KindInvalid", err)
		}
		if again, err := s.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: "bad"}); err != nil || again {
			t.Errorf("AddCommit again = %v, %v; want false, nil", again, err)
		}
		cs, err := s.Commits(ctx, p.ID, 0)
		if err != nil || len(cs) != 2 {
			t.Fatalf("Commits = %d, %v", len(cs), err)
		}
		scs, err := s.Schedules(ctx, p.ID)
		if err != nil || len(scs) != 2 {
			t.Fatalf("Schedules = %+v, %v", scs, err)
		}
		if scs[0].Pipeline != pipeline.Trigger || !scs[0].NextFireAt.IsZero() {
			t.Errorf("trigger schedule = %+v; want nothing pending", scs[0])
		}
		if scs[1].Pipeline != pipeline.Train || scs[1].NextFireAt.UnixMilli() != 0 || scs[1].Spec.TimeZone != "Asia/Seoul" {
			t.Errorf("train schedule = %+v; want due at once", scs[1])
		}
		if err := s.SetProjectPaused(ctx, p.ID, true); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueSchedules(ctx, time.Now(), 10); len(due) != 0 {
			t.Errorf("paused project has due schedules %+v", due)
		}
		if err := s.SetProjectPaused(ctx, p.ID, false); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueSchedules(ctx, time.Now(), 10); len(due) != 1 {
			t.Errorf("resumed project: %d due schedules; want 1", len(due))
		}
		at := time.Date(2026, 3, 2, 1, 2, 3, 0, time.UTC)
		if err := s.SetProjectSynced(ctx, p.ID, "h2", at, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProjectSynced(ctx, p.ID, "", at.Add(time.Minute), "fetch failed"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProjectCredentials(ctx, p.ID, pipeline.Credentials{SSHKey: []byte("KEY")}); err != nil {
			t.Fatal(err)
		}
		p.Branch, p.NotifyURLs = "dev", []string{"http://hook"}
		if _, err := s.UpdateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.ProjectByName(ctx, "demo")
		if err != nil || got.HeadCommit != "h2" || got.SyncError != "fetch failed" || !got.LastSyncAt.Equal(at.Add(time.Minute)) ||
			got.Branch != "dev" || len(got.NotifyURLs) != 1 || !got.HasCredentials {
			t.Errorf("project after updates = %+v, %v", got, err)
		}
		if c, _ := s.ProjectCredentials(ctx, p.ID); string(c.SSHKey) != "KEY" || c.Token != "" {
			t.Errorf("credentials after update: %v", c)
		}
		if err := s.SetProjectPaused(ctx, 999, true); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("pause of a missing project: %v", err)
		}
		if err := s.DeleteProject(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Project(ctx, p.ID); !errors.Is(err, posml.ErrNotFound) {
			t.Errorf("Project after delete: %v", err)
		}
	})
}

func TestFireSchedule(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo")
		now := time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC)
		due, err := s.DueSchedules(ctx, now, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("DueSchedules = %v, %v", due, err)
		}
		sc := due[0]
		tick := now.Truncate(time.Hour)
		r := pipeline.Run{LogicalDate: tick, DataInterval: pipeline.Interval{Start: tick, End: tick}, FireAt: tick, MaxAttempts: 2}
		run, ok, created, err := s.FireSchedule(ctx, sc, r, tick.Add(time.Hour))
		if err != nil || !ok || !created {
			t.Fatalf("FireSchedule = %v, %v, %v", ok, created, err)
		}
		if run.Project != "demo" || run.State != pipeline.Queued || run.Cause != pipeline.CauseSchedule || !run.LogicalDate.Equal(tick) || run.Commit != "c1" {
			t.Errorf("run = %+v", run)
		}
		// A second scheduler with the same stale read loses.
		if _, ok, _, err := s.FireSchedule(ctx, sc, r, tick.Add(time.Hour)); err != nil || ok {
			t.Errorf("second FireSchedule ok = %v, %v; want false", ok, err)
		}
		// A backfill of the same logical date exists already.
		if _, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseBackfill, LogicalDate: tick}); posml.KindOf(err) != posml.KindExists {
			t.Errorf("backfill of a scheduled date: %v; want KindExists", err)
		}
		// A manual run of the same instant is fine.
		man, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual, LogicalDate: tick, FireAt: tick.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		due, _ = s.DueSchedules(ctx, now, 10)
		if len(due) != 0 {
			t.Errorf("due after fire: %+v", due)
		}
		scs, _ := s.Schedules(ctx, p.ID)
		if got := scs[1]; got.Last == nil || !got.Last.End.Equal(tick) || !got.NextFireAt.Equal(tick.Add(time.Hour)) {
			t.Errorf("schedule after fire = %+v", got)
		}

		// Queue order is fire order; max_active_runs 1 holds the second.
		q, err := s.QueuedRuns(ctx, now, 10)
		if err != nil || len(q) != 2 || q[0].ID != run.ID || q[1].ID != man.ID {
			t.Fatalf("QueuedRuns = %+v, %v", q, err)
		}
		logPath := func(n int) string { return "/logs/" + run.ID.String() + "-" + string(rune('0'+n)) }
		got, a, ok, err := s.StartAttempt(ctx, run.ID, now, logPath)
		if err != nil || !ok || got.State != pipeline.Running || a.N != 1 || got.Attempts != 1 {
			t.Fatalf("StartAttempt = %+v, %+v, %v, %v", got, a, ok, err)
		}
		if _, _, ok, err := s.StartAttempt(ctx, man.ID, now, nil); err != nil || ok {
			t.Errorf("StartAttempt over max_active_runs = %v, %v; want false", ok, err)
		}
		if err := s.SetAttemptProcess(ctx, run.ID, 1, 4242, `{"pid":4242}`); err != nil {
			t.Fatal(err)
		}
		ra, err := s.RunningAttempts(ctx)
		if err != nil || len(ra) != 1 || ra[0].PID != 4242 || ra[0].LogPath == "" {
			t.Fatalf("RunningAttempts = %+v, %v", ra, err)
		}
		// Attempt 1 fails; a retry is queued after the delay.
		a.State, a.ExitCode, a.Error = pipeline.Failed, 1, "exit status 1"
		got, err = s.FinishAttempt(ctx, a, pipeline.Queued, "attempt 1 failed", now.Add(time.Minute))
		if err != nil || got.State != pipeline.Queued || !got.NotBefore.Equal(now.Add(time.Minute)) {
			t.Fatalf("FinishAttempt(retry) = %+v, %v", got, err)
		}
		if _, err := s.FinishAttempt(ctx, a, pipeline.Failed, "", time.Time{}); posml.KindOf(err) != posml.KindConflict {
			t.Errorf("FinishAttempt twice: %v; want KindConflict", err)
		}
		if _, _, ok, _ := s.StartAttempt(ctx, run.ID, now, nil); ok {
			t.Error("StartAttempt before retry delay succeeded")
		}
		if nb, _ := s.NextNotBefore(ctx); !nb.Equal(now.Add(time.Minute)) {
			t.Errorf("NextNotBefore = %v", nb)
		}
		later := now.Add(2 * time.Minute)
		_, a, ok, err = s.StartAttempt(ctx, run.ID, later, logPath)
		if err != nil || !ok || a.N != 2 {
			t.Fatalf("StartAttempt(2) = %+v, %v, %v", a, ok, err)
		}
		// Cancel while running marks it; the runner then ends it.
		got, err = s.RequestCancel(ctx, run.ID, "canceled by test")
		if err != nil || !got.CancelRequested || got.State != pipeline.Running {
			t.Fatalf("RequestCancel(running) = %+v, %v", got, err)
		}
		if ids, _ := s.CancelRequested(ctx); len(ids) != 1 || ids[0] != run.ID {
			t.Errorf("CancelRequested = %v", ids)
		}
		a.State = pipeline.Canceled
		got, err = s.FinishAttempt(ctx, a, pipeline.Canceled, "canceled by test", time.Time{})
		if err != nil || got.State != pipeline.Canceled || got.EndedAt.IsZero() || got.CancelRequested {
			t.Fatalf("FinishAttempt(canceled) = %+v, %v", got, err)
		}
		// Retry of a canceled run: queued again with one more attempt.
		got, err = s.RequeueRun(ctx, run.ID)
		if err != nil || got.State != pipeline.Queued || got.MaxAttempts != 3 {
			t.Fatalf("RequeueRun = %+v, %v", got, err)
		}
		// Cancel of a queued run is immediate.
		got, err = s.RequestCancel(ctx, man.ID, "")
		if err != nil || got.State != pipeline.Canceled {
			t.Fatalf("RequestCancel(queued) = %+v, %v", got, err)
		}
		if _, err := s.RequestCancel(ctx, man.ID, ""); posml.KindOf(err) != posml.KindConflict {
			t.Errorf("RequestCancel(canceled) = %v; want KindConflict", err)
		}
		atts, err := s.Attempts(ctx, run.ID)
		if err != nil || len(atts) != 2 || atts[0].State != pipeline.Failed || atts[0].ExitCode != 1 || atts[1].State != pipeline.Canceled {
			t.Errorf("Attempts = %+v, %v", atts, err)
		}
		list, err := s.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID, States: []pipeline.State{pipeline.Canceled}})
		if err != nil || len(list) != 1 || list[0].ID != man.ID {
			t.Errorf("PipelineRuns(canceled) = %+v, %v", list, err)
		}
		got, err = s.EndRun(ctx, run.ID, []pipeline.State{pipeline.Queued}, pipeline.Skipped, "nothing to do")
		if err != nil || got.State != pipeline.Skipped {
			t.Errorf("EndRun = %+v, %v", got, err)
		}
	})
}

// TestCancelWinsOverRetry: a cancel requested while an attempt ends turns
// its retry into the end of the run.
func TestCancelWinsOverRetry(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo")
		r, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
		if err != nil || r.MaxAttempts != 2 {
			t.Fatalf("CreatePipelineRun = %+v, %v; want MaxAttempts 2 (retries: 1)", r, err)
		}
		_, a, ok, err := s.StartAttempt(ctx, r.ID, time.Now(), nil)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if _, err := s.RequestCancel(ctx, r.ID, "stop please"); err != nil {
			t.Fatal(err)
		}
		a.State, a.Error = pipeline.Failed, "exit status 1"
		got, err := s.FinishAttempt(ctx, a, pipeline.Queued, "retrying", time.Now())
		if err != nil || got.State != pipeline.Canceled || got.Reason != "stop please" {
			t.Errorf("FinishAttempt = %+v, %v; want canceled, reason kept", got, err)
		}
	})
}

// TestStartAttemptMaxActive: concurrent StartAttempts (two servers) never
// start more runs of a pipeline than its max_active_runs.
func TestStartAttemptMaxActive(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "demo") // max_active_runs 1
		for round := range 5 {
			var ids []pipeline.RunID
			for range 4 {
				r, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var started []pipeline.Attempt
			for _, id := range ids {
				wg.Go(func() {
					_, a, ok, err := s.StartAttempt(ctx, id, time.Now(), nil)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						started = append(started, a)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(started) != 1 {
				t.Fatalf("round %d: %d runs started; want 1 (max_active_runs 1)", round, len(started))
			}
			a := started[0]
			a.State = pipeline.Succeeded
			if _, err := s.FinishAttempt(ctx, a, pipeline.Succeeded, "", time.Time{}); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if id != a.RunID {
					s.RequestCancel(ctx, id, "")
				}
			}
		}
	})
}
