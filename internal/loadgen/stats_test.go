package loadgen

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 50, 7 * time.Millisecond},
		{"one value p99", ms(7), 99, 7 * time.Millisecond},
		{"median of odd count", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even count is the lower middle", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p99 of ten is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p99 of a hundred", hundred, 99, 99 * time.Millisecond},
		{"p50 of a hundred", hundred, 50, 50 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"tiny p is the min", hundred, 0.001, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v; want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	in := []time.Duration{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	orig := append([]time.Duration(nil), in...)
	got := Summarize(in)
	want := Latency{N: 5, Min: 1, Mean: 3, Median: 3, P90: 5, P99: 5, Max: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(orig, in); diff != "" {
		t.Errorf("Summarize reordered its input (-before +after):\n%s", diff)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v; want the zero Latency", got)
	}
}

func TestParsePhases(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Phase
		wantErr bool
	}{
		{in: "writers,log-metric", want: []Phase{PhaseLogMetric, PhaseWriters}},
		{in: " search ", want: []Phase{PhaseSearch}},
		{in: "search,search", want: []Phase{PhaseSearch}},
		{in: "log-metric,log-batch,get-run,history,search,writers", want: Phases()},
		{in: "serch", wantErr: true},
		{in: ",", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePhases(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParsePhases(%q) error = %v; want error %t", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePhases(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestAccOfSplitsRunsInHalves(t *testing.T) {
	// The search phase relies on accOf giving every thousandth once per
	// thousand runs: 499 of them are above 0.5.
	seen := map[float64]bool{}
	above := 0
	for i := range 1000 {
		a := accOf(i)
		seen[a] = true
		if a > 0.5 {
			above++
		}
	}
	if len(seen) != 1000 || above != 499 {
		t.Errorf("accOf over 1000 runs: %d distinct values, %d above 0.5; want 1000 and 499", len(seen), above)
	}
}
