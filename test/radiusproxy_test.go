package test

// RADIUS and EAP on the wire, for the tests that speak RADIUS themselves (a
// client bound to another address, a man in the middle between eapol_test
// and aaad) instead of through eapol_test. Packets are built and parsed with
// layeh.com/radius; Message-Authenticator (RFC 3579 3.2) and the Response
// Authenticator (RFC 2865 3) are computed here on the raw bytes, as
// radius/wire.go and cmd/aaabench/wire.go do.

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

const (
	radiusHeaderLen = 20
	attrMsgAuth     = 80 // Message-Authenticator (RFC 3579 3.2)
	msgAuthOffset   = radiusHeaderLen + 2

	// How long a test client or the proxy waits for aaad's answer. aaad
	// answers in milliseconds; the wait only ends a test whose server
	// does not answer at all.
	answerTimeout = 5 * time.Second

	// EAP (RFC 3748) and EAP-AKA/AKA' (RFC 4187, RFC 9048) numbers.
	eapRequest  = 1
	eapResponse = 2
	eapSuccess  = 3
	eapFailure  = 4

	eapTypeIdentity = 1
	eapTypeNak      = 3
	eapTypeAKA      = 23
	eapTypeAKAPrime = 50

	akaSubtypeChallenge    = 1
	akaSubtypeNotification = 12
	akaSubtypeClientError  = 14

	atRES             = 3
	atMAC             = 11
	atNotification    = 12
	atClientErrorCode = 22
	atBidding         = 136

	biddingD                   = 0x8000 // AT_BIDDING D bit: the server supports EAP-AKA' (RFC 9048 4)
	notificationGeneralFailure = 16384  // "General failure" before authentication (RFC 4187 10.19)
)

var zeroMAC [md5.Size]byte

// newAccessRequest builds an Access-Request with Identifier id and a random
// Request Authenticator: Message-Authenticator first (BlastRADIUS order),
// User-Name when given, the EAP message, State when given, signed with
// secret.
func newAccessRequest(secret []byte, id byte, userName string, eapMsg, state []byte) ([]byte, error) {
	p := radius.New(radius.CodeAccessRequest, secret)
	p.Identifier = id
	p.Add(attrMsgAuth, zeroMAC[:])
	if userName != "" {
		if err := rfc2865.UserName_SetString(p, userName); err != nil {
			return nil, err
		}
	}
	if err := rfc2869.EAPMessage_Set(p, eapMsg); err != nil {
		return nil, err
	}
	if len(state) > 0 {
		if err := rfc2865.State_Set(p, state); err != nil {
			return nil, err
		}
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// RFC 3579 3.2: HMAC-MD5 over the whole packet with the attribute's
	// value zero.
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	mac.Sum(b[msgAuthOffset:msgAuthOffset])
	return b, nil
}

// messageAuthenticatorOffset returns the offset of the value of the one
// Message-Authenticator in a packet (cut to its Length), or an error.
func messageAuthenticatorOffset(b []byte) (int, error) {
	off := -1
	for i := radiusHeaderLen; i < len(b); {
		if len(b)-i < 2 || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return -1, errors.New("bad attribute framing")
		}
		if b[i] == attrMsgAuth {
			if off >= 0 || b[i+1] != 2+md5.Size {
				return -1, errors.New("Message-Authenticator twice or of the wrong length")
			}
			off = i + 2
		}
		i += int(b[i+1])
	}
	if off < 0 {
		return -1, errors.New("no Message-Authenticator")
	}
	return off, nil
}

