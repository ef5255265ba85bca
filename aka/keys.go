package aka

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Keys are the EAP-AKA / EAP-AKA' session keys of one authentication.
type Keys struct {
	KEncr [16]byte
	KAut  [32]byte // EAP-AKA uses the first 16 octets (KAutLen 16), EAP-AKA' all 32
	// KAutLen is the length of K_aut in octets: 16 for EAP-AKA (RFC 4187
	// 7), 32 for EAP-AKA' (RFC 9048 3.3).
	KAutLen uint8
	KRe     [32]byte // EAP-AKA' only (RFC 9048 3.3)
	MK      [20]byte // EAP-AKA only, kept for fast re-authentication (RFC 4187 7)
	MSK     [64]byte
	EMSK    [64]byte
}

// KAutKey returns the valid octets of K_aut, the AT_MAC key.
func (k *Keys) KAutKey() []byte { return k.KAut[:k.KAutLen] }

// Clear zeroes every key, for use when a conversation ends.
func (k *Keys) Clear() { *k = Keys{} }

const redactedKeys = "aka.Keys{REDACTED}"

// String keeps keys out of logs. Keys also implements fmt.Formatter, since
// String alone does not cover verbs such as %d, which would print the
// arrays; all three methods have value receivers so that Keys and *Keys are
// both covered.
func (Keys) String() string { return redactedKeys }

// GoString does the same for %#v.
func (Keys) GoString() string { return redactedKeys }

// Format prints Keys as aka.Keys{REDACTED} whatever the verb.
func (Keys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redactedKeys) }

// ErrPRFLength: FIPS186PRF was asked for a length that is not a whole number
// of 40-octet rounds.
var ErrPRFLength = errors.New("aka: FIPS 186-2 PRF output length must be a multiple of 40 octets")

// Output sizes of the derivations.
const (
	fips186Round  = 40  // x_j = w_0 | w_1, FIPS 186-2 Appendix 3.1 step 3.3
	akaKeyStream  = 160 // K_encr 16 | K_aut 16 | MSK 64 | EMSK 64, RFC 4187 7
	akaPrimeMK    = 208 // K_encr 16 | K_aut 32 | K_re 32 | MSK 64 | EMSK 64, RFC 9048 3.3
	reauthPrimeMK = 128 // MSK 64 | EMSK 64, RFC 9048 3.3
)

// fips186G is the G function of FIPS 186-2 Appendix 3.3 for b = 160: the
// SHA-1 compression function applied to t = H0..H4 and the block
// c || 0^352, the 160-bit input padded with zeros to 512 bits (no SHA-1
// padding, no length).
func fips186G(out, c *[20]byte) {
	var block [64]byte
	copy(block[:], c[:])
	h := sha1IV
	sha1Block(&h, &block)
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	clear(block[:])
	clear(h[:])
}

// fips186Step produces one w_i and updates XKEY (FIPS 186-2 Appendix 3.1
// step 3.2 with XSEED_j = 0, as RFC 4187 Appendix A has it):
//
//	XVAL = XKEY
//	w_i  = G(t, XVAL)
//	XKEY = (1 + XKEY + w_i) mod 2^160
func fips186Step(xkey, w *[20]byte) {
	fips186G(w, xkey)
	carry := uint16(1)
	for i := len(xkey) - 1; i >= 0; i-- {
		carry += uint16(xkey[i]) + uint16(w[i])
		xkey[i] = byte(carry)
		carry >>= 8
	}
}

// fips186PRF fills out, whose length is a multiple of 20, with w_0 | w_1 |
// w_2 ... The x_j of step 3.3 are consecutive pairs of w, and RFC 4187
// Appendix A drops the mod q of step 3.3, so the output is just the
// concatenation.
func fips186PRF(xkey *[20]byte, out []byte) {
	x := *xkey
	var w [20]byte
	for off := 0; off < len(out); off += len(w) {
		fips186Step(&x, &w)
		copy(out[off:], w[:])
	}
	clear(x[:])
	clear(w[:])
}

// FIPS186PRF fills out with the pseudo-random function of FIPS 186-2 change
// notice 1 (Appendix 3.1, G from Appendix 3.3) in the form RFC 4187 Appendix
// A and RFC 4186 Appendix B specify: b = 160, XSEED_j = 0, G the SHA-1
// compression function without padding, two w per round, arithmetic mod
// 2^160 and no reduction mod q. xkey is the seed (MK, or XKEY' for fast
// re-authentication) and is not modified. len(out) must be a multiple of 40
// (one round); otherwise FIPS186PRF returns ErrPRFLength and leaves out
// untouched.
func FIPS186PRF(xkey *[20]byte, out []byte) error {
	if len(out)%fips186Round != 0 {
		return ErrPRFLength
	}
	fips186PRF(xkey, out)
	return nil
}

