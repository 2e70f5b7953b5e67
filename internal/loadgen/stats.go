package loadgen

import (
	"slices"
	"time"
)

// Latency summarises a sample of durations. Its JSON form is in milliseconds,
// the unit people compare against targets.
type Latency struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	Mean   float64 `json:"mean_ms"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// Summarize returns the latency summary of d; it leaves d unchanged. An empty
// sample gives the zero Latency.
func Summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return Latency{
		N:      len(s),
		Min:    ms(s[0]),
		Mean:   ms(sum / time.Duration(len(s))),
		Median: ms(Percentile(s, 50)),
		P90:    ms(Percentile(s, 90)),
		P99:    ms(Percentile(s, 99)),
		Max:    ms(s[len(s)-1]),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value that at least p percent of the
// sample does not exceed. It is always an observed value, so a p99 of a
// hundred calls is the slowest but one, and of fewer calls the slowest.
// sorted must be in ascending order; an empty sample gives 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), computed in integers to avoid 0.99*100 = 98.99…
	rank := int((int64(p*1e6)*int64(n) + 100e6 - 1) / 100e6)
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
