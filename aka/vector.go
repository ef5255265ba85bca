// Package aka holds the 3GPP AKA authentication vector and the key derivations
// that EAP-AKA (RFC 4187) and EAP-AKA' (RFC 9048) build on: the vector itself
// (TS 33.102 6.3), sequence numbers (TS 33.102 Annex C), CK'/IK' (TS 33.402
// Annex A.2), the EAP-AKA and EAP-AKA' master keys and resynchronisation
// (AUTS) checks.
//
// The package is pure: no I/O, no globals, no logging. Key material is held in
// fixed-size arrays so that nothing allocates on the hot path and so that a
// vector can be zeroed when it is no longer needed.
package aka

import (
	"errors"
	"fmt"
)

// Sizes fixed by TS 33.102 and TS 33.105.
const (
	RANDLen = 16
	AUTNLen = 16
	AUTSLen = 14
	SQNLen  = 6
	AMFLen  = 2
	KeyLen  = 16 // CK, IK, CK', IK'
	MaxRES  = 16 // RES/XRES are 4..16 octets (TS 33.102 6.3.2); Milenage gives 8
)

// AMFSeparationBit is bit 0 of the AMF (its most significant bit), which
// TS 33.102 Annex H / TS 33.402 6.1 set for vectors meant for non-3GPP access
// with EAP-AKA'. Peers refuse an AKA' challenge without it.
const AMFSeparationBit = 0x8000

// Sentinel errors a vector source returns; the EAP layer tells them apart with
// errors.Is, so that an unknown subscriber is a clean reject while a backend
// outage is not mistaken for one.
var (
	// ErrUnknownSubscriber: the vector source has no record for the IMSI.
	ErrUnknownSubscriber = errors.New("aka: unknown subscriber")
	// ErrVectorRate: the subscriber has had as many vectors as its rate
	// allows for now; its SQN must not be run up (TS 33.102 C.2.2).
	ErrVectorRate = errors.New("aka: vector rate for the subscriber exceeded")
	// ErrNotAuthorized: the subscriber exists but may not use this
	// access or method (an HSS over SWx answering
	// DIAMETER_ERROR_USER_NO_NON_3GPP_SUBSCRIPTION, ROAMING_NOT_ALLOWED,
	// RAT_NOT_ALLOWED or AUTH_SCHEME_NOT_SUPPORTED, or a profile whose
	// Non-3GPP-IP-Access is barred). A clean reject, like
	// ErrUnknownSubscriber.
	ErrNotAuthorized = errors.New("aka: subscriber not authorized for this access")
	// ErrAUTSInvalid: AUTS failed its MAC-S check (TS 33.102 6.3.5).
	ErrAUTSInvalid = errors.New("aka: AUTS MAC-S mismatch")
)

// Vector is one authentication vector (quintet), TS 33.102 6.3.2.
//
// For EAP-AKA' a vector source may hand back CK'/IK' already derived (a remote
// HSS over SWx does, TS 29.273 8.2.3.1): Prime says which pair CK and IK hold,
// so the EAP layer never derives twice.
type Vector struct {
	RAND [RANDLen]byte
	AUTN [AUTNLen]byte // SQN xor AK || AMF || MAC-A
	XRES [MaxRES]byte  // the first XRESLen octets are valid
	// XRESLen is the length of XRES in octets (4..16).
	XRESLen uint8
	CK      [KeyLen]byte // CK, or CK' when Prime
	IK      [KeyLen]byte // IK, or IK' when Prime
	// Prime is true when CK and IK hold CK' and IK' (TS 33.402 Annex A.2)
	// derived for the access network name the vector was requested for.
	Prime bool
}

// Res returns the valid octets of XRES.
func (v *Vector) Res() []byte { return v.XRES[:v.XRESLen] }

// SQNxorAK returns the first six octets of AUTN, the input P1 of the CK'/IK'
// derivation.
func (v *Vector) SQNxorAK() [SQNLen]byte {
	var s [SQNLen]byte
	copy(s[:], v.AUTN[:SQNLen])
	return s
}

// Clear zeroes the key material, for use when a conversation ends.
func (v *Vector) Clear() { *v = Vector{} }

// String keeps keys out of logs: a Vector printed with %v shows nothing secret.
func (v Vector) String() string { return "aka.Vector{REDACTED}" }

// GoString does the same for %#v.
func (v Vector) GoString() string { return v.String() }

// Format makes every verb (%x, %d, %v...) print the redacted form, so no
// format string can leak CK, IK or XRES.
func (v Vector) Format(f fmt.State, _ rune) { f.Write([]byte(v.String())) }
