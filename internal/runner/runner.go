package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/pyenv"
)

// Store is what the runner needs of the database (*sqlstore.Store).
type Store interface {
	QueuedRuns(ctx context.Context, now time.Time, limit int) ([]pipeline.Run, error)
	NextNotBefore(ctx context.Context) (time.Time, error)
	StartAttempt(ctx context.Context, id pipeline.RunID, now time.Time, logPath func(n int) string) (pipeline.Run, pipeline.Attempt, bool, error)
	SetAttemptProcess(ctx context.Context, id pipeline.RunID, n, pid int, handle string) error
	FinishAttempt(ctx context.Context, a pipeline.Attempt, next pipeline.State, reason string, notBefore time.Time) (pipeline.Run, error)
	RunningAttempts(ctx context.Context) ([]pipeline.Attempt, error)
	Attempts(ctx context.Context, id pipeline.RunID) ([]pipeline.Attempt, error)
	PipelineRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
	PipelineRuns(ctx context.Context, f pipeline.RunFilter) ([]pipeline.Run, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
	CreatePipelineRun(ctx context.Context, r pipeline.Run) (pipeline.Run, error)
	RequestCancel(ctx context.Context, id pipeline.RunID, reason string) (pipeline.Run, error)
	RequeueRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error)
	CancelRequested(ctx context.Context) ([]pipeline.RunID, error)
}

// Backend runs attempts (*executor.Local): Start, and for crash recovery
// Alive and Stop on a Handle's Ref.
type Backend interface {
	executor.Backend
	Alive(ref string) (bool, error)
	Stop(ctx context.Context, ref string, grace time.Duration) error
}

// Source materialises a project's commit into a fresh directory
// (GitSource).
type Source interface {
	Checkout(ctx context.Context, project pipeline.ProjectID, commit, dest string) error
}

// TokenIssuer issues the MLflow token of a run (MLFLOW_TRACKING_TOKEN),
// valid for that run and its project only, and revokes a run's tokens when
// it ends (*auth.Issuer).
type TokenIssuer interface {
	Issue(ctx context.Context, run pipeline.Run) (string, error)
	Revoke(ctx context.Context, run pipeline.RunID) error
}

// Promoter decides, once a train run's process exited 0, whether its model
// becomes the champion. The run is recorded succeeded right after Promote
// returns (still Running in the run given), so that whoever sees it
// succeeded also sees the decision. Its error is logged (and noted in the
// run's log); the run succeeds anyway.
type Promoter interface {
	Promote(ctx context.Context, run pipeline.Run) error
}

// Envs provides the interpreter of a project from its requirements.txt:
// a cached virtual environment, built when missing (*pyenv.Cache).
type Envs interface {
	Ensure(ctx context.Context, requirements []byte) (pyenv.Env, error)
}

// Leases is what the runner needs to share the database with other
// replicas (*sqlstore.Store, bound to this replica for Beat): each running
// attempt carries a lease that the replica executing it renews; an
// attempt whose lease expired is taken over by one replica, which recovers
// it.
type Leases interface {
	// Beat records that this replica is alive at now.
	Beat(ctx context.Context, now time.Time) error
	RenewLeases(ctx context.Context, replica string, attempts map[pipeline.RunID]int, until time.Time) (map[pipeline.RunID]int, error)
	TakeOverExpired(ctx context.Context, replica string, now, until time.Time, timeout time.Duration, limit int) ([]pipeline.Attempt, error)
	ReplicaAttempts(ctx context.Context, replica string) ([]pipeline.Attempt, error)
}

// Deps are the runner's collaborators. Store, Backend and Source are
// required; Tokens, Promoter and Envs may be nil (no token; no promotion;
// every run uses Config.Python as it is); Leases nil: no leases, this
// server is the only one executing runs on the database; Logs nil: logs
// are served from this server's files only.
type Deps struct {
	Store    Store
	Backend  Backend
	Source   Source
	Tokens   TokenIssuer
	Promoter Promoter
	Envs     Envs
	Leases   Leases
	// Logs, when set, gets a copy of each attempt's log as it grows, and
	// serves the logs of attempts that ran on other replicas.
	Logs LogStore
}

