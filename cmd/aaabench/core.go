package main

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadCore is what the RADIUS load (engine) and the Diameter load
// (dengine) share: the settings, the counters, the clock of the run, the
// claiming of starts (closed loop, or the open-loop schedule) and the
// signal that the run is over. Both embed it; run() drives either
// through the generator interface.
type loadCore struct {
	cfg  *config
	st   stats
	base time.Time // time 0 of the run; now() counts from it

	open     bool    // open loop (--rate)
	interval float64 // open loop: nanoseconds between scheduled starts
	limit    int64   // starts allowed; 0 = until stopped (closed loop, --duration)
	slots    int     // conversations: the most authentications in flight
	sockets  int     // UDP sockets (RADIUS) or connections (Diameter), for the summary

	next     atomic.Int64 // starts claimed (closed loop) or index of the next scheduled start (open loop)
	inflight atomic.Int64
	waiting  atomic.Int64 // open loop, Diameter: starts claimed but not yet due (counted in inflight)
	stopping atomic.Bool
	noMore   atomic.Bool
	lastEnd  atomic.Int64 // now() of the last authentication that ended

	stopCh   chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when no more starts will come and none is in flight
	doneOnce sync.Once
}

// stats are the counters of a run: atomics, updated once per
// authentication except retransmissions and strays.
type stats struct {
	ok              atomic.Uint64
	failures        [numReasons]atomic.Uint64
	rounds          atomic.Uint64 // round trips of successful authentications
	fastReauths     atomic.Uint64
	resyncs         atomic.Uint64
	retransmissions atomic.Uint64
	stray           atomic.Uint64 // answers that matched no outstanding request
	sendErrors      atomic.Uint64
	latency         histogram // successful authentications, first request to Accept
	startLag        histogram // open loop: first request sent minus scheduled start
	service         histogram // open loop: successful authentications, first request sent to Accept

	retransmitFinal atomic.Uint64 // --retransmit-final: final requests sent again

	keyNames atomic.Uint64 // Diameter: successes whose DEA carried EAP-Key-Name
	// Diameter: failures by the Result-Code (or Experimental-Result-Code)
	// of the answer that ended them, "result_<code>" in the summary.
	// Failures only, so a lock is cheap enough.
	resultMu sync.Mutex
	results  map[uint32]uint64
}

// failResult counts a failure by a Diameter result code.
func (st *stats) failResult(code uint32) {
	st.resultMu.Lock()
	if st.results == nil {
		st.results = make(map[uint32]uint64)
	}
	st.results[code]++
	st.resultMu.Unlock()
}

// failureCounts returns every failure count by its summary label.
func (st *stats) failureCounts() map[string]uint64 {
	m := map[string]uint64{}
	for r := reason(1); r < numReasons; r++ {
		if n := st.failures[r].Load(); n > 0 {
			m[r.String()] = n
		}
	}
	st.resultMu.Lock()
	for code, n := range st.results {
		m[resultLabel(code)] = n
	}
	st.resultMu.Unlock()
	return m
}

func resultLabel(code uint32) string { return "result_" + strconv.FormatUint(uint64(code), 10) }

// topFailure is the most frequent failure label and the total.
func topFailure(m map[string]uint64) (top string, topN, total uint64) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names) // ties: the first name
	for _, k := range names {
		n := m[k]
		total += n
		if n > topN {
			top, topN = k, n
		}
	}
	return top, topN, total
}

// initCore sets the settings, the schedule and the channels from cfg.
func (c *loadCore) initCore(cfg *config) {
	c.cfg = cfg
	c.stopCh = make(chan struct{})
	c.done = make(chan struct{})
	if cfg.rate > 0 {
		c.open = true
		c.interval = 1e9 / cfg.rate
	}
	switch {
	case cfg.count > 0:
		c.limit = cfg.count
	case c.open:
		c.limit = max(int64(float64(cfg.duration)/c.interval), 1)
	}
}

func (c *loadCore) lc() *loadCore { return c }

func (c *loadCore) now() int64 { return int64(time.Since(c.base)) }

// scheduled is the start time of the i-th open-loop authentication.
func (c *loadCore) scheduled(i int64) int64 { return int64(float64(i) * c.interval) }

// stop: no new authentication starts; those in flight go on.
func (c *loadCore) stop() {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		close(c.stopCh)
		c.setNoMore()
	})
}

func (c *loadCore) setNoMore() {
	c.noMore.Store(true)
	if c.inflight.Load() == 0 {
		c.doneOnce.Do(func() { close(c.done) })
	}
}

// ended counts one authentication (or claimed start) out of flight.
func (c *loadCore) ended() {
	if c.inflight.Add(-1) == 0 && c.noMore.Load() {
		c.doneOnce.Do(func() { close(c.done) })
	}
}

// inFlight is the number of authentications running now.
func (c *loadCore) inFlight() int64 {
	return min(max(c.inflight.Load()-c.waiting.Load(), 0), int64(c.slots))
}

// backlog is how many open-loop starts were due but had not started.
func (c *loadCore) backlog(now int64) int64 {
	if !c.open {
		return 0
	}
	due := min(int64(float64(now)/c.interval)+1, c.limit)
	return max(due-c.next.Load(), 0)
}

// generator is a load: RADIUS (engine) or Diameter (dengine).
type generator interface {
	lc() *loadCore
	// start launches the load; quit ends its helpers (the per-second
	// report and the like) at the end of the run.
	start(quit <-chan struct{})
	stop()
	// close ends the transport once the run is over (in flight or not).
	close()
	// drainTime bounds the wait for the authentications in flight once
	// no more start.
	drainTime() time.Duration
}
