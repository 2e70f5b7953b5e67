package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Phase names one measurement of the benchmark.
type Phase string

// The phases, in the order they run.
const (
	PhaseLogMetric Phase = "log-metric" // sequential runs/log-metric latency
	PhaseLogBatch  Phase = "log-batch"  // runs/log-batch throughput
	PhaseGetRun    Phase = "get-run"    // runs/get latency
	PhaseHistory   Phase = "history"    // metrics/get-history of a long metric
	PhaseSearch    Phase = "search"     // runs/search with a metric filter over a seeded experiment
	PhaseWriters   Phase = "writers"    // concurrent writers, counted back
)

// Phases returns every phase in running order.
func Phases() []Phase {
	return []Phase{PhaseLogMetric, PhaseLogBatch, PhaseGetRun, PhaseHistory, PhaseSearch, PhaseWriters}
}

// ParsePhases parses a comma-separated list of phase names; the result keeps
// the running order whatever the order of the list.
func ParsePhases(s string) ([]Phase, error) {
	want := map[Phase]bool{}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(Phases(), Phase(name)) {
			return nil, fmt.Errorf("unknown phase %q (phases: %s)", name, joinPhases(Phases()))
		}
		want[Phase(name)] = true
	}
	if len(want) == 0 {
		return nil, errors.New("no phase named")
	}
	var out []Phase
	for _, p := range Phases() {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func joinPhases(ps []Phase) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// Config sizes a benchmark. A zero field takes the default given in its
// comment, so Config{URL: u} is the full benchmark.
type Config struct {
	URL    string  // base URL of the tracking server, e.g. http://127.0.0.1:5000
	Phases []Phase // phases to run; nil means all

	LogMetricCalls int           // log-metric: sequential calls (2000)
	BatchRequests  int           // log-batch: requests (50)
	BatchSize      int           // log-batch: metrics per request (1000, MLflow's limit)
	GetRunCalls    int           // get-run: sequential calls (1000)
	HistoryPoints  int           // history: points of the metric (5000)
	HistoryCalls   int           // history: full-history fetches (100)
	SearchRuns     int           // search: runs in the searched experiment (10000)
	SearchCalls    int           // search: calls per max_results value (50)
	SeedWorkers    int           // search: concurrent workers creating the runs (8)
	Writers        int           // writers: concurrent writers (8)
	Duration       time.Duration // writers: how long they write (30s)
	WriterBatch    int           // writers: metrics per log-batch request (100)
	PageSize       int           // writers: get-history page size when counting back (5000)
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.LogMetricCalls, 2000)
	def(&c.BatchRequests, 50)
	def(&c.BatchSize, 1000)
	def(&c.GetRunCalls, 1000)
	def(&c.HistoryPoints, 5000)
	def(&c.HistoryCalls, 100)
	def(&c.SearchRuns, 10000)
	def(&c.SearchCalls, 50)
	def(&c.SeedWorkers, 8)
	def(&c.Writers, 8)
	def(&c.WriterBatch, 100)
	def(&c.PageSize, 5000)
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if len(c.Phases) == 0 {
		c.Phases = Phases()
	}
	return c
}

// Validate reports the first field out of range, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, f := range []struct {
		name string
		v    int
	}{
		{"log-metric calls", c.LogMetricCalls}, {"batch requests", c.BatchRequests}, {"batch size", c.BatchSize},
		{"get-run calls", c.GetRunCalls}, {"history points", c.HistoryPoints}, {"history calls", c.HistoryCalls},
		{"runs", c.SearchRuns}, {"search calls", c.SearchCalls}, {"seed workers", c.SeedWorkers},
		{"writers", c.Writers}, {"writer batch", c.WriterBatch}, {"page size", c.PageSize},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s must be positive, got %d", f.name, f.v)
		}
	}
	if c.BatchSize > 1000 || c.WriterBatch > 1000 {
		return errors.New("a log-batch request holds at most 1000 metrics")
	}
	if c.Duration < 0 {
		return fmt.Errorf("duration must be positive, got %s", c.Duration)
	}
	return nil
}

