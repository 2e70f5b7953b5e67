package tracking

import "sort"

// SampleSteps picks at most maxResults steps of allSteps (sorted ascending,
// distinct) within [start, end], evenly spaced and always including the last
// one in range, plus the given per-run minima and maxima that fall in range;
// the result is sorted. This is how MLflow's get-history-bulk-interval chooses
// which steps to return.
func SampleSteps(start, end int64, maxResults int, allSteps []int64, minMax []int64) []int64 {
	lo := sort.Search(len(allSteps), func(i int) bool { return allSteps[i] >= start })
	hi := sort.Search(len(allSteps), func(i int) bool { return allSteps[i] > end })
	set := make(map[int64]bool)
	if hi-lo <= maxResults {
		for _, s := range allSteps[lo:hi] {
			set[s] = true
		}
	} else {
		n := hi - lo
		interval := float64(n) / float64(maxResults)
		for i := range maxResults {
			idx := lo + int(float64(i)*interval)
			if idx < n {
				set[allSteps[idx]] = true
			}
		}
		set[allSteps[hi-1]] = true
	}
	for _, s := range minMax {
		if s >= start && s <= end {
			set[s] = true
		}
	}
	out := make([]int64, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
