package radius

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/aaa-project/aaa/session"
)

// FrontEnd is the session.Session.FrontEnd of the sessions the RADIUS
// front end records, and the name its Disconnector is registered under.
const FrontEnd = "radius"

// RFC 5176 codes and attributes, on raw packets.
const (
	codeDisconnectRequest = 40
	codeDisconnectACK     = 41
	codeDisconnectNAK     = 42
	attrUserName          = 1
	attrNASIPAddress      = 4
	attrCallingStationID  = 31
	attrNASIdentifier     = 32
	attrAcctSessionID     = 44
	attrEventTimestamp    = 55
	attrNASIPv6Address    = 95
	attrErrorCause        = 101
)

// Disconnector ends sessions recorded from Access-Accepts by sending their
// access point a Disconnect-Request (RFC 5176). It is the
// session.Terminator of FrontEnd: register it with the session table.
//
// Each request goes from an ephemeral UDP socket of its own, connected to
// the access point's Dynamic Authorization Server: the client's das
// address when configured, else the address the session's Access-Request
// came from, at the client's das port (3799 by default). It is sent again,
// the same packet, when no answer came (Tries in all), and only an answer
// from that address with the request's Identifier, a valid Response
// Authenticator and, when present, a valid Message-Authenticator counts;
// anything else is counted (Stats.DisconnectBadResponses) and ignored.
// The counters are the server's Stats.
type Disconnector struct {
	srv *Server
	// Tries is how many times a request is sent (0: 3). Wait is how long
	// the first is given for an answer (0: 1 s); each next one is given
	// twice as long as the one before: 1 s, 2 s, 4 s. The caller's
	// context bounds the whole.
	Tries int
	Wait  time.Duration
	// Now gives Event-Timestamp (nil: time.Now).
	Now func() time.Time
}

// Disconnector returns a Disconnector for the sessions of s's clients,
// counting in s.Stats.
func (s *Server) Disconnector() *Disconnector { return &Disconnector{srv: s} }

// DisconnectResult is an access point's answer: Acked for a
// Disconnect-ACK, else a Disconnect-NAK. ErrorCause is the answer's
// Error-Cause (RFC 5176 3.5; 0: none), e.g. 503 Session Context Not
// Found in a NAK.
type DisconnectResult struct {
	Acked      bool
	ErrorCause uint32
}

// Errors of Disconnect.
var (
	// ErrNoAnswer: no valid answer came, after every try or when the
	// context ended (then it wraps the context's error too).
	ErrNoAnswer = errors.New("radius: no answer to Disconnect-Request")
	// ErrUnknownClient: the session's client is not (any longer) in the
	// client table.
	ErrUnknownClient = errors.New("radius: session's client not configured")
)

// Terminate implements session.Terminator: acked is true for a
// Disconnect-ACK, false with a nil error for a Disconnect-NAK.
func (d *Disconnector) Terminate(ctx context.Context, s session.Session) (bool, error) {
	r, err := d.Disconnect(ctx, s)
	return r.Acked, err
}

