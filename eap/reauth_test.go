package eap_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/store/memory"
)

func withPseudonyms(c *eap.ServerConfig) {
	c.Pseudonyms = eap.PseudonymPolicy{Enabled: true, Lifetime: time.Hour}
}

func withReauth(c *eap.ServerConfig) {
	c.FastReauth = eap.ReauthPolicy{Enabled: true, Lifetime: time.Hour, MaxAge: 24 * time.Hour, MaxCount: 16}
}

func withSealed(t testing.TB) func(*eap.ServerConfig) {
	sealed, err := eap.NewSealedPseudonyms([]eap.PseudonymKey{{ID: 2, Key: make([]byte, 16)}, {ID: 1, Key: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *eap.ServerConfig) {
		c.Pseudonyms = eap.PseudonymPolicy{Enabled: true, Lifetime: time.Hour, Sealed: sealed}
	}
}

func both(mods ...func(*eap.ServerConfig)) func(*eap.ServerConfig) {
	return func(c *eap.ServerConfig) {
		for _, m := range mods {
			m(c)
		}
	}
}

func mustSucceed(t *testing.T, res eap.Result, p *peer) {
	t.Helper()
	if res.Outcome != eap.OutcomeSuccess {
		t.Fatalf("outcome %s (%s), want success", res.Outcome, res.Reason)
	}
	if res.MSK != p.keys.MSK || res.EMSK != p.keys.EMSK {
		t.Fatal("server and peer keys differ")
	}
	if res.IMSI != testIMSI {
		t.Fatalf("IMSI %q", res.IMSI)
	}
	if res.NotStored != 0 {
		t.Fatalf("%d identities handed out but not stored", res.NotStored)
	}
}

// refusingStore is a store whose pseudonym and re-authentication records
// are always full.
type refusingStore struct{ *memory.EAPStore }

func (refusingStore) PutPseudonym(context.Context, string, eap.PseudonymRecord) error {
	return eap.ErrStoreFull
}

func (refusingStore) PutReauth(context.Context, string, *eap.ReauthRecord) error {
	return eap.ErrStoreFull
}

func (s refusingStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	if err := s.EAPStore.Finish(ctx, c, nil); err != nil || h == nil {
		return err
	}
	return eap.ErrRecordsNotStored
}

// An identity the store refuses does not fail the authentication it was
// handed out in, but it is counted: the peer will need a fuller one next.
func TestRecords_NotStoredAreCounted(t *testing.T) {
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	cfg := eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}
	both(withPseudonyms, withReauth)(&cfg)
	s, err := eap.NewServer(cfg, &testHSS{amf: 0x8000}, refusingStore{memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100, Now: clock.now})})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, eap.TypeAKAPrime)
	res, _ := run(t, s, p)
	if res.Outcome != eap.OutcomeSuccess || res.MSK != p.keys.MSK {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
	if res.NotStored != 2 {
		t.Fatalf("NotStored %d, want 2 (a pseudonym and a re-auth identity)", res.NotStored)
	}
}

func TestPseudonym_UsedInLaterConversation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*eap.ServerConfig)
	}{
		{"stored", withPseudonyms},
		{"stateless", withSealed(t)},
	} {
		for _, method := range []eap.Type{eap.TypeAKAPrime, eap.TypeAKA} {
			t.Run(tc.name+"/"+method.String(), func(t *testing.T) {
				s, h, _, _ := newTestServerWith(t, tc.mod, method)
				p := newPeer(t, method)
				res, _ := run(t, s, p)
				mustSucceed(t, res, p)
				prefix := "7"
				if method == eap.TypeAKA {
					prefix = "2"
				}
				if !strings.HasPrefix(p.pseudonym, prefix) || !strings.HasSuffix(p.pseudonym, realm) {
					t.Fatalf("pseudonym %q", p.pseudonym)
				}
				// A pseudonym must not reveal the IMSI, not even its MSIN.
				if strings.Contains(p.pseudonym, testIMSI[5:]) {
					t.Fatalf("pseudonym %q reveals the IMSI", p.pseudonym)
				}
				p.startNext()
				if p.identity != p.pseudonym {
					t.Fatalf("peer sent %q, want its pseudonym", p.identity)
				}
				res, rounds := run(t, s, p)
				mustSucceed(t, res, p)
				if rounds != 2 || h.vectors != 2 {
					t.Errorf("rounds %d vectors %d: want a direct challenge for a known pseudonym", rounds, h.vectors)
				}
				if string(res.Identity) != p.identity {
					t.Errorf("keys from %q, want the pseudonym identity", res.Identity)
				}
			})
		}
	}
}

