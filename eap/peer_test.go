package eap_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/milenage"
	"github.com/aaa-project/aaa/store/memory"
)

// This file holds the two ends the state machine talks to in unit tests: an
// in-process HSS (Milenage over one table, the same computation hss.Local
// does) and a USIM peer that does what a phone does, written from RFC 4187 /
// RFC 9048 independently of the server code. End-to-end tests against the
// real eapol_test peer live in test/.
//
// The tests that run the server are in package eap_test: they keep its
// state in the memory store of store/memory, which imports eap.

const (
	testK    = "465b5ce8b199b49faa5f0a2ee238a6bc" // TS 35.208 set 1
	testOPc  = "cd63cb71954a9f4e48a5994e37a02baf"
	testIMSI = "001010000000001"
	realm    = "@wlan.mnc001.mcc001.3gppnetwork.org"
)

func hexKey(s string) (k [16]byte) {
	hex.Decode(k[:], []byte(s))
	return k
}

func testCipher() *milenage.Cipher {
	return milenage.New(milenage.Key(hexKey(testK)), milenage.OPc(hexKey(testOPc)))
}

// testHSS is a VectorSource over one subscriber.
type testHSS struct {
	mu      sync.Mutex
	sqn     aka.SQN
	amf     uint16
	fail    error // returned by Vector when set
	vectors int
	resyncs int
	// plain hands back CK/IK for AKA' too, so the server derives CK'/IK'.
	plain bool
}

func (h *testHSS) Vector(_ context.Context, imsi, nn string) (aka.Vector, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return aka.Vector{}, h.fail
	}
	if imsi != testIMSI {
		return aka.Vector{}, aka.ErrUnknownSubscriber
	}
	next, err := h.sqn.Next(aka.DefaultINDBits)
	if err != nil {
		return aka.Vector{}, err
	}
	h.sqn = next
	h.vectors++
	amf := h.amf
	if nn != "" {
		amf |= aka.AMFSeparationBit
	}
	rand := [16]byte{byte(h.vectors), 0xa5}
	v := aka.NewVector(testCipher(), &rand, next, amf)
	if nn != "" && !h.plain {
		if err := v.ToPrime([]byte(nn)); err != nil {
			return aka.Vector{}, err
		}
	}
	return v, nil
}

func (h *testHSS) Resync(ctx context.Context, imsi, nn string, rand *[16]byte, auts *[14]byte) (aka.Vector, error) {
	h.mu.Lock()
	sqnMS, err := aka.VerifyAUTS(testCipher(), rand, auts)
	if err != nil {
		h.mu.Unlock()
		return aka.Vector{}, err
	}
	h.resyncs++
	h.sqn, err = h.sqn.AfterResync(sqnMS, aka.DefaultINDBits)
	h.mu.Unlock()
	if err != nil {
		return aka.Vector{}, err
	}
	return h.Vector(ctx, imsi, nn)
}

// peer is a USIM-backed EAP-AKA/AKA' peer.
type peer struct {
	t           testing.TB
	method      eap.Type // what it speaks; 0 = both
	identity    string   // EAP-Response/Identity
	permanent   string   // answer to an identity request
	c           *milenage.Cipher
	sqnMS       aka.SQN // highest SQN accepted
	networkName string

	// Misbehaviour switches.
	badRES, badMAC, badCheckcode, rejectAuth, clientError, kdfOther bool
	unknownSkippable, unknownNonSkippable                           bool
	alwaysSyncFail                                                  bool
	biddingDown                                                     bool // saw one and refused
	// resultInd asks for protected result indications.
	resultInd bool
	// counterFloor makes the peer answer AT_COUNTER_TOO_SMALL to any
	// counter not above it.
	counterFloor uint16

	idMsgs    []byte
	keys      aka.Keys
	lastID    uint8
	syncFails int

	// Learnt from AT_ENCR_DATA (wpa_supplicant appends the realm of the
	// permanent identity to a pseudonym, and uses a re-authentication
	// identity as it is).
	pseudonym, reauthID string
	counter             uint16
	reauths             int // fast re-authentications completed
	notifications       int // success notifications acknowledged
	inReauth            bool
	respondHook         func(req []byte)
}

