// Package memory keeps aaad's state in process memory (store.backend:
// memory): EAPStore holds conversations, pseudonyms and re-authentication
// contexts (eap.Store), SubscriberStore the subscribers and their SQNs
// (hss.Store). Both suit a single node and lose their contents with the
// process; state shared between nodes, or SQNs that outlive a restart,
// need store/redisstore.
package memory

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aaa-project/aaa/eap"
)

const memShards = 32 // spreads lock contention over cores; a power of two

// EAPStore is an eap.Store in process memory: bounded in entries and in
// bytes, with a share per peer, expiring entries on read and on Sweep. It
// suits a single node; a store shared between nodes comes with the Redis
// backend.
type EAPStore struct {
	max      int64
	maxBytes int64
	live     atomic.Int64
	bytes    atomic.Int64 // what the live conversations hold (ConversationSize)
	now      func() time.Time
	shards   [memShards]memShard

	// Live conversations per peer, for the peers' shares. The map holds
	// one counter per peer name (names come from configuration), never
	// removed.
	peerMu sync.RWMutex
	peers  map[string]*atomic.Int64
	// lastFullSweep is when a Put that found no room last swept (Unix
	// nanoseconds by now).
	lastFullSweep atomic.Int64

	// Pseudonyms and re-authentication contexts outlive conversations by
	// hours; they get their own bound (maxRecords) so a flood of one kind
	// cannot push out the other.
	maxRecords int
	recMu      sync.Mutex
	lastSweep  time.Time // of the records, when full
	pseudonyms map[string]eap.PseudonymRecord
	reauths    map[string]*eap.ReauthRecord
	// The records in the order they were stored, which is the order they
	// expire in (one lifetime for all): when a store full of live records
	// must take a new subscriber's, the oldest goes. Entries of records
	// replaced or taken since stay until they reach the front or the
	// queue is compacted.
	pseudonymOrder recordQueue
	reauthOrder    recordQueue
	// A subscriber has one live pseudonym and one re-authentication
	// context (as hostapd's eap_sim_db keeps them): a new one replaces the
	// old, so memory follows subscribers, not authentications.
	pseudonymOf map[string]string // IMSI -> pseudonym
	reauthOf    map[string]string // IMSI -> re-authentication username
}

type memShard struct {
	mu sync.Mutex
	m  map[eap.ConversationID]*eap.Conversation
}

// EAPConfig bounds an EAPStore.
type EAPConfig struct {
	// MaxConversations and MaxBytes bound the live conversations, in
	// number and in the bytes they hold (ConversationSize); 0 bytes is
	// 4 KiB a conversation.
	MaxConversations int
	MaxBytes         int64
	// MaxRecords bounds pseudonyms, and re-authentication contexts, each;
	// 0 is ten times MaxConversations.
	MaxRecords int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewEAPStore returns a store bounded by cfg.
func NewEAPStore(cfg EAPConfig) *EAPStore {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	max := max(cfg.MaxConversations, 1)
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = int64(max) * 4096
	}
	maxRecords := cfg.MaxRecords
	if maxRecords <= 0 {
		maxRecords = 10 * max
	}
	s := &EAPStore{
		max:         int64(max),
		maxBytes:    maxBytes,
		now:         now,
		peers:       make(map[string]*atomic.Int64),
		maxRecords:  maxRecords,
		pseudonyms:  make(map[string]eap.PseudonymRecord),
		reauths:     make(map[string]*eap.ReauthRecord),
		pseudonymOf: make(map[string]string),
		reauthOf:    make(map[string]string),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[eap.ConversationID]*eap.Conversation)
	}
	return s
}

func (s *EAPStore) shard(id eap.ConversationID) *memShard {
	return &s.shards[id[0]&(memShards-1)]
}

// Get implements eap.ConversationStore.
func (s *EAPStore) Get(_ context.Context, id eap.ConversationID, c *eap.Conversation) error {
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := s.liveLocked(sh, id)
	if !ok {
		return eap.ErrConversationNotFound
	}
	*c = *p
	return nil
}

