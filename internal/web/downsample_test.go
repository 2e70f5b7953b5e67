package web

import (
	"math"
	"testing"
)

func TestDownsample(t *testing.T) {
	series := func(n int, f func(i int) float64) ([]int64, []float64) {
		xs, ys := make([]int64, n), make([]float64, n)
		for i := range n {
			xs[i], ys[i] = int64(i), f(i)
		}
		return xs, ys
	}
	for _, tc := range []struct {
		name  string
		n     int
		f     func(int) float64
		limit int
	}{
		{"fits", 10, func(i int) float64 { return float64(i) }, 2000},
		{"exactly the limit", 2000, func(i int) float64 { return float64(i) }, 2000},
		{"100 000 points", 100000, func(i int) float64 { return math.Sin(float64(i) / 500) }, 2000},
		{"spikes", 100000, func(i int) float64 {
			switch i {
			case 777:
				return -50
			case 99998:
				return 50
			}
			return 1
		}, 2000},
		{"NaN runs", 10000, func(i int) float64 {
			if i > 100 && i < 5000 {
				return math.NaN()
			}
			return float64(i)
		}, 100},
		{"odd limit", 1001, func(i int) float64 { return float64(i % 7) }, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs, ys := series(tc.n, tc.f)
			gx, gy := downsample(xs, ys, tc.limit)
			if len(gx) != len(gy) || len(gx) > tc.limit {
				t.Fatalf("downsample gave %d x, %d y; want equal and ≤ %d", len(gx), len(gy), tc.limit)
			}
			if tc.n <= tc.limit && len(gx) != tc.n {
				t.Fatalf("a series that fits was changed: %d points; want %d", len(gx), tc.n)
			}
			if gx[0] != 0 || gx[len(gx)-1] != int64(tc.n-1) {
				t.Errorf("ends = %d, %d; want 0, %d", gx[0], gx[len(gx)-1], tc.n-1)
			}
			for i := 1; i < len(gx); i++ {
				if gx[i] <= gx[i-1] {
					t.Fatalf("x not increasing at %d", i)
				}
			}
			// Min and max survive.
			lo, hi := math.Inf(1), math.Inf(-1)
			glo, ghi := math.Inf(1), math.Inf(-1)
			for _, y := range ys {
				if !math.IsNaN(y) {
					lo, hi = math.Min(lo, y), math.Max(hi, y)
				}
			}
			for _, y := range gy {
				if !math.IsNaN(y) {
					glo, ghi = math.Min(glo, y), math.Max(ghi, y)
				}
			}
			if lo != glo || hi != ghi {
				t.Errorf("range = [%v, %v]; want [%v, %v]", glo, ghi, lo, hi)
			}
		})
	}
}
