package radius

import (
	"net/netip"
	"sync"
	"time"
)

// dedupCache remembers the answer to each request for a while, so that a
// retransmission (same client, Identifier and Request Authenticator) gets
// the same answer instead of a new EAP round (RFC 5080 2.2.2). Without it a
// retransmitted identity would fetch a second vector and burn an SQN, and the
// peer would see a challenge it did not expect. Its size is fixed: a ring of
// keys evicts the oldest entry when full.
type dedupCache struct {
	mu   sync.Mutex
	m    map[dedupKey]*dedupEntry
	ring []dedupKey
	next int
	ttl  time.Duration
}

type dedupKey struct {
	addr netip.AddrPort
	id   uint8
	auth [16]byte
}

type dedupEntry struct {
	resp    []byte // nil while the request is being processed
	expires time.Time
	slot    int
}

type dedupState uint8

const (
	dedupNew     dedupState = iota // process the request
	dedupReplay                    // send the cached answer again
	dedupPending                   // the first copy is still being processed: drop
)

func newDedupCache(size int, ttl time.Duration) *dedupCache {
	return &dedupCache{m: make(map[dedupKey]*dedupEntry, size), ring: make([]dedupKey, size), ttl: ttl}
}

// begin looks k up; when it is new, it is marked pending until finish.
func (d *dedupCache) begin(k dedupKey, now time.Time) ([]byte, dedupState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.m[k]; ok && now.Before(e.expires) {
		if e.resp == nil {
			return nil, dedupPending
		}
		return e.resp, dedupReplay
	}
	slot := d.next
	d.next = (d.next + 1) % len(d.ring)
	if old, ok := d.m[d.ring[slot]]; ok && old.slot == slot {
		delete(d.m, d.ring[slot])
	}
	d.ring[slot] = k
	d.m[k] = &dedupEntry{expires: now.Add(d.ttl), slot: slot}
	return nil, dedupNew
}

// finish records the answer to k; a nil answer (request dropped) forgets k,
// so that a retransmission is processed afresh.
func (d *dedupCache) finish(k dedupKey, resp []byte, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[k]
	if !ok {
		return // evicted meanwhile
	}
	if resp == nil {
		delete(d.m, k)
		return
	}
	e.resp = resp
	e.expires = now.Add(d.ttl)
}
