package eap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

const memShards = 32 // spreads lock contention over cores; a power of two

// MemoryStore is a Store in process memory: bounded in size, expiring
// entries on read and on Sweep. It suits a single node; a store shared
// between nodes comes with the Redis backend.
type MemoryStore struct {
	max    int64
	live   atomic.Int64
	now    func() time.Time
	shards [memShards]memShard

	// Pseudonyms and re-authentication contexts outlive conversations by
	// hours; they get their own bound (maxRecords) so a flood of one kind
	// cannot push out the other.
	maxRecords int
	recMu      sync.Mutex
	lastSweep  time.Time // of the records, when full
	pseudonyms map[string]PseudonymRecord
	reauths    map[string]*ReauthRecord
	// A subscriber has one live pseudonym and one re-authentication
	// context (as hostapd's eap_sim_db keeps them): a new one replaces the
	// old, so memory follows subscribers, not authentications.
	pseudonymOf map[string]string // IMSI -> pseudonym
	reauthOf    map[string]string // IMSI -> re-authentication username
}

type memShard struct {
	mu sync.Mutex
	m  map[ConversationID]*Conversation
}

// NewMemoryStore returns a store that holds at most max conversations and
// 10*max pseudonyms and as many re-authentication contexts. now is the clock
// (time.Now when nil).
func NewMemoryStore(max int, now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	s := &MemoryStore{
		max:         int64(max),
		now:         now,
		maxRecords:  10 * max,
		pseudonyms:  make(map[string]PseudonymRecord),
		reauths:     make(map[string]*ReauthRecord),
		pseudonymOf: make(map[string]string),
		reauthOf:    make(map[string]string),
	}
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
		if c.Version == 0 || p.Version != c.Version {
			return ErrConversationConflict
		}
		c.Version++
		*p = *c
		return nil
	}
	if c.Version != 0 {
		return ErrConversationConflict // ended or expired meanwhile: no resurrection
	}
	// Reserve a place first, so that puts in other shards cannot all pass
	// the bound at once.
	if s.live.Add(1) > s.max {
		s.sweepLocked(sh, s.now())
		if s.live.Load() > s.max {
			s.live.Add(-1)
			return ErrStoreFull
		}
	}
	c.Version = 1
	p := new(Conversation)
	*p = *c
	sh.m[c.ID] = p
	return nil
}

// Delete implements ConversationStore.
func (s *MemoryStore) Delete(_ context.Context, id ConversationID, version uint32) error {
	if version == 0 {
		return nil
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.m[id]
	if !ok {
		return ErrConversationNotFound
	}
	if p.Version != version {
		return ErrConversationConflict
	}
	s.deleteLocked(sh, id, p)
	return nil
}

// Len is the number of conversations held, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int { return int(s.live.Load()) }

// Sweep drops every expired conversation and record. Run it periodically
// (Run does).
func (s *MemoryStore) Sweep() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.sweepLocked(sh, now)
		sh.mu.Unlock()
	}
	s.recMu.Lock()
	s.sweepRecordsLocked(now)
	s.recMu.Unlock()
}

func (s *MemoryStore) sweepRecordsLocked(now time.Time) {
	for k, r := range s.pseudonyms {
		if !now.Before(r.Expires) {
			s.deletePseudonymLocked(k, r.IMSI)
		}
	}
	for k, r := range s.reauths {
		if !now.Before(r.Expires) {
			s.deleteReauthLocked(k, r)
		}
	}
}

func (s *MemoryStore) deletePseudonymLocked(name, imsi string) {
	delete(s.pseudonyms, name)
	if s.pseudonymOf[imsi] == name {
		delete(s.pseudonymOf, imsi)
	}
}

func (s *MemoryStore) deleteReauthLocked(id string, r *ReauthRecord) {
	if s.reauthOf[r.IMSI] == id {
		delete(s.reauthOf, r.IMSI)
	}
	delete(s.reauths, id)
	r.Clear()
}

// sweepWhenFullLocked sweeps the records at most once a second: when the
// store is full of live records, a sweep on every put would cost a scan of
// all of them per authentication.
func (s *MemoryStore) sweepWhenFullLocked() {
	now := s.now()
	if now.Sub(s.lastSweep) < time.Second {
		return
	}
	s.lastSweep = now
	s.sweepRecordsLocked(now)
}

// PutPseudonym implements Store.
func (s *MemoryStore) PutPseudonym(_ context.Context, pseudonym string, rec PseudonymRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if _, ok := s.pseudonyms[pseudonym]; !ok && len(s.pseudonyms) >= s.maxRecords {
		s.sweepWhenFullLocked()
		if len(s.pseudonyms) >= s.maxRecords {
			return ErrStoreFull
		}
	}
	if old, ok := s.pseudonymOf[rec.IMSI]; ok && old != pseudonym {
		delete(s.pseudonyms, old)
	}
	s.pseudonyms[pseudonym] = rec
	s.pseudonymOf[rec.IMSI] = pseudonym
	return nil
}

// GetPseudonym implements Store.
func (s *MemoryStore) GetPseudonym(_ context.Context, pseudonym string) (PseudonymRecord, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, ok := s.pseudonyms[pseudonym]
	if !ok {
		return PseudonymRecord{}, ErrRecordNotFound
	}
	if !s.now().Before(r.Expires) {
		s.deletePseudonymLocked(pseudonym, r.IMSI)
		return PseudonymRecord{}, ErrRecordNotFound
	}
	return r, nil
}

// PutReauth implements Store.
func (s *MemoryStore) PutReauth(_ context.Context, id string, rec *ReauthRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if _, ok := s.reauths[id]; !ok && len(s.reauths) >= s.maxRecords {
		s.sweepWhenFullLocked()
		if len(s.reauths) >= s.maxRecords {
			return ErrStoreFull
		}
	}
	if old, ok := s.reauthOf[rec.IMSI]; ok && old != id {
		if r, ok := s.reauths[old]; ok {
			s.deleteReauthLocked(old, r)
		}
	}
	r := new(ReauthRecord)
	*r = *rec
	s.reauths[id] = r
	s.reauthOf[rec.IMSI] = id
	return nil
}

// TakeReauth implements Store.
func (s *MemoryStore) TakeReauth(_ context.Context, id string, rec *ReauthRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, ok := s.reauths[id]
	if !ok {
		return ErrRecordNotFound
	}
	live := s.now().Before(r.Expires)
	if live {
		*rec = *r
	}
	s.deleteReauthLocked(id, r)
	if !live {
		return ErrRecordNotFound
	}
	return nil
}

// Records returns how many pseudonyms and re-authentication contexts are
// held (expired ones not yet swept included).
func (s *MemoryStore) Records() (pseudonyms, reauths int) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return len(s.pseudonyms), len(s.reauths)
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
	p.Clear() // the stored copy holds keys and XRES too
	delete(sh.m, id)
	s.live.Add(-1)
}