// Config configures a Pool.
type Config struct {
	// RunsDir holds each run's checkout (RunsDir/<run id>/) and the attempt
	// logs (RunsDir/logs/<run id>/<attempt>.log).
	RunsDir string
	// Python is the interpreter of train.py and of the trigger shim, or,
	// with Deps.Envs, the base of the projects' environments.
	Python string
	// MaxParallel bounds the attempts' processes running at once (default 2).
	MaxParallel int
	// TrackingURI is the server's own URL, given to runs as
	// MLFLOW_TRACKING_URI and mlflow.tracking_uri.
	TrackingURI string
	// RemoteTrackingURI maps a remote backend ("kubernetes", "slurm") to
	// the server's URL as that backend's attempts reach it, when it is not
	// TrackingURI (a cluster seldom reaches the server's loopback address).
	RemoteTrackingURI map[string]string
	// Executor is the server's policy on the projects' executor sections:
	// default backend, allowed backends, GPU cap. Deps.Backend must run
	// every backend it allows (an *executor.Router).
	Executor pipeline.ExecutorPolicy
	// SDKDir, when set, is put on the runs' PYTHONPATH.
	SDKDir string
	// Home is the runs' HOME (default: RunsDir/home).
	Home string
	// Path is the runs' PATH (default /usr/local/bin:/usr/bin:/bin).
	Path string
	// KillGrace is the time between SIGTERM and SIGKILL (default 10s).
	KillGrace time.Duration
	// PollInterval bounds the time between looks at the queue and at cancel
	// requests made through the store by other processes (default 1s).
	PollInterval time.Duration
	// KeepWorkDirs keeps the checkouts of ended runs (else removed).
	KeepWorkDirs bool
	// ReplicaID names this server among the replicas sharing the database
	// (with Deps.Leases).
	ReplicaID string
	// LeaseTimeout is how long an attempt's lease lasts without renewal
	// (default 60s); leases are renewed every LeaseTimeout/3. After it, an
	// attempt of a replica that stopped renewing is recovered elsewhere.
	LeaseTimeout time.Duration
	// Shared: other replicas may execute runs on the same database. At
	// start, Recover then only touches this replica's own attempts (and
	// expired leases); else every running attempt is a leftover of this
	// server.
	Shared bool
	// EndedFunc is called after a run reaches a terminal state (notifications).
	// It must not block.
	EndedFunc func(pipeline.Run)
	// Now and After are the clock (default time.Now and time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// DefaultLeaseTimeout is Config.LeaseTimeout's default.
const DefaultLeaseTimeout = 60 * time.Second

// Pool executes queued runs. Its methods may be called concurrently.
type Pool struct {
	d    Deps
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	sem  chan struct{} // process slots (MaxParallel)

	mu       sync.Mutex
	active   map[pipeline.RunID]*active // runs executing in this process
	settings map[string]pipeline.Settings
	waiters  map[pipeline.RunID][]chan struct{} // closed when the run ends
	wg       sync.WaitGroup                     // attempt goroutines; Run waits for them
}

// active is a run this Pool is executing.
type active struct {
	n      int // attempt number
	kind   pipeline.Kind
	cancel context.CancelCauseFunc
	handle executor.Handle // the current process; nil between processes
}

// New returns a Pool; a nil log discards.
func New(d Deps, cfg Config, log *slog.Logger) *Pool {
	if cfg.MaxParallel <= 0 {
		cfg.MaxParallel = 2
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Home == "" {
		cfg.Home = filepath.Join(cfg.RunsDir, "home")
	}
	if cfg.Path == "" {
		cfg.Path = "/usr/local/bin:/usr/bin:/bin"
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = executor.DefaultKillGrace
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.LeaseTimeout <= 0 {
		cfg.LeaseTimeout = DefaultLeaseTimeout
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
	return &Pool{d: d, cfg: cfg, log: log, wake: make(chan struct{}, 1), sem: make(chan struct{}, cfg.MaxParallel),
		active: map[pipeline.RunID]*active{}, settings: map[string]pipeline.Settings{}, waiters: map[pipeline.RunID][]chan struct{}{}}
}

// Wake makes the pool look at the queue at once. It never blocks.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run recovers the attempts a previous server left running, then starts
// queued runs until ctx ends. On the way out it stops the attempts it
// runs (each ends failed, "server stopped", and its run is queued again
// with that attempt given back, to start at the next start) and waits for
// them.
func (p *Pool) Run(ctx context.Context) error {
	if p.d.Leases != nil {
		if err := p.d.Leases.Beat(ctx, p.cfg.Now()); err != nil {
			return fmt.Errorf("runner: heartbeat: %w", err)
		}
	}
	if err := p.Recover(ctx); err != nil {
		return fmt.Errorf("runner: recover: %w", err)
	}
	if p.d.Leases != nil {
		// The leases are kept until the attempts stopped on the way out
		// have recorded their end.
		lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { // waited for by the deferred function
			defer close(done)
			p.keepLeases(lctx)
		}()
		defer func() { stop(); <-done }()
	}
	defer p.wg.Wait()
	defer p.stopAll()
	for {
		if err := p.dispatch(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("runner: dispatch", "err", err)
		}
		if err := p.pollCancels(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("runner: cancels", "err", err)
		}
		wait := p.cfg.PollInterval
		if nb, err := p.d.Store.NextNotBefore(ctx); err == nil && !nb.IsZero() {
			wait = min(wait, max(nb.Sub(p.cfg.Now()), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-p.cfg.After(wait):
		}
	}
}

func (p *Pool) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.active {
		a.cancel(errServerStopped)
	}
}

var (
	errServerStopped = errors.New("server stopped")
	errLeaseLost     = errors.New("lease lost")
	errCanceled      = errors.New("canceled")
)

// dispatch starts the queued runs it may, in fire order.
func (p *Pool) dispatch(ctx context.Context) error {
	now := p.cfg.Now()
	queued, err := p.d.Store.QueuedRuns(ctx, now, 200)
	if err != nil {
		return err
	}
	type key struct {
		project pipeline.ProjectID
		kind    pipeline.Kind
	}
	full := map[key]bool{} // pipelines at max_active_runs in this pass
	for _, r := range queued {
		p.mu.Lock()
		_, busy := p.active[r.ID]
		p.mu.Unlock()
		if busy || full[key{r.ProjectID, r.Pipeline}] {
			continue
		}
		slot := false
		if r.Pipeline == pipeline.Train {
			// A train run holds a process slot for its whole attempt; a
			// trigger run takes one for each poke only, so that it never
			// holds one while it waits for the train run it started.
			select {
			case p.sem <- struct{}{}:
				slot = true
			default:
				continue
			}
		}
		run, a, ok, err := p.d.Store.StartAttempt(ctx, r.ID, now, func(n int) string { return p.logPath(r.ID, n) })
		if err != nil || !ok {
			if slot {
				<-p.sem
			}
			if err != nil {
				return err
			}
			full[key{r.ProjectID, r.Pipeline}] = true
			continue
		}
		if p.d.Leases != nil {
			// The first lease; keepLeases renews it (and retries it
			// after an error: till then it counts from the start).
			if _, err := p.d.Leases.RenewLeases(ctx, p.cfg.ReplicaID, map[pipeline.RunID]int{a.RunID: a.N}, now.Add(p.cfg.LeaseTimeout)); err != nil {
				p.log.Error("runner: lease attempt", "run_id", a.RunID, "attempt", a.N, "err", err)
			}
		}
		p.start(ctx, run, a, slot)
	}
	return nil
}

// start runs attempt a of run in a goroutine that Run waits for.
func (p *Pool) start(ctx context.Context, run pipeline.Run, a pipeline.Attempt, slot bool) {
	p.launch(ctx, run, a, slot, func(actx context.Context) { p.attempt(actx, run, a) })
}

// launch runs do, the life of attempt a of run, in a goroutine that Run
// waits for: registered as active (cancelable, its lease renewed), its log
// shipped to Deps.Logs, and slot (a process slot it holds) freed at the
// end.
func (p *Pool) launch(ctx context.Context, run pipeline.Run, a pipeline.Attempt, slot bool, do func(actx context.Context)) {
	actx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	p.mu.Lock()
	p.active[run.ID] = &active{n: a.N, kind: run.Pipeline, cancel: cancel}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { // Run waits for it (p.wg)
		defer p.wg.Done()
		if p.d.Logs != nil && a.LogPath != "" {
			stop, shipped := make(chan struct{}), make(chan struct{})
			go func() { // waited for below
				defer close(shipped)
				p.shipLog(run.ID, a.N, a.LogPath, stop)
			}()
			defer func() { close(stop); <-shipped }() // before p.wg.Done
		}
		do(actx)
		cancel(nil)
		p.mu.Lock()
		delete(p.active, run.ID)
		p.mu.Unlock()
		if slot {
			<-p.sem
		}
		p.Wake() // after the slot is free: the dispatch it wakes can use it
	}()
}

// logPath is where attempt n of run id logs.
func (p *Pool) logPath(id pipeline.RunID, n int) string {
	return filepath.Join(p.cfg.RunsDir, "logs", id.String(), strconv.Itoa(n)+".log")
}

// workDir is the checkout of run id.
func (p *Pool) workDir(id pipeline.RunID) string {
	return filepath.Join(p.cfg.RunsDir, id.String())
}

// outcome is how an attempt ended.
type outcome struct {
	state    pipeline.State // of the attempt: succeeded, failed, timed_out, canceled, skipped
	exitCode int
	err      string // the attempt's error
	reason   string // the run's reason when it ends with this attempt
	final    bool   // no retry whatever the attempts left
	// detached: the attempt's cluster job runs on without this server,
	// which stopped; the next server takes it back (Pool.adopt).
	detached bool
}

// attempt executes one attempt and records its end.
func (p *Pool) attempt(ctx context.Context, run pipeline.Run, a pipeline.Attempt) {
	st, err := p.settingsOf(ctx, run)
	var o outcome
	if err != nil {
		o = outcome{state: pipeline.Failed, exitCode: -1, err: "settings: " + err.Error()}
	} else if run.Pipeline == pipeline.Trigger {
		o = p.trigger(ctx, run, a, st)
	} else {
		o = p.train(ctx, run, a, st)
	}
	p.finish(run, a, st, o)
}

// finish promotes a succeeded train run, records the end of the attempt
// and, for a run that ends, revokes its tokens and reports.
func (p *Pool) finish(run pipeline.Run, a pipeline.Attempt, st pipeline.Settings, o outcome) {
	ctx := context.Background() // the record must be written even on shutdown
	a.State, a.ExitCode, a.Error, a.EndedAt = o.state, o.exitCode, o.err, p.cfg.Now()
	next, reason := o.state, o.reason
	var notBefore time.Time
	if reason == "" {
		reason = o.err
	}
	if o.detached {
		p.log.Info("attempt left running in its cluster for the next server", "run_id", run.ID, "attempt", a.N, "job", a.Handle)
		return // still running in the database: Recover takes it back
	}
	if o.err == errLeaseLost.Error() {
		// Another replica took the attempt over (this one failed to
		// renew its lease in time) and records its end.
		p.log.Warn("attempt abandoned: lease lost", "run_id", run.ID, "attempt", a.N)
		p.note(a.LogPath, fmt.Sprintf("attempt %d stopped: this server lost its lease on it; another replica recovers the run", a.N))
		return
	}
	switch {
	case o.err == errServerStopped.Error():
		// Not the run's fault: queued again, with the attempt given back.
		next, reason = pipeline.Queued, fmt.Sprintf("attempt %d stopped with the server; queued again", a.N)
		p.note(a.LogPath, fmt.Sprintf("attempt %d stopped: the server is shutting down; the run will start again", a.N))
	case (o.state == pipeline.Failed || o.state == pipeline.TimedOut) && run.Attempts < run.MaxAttempts && !o.final:
		next = pipeline.Queued
		notBefore = a.EndedAt.Add(st.RetryDelay)
		reason = fmt.Sprintf("attempt %d %s; retry %d of %d", a.N, o.state, a.N, run.MaxAttempts-1)
		p.note(a.LogPath, fmt.Sprintf("attempt %d %s (%s); retrying after %s", a.N, o.state, o.err, st.RetryDelay))
	}
	if o.state == pipeline.Succeeded && run.Pipeline == pipeline.Train && p.d.Promoter != nil {
		// Promotion is the run's last step: the run is shown succeeded
		// once its decision is stored, so a client waiting for the end
		// finds it. After a crash right here the attempt is retried, and
		// Promote, idempotent per run, decides once.
		if err := p.d.Promoter.Promote(ctx, run); err != nil {
			p.log.Error("runner: promote", "run_id", run.ID, "err", err)
			p.note(a.LogPath, "promotion failed: "+err.Error())
		}
	}
	ended, err := p.d.Store.FinishAttempt(ctx, a, next, reason, notBefore)
	if err != nil {
		p.log.Error("runner: finish attempt", "run_id", run.ID, "attempt", a.N, "err", err)
		return
	}
	p.log.Info("attempt ended", "run_id", run.ID, "project", run.Project, "pipeline", run.Pipeline, "attempt", a.N,
		"state", o.state, "run_state", ended.State, "exit_code", o.exitCode)
	if !ended.State.Terminal() {
		return
	}
	p.ended(run.ID)
	if p.d.Tokens != nil {
		if err := p.d.Tokens.Revoke(ctx, run.ID); err != nil {
			p.log.Error("runner: revoke tokens", "run_id", run.ID, "err", err)
		}
	}
	if !p.cfg.KeepWorkDirs {
		os.RemoveAll(p.workDir(run.ID))
	}
	if p.cfg.EndedFunc != nil {
		p.cfg.EndedFunc(ended)
	}
}

// note appends a posml line to an attempt's log.
func (p *Pool) note(logPath, text string) {
	if logPath == "" {
		return
	}
	if err := executor.AppendLog(logPath, text); err != nil {
		p.log.Warn("runner: log note", "path", logPath, "err", err)
	}
}

// settingsOf returns the settings of a run's commit (cached).
func (p *Pool) settingsOf(ctx context.Context, run pipeline.Run) (pipeline.Settings, error) {
	key := run.ProjectID.String() + "/" + run.Commit
	p.mu.Lock()
	st, ok := p.settings[key]
	p.mu.Unlock()
	if ok {
		return st, nil
	}
	c, err := p.d.Store.Commit(ctx, run.ProjectID, run.Commit)
	if err != nil {
		return st, err
	}
	p.mu.Lock()
	if len(p.settings) > 10_000 {
		clear(p.settings)
	}
	p.settings[key] = c.Settings
	p.mu.Unlock()
	return c.Settings, nil
}

// setHandle makes h the current process of run id (nil: none).
func (p *Pool) setHandle(id pipeline.RunID, h executor.Handle) {
	p.mu.Lock()
	if a := p.active[id]; a != nil {
		a.handle = h
	}
	p.mu.Unlock()
}

// Enqueue creates a queued run (r.Cause: manual by default; backfill,
// webhook), of r.Pipeline (train by default), pinned to r.Commit or the
// project's active commit, with the retries of that commit's config (see
// Store.CreatePipelineRun), and wakes the pool.
func (p *Pool) Enqueue(ctx context.Context, r pipeline.Run) (pipeline.Run, error) {
	if r.Cause == "" {
		r.Cause = pipeline.CauseManual
	}
	if r.Pipeline == "" {
		r.Pipeline = pipeline.Train
	}
	run, err := p.d.Store.CreatePipelineRun(ctx, r)
	if err != nil {
		return run, err
	}
	p.Wake()
	return run, nil
}

// Cancel cancels a run: a queued one at once, a running one by stopping
// its process (here, or through the store in whichever server runs it).
func (p *Pool) Cancel(ctx context.Context, id pipeline.RunID, reason string) (pipeline.Run, error) {
	run, err := p.d.Store.RequestCancel(ctx, id, reason)
	if err != nil {
		return run, err
	}
	if run.State.Terminal() {
		p.ended(id)
	}
	p.cancelLocal(id)
	return run, nil
}

// Retry queues a failed, timed-out or canceled run again, with one more
// attempt.
func (p *Pool) Retry(ctx context.Context, id pipeline.RunID) (pipeline.Run, error) {
	run, err := p.d.Store.RequeueRun(ctx, id)
	if err == nil {
		p.Wake()
	}
	return run, err
}

func (p *Pool) cancelLocal(id pipeline.RunID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.active[id]
	if a == nil {
		return false
	}
	a.cancel(errCanceled)
	if a.handle != nil {
		a.handle.Cancel("canceled")
	}
	return true
}

// pollCancels applies the cancel requests recorded in the store.
func (p *Pool) pollCancels(ctx context.Context) error {
	ids, err := p.d.Store.CancelRequested(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p.cancelLocal(id)
	}
	return nil
}

// Follow reads the log of attempt n of a run (n 0: the latest) from byte
// offset from: while the attempt's process runs in this server, live until
// it ends (across the pokes of a trigger run); else the file as it is. The
// caller closes the reader.
func (p *Pool) Follow(ctx context.Context, id pipeline.RunID, n int, from int64) (io.ReadCloser, error) {
	atts, err := p.d.Store.Attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return nil, &posml.Error{Kind: posml.KindNotFound, Msg: "pipeline run " + id.String() + " has no attempt yet"}
	}
	if n == 0 {
		n = atts[len(atts)-1].N
	}
	if n < 1 || n > len(atts) {
		return nil, &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("pipeline run %s has no attempt %d", id, n)}
	}
	p.mu.Lock()
	var h executor.Handle
	live := false
	if a := p.active[id]; a != nil && a.n == n {
		h, live = a.handle, true
		if a.kind == pipeline.Trigger {
			h = nil // one process per poke: follow the file across them
		}
	}
	p.mu.Unlock()
	if h != nil {
		return h.Follow(ctx, from), nil
	}
	if live {
		return p.tail(ctx, id, n, atts[n-1].LogPath, from)
	}
	f, err := os.Open(atts[n-1].LogPath)
	if p.d.Logs != nil && (err != nil || atts[n-1].State == pipeline.Running) {
		// It runs, or ran, on another replica: its copy in the database.
		if f != nil {
			f.Close()
		}
		return p.followStored(ctx, id, n, from), nil
	}
	if err != nil {
		return nil, &posml.Error{Kind: posml.KindNotFound, Msg: "log of attempt " + strconv.Itoa(n) + " not found", Err: err}
	}
	if from > 0 {
		if _, err := f.Seek(from, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// waitEnd returns a channel closed when this pool ends run id (or cancels
// it while queued); stop unregisters it.
func (p *Pool) waitEnd(id pipeline.RunID) (ch <-chan struct{}, stop func()) {
	c := make(chan struct{})
	p.mu.Lock()
	p.waiters[id] = append(p.waiters[id], c)
	p.mu.Unlock()
	return c, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		ws := p.waiters[id]
		for i, w := range ws {
			if w == c {
				p.waiters[id] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(p.waiters[id]) == 0 {
			delete(p.waiters, id)
		}
	}
}

// ended wakes the waiters of run id.
func (p *Pool) ended(id pipeline.RunID) {
	p.mu.Lock()
	ws := p.waiters[id]
	delete(p.waiters, id)
	p.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// tail follows the log file of an attempt running here whose process may
// come and go (a trigger run's pokes, a checkout before the process):
// it reads what is there, then polls for more until the attempt ends.
func (p *Pool) tail(ctx context.Context, id pipeline.RunID, n int, path string, from int64) (io.ReadCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	running := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		a := p.active[id]
		return a != nil && a.n == n
	}
	return &tailer{f: f, ctx: ctx, running: running, after: p.cfg.After}, nil
}

// tailer reads a growing file until running reports false and the file is
// drained.
type tailer struct {
	f       *os.File
	ctx     context.Context
	running func() bool
	after   func(time.Duration) <-chan time.Time
}

func (t *tailer) Read(b []byte) (int, error) {
	for {
		alive := t.running() // before the read: output written before the end is not lost
		n, err := t.f.Read(b)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		if !alive {
			return 0, io.EOF
		}
		select {
		case <-t.ctx.Done():
			return 0, t.ctx.Err()
		case <-t.after(100 * time.Millisecond):
		}
	}
}

func (t *tailer) Close() error { return t.f.Close() }
