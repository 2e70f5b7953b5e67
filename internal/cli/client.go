package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/restapi"
)

// defaultServerURL is where client commands look for the server when
// neither --url nor POSML_URL says.
const defaultServerURL = "http://127.0.0.1:5000"

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	url    string
	asJSON bool
}

func (f *clientFlags) add(c *cobra.Command, persistent bool) {
	fs := c.Flags()
	if persistent {
		fs = c.PersistentFlags()
	}
	fs.StringVar(&f.url, "url", "", "posml server URL (env POSML_URL; default "+defaultServerURL+"); a server with authentication on needs a user token in POSML_TOKEN")
	fs.BoolVar(&f.asJSON, "json", false, "print the server's JSON instead of a table")
}

// client talks to posml's REST API.
type client struct {
	base string
	http *http.Client
}

// client returns a client for the server named by --url, else POSML_URL,
// else the default, sending the user token POSML_TOKEN when it is set.
func (f *clientFlags) client(e *env) (*client, error) {
	base := f.url
	if base == "" {
		base = e.getenv("POSML_URL")
	}
	if base == "" {
		base = defaultServerURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{fmt.Errorf("server URL %q: want http://HOST:PORT", base)}
	}
	hc := &http.Client{}
	if tok := e.getenv("POSML_TOKEN"); tok != "" {
		hc.Transport = bearer{token: tok, next: http.DefaultTransport}
	}
	return &client{base: strings.TrimRight(base, "/"), http: hc}, nil
}

// bearer authenticates every request with a user token (POSML_TOKEN, made by
// `posml token create`), as a server with authentication on requires.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// apiError is an error answer of the server.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// do sends a request with in as its JSON body (nil: none) and decodes the
// answer into out (nil: discard). An error answer becomes an *apiError
// with the server's message.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: bad answer from the server: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a successful response, whose body the
// caller closes.
func (c *client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the posml server at %s: %v (start it with `posml server`, or point --url or POSML_URL at it)", c.base, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb restapi.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
		return nil, &apiError{status: resp.StatusCode, code: eb.Error.Code, msg: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(b))
	if resp.StatusCode == http.StatusNotFound && !strings.HasPrefix(msg, "{") {
		msg = "the server at " + c.base + " has no posml API (is it a posml server?)"
	}
	return nil, &apiError{status: resp.StatusCode, code: "http", msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, msg)}
}

// printJSON prints v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// shortSHA abbreviates a commit id for tables.
func shortSHA(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	if s == "" {
		return "-"
	}
	return s
}

// when formats an instant for tables: local time, to the second.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// firstLine returns the first line of s, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// diagnostics prints the findings of a commit's validation.
func diagnostics(w io.Writer, validation json.RawMessage, indent string) {
	var v struct {
		Diagnostics []struct {
			File     string `json:"file"`
			Line     int    `json:"line"`
			Col      int    `json:"col"`
			Severity string `json:"severity"`
			Rule     string `json:"rule"`
			Msg      string `json:"message"`
			Fix      string `json:"fix"`
		} `json:"diagnostics"`
	}
	if json.Unmarshal(validation, &v) != nil {
		return
	}
	for _, d := range v.Diagnostics {
		pd := posml.Diagnostic{File: d.File, Line: d.Line, Col: d.Col, Rule: d.Rule, Msg: d.Msg, Fix: d.Fix}
		if d.Severity == "warning" {
			pd.Severity = posml.SeverityWarning
		}
		fmt.Fprintln(w, indent+strings.ReplaceAll(pd.String(), "\n", "\n"+indent))
	}
}

// spinner shows msg with a turning wheel on a terminal until stop is
// called; elsewhere it prints nothing.
type spinner struct {
	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
}

func startSpinner(w io.Writer, msg string) *spinner {
	s := &spinner{done: make(chan struct{})}
	if !isTerminal(w) {
		return s
	}
	s.wg.Add(1)
	go func() { // waited for by stop
		defer s.wg.Done()
		frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%s %s", frames[i%len(frames)], msg)
			select {
			case <-s.done:
				fmt.Fprintf(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *spinner) stop() {
	s.stopOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name, data string
}

// followLogs reads the server-sent events of a run's log, writes each log
// line to out, and returns the final state and reason of the run. onEvent,
// when not nil, sees every event first (the spinner stops on the first).
func (c *client) followLogs(ctx context.Context, id string, out io.Writer, onEvent func(sseEvent)) (state, reason string, err error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/posml/runs/"+url.PathEscape(id)+"/logs?follow=1", nil)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, ":"):
			continue // keepalive
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
			continue
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		default:
			continue
		}
		if onEvent != nil {
			onEvent(ev)
		}
		switch ev.name {
		case "":
			fmt.Fprintln(out, ev.data)
		case "end":
			var end struct{ State, Reason string }
			json.Unmarshal([]byte(ev.data), &end)
			return end.State, end.Reason, nil
		case "error":
			return "", "", errors.New(ev.data)
		}
		ev = sseEvent{}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return "", "", fmt.Errorf("follow logs of run %s: %w", id, err)
	}
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	return "", "", fmt.Errorf("follow logs of run %s: the server closed the stream before the run ended", id)
}