// cutPacket checks a packet's Length and returns it cut to it.
func cutPacket(b []byte) ([]byte, error) {
	if len(b) < radiusHeaderLen {
		return nil, errors.New("shorter than a RADIUS header")
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < radiusHeaderLen || n > len(b) {
		return nil, fmt.Errorf("bad Length %d for %d octets", n, len(b))
	}
	return b[:n], nil
}

// checkAnswer checks an answer from aaad to the request whose Request
// Authenticator is reqAuth: its Response Authenticator (RFC 2865 3), and
// that Message-Authenticator is its first attribute and right (RFC 3579
// 3.2, computed with the Request Authenticator in the header).
func checkAnswer(resp, reqAuth, secret []byte) error {
	resp, err := cutPacket(resp)
	if err != nil {
		return err
	}
	if !radius.IsAuthenticResponse(resp, append(make([]byte, 4, radiusHeaderLen), reqAuth...), secret) {
		return errors.New("bad Response Authenticator")
	}
	off, err := messageAuthenticatorOffset(resp)
	if err != nil {
		return err
	}
	if off != msgAuthOffset {
		return errors.New("Message-Authenticator is not the first attribute")
	}
	c := bytes.Clone(resp)
	copy(c[4:radiusHeaderLen], reqAuth)
	copy(c[off:off+md5.Size], zeroMAC[:])
	mac := hmac.New(md5.New, secret)
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), resp[off:off+md5.Size]) {
		return errors.New("bad Message-Authenticator")
	}
	return nil
}

// resignAnswer turns an answer into the answer to another request, the one
// with Identifier id and Request Authenticator reqAuth: Message-Authenticator
// first (over the packet with the Request Authenticator in the header, RFC
// 3579 3.2), then the Response Authenticator over the result (RFC 2865 3).
func resignAnswer(resp []byte, id byte, reqAuth, secret []byte) ([]byte, error) {
	resp, err := cutPacket(resp)
	if err != nil {
		return nil, err
	}
	b := bytes.Clone(resp)
	off, err := messageAuthenticatorOffset(b)
	if err != nil {
		return nil, err
	}
	b[1] = id
	copy(b[4:radiusHeaderLen], reqAuth)
	copy(b[off:off+md5.Size], zeroMAC[:])
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	mac.Sum(b[off:off])
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
	return b, nil
}

// ---------------------------------------------------------------------------
// EAP messages