// liveLocked returns id's conversation if it has not expired; an expired
// one is deleted on the way.
func (s *EAPStore) liveLocked(sh *memShard, id eap.ConversationID) (*eap.Conversation, bool) {
	p, ok := sh.m[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(p.Expires) {
		s.deleteLocked(sh, id, p)
		return nil, false
	}
	return p, true
}

// ConversationSize estimates the bytes a stored conversation holds: the
// struct, what its slices and strings point to, and the map entry. The
// peer name is not counted: it is shared with the configuration.
func ConversationSize(c *eap.Conversation) int64 {
	const entry = int64(unsafe.Sizeof(eap.Conversation{})) + 64 // + map slot and pointer
	return entry + int64(len(c.Identity)+len(c.IMSI)+len(c.IDHash)+len(c.NextPseudonym)+len(c.NextReauthID)+len(c.Reply))
}

// Put implements eap.ConversationStore.
func (s *EAPStore) Put(_ context.Context, c *eap.Conversation) error {
	err := s.put(c)
	if (errors.Is(err, eap.ErrStoreFull) || errors.Is(err, eap.ErrPeerFull)) && s.sweepIfDue() {
		// Expired conversations still held count against the bounds
		// until a sweep; one that found no room makes one (at most
		// once a second) and tries again.
		err = s.put(c)
	}
	return err
}

// sweepIfDue sweeps the conversations unless that was done less than a
// second ago: under a flood that keeps a share full, a sweep per packet
// would cost a scan of every conversation each. It reports whether it
// swept.
func (s *EAPStore) sweepIfDue() bool {
	now := s.now()
	last := s.lastFullSweep.Load()
	if now.UnixNano()-last < int64(time.Second) || !s.lastFullSweep.CompareAndSwap(last, now.UnixNano()) {
		return false
	}
	s.sweepConversations(now)
	return true
}

func (s *EAPStore) put(c *eap.Conversation) error {
	sh := s.shard(c.ID)
	size := ConversationSize(c)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if p, ok := sh.m[c.ID]; ok {
		if !s.now().Before(p.Expires) {
			// Expired, not yet swept: gone, and never resurrected.
			s.deleteLocked(sh, c.ID, p)
			return eap.ErrConversationConflict
		}
		if c.Version == 0 || p.Version != c.Version {
			return eap.ErrConversationConflict
		}
		if grow := size - ConversationSize(p); grow > 0 && s.bytes.Add(grow) > s.maxBytes {
			s.bytes.Add(-grow)
			return eap.ErrStoreFull
		} else if grow <= 0 {
			s.bytes.Add(grow)
		}
		c.Version++
		*p = *c
		p.Reply = bytes.Clone(c.Reply) // c's aliases the caller's buffer
		p.Cached = false
		return nil
	}
	if c.Version != 0 {
		return eap.ErrConversationConflict // ended or expired meanwhile: no resurrection
	}
	// The peer's share first: a peer that floods is refused before it
	// takes any of the room the others share.
	var peer *atomic.Int64
	if c.PeerShare > 0 {
		peer = s.peerCount(c.Peer)
		if peer.Add(1) > int64(c.PeerShare) {
			peer.Add(-1)
			return eap.ErrPeerFull
		}
	}
	// Reserve a place, so that puts in other shards cannot all pass the
	// bounds at once.
	overLive := s.live.Add(1) > s.max
	overBytes := s.bytes.Add(size) > s.maxBytes // both reserved, whatever the first says
	if overLive || overBytes {
		s.live.Add(-1)
		s.bytes.Add(-size)
		if peer != nil {
			peer.Add(-1)
		}
		return eap.ErrStoreFull
	}
	if peer == nil {
		s.peerCount(c.Peer).Add(1)
	}
	c.Version = 1
	p := new(eap.Conversation)
	*p = *c
	p.Reply = bytes.Clone(c.Reply)
	p.Cached = false
	sh.m[c.ID] = p
	return nil
}

// peerCount is the counter of a peer's live conversations.
func (s *EAPStore) peerCount(name string) *atomic.Int64 {
	s.peerMu.RLock()
	n, ok := s.peers[name]
	s.peerMu.RUnlock()
	if ok {
		return n
	}
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	if n, ok = s.peers[name]; !ok {
		n = new(atomic.Int64)
		s.peers[name] = n
	}
	return n
}

// PeerLen is the number of conversations peer holds (expired ones not yet
// swept included).
func (s *EAPStore) PeerLen(peer string) int {
	s.peerMu.RLock()
	defer s.peerMu.RUnlock()
	if n, ok := s.peers[peer]; ok {
		return int(n.Load())
	}
	return 0
}

// Bytes is what the conversations held take, as ConversationSize counts.
func (s *EAPStore) Bytes() int64 { return s.bytes.Load() }

// GetFresh implements eap.ConversationStore: this store has no other copy.
func (s *EAPStore) GetFresh(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	return s.Get(ctx, id, c)
}

// Finish implements eap.ConversationStore. One process needs no finished
// conversations (the transport's duplicate cache answers retransmissions):
// it forgets c at once.
func (s *EAPStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	err := s.end(c.ID, c.Version)
	if h != nil {
		var failed bool
		if h.Pseudonym != "" {
			failed = s.PutPseudonym(ctx, h.Pseudonym, h.PseudonymRecord) != nil
		}
		if h.Reauth != nil {
			failed = s.PutReauth(ctx, h.ReauthID, h.Reauth) != nil || failed
		}
		if failed && err == nil {
			err = eap.ErrRecordsNotStored
		}
	}
	return err
}

func (s *EAPStore) end(id eap.ConversationID, version uint32) error {
	if version == 0 {
		return nil
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := s.liveLocked(sh, id)
	if !ok {
		return eap.ErrConversationNotFound
	}
	if p.Version != version {
		return eap.ErrConversationConflict
	}
	s.deleteLocked(sh, id, p)
	return nil
}

// Len is the number of conversations held, expired ones not yet swept
// included.
func (s *EAPStore) Len() int { return int(s.live.Load()) }

// Sweep drops every expired conversation and record. Run it periodically
// (Run does).
func (s *EAPStore) Sweep() {
	now := s.now()
	s.sweepConversations(now)
	s.recMu.Lock()
	s.sweepRecordsLocked(now)
	s.recMu.Unlock()
}

func (s *EAPStore) sweepConversations(now time.Time) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.sweepLocked(sh, now)
		sh.mu.Unlock()
	}
}

