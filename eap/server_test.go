package eap_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/store/memory"
)

func TestServer_FullAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name    string
		methods []eap.Type
		peer    eap.Type // what the peer speaks; 0: both
		prefix  string
		plain   bool     // HSS hands back CK/IK for AKA': the server derives
		method  eap.Type // what runs
		rounds  int
		vectors int
	}{
		// Identity -> Challenge, Challenge response -> Success: two
		// round trips, not hostapd's three.
		{"AKA' with CK'/IK' from the HSS", []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, eap.TypeAKAPrime, "6", false, eap.TypeAKAPrime, 2, 1},
		{"AKA' with CK/IK from the HSS", []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, eap.TypeAKAPrime, "6", true, eap.TypeAKAPrime, 2, 1},
		// EAP-AKA' is proposed first, the AKA-only peer Naks.
		{"AKA with AKA' also enabled", []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, eap.TypeAKA, "0", false, eap.TypeAKA, 3, 2},
		// A peer that does both, with an EAP-AKA identity, runs EAP-AKA'.
		{"both, EAP-AKA identity", []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, 0, "0", false, eap.TypeAKAPrime, 2, 1},
		{"both, AKA preferred", []eap.Type{eap.TypeAKA, eap.TypeAKAPrime}, 0, "0", false, eap.TypeAKA, 2, 1},
		{"AKA only", []eap.Type{eap.TypeAKA}, eap.TypeAKA, "0", false, eap.TypeAKA, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, store, _ := newTestServer(t, tc.methods...)
			h.plain = tc.plain
			p := newPeer(t, tc.peer)
			p.identity = tc.prefix + testIMSI + realm
			p.permanent = p.identity
			res, rounds := run(t, s, p)
			if res.Outcome != eap.OutcomeSuccess {
				t.Fatalf("outcome %s (%s), want success", res.Outcome, res.Reason)
			}
			if rounds != tc.rounds {
				t.Errorf("%d round trips, want %d", rounds, tc.rounds)
			}
			if res.MSK != p.keys.MSK || res.EMSK != p.keys.EMSK {
				t.Error("server and peer keys differ")
			}
			if res.Method != tc.method || res.IMSI != testIMSI || string(res.Identity) != p.identity {
				t.Errorf("result method %s imsi %q identity %q", res.Method, res.IMSI, res.Identity)
			}
			if tc.method == eap.TypeAKAPrime && p.networkName != "WLAN" {
				t.Errorf("AT_KDF_INPUT %q, want WLAN", p.networkName)
			}
			if store.Len() != 0 {
				t.Errorf("%d conversations kept after success", store.Len())
			}
			if h.vectors != tc.vectors {
				t.Errorf("%d vectors used, want %d", h.vectors, tc.vectors)
			}
		})
	}
}

// RFC 9048 4: an EAP-AKA challenge from a server that supports and prefers
// EAP-AKA' carries AT_BIDDING with the D bit; one that does not, or prefers
// EAP-AKA, carries none.
func TestServer_BiddingOnlyWhenAKAPrimePreferred(t *testing.T) {
	for _, tc := range []struct {
		methods []eap.Type
		want    bool
	}{
		{[]eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, true},
		{[]eap.Type{eap.TypeAKA, eap.TypeAKAPrime}, false},
		{[]eap.Type{eap.TypeAKA}, false},
	} {
		s, _, _, _ := newTestServer(t, tc.methods...)
		var res eap.Result
		ctx := context.Background()
		msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("0"+testIMSI+realm))
		if err := s.Handle(ctx, testPeer, nil, msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if pkt, _ := eap.ParsePacket(res.Packet); pkt.Type != eap.TypeAKA {
			// EAP-AKA' proposed first: Nak it, as an AKA-only peer does.
			nak := eap.AppendResponse(nil, pkt.Identifier, eap.TypeNak, []byte{byte(eap.TypeAKA)})
			id := res.Conversation
			if err := s.Handle(ctx, testPeer, id[:], nak, nil, &res); err != nil {
				t.Fatal(err)
			}
		}
		m, err := eap.ParseAKA(res.Packet)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Attrs.Has(eap.AttrBidding) && m.Attrs.Bidding == 0x8000; got != tc.want {
			t.Errorf("methods %v: AT_BIDDING D set = %v, want %v", tc.methods, got, tc.want)
		}
	}
}

