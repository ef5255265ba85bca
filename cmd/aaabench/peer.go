package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"math/rand/v2"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/milenage"
)

// This file is the simulated phone: a USIM (Milenage, SQN_MS, the fast
// re-authentication context and the temporary identities it learnt) and an
// EAP-AKA/AKA' peer that runs one conversation for it. It is transport-free
// (EAP bytes in, EAP bytes out), so the unit tests drive it through an
// in-process eap.Server and the load generator through RADIUS. It follows
// RFC 4187 / RFC 9048 and wpa_supplicant's eap_aka.c, independently of the
// server code, and reuses only the eap codec and the aka/milenage crypto.

// reason says why a conversation failed. Its name is the stable label of
// the summary.
type reason uint8

const (
	reasonNone reason = iota
	reasonTimeout
	reasonAccessReject
	reasonMPPEMismatch
	reasonBadResponseAuthenticator
	reasonBadMessageAuthenticator
	reasonServerMAC
	reasonAUTNMAC
	reasonSyncFailureLoop
	reasonUnexpected
	reasonKDF
	reasonAMF
	reasonMalformed
	reasonCheckcode
	reasonFailureNotification
	reasonTooManyRounds
	reasonRetransmitDiffers
	reasonRetransmitUnanswered
	reasonMSKMismatch
	reasonNetworkName
	reasonNoPeer
	reasonTransport
	reasonSessionMismatch
	numReasons
)

var reasonNames = [numReasons]string{
	reasonNone:                     "none",
	reasonTimeout:                  "timeout",
	reasonAccessReject:             "access_reject",
	reasonMPPEMismatch:             "mppe_mismatch",
	reasonBadResponseAuthenticator: "bad_response_authenticator",
	reasonBadMessageAuthenticator:  "bad_message_authenticator",
	reasonServerMAC:                "server_mac",
	reasonAUTNMAC:                  "autn_mac",
	reasonSyncFailureLoop:          "sync_failure_loop",
	reasonUnexpected:               "unexpected_message",
	reasonKDF:                      "kdf",
	reasonAMF:                      "amf_separation_bit",
	reasonMalformed:                "malformed",
	reasonCheckcode:                "checkcode",
	reasonFailureNotification:      "failure_notification",
	reasonTooManyRounds:            "too_many_rounds",
	reasonRetransmitDiffers:        "retransmit_answer_differs",
	reasonRetransmitUnanswered:     "retransmit_unanswered",
	reasonMSKMismatch:              "msk_mismatch",
	reasonNetworkName:              "network_name",
	reasonNoPeer:                   "no_peer",
	reasonTransport:                "transport_error",
	reasonSessionMismatch:          "session_id_mismatch",
}