// A pseudonym maps back on every node: here two servers share one store
// (stored pseudonyms) or one key (stateless).
func TestPseudonym_WorksOnAnotherNode(t *testing.T) {
	t.Run("stored, shared store", func(t *testing.T) {
		a, _, store, clock := newTestServerWith(t, withPseudonyms, eap.TypeAKAPrime)
		cfg := eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime}, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}
		withPseudonyms(&cfg)
		b, err := eap.NewServer(cfg, &testHSS{amf: 0x8000, sqn: 1000}, store)
		if err != nil {
			t.Fatal(err)
		}
		p := newPeer(t, eap.TypeAKAPrime)
		res, _ := run(t, a, p)
		mustSucceed(t, res, p)
		p.startNext()
		res, rounds := run(t, b, p)
		mustSucceed(t, res, p)
		if rounds != 2 {
			t.Errorf("%d rounds on the second node", rounds)
		}
	})
	t.Run("stateless, shared key", func(t *testing.T) {
		mod := withSealed(t)
		a, _, _, _ := newTestServerWith(t, mod, eap.TypeAKAPrime)
		b, hb, _, _ := newTestServerWith(t, mod, eap.TypeAKAPrime) // its own empty store
		hb.sqn = 1000                                              // another HSS node, ahead
		p := newPeer(t, eap.TypeAKAPrime)
		res, _ := run(t, a, p)
		mustSucceed(t, res, p)
		p.startNext()
		res, rounds := run(t, b, p)
		mustSucceed(t, res, p)
		if rounds != 2 {
			t.Errorf("%d rounds on the second node", rounds)
		}
	})
}

// An unknown or expired pseudonym gets AT_PERMANENT_ID_REQ (RFC 4187
// 4.1.1.x), then a full authentication.
func TestPseudonym_ExpiredOrUnknownAsksForPermanentIdentity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*eap.ServerConfig)
		spoil func(*peer, *fixedClock)
	}{
		{"stored expired", withPseudonyms, func(_ *peer, c *fixedClock) { c.t = c.t.Add(2 * time.Hour) }},
		{"stateless expired", withSealed(t), func(_ *peer, c *fixedClock) { c.t = c.t.Add(2 * time.Hour) }},
		{"stored unknown", withPseudonyms, func(p *peer, _ *fixedClock) { p.pseudonym = "7unknownpseudonym" + realm }},
		{"stateless forged", withSealed(t), func(p *peer, _ *fixedClock) {
			p.pseudonym = "7AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + realm
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, clock := newTestServerWith(t, tc.mod, eap.TypeAKAPrime)
			p := newPeer(t, eap.TypeAKAPrime)
			res, _ := run(t, s, p)
			mustSucceed(t, res, p)
			tc.spoil(p, clock)
			p.startNext()
			var ids []string
			res, rounds := runWatching(t, s, p, func(m *eap.AKAMessage) {
				if m.Subtype == eap.SubtypeIdentity {
					ids = append(ids, idRequestKind(m))
				}
			})
			mustSucceed(t, res, p)
			if rounds != 3 || len(ids) != 1 || ids[0] != "permanent" {
				t.Errorf("rounds %d, identity requests %v; want one AT_PERMANENT_ID_REQ", rounds, ids)
			}
			if string(res.Identity) != p.permanent {
				t.Errorf("keys from %q", res.Identity)
			}
		})
	}
}