func TestServer_IdentityRound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		identity string
	}{
		{"anonymous NAI", "anonymous" + realm},
		{"no prefix", "310150123456789" + realm},
		{"bad prefix", "9" + testIMSI + realm},
		{"prefix but no IMSI", "6abc" + realm},
		{"empty", ""},
	} {
		for _, method := range []eap.Type{eap.TypeAKAPrime, eap.TypeAKA} {
			t.Run(tc.name+"/"+method.String(), func(t *testing.T) {
				s, _, _, _ := newTestServer(t, method)
				p := newPeer(t, method)
				p.identity = tc.identity
				res, rounds := run(t, s, p)
				if res.Outcome != eap.OutcomeSuccess {
					t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
				}
				if rounds != 3 {
					t.Errorf("%d rounds, want 3", rounds)
				}
				// Keys come from the identity in AT_IDENTITY (RFC 4187 7).
				if string(res.Identity) != p.permanent || res.MSK != p.keys.MSK {
					t.Error("keys not derived from the AT_IDENTITY identity")
				}
			})
		}
	}
}

// The one identity request is AT_PERMANENT_ID_REQ; a peer that does not
// answer it with a permanent identity fails instead of looping.
func TestServer_IdentityRoundWithoutPermanentIdentityFails(t *testing.T) {
	s, h, _, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	p.identity = "anonymous" + realm
	p.permanent = "anonymous" + realm
	res, rounds := run(t, s, p)
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonNoIdentity {
		t.Fatalf("outcome %s (%s), want failure no_usable_identity", res.Outcome, res.Reason)
	}
	if rounds != 2 || h.vectors != 0 {
		t.Errorf("rounds %d vectors %d", rounds, h.vectors)
	}
}

func TestServer_Resync(t *testing.T) {
	s, h, _, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	p.sqnMS = aka.MakeSQN(5000, 7, aka.DefaultINDBits) // the USIM is ahead
	res, rounds := run(t, s, p)
	if res.Outcome != eap.OutcomeSuccess || !res.Resynced {
		t.Fatalf("outcome %s (%s) resynced %v", res.Outcome, res.Reason, res.Resynced)
	}
	if rounds != 3 || p.syncFails != 1 || h.resyncs != 1 || h.vectors != 2 {
		t.Errorf("rounds %d syncFails %d resyncs %d vectors %d", rounds, p.syncFails, h.resyncs, h.vectors)
	}
	if res.MSK != p.keys.MSK {
		t.Error("keys differ after resync")
	}
}