func (r reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Identity kinds the peer sends.
const (
	sentNone uint8 = iota
	sentAnonymous
	sentPermanent
	sentPseudonym
	sentReauth
)

// EAP-AKA notification bits (RFC 4187 10.19).
const (
	notificationS = 0x8000 // success
	notificationP = 0x4000 // phase: set before authentication, no AT_MAC
)

// usim is one simulated USIM and the state a phone keeps for it between
// authentications. Only the conversation that holds it touches it.
type usim struct {
	c         *milenage.Cipher
	sqnMS     aka.SQN // highest SQN accepted
	permanent []byte  // '6' or '0' + IMSI + "@" + realm
	realm     []byte  // "@realm", appended to a learnt pseudonym
	pseudonym []byte  // learnt pseudonym with realm, empty if none
	reauthID  []byte  // learnt re-authentication identity, empty if none

	// The fast re-authentication context of the last full authentication.
	kEncr   [16]byte
	kAut    [32]byte
	kAutLen uint8
	kRe     [32]byte
	mk      [20]byte
	counter uint16
}

func newUSIM(c *milenage.Cipher, sqn aka.SQN, imsi string, method eap.Type, realm string) *usim {
	prefix := byte('6')
	if method == eap.TypeAKA {
		prefix = '0'
	}
	u := &usim{c: c, sqnMS: sqn}
	u.permanent = append(append(append(append(u.permanent, prefix), imsi...), '@'), realm...)
	u.realm = append(append(u.realm, '@'), realm...)
	return u
}

// peer runs one EAP conversation for a USIM. Reset it with begin.
type peer struct {
	method eap.Type
	rng    *rand.ChaCha8 // AT_IV values; seeded from crypto/rand
	u      *usim
	// networkName, when set, is the access network name the phone
	// expects for EAP-AKA' (AT_KDF_INPUT, TS 24.302 8.1.1.1): over
	// Diameter, the ANID the gateway announces. Another name is refused
	// before the USIM runs (RFC 9048 3.1).
	networkName []byte

	wantReauth bool // use the re-authentication identity when there is one
	identity   []byte
	sent       uint8 // kind of identity last sent
	idMsgs     []byte
	keys       aka.Keys
	lastID     uint8
	requests   int
	idRounds   int
	naked      bool

	// What this conversation learnt; stored in the USIM on success.
	nextPseudonym, nextReauthID []byte
	hasPseudonym, hasReauthID   bool

	fast          bool // a fast re-authentication the peer accepted
	counter       uint16
	syncFails     int
	authenticated bool   // the server proved itself and we answered: EAP-Success may come
	pending       reason // a failure already decided, the server's EAP-Failure expected
	scratch       [eap.MaxEncrDataLen]byte
}

// begin starts a conversation for u and appends its EAP-Response/Identity
// to dst: the outer identity is "anonymous@realm" when anonymous, else the
// re-authentication identity (when wantReauth and there is one), else the
// pseudonym, else the permanent identity (wpa_supplicant's
// eap_aka_get_identity order).
func (p *peer) begin(u *usim, wantReauth bool, anonymous []byte, dst []byte) []byte {
	p.u = u
	p.wantReauth = wantReauth
	p.idMsgs = p.idMsgs[:0]
	p.requests, p.idRounds, p.naked = 0, 0, false
	p.hasPseudonym, p.hasReauthID = false, false
	p.fast, p.counter, p.syncFails = false, 0, 0
	p.authenticated, p.pending = false, reasonNone
	p.keys = aka.Keys{}
	p.lastID = 0
	if anonymous != nil {
		p.setIdentity(anonymous, sentAnonymous)
	} else {
		p.pickIdentity(true, true)
	}
	return eap.AppendResponse(dst, p.lastID, eap.TypeIdentity, p.identity)
}

// pickIdentity sets the identity to send: the re-authentication identity
// (if allowed and wanted), the pseudonym (if allowed), else the permanent
// identity.
func (p *peer) pickIdentity(reauth, pseudonym bool) {
	u := p.u
	switch {
	case reauth && p.wantReauth && len(u.reauthID) > 0:
		p.setIdentity(u.reauthID, sentReauth)
		// A re-authentication identity is single use: the server takes
		// its context whatever the outcome (RFC 4187 5.1).
		u.reauthID = u.reauthID[:0]
	case pseudonym && len(u.pseudonym) > 0:
		p.setIdentity(u.pseudonym, sentPseudonym)
	default:
		p.setIdentity(u.permanent, sentPermanent)
	}
}

func (p *peer) setIdentity(id []byte, kind uint8) {
	p.identity = append(p.identity[:0], id...)
	p.sent = kind
}

// respond answers one EAP-Request: it appends the response to dst[:0], or
// returns a reason when the conversation cannot go on (nothing to send). A
// response may come with p.pending set: the peer refused (Authentication-
// Reject, Client-Error, a failure notification acknowledged...) and expects
// EAP-Failure.
func (p *peer) respond(req, dst []byte) ([]byte, reason) {
	pkt, err := eap.ParsePacket(req)
	if err != nil {
		return nil, reasonMalformed
	}
	if pkt.Code != eap.CodeRequest {
		return nil, reasonUnexpected
	}
	req = req[:5+len(pkt.Data)] // octets beyond the EAP Length are not the message
	p.lastID = pkt.Identifier
	p.requests++
	if pkt.Type != p.method {
		// RFC 3748 5.3.1: Nak the first request of a method we do not
		// want, naming ours (the server then switches, once).
		if (pkt.Type == eap.TypeAKA || pkt.Type == eap.TypeAKAPrime) && p.requests == 1 && !p.naked {
			p.naked = true
			m := [1]byte{byte(p.method)}
			return eap.AppendResponse(dst[:0], pkt.Identifier, eap.TypeNak, m[:]), reasonNone
		}
		return nil, reasonUnexpected
	}
	m, err := eap.ParseAKA(req)
	if err != nil {
		return nil, reasonMalformed
	}
	switch m.Subtype {
	case eap.SubtypeIdentity:
		return p.identityRequest(req, &m, dst)
	case eap.SubtypeChallenge:
		return p.challenge(req, &m, dst)
	case eap.SubtypeReauthentication:
		return p.reauth(req, &m, dst)
	case eap.SubtypeNotification:
		return p.notification(req, &m, dst)
	}
	return nil, reasonUnexpected
}

// identityRequest answers AKA-Identity with the identity asked for (RFC 4187
// 4.1.1.x). An identity the server did not take is dropped.
func (p *peer) identityRequest(req []byte, m *eap.AKAMessage, dst []byte) ([]byte, reason) {
	p.idRounds++
	if p.idRounds > 3 {
		return nil, reasonUnexpected
	}
	a := &m.Attrs
	switch {
	case a.Has(eap.AttrPermanentIDReq):
		if p.sent == sentPseudonym {
			p.u.pseudonym = p.u.pseudonym[:0] // unknown or expired
		}
		p.pickIdentity(false, false)
	case a.Has(eap.AttrFullauthIDReq):
		p.pickIdentity(false, p.sent != sentPseudonym)
	case a.Has(eap.AttrAnyIDReq):
		p.pickIdentity(p.sent != sentReauth, p.sent != sentPseudonym)
	default:
		return nil, reasonMalformed
	}
	p.idMsgs = append(p.idMsgs, req...)
	b := eap.NewBuilder(dst[:0], eap.CodeResponse, m.Packet.Identifier, m.Packet.Type, eap.SubtypeIdentity)
	b.AddIdentityLike(eap.AttrIdentity, p.identity)
	out, _, err := b.Finish()
	if err != nil {
		return nil, reasonMalformed
	}
	p.idMsgs = append(p.idMsgs, out...)
	return out, reasonNone
}

// checkcode is AT_CHECKCODE over the AKA-Identity messages of this run
// (RFC 4187 10.13; SHA-256 for AKA', RFC 9048 3.4.3), empty without any.
func (p *peer) checkcode(t eap.Type, out *[sha256.Size]byte) []byte {
	if len(p.idMsgs) == 0 {
		return out[:0]
	}
	if t == eap.TypeAKAPrime {
		*out = sha256.Sum256(p.idMsgs)
		return out[:]
	}
	h := sha1.Sum(p.idMsgs)
	copy(out[:], h[:])
	return out[:sha1.Size]
}

// simple builds a response with no attributes but what st needs.
func simple(dst []byte, id uint8, t eap.Type, st eap.Subtype) []byte {
	b := eap.NewBuilder(dst[:0], eap.CodeResponse, id, t, st)
	if st == eap.SubtypeClientError {
		b.AddUint16(eap.AttrClientErrorCode, 0) // unable to process packet
	}
	out, _, _ := b.Finish()
	return out
}

// refuse answers Client-Error and remembers why.
func (p *peer) refuse(dst []byte, m *eap.AKAMessage, r reason) ([]byte, reason) {
	p.pending = r
	return simple(dst, m.Packet.Identifier, m.Packet.Type, eap.SubtypeClientError), reasonNone
}

// challenge runs the USIM on AKA-Challenge (TS 33.102 6.3.3): AUTN MAC,
// SQN freshness (strictly above the highest accepted, as eapol_test's
// simulator does; else Synchronization-Failure with AUTS), then the keys,
// the server's AT_MAC and AT_CHECKCODE, and the identities it sent.
func (p *peer) challenge(req []byte, m *eap.AKAMessage, dst []byte) ([]byte, reason) {
	a := &m.Attrs
	id, t := m.Packet.Identifier, m.Packet.Type
	if len(a.RAND) != 16 || len(a.AUTN) != 16 || !a.Has(eap.AttrMAC) {
		return nil, reasonMalformed
	}
	if t == eap.TypeAKAPrime && p.networkName != nil && !bytes.Equal(a.KDFInput, p.networkName) {
		// Not the access network the phone is on: RFC 9048 3.1 lets
		// the peer send Authentication-Reject.
		p.pending = reasonNetworkName
		return simple(dst, id, t, eap.SubtypeAuthenticationReject), reasonNone
	}
	u := p.u
	rnd := [16]byte(a.RAND)
	res, ck, ik, ak := u.c.F2345(&rnd)
	var sqnB [6]byte
	subtle.XORBytes(sqnB[:], a.AUTN[:6], ak[:])
	amf := [2]byte{a.AUTN[6], a.AUTN[7]}
	if mac := u.c.F1(&rnd, sqnB, amf); subtle.ConstantTimeCompare(mac[:], a.AUTN[8:16]) != 1 {
		// Wrong K or OPc on one side: the USIM refuses the network.
		p.pending = reasonAUTNMAC
		return simple(dst, id, t, eap.SubtypeAuthenticationReject), reasonNone
	}
	if t == eap.TypeAKAPrime && amf[0]&0x80 == 0 {
		// TS 33.402 6.1: AKA' needs the AMF separation bit.
		p.pending = reasonAMF
		return simple(dst, id, t, eap.SubtypeAuthenticationReject), reasonNone
	}
	sqn := aka.SQNFromBytes(sqnB)
	if sqn <= u.sqnMS {
		p.syncFails++
		if p.syncFails > 1 {
			p.pending = reasonSyncFailureLoop
		}
		ms := u.sqnMS.Bytes()
		macS := u.c.F1Star(&rnd, ms, [2]byte{}) // AMF 0000 (TS 33.102 6.3.3)
		akS := u.c.F5Star(&rnd)
		var auts [14]byte
		subtle.XORBytes(auts[:6], ms[:], akS[:])
		copy(auts[6:], macS[:])
		b := eap.NewBuilder(dst[:0], eap.CodeResponse, id, t, eap.SubtypeSynchronizationFailure)
		b.AddAUTS(&auts)
		out, _, err := b.Finish()
		if err != nil {
			return nil, reasonMalformed
		}
		return out, reasonNone
	}
	u.sqnMS = sqn // the USIM accepted it, whatever happens next
	if t == eap.TypeAKAPrime {
		if a.NKDF == 0 || a.KDF[0] != 1 || len(a.KDFInput) == 0 {
			return p.refuse(dst, m, reasonKDF)
		}
		ckp, ikp := aka.DeriveCKIKPrime(&ck, &ik, a.KDFInput, [6]byte(a.AUTN[:6]))
		aka.DeriveAKAPrime(p.identity, &ikp, &ckp, &p.keys)
	} else {
		aka.DeriveAKA(p.identity, &ik, &ck, &p.keys)
	}
	if !eap.VerifyMAC(t, p.keys.KAutKey(), req, a.MACOffset, nil) {
		return p.refuse(dst, m, reasonServerMAC)
	}
	var cc [sha256.Size]byte
	want := p.checkcode(t, &cc)
	if a.Has(eap.AttrCheckcode) || len(want) > 0 {
		if subtle.ConstantTimeCompare(a.Checkcode, want) != 1 {
			return p.refuse(dst, m, reasonCheckcode)
		}
	}
	if a.Has(eap.AttrEncrData) {
		in, err := eap.DecryptAttrs(&p.keys.KEncr, a.IV, a.EncrData, p.scratch[:])
		if err != nil {
			return p.refuse(dst, m, reasonMalformed)
		}
		if in.Has(eap.AttrNextPseudonym) {
			// wpa_supplicant appends the realm of its identity.
			p.nextPseudonym = append(append(p.nextPseudonym[:0], in.NextPseudonym...), u.realm...)
			p.hasPseudonym = true
		}
		if in.Has(eap.AttrNextReauthID) {
			p.nextReauthID = append(p.nextReauthID[:0], in.NextReauthID...)
			p.hasReauthID = true
		}
	}
	p.fast, p.counter = false, 0
	b := eap.NewBuilder(dst[:0], eap.CodeResponse, id, t, eap.SubtypeChallenge)
	b.AddRES(res[:])
	b.AddCheckcode(want)
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return nil, reasonMalformed
	}
	eap.SetMAC(t, p.keys.KAutKey(), out, macOff, nil)
	p.authenticated = true
	return out, reasonNone
}

