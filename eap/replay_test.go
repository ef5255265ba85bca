package eap

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// A retransmitted response gets the answer its first copy got, read back
// from the conversation: the same request, and no second vector.
func TestReplay_RetransmittedResponse(t *testing.T) {
	s, hss, _, _ := newTestServer(t, TypeAKAPrime)
	p := newPeer(t, TypeAKAPrime)
	ctx := context.Background()
	var res Result
	buf := make([]byte, 0, 1024)
	if err := s.Handle(ctx, testPeer, nil, AppendResponse(nil, 7, TypeIdentity, []byte("anonymous"+realm)), buf, &res); err != nil || res.Outcome != OutcomeContinue {
		t.Fatalf("identity: %v %s", err, res.Outcome)
	}
	state := res.Conversation
	idResp := p.respond(res.Packet) // AKA-Identity with the permanent identity
	if err := s.Handle(ctx, testPeer, state[:], idResp, buf, &res); err != nil || res.Outcome != OutcomeContinue {
		t.Fatalf("AKA-Identity: %v %s", err, res.Outcome)
	}
	challenge := bytes.Clone(res.Packet)
	if err := s.Handle(ctx, testPeer, state[:], idResp, make([]byte, 0, 1024), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeContinue || !res.Replayed || !bytes.Equal(res.Packet, challenge) || res.Conversation != state {
		t.Fatalf("retransmission: %s replayed=%v, same challenge %v", res.Outcome, res.Replayed, bytes.Equal(res.Packet, challenge))
	}
	if hss.vectors != 1 {
		t.Fatalf("%d vectors, want 1", hss.vectors)
	}
	if err := s.Handle(ctx, testPeer, state[:], p.respond(challenge), buf, &res); err != nil || res.Outcome != OutcomeSuccess || res.Replayed {
		t.Fatalf("challenge response: %v %s (%s) replayed=%v", err, res.Outcome, res.Reason, res.Replayed)
	}
}

// keepingStore is a MemoryStore that keeps finished conversations, as a
// store shared between nodes does.
type keepingStore struct{ *MemoryStore }

func (s keepingStore) Finish(ctx context.Context, c *Conversation, h *Handouts) error {
	if c.Version == 0 {
		return nil
	}
	done := *c
	if err := s.MemoryStore.Put(ctx, &done); err != nil {
		return err
	}
	return nil
}

// nodeView is one node's view of a shared store: it reads back the copy
// it wrote last, as the Redis store's cache does.
type nodeView struct {
	keepingStore
	mu   sync.Mutex
	last map[ConversationID]Conversation
}

func (n *nodeView) Get(ctx context.Context, id ConversationID, c *Conversation) error {
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

func (n *nodeView) GetFresh(ctx context.Context, id ConversationID, c *Conversation) error {
	return n.keepingStore.Get(ctx, id, c)
}

func (n *nodeView) Put(ctx context.Context, c *Conversation) error {
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

func (n *nodeView) Finish(ctx context.Context, c *Conversation, h *Handouts) error {
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
	shared := keepingStore{NewMemoryStore(MemoryStoreConfig{MaxConversations: 100})}
	hss := &testHSS{amf: 0x8000}
	cfg := ServerConfig{Methods: []Type{TypeAKAPrime}, NetworkName: "WLAN", Timeout: 60e9}
	a, err := NewServer(cfg, hss, &nodeView{keepingStore: shared, last: map[ConversationID]Conversation{}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewServer(cfg, hss, &nodeView{keepingStore: shared, last: map[ConversationID]Conversation{}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, TypeAKAPrime)
	ctx := context.Background()
	var res Result
	if err := a.Handle(ctx, testPeer, nil, AppendResponse(nil, 7, TypeIdentity, []byte(p.identity)), make([]byte, 0, 1024), &res); err != nil || res.Outcome != OutcomeContinue {
		t.Fatalf("identity at A: %v %s", err, res.Outcome)
	}
	state := res.Conversation
	resp := p.respond(res.Packet)
	var first Result
	if err := b.Handle(ctx, testPeer, state[:], resp, make([]byte, 0, 1024), &first); err != nil || first.Outcome != OutcomeSuccess {
		t.Fatalf("response at B: %v %s (%s)", err, first.Outcome, first.Reason)
	}
	var again Result
	if err := a.Handle(ctx, testPeer, state[:], resp, make([]byte, 0, 1024), &again); err != nil {
		t.Fatal(err)
	}
	if again.Outcome != OutcomeSuccess || !again.Replayed || again.MSK != first.MSK || !bytes.Equal(again.Packet, first.Packet) {
		t.Fatalf("retransmission at A: %s (%s) replayed=%v same MSK %v", again.Outcome, again.Reason, again.Replayed, again.MSK == first.MSK)
	}
	if hss.vectors != 1 {
		t.Fatalf("%d vectors, want 1", hss.vectors)
	}
}
