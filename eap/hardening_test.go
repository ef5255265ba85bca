package eap_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/store/memory"
)

// challengeFor starts a conversation for the permanent identity through
// peer and returns its state and the challenge's EAP Identifier.
func challengeFor(t *testing.T, s *eap.Server, from eap.Peer) (eap.ConversationID, uint8) {
	t.Helper()
	var res eap.Result
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
	if err := s.Handle(context.Background(), from, nil, msg, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("start: %v %s (%s)", err, res.Outcome, res.Reason)
	}
	return res.Conversation, res.Packet[1]
}

// akaResponse is an EAP-Response of type t and subtype st with raw
// attributes.
func akaResponse(id uint8, t eap.Type, st eap.Subtype, attrs ...byte) []byte {
	return eap.AppendResponse(nil, id, t, append([]byte{byte(st), 0, 0}, attrs...))
}

// RFC 4187 6.3.2 and 8.1: a malformed response, or one the server did not
// ask for, gets AKA-Notification "General failure"; EAP-Failure follows the
// peer's acknowledgement. Client-Error and Authentication-Reject end at
// once.
func TestServer_MalformedOrUnexpectedGetsNotification(t *testing.T) {
	for _, tc := range []struct {
		name   string
		msg    func(id uint8) []byte
		reason eap.Reason
	}{
		{"RES of 24 bits", func(id uint8) []byte {
			return akaResponse(id, eap.TypeAKAPrime, eap.SubtypeChallenge, byte(eap.AttrRES), 2, 0, 24, 1, 2, 3, 0)
		}, eap.ReasonMalformed},
		{"unknown non-skippable attribute", func(id uint8) []byte {
			return akaResponse(id, eap.TypeAKAPrime, eap.SubtypeChallenge, 99, 1, 0, 0)
		}, eap.ReasonMalformed},
		{"unknown subtype", func(id uint8) []byte {
			return akaResponse(id, eap.TypeAKAPrime, 99)
		}, eap.ReasonUnexpected},
		{"AKA-Identity when a challenge response was due", func(id uint8) []byte {
			return akaResponse(id, eap.TypeAKAPrime, eap.SubtypeIdentity, byte(eap.AttrIdentity), 2, 0, 4, 'a', 'b', 'c', 'd')
		}, eap.ReasonUnexpected},
		{"AT_IDENTITY length past the attribute", func(id uint8) []byte {
			return akaResponse(id, eap.TypeAKAPrime, eap.SubtypeIdentity, byte(eap.AttrIdentity), 2, 0, 200, 'a', 'b', 'c', 'd')
		}, eap.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, store, _ := newTestServer(t, eap.TypeAKAPrime)
			ctx := context.Background()
			state, id := challengeFor(t, s, testPeer)
			var res eap.Result
			if err := s.Handle(ctx, testPeer, state[:], tc.msg(id), nil, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != eap.OutcomeContinue {
				t.Fatalf("outcome %s (%s), want an AKA-Notification", res.Outcome, res.Reason)
			}
			n, err := eap.ParseAKA(res.Packet)
			if err != nil || n.Subtype != eap.SubtypeNotification || n.Attrs.Notification != eap.NotificationGeneralFailure || n.Attrs.Has(eap.AttrMAC) {
				t.Fatalf("answer %x: want AKA-Notification General failure (16384) without AT_MAC (%v)", res.Packet, err)
			}
			ack := akaResponse(n.Packet.Identifier, eap.TypeAKAPrime, eap.SubtypeNotification)
			if err := s.Handle(ctx, testPeer, state[:], ack, nil, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != eap.OutcomeFailure || res.Reason != tc.reason {
				t.Fatalf("after the acknowledgement: %s (%s), want failure %s", res.Outcome, res.Reason, tc.reason)
			}
			if pkt, _ := eap.ParsePacket(res.Packet); pkt.Code != eap.CodeFailure || pkt.Identifier != n.Packet.Identifier {
				t.Fatalf("final packet %x: want EAP-Failure with the notification's Identifier", res.Packet)
			}
			if store.Len() != 0 {
				t.Error("conversation kept")
			}
		})
	}
	t.Run("anything but the acknowledgement of a notification fails at once", func(t *testing.T) {
		s, _, _, _ := newTestServer(t, eap.TypeAKAPrime)
		ctx := context.Background()
		state, id := challengeFor(t, s, testPeer)
		var res eap.Result
		s.Handle(ctx, testPeer, state[:], akaResponse(id, eap.TypeAKAPrime, 99), nil, &res)
		s.Handle(ctx, testPeer, state[:], akaResponse(res.Packet[1], eap.TypeAKAPrime, eap.SubtypeChallenge, 99, 1, 0, 0), nil, &res)
		if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonMalformed {
			t.Fatalf("%s (%s), want failure malformed", res.Outcome, res.Reason)
		}
	})
	for _, st := range []eap.Subtype{eap.SubtypeClientError, eap.SubtypeAuthenticationReject} {
		t.Run(st.String()+" in the identity state fails at once", func(t *testing.T) {
			s, _, _, _ := newTestServer(t, eap.TypeAKAPrime)
			ctx := context.Background()
			var res eap.Result
			s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm)), nil, &res)
			state := res.Conversation
			var attrs []byte
			if st == eap.SubtypeClientError {
				attrs = []byte{byte(eap.AttrClientErrorCode), 1, 0, 0}
			}
			s.Handle(ctx, testPeer, state[:], akaResponse(res.Packet[1], eap.TypeAKAPrime, st, attrs...), nil, &res)
			if res.Outcome != eap.OutcomeFailure {
				t.Fatalf("%s (%s), want failure", res.Outcome, res.Reason)
			}
		})
	}
}

