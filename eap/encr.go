package eap

import (
	"crypto/aes"
	"crypto/subtle"
	"errors"
)

// ErrEncrData: AT_ENCR_DATA cannot be decrypted: the IV is not 16 octets
// (AT_IV missing or malformed), the ciphertext is empty, not whole AES
// blocks or longer than MaxEncrDataLen, or the scratch buffer is shorter
// than the ciphertext (RFC 4187 §10.12).
var ErrEncrData = errors.New("eap: invalid encrypted data")

// MaxEncrDataLen is the longest AT_ENCR_DATA value: the largest multiple of
// 16 that fits an attribute of 255 units after its Type, Length and Reserved
// octets. A scratch buffer of this size fits any ciphertext ParseAKA
// accepts.
const MaxEncrDataLen = (maxAttrLen - 4) / encrBlock * encrBlock

// InnerBuilder builds the plaintext attribute list of AT_ENCR_DATA (RFC 4187
// §10.12) in a caller buffer, for Builder.AddEncrypted: AT_NEXT_PSEUDONYM,
// AT_NEXT_REAUTH_ID, AT_COUNTER, AT_COUNTER_TOO_SMALL and AT_NONCE_S, with
// the size rules of Builder. Like Builder it records the first error, which
// AddEncrypted hands on to the message, so that Finish reports it.
type InnerBuilder struct {
	b Builder
}

// NewInnerBuilder starts an attribute list by appending to buf (pass
// buf[:0] to reuse a buffer). buf must not share memory with the buffer of
// the Builder the list is later added to.
func NewInnerBuilder(buf []byte) InnerBuilder {
	return InnerBuilder{b: Builder{buf: buf, start: len(buf), mac: -1}}
}

// AddIdentityLike adds AT_NEXT_PSEUDONYM or AT_NEXT_REAUTH_ID (RFC 4187
// §10.10, §10.11), as Builder.AddIdentityLike does.
func (b *InnerBuilder) AddIdentityLike(t AttrType, v []byte) {
	switch t {
	case AttrNextPseudonym, AttrNextReauthID:
		b.b.AddIdentityLike(t, v)
	default:
		b.b.fail(t, errBuilderKind)
	}
}

// AddUint16 adds AT_COUNTER (RFC 4187 §10.16).
func (b *InnerBuilder) AddUint16(t AttrType, v uint16) {
	if t != AttrCounter {
		b.b.fail(t, errBuilderKind)
		return
	}
	b.b.AddUint16(t, v)
}

// AddFlag adds AT_COUNTER_TOO_SMALL (RFC 4187 §10.17).
func (b *InnerBuilder) AddFlag(t AttrType) {
	if t != AttrCounterTooSmall {
		b.b.fail(t, errBuilderKind)
		return
	}
	b.b.AddFlag(t)
}

// AddNonceS adds AT_NONCE_S (RFC 4187 §10.18).
func (b *InnerBuilder) AddNonceS(v *[16]byte) { b.b.AddNonceS(v) }

// AddEncrypted adds AT_IV with iv and AT_ENCR_DATA holding the attributes of
// inner, padded with AT_PADDING to a multiple of 16 octets (none if they
// already are) and encrypted with AES-128-CBC under K_encr kEncr and iv (RFC
// 4187 §10.12). Both precede AT_MAC, so that it covers them: call AddMAC
// afterwards. iv must be 16 fresh random octets (crypto/rand) for every
// message.
//
// The plaintext is copied into the message and encrypted there; inner is
// not modified. An error of inner is recorded as the builder's; an empty
// inner or one longer than MaxEncrDataLen once padded is an *AttrError for
// AT_ENCR_DATA with ErrAttrLen, and AT_IV or AT_ENCR_DATA already added one
// with ErrDuplicateAttr. The only allocation is the AES key schedule of
// aes.NewCipher.
func (b *Builder) AddEncrypted(kEncr *[16]byte, iv *[16]byte, inner *InnerBuilder) {
	if b.err != nil {
		return
	}
	if inner == nil {
		b.fail(AttrEncrData, ErrAttrLen)
		return
	}
	if inner.b.err != nil {
		b.err = inner.b.err
		return
	}
	pt := inner.b.buf[inner.b.start:]
	// Attributes are whole 4-octet units, so the padding is 0, 4, 8 or 12
	// octets: one AT_PADDING at most (RFC 4187 §10.12).
	pad := (encrBlock - len(pt)%encrBlock) % encrBlock
	n := len(pt) + pad
	if n == 0 || n > MaxEncrDataLen {
		b.fail(AttrEncrData, ErrAttrLen)
		return
	}
	b.add16(AttrIV, iv)
	if !b.begin(AttrEncrData) {
		return
	}
	b.buf = append(b.buf, byte(AttrEncrData), byte((4+n)/attrUnit), 0, 0)
	b.buf = append(b.buf, pt...)
	if pad > 0 {
		b.buf = append(b.buf, byte(AttrPadding), byte(pad/attrUnit))
		b.buf = append(b.buf, make([]byte, pad-2)...)
	}
	c, err := aes.NewCipher(kEncr[:])
	if err != nil {
		// Unreachable: the key is 16 octets.
		b.fail(AttrEncrData, err)
		return
	}
	// CBC by hand, in place: cipher.NewCBCEncrypter would allocate.
	ct := b.buf[len(b.buf)-n:]
	prev := iv[:]
	for i := 0; i < n; i += encrBlock {
		blk := ct[i : i+encrBlock : i+encrBlock]
		subtle.XORBytes(blk, blk, prev)
		c.Encrypt(blk, blk)
		prev = blk
	}
}

