package eap

import "bytes"

// IdentityKind says what an EAP-AKA/AKA' identity names (RFC 4187 4.1.1,
// TS 23.003 19.3: the first character of the username part).
type IdentityKind uint8

const (
	// IdentityUnknown is anything we cannot use to fetch a vector: an
	// anonymous outer identity, a missing or foreign prefix, no IMSI.
	IdentityUnknown IdentityKind = iota
	// IdentityPermanent carries the IMSI ('0' for EAP-AKA, '6' for EAP-AKA').
	IdentityPermanent
	// IdentityPseudonym is a temporary identity ('2' AKA, '7' AKA').
	IdentityPseudonym
	// IdentityReauth is a fast re-authentication identity ('4' AKA, '8' AKA').
	IdentityReauth
)

func (k IdentityKind) String() string {
	switch k {
	case IdentityPermanent:
		return "permanent"
	case IdentityPseudonym:
		return "pseudonym"
	case IdentityReauth:
		return "reauth"
	}
	return "unknown"
}

// Identity is a parsed EAP-AKA/AKA' peer identity. Its slices point into the
// identity it was parsed from.
type Identity struct {
	Kind IdentityKind
	// Method is the method the prefix asks for: TypeAKA or TypeAKAPrime, or
	// 0 when the prefix names neither.
	Method Type
	// Value is the username without its prefix: the IMSI for a permanent
	// identity.
	Value []byte
	// Realm is the NAI realm after '@', empty when there is none.
	Realm []byte
}

// maxIdentityLen bounds what we accept and keep: an NAI is at most 253
// octets in RADIUS (RFC 7542 2.2); EAP allows more but nothing legitimate
// needs it.
const maxIdentityLen = 253

// ParseIdentity classifies an identity as hostapd's
// eap_aka_determine_identity does, in one place. A permanent identity must
// carry an IMSI of 6 to 15 digits (TS 23.003 2.2: MCC 3 + MNC 2-3 + MSIN);
// anything else is IdentityUnknown.
func ParseIdentity(id []byte) Identity {
	var out Identity
	if len(id) < 2 || len(id) > maxIdentityLen {
		return out
	}
	user := id
	if at := bytes.IndexByte(id, '@'); at >= 0 {
		user, out.Realm = id[:at], id[at+1:]
	}
	if len(user) < 2 {
		return Identity{}
	}
	switch user[0] {
	case '0':
		out.Kind, out.Method = IdentityPermanent, TypeAKA
	case '6':
		out.Kind, out.Method = IdentityPermanent, TypeAKAPrime
	case '2':
		out.Kind, out.Method = IdentityPseudonym, TypeAKA
	case '7':
		out.Kind, out.Method = IdentityPseudonym, TypeAKAPrime
	case '4':
		out.Kind, out.Method = IdentityReauth, TypeAKA
	case '8':
		out.Kind, out.Method = IdentityReauth, TypeAKAPrime
	default:
		return Identity{}
	}
	out.Value = user[1:]
	if out.Kind == IdentityPermanent && !isIMSI(out.Value) {
		return Identity{}
	}
	return out
}

func isIMSI(b []byte) bool {
	if len(b) < 6 || len(b) > 15 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
