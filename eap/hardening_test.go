package eap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
)

// challengeFor starts a conversation for the permanent identity through
// peer and returns its state and the challenge's EAP Identifier.
func challengeFor(t *testing.T, s *Server, from Peer) (ConversationID, uint8) {
	t.Helper()
	var res Result
	msg := AppendResponse(nil, 1, TypeIdentity, []byte("6"+testIMSI+realm))
	if err := s.Handle(context.Background(), from, nil, msg, nil, &res); err != nil || res.Outcome != OutcomeContinue {
		t.Fatalf("start: %v %s (%s)", err, res.Outcome, res.Reason)
	}
	return res.Conversation, res.Packet[1]
}

// akaResponse is an EAP-Response of type t and subtype st with raw
// attributes.
func akaResponse(id uint8, t Type, st Subtype, attrs ...byte) []byte {
	return AppendResponse(nil, id, t, append([]byte{byte(st), 0, 0}, attrs...))
}

// RFC 4187 6.3.2 and 8.1: a malformed response, or one the server did not
// ask for, gets AKA-Notification "General failure"; EAP-Failure follows the
// peer's acknowledgement. Client-Error and Authentication-Reject end at
// once.
func TestServer_MalformedOrUnexpectedGetsNotification(t *testing.T) {
	for _, tc := range []struct {
		name   string
		msg    func(id uint8) []byte
		reason Reason
	}{
		{"RES of 24 bits", func(id uint8) []byte {
			return akaResponse(id, TypeAKAPrime, SubtypeChallenge, byte(AttrRES), 2, 0, 24, 1, 2, 3, 0)
		}, ReasonMalformed},
		{"unknown non-skippable attribute", func(id uint8) []byte {
			return akaResponse(id, TypeAKAPrime, SubtypeChallenge, 99, 1, 0, 0)
		}, ReasonMalformed},
		{"unknown subtype", func(id uint8) []byte {
			return akaResponse(id, TypeAKAPrime, 99)
		}, ReasonUnexpected},
		{"AKA-Identity when a challenge response was due", func(id uint8) []byte {
			return akaResponse(id, TypeAKAPrime, SubtypeIdentity, byte(AttrIdentity), 2, 0, 4, 'a', 'b', 'c', 'd')
		}, ReasonUnexpected},
		{"AT_IDENTITY length past the attribute", func(id uint8) []byte {
			return akaResponse(id, TypeAKAPrime, SubtypeIdentity, byte(AttrIdentity), 2, 0, 200, 'a', 'b', 'c', 'd')
		}, ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, store, _ := newTestServer(t, TypeAKAPrime)
			ctx := context.Background()
			state, id := challengeFor(t, s, testPeer)
			var res Result
			if err := s.Handle(ctx, testPeer, state[:], tc.msg(id), nil, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != OutcomeContinue {
				t.Fatalf("outcome %s (%s), want an AKA-Notification", res.Outcome, res.Reason)
			}
			n, err := ParseAKA(res.Packet)
			if err != nil || n.Subtype != SubtypeNotification || n.Attrs.Notification != notificationGeneralFailure || n.Attrs.Has(AttrMAC) {
				t.Fatalf("answer %x: want AKA-Notification General failure (16384) without AT_MAC (%v)", res.Packet, err)
			}
			ack := akaResponse(n.Packet.Identifier, TypeAKAPrime, SubtypeNotification)
			if err := s.Handle(ctx, testPeer, state[:], ack, nil, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != OutcomeFailure || res.Reason != tc.reason {
				t.Fatalf("after the acknowledgement: %s (%s), want failure %s", res.Outcome, res.Reason, tc.reason)
			}
			if pkt, _ := ParsePacket(res.Packet); pkt.Code != CodeFailure || pkt.Identifier != n.Packet.Identifier {
				t.Fatalf("final packet %x: want EAP-Failure with the notification's Identifier", res.Packet)
			}
			if store.Len() != 0 {
				t.Error("conversation kept")
			}
		})
	}
	t.Run("anything but the acknowledgement of a notification fails at once", func(t *testing.T) {
		s, _, _, _ := newTestServer(t, TypeAKAPrime)
		ctx := context.Background()
		state, id := challengeFor(t, s, testPeer)
		var res Result
		s.Handle(ctx, testPeer, state[:], akaResponse(id, TypeAKAPrime, 99), nil, &res)
		s.Handle(ctx, testPeer, state[:], akaResponse(res.Packet[1], TypeAKAPrime, SubtypeChallenge, 99, 1, 0, 0), nil, &res)
		if res.Outcome != OutcomeFailure || res.Reason != ReasonMalformed {
			t.Fatalf("%s (%s), want failure malformed", res.Outcome, res.Reason)
		}
	})
	for _, st := range []Subtype{SubtypeClientError, SubtypeAuthenticationReject} {
		t.Run(st.String()+" in the identity state fails at once", func(t *testing.T) {
			s, _, _, _ := newTestServer(t, TypeAKAPrime)
			ctx := context.Background()
			var res Result
			s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, []byte("anonymous"+realm)), nil, &res)
			state := res.Conversation
			var attrs []byte
			if st == SubtypeClientError {
				attrs = []byte{byte(AttrClientErrorCode), 1, 0, 0}
			}
			s.Handle(ctx, testPeer, state[:], akaResponse(res.Packet[1], TypeAKAPrime, st, attrs...), nil, &res)
			if res.Outcome != OutcomeFailure {
				t.Fatalf("%s (%s), want failure", res.Outcome, res.Reason)
			}
		})
	}
}

