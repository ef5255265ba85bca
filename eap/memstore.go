package eap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

const memShards = 32 // spreads lock contention over cores; a power of two

// MemoryStore is a ConversationStore in process memory: bounded in size,
// expiring entries on read and on Sweep. It suits a single node; a store
// shared between nodes comes with the Redis backend.
type MemoryStore struct {
	max    int64
	live   atomic.Int64
	now    func() time.Time
	shards [memShards]memShard
}

type memShard struct {
	mu sync.Mutex
	m  map[ConversationID]*Conversation
}

// NewMemoryStore returns a store that holds at most max conversations. now
// is the clock (time.Now when nil).
func NewMemoryStore(max int, now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	s := &MemoryStore{max: int64(max), now: now}
	for i := range s.shards {
		s.shards[i].m = make(map[ConversationID]*Conversation)
	}
	return s
}

func (s *MemoryStore) shard(id ConversationID) *memShard {
	return &s.shards[id[0]&(memShards-1)]
}

// Get implements ConversationStore.
func (s *MemoryStore) Get(_ context.Context, id ConversationID, c *Conversation) error {
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.m[id]
	if !ok {
		return ErrConversationNotFound
	}
	if !s.now().Before(p.Expires) {
		s.deleteLocked(sh, id, p)
		return ErrConversationNotFound
	}
	*c = *p
	return nil
}

// Put implements ConversationStore.
func (s *MemoryStore) Put(_ context.Context, c *Conversation) error {
	sh := s.shard(c.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if p, ok := sh.m[c.ID]; ok {
		*p = *c
		return nil
	}
	if s.live.Load() >= s.max {
		s.sweepLocked(sh, s.now())
		if s.live.Load() >= s.max {
			return ErrStoreFull
		}
	}
	p := new(Conversation)
	*p = *c
	sh.m[c.ID] = p
	s.live.Add(1)
	return nil
}

// Delete implements ConversationStore.
func (s *MemoryStore) Delete(_ context.Context, id ConversationID) error {
	sh := s.shard(id)
	sh.mu.Lock()
	if p, ok := sh.m[id]; ok {
		s.deleteLocked(sh, id, p)
	}
	sh.mu.Unlock()
	return nil
}

// Len is the number of conversations held, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int { return int(s.live.Load()) }

// Sweep drops every expired conversation. Run it periodically (Run does).
func (s *MemoryStore) Sweep() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.sweepLocked(sh, now)
		sh.mu.Unlock()
	}
}

// Run sweeps every interval until ctx ends.
func (s *MemoryStore) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

func (s *MemoryStore) sweepLocked(sh *memShard, now time.Time) {
	for id, p := range sh.m {
		if !now.Before(p.Expires) {
			s.deleteLocked(sh, id, p)
		}
	}
}

func (s *MemoryStore) deleteLocked(sh *memShard, id ConversationID, p *Conversation) {
	p.Keys.Clear() // the stored copy holds keys too
	delete(sh.m, id)
	s.live.Add(-1)
}