// Disconnect sends s's access point a Disconnect-Request for s and waits
// for its answer. An error means no trustworthy answer (or none sent); it
// names the client and the address, never the secret.
func (d *Disconnector) Disconnect(ctx context.Context, s session.Session) (DisconnectResult, error) {
	st := &d.srv.Stats
	pkt, dst, c, err := d.request(s)
	if err != nil {
		st.DisconnectErrors.Add(1)
		return DisconnectResult{}, err
	}
	if err := ctx.Err(); err != nil {
		st.DisconnectErrors.Add(1)
		return DisconnectResult{}, fmt.Errorf("%w from client %q at %s: %w", ErrNoAnswer, c.Name, dst, err)
	}
	network := "udp4"
	if dst.Addr().Is6() {
		network = "udp6"
	}
	conn, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		st.DisconnectErrors.Add(1)
		return DisconnectResult{}, fmt.Errorf("radius: disconnect via client %q at %s: %w", c.Name, dst, err)
	}
	defer conn.Close()
	// The context's end interrupts a read in progress.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tries, wait := d.Tries, d.Wait
	if tries <= 0 {
		tries = 3
	}
	if wait <= 0 {
		wait = time.Second
	}
	var reqAuth [16]byte
	copy(reqAuth[:], pkt[4:20])
	var buf [MaxResponseLength]byte
	var lastErr error
	for try := range tries {
		if try == 0 {
			st.DisconnectSent.Add(1)
		} else {
			st.DisconnectRetransmits.Add(1)
		}
		if _, err := conn.Write(pkt); err != nil {
			if ctx.Err() != nil {
				break
			}
			// ICMP unreachable from the previous try, say: try again.
			lastErr = err
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		for errs := 0; errs < 16; {
			n, from, err := conn.ReadFromUDPAddrPort(buf[:])
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
					break
				}
				lastErr = err // ECONNREFUSED: nothing listens there (yet)
				errs++
				continue
			}
			if from.Addr().Unmap().WithZone("") != dst.Addr().WithZone("") || from.Port() != dst.Port() {
				st.DisconnectBadResponses.Add(1)
				continue
			}
			r, err := checkDisconnectResponse(buf[:n], pkt[1], &reqAuth, c)
			if err != nil {
				st.DisconnectBadResponses.Add(1)
				continue
			}
			if r.Acked {
				st.DisconnectACKs.Add(1)
			} else {
				st.DisconnectNAKs.Add(1)
			}
			return r, nil
		}
		if ctx.Err() != nil {
			break
		}
		wait *= 2
	}
	st.DisconnectTimeouts.Add(1)
	if err := ctx.Err(); err != nil {
		return DisconnectResult{}, fmt.Errorf("%w from client %q at %s: %w", ErrNoAnswer, c.Name, dst, err)
	}
	if lastErr != nil {
		return DisconnectResult{}, fmt.Errorf("%w from client %q at %s after %d tries (%v)", ErrNoAnswer, c.Name, dst, tries, lastErr)
	}
	return DisconnectResult{}, fmt.Errorf("%w from client %q at %s after %d tries", ErrNoAnswer, c.Name, dst, tries)
}

// MaxResponseLength is the largest Disconnect-ACK or NAK read (RFC 2865
// 3: 4096 octets).
const MaxResponseLength = 4096

// request builds the Disconnect-Request for s and finds where it goes and
// the client whose secret signs it.
func (d *Disconnector) request(s session.Session) ([]byte, netip.AddrPort, *Client, error) {
	if s.FrontEnd != FrontEnd {
		return nil, netip.AddrPort{}, nil, fmt.Errorf("radius: cannot disconnect a session of front end %q", s.FrontEnd)
	}
	c := d.srv.Client(s.Client)
	if c == nil {
		return nil, netip.AddrPort{}, nil, fmt.Errorf("%w: %q", ErrUnknownClient, s.Client)
	}
	a := c.DASAddr
	if !a.IsValid() {
		a = s.NAS.Addr().Unmap()
	}
	if !a.IsValid() || a.IsUnspecified() {
		return nil, netip.AddrPort{}, nil, fmt.Errorf("radius: no address to disconnect a session of client %q (no das, no NAS address)", c.Name)
	}
	port := c.DASPort
	if port == 0 {
		port = DefaultDASPort
	}
	dst := netip.AddrPortFrom(a, port)
	if s.UserName == "" && s.CallingStationID == "" && s.AcctSessionID == "" {
		// Without one the access point cannot tell the session (RFC 5176
		// 3), or would take it as every session.
		return nil, dst, c, fmt.Errorf("radius: session of client %q has no User-Name, Calling-Station-Id or Acct-Session-Id", c.Name)
	}
	var id [1]byte
	rand.Read(id[:])
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	b, err := encodeDisconnectRequest(id[0], s, uint32(now().Unix()), c)
	if err != nil {
		return nil, dst, c, fmt.Errorf("radius: disconnect via client %q: %w", c.Name, err)
	}
	return b, dst, c, nil
}

