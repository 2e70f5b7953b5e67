package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NewHTTPClient returns the client a benchmark shares between all its
// workers: keep-alive on, and enough idle connections per host that conns
// concurrent workers never have to dial again.
func NewHTTPClient(conns int) *http.Client {
	conns = max(conns, 16)
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:               nil, // the target is named explicitly; never go through a proxy
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   false,
		},
	}
}

// APIError is a non-200 answer of the tracking server.
type APIError struct {
	Status  int    // HTTP status
	Code    string // MLflow error_code, when the body carried one
	Message string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// client speaks the subset of the MLflow REST API the benchmark needs.
type client struct {
	base string // scheme://host[:port][/prefix], without a trailing slash
	hc   *http.Client
}

func newClient(base string, hc *http.Client) (*client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracking URL %q: want http(s)://host[:port]", base)
	}
	return &client{base: strings.TrimRight(base, "/"), hc: hc}, nil
}

// call sends one request to /api/2.0/mlflow/<path> and returns the whole
// response body of a 200 answer; any other answer is an *APIError. A GET
// sends query, anything else sends body as JSON.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := c.base + "/api/2.0/mlflow/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body) // read to EOF so the connection is reused
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		var wire struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &wire) == nil && wire.Code != "" {
			e.Code, e.Message = wire.Code, wire.Message
		} else {
			e.Message = truncate(string(data), 200)
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, e)
	}
	return data, nil
}

func (c *client) post(ctx context.Context, path string, req any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, http.MethodPost, path, nil, body)
}

// metric is the wire form of an MLflow metric as the client sends it.
type metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type logMetricRequest struct {
	RunID string `json:"run_id"`
	metric
}

type logBatchRequest struct {
	RunID   string     `json:"run_id"`
	Metrics []metric   `json:"metrics,omitempty"`
	Params  []keyValue `json:"params,omitempty"`
	Tags    []keyValue `json:"tags,omitempty"`
}

func (c *client) createExperiment(ctx context.Context, name string) (string, error) {
	data, err := c.post(ctx, "experiments/create", map[string]string{"name": name})
	if err != nil {
		return "", err
	}
	var resp struct {
		ExperimentID flexString `json:"experiment_id"`
	}
	if err := json.Unmarshal(data, &resp); err != nil || resp.ExperimentID == "" {
		return "", fmt.Errorf("experiments/create: no experiment_id in %s", truncate(string(data), 200))
	}
	return string(resp.ExperimentID), nil
}

func (c *client) createRun(ctx context.Context, experimentID, name string, start time.Time) (string, error) {
	data, err := c.post(ctx, "runs/create", map[string]any{
		"experiment_id": experimentID,
		"run_name":      name,
		"start_time":    start.UnixMilli(),
	})
	if err != nil {
		return "", err
	}
	var resp struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(data, &resp); err != nil || resp.Run.Info.RunID == "" {
		return "", fmt.Errorf("runs/create: no run.info.run_id in %s", truncate(string(data), 200))
	}
	return resp.Run.Info.RunID, nil
}

func (c *client) logMetric(ctx context.Context, runID string, m metric) error {
	_, err := c.post(ctx, "runs/log-metric", logMetricRequest{RunID: runID, metric: m})
	return err
}

func (c *client) logBatch(ctx context.Context, req logBatchRequest) error {
	_, err := c.post(ctx, "runs/log-batch", req)
	return err
}

// runData is the part of a Run the benchmark checks.
type runData struct {
	Info struct {
		RunID string `json:"run_id"`
	} `json:"info"`
	Data struct {
		Metrics []wireMetric `json:"metrics"`
		Params  []keyValue   `json:"params"`
		Tags    []keyValue   `json:"tags"`
	} `json:"data"`
}

func (r *runData) metric(key string) (float64, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key {
			return float64(m.Value), true
		}
	}
	return 0, false
}

func (c *client) getRunRaw(ctx context.Context, runID string) ([]byte, error) {
	return c.call(ctx, http.MethodGet, "runs/get", url.Values{"run_id": {runID}}, nil)
}

func decodeRun(data []byte) (*runData, error) {
	var resp struct {
		Run *runData `json:"run"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("runs/get: %w", err)
	}
	if resp.Run == nil {
		return nil, errors.New("runs/get: no run in the response")
	}
	return resp.Run, nil
}

// historyPage is one answer of metrics/get-history.
type historyPage struct {
	Metrics       []wireMetric `json:"metrics"`
	NextPageToken string       `json:"next_page_token"`
}

func (c *client) historyPageRaw(ctx context.Context, runID, key string, pageSize int, token string) ([]byte, error) {
	q := url.Values{"run_id": {runID}, "metric_key": {key}}
	if pageSize > 0 {
		q.Set("max_results", strconv.Itoa(pageSize))
	}
	if token != "" {
		q.Set("page_token", token)
	}
	return c.call(ctx, http.MethodGet, "metrics/get-history", q, nil)
}

// history returns every point of a metric, following next_page_token; a
// pageSize of 0 lets the server choose (MLflow then answers in one page).
func (c *client) history(ctx context.Context, runID, key string, pageSize int) ([]wireMetric, error) {
	var all []wireMetric
	token := ""
	seen := map[string]bool{}
	for {
		data, err := c.historyPageRaw(ctx, runID, key, pageSize, token)
		if err != nil {
			return nil, err
		}
		var p historyPage
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("metrics/get-history: %w", err)
		}
		all = append(all, p.Metrics...)
		if p.NextPageToken == "" {
			return all, nil
		}
		if seen[p.NextPageToken] {
			return nil, fmt.Errorf("metrics/get-history: page token %q repeats", p.NextPageToken)
		}
		seen[p.NextPageToken] = true
		token = p.NextPageToken
	}
}

type searchRequest struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter,omitempty"`
	MaxResults    int      `json:"max_results,omitempty"`
	PageToken     string   `json:"page_token,omitempty"`
}

type searchPage struct {
	Runs          []runData `json:"runs"`
	NextPageToken string    `json:"next_page_token"`
}

func (c *client) searchRaw(ctx context.Context, req searchRequest) ([]byte, error) {
	return c.post(ctx, "runs/search", req)
}

func decodeSearch(data []byte) (*searchPage, error) {
	var p searchPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("runs/search: %w", err)
	}
	return &p, nil
}

// wireMetric is a metric as a server may send it: int64 fields as numbers or
// strings, doubles as numbers or "NaN"/"Infinity"/"-Infinity".
type wireMetric struct {
	Key       string    `json:"key"`
	Value     flexFloat `json:"value"`
	Timestamp flexInt   `json:"timestamp"`
	Step      flexInt   `json:"step"`
}

// flexInt decodes an int64 sent as a JSON number or string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 %s: %w", b, err)
	}
	*n = flexInt(v)
	return nil
}

// flexFloat decodes a double sent as a JSON number or as MLflow's special
// strings.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	switch s := strings.Trim(string(b), `"`); s {
	case "NaN":
		*f = flexFloat(math.NaN())
	case "Infinity":
		*f = flexFloat(math.Inf(1))
	case "-Infinity":
		*f = flexFloat(math.Inf(-1))
	case "null":
		*f = 0
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("double %s: %w", b, err)
		}
		*f = flexFloat(v)
	}
	return nil
}

// flexString decodes an ID sent as a JSON string or number.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	*s = flexString(strings.Trim(string(b), `"`))
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
