package eap

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
)

// K_aut sizes: EAP-AKA derives a 128-bit K_aut (RFC 4187 §7), EAP-AKA' a
// 256-bit one (RFC 9048 §3.3).
const (
	kAutLenAKA      = 16
	kAutLenAKAPrime = 32
)

// hmacBlock is the block size of SHA-1 and SHA-256 (RFC 2104 §2: B = 64).
const hmacBlock = 64

// SetMAC computes the AT_MAC value of pkt and writes it into
// pkt[macOffset:macOffset+16], zeroing the field first (RFC 4187 §10.15).
// EAP-AKA uses HMAC-SHA1-128 with a 16-octet K_aut; EAP-AKA' HMAC-SHA-256-128
// with a 32-octet K_aut (RFC 9048 §3.4.2). The MAC covers the EAP packet (up
// to its Length field) with the MAC value zeroed, followed by extra: nothing
// for a challenge, NONCE_S for a re-authentication response (RFC 4187
// §10.15).
//
// macOffset is the one Builder.Finish returned. SetMAC panics if t is not
// AKA or AKA' or not the packet's Type, kAut has the wrong length for t, or
// macOffset is not the value of an AT_MAC inside the packet: all are programming errors, never
// peer input, and writing no MAC would fail later and out of sight. It does
// not allocate.
func SetMAC(t Type, kAut []byte, pkt []byte, macOffset int, extra []byte) {
	p, ok := macInput(t, kAut, pkt, macOffset)
	if !ok {
		panic("eap: SetMAC: bad type, key length or mac offset")
	}
	clear(p[macOffset : macOffset+macLen])
	sum := computeMAC(t, kAut, p, macOffset, extra)
	copy(p[macOffset:macOffset+macLen], sum[:macLen])
	clear(sum[:])
}

// VerifyMAC reports whether pkt carries the right AT_MAC value at macOffset
// (Attrs.MACOffset from ParseAKA) for K_aut kAut and extra, with the rules
// of SetMAC. pkt is not modified: the HMAC is computed in pieces, with 16 zero
// octets in place of the MAC value, and compared in constant time with
// hmac.Equal.
//
// It returns false, never panics, for a type other than AKA/AKA' or other
// than the packet's Type, a key of the wrong length, an offset that is not an
// AT_MAC value inside the packet, or a packet shorter than its Length field. It does not allocate.
func VerifyMAC(t Type, kAut []byte, pkt []byte, macOffset int, extra []byte) bool {
	p, ok := macInput(t, kAut, pkt, macOffset)
	if !ok {
		return false
	}
	sum := computeMAC(t, kAut, p, macOffset, extra)
	return hmac.Equal(sum[:macLen], p[macOffset:macOffset+macLen])
}

// macInput checks the arguments of SetMAC and VerifyMAC and returns the
// packet cut at its EAP Length, so that lower-layer padding beyond it is not
// covered (RFC 3748 §4.1).
func macInput(t Type, kAut []byte, pkt []byte, macOffset int) ([]byte, bool) {
	switch {
	case t == TypeAKA && len(kAut) == kAutLenAKA:
	case t == TypeAKAPrime && len(kAut) == kAutLenAKAPrime:
	default:
		return nil, false
	}
	if len(pkt) < akaHeaderLen {
		return nil, false
	}
	n := int(pkt[2])<<8 | int(pkt[3])
	if n < akaHeaderLen || n > len(pkt) {
		return nil, false
	}
	p := pkt[:n]
	// The algorithm follows the packet's own Type (RFC 9048 §3.4.2).
	if p[4] != byte(t) {
		return nil, false
	}
	// The value follows an AT_MAC header (Type 11, Length 5, Reserved)
	// after the EAP-AKA header: anything else is a wrong offset.
	if macOffset < akaHeaderLen+4 || macOffset > n-macLen ||
		p[macOffset-4] != byte(AttrMAC) || p[macOffset-3] != (4+macLen)/attrUnit {
		return nil, false
	}
	return p, true
}

// computeMAC returns the full HMAC of p, with p[off:off+16] taken as zeros,
// followed by extra. For EAP-AKA only the first 20 octets are set.
func computeMAC(t Type, kAut, p []byte, off int, extra []byte) [sha256.Size]byte {
	var sum [sha256.Size]byte
	if t == TypeAKAPrime {
		sum = hmacSHA256Pieces(kAut, p, off, extra)
	} else {
		s := hmacSHA1Pieces(kAut, p, off, extra)
		copy(sum[:], s[:])
	}
	return sum
}

// hmacSHA1Pieces is HMAC-SHA1 (RFC 2104) over p[:off], 16 zero octets,
// p[off+16:] and extra. It is written out rather than built on crypto/hmac
// so that nothing allocates: hmac.New allocates its state, while a local
// sha1.New is inlined and stays on the stack (TestMACAllocs pins this). A
// test checks it against crypto/hmac.
func hmacSHA1Pieces(key, p []byte, off int, extra []byte) [sha1.Size]byte {
	// macInput let through keys of 16 or 32 octets only, shorter than
	// the block, so RFC 2104's hashing of long keys never applies.
	var pad [hmacBlock]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	h := sha1.New()
	h.Write(pad[:])
	h.Write(p[:off])
	var zero [macLen]byte // the MAC value, zeroed (RFC 4187 §10.15)
	h.Write(zero[:])
	h.Write(p[off+macLen:])
	h.Write(extra)
	var inner, out [sha1.Size]byte
	h.Sum(inner[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad[:])
	h.Write(inner[:])
	h.Sum(out[:0])
	clear(pad[:])
	return out
}

// hmacSHA256Pieces is hmacSHA1Pieces with SHA-256.
func hmacSHA256Pieces(key, p []byte, off int, extra []byte) [sha256.Size]byte {
	// macInput let through keys of 16 or 32 octets only, shorter than
	// the block, so RFC 2104's hashing of long keys never applies.
	var pad [hmacBlock]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	h := sha256.New()
	h.Write(pad[:])
	h.Write(p[:off])
	var zero [macLen]byte // the MAC value, zeroed (RFC 4187 §10.15)
	h.Write(zero[:])
	h.Write(p[off+macLen:])
	h.Write(extra)
	var inner, out [sha256.Size]byte
	h.Sum(inner[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad[:])
	h.Write(inner[:])
	h.Sum(out[:0])
	clear(pad[:])
	return out
}
