package radius

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// dedupCache remembers the answer to each request for a while, so that a
// retransmission (same client, Identifier and Request Authenticator) gets
// the same answer instead of a new EAP round (RFC 5080 2.2.2). Without it a
// retransmitted identity would fetch a second vector and burn an SQN, and a
// retransmitted final response would find its conversation gone and be
// rejected.
//
// A client never reuses an Identifier while a request on it is outstanding
// (RFC 2865 3), so only the latest request per source address and
// Identifier can be retransmitted: the cache keeps one answer per (source,
// Identifier), and a new Request Authenticator replaces it. Memory follows
// the number of active sources (at most 256 entries each), not the request
// rate, however long the answers are kept. Answers are kept for ttl from
// the request's arrival and swept every second.
//
// Each RADIUS client has a cache of its own, bounded by its share: a client
// that sends from ever new source ports fills only its own. A request that
// finds its client's cache full is not processed at all (begin says
// dedupFull): an answer that could not be replayed would let a
// retransmission get a different answer than the original (a final request
// retransmitted after its Accept would be rejected, its conversation gone).
// The access point retries; the shortage costs the client that caused it.
type dedupCache struct {
	shards [dedupShards]dedupShard
	ttl    time.Duration
	max    atomic.Int64 // changed by a reload
	n      atomic.Int64
}

const dedupShards = 16 // spreads the lock over cores; a power of two

type dedupShard struct {
	mu sync.Mutex
	m  map[dedupKey]dedupEntry
}

type dedupKey struct {
	addr netip.AddrPort
	id   uint8
}

type dedupEntry struct {
	auth    [16]byte
	resp    []byte // nil while the request is being processed
	expires int64  // Unix nanoseconds
}

type dedupState uint8

const (
	dedupNew     dedupState = iota // process the request
	dedupReplay                    // send the cached answer again
	dedupPending                   // the first copy is still being processed: drop
	dedupFull                      // no room to remember the answer: drop
)

func newDedupCache(size int, ttl time.Duration) *dedupCache {
	d := &dedupCache{ttl: ttl}
	d.setMax(size)
	for i := range d.shards {
		d.shards[i].m = make(map[dedupKey]dedupEntry)
	}
	return d
}

func (d *dedupCache) setMax(size int) { d.max.Store(int64(max(1, size))) }

// shard spreads keys by port and Identifier, so that no choice of
// Identifiers from one source crowds one shard.
func (d *dedupCache) shard(k *dedupKey) *dedupShard {
	h := uint(k.addr.Port())*0x9e37 ^ uint(k.id)*0x85eb
	return &d.shards[(h^h>>7)&(dedupShards-1)]
}

// begin looks the request up; when it is new, it is marked pending until
// finish.
func (d *dedupCache) begin(k dedupKey, auth *[16]byte, now time.Time) ([]byte, dedupState) {
	sh := d.shard(&k)
	t := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[k]
	if ok && e.auth == *auth && t < e.expires {
		if e.resp == nil {
			return nil, dedupPending
		}
		return e.resp, dedupReplay
	}
	// Room is made by the sweep once a second, not here: a scan per
	// request would let a full cache cost every request a shard's worth
	// of work.
	if !ok && d.n.Add(1) > d.max.Load() {
		d.n.Add(-1)
		return nil, dedupFull
	}
	sh.m[k] = dedupEntry{auth: *auth, expires: t + int64(d.ttl)}
	return nil, dedupNew
}

// finish records the answer to the request; a nil answer (request dropped)
// forgets it, so that a retransmission is processed afresh.
func (d *dedupCache) finish(k dedupKey, auth *[16]byte, resp []byte) {
	sh := d.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[k]
	if !ok || e.auth != *auth {
		return // replaced by a newer request
	}
	if resp == nil {
		delete(sh.m, k)
		d.n.Add(-1)
		return
	}
	e.resp = resp
	sh.m[k] = e
}

// sweep drops expired answers. Serve runs it every second.
func (d *dedupCache) sweep(now time.Time) {
	t := now.UnixNano()
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		d.sweepLocked(sh, t)
		sh.mu.Unlock()
	}
}

func (d *dedupCache) sweepLocked(sh *dedupShard, t int64) {
	for k, e := range sh.m {
		if t >= e.expires {
			delete(sh.m, k)
			d.n.Add(-1)
		}
	}
}

// len is the number of entries held.
func (d *dedupCache) len() int { return int(d.n.Load()) }
