package aka

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// This file holds the two hash constructions the EAP methods need that the
// standard library does not offer directly:
//
//   - the bare SHA-1 compression function, which the FIPS 186-2 PRF of
//     RFC 4186/4187 uses as its G function (crypto/sha1 exposes only the
//     padded hash), and
//   - HMAC-SHA-256 and PRF' written against sha256.New in local variables,
//     which the compiler devirtualises and keeps on the stack; crypto/hmac
//     allocates half a dozen objects per key.

// sha1IV is the SHA-1 initial hash value H0..H4 (FIPS 180-2 clause 5.3.1),
// the t of FIPS 186-2 Appendix 3.3.
var sha1IV = [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}

// sha1Block applies the SHA-1 compression function (FIPS 180-2 clause
// 6.1.2, steps 1-4, including the final addition into h) to one 64-octet
// block, with no padding and no length encoding.
func sha1Block(h *[5]uint32, p *[64]byte) {
	var w [16]uint32
	for i := range w {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
	// One loop per round function, so that f and K are not selected per
	// step. The message schedule lives in a 16-word ring.
	i := 0
	for ; i < 16; i++ {
		f := (b & c) | (^b & d)
		t := bits.RotateLeft32(a, 5) + f + e + w[i] + 0x5A827999
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for ; i < 20; i++ {
		f := (b & c) | (^b & d)
		t := bits.RotateLeft32(a, 5) + f + e + sched(&w, i) + 0x5A827999
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for ; i < 40; i++ {
		f := b ^ c ^ d
		t := bits.RotateLeft32(a, 5) + f + e + sched(&w, i) + 0x6ED9EBA1
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for ; i < 60; i++ {
		f := (b & c) | (b & d) | (c & d)
		t := bits.RotateLeft32(a, 5) + f + e + sched(&w, i) + 0x8F1BBCDC
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for ; i < 80; i++ {
		f := b ^ c ^ d
		t := bits.RotateLeft32(a, 5) + f + e + sched(&w, i) + 0xCA62C1D6
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
	clear(w[:])
}

// sched computes word i >= 16 of the SHA-1 message schedule,
// W_i = ROTL1(W_i-3 xor W_i-8 xor W_i-14 xor W_i-16), in a 16-word ring.
func sched(w *[16]uint32, i int) uint32 {
	x := w[(i-3)&15] ^ w[(i-8)&15] ^ w[(i-14)&15] ^ w[i&15]
	w[i&15] = bits.RotateLeft32(x, 1)
	return w[i&15]
}

// hmacPads returns K xor ipad and K xor opad (RFC 2104 clause 2) for a
// 32-octet key. Every key in this package (CK||IK, IK'||CK', K_re) is 32
// octets, shorter than the 64-octet SHA-256 block, so it is used directly.
func hmacPads(key *[32]byte) (ipad, opad [sha256.BlockSize]byte) {
	copy(ipad[:], key[:])
	copy(opad[:], key[:])
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return ipad, opad
}

// hmacSHA256 computes HMAC-SHA-256(key, parts[0] || parts[1] || ...)
// (RFC 2104) without allocating.
func hmacSHA256(key *[32]byte, parts ...[]byte) (mac [sha256.Size]byte) {
	ipad, opad := hmacPads(key)
	h := sha256.New()
	h.Write(ipad[:])
	for _, p := range parts {
		h.Write(p)
	}
	h.Sum(mac[:0])
	h.Reset()
	h.Write(opad[:])
	h.Write(mac[:])
	h.Sum(mac[:0])
	clear(ipad[:])
	clear(opad[:])
	return mac
}

// prfPrime fills out with PRF'(key, S) of RFC 9048 clause 3.4 (RFC 5448
// 3.4), S = s0 || s1 || ...:
//
//	PRF'(K,S) = T1 | T2 | T3 | T4 | ...
//	T1 = HMAC-SHA-256 (K, S | 0x01)
//	Tn = HMAC-SHA-256 (K, Tn-1 | S | n)
//
// n is one octet, so at most 255 blocks (8160 octets) exist; the callers
// here need at most 7.
func prfPrime(key *[32]byte, out []byte, s ...[]byte) {
	ipad, opad := hmacPads(key)
	inner := sha256.New()
	outer := sha256.New()
	var t [sha256.Size]byte
	var n [1]byte
	for off := 0; off < len(out); off += len(t) {
		n[0]++
		inner.Reset()
		inner.Write(ipad[:])
		if n[0] > 1 {
			inner.Write(t[:])
		}
		for _, p := range s {
			inner.Write(p)
		}
		inner.Write(n[:])
		inner.Sum(t[:0])
		outer.Reset()
		outer.Write(opad[:])
		outer.Write(t[:])
		outer.Sum(t[:0])
		copy(out[off:], t[:])
	}
	clear(t[:])
	clear(ipad[:])
	clear(opad[:])
}
