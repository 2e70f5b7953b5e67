package web

import "math"

// maxPoints bounds the points of one chart series sent to the browser.
const maxPoints = 2000

// downsample reduces a series sorted by x to at most limit points (limit ≥
// 4) while keeping its shape: the points between the first and the last are
// cut into limit/2 − 1 buckets of equal count, and each bucket keeps its
// minimum and its maximum, in x order, so spikes survive. The first and last points are always kept. NaN values are
// skipped by the min/max search; a bucket with only NaNs keeps one NaN, so
// the chart shows a gap. A series that already fits is returned as is.
func downsample(xs []int64, ys []float64, limit int) ([]int64, []float64) {
	n := len(xs)
	if n <= limit {
		return xs, ys
	}
	buckets := limit/2 - 1 // the first and last points are extra
	outX := make([]int64, 0, limit)
	outY := make([]float64, 0, limit)
	outX, outY = append(outX, xs[0]), append(outY, ys[0])
	inner := n - 2
	for b := range buckets {
		lo := 1 + b*inner/buckets
		hi := 1 + (b+1)*inner/buckets // exclusive
		if lo >= hi {
			continue
		}
		iMin, iMax := -1, -1
		for i := lo; i < hi; i++ {
			if math.IsNaN(ys[i]) {
				continue
			}
			if iMin < 0 || ys[i] < ys[iMin] {
				iMin = i
			}
			if iMax < 0 || ys[i] > ys[iMax] {
				iMax = i
			}
		}
		switch {
		case iMin < 0:
			outX, outY = append(outX, xs[lo]), append(outY, math.NaN())
		case iMin == iMax:
			outX, outY = append(outX, xs[iMin]), append(outY, ys[iMin])
		default:
			a, c := min(iMin, iMax), max(iMin, iMax)
			outX, outY = append(outX, xs[a], xs[c]), append(outY, ys[a], ys[c])
		}
	}
	outX, outY = append(outX, xs[n-1]), append(outY, ys[n-1])
	return outX, outY
}
