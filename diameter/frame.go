package diameter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// Header fields (RFC 6733 3).
const (
	headerLen = 20

	flagRequest       = 0x80
	flagProxiable     = 0x40
	flagError         = 0x20
	flagRetransmitted = 0x10

	avpFlagVendor = 0x80
)

// maxGroupDepth bounds the nesting of grouped AVPs a message may carry.
// SWx and Diameter EAP nest two or three deep; a deeper message is refused
// before go-diameter decodes it recursively.
const maxGroupDepth = 8

// Errors of framing. A frame error ends the connection: the next message's
// boundary is lost. An AVP error refuses the message alone.
var (
	errVersion     = errors.New("diameter: version is not 1")
	errLength      = errors.New("diameter: message length out of bounds")
	errAVPLength   = errors.New("diameter: AVP length out of bounds")
	errAVPDepth    = errors.New("diameter: grouped AVPs nested too deep")
	errAVPDataSize = errors.New("diameter: AVP data of the wrong size for its type")
)

// header is the fixed part of a message, read before anything is decoded.
type header struct {
	length             uint32
	flags              uint8
	cmd                uint32
	app                uint32
	hopByHop, endToEnd uint32
}

func (h *header) request() bool { return h.flags&flagRequest != 0 }

func parseHeader(b []byte) header {
	return header{
		length:   uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]),
		flags:    b[4],
		cmd:      uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
		app:      binary.BigEndian.Uint32(b[8:12]),
		hopByHop: binary.BigEndian.Uint32(b[12:16]),
		endToEnd: binary.BigEndian.Uint32(b[16:20]),
	}
}

// readFrame reads one message into a buffer of its own and returns it with
// its header. A message longer than max, shorter than a header or of
// another version is a frame error.
func readFrame(r *bufio.Reader, max int) ([]byte, header, error) {
	hb, err := r.Peek(headerLen)
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			err = io.ErrUnexpectedEOF
		}
		return nil, header{}, err
	}
	if hb[0] != 1 {
		return nil, header{}, errVersion
	}
	h := parseHeader(hb)
	if h.length < headerLen || int(h.length) > max || h.length%4 != 0 {
		return nil, header{}, fmt.Errorf("%w: %d", errLength, h.length)
	}
	b := make([]byte, h.length)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, header{}, err
	}
	return b, h, nil
}

// checkAVPs walks the AVPs of body (and of the grouped AVPs the dictionary
// knows in app) and refuses lengths that do not add up, nesting deeper than
// maxGroupDepth, and fixed-size data of another size. go-diameter decodes
// only what passes: it trusts lengths inside grouped AVPs, and its
// fixed-size decoders, given another size, return a value whose length
// differs from the octets it took, which misaligns the AVPs after it.
func checkAVPs(body []byte, app uint32, d *dict.Parser, depth int) error {
	if depth > maxGroupDepth {
		return errAVPDepth
	}
	for len(body) > 0 {
		if len(body) < 8 {
			return errAVPLength
		}
		code := binary.BigEndian.Uint32(body[0:4])
		flags := body[4]
		l := int(body[5])<<16 | int(body[6])<<8 | int(body[7])
		hl := 8
		var vendor uint32
		if flags&avpFlagVendor != 0 {
			hl = 12
			if l >= 12 && len(body) >= 12 {
				vendor = binary.BigEndian.Uint32(body[8:12])
			}
		}
		if l < hl || l > len(body) {
			return errAVPLength
		}
		data := body[hl:l]
		if a, err := d.FindAVPByCode(app, code, vendor); err == nil {
			switch a.Data.Type {
			case datatype.GroupedType:
				if err := checkAVPs(data, app, d, depth+1); err != nil {
					return err
				}
			case datatype.Unsigned32Type, datatype.Integer32Type, datatype.EnumeratedType, datatype.Float32Type, datatype.TimeType:
				if len(data) != 4 {
					return errAVPDataSize
				}
			case datatype.Unsigned64Type, datatype.Integer64Type, datatype.Float64Type:
				if len(data) != 8 {
					return errAVPDataSize
				}
			case datatype.IPv4Type:
				if len(data) != 4 {
					return errAVPDataSize
				}
			case datatype.IPv6Type:
				if len(data) != 16 {
					return errAVPDataSize
				}
			case datatype.AddressType:
				// go-diameter's Address drops its family for IPv4 and
				// IPv6 and counts 6 octets for any 4 or IPv4-mapped 16
				// it holds: only an address it gives back whole is
				// safe to hand it.
				v, err := datatype.DecodeAddress(data)
				if err != nil || v.Len() != len(data) {
					return errAVPDataSize
				}
			}
		}
		// The last AVP of a group may come without its padding (some
		// peers leave it out of the group's length).
		body = body[min((l+3)&^3, len(body)):]
	}
	return nil
}

// rawSessionID returns the Session-Id AVP's value in a message that could
// not be decoded (its command unknown), for the error answer.
func rawSessionID(msg []byte) []byte {
	body := msg[headerLen:]
	for len(body) >= 8 {
		code := binary.BigEndian.Uint32(body[0:4])
		l := int(body[5])<<16 | int(body[6])<<8 | int(body[7])
		hl := 8
		if body[4]&avpFlagVendor != 0 {
			hl = 12
		}
		if l < hl || l > len(body) {
			return nil
		}
		if code == avpSessionID && hl == 8 {
			return body[hl:l]
		}
		body = body[min((l+3)&^3, len(body)):]
	}
	return nil
}
