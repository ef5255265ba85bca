package eap

// To add an EAP-AKA/AKA' attribute (AT_*), touch these places, in order:
//
//  1. the AttrType constant below, with the RFC section that defines it
//     (types 0..31 and 128..159 have a bit in Attrs.Present; a type outside
//     those ranges needs attrBit extended);
//  2. AttrType.String and AttrType.known;
//  3. a field in Attrs if the attribute carries a value (flags need none:
//     Has reports them);
//  4. a case in Attrs.set with the exact size rule of the RFC, and a row in
//     TestParseAKA_Rejects (attr_test.go) for each way the size can be wrong;
//  5. a Builder method, or the type added to the kind checked by AddFlag,
//     AddUint16 or AddIdentityLike, with the same size rule;
//  6. the test helpers in attr_test.go that the round-trip table and
//     FuzzParseAKA share (codecAllAttrs, akaRebuild, akaAttrsDiff), and a
//     row in TestAKARoundTrip.

import (
	"errors"
	"strconv"
	"strings"
)

// Subtype is the EAP-AKA Subtype field (RFC 4187 §11; EAP-AKA' reuses it,
// RFC 9048 §3).
type Subtype uint8

// EAP-AKA subtypes (RFC 4187 §11).
const (
	SubtypeChallenge              Subtype = 1
	SubtypeAuthenticationReject   Subtype = 2
	SubtypeSynchronizationFailure Subtype = 4
	SubtypeIdentity               Subtype = 5
	SubtypeNotification           Subtype = 12
	SubtypeReauthentication       Subtype = 13
	SubtypeClientError            Subtype = 14
)

// String returns the RFC 4187 name of s, or "unknown".
func (s Subtype) String() string {
	switch s {
	case SubtypeChallenge:
		return "AKA-Challenge"
	case SubtypeAuthenticationReject:
		return "AKA-Authentication-Reject"
	case SubtypeSynchronizationFailure:
		return "AKA-Synchronization-Failure"
	case SubtypeIdentity:
		return "AKA-Identity"
	case SubtypeNotification:
		return "AKA-Notification"
	case SubtypeReauthentication:
		return "AKA-Reauthentication"
	case SubtypeClientError:
		return "AKA-Client-Error"
	}
	return "unknown"
}

// AttrType is the type octet of an EAP-AKA attribute. Types below 128 are
// non-skippable, 128 and above skippable (RFC 4187 §8.1).
type AttrType uint8

// Attributes of RFC 4187 §10 and RFC 9048 §3-4.
const (
	AttrRAND            AttrType = 1   // RFC 4187 §10.6
	AttrAUTN            AttrType = 2   // RFC 4187 §10.7
	AttrRES             AttrType = 3   // RFC 4187 §10.8
	AttrAUTS            AttrType = 4   // RFC 4187 §10.9
	AttrPadding         AttrType = 6   // RFC 4187 §10.12
	AttrPermanentIDReq  AttrType = 10  // RFC 4187 §10.2
	AttrMAC             AttrType = 11  // RFC 4187 §10.15
	AttrNotification    AttrType = 12  // RFC 4187 §10.19
	AttrAnyIDReq        AttrType = 13  // RFC 4187 §10.3
	AttrIdentity        AttrType = 14  // RFC 4187 §10.5
	AttrFullauthIDReq   AttrType = 17  // RFC 4187 §10.4
	AttrCounter         AttrType = 19  // RFC 4187 §10.16
	AttrCounterTooSmall AttrType = 20  // RFC 4187 §10.17
	AttrNonceS          AttrType = 21  // RFC 4187 §10.18
	AttrClientErrorCode AttrType = 22  // RFC 4187 §10.20
	AttrKDFInput        AttrType = 23  // RFC 9048 §3.1
	AttrKDF             AttrType = 24  // RFC 9048 §3.2
	AttrIV              AttrType = 129 // RFC 4187 §10.12
	AttrEncrData        AttrType = 130 // RFC 4187 §10.12
	AttrNextPseudonym   AttrType = 132 // RFC 4187 §10.10
	AttrNextReauthID    AttrType = 133 // RFC 4187 §10.11
	AttrCheckcode       AttrType = 134 // RFC 4187 §10.13
	AttrResultInd       AttrType = 135 // RFC 4187 §10.14
	AttrBidding         AttrType = 136 // RFC 9048 §4
)

