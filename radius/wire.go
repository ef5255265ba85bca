package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"hash"

	"layeh.com/radius"
)

// RFC 2865 / RFC 3579 constants used on raw packets.
const (
	headerLen                   = 20
	codeAccessRequest           = 1
	attrMessageAuthenticator    = 80
	messageAuthenticatorAttrLen = 18
)

var (
	errShortPacket    = errors.New("radius: packet shorter than its header")
	errPacketLength   = errors.New("radius: bad packet length")
	errAttrLength     = errors.New("radius: bad attribute length")
	errMsgAuthTwice   = errors.New("radius: Message-Authenticator twice")
	errMsgAuthLength  = errors.New("radius: Message-Authenticator length not 18")
	errNoMsgAuth      = errors.New("radius: no Message-Authenticator")
	errBadMsgAuth     = errors.New("radius: Message-Authenticator mismatch")
	errResponseLayout = errors.New("radius: response must start with Message-Authenticator")
)

// checkPacket validates the header and attribute framing of a raw packet,
// and returns it cut to its Length (octets beyond it are padding, RFC 2865
// 3) and the offset of the Message-Authenticator value (-1 when absent).
func checkPacket(b []byte) ([]byte, int, error) {
	if len(b) < headerLen {
		return nil, -1, errShortPacket
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > len(b) || n > radius.MaxPacketLength {
		return nil, -1, errPacketLength
	}
	b = b[:n]
	ma := -1
	for off := headerLen; off < n; {
		if n-off < 2 {
			return nil, -1, errAttrLength
		}
		l := int(b[off+1])
		if l < 2 || off+l > n {
			return nil, -1, errAttrLength
		}
		if b[off] == attrMessageAuthenticator {
			if ma >= 0 {
				return nil, -1, errMsgAuthTwice
			}
			if l != messageAuthenticatorAttrLen {
				return nil, -1, errMsgAuthLength
			}
			ma = off + 2
		}
		off += l
	}
	return b, ma, nil
}

// verifyMessageAuthenticator checks the Message-Authenticator of a request
// (RFC 3579 3.2): HMAC-MD5 keyed with the shared secret over the packet with
// the attribute's value taken as 16 zero octets. The comparison is constant
// time.
func verifyMessageAuthenticator(b []byte, off int, mac hash.Hash) error {
	if off < 0 {
		return errNoMsgAuth
	}
	var zero [md5.Size]byte
	mac.Write(b[:off])
	mac.Write(zero[:])
	mac.Write(b[off+md5.Size:])
	var sum [md5.Size]byte
	if !hmac.Equal(mac.Sum(sum[:0]), b[off:off+md5.Size]) {
		return errBadMsgAuth
	}
	return nil
}

// encodeResponse encodes a response whose first attribute is a zeroed
// Message-Authenticator and whose Authenticator field holds the request
// authenticator: it fills in the Message-Authenticator over the packet as
// RFC 3579 3.2 says, then the Response Authenticator over the result
// (RFC 2865 3), in that order.
func encodeResponse(p *radius.Packet, mac hash.Hash) ([]byte, error) {
	if len(p.Attributes) == 0 || p.Attributes[0].Type != attrMessageAuthenticator ||
		len(p.Attributes[0].Attribute) != md5.Size {
		return nil, errResponseLayout
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	const maOff = headerLen + 2
	mac.Write(b)
	mac.Sum(b[maOff:maOff])
	h := md5.New()
	h.Write(b[:4])
	h.Write(p.Authenticator[:])
	h.Write(b[headerLen:])
	h.Write(p.Secret)
	h.Sum(b[4:4])
	return b, nil
}
