package latency

import (
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{100 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Second} {
		h.Observe(d)
	}
	s := h.Read()
	if s.Count != 4 {
		t.Fatalf("count %d", s.Count)
	}
	// 100 µs and 1 ms fall at or under the 1 ms bound (index 2).
	if s.Cumulative[0] != 1 || s.Cumulative[2] != 2 || s.Cumulative[4] != 3 || s.Cumulative[len(Bounds)-1] != 3 {
		t.Fatalf("cumulative %v", s.Cumulative)
	}
	if want := 10.0041; s.Sum < want-1e-6 || s.Sum > want+1e-6 {
		t.Fatalf("sum %v, want %v", s.Sum, want)
	}
}

func BenchmarkObserve(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(3 * time.Millisecond)
		}
	})
}