// faultyStore fails every conversation write while down is set.
type faultyStore struct {
	*MemoryStore
	down atomic.Bool
}

var errStoreDown = errors.New("store down")

func (f *faultyStore) Put(ctx context.Context, c *Conversation) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.MemoryStore.Put(ctx, c)
}

// A store fault once the peer has proven itself is an error: no answer, so
// the access point retries; never an EAP-Failure for a genuine peer. The
// same for the failure notification path: a fault is never a rejection.
func TestServer_StoreFaultIsNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*peer)
	}{
		{"success notification", func(p *peer) { p.resultInd = true }},
		{"failure notification", func(p *peer) { p.badRES = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
			st := &faultyStore{MemoryStore: NewMemoryStore(MemoryStoreConfig{MaxConversations: 10, Now: clock.now})}
			s, err := NewServer(ServerConfig{Methods: []Type{TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now, ResultIndications: true}, &testHSS{amf: 0x8000}, st)
			if err != nil {
				t.Fatal(err)
			}
			p := newPeer(t, TypeAKAPrime)
			tc.set(p)
			ctx := context.Background()
			var res Result
			s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, []byte(p.identity)), nil, &res)
			state := res.Conversation
			answer := p.respond(res.Packet)
			st.down.Store(true)
			err = s.Handle(ctx, testPeer, state[:], answer, nil, &res)
			if !errors.Is(err, errStoreDown) || res.Outcome == OutcomeFailure || res.Outcome == OutcomeSuccess {
				t.Fatalf("store down: err %v, outcome %s (%s); want the store error and no answer", err, res.Outcome, res.Reason)
			}
			// The retransmission once the store is back gets the answer.
			st.down.Store(false)
			if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != OutcomeContinue {
				t.Fatalf("store back: err %v, outcome %s (%s)", err, res.Outcome, res.Reason)
			}
		})
	}
}

