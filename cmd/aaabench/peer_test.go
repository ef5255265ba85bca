package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/milenage"
	"github.com/aaa-project/aaa/store/memory"
)

const testRealm = "wlan.mnc001.mcc001.3gppnetwork.org"

// testSubscribers returns n subscribers with distinct keys.
func testSubscribers(n int) []hss.Subscriber {
	r := rand.New(rand.NewPCG(1, 2))
	subs := make([]hss.Subscriber, n)
	for i := range subs {
		s := &subs[i]
		s.IMSI = "0010100000001" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		for j := range s.K {
			s.K[j] = byte(r.Uint32())
			s.OPc[j] = byte(r.Uint32())
		}
		s.AMF = 0x8000
	}
	return subs
}

// newTestEAPServer is aaad's EAP side in process: eap.Server over hss.Local
// over a memory.SubscriberStore holding subs, with aaad's defaults
// (pseudonyms, fast re-authentication, result indications offered).
func newTestEAPServer(t testing.TB, subs []hss.Subscriber, methods ...eap.Type) *eap.Server {
	t.Helper()
	sealer := hss.NewEphemeralSealer()
	st, err := memory.NewSubscriberStore(subs, sealer)
	if err != nil {
		t.Fatal(err)
	}
	local, err := hss.NewLocal(st, hss.LocalConfig{Sealer: sealer, INDBits: aka.DefaultINDBits})
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) == 0 {
		methods = []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}
	}
	s, err := eap.NewServer(eap.ServerConfig{
		Methods:           methods,
		NetworkName:       "WLAN",
		Timeout:           time.Minute,
		ResultIndications: true,
		Pseudonyms:        eap.PseudonymPolicy{Enabled: true, Lifetime: time.Hour},
		FastReauth:        eap.ReauthPolicy{Enabled: true, Lifetime: time.Hour, MaxAge: time.Hour, MaxCount: 16},
	}, local, memory.NewEAPStore(memory.EAPConfig{MaxConversations: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testUSIM(s hss.Subscriber, method eap.Type) *usim {
	return newUSIM(milenage.New(s.K, s.OPc), s.SQN, s.IMSI, method, testRealm)
}

func newTestPeer(method eap.Type) *peer {
	return &peer{method: method, rng: rand.NewChaCha8([32]byte{1})}
}

type outcome struct {
	res    eap.Result
	rounds int
	r      reason
}

// drive runs one conversation of p for u through s, as the RADIUS front end
// would (State echoed), and checks the keys on success as an access point
// checks the MPPE keys.
func drive(t *testing.T, s *eap.Server, p *peer, u *usim, wantReauth, anonymous bool) outcome {
	t.Helper()
	var anon []byte
	if anonymous {
		anon = []byte("anonymous@" + testRealm)
	}
	msg := p.begin(u, wantReauth, anon, nil)
	var state []byte
	buf := make([]byte, 0, 1024)
	out := make([]byte, 0, 1024)
	for rounds := 1; rounds <= maxRounds; rounds++ {
		var res eap.Result
		if err := s.Handle(context.Background(), eap.Peer{}, state, msg, buf, &res); err != nil {
			t.Fatalf("round %d: %v", rounds, err)
		}
		switch res.Outcome {
		case eap.OutcomeContinue:
			state = append(state[:0], res.Conversation[:]...)
			resp, r := p.respond(res.Packet, out)
			if r != reasonNone {
				return outcome{res, rounds, r}
			}
			msg = append(msg[:0], resp...)
		case eap.OutcomeSuccess:
			r := p.success(res.Packet)
			if r == reasonNone {
				if res.MSK != p.keys.MSK {
					r = reasonMPPEMismatch
				} else {
					p.commit()
				}
			}
			return outcome{res, rounds, r}
		case eap.OutcomeFailure:
			r := p.pending
			if r == reasonNone {
				r = reasonAccessReject
			}
			return outcome{res, rounds, r}
		default:
			t.Fatalf("round %d: server discarded the peer's message (%s)", rounds, res.Reason)
		}
	}
	return outcome{r: reasonTooManyRounds}
}

func mustSucceed(t *testing.T, o outcome, rounds int, fast bool) {
	t.Helper()
	if o.r != reasonNone {
		t.Fatalf("conversation failed: %s (server %s %s)", o.r, o.res.Outcome, o.res.Reason)
	}
	if o.rounds != rounds || o.res.FastReauth != fast {
		t.Fatalf("rounds %d fast %v, want %d %v", o.rounds, o.res.FastReauth, rounds, fast)
	}
}

func methods() map[string]eap.Type {
	return map[string]eap.Type{"AKA'": eap.TypeAKAPrime, "AKA": eap.TypeAKA}
}

func TestPeer_FullAuthPseudonymAndFastReauth(t *testing.T) {
	for name, m := range methods() {
		t.Run(name, func(t *testing.T) {
			subs := testSubscribers(1)
			// Only the peer's method: with both, an AKA-only peer Naks
			// EAP-AKA' first (TestPeer_Resynchronisation counts that).
			s := newTestEAPServer(t, subs, m)
			u, p := testUSIM(subs[0], m), newTestPeer(m)

			// Permanent identity: a direct challenge.
			o := drive(t, s, p, u, true, false)
			mustSucceed(t, o, 2, false)
			if string(o.res.Identity) != string(u.permanent) || o.res.Method != m {
				t.Fatalf("keys from %q method %s", o.res.Identity, o.res.Method)
			}
			prefix := map[eap.Type]string{eap.TypeAKAPrime: "7", eap.TypeAKA: "2"}[m]
			if !strings.HasPrefix(string(u.pseudonym), prefix) || !strings.HasSuffix(string(u.pseudonym), "@"+testRealm) || len(u.reauthID) == 0 {
				t.Fatalf("learnt pseudonym %q, re-auth id %q", u.pseudonym, u.reauthID)
			}

			// Fast re-authentications, counter going up, fresh MSKs.
			msks := map[[64]byte]bool{o.res.MSK: true}
			for i := 1; i <= 3; i++ {
				o = drive(t, s, p, u, true, false)
				mustSucceed(t, o, 2, true)
				if msks[o.res.MSK] || u.counter != uint16(i) {
					t.Fatalf("re-auth %d: MSK reused or counter %d", i, u.counter)
				}
				msks[o.res.MSK] = true
			}

			// Not asked to re-authenticate: the pseudonym, a full
			// authentication in 2 rounds.
			pseudonym := string(u.pseudonym)
			o = drive(t, s, p, u, false, false)
			mustSucceed(t, o, 2, false)
			if string(o.res.Identity) != pseudonym || o.res.IMSI != subs[0].IMSI {
				t.Fatalf("keys from %q (IMSI %s), want the pseudonym", o.res.Identity, o.res.IMSI)
			}
			if string(u.pseudonym) == pseudonym {
				t.Fatal("the pseudonym was not replaced by the next one")
			}
		})
	}
}

func TestPeer_AnonymousIdentity(t *testing.T) {
	for name, m := range methods() {
		t.Run(name, func(t *testing.T) {
			subs := testSubscribers(1)
			s := newTestEAPServer(t, subs, m)
			u, p := testUSIM(subs[0], m), newTestPeer(m)
			// anonymous@realm, then AT_ANY_ID_REQ answered with the
			// permanent identity.
			o := drive(t, s, p, u, false, true)
			mustSucceed(t, o, 3, false)
			if string(o.res.Identity) != string(u.permanent) {
				t.Fatalf("keys from %q", o.res.Identity)
			}
			// AT_ANY_ID_REQ answered with the re-authentication identity.
			o = drive(t, s, p, u, true, true)
			mustSucceed(t, o, 3, true)
			// And with the pseudonym.
			pseudonym := string(u.pseudonym)
			o = drive(t, s, p, u, false, true)
			mustSucceed(t, o, 3, false)
			if string(o.res.Identity) != pseudonym {
				t.Fatalf("keys from %q, want the pseudonym", o.res.Identity)
			}
		})
	}
}

// An AKA-only peer Naks the AKA' request the server starts an anonymous
// conversation with, and the server switches.
func TestPeer_NakToAKA(t *testing.T) {
	subs := testSubscribers(1)
	s := newTestEAPServer(t, subs, eap.TypeAKAPrime, eap.TypeAKA)
	u, p := testUSIM(subs[0], eap.TypeAKA), newTestPeer(eap.TypeAKA)
	o := drive(t, s, p, u, false, true)
	mustSucceed(t, o, 4, false)
	if o.res.Method != eap.TypeAKA {
		t.Fatalf("method %s", o.res.Method)
	}
}

// A USIM ahead of the HSS answers Synchronization-Failure with an AUTS the
// HSS verifies; the next challenge is fresh.
func TestPeer_Resynchronisation(t *testing.T) {
	for name, m := range methods() {
		t.Run(name, func(t *testing.T) {
			subs := testSubscribers(1)
			s := newTestEAPServer(t, subs)
			u, p := testUSIM(subs[0], m), newTestPeer(m)
			u.sqnMS = aka.MakeSQN(5000, 3, aka.DefaultINDBits)
			// The server prefers EAP-AKA' and proposes it even for an
			// EAP-AKA identity: the AKA-only peer Naks once more.
			nak := 0
			if m == eap.TypeAKA {
				nak = 1
			}
			o := drive(t, s, p, u, false, false)
			mustSucceed(t, o, 3+nak, false)
			if !o.res.Resynced || p.syncFails != 1 {
				t.Fatalf("resynced %v, peer sync failures %d", o.res.Resynced, p.syncFails)
			}
			if u.sqnMS.SEQ(aka.DefaultINDBits) <= 5000 {
				t.Fatalf("SQN_MS %d not past the USIM's", u.sqnMS)
			}
			o = drive(t, s, p, u, false, false)
			mustSucceed(t, o, 2+nak, false)
		})
	}
}

// A wrong K on either side: the AUTN does not verify, the USIM refuses.
func TestPeer_WrongKey(t *testing.T) {
	subs := testSubscribers(1)
	s := newTestEAPServer(t, subs)
	wrong := subs[0]
	wrong.K[0] ^= 1
	u, p := testUSIM(wrong, eap.TypeAKAPrime), newTestPeer(eap.TypeAKAPrime)
	o := drive(t, s, p, u, false, false)
	if o.r != reasonAUTNMAC || o.res.Outcome != eap.OutcomeFailure || o.res.Reason != eap.ReasonAuthenticationReject {
		t.Fatalf("got %s (server %s %s), want autn_mac and an EAP-Failure", o.r, o.res.Outcome, o.res.Reason)
	}
}

// Identities the server does not know: the peer falls back as asked.
func TestPeer_UnknownTemporaryIdentities(t *testing.T) {
	subs := testSubscribers(1)
	s := newTestEAPServer(t, subs)
	u, p := testUSIM(subs[0], eap.TypeAKAPrime), newTestPeer(eap.TypeAKAPrime)
	mustSucceed(t, drive(t, s, p, u, false, false), 2, false)

	// Unknown re-authentication identity: AT_FULLAUTH_ID_REQ, then the
	// pseudonym.
	u.reauthID = append(u.reauthID[:0], "8unknownunknownu@"+testRealm...)
	mustSucceed(t, drive(t, s, p, u, true, false), 3, false)

	// Unknown pseudonym: AT_PERMANENT_ID_REQ, then the IMSI.
	u.pseudonym = append(u.pseudonym[:0], "7unknownunknownu@"+testRealm...)
	o := drive(t, s, p, u, false, false)
	mustSucceed(t, o, 3, false)
	if string(o.res.Identity) != string(u.permanent) {
		t.Fatalf("keys from %q", o.res.Identity)
	}
}

// The peer's checks fail when the server's messages are not right.
func TestPeer_DetectsBadServerMessages(t *testing.T) {
	subs := testSubscribers(1)
	s := newTestEAPServer(t, subs)
	u, p := testUSIM(subs[0], eap.TypeAKAPrime), newTestPeer(eap.TypeAKAPrime)
	msg := p.begin(u, false, nil, nil)
	var res eap.Result
	if err := s.Handle(context.Background(), eap.Peer{}, nil, msg, nil, &res); err != nil || res.Outcome != eap.OutcomeContinue {
		t.Fatalf("%v %s", err, res.Outcome)
	}
	for _, tc := range []struct {
		name   string
		spoil  func(b []byte)
		reason reason
	}{
		{"AT_MAC", func(b []byte) { b[len(b)-1] ^= 1 }, reasonServerMAC},
		{"not a request", func(b []byte) { b[0] = byte(eap.CodeResponse) }, reasonUnexpected},
		{"truncated", func(b []byte) { b[3]-- }, reasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u2, p2 := testUSIM(subs[0], eap.TypeAKAPrime), newTestPeer(eap.TypeAKAPrime)
			p2.begin(u2, false, nil, nil)
			b := append([]byte(nil), res.Packet...)
			tc.spoil(b)
			_, r := p2.respond(b, nil)
			if r == reasonNone {
				r = p2.pending
			}
			if r != tc.reason {
				t.Fatalf("got %s, want %s", r, tc.reason)
			}
		})
	}
}

func TestPeer_EAPSuccessOnlyAfterAuthentication(t *testing.T) {
	subs := testSubscribers(1)
	u, p := testUSIM(subs[0], eap.TypeAKAPrime), newTestPeer(eap.TypeAKAPrime)
	p.begin(u, false, nil, nil)
	if r := p.success(eap.AppendSuccess(nil, 0)); r != reasonUnexpected {
		t.Fatalf("EAP-Success before any challenge: %s, want unexpected_message", r)
	}
}