// reauth answers AKA-Reauthentication (RFC 4187 5.4, 9.7-9.8) with the
// context of the last full authentication.
func (p *peer) reauth(req []byte, m *eap.AKAMessage, dst []byte) ([]byte, reason) {
	a := &m.Attrs
	id, t := m.Packet.Identifier, m.Packet.Type
	u := p.u
	if p.sent != sentReauth || u.kAutLen == 0 || !a.Has(eap.AttrMAC) {
		return nil, reasonUnexpected
	}
	p.keys.KEncr, p.keys.KAut, p.keys.KAutLen, p.keys.KRe, p.keys.MK = u.kEncr, u.kAut, u.kAutLen, u.kRe, u.mk
	if !eap.VerifyMAC(t, p.keys.KAutKey(), req, a.MACOffset, nil) {
		return p.refuse(dst, m, reasonServerMAC)
	}
	var cc [sha256.Size]byte
	want := p.checkcode(t, &cc)
	if a.Has(eap.AttrCheckcode) || len(want) > 0 {
		if subtle.ConstantTimeCompare(a.Checkcode, want) != 1 {
			return p.refuse(dst, m, reasonCheckcode)
		}
	}
	in, err := eap.DecryptAttrs(&p.keys.KEncr, a.IV, a.EncrData, p.scratch[:])
	if err != nil || !in.Has(eap.AttrCounter) || !in.Has(eap.AttrNonceS) {
		return p.refuse(dst, m, reasonMalformed)
	}
	nonceS := [16]byte(in.NonceS)
	counter := in.Counter
	if in.Has(eap.AttrNextReauthID) {
		p.nextReauthID = append(p.nextReauthID[:0], in.NextReauthID...)
		p.hasReauthID = true
	}
	var innerBuf [8]byte
	inner := eap.NewInnerBuilder(innerBuf[:0])
	inner.AddUint16(eap.AttrCounter, counter)
	if counter <= u.counter {
		// RFC 4187 5.5: a counter we have seen; the server runs a full
		// authentication next.
		inner.AddFlag(eap.AttrCounterTooSmall)
		p.hasReauthID = false
	} else {
		p.fast, p.counter = true, counter
		if t == eap.TypeAKAPrime {
			p.keys.MSK, p.keys.EMSK = aka.DeriveReauthAKAPrime(p.identity, counter, &nonceS, &p.keys.KRe)
		} else {
			p.keys.MSK, p.keys.EMSK = aka.DeriveReauthAKA(p.identity, counter, &nonceS, &p.keys.MK)
		}
		p.authenticated = true
	}
	var iv [16]byte
	p.rng.Read(iv[:])
	b := eap.NewBuilder(dst[:0], eap.CodeResponse, id, t, eap.SubtypeReauthentication)
	b.AddEncrypted(&p.keys.KEncr, &iv, &inner)
	b.AddCheckcode(want)
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return nil, reasonMalformed
	}
	eap.SetMAC(t, p.keys.KAutKey(), out, macOff, nonceS[:])
	return out, reasonNone
}