// DecryptAttrs decrypts an AT_ENCR_DATA value encr (Attrs.EncrData) with
// K_encr kEncr and the AT_IV value iv (Attrs.IV), AES-128-CBC, into scratch,
// and parses the plaintext as attributes (RFC 4187 §10.12). The returned
// Attrs' slices point into scratch, which must hold len(encr) octets
// (MaxEncrDataLen always does); scratch may be encr itself, to decrypt in
// place. Call it only after VerifyMAC: AT_MAC, not this parser, is what
// tells a forged or wrongly keyed ciphertext.
//
// An iv that is not 16 octets, an encr that is empty, not whole blocks or
// longer than MaxEncrDataLen, and a short scratch are ErrEncrData. The
// plaintext follows the rules of ParseAKA and may hold only
// AT_NEXT_PSEUDONYM, AT_NEXT_REAUTH_ID, AT_COUNTER, AT_COUNTER_TOO_SMALL,
// AT_NONCE_S, unknown skippable attributes and, last, AT_PADDING with zero
// octets; any other known attribute (AT_RAND, AT_MAC, a nested AT_ENCR_DATA,
// ...) or AT_PADDING before the end is an *AttrError with ErrAttrValue.
//
// On error the returned Attrs is the zero value and the decrypted octets in
// scratch are cleared. DecryptAttrs allocates once, for the AES key schedule
// of aes.NewCipher, plus the *AttrError it returns on a bad attribute.
func DecryptAttrs(kEncr *[16]byte, iv, encr []byte, scratch []byte) (Attrs, error) {
	n := len(encr)
	if len(iv) != encrBlock || n == 0 || n%encrBlock != 0 || n > MaxEncrDataLen || len(scratch) < n {
		return Attrs{}, ErrEncrData
	}
	var v [encrBlock]byte // iv may lie in scratch
	copy(v[:], iv)
	c, err := aes.NewCipher(kEncr[:])
	if err != nil {
		// Unreachable: the key is 16 octets.
		return Attrs{}, ErrEncrData
	}
	// CBC by hand, in place from the last block to the first, so that each
	// block's predecessor is still ciphertext when it is needed: any
	// overlap of encr and scratch is fine, and nothing allocates, unlike
	// cipher.NewCBCDecrypter.
	pt := scratch[:n:n]
	copy(pt, encr)
	for i := n - encrBlock; i >= 0; i -= encrBlock {
		blk := pt[i : i+encrBlock : i+encrBlock]
		c.Decrypt(blk, blk)
		if i == 0 {
			subtle.XORBytes(blk, blk, v[:])
		} else {
			subtle.XORBytes(blk, blk, pt[i-encrBlock:i])
		}
	}
	a := Attrs{MACOffset: -1}
	if err := a.parse(pt, 0); err != nil {
		clear(pt)
		return Attrs{}, err
	}
	// parse checked every length, so the walk is safe.
	for off := 0; off < n; {
		t := AttrType(pt[off])
		l := int(pt[off+1]) * attrUnit
		if !encrAllowed(t) || t == AttrPadding && off+l != n {
			clear(pt)
			return Attrs{}, &AttrError{Type: t, Err: ErrAttrValue}
		}
		off += l
	}
	return a, nil
}

// encrAllowed reports whether attribute t may appear inside AT_ENCR_DATA
// (RFC 4187 §10.10-10.12, §10.16-10.18): the attributes sent encrypted,
// AT_PADDING and unknown skippable ones (RFC 4187 §8.1).
func encrAllowed(t AttrType) bool {
	switch t {
	case AttrNextPseudonym, AttrNextReauthID, AttrCounter, AttrCounterTooSmall,
		AttrNonceS, AttrPadding:
		return true
	}
	return t >= 128 && !t.known()
}
