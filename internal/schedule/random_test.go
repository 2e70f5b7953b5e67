package schedule

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// randomField writes a random item list for a field of values lo..hi.
func randomField(r *rand.Rand, lo, hi int, names []string) string {
	item := func() string {
		v := func() string {
			n := lo + r.IntN(hi-lo+1)
			if names != nil && r.IntN(3) == 0 {
				return names[(n-lo)%len(names)]
			}
			return fmt.Sprint(n)
		}
		switch r.IntN(7) {
		case 0:
			return "*"
		case 1:
			return fmt.Sprintf("*/%d", 1+r.IntN(hi-lo+1))
		case 2:
			return v() + "-" + v()
		case 3:
			return fmt.Sprintf("%s-%s/%d", v(), v(), 1+r.IntN(5))
		case 4:
			return fmt.Sprintf("%s/%d", v(), 1+r.IntN(10))
		default:
			return v()
		}
	}
	items := []string{item()}
	for r.IntN(3) == 0 {
		items = append(items, item())
	}
	return strings.Join(items, ",")
}

// randomCron returns a random cron that mostly fires often enough for a
// brute-force comparison over a few days.
func randomCron(r *rand.Rand) string {
	minute := randomField(r, 0, 59, nil)
	hour := randomField(r, 0, 23, nil)
	dom, month, dow := "*", "*", "*"
	switch r.IntN(6) {
	case 0:
		dom = randomField(r, 1, 31, nil)
	case 1:
		dow = randomField(r, 0, 6, dowField.names)
	case 2:
		dom, dow = randomField(r, 1, 31, nil), randomField(r, 0, 7, nil)
	case 3:
		dow = []string{"L5", "1#2", "sun#1,sun#3", "Lsat", "mon-fri#1"}[r.IntN(5)]
	case 4:
		dom = []string{"L", "28-L", "L,1", "?"}[r.IntN(4)]
	}
	if r.IntN(8) == 0 {
		month = randomField(r, 1, 12, monthField.names)
	}
	return strings.Join([]string{minute, hour, dom, month, dow}, " ")
}

func TestRandomCronsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var transitions [][]time.Time
	for _, z := range fuzzZones {
		transitions = append(transitions, transitionsNear(mustLoad(t, z), 1970, 2040, 40))
	}
	checked := 0
	for range 600 {
		expr := randomCron(r)
		zi := r.IntN(len(fuzzZones))
		s, err := Parse(expr, mustLoad(t, fuzzZones[zi]))
		if err != nil {
			continue // e.g. an a-a range
		}
		center := time.Date(1970+r.IntN(70), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		if trs := transitions[zi]; len(trs) > 0 && r.IntN(4) != 0 {
			center = trs[r.IntN(len(trs))]
		}
		from, to := center.Add(-100*time.Hour), center.Add(100*time.Hour)
		fires := bruteFires(s, from, to)
		for range 8 {
			x := center.Add(time.Duration(r.Int64N(int64(120*time.Hour))) - 60*time.Hour)
			x = x.Add(time.Duration(r.IntN(4)) * 15 * time.Second)
			if want := bruteNext(fires, x); !want.IsZero() && want.Before(to.Add(-30*time.Hour)) {
				checked++
				if got := s.Next(x); !got.Equal(want) {
					t.Errorf("%s %q: Next(%s) = %s; brute force says %s", s.loc, expr, rfc(x.In(s.loc)), rfc(got), rfc(want.In(s.loc)))
				}
			}
			if want := brutePrev(fires, x); !want.IsZero() && want.After(from.Add(30*time.Hour)) {
				checked++
				if got := s.Prev(x); !got.Equal(want) {
					t.Errorf("%s %q: Prev(%s) = %s; brute force says %s", s.loc, expr, rfc(x.In(s.loc)), rfc(got), rfc(want.In(s.loc)))
				}
			}
		}
	}
	t.Logf("%d comparisons", checked)
	if checked < 2000 {
		t.Errorf("only %d comparisons made; the generator needs more frequent crons", checked)
	}
}