func idRequestKind(m *eap.AKAMessage) string {
	switch {
	case m.Attrs.Has(eap.AttrAnyIDReq):
		return "any"
	case m.Attrs.Has(eap.AttrFullauthIDReq):
		return "fullauth"
	case m.Attrs.Has(eap.AttrPermanentIDReq):
		return "permanent"
	}
	return "none"
}

// runWatching is run with a look at every request the server sends.
func runWatching(t *testing.T, s *eap.Server, p *peer, watch func(*eap.AKAMessage)) (eap.Result, int) {
	t.Helper()
	orig := p.respondHook
	p.respondHook = func(req []byte) {
		if m, err := eap.ParseAKA(req); err == nil {
			watch(&m)
		}
	}
	defer func() { p.respondHook = orig }()
	return run(t, s, p)
}

func TestFastReauth(t *testing.T) {
	for _, method := range []eap.Type{eap.TypeAKAPrime, eap.TypeAKA} {
		t.Run(method.String(), func(t *testing.T) {
			s, h, store, _ := newTestServerWith(t, both(withPseudonyms, withReauth), method)
			p := newPeer(t, method)
			res, _ := run(t, s, p)
			mustSucceed(t, res, p)
			if res.FastReauth || p.reauthID == "" {
				t.Fatalf("full authentication: fast %v, next reauth id %q", res.FastReauth, p.reauthID)
			}
			prefix := "8"
			if method == eap.TypeAKA {
				prefix = "4"
			}
			if !strings.HasPrefix(p.reauthID, prefix) || !strings.HasSuffix(p.reauthID, realm) {
				t.Errorf("re-authentication identity %q", p.reauthID)
			}
			msks := map[[64]byte]bool{res.MSK: true}
			for i := 1; i <= 2; i++ {
				p.startNext()
				res, rounds := run(t, s, p)
				mustSucceed(t, res, p)
				if !res.FastReauth || p.reauths != i || rounds != 2 {
					t.Fatalf("re-auth %d: fast %v peer reauths %d rounds %d", i, res.FastReauth, p.reauths, rounds)
				}
				if msks[res.MSK] {
					t.Fatalf("re-auth %d reused an MSK", i)
				}
				msks[res.MSK] = true
				if p.counter != uint16(i) {
					t.Errorf("counter %d, want %d", p.counter, i)
				}
			}
			if h.vectors != 1 {
				t.Errorf("%d vectors: fast re-authentication must not fetch any", h.vectors)
			}
			if _, reauths := store.Records(); reauths != 1 {
				t.Errorf("%d re-authentication contexts kept, want only the next one", reauths)
			}
		})
	}
}

// A re-authentication identity is single use: replaying one gets a full
// authentication identity request.
func TestFastReauth_IdentityIsSingleUse(t *testing.T) {
	s, _, _, _ := newTestServerWith(t, withReauth, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	res, _ := run(t, s, p)
	mustSucceed(t, res, p)
	used := p.reauthID
	p.startNext()
	res, _ = run(t, s, p)
	mustSucceed(t, res, p)
	var req eap.Result
	if err := s.Handle(context.Background(), testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(used)), nil, &req); err != nil {
		t.Fatal(err)
	}
	m, err := eap.ParseAKA(req.Packet)
	if err != nil || m.Subtype != eap.SubtypeIdentity || idRequestKind(&m) != "fullauth" {
		t.Fatalf("replayed re-authentication identity got %v %v", m.Subtype, err)
	}
}