// Bench runs the benchmark against one server.
type Bench struct {
	cfg  Config
	c    *client
	prog *Progress
	now  func() time.Time
	name string // unique prefix of the experiments this run creates
	exp  string // shared experiment of the small phases, created on first use
}

// New returns a benchmark of cfg that sends its requests through hc (share
// one, see NewHTTPClient) and draws its progress on prog.
func New(cfg Config, hc *http.Client, prog *Progress) (*Bench, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c, err := newClient(cfg.URL, hc)
	if err != nil {
		return nil, err
	}
	if prog == nil {
		prog = NewProgress(nil, false)
	}
	now := time.Now()
	name := fmt.Sprintf("posml-bench-%s-%04x", now.UTC().Format("20060102-150405"), rand.N(1<<16))
	return &Bench{cfg: cfg, c: c, prog: prog, now: time.Now, name: name}, nil
}

// Run runs the configured phases in order. It stops at the first phase that
// cannot even start (the server is unreachable, an experiment cannot be
// created) or when ctx ends, and then returns the phases completed so far
// along with the error. Failed calls inside a phase are counted in the
// report, not returned: see Report.Failures.
func (b *Bench) Run(ctx context.Context) (*Report, error) {
	start := b.now()
	r := &Report{URL: b.cfg.URL, StartedAt: start.UTC(), Phases: b.cfg.Phases}
	defer func() { r.Seconds = b.now().Sub(start).Seconds() }()
	for _, p := range b.cfg.Phases {
		var err error
		switch p {
		case PhaseLogMetric:
			r.LogMetric, err = b.logMetric(ctx)
		case PhaseLogBatch:
			r.LogBatch, err = b.logBatch(ctx)
		case PhaseGetRun:
			r.GetRun, err = b.getRun(ctx)
		case PhaseHistory:
			r.History, err = b.history(ctx)
		case PhaseSearch:
			r.Search, err = b.search(ctx)
		case PhaseWriters:
			r.Writers, err = b.writers(ctx)
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", p, err)
		}
	}
	return r, nil
}

// experiment returns the experiment shared by the small phases.
func (b *Bench) experiment(ctx context.Context) (string, error) {
	if b.exp != "" {
		return b.exp, nil
	}
	id, err := b.c.createExperiment(ctx, b.name)
	if err != nil {
		return "", err
	}
	b.exp = id
	return id, nil
}

// newRun creates a run in the shared experiment.
func (b *Bench) newRun(ctx context.Context, name string) (string, error) {
	exp, err := b.experiment(ctx)
	if err != nil {
		return "", err
	}
	return b.c.createRun(ctx, exp, name, b.now())
}

// sequence is a series of calls made one after the other and timed.
type sequence struct {
	calls int
	// call makes call i and returns the raw 200 answer.
	call func(ctx context.Context, i int) ([]byte, error)
	// check, when set, validates an answer; it is not timed.
	check func(data []byte) error
}

// measure runs s, drawing progress on bar, and summarises it. It returns an
// error only when ctx ends, along with the summary of the calls made so far.
func (b *Bench) measure(ctx context.Context, s sequence, bar *Bar) (*LatencyResult, error) {
	res := &LatencyResult{}
	lat := make([]time.Duration, 0, s.calls)
	var wall time.Duration
	defer func() {
		res.Latency = Summarize(lat)
		if wall > 0 {
			res.PerSecond = float64(len(lat)) / wall.Seconds()
		}
	}()
	for i := range s.calls {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t0 := b.now()
		data, err := s.call(ctx, i)
		d := b.now().Sub(t0)
		if err != nil && ctx.Err() != nil {
			return res, ctx.Err() // interrupted: neither a failure nor a sample
		}
		res.Calls++
		wall += d
		bar.Add(1)
		if err != nil {
			res.Errors++
			res.noteError(err)
			continue
		}
		lat = append(lat, d)
		if s.check != nil {
			if err := s.check(data); err != nil {
				res.Invalid++
				res.noteError(err)
			}
		}
	}
	return res, nil
}

func (r *LatencyResult) noteError(err error) {
	if r.FirstError == "" {
		r.FirstError = err.Error()
	}
}

func latencyNote(l Latency) string {
	return fmt.Sprintf("median %s, p99 %s", msText(l.Median), msText(l.P99))
}
