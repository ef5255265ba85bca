package radius

// RADIUS accounting (RFC 2866) on a socket of its own (radius.
// accounting_listen, port 1813 by default), served by the same Server: the
// client found by source address, the Request Authenticator checked (RFC
// 2866 3), the Message-Authenticator checked when present, a duplicate
// cache per client as for authentication, then Accounting-Response.
//
// Accounting-Requests find their session by the Class the Access-Accept
// carried (an opaque "aaad:" token per session, session.Table.FindClass),
// else by a permanent identity in User-Name (the IMSI it holds, then the
// client and the Acct-Session-Id or Calling-Station-Id). Start and
// Interim-Update keep the session current (Acct-Session-Id, framed
// address, octets, session time); Stop takes it out of the table, which
// with SWx sends the SAR deregistration when it was the IMSI's last
// (session.Config.OnLastEnd). A request for no known session is answered
// all the same (counted as accounting_unknown_session): the access point
// would otherwise retransmit it for ever. Accounting-On and -Off are
// answered and counted only: the sessions of that access point leave the
// table at their Stop, their expiry, or an RTR.

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/session"
)

// RFC 2866 and RFC 4372 numbers used here.
const (
	codeAccountingRequest      = 4
	attrFramedIPAddress        = 8
	attrClass                  = 25
	attrAcctStatusType         = 40
	attrAcctInputOctets        = 42
	attrAcctOutputOctets       = 43
	attrAcctSessionTime        = 46
	attrAcctInputGigawords     = 52
	attrAcctOutputGigawords    = 53
	attrChargeableUserIdentity = 89

	AcctStatusStart         = 1
	AcctStatusStop          = 2
	AcctStatusInterimUpdate = 3
	AcctStatusOn            = 7
	AcctStatusOff           = 8
)

// ClassPrefix starts every Class aaad sends in an Access-Accept.
const ClassPrefix = "aaad:"

// newClass returns a fresh Class value: the prefix and 16 random octets in
// hex. It says nothing about the subscriber.
func newClass() string {
	var b [16]byte
	rand.Read(b[:])
	return ClassPrefix + hex.EncodeToString(b[:])
}

// loadCUIKey reads the Chargeable-User-Identity key from file, or draws
// a random one when file is empty.
func loadCUIKey(file string) ([]byte, error) {
	if file == "" {
		k := make([]byte, 32)
		rand.Read(k)
		return k, nil
	}
	k, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("radius.cui_key_file: %w", err)
	}
	if len(k) < 16 {
		return nil, errors.New("radius.cui_key_file: shorter than 16 octets")
	}
	return k, nil
}