// nextIdentity is what the peer puts in EAP-Response/Identity: its
// re-authentication identity, else its pseudonym, else its permanent
// identity (RFC 4187 4.1.1.x; wpa_supplicant eap_aka_get_identity).
func (p *peer) nextIdentity() string {
	switch {
	case p.reauthID != "":
		return p.reauthID
	case p.pseudonym != "":
		return p.pseudonym
	}
	return p.permanent
}

// startNext prepares the peer for a new conversation.
func (p *peer) startNext() {
	p.identity = p.nextIdentity()
	p.idMsgs = nil
	p.inReauth = false
}

func realmOf(identity string) string {
	for i := range len(identity) {
		if identity[i] == '@' {
			return identity[i:]
		}
	}
	return ""
}

// learn takes the next pseudonym and re-authentication identity from an
// AT_ENCR_DATA the MAC has already covered.
func (p *peer) learn(a *eap.Attrs) {
	p.reauthID = ""
	if !a.Has(eap.AttrEncrData) {
		return
	}
	var scratch [eap.MaxEncrDataLen]byte
	in, err := eap.DecryptAttrs(&p.keys.KEncr, a.IV, a.EncrData, scratch[:])
	if err != nil {
		p.t.Fatalf("peer: cannot decrypt AT_ENCR_DATA: %v", err)
	}
	if in.Has(eap.AttrNextPseudonym) {
		p.pseudonym = string(in.NextPseudonym) + realmOf(p.permanent)
	}
	if in.Has(eap.AttrNextReauthID) {
		p.reauthID = string(in.NextReauthID)
	}
}

// newPeer returns a peer that speaks method, or both methods for 0.
func newPeer(t testing.TB, method eap.Type) *peer {
	prefix := "6"
	if method == eap.TypeAKA {
		prefix = "0"
	}
	return &peer{t: t, method: method, identity: prefix + testIMSI + realm, permanent: prefix + testIMSI + realm, c: testCipher()}
}

// respond answers one EAP-Request; it returns nil when the peer would say
// nothing.
func (p *peer) respond(req []byte) []byte {
	p.t.Helper()
	if p.respondHook != nil {
		p.respondHook(req)
	}
	pkt, err := eap.ParsePacket(req)
	if err != nil {
		p.t.Fatalf("peer: server sent a malformed packet: %v", err)
	}
	if pkt.Code != eap.CodeRequest {
		p.t.Fatalf("peer: respond to code %d", pkt.Code)
	}
	p.lastID = pkt.Identifier
	if p.method != 0 && pkt.Type != p.method {
		return eap.AppendResponse(nil, pkt.Identifier, eap.TypeNak, []byte{byte(p.method)})
	}
	m, err := eap.ParseAKA(req)
	if err != nil {
		p.t.Fatalf("peer: server sent a malformed AKA message: %v", err)
	}
	switch m.Subtype {
	case eap.SubtypeIdentity:
		p.idMsgs = append(p.idMsgs, req...)
		identity := p.permanent
		switch {
		case m.Attrs.Has(eap.AttrAnyIDReq):
			identity = p.nextIdentity()
		case m.Attrs.Has(eap.AttrFullauthIDReq) && p.pseudonym != "":
			identity = p.pseudonym
		}
		b := eap.NewBuilder(nil, eap.CodeResponse, pkt.Identifier, pkt.Type, eap.SubtypeIdentity)
		b.AddIdentityLike(eap.AttrIdentity, []byte(identity))
		out, _, err := b.Finish()
		if err != nil {
			p.t.Fatal(err)
		}
		p.idMsgs = append(p.idMsgs, out...)
		p.identity = identity
		return out
	case eap.SubtypeChallenge:
		return p.challenge(req, &m)
	case eap.SubtypeReauthentication:
		return p.reauth(req, &m)
	case eap.SubtypeNotification:
		b := eap.NewBuilder(nil, eap.CodeResponse, pkt.Identifier, pkt.Type, eap.SubtypeNotification)
		if m.Attrs.Notification&0x4000 == 0 { // P bit clear: after authentication, MAC-protected
			if !eap.VerifyMAC(pkt.Type, p.keys.KAutKey(), req, m.Attrs.MACOffset, nil) {
				p.t.Fatal("peer: success notification AT_MAC does not verify")
			}
			p.notifications++
			if p.inReauth {
				inner := eap.NewInnerBuilder(nil)
				inner.AddUint16(eap.AttrCounter, p.counter)
				var iv [16]byte
				b.AddEncrypted(&p.keys.KEncr, &iv, &inner)
			}
			b.AddMAC()
			out, macOff, _ := b.Finish()
			eap.SetMAC(pkt.Type, p.keys.KAutKey(), out, macOff, nil)
			return out
		}
		out, _, _ := b.Finish()
		return out
	}
	p.t.Fatalf("peer: unexpected subtype %d", m.Subtype)
	return nil
}

