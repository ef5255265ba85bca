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
// Entries live for ttl from their arrival, whatever the load: each shard
// keeps them in arrival order and drops expired ones from the front. A hard
// size bound keeps memory finite under a flood; an entry dropped by it
// before its time is counted, so an operator can see the cache is too small
// for the request rate (rate x ttl entries are needed).
type dedupCache struct {
	shards       [dedupShards]dedupShard
	ttl          time.Duration
	perShard     int
	evictedEarly *atomic.Uint64 // a Stats counter
}

const dedupShards = 16 // spreads the lock over cores; a power of two

type dedupShard struct {
	mu   sync.Mutex
	m    map[dedupKey]dedupEntry
	fifo []fifoItem // arrival order; fifo[head:] are live or stale
	head int
	seq  uint64
}

type dedupKey struct {
	addr netip.AddrPort
	id   uint8
	auth [16]byte
}

type dedupEntry struct {
	resp    []byte // nil while the request is being processed
	expires time.Time
	seq     uint64 // matches the fifo item that will evict it
}

type fifoItem struct {
	key     dedupKey
	seq     uint64
	expires time.Time
}

type dedupState uint8

const (
	dedupNew     dedupState = iota // process the request
	dedupReplay                    // send the cached answer again
	dedupPending                   // the first copy is still being processed: drop
)

func newDedupCache(size int, ttl time.Duration, evictedEarly *atomic.Uint64) *dedupCache {
	d := &dedupCache{ttl: ttl, perShard: max(1, size/dedupShards), evictedEarly: evictedEarly}
	for i := range d.shards {
		d.shards[i].m = make(map[dedupKey]dedupEntry)
	}
	return d
}

func (d *dedupCache) shard(k *dedupKey) *dedupShard {
	// The Request Authenticator is random: its first octet spreads keys.
	return &d.shards[k.auth[0]&(dedupShards-1)]
}

// begin looks k up; when it is new, it is marked pending until finish.
func (d *dedupCache) begin(k dedupKey, now time.Time) ([]byte, dedupState) {
	sh := d.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d.evictLocked(sh, now)
	if e, ok := sh.m[k]; ok && now.Before(e.expires) {
		if e.resp == nil {
			return nil, dedupPending
		}
		return e.resp, dedupReplay
	}
	sh.seq++
	exp := now.Add(d.ttl)
	sh.m[k] = dedupEntry{expires: exp, seq: sh.seq}
	sh.fifo = append(sh.fifo, fifoItem{key: k, seq: sh.seq, expires: exp})
	return nil, dedupNew
}

// finish records the answer to k; a nil answer (request dropped) forgets k,
// so that a retransmission is processed afresh. The entry keeps the expiry
// of the request's arrival.
func (d *dedupCache) finish(k dedupKey, resp []byte) {
	sh := d.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[k]
	if !ok {
		return // evicted meanwhile
	}
	if resp == nil {
		delete(sh.m, k)
		return
	}
	e.resp = resp
	sh.m[k] = e
}

// evictLocked drops, oldest first, what has expired, and what exceeds the
// size bound.
func (d *dedupCache) evictLocked(sh *dedupShard, now time.Time) {
	for sh.head < len(sh.fifo) {
		it := &sh.fifo[sh.head]
		expired := !now.Before(it.expires)
		if !expired && len(sh.m) < d.perShard {
			break
		}
		if e, ok := sh.m[it.key]; ok && e.seq == it.seq {
			delete(sh.m, it.key)
			if !expired {
				d.evictedEarly.Add(1)
			}
		}
		*it = fifoItem{}
		sh.head++
	}
	// Reclaim the consumed front once it is half the slice.
	if sh.head > 1024 && 2*sh.head >= len(sh.fifo) {
		n := copy(sh.fifo, sh.fifo[sh.head:])
		clear(sh.fifo[n:])
		sh.fifo = sh.fifo[:n]
		sh.head = 0
	}
}

// sweep evicts in every shard: a shard nobody touches still lets go of
// its expired answers. Serve runs it every second.
func (d *dedupCache) sweep(now time.Time) {
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		d.evictLocked(sh, now)
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