// String returns the RFC name of t ("AT_RAND"), or "unknown".
func (t AttrType) String() string {
	switch t {
	case AttrRAND:
		return "AT_RAND"
	case AttrAUTN:
		return "AT_AUTN"
	case AttrRES:
		return "AT_RES"
	case AttrAUTS:
		return "AT_AUTS"
	case AttrPadding:
		return "AT_PADDING"
	case AttrPermanentIDReq:
		return "AT_PERMANENT_ID_REQ"
	case AttrMAC:
		return "AT_MAC"
	case AttrNotification:
		return "AT_NOTIFICATION"
	case AttrAnyIDReq:
		return "AT_ANY_ID_REQ"
	case AttrIdentity:
		return "AT_IDENTITY"
	case AttrFullauthIDReq:
		return "AT_FULLAUTH_ID_REQ"
	case AttrCounter:
		return "AT_COUNTER"
	case AttrCounterTooSmall:
		return "AT_COUNTER_TOO_SMALL"
	case AttrNonceS:
		return "AT_NONCE_S"
	case AttrClientErrorCode:
		return "AT_CLIENT_ERROR_CODE"
	case AttrKDFInput:
		return "AT_KDF_INPUT"
	case AttrKDF:
		return "AT_KDF"
	case AttrIV:
		return "AT_IV"
	case AttrEncrData:
		return "AT_ENCR_DATA"
	case AttrNextPseudonym:
		return "AT_NEXT_PSEUDONYM"
	case AttrNextReauthID:
		return "AT_NEXT_REAUTH_ID"
	case AttrCheckcode:
		return "AT_CHECKCODE"
	case AttrResultInd:
		return "AT_RESULT_IND"
	case AttrBidding:
		return "AT_BIDDING"
	}
	return "unknown"
}

// known reports whether this codec understands t.
func (t AttrType) known() bool {
	switch t {
	case AttrRAND, AttrAUTN, AttrRES, AttrAUTS, AttrPadding,
		AttrPermanentIDReq, AttrMAC, AttrNotification, AttrAnyIDReq,
		AttrIdentity, AttrFullauthIDReq, AttrCounter, AttrCounterTooSmall,
		AttrNonceS, AttrClientErrorCode, AttrKDFInput, AttrKDF, AttrIV,
		AttrEncrData, AttrNextPseudonym, AttrNextReauthID, AttrCheckcode,
		AttrResultInd, AttrBidding:
		return true
	}
	return false
}

// attrBit returns the bit of a known attribute type in Attrs.Present: types
// 0..31 use bits 0..31 and types 128..159 bits 32..63, which covers every
// type assigned so far. ok is false for types this codec does not know.
func attrBit(t AttrType) (bit uint, ok bool) {
	if !t.known() {
		return 0, false
	}
	if t < 128 {
		return uint(t), true
	}
	return uint(t) - 96, true
}

// Sizes fixed by RFC 4187 §10 and RFC 9048 §3.
const (
	akaHeaderLen  = headerLen + 4 // EAP header, Type, Subtype, Reserved(2)
	attrUnit      = 4             // attribute lengths count 4-octet units
	maxAttrLen    = 255 * attrUnit
	value16Len    = 16 // RAND, AUTN, MAC, IV and NONCE_S, after Reserved(2)
	autsLen       = 14
	macLen        = value16Len
	minRESLen     = 4 // RES is 32..128 bits (RFC 4187 §10.8, TS 33.102 6.3.2)
	maxRESLen     = 16
	checkcodeAKA  = 20 // SHA-1 (RFC 4187 §10.13)
	checkcodeAKA2 = 32 // SHA-256 (RFC 9048 §3.4.3)
	maxPaddingLen = 12 // AT_PADDING is 4, 8 or 12 octets (RFC 4187 §10.12)
	encrBlock     = 16 // AES-CBC block (RFC 4187 §10.12)
)

