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
// the request's arrival and swept every second. A size bound keeps memory
// finite whatever the sources; past it answers are not cached, and that is
// counted.
type dedupCache struct {
	shards   [dedupShards]dedupShard
	ttl      time.Duration
	perShard int
	skipped  *atomic.Uint64 // a Stats counter: answers not cached, cache full
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
)

func newDedupCache(size int, ttl time.Duration, skipped *atomic.Uint64) *dedupCache {
	d := &dedupCache{ttl: ttl, perShard: max(1, size/dedupShards), skipped: skipped}
	for i := range d.shards {
		d.shards[i].m = make(map[dedupKey]dedupEntry)
	}
	return d
}

func (d *dedupCache) shard(k *dedupKey) *dedupShard {
	return &d.shards[k.id&(dedupShards-1)]
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
	if !ok && len(sh.m) >= d.perShard {
		d.skipped.Add(1)
		return nil, dedupNew
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
		return // not cached, or replaced by a newer request
	}
	if resp == nil {
		delete(sh.m, k)
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
		for k, e := range sh.m {
			if t >= e.expires {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// len is the number of entries held (tests).
func (d *dedupCache) len() int {
	n := 0
	for i := range d.shards {
		d.shards[i].mu.Lock()
		n += len(d.shards[i].m)
		d.shards[i].mu.Unlock()
	}
	return n
}