func eapPacket(code, id byte, typ byte, data ...byte) []byte {
	b := []byte{code, id, 0, 0, typ}
	b = append(b, data...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

func eapIdentityResponse(id byte, identity string) []byte {
	return eapPacket(eapResponse, id, eapTypeIdentity, []byte(identity)...)
}

// eapNak is a legacy Nak listing the types the peer would rather use
// (RFC 3748 5.3.1).
func eapNak(id byte, types ...byte) []byte {
	return eapPacket(eapResponse, id, eapTypeNak, types...)
}

// akaClientError is an AKA-Client-Error with AT_CLIENT_ERROR_CODE 0
// "unable to process packet" (RFC 4187 9.9).
func akaClientError(method, id byte) []byte {
	return eapPacket(eapResponse, id, method, akaSubtypeClientError, 0, 0,
		atClientErrorCode, 1, 0, 0)
}

// akaChallengeResponseBadMAC is an AKA-Challenge response with a 64-bit
// AT_RES and an AT_MAC of zeros: what a peer with the wrong keys sends.
func akaChallengeResponseBadMAC(method, id byte) []byte {
	data := []byte{akaSubtypeChallenge, 0, 0,
		atRES, 3, 0, 64, 1, 2, 3, 4, 5, 6, 7, 8,
		atMAC, 5, 0, 0}
	data = append(data, zeroMAC[:]...)
	return eapPacket(eapResponse, id, method, data...)
}

// akaNotificationAck acknowledges an AKA-Notification whose P bit is set
// (no AT_MAC, RFC 4187 9.11).
func akaNotificationAck(method, id byte) []byte {
	return eapPacket(eapResponse, id, method, akaSubtypeNotification, 0, 0)
}

// eapMsg is a parsed EAP packet and, for EAP-AKA/AKA', its subtype and
// attributes (by type; the value after the attribute header).
type eapMsg struct {
	Code, ID, Type, Subtype byte
	Attrs                   map[byte][]byte
}

func parseEAP(b []byte) (eapMsg, error) {
	var m eapMsg
	if len(b) < 4 {
		return m, fmt.Errorf("EAP packet of %d octets", len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 4 || n > len(b) {
		return m, fmt.Errorf("EAP Length %d for %d octets", n, len(b))
	}
	b = b[:n]
	m.Code, m.ID = b[0], b[1]
	if m.Code != eapRequest && m.Code != eapResponse {
		return m, nil
	}
	if len(b) < 5 {
		return m, errors.New("EAP Request/Response without a Type")
	}
	m.Type = b[4]
	if m.Type != eapTypeAKA && m.Type != eapTypeAKAPrime {
		return m, nil
	}
	if len(b) < 8 {
		return m, errors.New("EAP-AKA message without subtype")
	}
	m.Subtype = b[5]
	m.Attrs = map[byte][]byte{}
	for a := b[8:]; len(a) > 0; {
		if len(a) < 4 || a[1] == 0 || int(a[1])*4 > len(a) {
			return m, errors.New("bad EAP-AKA attribute framing")
		}
		l := int(a[1]) * 4
		m.Attrs[a[0]] = a[2:l]
		a = a[l:]
	}
	return m, nil
}

func (m eapMsg) String() string {
	name := map[byte]string{eapRequest: "Request", eapResponse: "Response", eapSuccess: "Success", eapFailure: "Failure"}[m.Code]
	if name == "" {
		name = fmt.Sprintf("code %d", m.Code)
	}
	s := fmt.Sprintf("EAP-%s id=%d", name, m.ID)
	if m.Code == eapRequest || m.Code == eapResponse {
		s += fmt.Sprintf(" type=%d", m.Type)
		if m.Attrs != nil {
			s += fmt.Sprintf(" subtype=%d", m.Subtype)
		}
	}
	return s
}

// ---------------------------------------------------------------------------
// Answers

// radiusAnswer is an answer from aaad: its code, EAP message and State.
type radiusAnswer struct {
	Code  radius.Code
	EAP   []byte
	State []byte
	Raw   []byte
}

func parseAnswer(b, secret []byte) (radiusAnswer, error) {
	p, err := radius.Parse(b, secret)
	if err != nil {
		return radiusAnswer{}, err
	}
	a := radiusAnswer{Code: p.Code, Raw: b}
	a.EAP, _ = rfc2869.EAPMessage_Lookup(p)
	a.State, _ = rfc2865.State_Lookup(p)
	return a, nil
}

// eap parses the answer's EAP message.
func (a radiusAnswer) eap(t *testing.T) eapMsg {
	t.Helper()
	m, err := parseEAP(a.EAP)
	if err != nil {
		t.Fatalf("%s: bad EAP-Message %x: %v", a.Code, a.EAP, err)
	}
	return m
}

func (a *radiusAnswer) String() string {
	if a == nil {
		return "no answer"
	}
	s := a.Code.String()
	if m, err := parseEAP(a.EAP); err == nil {
		s += " with " + m.String()
	} else if len(a.EAP) == 0 {
		s += " without EAP-Message"
	}
	return s
}

// sameAnswer: the same RADIUS code and EAP message, or both no answer.
func sameAnswer(a, b *radiusAnswer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Code == b.Code && bytes.Equal(a.EAP, b.EAP)
}

// ---------------------------------------------------------------------------
// A RADIUS client on an address of its own

// radiusClient is an access point: one UDP socket bound to a local address,
// talking to aaad with one shared secret.
type radiusClient struct {
	conn   *net.UDPConn
	secret []byte
	nextID byte
}

func dialRADIUS(t *testing.T, s *server, localIP, secret string) *radiusClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)}, raddr)
	if err != nil {
		t.Fatalf("UDP socket on %s: %v", localIP, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &radiusClient{conn: conn, secret: []byte(secret)}
}

// exchange sends an Access-Request carrying eapMsg (and state, when not nil)
// and returns aaad's checked answer, or nil when none came.
func (c *radiusClient) exchange(t *testing.T, userName string, eapMsg, state []byte) *radiusAnswer {
	t.Helper()
	id := c.nextID
	c.nextID++
	req, err := newAccessRequest(c.secret, id, userName, eapMsg, state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.conn.Write(req); err != nil {
		t.Fatalf("send Access-Request from %s: %v", c.conn.LocalAddr(), err)
	}
	buf := make([]byte, radius.MaxPacketLength)
	deadline := time.Now().Add(answerTimeout)
	for {
		c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if err != nil {
			t.Fatalf("read answer on %s: %v", c.conn.LocalAddr(), err)
		}
		if n < radiusHeaderLen || buf[1] != id {
			continue // not the answer to this request
		}
		resp := bytes.Clone(buf[:n])
		if err := checkAnswer(resp, req[4:radiusHeaderLen], c.secret); err != nil {
			t.Fatalf("answer to %s: %v", c.conn.LocalAddr(), err)
		}
		a, err := parseAnswer(resp, c.secret)
		if err != nil {
			t.Fatalf("answer to %s: %v", c.conn.LocalAddr(), err)
		}
		return &a
	}
}

// ---------------------------------------------------------------------------
// The bidding-down man in the middle

// biddingDownProxy sits between eapol_test and aaad, both using aaad's shared
// secret. It relays requests to aaad and answers back, except the first
// Access-Challenge (aaad's EAP-AKA' request): that one it keeps from the
// peer, and answers for the peer with a Nak asking for EAP-AKA, as an
// attacker who wants the weaker method would. aaad's EAP-AKA request goes to
// eapol_test as the answer to its original Access-Request.
type biddingDownProxy struct {
	down   *net.UDPConn // faces eapol_test
	up     *net.UDPConn // connected to aaad
	secret []byte
	done   chan struct{}

	mu sync.Mutex // guards what follows until done is closed
	// Results, read after stop.
	errs            []string
	withheld        *eapMsg       // aaad's first EAP request, kept from the peer
	nakAnswer       *eapMsg       // aaad's answer to the injected Nak
	biddingFlags    int           // AT_BIDDING of that answer, -1 when absent
	upstreamAnswers []radius.Code // every answer aaad sent, in order
}

func startBiddingDownProxy(t *testing.T, s *server) *biddingDownProxy {
	t.Helper()
	down, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, raddr)
	if err != nil {
		down.Close()
		t.Fatal(err)
	}
	p := &biddingDownProxy{down: down, up: up, secret: []byte(s.Secret), done: make(chan struct{}), biddingFlags: -1}
	go p.run()
	t.Cleanup(p.stop)
	return p
}

// target is the proxy as the server eapol_test talks to.
func (p *biddingDownProxy) target(s *server) *server {
	port := p.down.LocalAddr().(*net.UDPAddr).Port
	return &server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Host: "127.0.0.1", Port: port, Secret: s.Secret}
}

// stop closes the sockets and waits for the relay loop to end; the results
// may be read after it.
func (p *biddingDownProxy) stop() {
	p.down.Close()
	p.up.Close()
	<-p.done
}

func (p *biddingDownProxy) errorf(format string, args ...any) {
	p.mu.Lock()
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

func (p *biddingDownProxy) run() {
	defer close(p.done)
	buf := make([]byte, radius.MaxPacketLength)
	answered := map[[1 + 16]byte][]byte{} // retransmissions get the same answer
	for {
		n, from, err := p.down.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.errorf("proxy: read from eapol_test: %v", err)
			}
			return
		}
		req, err := cutPacket(bytes.Clone(buf[:n]))
		if err != nil || req[0] != byte(radius.CodeAccessRequest) {
			p.errorf("proxy: from eapol_test, not an Access-Request (%v)", err)
			continue
		}
		var key [17]byte // Identifier, then Request Authenticator
		key[0] = req[1]
		copy(key[1:], req[4:radiusHeaderLen])
		resp, ok := answered[key]
		if !ok {
			resp, err = p.relay(req)
			if err != nil {
				p.errorf("proxy: %v", err)
				continue // eapol_test times out; the test reports errs
			}
			answered[key] = resp
		}
		if _, err := p.down.WriteToUDPAddrPort(resp, from); err != nil && !errors.Is(err, net.ErrClosed) {
			p.errorf("proxy: write to eapol_test: %v", err)
		}
	}
}