// DeriveAKA derives the EAP-AKA keys (RFC 4187 clause 7):
//
//	MK = SHA1(Identity|IK|CK)
//	K_encr | K_aut | MSK | EMSK = PRF(MK), 16 + 16 + 64 + 64 octets
//
// identity is the identity the peer last used (AT_IDENTITY or the
// EAP-Response/Identity), without a terminating null. out is overwritten
// entirely; MK is kept in it for fast re-authentication, K_re is zero.
func DeriveAKA(identity []byte, ik, ck *[16]byte, out *Keys) {
	var mk [sha1.Size]byte
	h := sha1.New()
	h.Write(identity)
	h.Write(ik[:])
	h.Write(ck[:])
	h.Sum(mk[:0])

	var ks [akaKeyStream]byte
	fips186PRF(&mk, ks[:])
	*out = Keys{MK: mk, KAutLen: 16}
	copy(out.KEncr[:], ks[0:16])
	copy(out.KAut[:16], ks[16:32])
	copy(out.MSK[:], ks[32:96])
	copy(out.EMSK[:], ks[96:160])
	clear(ks[:])
	clear(mk[:])
}

// eapAKAPrime and eapAKAPrimeReauth are the literal prefixes of the PRF'
// input S in RFC 9048 clause 3.3.
var (
	eapAKAPrime       = []byte("EAP-AKA'")
	eapAKAPrimeReauth = []byte("EAP-AKA' re-auth")
)

// DeriveAKAPrime derives the EAP-AKA' keys (RFC 9048 clause 3.3):
//
//	MK = PRF'(IK'|CK', "EAP-AKA'"|Identity)
//	K_encr = MK[0..127], K_aut = MK[128..383], K_re = MK[384..639],
//	MSK = MK[640..1151], EMSK = MK[1152..1663]
//
// (208 octets in all; PRF' is described at prfPrime). out is overwritten
// entirely; MK is not kept (EAP-AKA' re-authentication uses K_re).
func DeriveAKAPrime(identity []byte, ikPrime, ckPrime *[16]byte, out *Keys) {
	var key [32]byte
	copy(key[:16], ikPrime[:])
	copy(key[16:], ckPrime[:])

	var mk [akaPrimeMK]byte
	prfPrime(&key, mk[:], eapAKAPrime, identity)
	*out = Keys{KAutLen: 32}
	copy(out.KEncr[:], mk[0:16])
	copy(out.KAut[:], mk[16:48])
	copy(out.KRe[:], mk[48:80])
	copy(out.MSK[:], mk[80:144])
	copy(out.EMSK[:], mk[144:208])
	clear(mk[:])
	clear(key[:])
}

// DeriveReauthAKA derives the MSK and EMSK of an EAP-AKA fast
// re-authentication (RFC 4187 clause 7):
//
//	XKEY' = SHA1(Identity|counter|NONCE_S|MK)
//	MSK | EMSK = PRF(XKEY'), the first 64 + 64 octets
//
// identity is the re-authentication identity and counter the AT_COUNTER
// value, encoded as two octets in network byte order. The PRF is run for
// four full rounds (160 octets), of which 128 are used.
func DeriveReauthAKA(identity []byte, counter uint16, nonceS *[16]byte, mk *[20]byte) (msk, emsk [64]byte) {
	xkey := reauthXKEY(identity, counter, nonceS, mk)
	var ks [akaKeyStream]byte
	fips186PRF(&xkey, ks[:])
	copy(msk[:], ks[0:64])
	copy(emsk[:], ks[64:128])
	clear(ks[:])
	clear(xkey[:])
	return msk, emsk
}

// reauthXKEY computes XKEY' = SHA1(Identity|counter|NONCE_S|MK) (RFC 4187
// clause 7).
func reauthXKEY(identity []byte, counter uint16, nonceS *[16]byte, mk *[20]byte) (xkey [sha1.Size]byte) {
	var ctr [2]byte
	binary.BigEndian.PutUint16(ctr[:], counter)
	h := sha1.New()
	h.Write(identity)
	h.Write(ctr[:])
	h.Write(nonceS[:])
	h.Write(mk[:])
	h.Sum(xkey[:0])
	return xkey
}

// DeriveReauthAKAPrime derives the MSK and EMSK of an EAP-AKA' fast
// re-authentication (RFC 9048 clause 3.3):
//
//	MK = PRF'(K_re, "EAP-AKA' re-auth"|Identity|counter|NONCE_S)
//	MSK = MK[0..511], EMSK = MK[512..1023]
//
// counter is the AT_COUNTER value as two octets in network byte order.
func DeriveReauthAKAPrime(identity []byte, counter uint16, nonceS *[16]byte, kRe *[32]byte) (msk, emsk [64]byte) {
	var ctr [2]byte
	binary.BigEndian.PutUint16(ctr[:], counter)
	var mk [reauthPrimeMK]byte
	prfPrime(kRe, mk[:], eapAKAPrimeReauth, identity, ctr[:], nonceS[:])
	copy(msk[:], mk[0:64])
	copy(emsk[:], mk[64:128])
	clear(mk[:])
	return msk, emsk
}
