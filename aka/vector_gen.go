package aka

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"

	"github.com/aaa-project/aaa/milenage"
)

var (
	// ErrAlreadyPrime: ToPrime was called on a vector that already holds
	// CK'/IK'. Deriving twice would give keys the peer does not have.
	ErrAlreadyPrime = errors.New("aka: vector already holds CK'/IK'")
	// ErrNetworkNameTooLong: the access network name does not fit the
	// two-octet length L0 of the CK'/IK' derivation (TS 33.402 A.2), nor
	// AT_KDF_INPUT (RFC 9048 3.1).
	ErrNetworkNameTooLong = errors.New("aka: access network name longer than 65535 octets")
)

// NewVector builds a quintet as the AuC does (TS 33.102 clause 6.3.2):
//
//	MAC-A = f1(SQN, RAND, AMF), XRES = f2(RAND), CK = f3(RAND),
//	IK = f4(RAND), AK = f5(RAND)
//	AUTN  = SQN xor AK || AMF || MAC-A
//
// XRESLen is 8 (MILENAGE's RES length) and Prime is false. sqn must be at
// most MaxSQN; the caller obtains it from SQN.Next. For EAP-AKA' the AMF
// must have AMFSeparationBit set (TS 33.402 clause 6.1).
func NewVector(c *milenage.Cipher, rand *[RANDLen]byte, sqn SQN, amf uint16) Vector {
	sqnB := sqn.Bytes()
	var amfB [AMFLen]byte
	binary.BigEndian.PutUint16(amfB[:], amf)

	macA := c.F1(rand, sqnB, amfB)
	res, ck, ik, ak := c.F2345(rand)

	v := Vector{RAND: *rand, XRESLen: uint8(len(res)), CK: ck, IK: ik}
	subtle.XORBytes(v.AUTN[0:6], sqnB[:], ak[:])
	copy(v.AUTN[6:8], amfB[:])
	copy(v.AUTN[8:16], macA[:])
	copy(v.XRES[:], res[:])
	return v
}

// DeriveCKIKPrime derives CK' and IK' (TS 33.402 Annex A.2, with the KDF of
// TS 33.220 Annex B.2):
//
//	CK' || IK' = HMAC-SHA-256(CK || IK, S)
//	S = FC || P0 || L0 || P1 || L1
//	FC = 0x20, P0 = access network name, L0 = len(P0) in two octets,
//	P1 = SQN xor AK, L1 = 0x0006
//
// networkName is the access network identity (for example "WLAN"; TS 24.302
// defines the values), the same octets sent in AT_KDF_INPUT. It must be at most 65535
// octets, which ToPrime checks; for a longer name L0 holds the length modulo
// 65536 and the result matches no peer.
func DeriveCKIKPrime(ck, ik *[KeyLen]byte, networkName []byte, sqnXorAK [SQNLen]byte) (ckPrime, ikPrime [KeyLen]byte) {
	var key [2 * KeyLen]byte
	copy(key[:KeyLen], ck[:])
	copy(key[KeyLen:], ik[:])
	fc := [1]byte{0x20}
	var l0 [2]byte
	binary.BigEndian.PutUint16(l0[:], uint16(len(networkName)))
	l1 := [2]byte{0x00, SQNLen}

	out := hmacSHA256(&key, fc[:], networkName, l0[:], sqnXorAK[:], l1[:])
	copy(ckPrime[:], out[:KeyLen])
	copy(ikPrime[:], out[KeyLen:])
	clear(out[:])
	clear(key[:])
	return ckPrime, ikPrime
}

// ToPrime replaces CK and IK of v by CK' and IK' for networkName and sets
// Prime (TS 33.402 Annex A.2). It returns ErrAlreadyPrime, leaving v
// unchanged, if v already holds CK'/IK' (for example from an HSS over SWx),
// and ErrNetworkNameTooLong if the name does not fit L0.
func (v *Vector) ToPrime(networkName []byte) error {
	if v.Prime {
		return ErrAlreadyPrime
	}
	if len(networkName) > 0xffff {
		return ErrNetworkNameTooLong
	}
	v.CK, v.IK = DeriveCKIKPrime(&v.CK, &v.IK, networkName, v.SQNxorAK())
	v.Prime = true
	return nil
}

// VerifyAUTS checks the AUTS of a Synchronization-Failure against the RAND
// of the challenge that provoked it (TS 33.102 clauses 6.3.3 and 6.3.5):
//
//	AUTS   = Conc(SQN_MS) || MAC-S
//	AK*    = f5*(RAND), SQN_MS = Conc(SQN_MS) xor AK*
//	MAC-S' = f1*(SQN_MS, RAND, AMF = 0x0000)
//
// MAC-S is compared in constant time. It returns SQN_MS, from which the
// next SQN follows with SQN.AfterResync, or ErrAUTSInvalid (and 0).
func VerifyAUTS(c *milenage.Cipher, rand *[RANDLen]byte, auts *[AUTSLen]byte) (SQN, error) {
	akStar := c.F5Star(rand)
	var sqnMS [SQNLen]byte
	subtle.XORBytes(sqnMS[:], auts[:SQNLen], akStar[:])
	// TS 33.102 6.3.3: the AMF is a dummy all-zero value in the
	// resynchronisation MAC, so that MAC-S can never be replayed as a
	// MAC-A.
	macS := c.F1Star(rand, sqnMS, [AMFLen]byte{})
	if subtle.ConstantTimeCompare(macS[:], auts[SQNLen:]) != 1 {
		return 0, ErrAUTSInvalid
	}
	return SQNFromBytes(sqnMS), nil
}
