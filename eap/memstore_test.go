package eap

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryStore_CompareAndSwap(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewMemoryStore(MemoryStoreConfig{MaxConversations: 10, Now: clock.now})
	c := Conversation{ID: ConversationID{1}, Expires: clock.t.Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil || c.Version != 1 {
		t.Fatalf("create: %v, version %d", err, c.Version)
	}
	dup := Conversation{ID: c.ID, Expires: c.Expires}
	if err := s.Put(ctx, &dup); !errors.Is(err, ErrConversationConflict) {
		t.Fatalf("second create of one ID: %v", err)
	}
	var a, b Conversation
	s.Get(ctx, c.ID, &a)
	s.Get(ctx, c.ID, &b)
	if err := s.Put(ctx, &a); err != nil || a.Version != 2 {
		t.Fatalf("update from a: %v, version %d", err, a.Version)
	}
	if err := s.Put(ctx, &b); !errors.Is(err, ErrConversationConflict) {
		t.Fatalf("update from the stale copy b: %v, want a conflict", err)
	}
	if err := s.Finish(ctx, &Conversation{ID: c.ID, Version: b.Version, State: StateDone}, nil); !errors.Is(err, ErrConversationConflict) {
		t.Fatalf("delete from the stale copy: %v", err)
	}
	if err := s.Finish(ctx, &Conversation{ID: c.ID, Version: a.Version, State: StateDone}, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Put(ctx, &a); !errors.Is(err, ErrConversationConflict) {
		t.Fatalf("a deleted conversation came back: %v", err)
	}
	if err := s.Finish(ctx, &Conversation{ID: c.ID, Version: a.Version, State: StateDone}, nil); !errors.Is(err, ErrConversationNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if s.Len() != 0 {
		t.Fatalf("%d held", s.Len())
	}
}

// staleStore serves the first copy it ever read of each conversation: what
// a second packet sees when it is read before the first packet's write.
type staleStore struct {
	*MemoryStore
	seen map[ConversationID]Conversation
}

func (s *staleStore) Get(ctx context.Context, id ConversationID, c *Conversation) error {
	if old, ok := s.seen[id]; ok {
		*c = old
		return nil
	}
	if err := s.MemoryStore.Get(ctx, id, c); err != nil {
		return err
	}
	s.seen[id] = *c
	return nil
}

// Two packets for one conversation read the same state: only the first may
// answer. The second finds the conversation claimed and is discarded, so
// one challenge never yields two Accepts, and a finished conversation is
// not brought back.
func TestServer_OnlyOnePacketActsOnAState(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	mem := NewMemoryStore(MemoryStoreConfig{MaxConversations: 100, Now: clock.now})
	st := &staleStore{MemoryStore: mem, seen: map[ConversationID]Conversation{}}
	s, err := NewServer(ServerConfig{Methods: []Type{TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}, &testHSS{amf: 0x8000}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var res Result
	s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, []byte("6"+testIMSI+realm)), nil, &res)
	id := res.Conversation
	p := newPeer(t, TypeAKAPrime)
	answer := p.respond(res.Packet)

	s.Handle(ctx, testPeer, id[:], answer, nil, &res)
	if res.Outcome != OutcomeSuccess {
		t.Fatalf("first: %s (%s)", res.Outcome, res.Reason)
	}
	// A second copy of the answer, read before the first was processed.
	s.Handle(ctx, testPeer, id[:], answer, nil, &res)
	if res.Outcome != OutcomeDiscard || res.Reason != ReasonConflict {
		t.Fatalf("second: %s (%s), want discard conversation_conflict", res.Outcome, res.Reason)
	}
	// A bad answer on the stale copy would notify and store: it must not
	// bring the conversation back.
	bad := append([]byte(nil), answer...)
	bad[len(bad)-1] ^= 1
	s.Handle(ctx, testPeer, id[:], bad, nil, &res)
	if res.Outcome != OutcomeDiscard || mem.Len() != 0 {
		t.Fatalf("stale failure: %s (%s), %d conversations held", res.Outcome, res.Reason, mem.Len())
	}
}