func TestServer_SecondSyncFailureFails(t *testing.T) {
	s, h, _, _ := newTestServer(t, eap.TypeAKA)
	p := newPeer(t, eap.TypeAKA)
	p.alwaysSyncFail = true
	res, _ := run(t, s, p)
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonSyncFailure {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
	if h.resyncs != 1 {
		t.Errorf("%d resyncs, want 1 per conversation", h.resyncs)
	}
}

func TestServer_PeerFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(*peer)
		reason eap.Reason
		rounds int // notification adds a round
	}{
		{"wrong RES", func(p *peer) { p.badRES = true }, eap.ReasonRESMismatch, 3},
		{"wrong AT_MAC", func(p *peer) { p.badMAC = true }, eap.ReasonMACMismatch, 3},
		{"wrong AT_CHECKCODE", func(p *peer) { p.badCheckcode = true }, eap.ReasonCheckcodeMismatch, 3},
		{"Authentication-Reject", func(p *peer) { p.rejectAuth = true }, eap.ReasonAuthenticationReject, 2},
		{"Client-Error", func(p *peer) { p.clientError = true }, eap.ReasonClientError, 2},
		{"KDF negotiation", func(p *peer) { p.kdfOther = true }, eap.ReasonKDFNegotiation, 2},
		{"unknown non-skippable attribute", func(p *peer) { p.unknownNonSkippable = true }, eap.ReasonMalformed, 3},
		{"wrong K", func(p *peer) {
			p.c = testCipherWith("0396eb317b6d1c36f19c1c84cd6ffd16", testOPc)
		}, eap.ReasonAuthenticationReject, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, store, _ := newTestServer(t, eap.TypeAKAPrime)
			p := newPeer(t, eap.TypeAKAPrime)
			tc.set(p)
			res, rounds := run(t, s, p)
			if res.Outcome != eap.OutcomeFailure || res.Reason != tc.reason {
				t.Fatalf("outcome %s (%s), want failure %s", res.Outcome, res.Reason, tc.reason)
			}
			if rounds != tc.rounds {
				t.Errorf("%d rounds, want %d", rounds, tc.rounds)
			}
			if res.MSK != ([64]byte{}) {
				t.Error("keys handed out on failure")
			}
			if store.Len() != 0 {
				t.Error("conversation kept after failure")
			}
		})
	}
}

func TestServer_UnknownSkippableAttributeIgnored(t *testing.T) {
	s, _, _, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	p.unknownSkippable = true
	if res, _ := run(t, s, p); res.Outcome != eap.OutcomeSuccess {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
}

func TestServer_UnknownSubscriber(t *testing.T) {
	s, _, store, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	p.identity = "6001019999999999" + realm
	res, rounds := run(t, s, p)
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonUnknownSubscriber || rounds != 1 {
		t.Fatalf("outcome %s (%s) after %d rounds", res.Outcome, res.Reason, rounds)
	}
	if store.Len() != 0 {
		t.Error("conversation kept")
	}
}

func TestServer_Nak(t *testing.T) {
	t.Run("switches to the peer's method", func(t *testing.T) {
		s, _, _, _ := newTestServer(t, eap.TypeAKAPrime, eap.TypeAKA)
		p := newPeer(t, eap.TypeAKA) // speaks only AKA
		p.identity = "anonymous" + realm
		res, rounds := run(t, s, p)
		if res.Outcome != eap.OutcomeSuccess || res.Method != eap.TypeAKA {
			t.Fatalf("outcome %s (%s) method %s", res.Outcome, res.Reason, res.Method)
		}
		if rounds != 4 { // identity, Nak, AKA-Identity, challenge
			t.Errorf("%d rounds, want 4", rounds)
		}
	})
	t.Run("no common method", func(t *testing.T) {
		s, _, _, _ := newTestServer(t, eap.TypeAKAPrime)
		p := newPeer(t, eap.TypeAKA)
		res, _ := run(t, s, p)
		if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonNoCommonMethod {
			t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
		}
	})
	t.Run("only as the first answer", func(t *testing.T) {
		s, _, _, _ := newTestServer(t, eap.TypeAKAPrime, eap.TypeAKA)
		ctx := context.Background()
		var res eap.Result
		msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm))
		s.Handle(ctx, testPeer, nil, msg, nil, &res)
		state := res.Conversation
		// Answer the AKA'-Identity properly, then Nak the challenge.
		p := newPeer(t, eap.TypeAKAPrime)
		msg = p.respond(res.Packet)
		s.Handle(ctx, testPeer, state[:], msg, nil, &res)
		if res.Outcome != eap.OutcomeContinue {
			t.Fatalf("outcome %s", res.Outcome)
		}
		nak := eap.AppendResponse(nil, res.Packet[1], eap.TypeNak, []byte{byte(eap.TypeAKA)})
		s.Handle(ctx, testPeer, state[:], nak, nil, &res)
		if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonUnexpected {
			t.Fatalf("late Nak: outcome %s (%s)", res.Outcome, res.Reason)
		}
	})
}

