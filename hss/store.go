// Package hss is the home subscriber server side of authentication: it holds
// (or reaches) the subscribers' long-term keys and turns them into
// authentication vectors. K and OPc never leave this package; what it hands
// out are vectors (aka.Vector), through the eap.VectorSource interface that
// *Local satisfies.
package hss

import (
	"context"
	"fmt"
	"sync"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// Subscriber is one USIM's record on the network side (TS 33.102 6.3).
type Subscriber struct {
	IMSI string
	K    milenage.Key
	OPc  milenage.OPc
	AMF  uint16
	// SQN is the last sequence number issued: the next vector is above it.
	SQN aka.SQN
}

// String keeps K and OPc out of logs.
func (s Subscriber) String() string { return "hss.Subscriber{IMSI:" + s.IMSI + " REDACTED}" }

// GoString does the same for %#v.
func (s Subscriber) GoString() string { return s.String() }

// Record is a subscriber as a Store holds it: K and OPc sealed (Sealer),
// never in the clear.
type Record struct {
	Sealed []byte
	AMF    uint16
}

// String keeps the sealed keys out of logs all the same.
func (r Record) String() string { return "hss.Record{REDACTED}" }

// Store keeps subscriber records. It sees sealed keys only: this package
// opens them, just before Milenage. The SQN operations must be atomic for
// every node that shares the store: that is what guarantees no SQN is ever
// issued twice.
type Store interface {
	// Record returns the subscriber's record, or aka.ErrUnknownSubscriber.
	Record(ctx context.Context, imsi string) (Record, error)
	// AdvanceSQN advances the subscriber's SQN to the next fresh value
	// (aka.SQN.Next) and returns it with the record, in one step so that
	// a remote store needs one round trip per vector.
	AdvanceSQN(ctx context.Context, imsi string, indBits uint) (Record, aka.SQN, error)
	// ResyncSQN moves the subscriber's SQN past sqnMS, the USIM's highest
	// accepted SQN (aka.SQN.AfterResync), so that the next AdvanceSQN is
	// fresh for that USIM. It never moves the SQN backwards.
	ResyncSQN(ctx context.Context, imsi string, sqnMS aka.SQN, indBits uint) error
}

// MemoryStore is a Store in process memory, loaded from the subscribers CSV.
// Its SQNs live only as long as the process: on a restart they start again
// from the file, so a USIM that already saw higher ones asks for a
// resynchronisation (which then skips past them). For SQNs that survive
// restarts and are shared by several nodes, use the Redis store.
type MemoryStore struct {
	mu   sync.Mutex
	subs map[string]*memSubscriber
}

type memSubscriber struct {
	rec Record
	sqn aka.SQN
}

// NewMemoryStore returns a store holding subs, their keys sealed by sealer
// as they are loaded (the caller wipes subs). IMSIs must be unique.
func NewMemoryStore(subs []Subscriber, sealer *Sealer) (*MemoryStore, error) {
	m := &MemoryStore{subs: make(map[string]*memSubscriber, len(subs))}
	for i := range subs {
		s := &subs[i]
		if _, dup := m.subs[s.IMSI]; dup {
			return nil, fmt.Errorf("hss: subscriber %s listed twice", s.IMSI)
		}
		m.subs[s.IMSI] = &memSubscriber{rec: Record{Sealed: sealer.Seal(s.IMSI, &s.K, &s.OPc), AMF: s.AMF}, sqn: s.SQN}
	}
	return m, nil
}

// Len is the number of subscribers.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Record implements Store.
func (m *MemoryStore) Record(_ context.Context, imsi string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return Record{}, aka.ErrUnknownSubscriber
	}
	return s.rec, nil
}

// AdvanceSQN implements Store.
func (m *MemoryStore) AdvanceSQN(_ context.Context, imsi string, indBits uint) (Record, aka.SQN, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return Record{}, 0, aka.ErrUnknownSubscriber
	}
	next, err := s.sqn.Next(indBits)
	if err != nil {
		return Record{}, 0, err
	}
	s.sqn = next
	return s.rec, next, nil
}

// ResyncSQN implements Store.
func (m *MemoryStore) ResyncSQN(_ context.Context, imsi string, sqnMS aka.SQN, indBits uint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return aka.ErrUnknownSubscriber
	}
	// The store keeps the last SQN issued. AfterResync is above both what
	// we issued and what the USIM accepted; marking it issued skips one
	// value, which costs nothing and keeps every issued SQN unique.
	next, err := s.sqn.AfterResync(sqnMS, indBits)
	if err != nil {
		return err
	}
	s.sqn = next
	return nil
}

// SQN returns the last SQN issued to imsi (for tests and operations).
func (m *MemoryStore) SQN(imsi string) (aka.SQN, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return 0, false
	}
	return s.sqn, true
}