// cui is the Chargeable-User-Identity of imsi (RFC 4372): HMAC-SHA256 under
// the server's key, 16 octets in hex. The same subscriber gets the same
// value for as long as the key stays; the IMSI cannot be read from it.
func (s *Server) cui(imsi string) string {
	h := hmac.New(sha256.New, s.cuiKey)
	h.Write([]byte(imsi))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// AcctStats counts authentic Accounting-Requests by Acct-Status-Type, the
// ones that named no session in the table, the retransmissions answered
// from the duplicate cache, and the sessions a Stop took out.
type AcctStats struct {
	Requests       atomic.Uint64
	Start          atomic.Uint64
	Stop           atomic.Uint64
	Interim        atomic.Uint64
	On             atomic.Uint64
	Off            atomic.Uint64
	Other          atomic.Uint64
	UnknownSession atomic.Uint64
	Replays        atomic.Uint64
	SessionsEnded  atomic.Uint64
}

func (a *AcctStats) snapshot(m map[string]uint64) {
	m["accounting_requests"] = a.Requests.Load()
	m["accounting_start"] = a.Start.Load()
	m["accounting_stop"] = a.Stop.Load()
	m["accounting_interim_update"] = a.Interim.Load()
	m["accounting_on"] = a.On.Load()
	m["accounting_off"] = a.Off.Load()
	m["accounting_other"] = a.Other.Load()
	m["accounting_unknown_session"] = a.UnknownSession.Load()
	m["accounting_replayed"] = a.Replays.Load()
	m["accounting_sessions_ended"] = a.SessionsEnded.Load()
}

// acctState is the accounting listener of a Server.
type acctState struct {
	mu      sync.Mutex
	conn    *net.UDPConn
	serving bool
	closed  bool
	done    chan struct{} // closed when ServeAccounting returns
	// dedup holds each client's accounting duplicate cache, by the
	// client's state (which a reload keeps): apart from authentication's,
	// so that a NAS that uses one socket and one Identifier space for both
	// never has one answer replace the other.
	dedup sync.Map // *clientState → *dedupCache
}

// ListenAccounting binds radius.accounting_listen. It returns nil and no
// error when accounting is off.
func (s *Server) ListenAccounting() (*net.UDPConn, error) {
	if s.cfg.AccountingListen == AccountingOff {
		return nil, nil
	}
	ap, err := netip.ParseAddrPort(s.cfg.AccountingListen)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	if s.cfg.ReadBuffer > 0 {
		conn.SetReadBuffer(s.cfg.ReadBuffer)
	}
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	if s.acct.closed {
		conn.Close()
		return nil, net.ErrClosed
	}
	s.acct.conn = conn
	return conn, nil
}

// ServeAccounting answers Accounting-Requests on conn until Shutdown.
func (s *Server) ServeAccounting(ctx context.Context, conn *net.UDPConn) error {
	s.acct.mu.Lock()
	if s.acct.serving {
		s.acct.mu.Unlock()
		return errors.New("radius: already serving accounting")
	}
	s.acct.serving = true
	s.acct.conn = conn
	s.acct.done = make(chan struct{})
	done := s.acct.done
	closed := s.acct.closed
	s.acct.mu.Unlock()
	defer close(done)
	if closed {
		conn.Close()
		return nil
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				s.acct.dedup.Range(func(_, v any) bool {
					v.(*dedupCache).sweep(now)
					return true
				})
			}
		}
	}()
	// Accounting is cheap (no backend): a few workers do.
	n := max(2, min(s.cfg.Workers, 16))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			pb := new(packetBuf)
			for {
				m, from, err := conn.ReadFromUDPAddrPort(pb[:])
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					s.log.Warn("radius accounting read failed", zap.Error(err))
					continue
				}
				if resp := s.processAccounting(ctx, from, pb[:m]); resp != nil {
					s.write(conn, from, resp)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// shutdownAccounting closes the accounting socket; the channel is closed
// once its workers are done (at once when it never served).
func (s *Server) shutdownAccounting() <-chan struct{} {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	s.acct.closed = true
	if s.acct.conn != nil {
		s.acct.conn.Close()
	}
	if s.acct.done != nil {
		return s.acct.done
	}
	c := make(chan struct{})
	close(c)
	return c
}

func waitOrDone(ctx context.Context, c <-chan struct{}) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acctDedup is the client's accounting duplicate cache.
func (s *Server) acctDedup(c *Client) *dedupCache {
	if v, ok := s.acct.dedup.Load(c.state); ok {
		d := v.(*dedupCache)
		d.setMax(c.DuplicateCacheSize)
		return d
	}
	v, _ := s.acct.dedup.LoadOrStore(c.state, newDedupCache(c.DuplicateCacheSize, s.cfg.DuplicateCache))
	return v.(*dedupCache)
}

// checkAccountingRequest verifies the Request Authenticator of an
// Accounting-Request (RFC 2866 3): MD5 of the packet with the field as 16
// zero octets, followed by the secret; constant time.
func checkAccountingRequest(b []byte, secret []byte) bool {
	var zero, sum [md5.Size]byte
	h := md5.New()
	h.Write(b[:4])
	h.Write(zero[:])
	h.Write(b[headerLen:])
	h.Write(secret)
	return subtle.ConstantTimeCompare(h.Sum(sum[:0]), b[4:headerLen]) == 1
}

// verifyAccountingMessageAuthenticator checks the Message-Authenticator of
// an Accounting-Request: HMAC-MD5 with the secret over the packet with the
// Request Authenticator and the attribute's value as 16 zero octets each
// (as for Disconnect- and CoA-Requests, RFC 5176 3.3; what FreeRADIUS and
// hostapd compute). Constant time.
func verifyAccountingMessageAuthenticator(b []byte, off int, mac hash.Hash) error {
	var zero, sum [md5.Size]byte
	mac.Write(b[:4])
	mac.Write(zero[:])
	mac.Write(b[headerLen:off])
	mac.Write(zero[:])
	mac.Write(b[off+md5.Size:])
	if !hmac.Equal(mac.Sum(sum[:0]), b[off:off+md5.Size]) {
		return errBadMsgAuth
	}
	return nil
}

// processAccounting runs one datagram of the accounting socket through
// and returns the answer to send, or nil.
func (s *Server) processAccounting(_ context.Context, from netip.AddrPort, b []byte) (resp []byte) {
	client := s.clients.Load().lookup(from.Addr())
	if client == nil {
		s.drop(DropUnknownClient, from, nil)
		return nil
	}
	b, maOff, err := checkPacket(b)
	if err != nil {
		s.drop(DropMalformed, from, client)
		return nil
	}
	if b[0] != codeAccountingRequest {
		s.drop(DropNotAccountingRequest, from, client)
		return nil
	}
	if !checkAccountingRequest(b, client.Secret) {
		s.drop(DropBadRequestAuthenticator, from, client)
		return nil
	}
	if maOff >= 0 {
		mac := client.mac()
		err := verifyAccountingMessageAuthenticator(b, maOff, mac)
		client.putMAC(mac)
		if err != nil {
			s.drop(DropBadMessageAuthenticator, from, client)
			return nil
		}
	}
	key := dedupKey{addr: from, id: b[1]}
	var auth [16]byte
	copy(auth[:], b[4:20])
	return s.deduplicated(s.acctDedup(client), key, &auth, from, client, &s.Stats.Acct.Replays, "radius accounting request",
		func() []byte { return s.account(client, from, b, maOff >= 0) })
}

// acctRequest is what an Accounting-Request says.
type acctRequest struct {
	status           uint32
	userName         []byte
	classes          [][]byte
	acctSessionID    string
	callingStationID string
	framed           netip.Addr
	in, out          uint64
	inGiga, outGiga  uint64
	hasIn, hasOut    bool
	sessionTime      uint32
	hasSessionTime   bool
}

func parseAcctRequest(p *radius.Packet) acctRequest {
	var r acctRequest
	u32 := func(v []byte) (uint32, bool) {
		if len(v) != 4 {
			return 0, false
		}
		return binary.BigEndian.Uint32(v), true
	}
	for _, a := range p.Attributes {
		v := a.Attribute
		switch a.Type {
		case attrAcctStatusType:
			r.status, _ = u32(v)
		case rfc2865.UserName_Type:
			r.userName = v
		case attrClass:
			r.classes = append(r.classes, v)
		case attrAcctSessionID:
			r.acctSessionID = string(v)
		case rfc2865.CallingStationID_Type:
			r.callingStationID = string(v)
		case attrFramedIPAddress:
			if len(v) == 4 {
				r.framed = netip.AddrFrom4([4]byte(v))
			}
		case attrAcctInputOctets:
			if n, ok := u32(v); ok {
				r.in, r.hasIn = uint64(n), true
			}
		case attrAcctOutputOctets:
			if n, ok := u32(v); ok {
				r.out, r.hasOut = uint64(n), true
			}
		case attrAcctInputGigawords:
			if n, ok := u32(v); ok {
				r.inGiga = uint64(n)
			}
		case attrAcctOutputGigawords:
			if n, ok := u32(v); ok {
				r.outGiga = uint64(n)
			}
		case attrAcctSessionTime:
			r.sessionTime, r.hasSessionTime = u32(v)
		}
	}
	return r
}

// account acts on an authentic Accounting-Request and encodes the
// Accounting-Response (with a Message-Authenticator when the request had
// one).
func (s *Server) account(client *Client, from netip.AddrPort, b []byte, withMA bool) []byte {
	req, err := radius.Parse(b, client.Secret)
	if err != nil {
		s.drop(DropMalformed, from, client)
		return nil
	}
	r := parseAcctRequest(req)
	st := &s.Stats.Acct
	st.Requests.Add(1)
	switch r.status {
	case AcctStatusStart:
		st.Start.Add(1)
	case AcctStatusStop:
		st.Stop.Add(1)
	case AcctStatusInterimUpdate:
		st.Interim.Add(1)
	case AcctStatusOn:
		st.On.Add(1)
	case AcctStatusOff:
		st.Off.Add(1)
	default:
		st.Other.Add(1)
	}
	switch r.status {
	case AcctStatusStart, AcctStatusStop, AcctStatusInterimUpdate:
		if t := s.sessions.Load(); t != nil {
			s.applyAccounting(t, client, &r)
		}
	}
	resp := &radius.Packet{
		Code:          radius.CodeAccountingResponse,
		Identifier:    req.Identifier,
		Authenticator: req.Authenticator,
		Secret:        client.Secret,
	}
	if withMA {
		var zero [16]byte
		resp.Add(attrMessageAuthenticator, zero[:])
		return s.encode(resp, from, client)
	}
	out, err := resp.Encode() // Response Authenticator over the request's
	if err != nil {
		s.log.Error("radius encode failed", zap.String("client", client.Name), zap.Error(err))
		return nil
	}
	return out
}

// applyAccounting updates or ends the session r names.
func (s *Server) applyAccounting(t *session.Table, client *Client, r *acctRequest) {
	ss, ok := findAcctSession(t, client.Name, r)
	if !ok {
		s.Stats.Acct.UnknownSession.Add(1)
		if ce := s.log.Check(zap.DebugLevel, "accounting for no known session"); ce != nil {
			ce.Write(zap.String("client", client.Name), zap.Uint32("status", r.status))
		}
		return
	}
	now := time.Now()
	upd := func(x *session.Session) {
		if r.acctSessionID != "" {
			x.AcctSessionID = r.acctSessionID
		}
		if r.callingStationID != "" && x.CallingStationID == "" {
			x.CallingStationID = r.callingStationID
		}
		if r.framed.IsValid() {
			x.FramedIPAddress = r.framed
		}
		if r.hasIn {
			x.InputOctets = r.inGiga<<32 | r.in
		}
		if r.hasOut {
			x.OutputOctets = r.outGiga<<32 | r.out
		}
		if r.hasSessionTime {
			x.SessionTime = time.Duration(r.sessionTime) * time.Second
		}
		x.Accounted = now
	}
	if r.status != AcctStatusStop {
		t.Update(ss, upd)
		return
	}
	// Stop: the session is over. Remove calls OnLastEnd when it was the
	// IMSI's last (the SAR deregistration with SWx).
	upd(&ss)
	if t.Remove(ss) {
		s.Stats.Acct.SessionsEnded.Add(1)
		if ce := s.log.Check(zap.InfoLevel, "accounting stop ended the session"); ce != nil {
			ce.Write(zap.String("client", client.Name), zap.String("imsi", MaskIMSI(ss.IMSI)),
				zap.Uint64("input_octets", ss.InputOctets), zap.Uint64("output_octets", ss.OutputOctets),
				zap.Duration("session_time", ss.SessionTime))
		}
	}
}

// findAcctSession finds the session of client an Accounting-Request
// names: by its Class, else by the IMSI of a permanent identity in
// User-Name and the Acct-Session-Id or Calling-Station-Id.
func findAcctSession(t *session.Table, client string, r *acctRequest) (session.Session, bool) {
	for _, c := range r.classes {
		if strings.HasPrefix(string(c), ClassPrefix) {
			if ss, ok := t.FindClass(client, string(c)); ok {
				return ss, true
			}
		}
	}
	id := eap.ParseIdentity(r.userName)
	if id.Kind != eap.IdentityPermanent || len(id.Value) == 0 {
		return session.Session{}, false
	}
	var fallback *session.Session
	sessions := t.Lookup(string(id.Value)) // newest first
	for i := range sessions {
		ss := &sessions[i]
		if ss.Client != client || ss.FrontEnd != FrontEnd {
			continue
		}
		if r.acctSessionID != "" && ss.AcctSessionID == r.acctSessionID {
			return *ss, true
		}
		if fallback == nil && (ss.AcctSessionID == "" || r.acctSessionID == "") &&
			(r.callingStationID == "" || ss.CallingStationID == "" || ss.CallingStationID == r.callingStationID) {
			fallback = ss
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return session.Session{}, false
}
