package main

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"hash"

	"layeh.com/radius"
	"layeh.com/radius/vendors/microsoft"
)

// Access-Requests are built by hand into a reused buffer and answers are
// checked on their raw bytes: radius.Packet would allocate for every
// attribute of every packet. Only the MPPE keys of an Access-Accept go
// through layeh.com/radius (microsoft.MSMPPE*Key_Lookup), once per
// authentication.

// RADIUS codes and attributes (RFC 2865, RFC 2869, RFC 3579, RFC 2548).
const (
	radiusHeaderLen = 20
	maxRadiusLen    = 4096

	codeAccessRequest   = 1
	codeAccessAccept    = 2
	codeAccessReject    = 3
	codeAccessChallenge = 11

	attrUserName             = 1
	attrState                = 24
	attrVendorSpecific       = 26
	attrNASPortType          = 61
	attrEAPMessage           = 79
	attrMessageAuthenticator = 80

	nasPortTypeWireless = 19 // Wireless - IEEE 802.11 (RFC 2865 5.41)
	maxAttrValue        = 253
	vendorMicrosoft     = 311
	maOffset            = radiusHeaderLen + 2 // Message-Authenticator value: first attribute
)

var errTooLong = errors.New("aaabench: Access-Request longer than 4096 octets")

// appendAccessRequest builds an Access-Request into dst[:0]: Identifier 0
// (signRequest sets it), Request Authenticator auth, Message-Authenticator
// first and zeroed (BlastRADIUS order), User-Name, NAS-Port-Type, the EAP
// message split into EAP-Message attributes of at most 253 octets
// (RFC 3579 3.1), and State when the server gave one (RFC 2865 5.24).
func appendAccessRequest(dst []byte, auth *[16]byte, userName, eapMsg, state []byte) ([]byte, error) {
	b := append(dst[:0], codeAccessRequest, 0, 0, 0)
	b = append(b, auth[:]...)
	b = append(b, attrMessageAuthenticator, 18)
	b = append(b, make([]byte, 16)...)
	if n := min(len(userName), maxAttrValue); n > 0 {
		b = append(b, attrUserName, byte(2+n))
		b = append(b, userName[:n]...)
	}
	b = append(b, attrNASPortType, 6, 0, 0, 0, nasPortTypeWireless)
	for m := eapMsg; len(m) > 0; {
		n := min(len(m), maxAttrValue)
		b = append(b, attrEAPMessage, byte(2+n))
		b = append(b, m[:n]...)
		m = m[n:]
	}
	if len(state) > 0 {
		n := min(len(state), maxAttrValue)
		b = append(b, attrState, byte(2+n))
		b = append(b, state[:n]...)
	}
	if len(b) > maxRadiusLen {
		return nil, errTooLong
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b, nil
}

// hasher is the reusable MD5 state of one owner (a conversation, or a
// socket's reader): the hashes and the digest scratch live on the heap with
// it, so that calls through the hash.Hash interface allocate nothing.
type hasher struct {
	md5 hash.Hash // MD5
	mac hash.Hash // HMAC-MD5 keyed with the shared secret
	sum [md5.Size]byte
}

func newHasher(secret []byte) *hasher {
	return &hasher{md5: md5.New(), mac: hmac.New(md5.New, secret)}
}

var zero16 [md5.Size]byte // never written

// signRequest sets the Identifier and fills in the Message-Authenticator:
// HMAC-MD5 keyed with the secret over the whole packet, its own value zero
// (RFC 3579 3.2).
func signRequest(pkt []byte, id byte, hs *hasher) {
	pkt[1] = id
	clear(pkt[maOffset : maOffset+md5.Size])
	hs.mac.Reset()
	hs.mac.Write(pkt)
	hs.mac.Sum(hs.sum[:0])
	copy(pkt[maOffset:], hs.sum[:])
}

// responseAuthenticatorOK checks the Response Authenticator of an answer:
// MD5(Code | Identifier | Length | Request Authenticator | attributes |
// secret) (RFC 2865 3). resp has been cut to its Length.
func responseAuthenticatorOK(hs *hasher, resp, reqAuth, secret []byte) bool {
	h := hs.md5
	h.Reset()
	h.Write(resp[:4])
	h.Write(reqAuth)
	h.Write(resp[radiusHeaderLen:])
	h.Write(secret)
	h.Sum(hs.sum[:0])
	return hmac.Equal(hs.sum[:], resp[4:radiusHeaderLen])
}

// answer is what parseAnswer found in a response; its slices point into the
// packet, except eap, which is appended to the caller's buffer.
type answer struct {
	code    byte
	maOff   int // offset of the Message-Authenticator value, -1 if absent
	maCount int
	eap     []byte
	state   []byte
	vsas    [][]byte // Microsoft vendor-specific attribute values, for the MPPE keys
}

var errMalformedAnswer = errors.New("aaabench: malformed RADIUS answer")

// parseAnswer walks the attributes of resp (cut to its Length, framing not
// yet checked), joining EAP-Message fragments into eapBuf[:0].
func parseAnswer(resp []byte, eapBuf []byte, vsas [][]byte, a *answer) error {
	*a = answer{code: resp[0], maOff: -1, eap: eapBuf[:0], vsas: vsas[:0]}
	for off := radiusHeaderLen; off < len(resp); {
		if len(resp)-off < 2 {
			return errMalformedAnswer
		}
		t, l := resp[off], int(resp[off+1])
		if l < 2 || off+l > len(resp) {
			return errMalformedAnswer
		}
		v := resp[off+2 : off+l]
		switch t {
		case attrMessageAuthenticator:
			if l != 18 {
				return errMalformedAnswer
			}
			a.maOff = off + 2
			a.maCount++
		case attrEAPMessage:
			a.eap = append(a.eap, v...)
		case attrState:
			a.state = v
		case attrVendorSpecific:
			if len(v) >= 4 && binary.BigEndian.Uint32(v) == vendorMicrosoft {
				a.vsas = append(a.vsas, v)
			}
		}
		off += l
	}
	return nil
}

// messageAuthenticatorOK checks the Message-Authenticator of an answer:
// HMAC-MD5 over the packet with the Request Authenticator in place of its
// own and the attribute's value zero (RFC 3579 3.2).
func messageAuthenticatorOK(hs *hasher, resp []byte, maOff int, reqAuth []byte) bool {
	mac := hs.mac
	mac.Reset()
	mac.Write(resp[:4])
	mac.Write(reqAuth)
	mac.Write(resp[radiusHeaderLen:maOff])
	mac.Write(zero16[:])
	mac.Write(resp[maOff+md5.Size:])
	mac.Sum(hs.sum[:0])
	return hmac.Equal(hs.sum[:], resp[maOff:maOff+md5.Size])
}

// mppeKeys decrypts MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548 2.4.2-3)
// with layeh.com/radius, given the request's authenticator and the secret,
// and reports whether they are MSK[0:32] and MSK[32:64] (RFC 3748 / RFC 5247
// usage, as aaad and hostapd send them). m is scratch reused by the caller.
func mppeKeysMatch(vsas [][]byte, reqAuth []byte, secret []byte, msk *[64]byte, m *mppeScratch) bool {
	resp, req := &m.resp, &m.req
	resp.Secret = secret
	resp.Attributes = resp.Attributes[:0]
	for i, v := range vsas {
		if i == len(m.avps) {
			break
		}
		m.avps[i] = radius.AVP{Type: attrVendorSpecific, Attribute: v}
		resp.Attributes = append(resp.Attributes, &m.avps[i])
	}
	copy(req.Authenticator[:], reqAuth)
	req.Secret = secret
	recv, err := microsoft.MSMPPERecvKey_Lookup(resp, req)
	if err != nil {
		return false
	}
	send, err := microsoft.MSMPPESendKey_Lookup(resp, req)
	if err != nil {
		return false
	}
	return hmac.Equal(recv, msk[:32]) && hmac.Equal(send, msk[32:])
}

// mppeScratch is what mppeKeysMatch needs to call layeh's lookups without
// allocating packets: one per conversation.
type mppeScratch struct {
	resp, req radius.Packet
	avps      [4]radius.AVP
}
