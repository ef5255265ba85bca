package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// exact is the value of rank ceil(q*n) of sorted values.
func exact(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestHistogram_PercentilesWithinOnePercent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		name string
		gen  func() int64
	}{
		{"uniform 1µs-10ms", func() int64 { return 1000 + r.Int64N(10_000_000) }},
		{"log-normal around 2ms", func() int64 { return int64(2e6 * math.Exp(r.NormFloat64())) }},
		{"bimodal with a 30s tail", func() int64 {
			if r.IntN(1000) == 0 {
				return 30e9 + r.Int64N(1e9)
			}
			return 500_000 + r.Int64N(100_000)
		}},
		{"sub-microsecond", func() int64 { return r.Int64N(2000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			vals := make([]int64, 200_000)
			for i := range vals {
				vals[i] = tc.gen()
				h.record(vals[i])
			}
			slices.Sort(vals)
			var s histSnapshot
			h.snapshot(&s)
			if s.n != uint64(len(vals)) || s.max != uint64(vals[len(vals)-1]) {
				t.Fatalf("n %d max %d, want %d %d", s.n, s.max, len(vals), vals[len(vals)-1])
			}
			for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
				got, want := float64(s.percentile(q)), float64(exact(vals, q))
				// Exact below 128 ns; within 1% above.
				if math.Abs(got-want) > 0.01*want && math.Abs(got-want) > 0.5 {
					t.Errorf("p%g = %.0f, exact %.0f (%.2f%% off)", 100*q, got, want, 100*math.Abs(got-want)/want)
				}
			}
		})
	}
}

func TestHistogram_BucketsCoverTheRange(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1e6, 60e9, 1 << 39, 1<<40 - 1} {
		i := histIndex(v)
		if i <= prev || i >= histBuckets {
			t.Fatalf("index of %d: %d (previous %d)", v, i, prev)
		}
		if mid := histValue(i); math.Abs(float64(mid)-float64(v)) > float64(v)/200+0.5 {
			t.Fatalf("value %d in a bucket of midpoint %d", v, mid)
		}
		prev = i
	}
	if histIndex(1<<62) != histBuckets-1 {
		t.Fatal("huge values must land in the last bucket")
	}
}

// Fixed memory: recording allocates nothing and the size does not depend on
// the number of samples.
func TestHistogram_FixedMemory(t *testing.T) {
	var h histogram
	if a := testing.AllocsPerRun(1000, func() { h.record(123456) }); a != 0 {
		t.Fatalf("record allocates %.0f times", a)
	}
	if size := unsafe.Sizeof(h); size > 64<<10 {
		t.Fatalf("histogram is %d bytes", size)
	}
	var a, b, d histSnapshot
	h.snapshot(&a)
	h.record(5000)
	h.record(7000)
	h.snapshot(&b)
	d.diff(&b, &a)
	if d.n != 2 || d.percentile(1) < 6900 || d.percentile(1) > 7100 {
		t.Fatalf("per-interval difference: n %d p100 %d", d.n, d.percentile(1))
	}
	var empty histSnapshot
	if empty.percentile(0.5) != 0 {
		t.Fatal("empty histogram")
	}
}