func TestServer_Discards(t *testing.T) {
	s, _, store, _ := newTestServer(t, eap.TypeAKAPrime)
	ctx := context.Background()
	var res eap.Result
	start := func() eap.ConversationID {
		msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
		if err := s.Handle(ctx, testPeer, nil, msg, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
			t.Fatalf("start: %v %s", err, res.Outcome)
		}
		return res.Conversation
	}
	id := start()
	challengeID := res.Packet[1]
	for _, tc := range []struct {
		name   string
		state  []byte
		msg    []byte
		reason eap.Reason
	}{
		{"malformed EAP", id[:], []byte{2, 1, 0}, eap.ReasonMalformed},
		{"a request, not a response", id[:], eap.AppendRequest(nil, challengeID, eap.TypeAKAPrime, []byte{1, 0, 0}), eap.ReasonNotResponse},
		{"identifier of another request", id[:], eap.AppendResponse(nil, challengeID+1, eap.TypeAKAPrime, []byte{1, 0, 0}), eap.ReasonIdentifierMismatch},
		{"first message not an identity", nil, eap.AppendResponse(nil, 1, eap.TypeAKAPrime, []byte{1, 0, 0}), eap.ReasonUnexpected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Handle(ctx, testPeer, tc.state, tc.msg, nil, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != eap.OutcomeDiscard || res.Reason != tc.reason {
				t.Fatalf("outcome %s (%s), want discard %s", res.Outcome, res.Reason, tc.reason)
			}
		})
	}
	// Discards leave the conversation as it was.
	if store.Len() != 1 {
		t.Fatalf("%d conversations, want 1", store.Len())
	}
}

func TestServer_UnknownOrExpiredConversationFails(t *testing.T) {
	s, _, store, clock := newTestServer(t, eap.TypeAKAPrime)
	ctx := context.Background()
	var res eap.Result
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
	s.Handle(ctx, testPeer, nil, msg, nil, &res)
	id := res.Conversation
	p := newPeer(t, eap.TypeAKAPrime)
	answer := p.respond(res.Packet)

	clock.t = clock.t.Add(61 * time.Second) // past the 60 s timeout
	s.Handle(ctx, testPeer, id[:], answer, nil, &res)
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonUnknownConversation {
		t.Fatalf("expired: outcome %s (%s)", res.Outcome, res.Reason)
	}
	if store.Len() != 0 {
		t.Error("expired conversation kept")
	}
	s.Handle(ctx, testPeer, []byte("short"), answer, nil, &res)
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonUnknownConversation {
		t.Fatalf("bad state: outcome %s (%s)", res.Outcome, res.Reason)
	}
}

func TestServer_BackendErrorsAreErrors(t *testing.T) {
	s, h, store, _ := newTestServer(t, eap.TypeAKAPrime)
	h.fail = errBackend
	var res eap.Result
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
	err := s.Handle(context.Background(), testPeer, nil, msg, nil, &res)
	if !errors.Is(err, errBackend) {
		t.Fatalf("err = %v, want the backend error", err)
	}
	if store.Len() != 0 {
		t.Error("conversation stored on error")
	}
}

func TestServer_StoreFullDiscards(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	st := memory.NewEAPStore(memory.EAPConfig{MaxConversations: 1, Now: clock.now})
	s, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}, &testHSS{}, st)
	if err != nil {
		t.Fatal(err)
	}
	var res eap.Result
	msg := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm))
	s.Handle(context.Background(), testPeer, nil, msg, nil, &res)
	if res.Outcome != eap.OutcomeContinue {
		t.Fatal(res.Outcome)
	}
	s.Handle(context.Background(), testPeer, nil, msg, nil, &res)
	if res.Outcome != eap.OutcomeDiscard || res.Reason != eap.ReasonStoreFull {
		t.Fatalf("outcome %s (%s), want discard store_full", res.Outcome, res.Reason)
	}
}