// notification acknowledges AKA-Notification (RFC 4187 6.1-6.2): a success
// indication is MAC-protected both ways; a failure is remembered.
func (p *peer) notification(req []byte, m *eap.AKAMessage, dst []byte) ([]byte, reason) {
	a := &m.Attrs
	id, t := m.Packet.Identifier, m.Packet.Type
	if !a.Has(eap.AttrNotification) {
		return nil, reasonMalformed
	}
	n := a.Notification
	if n&notificationS == 0 && p.pending == reasonNone {
		p.pending = reasonFailureNotification
	}
	b := eap.NewBuilder(dst[:0], eap.CodeResponse, id, t, eap.SubtypeNotification)
	if n&notificationP != 0 {
		out, _, err := b.Finish()
		if err != nil {
			return nil, reasonMalformed
		}
		return out, reasonNone
	}
	if p.keys.KAutLen == 0 || !a.Has(eap.AttrMAC) || !eap.VerifyMAC(t, p.keys.KAutKey(), req, a.MACOffset, nil) {
		return nil, reasonServerMAC
	}
	if p.fast {
		var innerBuf [8]byte
		inner := eap.NewInnerBuilder(innerBuf[:0])
		inner.AddUint16(eap.AttrCounter, p.counter)
		var iv [16]byte
		p.rng.Read(iv[:])
		b.AddEncrypted(&p.keys.KEncr, &iv, &inner)
	}
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return nil, reasonMalformed
	}
	eap.SetMAC(t, p.keys.KAutKey(), out, macOff, nil)
	return out, reasonNone
}

