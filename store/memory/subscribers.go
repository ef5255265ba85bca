package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
)

// SubscriberStore is an hss.Store in process memory, loaded from the
// subscribers CSV. Its SQNs live only as long as the process: on a restart
// they start again from the file, so a USIM that already saw higher ones
// asks for a resynchronisation (which then skips past them). For SQNs that
// survive restarts and are shared by several nodes, use the Redis store.
type SubscriberStore struct {
	mu   sync.Mutex
	subs map[string]*memSubscriber
}

type memSubscriber struct {
	rec hss.Record
	sqn aka.SQN
}

// NewSubscriberStore returns a store holding subs, their keys sealed by
// sealer as they are loaded (the caller wipes subs). IMSIs must be unique.
func NewSubscriberStore(subs []hss.Subscriber, sealer *hss.Sealer) (*SubscriberStore, error) {
	m := &SubscriberStore{subs: make(map[string]*memSubscriber, len(subs))}
	for i := range subs {
		s := &subs[i]
		if _, dup := m.subs[s.IMSI]; dup {
			return nil, fmt.Errorf("hss: subscriber %s listed twice", s.IMSI)
		}
		m.subs[s.IMSI] = &memSubscriber{rec: hss.Record{Sealed: sealer.Seal(s.IMSI, &s.K, &s.OPc), AMF: s.AMF}, sqn: s.SQN}
	}
	return m, nil
}

// Len is the number of subscribers.
func (m *SubscriberStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Record implements hss.Store.
func (m *SubscriberStore) Record(_ context.Context, imsi string) (hss.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return hss.Record{}, aka.ErrUnknownSubscriber
	}
	return s.rec, nil
}

// AdvanceSQN implements hss.Store.
func (m *SubscriberStore) AdvanceSQN(_ context.Context, imsi string, indBits uint) (hss.Record, aka.SQN, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return hss.Record{}, 0, aka.ErrUnknownSubscriber
	}
	next, err := s.sqn.Next(indBits)
	if err != nil {
		return hss.Record{}, 0, err
	}
	s.sqn = next
	return s.rec, next, nil
}

// ResyncSQN implements hss.Store.
func (m *SubscriberStore) ResyncSQN(_ context.Context, imsi string, sqnMS aka.SQN, indBits uint) error {
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
func (m *SubscriberStore) SQN(imsi string) (aka.SQN, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[imsi]
	if !ok {
		return 0, false
	}
	return s.sqn, true
}

// ReplaceStats is what Replace did: how many subscribers the store holds
// now, how many of them are new, and how many it no longer holds.
type ReplaceStats struct {
	Count, Added, Removed int
}

// Replace makes m hold next's subscribers, as one step under m's lock:
// subscribers new to m are added, those in both take next's keys and AMF,
// those no longer in next are removed. An SQN is never lowered: a
// subscriber in both keeps the higher of m's SQN and next's (SEQ, then
// IND, as aka.SQN orders them), so no SQN is issued twice. next is
// consumed: it must not be used after.
//
// Build next with NewSubscriberStore (which checks it) before calling
// Replace, which cannot fail: a reload checks everything, then applies.
func (m *SubscriberStore) Replace(next *SubscriberStore) ReplaceStats {
	next.mu.Lock()
	subs := next.subs
	next.subs = nil
	next.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := ReplaceStats{Count: len(subs)}
	for imsi, s := range subs {
		if old, ok := m.subs[imsi]; ok {
			s.sqn = max(s.sqn, old.sqn)
		} else {
			st.Added++
		}
	}
	for imsi := range m.subs {
		if _, ok := subs[imsi]; !ok {
			st.Removed++
		}
	}
	m.subs = subs
	return st
}