// MaxKDFs is the most AT_KDF attributes a message may carry (RFC 9048 §3.2
// lets the server offer several, in order of preference).
const MaxKDFs = 8

// AttrError reports which attribute a parse or build error is about. Err is
// one of the package sentinels (ErrShortAttr, ErrAttrLen, ErrNonSkippable,
// ErrDuplicateAttr, ErrAttrValue).
type AttrError struct {
	Type AttrType
	Err  error
}

// Error names the attribute and the rule it broke, never its value.
func (e *AttrError) Error() string {
	name := e.Type.String()
	if !e.Type.known() {
		name = "attribute type " + strconv.Itoa(int(e.Type))
	}
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "eap: ")
	}
	return "eap: " + name + ": " + msg
}

// Unwrap returns the sentinel so that errors.Is works.
func (e *AttrError) Unwrap() error { return e.Err }

// Attrs is a parsed view of an EAP-AKA/AKA' message's attributes: fixed-size
// fields and sub-slices of the input (capped, so appending to one cannot
// overwrite the packet); no copies, zero allocations. Which attributes
// appeared is in Present; a nil slice alone does not say so (AT_CHECKCODE may
// be empty).
//
// Attrs checks syntax only. Which attributes a subtype may carry, and what to
// do with AT_PADDING, AT_COUNTER, AT_NONCE_S or AT_NEXT_* outside encrypted
// data (RFC 4187 §10.10-10.12, §10.16-10.18 carry them inside AT_ENCR_DATA),
// is for the state machine, which decrypts and parses AT_ENCR_DATA with
// DecryptAttrs.
type Attrs struct {
	Present         uint64 // bitset: for a known attribute type t, bit attrBit(t) is set when present; use Has(t)
	RAND            []byte // 16 octets
	AUTN            []byte // 16
	RES             []byte // the RES octets (length = RESBits/8, RESBits must be a multiple of 8, 32..128 bits)
	RESBits         uint16
	AUTS            []byte // 14
	MAC             []byte // 16
	MACOffset       int    // offset of the MAC value (16 octets) in the whole EAP packet, for verification in place; -1 when AT_MAC is absent
	Identity        []byte // AT_IDENTITY, actual identity length
	Notification    uint16
	ClientErrorCode uint16
	Checkcode       []byte          // 0, 20 or 32 octets
	KDFInput        []byte          // the network name, actual length
	KDF             [MaxKDFs]uint16 // AT_KDF values in order received
	NKDF            int
	Bidding         uint16
	Counter         uint16
	NonceS          []byte // 16
	IV              []byte // 16
	EncrData        []byte // multiple of 16
	NextPseudonym   []byte
	NextReauthID    []byte
}

// Has reports whether attribute t was present.
func (a *Attrs) Has(t AttrType) bool {
	bit, ok := attrBit(t)
	return ok && a.Present&(1<<bit) != 0
}

// AKAMessage is a parsed EAP-AKA or EAP-AKA' Request/Response.
type AKAMessage struct {
	Packet  Packet // Type is TypeAKA or TypeAKAPrime
	Subtype Subtype
	Attrs   Attrs
}

// ParseAKA parses an EAP packet whose Type is AKA or AKA' (RFC 4187 §8.1,
// RFC 9048 §3). b is the whole EAP packet, so that Attrs.MACOffset can be
// used on it directly with VerifyMAC; octets beyond the EAP Length are
// ignored as in ParsePacket.
//
// Every attribute length is checked before it is used, and each known
// attribute must have its exact RFC size; an unknown attribute below 128 is
// an error (ErrNonSkippable), one of 128 or more is skipped (RFC 4187 §8.1).
// Only AT_KDF may repeat, up to MaxKDFs times (RFC 9048 §3.2). The subtype is
// not checked: an unknown one is for the state machine to answer.
//
// On error the returned message is the zero value. ParseAKA does not
// allocate, except for the *AttrError it returns on a bad attribute.
func ParseAKA(b []byte) (AKAMessage, error) {
	p, err := ParsePacket(b)
	if err != nil {
		return AKAMessage{}, err
	}
	if p.Code != CodeRequest && p.Code != CodeResponse {
		return AKAMessage{}, ErrCode
	}
	if p.Type != TypeAKA && p.Type != TypeAKAPrime {
		return AKAMessage{}, ErrType
	}
	// RFC 4187 §8.1: Subtype (1) and Reserved (2) precede the attributes.
	if len(p.Data) < akaHeaderLen-headerLen-1 {
		return AKAMessage{}, ErrShortPacket
	}
	var m AKAMessage
	m.Packet = p
	m.Subtype = Subtype(p.Data[0])
	m.Attrs.MACOffset = -1
	if err := m.Attrs.parse(p.Data[3:], akaHeaderLen); err != nil {
		return AKAMessage{}, err
	}
	return m, nil
}