func TestNewServer_RejectsBadConfig(t *testing.T) {
	h, st := &testHSS{}, memory.NewEAPStore(memory.EAPConfig{MaxConversations: 1})
	for _, tc := range []struct {
		name string
		cfg  eap.ServerConfig
	}{
		{"no methods", eap.ServerConfig{NetworkName: "WLAN", Timeout: time.Second}},
		{"duplicate", eap.ServerConfig{Methods: []eap.Type{eap.TypeAKA, eap.TypeAKA}, Timeout: time.Second}},
		{"not AKA", eap.ServerConfig{Methods: []eap.Type{eap.TypeIdentity}, Timeout: time.Second}},
		{"AKA' without network name", eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, Timeout: time.Second}},
		{"no timeout", eap.ServerConfig{Methods: []eap.Type{eap.TypeAKA}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := eap.NewServer(tc.cfg, h, st); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestConversation_StringRedacts(t *testing.T) {
	c := &eap.Conversation{}
	c.Keys.MSK[0] = 0xab
	if s := c.String() + c.GoString(); bytes.Contains([]byte(s), []byte("ab")) {
		t.Errorf("%q", s)
	}
}

// BenchmarkFullAKAPrime is one whole EAP-AKA' authentication through the
// state machine in process: identity, challenge (vector, CK'/IK', PRF',
// MAC), response (MAC, RES), success. The peer's work is outside the timer.
func BenchmarkFullAKAPrime(b *testing.B) {
	for _, tc := range []struct {
		name string
		mod  func(*eap.ServerConfig)
	}{
		{"plain", nil},
		{"pseudonym+reauth-id", both(withPseudonyms, withReauth)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, _, _, _ := newTestServerWith(b, tc.mod, eap.TypeAKAPrime)
			ctx := context.Background()
			identity := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+realm))
			buf := make([]byte, 0, 1024)
			var res eap.Result
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Handle(ctx, testPeer, nil, identity, buf, &res); err != nil || res.Outcome != eap.OutcomeContinue {
					b.Fatal(err, res.Outcome)
				}
				id := res.Conversation
				b.StopTimer()
				p := newPeer(b, eap.TypeAKAPrime)
				answer := p.respond(res.Packet)
				b.StartTimer()
				if err := s.Handle(ctx, testPeer, id[:], answer, buf, &res); err != nil || res.Outcome != eap.OutcomeSuccess {
					b.Fatal(err, res.Outcome, res.Reason)
				}
			}
		})
	}
}

// BenchmarkFastReauthAKAPrime is one EAP-AKA' fast re-authentication in
// process: no vector, new MSK from K_re.
func BenchmarkFastReauthAKAPrime(b *testing.B) {
	s, _, _, _ := newTestServerWith(b, withReauth, eap.TypeAKAPrime)
	ctx := context.Background()
	p := newPeer(b, eap.TypeAKAPrime)
	if res, _ := run(b, s, p); res.Outcome != eap.OutcomeSuccess {
		b.Fatal(res.Outcome)
	}
	buf := make([]byte, 0, 1024)
	var res eap.Result
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if p.reauthID == "" { // max_count reached: a new full authentication
			p.startNext()
			if res, _ := run(b, s, p); res.Outcome != eap.OutcomeSuccess {
				b.Fatal(res.Outcome)
			}
		}
		p.startNext()
		identity := eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(p.identity))
		b.StartTimer()
		if err := s.Handle(ctx, testPeer, nil, identity, buf, &res); err != nil || res.Outcome != eap.OutcomeContinue {
			b.Fatal(err, res.Outcome, res.Reason)
		}
		id := res.Conversation
		b.StopTimer()
		answer := p.respond(res.Packet)
		b.StartTimer()
		if err := s.Handle(ctx, testPeer, id[:], answer, buf, &res); err != nil || res.Outcome != eap.OutcomeSuccess || !res.FastReauth {
			b.Fatal(err, res.Outcome, res.Reason)
		}
	}
}
