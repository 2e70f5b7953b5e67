package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/schedule"
)

// Store is what the scheduler needs of the database (*sqlstore.Store).
type Store interface {
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]pipeline.Schedule, error)
	NextDue(ctx context.Context) (time.Time, error)
	Reschedule(ctx context.Context, sc pipeline.Schedule, next time.Time) (bool, error)
	FireSchedules(ctx context.Context, fires []pipeline.Fire) ([]pipeline.Fired, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
}

// Config configures a Scheduler. The zero value is usable.
type Config struct {
	// PollInterval bounds the sleep between ticks (default 1s): changes made
	// by other processes (a new commit, a resume) are seen that fast. Wake
	// makes the next tick happen at once.
	PollInterval time.Duration
	// Batch is the number of due pipelines read per query (default 500).
	Batch int
	// MaxFiresPerTick bounds the runs one pipeline creates in one tick
	// (default 100), so that a long catch-up does not hold up the others;
	// the rest come at the next ticks.
	MaxFiresPerTick int
	// FiredFunc is called after each run the scheduler creates (the runner's
	// Wake, typically). It must not block.
	FiredFunc func(pipeline.Run)
	// Now and After are the clock (default time.Now and time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Scheduler creates the scheduled runs of every project's pipelines. Its
// methods may be called concurrently.
type Scheduler struct {
	store Store
	cfg   Config
	log   *slog.Logger
	wake  chan struct{}

	mu        sync.Mutex
	timetable map[string]schedule.Timetable // by spec key
	attempts  map[string]int                // max attempts by project/commit
}

// New returns a Scheduler; a nil log discards.
func New(store Store, cfg Config, log *slog.Logger) *Scheduler {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.MaxFiresPerTick <= 0 {
		cfg.MaxFiresPerTick = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{store: store, cfg: cfg, log: log, wake: make(chan struct{}, 1),
		timetable: map[string]schedule.Timetable{}, attempts: map[string]int{}}
}

// Wake makes Run tick at once (after a commit was activated or a project
// resumed). It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run ticks until ctx ends: at each due instant, and at least every
// PollInterval. Errors of a tick are logged, not returned; Run returns nil
// when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		wait := s.cfg.PollInterval
		if _, err := s.Tick(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("scheduler tick", "err", err)
		} else if next, err := s.store.NextDue(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(s.cfg.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-s.cfg.After(wait):
		}
	}
}

// Tick creates the runs due at the clock's now and moves every due
// pipeline's next fire on. It returns the number of runs created.
//
// The fires of all due pipelines are claimed in batches, one transaction
// per batch: a burst (every project @hourly at minute 0) costs one durable
// commit per Batch fires, not one per fire.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	fired := 0
	for {
		due, err := s.store.DueSchedules(ctx, now, s.cfg.Batch)
		if err != nil {
			return fired, err
		}
		var fires []pipeline.Fire
		progressed := false
		for _, sc := range due {
			fs, moved, err := s.plan(ctx, sc, now)
			if err != nil {
				return fired, fmt.Errorf("project %s %s: %w", sc.ProjectID, sc.Pipeline, err)
			}
			fires = append(fires, fs...)
			progressed = progressed || moved || len(fs) > 0
		}
		for len(fires) > 0 {
			n := min(len(fires), s.cfg.Batch)
			k, err := s.fire(ctx, fires[:n])
			fired += k
			if err != nil {
				return fired, err
			}
			fires = fires[n:]
		}
		if len(due) < s.cfg.Batch || !progressed {
			return fired, nil
		}
	}
}

// fire claims fires in one transaction and reports the runs created.
func (s *Scheduler) fire(ctx context.Context, fires []pipeline.Fire) (int, error) {
	out, err := s.store.FireSchedules(ctx, fires)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range out {
		if !f.Created {
			continue
		}
		n++
		s.log.Info("run scheduled", "run_id", f.Run.ID, "project_id", f.Run.ProjectID, "pipeline", f.Run.Pipeline,
			"logical_date", f.Run.LogicalDate, "fire_at", f.Run.FireAt)
		if s.cfg.FiredFunc != nil {
			s.cfg.FiredFunc(f.Run)
		}
	}
	return n, nil
}