func (p *peer) simple(id uint8, t eap.Type, st eap.Subtype) []byte {
	b := eap.NewBuilder(nil, eap.CodeResponse, id, t, st)
	if st == eap.SubtypeClientError {
		b.AddUint16(eap.AttrClientErrorCode, 0)
	}
	out, _, _ := b.Finish()
	return out
}

func (p *peer) challenge(req []byte, m *eap.AKAMessage) []byte {
	id, t := m.Packet.Identifier, m.Packet.Type
	if p.rejectAuth {
		return p.simple(id, t, eap.SubtypeAuthenticationReject)
	}
	if p.method == 0 && t == eap.TypeAKA && m.Attrs.Has(eap.AttrBidding) && m.Attrs.Bidding&0x8000 != 0 {
		// RFC 9048 4: a peer that does EAP-AKA' too, offered EAP-AKA by a
		// server that prefers EAP-AKA', sees a bidding-down attack.
		p.biddingDown = true
		return p.simple(id, t, eap.SubtypeAuthenticationReject)
	}
	if p.clientError {
		return p.simple(id, t, eap.SubtypeClientError)
	}
	var rand [16]byte
	copy(rand[:], m.Attrs.RAND)
	res, ck, ik, ak := p.c.F2345(&rand)
	var sqnB [6]byte
	for i := range sqnB {
		sqnB[i] = m.Attrs.AUTN[i] ^ ak[i]
	}
	amf := [2]byte{m.Attrs.AUTN[6], m.Attrs.AUTN[7]}
	if mac := p.c.F1(&rand, sqnB, amf); string(mac[:]) != string(m.Attrs.AUTN[8:]) {
		return p.simple(id, t, eap.SubtypeAuthenticationReject)
	}
	sqn := aka.SQNFromBytes(sqnB)
	if p.alwaysSyncFail || sqn <= p.sqnMS {
		p.syncFails++
		macS := p.c.F1Star(&rand, p.sqnMS.Bytes(), [2]byte{})
		akS := p.c.F5Star(&rand)
		var auts [14]byte
		ms := p.sqnMS.Bytes()
		for i := range 6 {
			auts[i] = ms[i] ^ akS[i]
		}
		copy(auts[6:], macS[:])
		b := eap.NewBuilder(nil, eap.CodeResponse, id, t, eap.SubtypeSynchronizationFailure)
		b.AddAUTS(&auts)
		out, _, _ := b.Finish()
		return out
	}
	p.sqnMS = sqn
	if t == eap.TypeAKAPrime {
		if amf[0]&0x80 == 0 {
			p.t.Fatal("peer: AKA' challenge without the AMF separation bit")
		}
		if m.Attrs.NKDF == 0 || m.Attrs.KDF[0] != 1 {
			p.t.Fatal("peer: AKA' challenge without AT_KDF 1")
		}
		nn := m.Attrs.KDFInput
		p.networkName = string(nn)
		ckp, ikp := aka.DeriveCKIKPrime(&ck, &ik, nn, [6]byte(m.Attrs.AUTN[:6]))
		aka.DeriveAKAPrime([]byte(p.identity), &ikp, &ckp, &p.keys)
	} else {
		aka.DeriveAKA([]byte(p.identity), &ik, &ck, &p.keys)
	}
	if !eap.VerifyMAC(t, p.keys.KAutKey(), req, m.Attrs.MACOffset, nil) {
		p.t.Fatal("peer: server AT_MAC does not verify")
	}
	// The checkcode the server sent must match our own record.
	want := p.checkcode(t)
	if string(m.Attrs.Checkcode) != string(want) {
		p.t.Fatalf("peer: server AT_CHECKCODE %x, want %x", m.Attrs.Checkcode, want)
	}
	p.learn(&m.Attrs)
	p.counter = 0
	b := eap.NewBuilder(nil, eap.CodeResponse, id, t, eap.SubtypeChallenge)
	if p.resultInd && m.Attrs.Has(eap.AttrResultInd) {
		b.AddFlag(eap.AttrResultInd)
	}
	if p.kdfOther {
		b.AddUint16(eap.AttrKDF, 2)
	}
	r := res[:]
	if p.badRES {
		r = append([]byte(nil), r...)
		r[0] ^= 1
	}
	b.AddRES(r)
	cc := want
	if p.badCheckcode {
		cc = make([]byte, len(want))
		if len(cc) == 0 {
			cc = make([]byte, 20)
		}
	}
	b.AddCheckcode(cc)
	out, macOff := p.finishWithUnknown(&b)
	k := p.keys.KAutKey()
	if p.badMAC {
		k = make([]byte, len(k))
	}
	eap.SetMAC(t, k, out, macOff, nil)
	return out
}