func (s *EAPStore) sweepRecordsLocked(now time.Time) {
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

func (s *EAPStore) deletePseudonymLocked(name, imsi string) {
	delete(s.pseudonyms, name)
	if s.pseudonymOf[imsi] == name {
		delete(s.pseudonymOf, imsi)
	}
}

func (s *EAPStore) deleteReauthLocked(id string, r *eap.ReauthRecord) {
	if s.reauthOf[r.IMSI] == id {
		delete(s.reauthOf, r.IMSI)
	}
	delete(s.reauths, id)
	r.Clear()
}

// sweepRecordsWhenFullLocked sweeps the records at most once a second: when
// the store is full of live records, a sweep on every put would cost a scan
// of all of them per authentication.
func (s *EAPStore) sweepRecordsWhenFullLocked() {
	now := s.now()
	if now.Sub(s.lastSweep) < time.Second {
		return
	}
	s.lastSweep = now
	s.sweepRecordsLocked(now)
}

// PutPseudonym implements eap.Store. Replacing the subscriber's own pseudonym
// always works; a new subscriber's, when the store is full of live ones,
// pushes out the oldest.
func (s *EAPStore) PutPseudonym(_ context.Context, pseudonym string, rec eap.PseudonymRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	old, replaces := s.pseudonymOf[rec.IMSI]
	if replaces {
		s.deletePseudonymLocked(old, rec.IMSI)
	}
	if _, ok := s.pseudonyms[pseudonym]; !ok && len(s.pseudonyms) >= s.maxRecords {
		s.sweepRecordsWhenFullLocked()
		for len(s.pseudonyms) >= s.maxRecords {
			name, ok := s.pseudonymOrder.pop()
			if !ok {
				return eap.ErrStoreFull
			}
			if r, live := s.pseudonyms[name]; live {
				s.deletePseudonymLocked(name, r.IMSI)
			}
		}
	}
	s.pseudonyms[pseudonym] = rec
	s.pseudonymOf[rec.IMSI] = pseudonym
	s.pseudonymOrder.push(pseudonym, len(s.pseudonyms), func(n string) bool { _, ok := s.pseudonyms[n]; return ok })
	return nil
}

// GetPseudonym implements eap.Store.
func (s *EAPStore) GetPseudonym(_ context.Context, pseudonym string) (eap.PseudonymRecord, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, ok := s.pseudonyms[pseudonym]
	if !ok {
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	if !s.now().Before(r.Expires) {
		s.deletePseudonymLocked(pseudonym, r.IMSI)
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	return r, nil
}

// PutReauth implements eap.Store. Replacing the subscriber's own context
// always works; a new subscriber's, when the store is full of live ones,
// pushes out the oldest.
func (s *EAPStore) PutReauth(_ context.Context, id string, rec *eap.ReauthRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if old, ok := s.reauthOf[rec.IMSI]; ok {
		if r, ok := s.reauths[old]; ok {
			s.deleteReauthLocked(old, r)
		}
	}
	if r, ok := s.reauths[id]; ok {
		s.deleteReauthLocked(id, r) // a name reused: the new record wins
	}
	if len(s.reauths) >= s.maxRecords {
		s.sweepRecordsWhenFullLocked()
		for len(s.reauths) >= s.maxRecords {
			name, ok := s.reauthOrder.pop()
			if !ok {
				return eap.ErrStoreFull
			}
			if r, live := s.reauths[name]; live {
				s.deleteReauthLocked(name, r)
			}
		}
	}
	r := new(eap.ReauthRecord)
	*r = *rec
	s.reauths[id] = r
	s.reauthOf[rec.IMSI] = id
	s.reauthOrder.push(id, len(s.reauths), func(n string) bool { _, ok := s.reauths[n]; return ok })
	return nil
}

// TakeReauth implements eap.Store.
func (s *EAPStore) TakeReauth(_ context.Context, id string, rec *eap.ReauthRecord) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, ok := s.reauths[id]
	if !ok {
		return eap.ErrRecordNotFound
	}
	live := s.now().Before(r.Expires)
	if live {
		*rec = *r
	}
	s.deleteReauthLocked(id, r)
	if !live {
		return eap.ErrRecordNotFound
	}
	return nil
}

// Records returns how many pseudonyms and re-authentication contexts are
// held (expired ones not yet swept included).
func (s *EAPStore) Records() (pseudonyms, reauths int) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return len(s.pseudonyms), len(s.reauths)
}

// Run sweeps every interval until ctx ends.
func (s *EAPStore) Run(ctx context.Context, interval time.Duration) {
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

func (s *EAPStore) sweepLocked(sh *memShard, now time.Time) {
	for id, p := range sh.m {
		if !now.Before(p.Expires) {
			s.deleteLocked(sh, id, p)
		}
	}
}

func (s *EAPStore) deleteLocked(sh *memShard, id eap.ConversationID, p *eap.Conversation) {
	s.bytes.Add(-ConversationSize(p))
	s.peerCount(p.Peer).Add(-1)
	p.Clear() // the stored copy holds keys and XRES too
	delete(sh.m, id)
	s.live.Add(-1)
}

// recordQueue holds record names in the order they were stored. Names of
// records deleted since stay in it until they are popped (and found gone)
// or the queue is compacted, which push does once it holds more than twice
// the live records or half of it has been popped: it stays within a
// constant factor of them.
type recordQueue struct {
	names []string
	head  int
}

// push appends name; live counts the records held and has says whether a
// name is still one of them.
func (q *recordQueue) push(name string, live int, has func(string) bool) {
	if len(q.names)-q.head > 2*live+64 || (q.head > 64 && q.head > len(q.names)/2) {
		kept := q.names[:0]
		for _, n := range q.names[q.head:] {
			if has(n) {
				kept = append(kept, n)
			}
		}
		clear(q.names[len(kept):])
		q.names, q.head = kept, 0
	}
	q.names = append(q.names, name)
}

func (q *recordQueue) pop() (string, bool) {
	if q.head >= len(q.names) {
		return "", false
	}
	name := q.names[q.head]
	q.names[q.head] = ""
	q.head++
	return name, true
}