// faultyStore fails every conversation write while down is set.
type faultyStore struct {
	*memory.EAPStore
	down atomic.Bool
}

var errStoreDown = errors.New("store down")

func (f *faultyStore) Put(ctx context.Context, c *eap.Conversation) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.EAPStore.Put(ctx, c)
}

func (f *faultyStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.EAPStore.Finish(ctx, c, h)
}

// A store that cannot end the conversation gets no answer from the
// server, not an EAP-Success: the end is what makes an Accept the only
// one. Every copy of the proven response is unanswered while the store is
// down; once it is back, one of them gets EAP-Success.
func TestServer_FinishFaultIsNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*peer)
		want eap.Outcome
	}{
		{"success", func(*peer) {}, eap.OutcomeSuccess},
		{"failure", func(p *peer) { p.badRES = true }, eap.OutcomeFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &faultyStore{EAPStore: memory.NewEAPStore(memory.EAPConfig{MaxConversations: 10})}
			s, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute}, &testHSS{amf: 0x8000}, st)
			if err != nil {
				t.Fatal(err)
			}
			p := newPeer(t, eap.TypeAKAPrime)
			tc.set(p)
			ctx := context.Background()
			var res eap.Result
			s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(p.identity)), nil, &res)
			state := res.Conversation
			answer := p.respond(res.Packet)
			if tc.want == eap.OutcomeFailure {
				// The failure notification first; its acknowledgement
				// ends the conversation.
				if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
					t.Fatalf("notification: %v %s", err, res.Outcome)
				}
				answer = p.respond(res.Packet)
			}
			st.down.Store(true)
			for i := range 3 {
				err := s.Handle(ctx, testPeer, state[:], answer, nil, &res)
				if !errors.Is(err, errStoreDown) || res.Outcome != 0 {
					t.Fatalf("copy %d with the store down: err %v, outcome %s; want the store error and no answer", i, err, res.Outcome)
				}
			}
			st.down.Store(false)
			if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != tc.want {
				t.Fatalf("store back: err %v, outcome %s (%s), want %s", err, res.Outcome, res.Reason, tc.want)
			}
		})
	}
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
			st := &faultyStore{EAPStore: memory.NewEAPStore(memory.EAPConfig{MaxConversations: 10, Now: clock.now})}
			s, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now, ResultIndications: true}, &testHSS{amf: 0x8000}, st)
			if err != nil {
				t.Fatal(err)
			}
			p := newPeer(t, eap.TypeAKAPrime)
			tc.set(p)
			ctx := context.Background()
			var res eap.Result
			s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(p.identity)), nil, &res)
			state := res.Conversation
			answer := p.respond(res.Packet)
			st.down.Store(true)
			err = s.Handle(ctx, testPeer, state[:], answer, nil, &res)
			if !errors.Is(err, errStoreDown) || res.Outcome == eap.OutcomeFailure || res.Outcome == eap.OutcomeSuccess {
				t.Fatalf("store down: err %v, outcome %s (%s); want the store error and no answer", err, res.Outcome, res.Reason)
			}
			// The retransmission once the store is back gets the answer.
			st.down.Store(false)
			if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
				t.Fatalf("store back: err %v, outcome %s (%s)", err, res.Outcome, res.Reason)
			}
		})
	}
}

// A conversation continues only through the access point that opened it.
func TestServer_ConversationBoundToPeer(t *testing.T) {
	s, _, store, _ := newTestServer(t, eap.TypeAKAPrime)
	ctx := context.Background()
	var res eap.Result
	p := newPeer(t, eap.TypeAKAPrime)
	s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(p.identity)), nil, &res)
	state := res.Conversation
	answer := p.respond(res.Packet)

	other := eap.Peer{Name: "other"}
	clientError := akaResponse(res.Packet[1], eap.TypeAKAPrime, eap.SubtypeClientError, byte(eap.AttrClientErrorCode), 1, 0, 0)
	for _, msg := range [][]byte{clientError, answer} {
		if err := s.Handle(ctx, other, state[:], msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonPeerMismatch || res.MSK != ([64]byte{}) {
			t.Fatalf("through another client: %s (%s), want failure wrong_client", res.Outcome, res.Reason)
		}
		if store.Len() != 1 {
			t.Fatal("the other client's packet ended the conversation")
		}
	}
	if err := s.Handle(ctx, testPeer, state[:], answer, nil, &res); err != nil || res.Outcome != eap.OutcomeSuccess {
		t.Fatalf("through its own client: %v %s (%s)", err, res.Outcome, res.Reason)
	}
}

