// Package milenage implements the 3GPP MILENAGE algorithm set (3GPP TS 35.206,
// "Specification of the MILENAGE algorithm set: an example algorithm set for
// the 3GPP authentication and key generation functions f1, f1*, f2, f3, f4,
// f5 and f5*"), built on AES-128 as the kernel function E_K (TS 35.206 clause
// 4.1 leaves the block cipher open; Rijndael/AES-128 is the one specified).
//
// The package is pure: no I/O, no globals, no logging. After New, every
// function works on fixed-size arrays and does not allocate, so an
// authentication vector costs no garbage on the hot path.
//
// K, OP and OPc are secrets. Their types, and Cipher, print as "REDACTED"
// with every fmt verb so that a stray log line cannot disclose them. The
// protection covers values that fmt can reach through exported fields or
// directly; a struct that keeps one of them in an unexported field should
// redact itself too.
package milenage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"sync"
)

// Key is the subscriber key K (128 bits, TS 35.206 clause 2.3).
type Key [16]byte

// OP is the operator variant algorithm configuration field (TS 35.206
// clause 2.3).
type OP [16]byte

// OPc is the value derived from OP and K (TS 35.206 clause 4.1); an HSS
// normally stores OPc per subscriber rather than OP.
type OPc [16]byte

// Rotation amounts r1..r5 of TS 35.206 clause 4.1, in bytes: the
// specification gives 64, 0, 32, 64 and 96 bits, all multiples of eight, so a
// rotation is a byte permutation.
const (
	r1 = 64 / 8
	r2 = 0 / 8
	r3 = 32 / 8
	r4 = 64 / 8
	r5 = 96 / 8
)

// Constants c1..c5 of TS 35.206 clause 4.1: 128-bit values that are zero
// except for the least significant byte, which is 0, 1, 2, 4 and 8.
const (
	c1 = 0
	c2 = 1
	c3 = 2
	c4 = 4
	c5 = 8
)

// ComputeOPc derives OPc = OP xor E_K(OP) (TS 35.206 clause 4.1).
func ComputeOPc(k Key, op OP) OPc {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		// aes.NewCipher fails only for a key length other than 16, 24 or
		// 32 octets, which the Key type rules out.
		panic("milenage: " + err.Error())
	}
	var opc OPc
	b.Encrypt(opc[:], op[:])
	subtle.XORBytes(opc[:], opc[:], op[:])
	return opc
}

// Cipher holds one subscriber's expanded AES-128 key schedule of K and OPc,
// ready to compute the MILENAGE functions. It is safe for concurrent use.
type Cipher struct {
	block cipher.Block
	opc   OPc
	// s is the block the kernel encrypts in place. A cipher.Block is an
	// interface, and a buffer handed to an interface method escapes to
	// the heap, so a stack buffer would cost an allocation per call. The
	// pre-allocated block, guarded by a mutex, keeps every function
	// allocation-free while the Cipher remains safe to share. It sits
	// behind a pointer so that copying a Cipher (for example into fmt)
	// never copies the lock.
	s *scratch
}

type scratch struct {
	mu  sync.Mutex
	buf [16]byte
}

// New expands K into an AES-128 key schedule and keeps OPc beside it.
func New(k Key, opc OPc) *Cipher {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		// Unreachable: Key is always 16 octets.
		panic("milenage: " + err.Error())
	}
	return &Cipher{block: b, opc: opc, s: new(scratch)}
}

// encrypt computes E_K(in) for the kernel. The caller must hold c.s.mu.
func (c *Cipher) encrypt(out, in *[16]byte) {
	c.s.buf = *in
	c.block.Encrypt(c.s.buf[:], c.s.buf[:])
	*out = c.s.buf
	// Do not leave key-dependent output in long-lived heap memory.
	c.s.buf = [16]byte{}
}

