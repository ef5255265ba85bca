// Package eap is the EAP (RFC 3748) and EAP-AKA/EAP-AKA' (RFC 4187,
// RFC 9048) codec and server state machine.
//
// The package is transport-free and key-blind: it takes EAP packets as bytes
// and gives back EAP packets as bytes (RADIUS and Diameter carry them), and it
// never sees the subscriber key K or OPc, only the authentication vectors a
// VectorSource hands it.
//
// # Codec
//
// ParsePacket checks the RFC 3748 §4 header. ParseAKA parses an
// EAP-AKA/AKA' Request or Response into Attrs, a view of the attributes made
// of fixed-size fields and sub-slices of the input, checking every length
// before it is used, like hostapd's eap_sim_parse_attr. Builder appends a
// message to a caller buffer, patches the EAP Length in Finish and reports
// where the AT_MAC value is, so that SetMAC and VerifyMAC work on the final
// bytes in place (RFC 4187 §10.15, RFC 9048 §3.4 for EAP-AKA').
//
// Performance contract: parsing a Challenge with ParseAKA and building one
// with NewBuilder..Finish into a large enough caller buffer allocate 0 times,
// and so do SetMAC and VerifyMAC; only a rejected message allocates, for the
// returned *AttrError. AT_ENCR_DATA (AddEncrypted, DecryptAttrs) allocates
// once, for the AES key schedule. Tests pin these figures with
// testing.AllocsPerRun.
//
// Errors are the sentinels ErrShortPacket, ErrLength, ErrCode, ErrType,
// ErrShortAttr, ErrAttrLen, ErrNonSkippable, ErrDuplicateAttr, ErrAttrValue
// and ErrEncrData; an attribute-specific one comes wrapped in an *AttrError that
// names the attribute, so callers use errors.Is and errors.As. Error texts
// name fields, never values, so no key material or identity reaches a log.
package eap
