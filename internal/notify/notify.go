package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Kind names what happened.
type Kind string

// The events posml notifies.
const (
	Failure   Kind = "failure"
	Timeout   Kind = "timeout"
	Promotion Kind = "promotion"
	Hold      Kind = "hold"
)

// Event is one notification; its JSON form is the request body.
type Event struct {
	Kind     Kind      `json:"event"`
	Project  string    `json:"project"`
	Pipeline string    `json:"pipeline,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	State    string    `json:"state,omitempty"`
	Model    string    `json:"model,omitempty"`
	Version  string    `json:"version,omitempty"`
	Metric   string    `json:"metric,omitempty"`
	Message  string    `json:"message,omitempty"`
	URL      string    `json:"url,omitempty"` // where to look: the run in the API or UI
	Time     time.Time `json:"time"`
	// Text is the human summary (Slack's incoming-webhook field); Notify
	// fills it in when empty.
	Text string `json:"text"`
	// URLs are the project's own webhook URLs, posted to besides the
	// server's.
	URLs []string `json:"-"`
}

// summary is the default Text of e.
func (e Event) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "posml: %s", e.Kind)
	if e.Project != "" {
		fmt.Fprintf(&b, " in project %s", e.Project)
	}
	if e.Pipeline != "" {
		fmt.Fprintf(&b, ", pipeline %s", e.Pipeline)
	}
	if e.RunID != "" {
		fmt.Fprintf(&b, ", run %s", e.RunID)
	}
	if e.Model != "" {
		fmt.Fprintf(&b, ", model %s", e.Model)
		if e.Version != "" {
			fmt.Fprintf(&b, " version %s", e.Version)
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.URL != "" {
		fmt.Fprintf(&b, " (%s)", e.URL)
	}
	return b.String()
}

// Config configures a Notifier.
type Config struct {
	// URLs receive every event.
	URLs []string
	// Attempts is the number of tries per URL (default 5).
	Attempts int
	// Backoff is the wait before the first retry, doubled after each
	// (default 1 s), up to MaxBackoff (default 1 min).
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one POST (default 10 s).
	Timeout time.Duration
	// Client posts the events (default: a new http.Client).
	Client *http.Client
	// Queue is how many deliveries may wait before Notify drops events
	// (default 1000).
	Queue int
	// Log receives delivery failures; nil discards them.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Notifier queues events and delivers them while Run runs.
type Notifier struct {
	cfg   Config
	log   *slog.Logger
	queue chan delivery
}

type delivery struct {
	url  string
	body []byte
	kind Kind
}

// New returns a Notifier; nothing is delivered until Run is called.
func New(cfg Config) *Notifier {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{cfg: cfg, log: log, queue: make(chan delivery, cfg.Queue)}
}

// Notify queues ev for every server URL and every URL of ev.URLs (each
// once). It never blocks: when the queue is full the event is dropped and
// logged. A nil Notifier ignores events. ctx is not used for the delivery,
// which outlives the caller.
func (n *Notifier) Notify(_ context.Context, ev Event) {
	if n == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = n.cfg.Now().UTC()
	}
	if ev.Text == "" {
		ev.Text = ev.summary()
	}
	body, err := json.Marshal(ev)
	if err != nil { // an Event always marshals
		n.log.Error("notify: encode event", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, u := range append(append([]string(nil), n.cfg.URLs...), ev.URLs...) {
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		select {
		case n.queue <- delivery{url: u, body: body, kind: ev.Kind}:
		default:
			n.log.Warn("notify: queue full, event dropped", "event", string(ev.Kind), "project", ev.Project)
		}
	}
}

// Run delivers queued events until ctx ends; each delivery (with its
// retries) runs in its own goroutine, which Run waits for before it
// returns. Deliveries still retrying when ctx ends are abandoned.
func (n *Notifier) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-n.queue:
			wg.Add(1)
			go func() { // waited for by Run
				defer wg.Done()
				n.deliver(ctx, d)
			}()
		}
	}
}

// deliver posts d, retrying with backoff until it is accepted (2xx), the
// attempts run out or ctx ends.
func (n *Notifier) deliver(ctx context.Context, d delivery) {
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := n.post(ctx, d)
		if err == nil {
			return
		}
		if attempt >= n.cfg.Attempts || ctx.Err() != nil {
			n.log.Warn("notify: delivery failed", "event", string(d.kind), "url", RedactURL(d.url), "attempts", attempt, "err", err)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, n.cfg.MaxBackoff)
	}
}

func (n *Notifier) post(ctx context.Context, d delivery) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "posml-notify")
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err // without the URL, whose path may be a secret
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// RedactURL keeps a webhook URL's scheme and host: the path of a Slack
// webhook is its secret. Logs and API answers show URLs this way.
func RedactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "(url)"
	}
	host, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	return scheme + "://" + host + "/…"
}