// temp computes TEMP = E_K(RAND xor OPc) (TS 35.206 clause 4.1), the block
// that all of f1..f5* start from. The caller must hold c.s.mu.
func (c *Cipher) temp(rand *[16]byte) (t [16]byte) {
	subtle.XORBytes(t[:], rand[:], c.opc[:])
	c.encrypt(&t, &t)
	return t
}

// out1 computes OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc with
// IN1 = SQN || AMF || SQN || AMF (TS 35.206 clause 4.1). MAC-A (f1) is its
// first half and MAC-S (f1*) its second half.
func (c *Cipher) out1(rand *[16]byte, sqn [6]byte, amf [2]byte) (out [16]byte) {
	var in1 [16]byte
	copy(in1[0:6], sqn[:])
	copy(in1[6:8], amf[:])
	copy(in1[8:14], sqn[:])
	copy(in1[14:16], amf[:])
	subtle.XORBytes(in1[:], in1[:], c.opc[:])

	c.s.mu.Lock()
	t := c.temp(rand)
	var x [16]byte
	for i := range x {
		x[i] = t[i] ^ in1[(i+r1)%16]
	}
	x[15] ^= c1
	c.encrypt(&out, &x)
	c.s.mu.Unlock()

	subtle.XORBytes(out[:], out[:], c.opc[:])
	return out
}

// outN computes OUTn = E_K(rot(TEMP xor OPc, r) xor c) xor OPc for n = 2..5
// (TS 35.206 clause 4.1). tOPc is TEMP xor OPc. The caller must hold c.s.mu.
func (c *Cipher) outN(tOPc *[16]byte, r int, cn byte) (out [16]byte) {
	var x [16]byte
	for i := range x {
		x[i] = tOPc[(i+r)%16]
	}
	x[15] ^= cn
	c.encrypt(&out, &x)
	subtle.XORBytes(out[:], out[:], c.opc[:])
	return out
}

// F1 is the network authentication function: MAC-A = OUT1[0..63]
// (TS 35.206 clause 4.1).
func (c *Cipher) F1(rand *[16]byte, sqn [6]byte, amf [2]byte) (macA [8]byte) {
	out := c.out1(rand, sqn, amf)
	copy(macA[:], out[0:8])
	return macA
}

// F1Star is the resynchronisation message authentication function:
// MAC-S = OUT1[64..127] (TS 35.206 clause 4.1). For an AUTS the AMF is
// 0x0000 (TS 33.102 clause 6.3.3).
func (c *Cipher) F1Star(rand *[16]byte, sqn [6]byte, amf [2]byte) (macS [8]byte) {
	out := c.out1(rand, sqn, amf)
	copy(macS[:], out[8:16])
	return macS
}

// F2345 computes RES (f2), CK (f3), IK (f4) and AK (f5) in one pass: they
// share TEMP, so computing them together costs four block encryptions rather
// than eight (TS 35.206 clause 4.1: RES = OUT2[64..127], AK = OUT2[0..47],
// CK = OUT3, IK = OUT4).
func (c *Cipher) F2345(rand *[16]byte) (res [8]byte, ck, ik [16]byte, ak [6]byte) {
	c.s.mu.Lock()
	t := c.temp(rand)
	subtle.XORBytes(t[:], t[:], c.opc[:])
	out2 := c.outN(&t, r2, c2)
	ck = c.outN(&t, r3, c3)
	ik = c.outN(&t, r4, c4)
	c.s.mu.Unlock()

	copy(res[:], out2[8:16])
	copy(ak[:], out2[0:6])
	return res, ck, ik, ak
}

// F5Star is the resynchronisation anonymity key function:
// AK* = OUT5[0..47] (TS 35.206 clause 4.1).
func (c *Cipher) F5Star(rand *[16]byte) (akStar [6]byte) {
	c.s.mu.Lock()
	t := c.temp(rand)
	subtle.XORBytes(t[:], t[:], c.opc[:])
	out5 := c.outN(&t, r5, c5)
	c.s.mu.Unlock()

	copy(akStar[:], out5[0:6])
	return akStar
}
