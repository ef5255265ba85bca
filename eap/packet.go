package eap

import "errors"

// Code is the EAP Code field (RFC 3748 §4).
type Code uint8

// EAP codes (RFC 3748 §4). Codes 5 and 6 (ERP, RFC 6696) are not supported
// and are rejected like any other unknown code.
const (
	CodeRequest  Code = 1
	CodeResponse Code = 2
	CodeSuccess  Code = 3
	CodeFailure  Code = 4
)

// String returns the RFC 3748 name of c, or "unknown".
func (c Code) String() string {
	switch c {
	case CodeRequest:
		return "Request"
	case CodeResponse:
		return "Response"
	case CodeSuccess:
		return "Success"
	case CodeFailure:
		return "Failure"
	}
	return "unknown"
}

// Type is the EAP Type field of a Request or Response (RFC 3748 §5).
type Type uint8

// EAP types this server speaks (RFC 3748 §5; IANA EAP method types 23 for
// EAP-AKA, RFC 4187, and 50 for EAP-AKA', RFC 9048).
const (
	TypeIdentity     Type = 1
	TypeNotification Type = 2
	TypeNak          Type = 3
	TypeAKA          Type = 23
	TypeAKAPrime     Type = 50
)

// String returns the name of t, or "unknown".
func (t Type) String() string {
	switch t {
	case TypeIdentity:
		return "Identity"
	case TypeNotification:
		return "Notification"
	case TypeNak:
		return "Nak"
	case TypeAKA:
		return "AKA"
	case TypeAKAPrime:
		return "AKA'"
	}
	return "unknown"
}

// Errors returned by ParsePacket and ParseAKA. Attribute errors come wrapped
// in an *AttrError; test them with errors.Is.
var (
	// ErrShortPacket: fewer octets than the header (or the EAP-AKA
	// Subtype and Reserved fields) needs.
	ErrShortPacket = errors.New("eap: packet too short")
	// ErrLength: the EAP Length field is impossible for the code or
	// larger than the octets received (RFC 3748 §4.1).
	ErrLength = errors.New("eap: invalid length field")
	// ErrCode: unknown EAP code, or not a code the operation accepts.
	ErrCode = errors.New("eap: unexpected code")
	// ErrType: an EAP type the operation does not accept.
	ErrType = errors.New("eap: unexpected type")
	// ErrShortAttr: an attribute header or value runs past the packet.
	ErrShortAttr = errors.New("eap: attribute overruns the packet")
	// ErrAttrLen: an attribute Length of 0 or one its type does not allow.
	ErrAttrLen = errors.New("eap: invalid attribute length")
	// ErrNonSkippable: an unknown attribute with a type below 128
	// (RFC 4187 §8.1).
	ErrNonSkippable = errors.New("eap: unknown non-skippable attribute")
	// ErrDuplicateAttr: an attribute that may appear once appeared again,
	// or more than MaxKDFs AT_KDF.
	ErrDuplicateAttr = errors.New("eap: duplicate attribute")
	// ErrAttrValue: a length or value inside an attribute is invalid, for
	// example an AT_RES length in bits that is not a multiple of 8.
	ErrAttrValue = errors.New("eap: invalid attribute value")
)

// headerLen is Code, Identifier and Length (RFC 3748 §4).
const headerLen = 4

// maxPacketLen is the largest value of the 16-bit EAP Length field.
const maxPacketLen = 0xffff

// Packet is a parsed EAP packet. Data aliases the input.
type Packet struct {
	Code       Code
	Identifier uint8
	Type       Type   // 0 for Success/Failure
	Data       []byte // type-data after the Type octet; a sub-slice of the input, not a copy
}

// ParsePacket parses the EAP header of b (RFC 3748 §4). It needs at least 4
// octets and a Length field between 4 and len(b); octets beyond Length are
// ignored, as RFC 3748 §4.1 says they are padding added by the lower layer.
// A Request or Response must carry a Type octet; Success and Failure must be
// exactly 4 octets (RFC 3748 §4.2). Unknown codes are rejected with ErrCode.
//
// Data is capped at the Length field, so appending to it cannot overwrite
// the octets that follow. ParsePacket does not allocate.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < headerLen {
		return Packet{}, ErrShortPacket
	}
	c := Code(b[0])
	n := int(b[2])<<8 | int(b[3])
	if n < headerLen || n > len(b) {
		return Packet{}, ErrLength
	}
	switch c {
	case CodeRequest, CodeResponse:
		if n < headerLen+1 {
			return Packet{}, ErrLength
		}
		return Packet{Code: c, Identifier: b[1], Type: Type(b[4]), Data: b[headerLen+1 : n : n]}, nil
	case CodeSuccess, CodeFailure:
		if n != headerLen {
			return Packet{}, ErrLength
		}
		return Packet{Code: c, Identifier: b[1]}, nil
	}
	return Packet{}, ErrCode
}

// AppendSuccess appends an EAP-Success with identifier id to dst.
func AppendSuccess(dst []byte, id uint8) []byte {
	return append(dst, byte(CodeSuccess), id, 0, headerLen)
}

// AppendFailure appends an EAP-Failure with identifier id to dst.
func AppendFailure(dst []byte, id uint8) []byte {
	return append(dst, byte(CodeFailure), id, 0, headerLen)
}

// AppendRequest appends an EAP-Request of type t with type-data data to dst,
// for example an Identity request (t = TypeIdentity, no data); handy for
// tests and peers.
//
// It panics if data is longer than 65530 octets, as the Length field could
// not describe the packet: that is a programming error, never peer input.
func AppendRequest(dst []byte, id uint8, t Type, data []byte) []byte {
	return appendTypedPacket(dst, CodeRequest, id, t, data)
}

// AppendResponse appends an EAP-Response of type t with type-data data to
// dst. It panics like AppendRequest if data is too long.
func AppendResponse(dst []byte, id uint8, t Type, data []byte) []byte {
	return appendTypedPacket(dst, CodeResponse, id, t, data)
}

func appendTypedPacket(dst []byte, c Code, id uint8, t Type, data []byte) []byte {
	n := headerLen + 1 + len(data)
	if n > maxPacketLen {
		panic("eap: type-data too long for the eap length field")
	}
	dst = append(dst, byte(c), id, byte(n>>8), byte(n), byte(t))
	return append(dst, data...)
}