// encodeDisconnectRequest encodes a Disconnect-Request, Message-
// Authenticator first: the Message-Authenticator is computed over the
// packet with the Authenticator field and its own value zero (RFC 5176
// 3.3, RFC 3579 3.2), then the Request Authenticator, MD5 over the packet
// with a zero Authenticator field followed by the secret (RFC 5176 2.3,
// as for accounting).
func encodeDisconnectRequest(id byte, s session.Session, timestamp uint32, c *Client) ([]byte, error) {
	b := make([]byte, headerLen, 256)
	b[0], b[1] = codeDisconnectRequest, id
	b = append(b, attrMessageAuthenticator, messageAuthenticatorAttrLen)
	b = append(b, make([]byte, md5.Size)...)
	b = appendStringAttr(b, attrUserName, s.UserName)
	b = appendStringAttr(b, attrCallingStationID, s.CallingStationID)
	b = appendStringAttr(b, attrAcctSessionID, s.AcctSessionID)
	if a := s.NASIPAddress.Unmap(); a.Is4() {
		v := a.As4()
		b = append(append(b, attrNASIPAddress, 6), v[:]...)
	} else if a.Is6() {
		v := a.As16()
		b = append(append(b, attrNASIPv6Address, 18), v[:]...)
	}
	b = appendStringAttr(b, attrNASIdentifier, s.NASIdentifier)
	b = append(b, attrEventTimestamp, 6)
	b = binary.BigEndian.AppendUint32(b, timestamp)
	if len(b) > MaxResponseLength {
		return nil, errPacketLength
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	const maOff = headerLen + 2
	mac := c.mac()
	mac.Write(b)
	mac.Sum(b[maOff:maOff])
	c.putMAC(mac)
	h := md5.New()
	h.Write(b)
	h.Write(c.Secret)
	h.Sum(b[4:4])
	return b, nil
}

// appendStringAttr appends a text or string attribute, when v is one that
// fits (1 to 253 octets).
func appendStringAttr(b []byte, typ byte, v string) []byte {
	if len(v) == 0 || len(v) > 253 {
		return b
	}
	return append(append(b, typ, byte(2+len(v))), v...)
}

var (
	errDisconnectCode = errors.New("radius: not a Disconnect-ACK or NAK")
	errDisconnectID   = errors.New("radius: Identifier does not match")
	errResponseAuth   = errors.New("radius: Response Authenticator mismatch")
)

// checkDisconnectResponse verifies an answer to the Disconnect-Request
// with Identifier id and Request Authenticator reqAuth: framing, code,
// Identifier, the Response Authenticator (MD5 over Code, Identifier,
// Length, the Request Authenticator, the attributes and the secret) and,
// when present, Message-Authenticator (HMAC-MD5 over the packet with the
// Request Authenticator in place and its own value zero, RFC 5176 3.3).
// Comparisons are constant time.
func checkDisconnectResponse(b []byte, id byte, reqAuth *[16]byte, c *Client) (DisconnectResult, error) {
	b, maOff, err := checkPacket(b)
	if err != nil {
		return DisconnectResult{}, err
	}
	if b[0] != codeDisconnectACK && b[0] != codeDisconnectNAK {
		return DisconnectResult{}, errDisconnectCode
	}
	if b[1] != id {
		return DisconnectResult{}, errDisconnectID
	}
	var sum [md5.Size]byte
	h := md5.New()
	h.Write(b[:4])
	h.Write(reqAuth[:])
	h.Write(b[headerLen:])
	h.Write(c.Secret)
	if subtle.ConstantTimeCompare(h.Sum(sum[:0]), b[4:20]) != 1 {
		return DisconnectResult{}, errResponseAuth
	}
	if maOff >= 0 {
		mac := c.mac()
		ok := responseMACOK(b, maOff, reqAuth, mac)
		c.putMAC(mac)
		if !ok {
			return DisconnectResult{}, errBadMsgAuth
		}
	}
	r := DisconnectResult{Acked: b[0] == codeDisconnectACK}
	for off := headerLen; off < len(b); off += int(b[off+1]) {
		if b[off] == attrErrorCause && b[off+1] == 6 {
			r.ErrorCause = binary.BigEndian.Uint32(b[off+2 : off+6])
		}
	}
	return r, nil
}

func responseMACOK(b []byte, maOff int, reqAuth *[16]byte, mac hash.Hash) bool {
	var zero, sum [md5.Size]byte
	mac.Write(b[:4])
	mac.Write(reqAuth[:])
	mac.Write(b[headerLen:maOff])
	mac.Write(zero[:])
	mac.Write(b[maOff+md5.Size:])
	return subtle.ConstantTimeCompare(mac.Sum(sum[:0]), b[maOff:maOff+md5.Size]) == 1
}
