// Package latency is a histogram of durations that costs a few atomic adds
// to record: the hot paths record into it, and the metrics endpoint reads
// it at scrape time, so that no package on the hot path knows Prometheus.
package latency

import (
	"sync/atomic"
	"time"
)

// Bounds are the upper bounds of the buckets, from 250 µs to 5 s: an
// authentication round takes about a millisecond on a quiet server, a
// remote HSS adds milliseconds, and a request that waits seconds is
// failing.
var Bounds = [...]time.Duration{
	250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second,
}

// Histogram counts durations by bucket. The zero value is ready.
type Histogram struct {
	buckets [len(Bounds) + 1]atomic.Uint64 // the last: above every bound
	sum     atomic.Int64                   // nanoseconds
}

// Observe records d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(Bounds) && d > Bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
}

// Since records the time since start.
func (h *Histogram) Since(start time.Time) { h.Observe(time.Since(start)) }

// Snapshot is a histogram read at one moment: cumulative counts per
// bound (Prometheus's form), the count and the sum in seconds.
type Snapshot struct {
	Cumulative [len(Bounds)]uint64
	Count      uint64
	Sum        float64
}

// Read returns the histogram now. Buckets are read one by one, so under
// load the count may be a few observations ahead of the buckets' sum;
// Count is their sum, so that the snapshot is consistent.
func (h *Histogram) Read() Snapshot {
	var s Snapshot
	var n uint64
	for i := range Bounds {
		n += h.buckets[i].Load()
		s.Cumulative[i] = n
	}
	s.Count = n + h.buckets[len(Bounds)].Load()
	s.Sum = float64(h.sum.Load()) / 1e9
	return s
}