func TestFastReauth_CounterTooSmallRunsFullAuthentication(t *testing.T) {
	s, h, _, _ := newTestServerWith(t, withReauth, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	res, _ := run(t, s, p)
	mustSucceed(t, res, p)
	p.counterFloor = 5 // the peer has seen higher counters
	p.startNext()
	reauthID := p.identity
	res, rounds := run(t, s, p)
	mustSucceed(t, res, p)
	if res.FastReauth || h.vectors != 2 || rounds != 3 {
		t.Fatalf("fast %v vectors %d rounds %d: want a full authentication after AT_COUNTER_TOO_SMALL", res.FastReauth, h.vectors, rounds)
	}
	// Both sides derive the full-authentication keys from the
	// re-authentication identity the peer sent (hostapd and wpa_supplicant
	// do the same).
	if string(res.Identity) != reauthID {
		t.Errorf("keys from %q, want %q", res.Identity, reauthID)
	}
}

func TestFastReauth_Limits(t *testing.T) {
	t.Run("max count", func(t *testing.T) {
		s, h, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) {
			withReauth(c)
			c.FastReauth.MaxCount = 2
		}, eap.TypeAKAPrime)
		p := newPeer(t, eap.TypeAKAPrime)
		var fast []bool
		for range 5 {
			res, _ := run(t, s, p)
			mustSucceed(t, res, p)
			fast = append(fast, res.FastReauth)
			p.startNext()
		}
		// full, 2 re-auths, then a full one is forced, then re-auth again.
		want := []bool{false, true, true, false, true}
		for i := range want {
			if fast[i] != want[i] {
				t.Fatalf("fast re-auth pattern %v, want %v", fast, want)
			}
		}
		if h.vectors != 2 {
			t.Errorf("%d vectors", h.vectors)
		}
	})
	t.Run("max age", func(t *testing.T) {
		s, _, _, clock := newTestServerWith(t, func(c *eap.ServerConfig) {
			withReauth(c)
			c.FastReauth.MaxAge = 30 * time.Minute
		}, eap.TypeAKAPrime)
		p := newPeer(t, eap.TypeAKAPrime)
		res, _ := run(t, s, p)
		mustSucceed(t, res, p)
		clock.t = clock.t.Add(31 * time.Minute)
		p.startNext()
		var ids []string
		res, _ = runWatching(t, s, p, func(m *eap.AKAMessage) {
			if m.Subtype == eap.SubtypeIdentity {
				ids = append(ids, idRequestKind(m))
			}
		})
		mustSucceed(t, res, p)
		if res.FastReauth || len(ids) != 1 || ids[0] != "fullauth" {
			t.Fatalf("fast %v identity requests %v: want AT_FULLAUTH_ID_REQ then a full authentication", res.FastReauth, ids)
		}
	})
	t.Run("identity lifetime", func(t *testing.T) {
		s, _, _, clock := newTestServerWith(t, withReauth, eap.TypeAKAPrime)
		p := newPeer(t, eap.TypeAKAPrime)
		res, _ := run(t, s, p)
		mustSucceed(t, res, p)
		clock.t = clock.t.Add(2 * time.Hour) // past the 1 h lifetime
		p.startNext()
		res, _ = run(t, s, p)
		mustSucceed(t, res, p)
		if res.FastReauth {
			t.Fatal("an expired re-authentication identity was used")
		}
	})
}

func TestFastReauth_DisabledMeansFullAuthentications(t *testing.T) {
	s, h, _, _ := newTestServerWith(t, withPseudonyms, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	for range 3 {
		res, _ := run(t, s, p)
		mustSucceed(t, res, p)
		if res.FastReauth || p.reauthID != "" {
			t.Fatal("fast re-authentication while disabled")
		}
		p.startNext()
	}
	if h.vectors != 3 {
		t.Errorf("%d vectors", h.vectors)
	}
}

func TestResultIndication(t *testing.T) {
	for _, tc := range []struct {
		name           string
		server, peerOn bool
		rounds         int
	}{
		{"both ask", true, true, 3},
		{"peer does not ask", true, false, 2},
		{"server does not offer", false, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) {
				withReauth(c)
				c.ResultIndications = tc.server
			}, eap.TypeAKAPrime)
			p := newPeer(t, eap.TypeAKAPrime)
			p.resultInd = tc.peerOn
			for i, fast := range []bool{false, true} {
				res, rounds := run(t, s, p)
				mustSucceed(t, res, p)
				if res.FastReauth != fast || rounds != tc.rounds {
					t.Fatalf("run %d: fast %v rounds %d, want %v %d", i, res.FastReauth, rounds, fast, tc.rounds)
				}
				p.startNext()
			}
			if want := map[bool]int{true: 2, false: 0}[tc.server && tc.peerOn]; p.notifications != want {
				t.Errorf("%d success notifications, want %d", p.notifications, want)
			}
		})
	}
}

