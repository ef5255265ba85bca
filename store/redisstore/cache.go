package redisstore

import (
	"bytes"
	"sync"
	"time"

	"github.com/aaa-project/aaa/eap"
)

// convCache keeps the conversations this node wrote last, so that the
// next packet of a conversation that stays with this node (as access
// points keep to one server) is read without a round trip. A copy may be
// behind when another node moved the conversation on: every write is a
// compare-and-swap in Redis, which refuses it, and eap.Server then reads
// again with GetFresh. Entries hold session keys; they are cleared when
// dropped. Copies share their slices, as the memory store's do (eap never
// writes into a conversation's slices).
type convCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 64

type cacheShard struct {
	mu sync.Mutex
	m  map[eap.ConversationID]*eap.Conversation
}

func newConvCache(size int) *convCache {
	c := &convCache{perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[eap.ConversationID]*eap.Conversation)
	}
	return c
}

func (c *convCache) shard(id eap.ConversationID) *cacheShard {
	return &c.shards[id[1]%cacheShards]
}

// put keeps a copy of conv, as stored (Version set). It also drops a
// couple of expired copies it comes across: a conversation that ended
// elsewhere, or was abandoned, is never read here again, and its keys
// must not stay in memory for the life of the process.
func (c *convCache) put(conv *eap.Conversation, now time.Time) {
	if c == nil {
		return
	}
	cp := new(eap.Conversation)
	*cp = *conv
	cp.Reply = bytes.Clone(conv.Reply) // conv's aliases the caller's buffer
	cp.Cached = false
	sh := c.shard(conv.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[conv.ID]; ok {
		old.Clear()
	} else if len(sh.m) >= c.perShard {
		for k, v := range sh.m { // any one: map order is random
			v.Clear()
			delete(sh.m, k)
			break
		}
	}
	sh.m[conv.ID] = cp
	swept := 0
	for k, v := range sh.m { // a random start: over time, every entry
		if swept == 2 {
			break
		}
		swept++
		if !v.Expires.After(now) {
			v.Clear()
			delete(sh.m, k)
		}
	}
}

// get copies id's live copy into conv.
func (c *convCache) get(id eap.ConversationID, now time.Time, conv *eap.Conversation) bool {
	if c == nil {
		return false
	}
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[id]
	if !ok {
		return false
	}
	if !e.Expires.After(now) {
		e.Clear()
		delete(sh.m, id)
		return false
	}
	*conv = *e
	conv.Cached = true
	return true
}

// drop forgets id's copy.
func (c *convCache) drop(id eap.ConversationID) {
	if c == nil {
		return
	}
	sh := c.shard(id)
	sh.mu.Lock()
	if e, ok := sh.m[id]; ok {
		e.Clear()
		delete(sh.m, id)
	}
	sh.mu.Unlock()
}

// pseudonymCache remembers the pseudonyms this node handed out, so that a
// peer that comes back to it with one is not looked up in Redis (a round
// trip before the SQN step can even start). A node trusts what it handed
// out until it expires, even after another node replaced it: the name
// still names the same subscriber, as a stateless (sealed) pseudonym
// would, and the authentication that follows is a full one. The
// replacement this node sees itself drops the old name at once.
type pseudonymCache struct {
	perShard int
	shards   [cacheShards]pseudonymShard
}

type pseudonymShard struct {
	mu sync.Mutex
	m  map[string]eap.PseudonymRecord
}

func newPseudonymCache(size int) *pseudonymCache {
	c := &pseudonymCache{perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]eap.PseudonymRecord)
	}
	return c
}

func (c *pseudonymCache) shard(name string) *pseudonymShard {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return &c.shards[h%cacheShards]
}

func (c *pseudonymCache) put(name string, rec eap.PseudonymRecord) {
	if c == nil {
		return
	}
	sh := c.shard(name)
	sh.mu.Lock()
	if _, ok := sh.m[name]; !ok && len(sh.m) >= c.perShard {
		for k := range sh.m { // any one: map order is random
			delete(sh.m, k)
			break
		}
	}
	sh.m[name] = rec
	sh.mu.Unlock()
}

func (c *pseudonymCache) get(name string, now time.Time) (eap.PseudonymRecord, bool) {
	if c == nil {
		return eap.PseudonymRecord{}, false
	}
	sh := c.shard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec, ok := sh.m[name]
	if ok && !rec.Expires.After(now) {
		delete(sh.m, name)
		return eap.PseudonymRecord{}, false
	}
	return rec, ok
}

func (c *pseudonymCache) drop(name string) {
	if c == nil {
		return
	}
	sh := c.shard(name)
	sh.mu.Lock()
	delete(sh.m, name)
	sh.mu.Unlock()
}