// plan works out what one due pipeline needs at now: the fires to claim
// (at most MaxFiresPerTick, chained: each claims the NextFireAt the one
// before it sets), or a new NextFireAt, stored at once. moved reports that
// the pipeline is no longer due (or that another scheduler changed it).
func (s *Scheduler) plan(ctx context.Context, sc pipeline.Schedule, now time.Time) (fires []pipeline.Fire, moved bool, err error) {
	tt, ok, err := s.timetableOf(sc.Spec)
	if err != nil || !ok {
		if err != nil {
			s.log.Error("bad timetable; pipeline not scheduled", "project_id", sc.ProjectID, "pipeline", sc.Pipeline, "err", err)
		}
		_, err := s.store.Reschedule(ctx, sc, time.Time{})
		return nil, true, err
	}
	var last *schedule.Interval
	if sc.Last != nil {
		last = &schedule.Interval{Start: sc.Last.Start, End: sc.Last.End}
	}
	for len(fires) < s.cfg.MaxFiresPerTick {
		r, ok := tt.NextRun(last, now)
		if !ok {
			if len(fires) > 0 {
				return fires, true, nil // the last fire's Next is already zero
			}
			_, err := s.store.Reschedule(ctx, sc, time.Time{})
			return nil, true, err
		}
		if r.FireAt.After(now) {
			if len(fires) > 0 || r.FireAt.UnixMilli() == sc.NextFireAt.UnixMilli() {
				return fires, true, nil // the last fire's Next is r.FireAt
			}
			_, err := s.store.Reschedule(ctx, sc, r.FireAt)
			return nil, true, err
		}
		// Due: claim it, with the fire after it as the new next.
		this := r.Interval
		next := time.Time{}
		if n, ok := tt.NextRun(&this, now); ok {
			next = n.FireAt
		}
		attempts, err := s.maxAttempts(ctx, sc)
		if err != nil {
			return nil, false, err
		}
		fires = append(fires, pipeline.Fire{
			Schedule: sc,
			Run: pipeline.Run{
				LogicalDate:  r.LogicalDate.UTC(),
				DataInterval: pipeline.Interval{Start: r.Interval.Start.UTC(), End: r.Interval.End.UTC()},
				FireAt:       r.FireAt.UTC(),
				QueuedAt:     now,
				MaxAttempts:  attempts,
			},
			Next: next,
		})
		sc.NextFireAt, sc.Last, last = next, &pipeline.Interval{Start: this.Start, End: this.End}, &this
		if next.IsZero() || next.After(now) {
			return fires, true, nil
		}
	}
	return fires, false, nil
}

func (s *Scheduler) timetableOf(sp pipeline.Spec) (schedule.Timetable, bool, error) {
	if sp.Expr == "" {
		return schedule.Timetable{}, false, nil
	}
	key := sp.Expr + "\x00" + sp.TimeZone + "\x00" + strconv.FormatInt(sp.Start.UnixMilli(), 10) + "\x00" + sp.Mode + "\x00" + strconv.FormatBool(sp.Catchup)
	s.mu.Lock()
	tt, ok := s.timetable[key]
	s.mu.Unlock()
	if ok {
		return tt, true, nil
	}
	tt, ok, err := sp.Timetable()
	if err != nil || !ok {
		return tt, ok, err
	}
	s.mu.Lock()
	if len(s.timetable) > 100_000 {
		clear(s.timetable)
	}
	s.timetable[key] = tt
	s.mu.Unlock()
	return tt, true, nil
}

// maxAttempts is 1 + the retries of the schedule's commit.
func (s *Scheduler) maxAttempts(ctx context.Context, sc pipeline.Schedule) (int, error) {
	key := sc.ProjectID.String() + "/" + sc.Commit
	s.mu.Lock()
	n, ok := s.attempts[key]
	s.mu.Unlock()
	if ok {
		return n, nil
	}
	c, err := s.store.Commit(ctx, sc.ProjectID, sc.Commit)
	if err != nil {
		return 0, err
	}
	n = 1 + max(c.Settings.Retries, 0)
	s.mu.Lock()
	if len(s.attempts) > 100_000 {
		clear(s.attempts)
	}
	s.attempts[key] = n
	s.mu.Unlock()
	return n, nil
}