// A conversation continues only through the access point that opened it.
func TestServer_ConversationBoundToPeer(t *testing.T) {
	s, _, store, _ := newTestServer(t, TypeAKAPrime)
	ctx := context.Background()
	var res Result
	p := newPeer(t, TypeAKAPrime)
	s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, []byte(p.identity)), nil, &res)
	state := res.Conversation
	answer := p.respond(res.Packet)

	other := Peer{Name: "other"}
	clientError := akaResponse(res.Packet[1], TypeAKAPrime, SubtypeClientError, byte(AttrClientErrorCode), 1, 0, 0)
	for _, msg := range [][]byte{clientError, answer} {
		if err := s.Handle(ctx, other, state[:], msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != OutcomeFailure || res.Reason != ReasonPeerMismatch || res.MSK != ([64]byte{}) {
			t.Fatalf("through another client: %s (%s), want failure wrong_client", res.Outcome, res.Reason)
		}
		if store.Len() != 1 {
			t.Fatal("the other client's packet ended the conversation")
		}
	}
	if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != OutcomeSuccess {
		t.Fatalf("through its own client: %v %s (%s)", err, res.Outcome, res.Reason)
	}
}

// One access point that floods fills its own share; the others still get
// in.
func TestServer_PeerShare(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	st := NewMemoryStore(MemoryStoreConfig{MaxConversations: 100, Now: clock.now})
	s, err := NewServer(ServerConfig{Methods: []Type{TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}, &testHSS{amf: 0x8000}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flooder, good := Peer{Name: "flooder", MaxConversations: 50}, Peer{Name: "lab", MaxConversations: 50}
	anon := AppendResponse(nil, 1, TypeIdentity, []byte("anonymous"+realm))
	var res Result
	for i := range 200 {
		s.Handle(ctx, flooder, nil, anon, nil, &res)
		if want := OutcomeContinue; i >= 50 {
			if res.Outcome != OutcomeDiscard || res.Reason != ReasonPeerFull {
				t.Fatalf("flood %d: %s (%s), want discard client_share_full", i, res.Outcome, res.Reason)
			}
		} else if res.Outcome != want {
			t.Fatalf("flood %d: %s (%s)", i, res.Outcome, res.Reason)
		}
	}
	if n := st.PeerLen("flooder"); n != 50 {
		t.Fatalf("flooder holds %d, want its share of 50", n)
	}
	p := newPeer(t, TypeAKAPrime)
	var state []byte
	msg := AppendResponse(nil, 1, TypeIdentity, []byte(p.identity))
	for range 3 {
		if err := s.Handle(ctx, good, state, msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != OutcomeContinue {
			break
		}
		state = append(state[:0], res.Conversation[:]...)
		msg = p.respond(res.Packet)
	}
	if res.Outcome != OutcomeSuccess {
		t.Fatalf("the other client: %s (%s), want success", res.Outcome, res.Reason)
	}
	// Conversations that end give the share back.
	clock.t = clock.t.Add(2 * time.Minute)
	st.Sweep()
	if st.PeerLen("flooder") != 0 || st.Bytes() != 0 {
		t.Fatalf("after expiry: flooder holds %d, %d bytes held", st.PeerLen("flooder"), st.Bytes())
	}
}

// What a conversation holds does not grow with what the peer sends: an
// encrypted-looking identity with no keys to open it is not kept, nor are
// AKA-Identity messages (only the checkcode hash state).
func TestServer_ConversationStaysSmall(t *testing.T) {
	s, _, st, _ := newTestServerWith(t, both(withPseudonyms, withReauth), TypeAKAPrime)
	ctx := context.Background()
	fat := append([]byte{0}, bytes.Repeat([]byte{'x'}, 1000)...)
	var res Result
	// An encrypted-looking identity and no keys to open it: nothing of it
	// is kept, and the permanent identity is asked for at once.
	s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, fat), nil, &res)
	if res.Outcome != OutcomeContinue {
		t.Fatalf("%s (%s)", res.Outcome, res.Reason)
	}
	if m, _ := ParseAKA(res.Packet); !m.Attrs.Has(AttrPermanentIDReq) {
		t.Fatalf("asked with %x, want AT_PERMANENT_ID_REQ", res.Packet)
	}
	state := res.Conversation
	var c Conversation
	if err := st.Get(ctx, state, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Identity) != 0 {
		t.Fatalf("kept %d octets of an identity it cannot use", len(c.Identity))
	}
	// The same again, from an anonymous start, as AT_IDENTITY: the
	// AKA-Identity messages are hashed, not kept.
	s.Handle(ctx, testPeer, nil, AppendResponse(nil, 1, TypeIdentity, []byte("anonymous"+realm)), nil, &res)
	state = res.Conversation
	b := NewBuilder(nil, CodeResponse, res.Packet[1], TypeAKAPrime, SubtypeIdentity)
	b.AddIdentityLike(AttrIdentity, fat)
	msg, _, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Handle(ctx, testPeer, state[:], msg, nil, &res); err != nil || res.Outcome != OutcomeContinue {
		t.Fatalf("fat AT_IDENTITY: %v %s (%s)", err, res.Outcome, res.Reason)
	}
	if m, _ := ParseAKA(res.Packet); !m.Attrs.Has(AttrPermanentIDReq) {
		t.Fatalf("asked with %x, want AT_PERMANENT_ID_REQ", res.Packet)
	}
	if got := st.Bytes(); got > 2*1024 {
		t.Fatalf("two conversations hold %d bytes, want under 1 KiB each", got)
	}
}

func TestMemoryStore_BytesBound(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	one := ConversationSize(&Conversation{Identity: make([]byte, 200)})
	s := NewMemoryStore(MemoryStoreConfig{MaxConversations: 1000, MaxBytes: 3 * one, Now: clock.now})
	for i := range 4 {
		c := Conversation{ID: ConversationID{byte(i)}, Identity: make([]byte, 200), Expires: clock.t.Add(time.Minute)}
		err := s.Put(ctx, &c)
		if i < 3 && err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if i == 3 && !errors.Is(err, ErrStoreFull) {
			t.Fatalf("put past the byte bound: %v, want ErrStoreFull", err)
		}
	}
	// An update that grows a conversation past the bound is refused too.
	var c Conversation
	s.Get(ctx, ConversationID{0}, &c)
	c.Identity = make([]byte, 253)
	if err := s.Put(ctx, &c); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("growing update: %v, want ErrStoreFull", err)
	}
	if s.Bytes() != 3*one {
		t.Fatalf("%d bytes counted, want %d", s.Bytes(), 3*one)
	}
}

