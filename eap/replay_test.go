package eap_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/store/memory"
)

// A retransmitted response gets the answer its first copy got, read back
// from the conversation: the same request, and no second vector.
func TestReplay_RetransmittedResponse(t *testing.T) {
	s, hss, _, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	ctx := context.Background()
	var res eap.Result
	buf := make([]byte, 0, 1024)
	if err := s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte("anonymous"+realm)), buf, &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("identity: %v %s", err, res.Outcome)
	}
	state := res.Conversation
	idResp := p.respond(res.Packet) // AKA-Identity with the permanent identity
	if err := s.Handle(ctx, testPeer, state[:], idResp, buf, &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("AKA-Identity: %v %s", err, res.Outcome)
	}
	challenge := bytes.Clone(res.Packet)
	if err := s.Handle(ctx, testPeer, state[:], idResp, make([]byte, 0, 1024), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != eap.OutcomeContinue || !res.Replayed || !bytes.Equal(res.Packet, challenge) || res.Conversation != state {
		t.Fatalf("retransmission: %s replayed=%v, same challenge %v", res.Outcome, res.Replayed, bytes.Equal(res.Packet, challenge))
	}
	if hss.vectors != 1 {
		t.Fatalf("%d vectors, want 1", hss.vectors)
	}
	if err := s.Handle(ctx, testPeer, state[:], p.respond(challenge), buf, &res); err != nil || res.Outcome != eap.OutcomeSuccess || res.Replayed {
		t.Fatalf("challenge response: %v %s (%s) replayed=%v", err, res.Outcome, res.Reason, res.Replayed)
	}
}

// keepingStore is a memory.EAPStore that keeps finished conversations, as a
// store shared between nodes does.
type keepingStore struct{ *memory.EAPStore }

func (s keepingStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	if c.Version == 0 {
		return nil
	}
	done := *c
	if err := s.EAPStore.Put(ctx, &done); err != nil {
		return err
	}
	return nil
}

// nodeView is one node's view of a shared store: it reads back the copy
// it wrote last, as the Redis store's cache does.
type nodeView struct {
	keepingStore
	mu   sync.Mutex
	last map[eap.ConversationID]eap.Conversation
}

func (n *nodeView) Get(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	n.mu.Lock()
	cp, ok := n.last[id]
	n.mu.Unlock()
	if !ok {
		return n.keepingStore.Get(ctx, id, c)
	}
	*c = cp
	c.Cached = true
	return nil
}

func (n *nodeView) GetFresh(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	return n.keepingStore.Get(ctx, id, c)
}

func (n *nodeView) Put(ctx context.Context, c *eap.Conversation) error {
	err := n.keepingStore.Put(ctx, c)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		delete(n.last, c.ID)
		return err
	}
	cp := *c
	cp.Reply = bytes.Clone(c.Reply)
	n.last[c.ID] = cp
	return nil
}

func (n *nodeView) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	n.mu.Lock()
	delete(n.last, c.ID)
	n.mu.Unlock()
	return n.keepingStore.Finish(ctx, c, h)
}

// Node A sent the challenge; node B got the response and answered
// EAP-Success. The response's retransmission reaches A, whose cached copy
// is behind: A reads the conversation again and answers as B did, with
// the same keys, instead of discarding it or authenticating twice.
func TestReplay_RetransmissionReachesAnotherNode(t *testing.T) {
	shared := keepingStore{memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100})}
	hss := &testHSS{amf: 0x8000}
	cfg := eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: 60e9}
	a, err := eap.NewServer(cfg, hss, &nodeView{keepingStore: shared, last: map[eap.ConversationID]eap.Conversation{}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := eap.NewServer(cfg, hss, &nodeView{keepingStore: shared, last: map[eap.ConversationID]eap.Conversation{}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, eap.TypeAKAPrime)
	ctx := context.Background()
	var res eap.Result
	if err := a.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte(p.identity)), make([]byte, 0, 1024), &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("identity at A: %v %s", err, res.Outcome)
	}
	state := res.Conversation
	resp := p.respond(res.Packet)
	var first eap.Result
	if err := b.Handle(ctx, testPeer, state[:], resp, make([]byte, 0, 1024), &first); err != nil || first.Outcome != eap.OutcomeSuccess {
		t.Fatalf("response at B: %v %s (%s)", err, first.Outcome, first.Reason)
	}
	var again eap.Result
	if err := a.Handle(ctx, testPeer, state[:], resp, make([]byte, 0, 1024), &again); err != nil {
		t.Fatal(err)
	}
	if again.Outcome != eap.OutcomeSuccess || !again.Replayed || again.MSK != first.MSK || !bytes.Equal(again.Packet, first.Packet) {
		t.Fatalf("retransmission at A: %s (%s) replayed=%v same MSK %v", again.Outcome, again.Reason, again.Replayed, again.MSK == first.MSK)
	}
	if hss.vectors != 1 {
		t.Fatalf("%d vectors, want 1", hss.vectors)
	}
}

// staleStore serves the first copy it ever read of each conversation: what
// a second packet sees when it is read before the first packet's write.
type staleStore struct {
	*memory.EAPStore
	seen map[eap.ConversationID]eap.Conversation
}

func (s *staleStore) Get(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	if old, ok := s.seen[id]; ok {
		*c = old
		return nil
	}
	if err := s.EAPStore.Get(ctx, id, c); err != nil {
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
	mem := memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100, Now: clock.now})
	st := &staleStore{EAPStore: mem, seen: map[eap.ConversationID]eap.Conversation{}}
	s, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}, &testHSS{amf: 0x8000}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var res eap.Result
	s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm)), nil, &res)
	id := res.Conversation
	p := newPeer(t, eap.TypeAKAPrime)
	answer := p.respond(res.Packet)

	s.Handle(ctx, testPeer, id[:], answer, nil, &res)
	if res.Outcome != eap.OutcomeSuccess {
		t.Fatalf("first: %s (%s)", res.Outcome, res.Reason)
	}
	// A second copy of the answer, read before the first was processed.
	s.Handle(ctx, testPeer, id[:], answer, nil, &res)
	if res.Outcome != eap.OutcomeDiscard || res.Reason != eap.ReasonConflict {
		t.Fatalf("second: %s (%s), want discard conversation_conflict", res.Outcome, res.Reason)
	}
	// A bad answer on the stale copy would notify and store: it must not
	// bring the conversation back.
	bad := append([]byte(nil), answer...)
	bad[len(bad)-1] ^= 1
	s.Handle(ctx, testPeer, id[:], bad, nil, &res)
	if res.Outcome != eap.OutcomeDiscard || mem.Len() != 0 {
		t.Fatalf("stale failure: %s (%s), %d conversations held", res.Outcome, res.Reason, mem.Len())
	}
}