// roundTrip sends req to aaad and returns its checked answer.
func (p *biddingDownProxy) roundTrip(req []byte) ([]byte, error) {
	if _, err := p.up.Write(req); err != nil {
		return nil, fmt.Errorf("send to aaad: %w", err)
	}
	buf := make([]byte, radius.MaxPacketLength)
	p.up.SetReadDeadline(time.Now().Add(answerTimeout))
	for {
		n, err := p.up.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("no answer from aaad to Access-Request id %d: %w", req[1], err)
		}
		if n < radiusHeaderLen || buf[1] != req[1] {
			continue
		}
		resp := bytes.Clone(buf[:n])
		if err := checkAnswer(resp, req[4:radiusHeaderLen], p.secret); err != nil {
			return nil, fmt.Errorf("answer from aaad to id %d: %w", req[1], err)
		}
		resp, _ = cutPacket(resp)
		p.mu.Lock()
		p.upstreamAnswers = append(p.upstreamAnswers, radius.Code(resp[0]))
		p.mu.Unlock()
		return resp, nil
	}
}

// relay forwards one request of eapol_test's (the same secret on both sides:
// it goes as it is) and returns the answer to send back, signed for it.
func (p *biddingDownProxy) relay(req []byte) ([]byte, error) {
	resp, err := p.roundTrip(req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	first := p.withheld == nil
	p.mu.Unlock()
	if first && radius.Code(resp[0]) == radius.CodeAccessChallenge {
		if resp, err = p.bidDown(req, resp); err != nil {
			return nil, err
		}
	}
	return resignAnswer(resp, req[1], req[4:radiusHeaderLen], p.secret)
}

// bidDown withholds aaad's first challenge and answers it with a Nak for
// EAP-AKA under the challenge's State; it returns aaad's answer to the Nak.
func (p *biddingDownProxy) bidDown(req, challenge []byte) ([]byte, error) {
	ch, err := parseAnswer(challenge, p.secret)
	if err != nil {
		return nil, err
	}
	m, err := parseEAP(ch.EAP)
	if err != nil {
		return nil, fmt.Errorf("first Access-Challenge: %w", err)
	}
	p.mu.Lock()
	p.withheld = &m
	p.mu.Unlock()
	if m.Code != eapRequest || m.Type != eapTypeAKAPrime {
		return nil, fmt.Errorf("aaad's first request is %s, not an EAP-AKA' request: nothing to bid down", m)
	}
	orig, err := radius.Parse(req, p.secret)
	if err != nil {
		return nil, err
	}
	userName, _ := rfc2865.UserName_LookupString(orig)
	// A request of the proxy's own: an Identifier eapol_test is not using
	// now, a fresh Request Authenticator.
	nak, err := newAccessRequest(p.secret, req[1]+128, userName, eapNak(m.ID, eapTypeAKA), ch.State)
	if err != nil {
		return nil, err
	}
	resp, err := p.roundTrip(nak)
	if err != nil {
		return nil, err
	}
	a, err := parseAnswer(resp, p.secret)
	if err != nil {
		return nil, err
	}
	am, err := parseEAP(a.EAP)
	if err != nil {
		return nil, fmt.Errorf("answer to the Nak: %w", err)
	}
	p.mu.Lock()
	p.nakAnswer = &am
	if v, ok := am.Attrs[atBidding]; ok && len(v) == 2 {
		p.biddingFlags = int(binary.BigEndian.Uint16(v))
	}
	p.mu.Unlock()
	return resp, nil
}

// report describes what the proxy saw, for failure messages.
func (p *biddingDownProxy) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "proxy: aaad's answers %v", p.upstreamAnswers)
	if p.withheld != nil {
		fmt.Fprintf(&b, "; withheld %s", p.withheld)
	}
	if p.nakAnswer != nil {
		fmt.Fprintf(&b, "; answer to the Nak %s, AT_BIDDING %#x", p.nakAnswer, p.biddingFlags)
	}
	for _, e := range p.errs {
		fmt.Fprintf(&b, "\n  %s", e)
	}
	return b.String()
}

// randomState is a State aaad never handed out.
func randomState(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// failedFrom returns the "eap authentication failed" entries aaad logged for
// the RADIUS client named client.
func failedFrom(entries []map[string]any, client string) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["client"] == client {
			out = append(out, e)
		}
	}
	return out
}