// success checks the EAP-Success that came with an Access-Accept: it must
// answer our last response, after the server proved itself and we accepted.
// The MSK is then in p.keys.MSK.
func (p *peer) success(pkt []byte) reason {
	e, err := eap.ParsePacket(pkt)
	if err != nil {
		return reasonMalformed
	}
	if e.Code != eap.CodeSuccess || e.Identifier != p.lastID || !p.authenticated || p.pending != reasonNone {
		return reasonUnexpected
	}
	return reasonNone
}

// commit stores in the USIM what a successful conversation taught it: the
// fast re-authentication context and counter, the next pseudonym and
// re-authentication identity (the server keeps them only on success).
func (p *peer) commit() {
	u := p.u
	if p.fast {
		u.counter = p.counter
	} else {
		u.kEncr, u.kAut, u.kAutLen, u.kRe, u.mk = p.keys.KEncr, p.keys.KAut, p.keys.KAutLen, p.keys.KRe, p.keys.MK
		u.counter = 0
		if p.hasPseudonym {
			u.pseudonym = append(u.pseudonym[:0], p.nextPseudonym...)
		}
	}
	u.reauthID = u.reauthID[:0]
	if p.hasReauthID {
		u.reauthID = append(u.reauthID, p.nextReauthID...)
	}
}
