package projectconfig

import (
	"fmt"
	"strings"
)

// editDistance is the edit distance between a and b counting a swap of two
// adjacent characters as one edit (optimal string alignment: "slrum" is one
// edit from "slurm"), ignoring case and treating '-' like '_' (proj-name is
// a typo of proj_name).
func editDistance(a, b string) int {
	norm := func(s string) []rune { return []rune(strings.ReplaceAll(strings.ToLower(s), "-", "_")) }
	ra, rb := norm(a), norm(b)
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// closest returns up to n candidates nearest to s, nearest first, among
// those close enough to be a plausible typo: at most a third of s's length
// away, and never more than 3 edits.
func closest(s string, candidates []string, n int) []string {
	limit := min(max(len([]rune(s))/3, 1), 3)
	best := limit + 1
	var out []string
	for _, c := range candidates {
		d := editDistance(s, c)
		switch {
		case d > limit:
		case d < best:
			best, out = d, []string{c}
		case d == best && len(out) < n:
			out = append(out, c)
		}
	}
	return out
}

// didYouMean formats suggestions as "did you mean "a"?" or "did you mean "a"
// or "b"?"; it returns "" when there are none.
func didYouMean(suggestions []string) string {
	if len(suggestions) == 0 {
		return ""
	}
	q := make([]string, len(suggestions))
	for i, s := range suggestions {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "did you mean " + strings.Join(q, " or ") + "?"
}