// reauth answers AKA-Reauthentication (RFC 4187 5.4, 9.7-9.8).
func (p *peer) reauth(req []byte, m *eap.AKAMessage) []byte {
	id, t := m.Packet.Identifier, m.Packet.Type
	if !eap.VerifyMAC(t, p.keys.KAutKey(), req, m.Attrs.MACOffset, nil) {
		p.t.Fatal("peer: re-authentication AT_MAC does not verify")
	}
	if want := p.checkcode(t); string(m.Attrs.Checkcode) != string(want) {
		p.t.Fatalf("peer: AT_CHECKCODE %x, want %x", m.Attrs.Checkcode, want)
	}
	var scratch [eap.MaxEncrDataLen]byte
	in, err := eap.DecryptAttrs(&p.keys.KEncr, m.Attrs.IV, m.Attrs.EncrData, scratch[:])
	if err != nil || !in.Has(eap.AttrCounter) || !in.Has(eap.AttrNonceS) {
		p.t.Fatalf("peer: bad re-authentication encrypted data: %v", err)
	}
	nonceS := append([]byte(nil), in.NonceS...)
	b := eap.NewBuilder(nil, eap.CodeResponse, id, t, eap.SubtypeReauthentication)
	inner := eap.NewInnerBuilder(nil)
	inner.AddUint16(eap.AttrCounter, in.Counter)
	var iv [16]byte
	iv[0] = 7
	if in.Counter <= p.counter || in.Counter <= p.counterFloor {
		// wpa_supplicant keeps the re-authentication identity for the
		// full authentication that follows, and forgets it otherwise.
		inner.AddFlag(eap.AttrCounterTooSmall)
		p.reauthID = ""
	} else {
		p.counter = in.Counter
		p.inReauth = true
		if t == eap.TypeAKAPrime {
			p.keys.MSK, p.keys.EMSK = aka.DeriveReauthAKAPrime([]byte(p.identity), in.Counter, (*[16]byte)(nonceS), &p.keys.KRe)
		} else {
			p.keys.MSK, p.keys.EMSK = aka.DeriveReauthAKA([]byte(p.identity), in.Counter, (*[16]byte)(nonceS), &p.keys.MK)
		}
		p.reauthID = ""
		if in.Has(eap.AttrNextReauthID) {
			p.reauthID = string(in.NextReauthID)
		}
		p.reauths++
		if p.resultInd && m.Attrs.Has(eap.AttrResultInd) {
			b.AddFlag(eap.AttrResultInd)
		}
	}
	b.AddEncrypted(&p.keys.KEncr, &iv, &inner)
	b.AddCheckcode(p.checkcode(t))
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		p.t.Fatal(err)
	}
	eap.SetMAC(t, p.keys.KAutKey(), out, macOff, nonceS)
	return out
}

