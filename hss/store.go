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

// Credentials are what a vector needs from a subscriber record.
type Credentials struct {
	K   milenage.Key
	OPc milenage.OPc
	AMF uint16
}

// Store keeps subscriber records. The SQN operations must be atomic for
// every node that shares the store: that is what guarantees no SQN is ever
// issued twice.
type Store interface {
	// Credentials returns the keys of imsi, or aka.ErrUnknownSubscriber.
	Credentials(ctx context.Context, imsi string) (Credentials, error)
	// AdvanceSQN advances the subscriber's SQN to the next fresh value
	// (aka.SQN.Next) and returns it with the credentials, in one step so
	// that a remote store needs one round trip per vector.
	AdvanceSQN(ctx context.Context, imsi string, indBits uint) (Credentials, aka.SQN, error)
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
	subs map[string]*Subscriber
}

// NewMemoryStore returns a store holding subs. IMSIs must be unique.
func NewMemoryStore(subs []Subscriber) (*MemoryStore, error) {
	m := &MemoryStore{subs: make(map[string]*Subscriber, len(subs))}
	for i := range subs {
		s := subs[i]
		if _, dup := m.subs[s.IMSI]; dup {
			return nil, fmt.Errorf("hss: subscriber %s listed twice", s.IMSI)
		}
		m.subs[s.IMSI] = &s
	}
	return m, nil
}

// Len is the number of subscribers.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Credentials implements Store.
func (m *MemoryStore) Credentials(_ context.Context, imsi string) (Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return Credentials{}, aka.ErrUnknownSubscriber
	}
	return Credentials{K: s.K, OPc: s.OPc, AMF: s.AMF}, nil
}

// AdvanceSQN implements Store.
func (m *MemoryStore) AdvanceSQN(_ context.Context, imsi string, indBits uint) (Credentials, aka.SQN, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return Credentials{}, 0, aka.ErrUnknownSubscriber
	}
	next, err := s.SQN.Next(indBits)
	if err != nil {
		return Credentials{}, 0, err
	}
	s.SQN = next
	return Credentials{K: s.K, OPc: s.OPc, AMF: s.AMF}, next, nil
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
	next, err := s.SQN.AfterResync(sqnMS, indBits)
	if err != nil {
		return err
	}
	s.SQN = next
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
	return s.SQN, true
}