// parse walks the attributes in b, whose first octet is at offset base of
// the EAP packet, like hostapd's eap_sim_parse_attr: the header of each
// attribute is bounds-checked before its value is sliced. It also serves for
// decrypted AT_ENCR_DATA (RFC 4187 §10.12): parse it into a fresh Attrs with
// base 0 and check there which attributes it may hold.
func (a *Attrs) parse(b []byte, base int) error {
	for off := 0; off < len(b); {
		t := AttrType(b[off])
		if len(b)-off < 2 {
			return &AttrError{Type: t, Err: ErrShortAttr}
		}
		n := int(b[off+1]) * attrUnit
		if n == 0 {
			// The Length counts its own Type and Length octets (RFC
			// 4187 §8.1), so 0 is invalid; it would also never advance.
			return &AttrError{Type: t, Err: ErrAttrLen}
		}
		if n > len(b)-off {
			return &AttrError{Type: t, Err: ErrShortAttr}
		}
		if err := a.set(t, b[off+2:off+n:off+n], base+off+2); err != nil {
			return &AttrError{Type: t, Err: err}
		}
		off += n
	}
	return nil
}

// set records attribute t whose value (the octets after Type and Length,
// 2 or more) is v, at offset voff of the packet. It returns a bare sentinel;
// parse wraps it.
func (a *Attrs) set(t AttrType, v []byte, voff int) error {
	bit, ok := attrBit(t)
	if !ok {
		if t < 128 {
			return ErrNonSkippable
		}
		return nil // RFC 4187 §8.1: skippable, ignored
	}
	if a.Present&(1<<bit) != 0 && t != AttrKDF {
		return ErrDuplicateAttr
	}
	switch t {
	case AttrRAND, AttrAUTN, AttrMAC, AttrIV, AttrNonceS:
		// Reserved(2) and a 16-octet value (RFC 4187 §10.6, 10.7, 10.15,
		// 10.12, 10.18).
		if len(v) != 2+value16Len {
			return ErrAttrLen
		}
		val := v[2 : 2+value16Len : 2+value16Len]
		switch t {
		case AttrRAND:
			a.RAND = val
		case AttrAUTN:
			a.AUTN = val
		case AttrMAC:
			a.MAC = val
			a.MACOffset = voff + 2
		case AttrIV:
			a.IV = val
		case AttrNonceS:
			a.NonceS = val
		}
	case AttrAUTS:
		// RFC 4187 §10.9: 14 octets, no Reserved field.
		if len(v) != autsLen {
			return ErrAttrLen
		}
		a.AUTS = v
	case AttrRES:
		// RFC 4187 §10.8: RES Length in bits, then RES padded with zeros
		// to a 4-octet boundary. RES is 32..128 bits (TS 33.102 6.3.2);
		// whole octets, as every AuC produces.
		bits := int(v[0])<<8 | int(v[1])
		if bits%8 != 0 || bits < 8*minRESLen || bits > 8*maxRESLen {
			return ErrAttrValue
		}
		l := bits / 8
		if l > len(v)-2 {
			return ErrAttrValue
		}
		if len(v)-2 != pad4(l) {
			return ErrAttrLen
		}
		a.RES = v[2 : 2+l : 2+l]
		a.RESBits = uint16(bits)
	case AttrPadding:
		// RFC 4187 §10.12: 4, 8 or 12 octets of zeros, which the
		// recipient must check.
		if len(v)+2 > maxPaddingLen {
			return ErrAttrLen
		}
		for _, c := range v {
			if c != 0 {
				return ErrAttrValue
			}
		}
	case AttrPermanentIDReq, AttrAnyIDReq, AttrFullauthIDReq,
		AttrCounterTooSmall, AttrResultInd:
		// Flags: Reserved(2) only (RFC 4187 §10.2-10.4, 10.14, 10.17).
		if len(v) != 2 {
			return ErrAttrLen
		}
	case AttrNotification, AttrClientErrorCode, AttrKDF, AttrBidding, AttrCounter:
		// One 16-bit value (RFC 4187 §10.16, 10.19, 10.20; RFC 9048
		// §3.2, §4).
		if len(v) != 2 {
			return ErrAttrLen
		}
		x := uint16(v[0])<<8 | uint16(v[1])
		switch t {
		case AttrNotification:
			a.Notification = x
		case AttrClientErrorCode:
			a.ClientErrorCode = x
		case AttrKDF:
			if a.NKDF == MaxKDFs {
				return ErrDuplicateAttr
			}
			a.KDF[a.NKDF] = x
			a.NKDF++
		case AttrBidding:
			a.Bidding = x
		case AttrCounter:
			a.Counter = x
		}
	case AttrIdentity, AttrKDFInput, AttrNextPseudonym, AttrNextReauthID:
		// Actual length(2), then the value padded to 4 octets (RFC 4187
		// §10.5, 10.10, 10.11; RFC 9048 §3.1). Like hostapd, extra
		// padding is tolerated; a length past the attribute is not.
		l := int(v[0])<<8 | int(v[1])
		if l > len(v)-2 {
			return ErrAttrValue
		}
		val := v[2 : 2+l : 2+l]
		switch t {
		case AttrIdentity:
			a.Identity = val
		case AttrKDFInput:
			a.KDFInput = val
		case AttrNextPseudonym:
			a.NextPseudonym = val
		case AttrNextReauthID:
			a.NextReauthID = val
		}
	case AttrCheckcode:
		// Reserved(2), then nothing, a SHA-1 (RFC 4187 §10.13) or a
		// SHA-256 (RFC 9048 §3.4.3) digest. Which one fits the method is
		// checked with the value, by the state machine.
		switch len(v) - 2 {
		case 0, checkcodeAKA, checkcodeAKA2:
		default:
			return ErrAttrLen
		}
		a.Checkcode = v[2:]
	case AttrEncrData:
		// Reserved(2), then whole AES-CBC blocks (RFC 4187 §10.12).
		l := len(v) - 2
		if l == 0 || l%encrBlock != 0 {
			return ErrAttrLen
		}
		a.EncrData = v[2:]
	}
	a.Present |= 1 << bit
	return nil
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// Builder appends an EAP-AKA/AKA' message to a caller buffer. Add* methods
// record the first error instead of returning it, and Finish reports it, so
// building a message is a straight sequence of calls. The builder refuses
// what ParseAKA would refuse: wrong sizes, duplicates, more than MaxKDFs
// AT_KDF.
type Builder struct {
	buf     []byte
	start   int    // offset of the EAP header in buf
	mac     int    // offset of the MAC value from start, -1 if none
	present uint64 // attributes added, as in Attrs.Present
	nkdf    int
	err     error
}

// errBuilderKind: an Add method was given a type it does not build. It is a
// programming error, so it is not exported for callers to test.
var errBuilderKind = errors.New("eap: attribute type not built by this method")

// NewBuilder starts a message by appending to buf (pass buf[:0] to reuse a
// buffer): the EAP header with its Length patched in Finish, the Type, the
// Subtype and 2 reserved octets (RFC 4187 §8.1). code must be Request or
// Response and t AKA or AKA'; otherwise Finish returns ErrCode or ErrType.
func NewBuilder(buf []byte, code Code, id uint8, t Type, st Subtype) Builder {
	b := Builder{buf: buf, start: len(buf), mac: -1}
	switch {
	case code != CodeRequest && code != CodeResponse:
		b.err = ErrCode
	case t != TypeAKA && t != TypeAKAPrime:
		b.err = ErrType
	}
	b.buf = append(b.buf, byte(code), id, 0, 0, byte(t), byte(st), 0, 0)
	return b
}

// fail records the first error.
func (b *Builder) fail(t AttrType, err error) {
	if b.err == nil {
		b.err = &AttrError{Type: t, Err: err}
	}
}

// begin checks that t may be added now and marks it added.
func (b *Builder) begin(t AttrType) bool {
	if b.err != nil {
		return false
	}
	bit, _ := attrBit(t) // every caller passes a known type
	if t == AttrKDF {
		if b.nkdf == MaxKDFs {
			b.fail(t, ErrDuplicateAttr)
			return false
		}
		b.nkdf++
	} else if b.present&(1<<bit) != 0 {
		b.fail(t, ErrDuplicateAttr)
		return false
	}
	b.present |= 1 << bit
	return true
}

// add16 appends an attribute of Reserved(2) and a 16-octet value.
func (b *Builder) add16(t AttrType, v *[16]byte) {
	if !b.begin(t) {
		return
	}
	b.buf = append(b.buf, byte(t), (4+value16Len)/attrUnit, 0, 0)
	b.buf = append(b.buf, v[:]...)
}

// AddRAND adds AT_RAND (RFC 4187 §10.6).
func (b *Builder) AddRAND(v *[16]byte) { b.add16(AttrRAND, v) }

// AddAUTN adds AT_AUTN (RFC 4187 §10.7).
func (b *Builder) AddAUTN(v *[16]byte) { b.add16(AttrAUTN, v) }

// AddNonceS adds AT_NONCE_S (RFC 4187 §10.18).
func (b *Builder) AddNonceS(v *[16]byte) { b.add16(AttrNonceS, v) }

// AddIV adds AT_IV (RFC 4187 §10.12).
func (b *Builder) AddIV(v *[16]byte) { b.add16(AttrIV, v) }

// AddRES adds AT_RES with a bit length of 8*len(res) (RFC 4187 §10.8); res
// must be 4..16 octets.
func (b *Builder) AddRES(res []byte) {
	if len(res) < minRESLen || len(res) > maxRESLen {
		b.fail(AttrRES, ErrAttrValue)
		return
	}
	if !b.begin(AttrRES) {
		return
	}
	bits := 8 * len(res)
	n := 4 + pad4(len(res))
	b.buf = append(b.buf, byte(AttrRES), byte(n/attrUnit), byte(bits>>8), byte(bits))
	b.buf = append(b.buf, res...)
	b.buf = append(b.buf, make([]byte, n-4-len(res))...)
}

// AddAUTS adds AT_AUTS (RFC 4187 §10.9): 14 octets, no Reserved field.
func (b *Builder) AddAUTS(v *[14]byte) {
	if !b.begin(AttrAUTS) {
		return
	}
	b.buf = append(b.buf, byte(AttrAUTS), (2+autsLen)/attrUnit)
	b.buf = append(b.buf, v[:]...)
}

// AddFlag adds a 4-octet attribute with only a Reserved field:
// AT_PERMANENT_ID_REQ, AT_ANY_ID_REQ, AT_FULLAUTH_ID_REQ, AT_RESULT_IND or
// AT_COUNTER_TOO_SMALL.
func (b *Builder) AddFlag(t AttrType) {
	switch t {
	case AttrPermanentIDReq, AttrAnyIDReq, AttrFullauthIDReq, AttrResultInd, AttrCounterTooSmall:
	default:
		b.fail(t, errBuilderKind)
		return
	}
	if !b.begin(t) {
		return
	}
	b.buf = append(b.buf, byte(t), 1, 0, 0)
}

// AddUint16 adds a 4-octet attribute holding one 16-bit value:
// AT_NOTIFICATION, AT_CLIENT_ERROR_CODE, AT_KDF (up to MaxKDFs, in the order
// added), AT_BIDDING or AT_COUNTER.
func (b *Builder) AddUint16(t AttrType, v uint16) {
	switch t {
	case AttrNotification, AttrClientErrorCode, AttrKDF, AttrBidding, AttrCounter:
	default:
		b.fail(t, errBuilderKind)
		return
	}
	if !b.begin(t) {
		return
	}
	b.buf = append(b.buf, byte(t), 1, byte(v>>8), byte(v))
}

// AddIdentityLike adds AT_IDENTITY, AT_KDF_INPUT, AT_NEXT_PSEUDONYM or
// AT_NEXT_REAUTH_ID: the actual length of v, v, and zero padding to 4 octets
// (RFC 4187 §10.5, RFC 9048 §3.1). v may be at most 1016 octets.
func (b *Builder) AddIdentityLike(t AttrType, v []byte) {
	switch t {
	case AttrIdentity, AttrKDFInput, AttrNextPseudonym, AttrNextReauthID:
	default:
		b.fail(t, errBuilderKind)
		return
	}
	n := 4 + pad4(len(v))
	if n > maxAttrLen {
		b.fail(t, ErrAttrLen)
		return
	}
	if !b.begin(t) {
		return
	}
	b.buf = append(b.buf, byte(t), byte(n/attrUnit), byte(len(v)>>8), byte(len(v)))
	b.buf = append(b.buf, v...)
	b.buf = append(b.buf, make([]byte, n-4-len(v))...)
}

// AddCheckcode adds AT_CHECKCODE with 0, 20 (EAP-AKA, RFC 4187 §10.13) or 32
// (EAP-AKA', RFC 9048 §3.4.3) octets.
func (b *Builder) AddCheckcode(v []byte) {
	switch len(v) {
	case 0, checkcodeAKA, checkcodeAKA2:
	default:
		b.fail(AttrCheckcode, ErrAttrLen)
		return
	}
	if !b.begin(AttrCheckcode) {
		return
	}
	b.buf = append(b.buf, byte(AttrCheckcode), byte((4+len(v))/attrUnit), 0, 0)
	b.buf = append(b.buf, v...)
}

// AddEncrData adds AT_ENCR_DATA (RFC 4187 §10.12); v is the ciphertext, a
// non-zero multiple of 16 octets, at most 1008.
func (b *Builder) AddEncrData(v []byte) {
	if len(v) == 0 || len(v)%encrBlock != 0 || 4+len(v) > maxAttrLen {
		b.fail(AttrEncrData, ErrAttrLen)
		return
	}
	if !b.begin(AttrEncrData) {
		return
	}
	b.buf = append(b.buf, byte(AttrEncrData), byte((4+len(v))/attrUnit), 0, 0)
	b.buf = append(b.buf, v...)
}

// AddMAC adds AT_MAC with a zero MAC and remembers where its value is, so
// that SetMAC can fill it once the message is complete (RFC 4187 §10.15).
func (b *Builder) AddMAC() {
	if !b.begin(AttrMAC) {
		return
	}
	b.buf = append(b.buf, byte(AttrMAC), (4+macLen)/attrUnit, 0, 0)
	b.mac = len(b.buf) - b.start
	b.buf = append(b.buf, make([]byte, macLen)...)
}

// Finish patches the EAP Length and returns the packet (the octets appended
// since NewBuilder) and the offset of the MAC value in it, -1 if AddMAC was
// not called. It returns the first error of an Add call, ErrCode/ErrType
// from NewBuilder, or ErrLength if the packet exceeds 65535 octets.
func (b *Builder) Finish() (pkt []byte, macOffset int, err error) {
	if b.err != nil {
		return nil, -1, b.err
	}
	n := len(b.buf) - b.start
	if n < akaHeaderLen {
		// A zero Builder, not made by NewBuilder.
		return nil, -1, ErrShortPacket
	}
	if n > maxPacketLen {
		return nil, -1, ErrLength
	}
	pkt = b.buf[b.start:]
	pkt[2], pkt[3] = byte(n>>8), byte(n)
	return pkt, b.mac, nil
}