// One access point that floods fills its own share; the others still get
// in.
func TestServer_PeerShare(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	st := memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100, Now: clock.now})
	s, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}, &testHSS{amf: 0x8000}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flooder, good := eap.Peer{Name: "flooder", MaxConversations: 50}, eap.Peer{Name: "lab", MaxConversations: 50}
	anon := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm))
	var res eap.Result
	for i := range 200 {
		s.Handle(ctx, flooder, nil, anon, nil, &res)
		if want := eap.OutcomeContinue; i >= 50 {
			if res.Outcome != eap.OutcomeDiscard || res.Reason != eap.ReasonPeerFull {
				t.Fatalf("flood %d: %s (%s), want discard client_share_full", i, res.Outcome, res.Reason)
			}
		} else if res.Outcome != want {
			t.Fatalf("flood %d: %s (%s)", i, res.Outcome, res.Reason)
		}
	}
	if n := st.PeerLen("flooder"); n != 50 {
		t.Fatalf("flooder holds %d, want its share of 50", n)
	}
	p := newPeer(t, eap.TypeAKAPrime)
	var state []byte
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(p.identity))
	for range 3 {
		if err := s.Handle(ctx, good, state, msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != eap.OutcomeContinue {
			break
		}
		state = append(state[:0], res.Conversation[:]...)
		msg = p.respond(res.Packet)
	}
	if res.Outcome != eap.OutcomeSuccess {
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
	s, _, st, _ := newTestServerWith(t, both(withPseudonyms, withReauth), eap.TypeAKAPrime)
	ctx := context.Background()
	fat := append([]byte{0}, bytes.Repeat([]byte{'x'}, 1000)...)
	var res eap.Result
	// An encrypted-looking identity and no keys to open it: nothing of it
	// is kept, and the permanent identity is asked for at once.
	s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, fat), nil, &res)
	if res.Outcome != eap.OutcomeContinue {
		t.Fatalf("%s (%s)", res.Outcome, res.Reason)
	}
	if m, _ := eap.ParseAKA(res.Packet); !m.Attrs.Has(eap.AttrPermanentIDReq) {
		t.Fatalf("asked with %x, want AT_PERMANENT_ID_REQ", res.Packet)
	}
	state := res.Conversation
	var c eap.Conversation
	if err := st.Get(ctx, state, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Identity) != 0 {
		t.Fatalf("kept %d octets of an identity it cannot use", len(c.Identity))
	}
	// The same again, from an anonymous start, as AT_IDENTITY: the
	// AKA-Identity messages are hashed, not kept.
	s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm)), nil, &res)
	state = res.Conversation
	b := eap.NewBuilder(nil, eap.CodeResponse, res.Packet[1], eap.TypeAKAPrime, eap.SubtypeIdentity)
	b.AddIdentityLike(eap.AttrIdentity, fat)
	msg, _, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Handle(ctx, testPeer, state[:], msg, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("fat AT_IDENTITY: %v %s (%s)", err, res.Outcome, res.Reason)
	}
	if m, _ := eap.ParseAKA(res.Packet); !m.Attrs.Has(eap.AttrPermanentIDReq) {
		t.Fatalf("asked with %x, want AT_PERMANENT_ID_REQ", res.Packet)
	}
	if got := st.Bytes(); got > 2*1024 {
		t.Fatalf("two conversations hold %d bytes, want under 1 KiB each", got)
	}
}

// A vector source that refuses for the subscriber's rate gets no answer,
// not a rejection.
func TestServer_VectorRateIsDiscard(t *testing.T) {
	s, h, store, _ := newTestServer(t, eap.TypeAKAPrime)
	h.fail = aka.ErrVectorRate
	var res eap.Result
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
	if err := s.Handle(context.Background(), testPeer, nil, msg, nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != eap.OutcomeDiscard || res.Reason != eap.ReasonVectorRate || store.Len() != 0 {
		t.Fatalf("%s (%s), %d held; want discard vector_rate", res.Outcome, res.Reason, store.Len())
	}
}

// A stale EAP-AKA re-authentication identity (its context gone) from a peer
// that does both methods: the full authentication that follows is offered
// as EAP-AKA', not EAP-AKA with AT_BIDDING D=1, which the peer would refuse.
func TestServer_StaleAKAReauthIDGetsAKAPrime(t *testing.T) {
	s, _, _, _ := newTestServerWith(t, both(withPseudonyms, withReauth), eap.TypeAKAPrime, eap.TypeAKA)
	p := newPeer(t, 0)
	p.identity = "4staleReauthIdentity" + realm
	p.permanent = "0" + testIMSI + realm
	res, _ := run(t, s, p)
	if res.Outcome != eap.OutcomeSuccess || res.Method != eap.TypeAKAPrime || p.biddingDown {
		t.Fatalf("%s (%s) method %s, bidding down seen %v; want success with EAP-AKA'", res.Outcome, res.Reason, res.Method, p.biddingDown)
	}
}