// A subscriber can always replace its own pseudonym and re-authentication
// context, however full the store; a new subscriber pushes out the oldest.
func TestMemoryStore_RecordsWhenFull(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewMemoryStore(MemoryStoreConfig{MaxConversations: 1, MaxRecords: 3, Now: clock.now})
	exp := clock.t.Add(time.Hour)
	for i := range 3 {
		imsi := fmt.Sprintf("00101000000000%d", i)
		if err := s.PutPseudonym(ctx, "p"+imsi, PseudonymRecord{IMSI: imsi, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutReauth(ctx, "r"+imsi, &ReauthRecord{IMSI: imsi, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	// Replacement, full.
	for i := range 100 {
		name := fmt.Sprintf("new%d", i)
		if err := s.PutPseudonym(ctx, name, PseudonymRecord{IMSI: "001010000000001", Expires: exp}); err != nil {
			t.Fatalf("replacing one's own pseudonym when full: %v", err)
		}
		if err := s.PutReauth(ctx, name, &ReauthRecord{IMSI: "001010000000001", Expires: exp}); err != nil {
			t.Fatalf("replacing one's own re-auth context when full: %v", err)
		}
	}
	if _, err := s.GetPseudonym(ctx, "new99"); err != nil {
		t.Fatal("the replacement is not there")
	}
	if _, err := s.GetPseudonym(ctx, "p001010000000000"); err != nil {
		t.Fatal("a replacement pushed out another subscriber's pseudonym")
	}
	// A new subscriber: the oldest record goes.
	if err := s.PutPseudonym(ctx, "p9", PseudonymRecord{IMSI: "001010000000009", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReauth(ctx, "r9", &ReauthRecord{IMSI: "001010000000009", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPseudonym(ctx, "p001010000000000"); !errors.Is(err, ErrRecordNotFound) {
		t.Fatal("the oldest pseudonym was not pushed out")
	}
	var r ReauthRecord
	if err := s.TakeReauth(ctx, "r001010000000000", &r); !errors.Is(err, ErrRecordNotFound) {
		t.Fatal("the oldest re-auth context was not pushed out")
	}
	if p, r := s.Records(); p != 3 || r != 3 {
		t.Fatalf("%d pseudonyms, %d re-auth contexts, want 3 each", p, r)
	}
	if n := len(s.pseudonymOrder.names) - s.pseudonymOrder.head; n > 2*3+64+1 {
		t.Fatalf("pseudonym order queue holds %d names for 3 records", n)
	}
}

// A vector source that refuses for the subscriber's rate gets no answer,
// not a rejection.
func TestServer_VectorRateIsDiscard(t *testing.T) {
	s, h, store, _ := newTestServer(t, TypeAKAPrime)
	h.fail = aka.ErrVectorRate
	var res Result
	msg := AppendResponse(nil, 1, TypeIdentity, []byte("6"+testIMSI+realm))
	if err := s.Handle(context.Background(), testPeer, nil, msg, nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDiscard || res.Reason != ReasonVectorRate || store.Len() != 0 {
		t.Fatalf("%s (%s), %d held; want discard vector_rate", res.Outcome, res.Reason, store.Len())
	}
}

// Refusals for a full count must not move the byte count: every Put that
// reserves room gives back exactly what it took.
func TestMemoryStore_RefusalsKeepTheByteCount(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewMemoryStore(MemoryStoreConfig{MaxConversations: 2, Now: clock.now})
	for i := range 2 {
		if err := s.Put(ctx, &Conversation{ID: ConversationID{byte(i)}, Expires: clock.t.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	want := s.Bytes()
	for i := range 100 {
		if err := s.Put(ctx, &Conversation{ID: ConversationID{byte(10 + i)}, Expires: clock.t.Add(time.Minute)}); !errors.Is(err, ErrStoreFull) {
			t.Fatalf("put %d past the bound: %v", i, err)
		}
	}
	if got := s.Bytes(); got != want {
		t.Fatalf("%d bytes counted after refusals, want %d", got, want)
	}
	// And room made by expiry is counted when it is taken.
	clock.t = clock.t.Add(2 * time.Minute)
	s.Sweep()
	c := Conversation{ID: ConversationID{99}, Expires: clock.t.Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if got := s.Bytes(); got != ConversationSize(&c) {
		t.Fatalf("%d bytes counted for one conversation of %d", got, ConversationSize(&c))
	}
}

// A stale EAP-AKA re-authentication identity (its context gone) from a peer
// that does both methods: the full authentication that follows is offered
// as EAP-AKA', not EAP-AKA with AT_BIDDING D=1, which the peer would refuse.
func TestServer_StaleAKAReauthIDGetsAKAPrime(t *testing.T) {
	s, _, _, _ := newTestServerWith(t, both(withPseudonyms, withReauth), TypeAKAPrime, TypeAKA)
	p := newPeer(t, 0)
	p.identity = "4staleReauthIdentity" + realm
	p.permanent = "0" + testIMSI + realm
	res, _ := run(t, s, p)
	if res.Outcome != OutcomeSuccess || res.Method != TypeAKAPrime || p.biddingDown {
		t.Fatalf("%s (%s) method %s, bidding down seen %v; want success with EAP-AKA'", res.Outcome, res.Reason, res.Method, p.biddingDown)
	}
}
