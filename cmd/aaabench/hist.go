package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Latencies go into a log-linear histogram of fixed size (HdrHistogram's
// layout): values below 2^histSubBits nanoseconds are exact; above, every
// power of two is split into 2^histSubBits equal buckets, so a bucket is at
// most 1/128 of its lower bound wide. Reporting a bucket's midpoint puts any
// percentile within 0.4% of the exact value. Values of 2^histMaxExp ns (about
// 18 minutes) and more land in the last bucket. Memory is fixed whatever the
// run: no slice grows with the number of samples.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histMaxExp  = 40
	histBuckets = (histMaxExp - histSubBits + 1) * histSub
)

// histIndex is the bucket of v nanoseconds.
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // v in [2^(e+7), 2^(e+8))
	if e+histSubBits+1 > histMaxExp {
		return histBuckets - 1
	}
	return (e+1)*histSub + int(v>>uint(e)) - histSub
}

// histValue is the representative value (midpoint) of bucket i.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := uint(i/histSub - 1)
	low := uint64(i%histSub+histSub) << e
	return low + (uint64(1)<<e)/2
}

// histogram is recorded concurrently with atomic adds: no lock.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Uint64
}

// record adds one value in nanoseconds. It does not allocate.
func (h *histogram) record(ns int64) {
	v := uint64(max(ns, 0))
	h.counts[histIndex(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// snapshot copies the counts into s (not atomically as a whole: a value
// recorded meanwhile may or may not be in it).
func (h *histogram) snapshot(s *histSnapshot) {
	s.n = 0
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		s.n += c
	}
	s.max = h.max.Load()
}

// histSnapshot is a plain copy of a histogram, for percentiles and
// per-interval differences.
type histSnapshot struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64 // exact maximum when known, else 0
}

// diff sets d to s minus prev: the values recorded between two snapshots
// of the same histogram. d.max is left 0 (unknown).
func (d *histSnapshot) diff(s, prev *histSnapshot) {
	d.n = 0
	for i := range s.counts {
		c := s.counts[i] - prev.counts[i]
		d.counts[i] = c
		d.n += c
	}
	d.max = 0
}

// percentile returns the value at quantile q (0 < q <= 1) in nanoseconds:
// the value of rank ceil(q*n) in sorted order, to within the bucket
// resolution, never above the exact maximum when it is known. 0 when empty.
func (s *histSnapshot) percentile(q float64) uint64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = min(max(rank, 1), s.n)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			v := histValue(i)
			if s.max > 0 && v > s.max {
				v = s.max
			}
			return v
		}
	}
	return s.max
}