// The first identity request is the weakest that can help (RFC 4187
// 4.1.1.x): any identity with fast re-authentication on, a full
// authentication identity with only pseudonyms, the permanent otherwise.
func TestFirstIdentityRequestFollowsWhatIsEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*eap.ServerConfig)
		want string
	}{
		{"reauth", both(withPseudonyms, withReauth), "any"},
		{"pseudonyms", withPseudonyms, "fullauth"},
		{"neither", nil, "permanent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := newTestServerWith(t, tc.mod, eap.TypeAKAPrime)
			var res eap.Result
			s.Handle(context.Background(), testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("anonymous"+realm)), nil, &res)
			m, err := eap.ParseAKA(res.Packet)
			if err != nil || idRequestKind(&m) != tc.want {
				t.Fatalf("got %s (%v), want %s", idRequestKind(&m), err, tc.want)
			}
		})
	}
}

type fakeDecrypter struct{ plain string }

func (d fakeDecrypter) Decrypt(id []byte) ([]byte, error) {
	if d.plain == "" {
		return nil, errors.New("does not decrypt")
	}
	return []byte(d.plain), nil
}

// Keys come from the decrypted identity; what does not decrypt is treated
// as an unknown identity.
func TestEncryptedIdentity_DecrypterOutcomes(t *testing.T) {
	encrypted := "\x00QUFBQUFB@" + realm[1:]
	for _, tc := range []struct {
		name   string
		dec    eap.IdentityDecrypter
		rounds int
	}{
		{"decrypts", fakeDecrypter{"6" + testIMSI + realm}, 2},
		{"does not decrypt", fakeDecrypter{}, 3},
		{"decrypts to a non-permanent identity", fakeDecrypter{"anonymous" + realm}, 3},
		{"no keys configured", nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) { c.Identities = tc.dec }, eap.TypeAKAPrime)
			p := newPeer(t, eap.TypeAKAPrime)
			p.identity = encrypted
			if tc.rounds == 2 {
				p.identity = p.permanent // the key derivation identity a phone uses
			}
			res, rounds := runWith(t, s, p, encrypted)
			mustSucceed(t, res, p)
			if rounds != tc.rounds || string(res.Identity) != p.permanent {
				t.Fatalf("rounds %d identity %q", rounds, res.Identity)
			}
		})
	}
}

// One pseudonym and one re-authentication context per subscriber: a new
// full authentication replaces them, so the store grows with subscribers,
// not with authentications (hostapd's eap_sim_db does the same).
func TestRecords_OnePerSubscriber(t *testing.T) {
	s, _, store, _ := newTestServerWith(t, both(withPseudonyms, withReauth), eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	res, _ := run(t, s, p)
	mustSucceed(t, res, p)
	oldPseudonym := p.pseudonym
	p.reauthID = "" // force full authentications with the pseudonym
	for range 5 {
		p.startNext()
		res, _ = run(t, s, p)
		mustSucceed(t, res, p)
		p.reauthID = ""
	}
	if ps, rs := store.Records(); ps != 1 || rs != 1 {
		t.Fatalf("%d pseudonyms and %d re-auth contexts for one subscriber, want 1 and 1", ps, rs)
	}
	// The replaced pseudonym no longer maps back.
	p.pseudonym = oldPseudonym
	p.startNext()
	res, rounds := run(t, s, p)
	mustSucceed(t, res, p)
	if rounds != 3 {
		t.Fatalf("a replaced pseudonym was still accepted (%d rounds)", rounds)
	}
}