// finishWithUnknown adds the MAC and, when asked, an unknown attribute
// before it (types 255 skippable, 99 not).
func (p *peer) finishWithUnknown(b *eap.Builder) ([]byte, int) {
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		p.t.Fatal(err)
	}
	if !p.unknownSkippable && !p.unknownNonSkippable {
		return out, macOff
	}
	typ := byte(255)
	if p.unknownNonSkippable {
		typ = 99
	}
	extra := []byte{typ, 1, 0, 0}
	withExtra := append(append(append([]byte(nil), out[:8]...), extra...), out[8:]...)
	withExtra[2], withExtra[3] = byte(len(withExtra)>>8), byte(len(withExtra))
	return withExtra, macOff + 4
}

func (p *peer) checkcode(t eap.Type) []byte {
	if len(p.idMsgs) == 0 {
		return nil
	}
	if t == eap.TypeAKAPrime {
		h := sha256.Sum256(p.idMsgs)
		return h[:]
	}
	h := sha1.Sum(p.idMsgs)
	return h[:]
}

// run drives a whole conversation: the peer's EAP-Response/Identity, then
// request/response until Success, Failure or a discard. It returns the last
// result and the number of round trips (Handle calls).
func run(t testing.TB, s *eap.Server, p *peer) (eap.Result, int) {
	t.Helper()
	return runWith(t, s, p, p.identity)
}

// runWith is run with first as the EAP-Response/Identity.
func runWith(t testing.TB, s *eap.Server, p *peer, first string) (eap.Result, int) {
	t.Helper()
	ctx := context.Background()
	msg := eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte(first))
	var state []byte
	var res eap.Result
	buf := make([]byte, 0, 1024)
	for rounds := 1; rounds <= 10; rounds++ {
		if err := s.Handle(ctx, testPeer, state, msg, buf, &res); err != nil {
			t.Fatalf("round %d: %v", rounds, err)
		}
		switch res.Outcome {
		case eap.OutcomeContinue:
			state = append(state[:0], res.Conversation[:]...)
			msg = p.respond(res.Packet)
		default:
			if res.Outcome == eap.OutcomeSuccess || res.Outcome == eap.OutcomeFailure {
				pkt, err := eap.ParsePacket(res.Packet)
				if err != nil {
					t.Fatal(err)
				}
				if pkt.Identifier != p.lastID && rounds > 1 {
					t.Errorf("final packet id %d, want %d", pkt.Identifier, p.lastID)
				}
			}
			return res, rounds
		}
	}
	t.Fatal("conversation did not end in 10 rounds")
	return res, 0
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func newTestServer(t testing.TB, methods ...eap.Type) (*eap.Server, *testHSS, *memory.EAPStore, *fixedClock) {
	return newTestServerWith(t, nil, methods...)
}

// newTestServerWith lets a test change the configuration (pseudonyms, fast
// re-authentication...) before the server is made.
func newTestServerWith(t testing.TB, mod func(*eap.ServerConfig), methods ...eap.Type) (*eap.Server, *testHSS, *memory.EAPStore, *fixedClock) {
	t.Helper()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	h := &testHSS{amf: 0x8000}
	st := memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100, Now: clock.now})
	cfg := eap.ServerConfig{Methods: methods, NetworkName: "WLAN", Timeout: time.Minute, Now: clock.now}
	if mod != nil {
		mod(&cfg)
	}
	s, err := eap.NewServer(cfg, h, st)
	if err != nil {
		t.Fatal(err)
	}
	return s, h, st, clock
}

var errBackend = errors.New("backend down")

func testCipherWith(k, opc string) *milenage.Cipher {
	return milenage.New(milenage.Key(hexKey(k)), milenage.OPc(hexKey(opc)))
}

// testPeer is the access point the unit tests' messages come through.
var testPeer = eap.Peer{Name: "lab"}
