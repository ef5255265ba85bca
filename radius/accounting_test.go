package radius

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/session"
)

// acctPacket builds an Accounting-Request signed as an access point signs
// it: the Message-Authenticator (when withMA) over the packet with a zero
// Request Authenticator, then the Request Authenticator (RFC 2866 3).
func acctPacket(t testing.TB, id byte, sec string, withMA bool, fill func(p *radius.Packet)) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(sec))
	p.Identifier = id
	p.Authenticator = [16]byte{}
	if withMA {
		var zero [16]byte
		p.Add(attrMessageAuthenticator, zero[:])
	}
	fill(p)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if withMA {
		mac := hmac.New(md5.New, []byte(sec))
		mac.Write(b)
		copy(b[22:38], mac.Sum(nil))
	}
	h := md5.New()
	h.Write(b)
	h.Write([]byte(sec))
	copy(b[4:20], h.Sum(nil))
	return b
}

func acctAttrs(status rfc2866.AcctStatusType, class, acctSessionID string) func(p *radius.Packet) {
	return func(p *radius.Packet) {
		rfc2866.AcctStatusType_Set(p, status)
		rfc2865.UserName_SetString(p, "anonymous@wlan.mnc001.mcc001.3gppnetwork.org")
		rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-01")
		if class != "" {
			rfc2865.Class_Add(p, []byte(class))
		}
		if acctSessionID != "" {
			rfc2866.AcctSessionID_SetString(p, acctSessionID)
		}
	}
}

// checkAcctResponse verifies an Accounting-Response: code, Response
// Authenticator, and the Message-Authenticator exactly when wantMA.
func checkAcctResponse(t *testing.T, resp, req []byte, wantMA bool) *radius.Packet {
	t.Helper()
	if resp == nil {
		t.Fatal("no answer")
	}
	if resp[0] != byte(radius.CodeAccountingResponse) || resp[1] != req[1] {
		t.Fatalf("code %d id %d", resp[0], resp[1])
	}
	if !radius.IsAuthenticResponse(resp, req, []byte(secret)) {
		t.Fatal("Response Authenticator does not verify")
	}
	hasMA := len(resp) > headerLen && resp[20] == attrMessageAuthenticator
	if hasMA != wantMA {
		t.Fatalf("Message-Authenticator present %v, want %v", hasMA, wantMA)
	}
	if hasMA {
		c := append([]byte(nil), resp...)
		copy(c[4:20], req[4:20])
		clear(c[22:38])
		mac := hmac.New(md5.New, []byte(secret))
		mac.Write(c)
		if !hmac.Equal(mac.Sum(nil), resp[22:38]) {
			t.Fatal("Message-Authenticator does not verify")
		}
	}
	p, err := radius.Parse(resp, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAccounting_Authenticators(t *testing.T) {
	good := func(withMA bool) []byte {
		return acctPacket(t, 7, secret, withMA, acctAttrs(rfc2866.AcctStatusType_Value_Start, "", "S1"))
	}
	flip := func(b []byte, i int) []byte { b = append([]byte(nil), b...); b[i] ^= 1; return b }
	accessReq := requestWith(t, 7, secret, "02-00-00-00-00-01", "")
	for _, tc := range []struct {
		name   string
		from   netip.AddrPort
		req    []byte
		wantMA bool
		drop   DropReason // when no answer is wanted
		answer bool
	}{
		{"request authenticator", nas, good(false), false, 0, true},
		{"with Message-Authenticator", nas, good(true), true, 0, true},
		{"bad request authenticator", nas, flip(good(false), 4), false, DropBadRequestAuthenticator, false},
		{"attribute changed", nas, flip(good(false), len(good(false))-1), false, DropBadRequestAuthenticator, false},
		{"wrong secret", nas, acctPacket(t, 7, "not-the-secret", false, acctAttrs(rfc2866.AcctStatusType_Value_Start, "", "S1")), false, DropBadRequestAuthenticator, false},
		// The Request Authenticator is recomputed over the forged MA: only
		// the Message-Authenticator tells.
		{"bad Message-Authenticator", nas, func() []byte {
			b := flip(good(true), 22)
			clear(b[4:20])
			h := md5.New()
			h.Write(b)
			h.Write([]byte(secret))
			copy(b[4:20], h.Sum(nil))
			return b
		}(), false, DropBadMessageAuthenticator, false},
		{"Access-Request on the accounting port", nas, accessReq, false, DropNotAccountingRequest, false},
		{"unknown client", netip.MustParseAddrPort("192.0.2.1:1"), good(false), false, DropUnknownClient, false},
		{"truncated", nas, good(false)[:19], false, DropMalformed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, &scriptedEAP{}, nil)
			resp := s.processAccounting(context.Background(), tc.from, tc.req)
			if !tc.answer {
				if resp != nil {
					t.Fatal("answered")
				}
				if s.Stats.Dropped(tc.drop) != 1 {
					t.Errorf("dropped %v: %d", tc.drop, s.Stats.Dropped(tc.drop))
				}
				return
			}
			checkAcctResponse(t, resp, tc.req, tc.wantMA)
			if got := s.Stats.Snapshot()["accounting_start"]; got != 1 {
				t.Errorf("accounting_start %d", got)
			}
		})
	}
}

// A retransmission gets the cached answer and is not counted again.
func TestAccounting_Retransmission(t *testing.T) {
	s := newTestServer(t, &scriptedEAP{}, nil)
	req := acctPacket(t, 9, secret, true, acctAttrs(rfc2866.AcctStatusType_Value_InterimUpdate, "", "S1"))
	r1 := s.processAccounting(context.Background(), nas, req)
	r2 := s.processAccounting(context.Background(), nas, req)
	checkAcctResponse(t, r1, req, true)
	if string(r1) != string(r2) {
		t.Error("retransmission got another answer")
	}
	m := s.Stats.Snapshot()
	if m["accounting_interim_update"] != 1 || m["accounting_replayed"] != 1 || m["accounting_requests"] != 1 {
		t.Errorf("counters %v", m)
	}
	// An authentication with the same source and Identifier does not take
	// the accounting answer, nor the other way round.
	if s.acctDedup(s.Client("lab")) == s.Client("lab").state.dedup {
		t.Error("accounting shares the authentication duplicate cache")
	}
}

type endRecorder struct {
	mu    sync.Mutex
	imsis []string
}

func (e *endRecorder) add(imsi string) { e.mu.Lock(); e.imsis = append(e.imsis, imsi); e.mu.Unlock() }
func (e *endRecorder) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.imsis...)
}

// login runs an Access-Request to an Accept and returns its Class.
func login(t *testing.T, s *Server, req []byte) (class string, accept *radius.Packet) {
	t.Helper()
	p := checkResponse(t, s.process(context.Background(), nas, req), req)
	if p.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", p.Code)
	}
	classes, _ := rfc2865.Class_Gets(p)
	if len(classes) != 1 {
		t.Fatalf("%d Class attributes", len(classes))
	}
	return string(classes[0]), p
}

func TestAccounting_StartInterimStop(t *testing.T) {
	s := newTestServer(t, &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}, nil)
	var ends endRecorder
	tb := session.NewTable(session.Config{OnLastEnd: ends.add})
	s.SetSessions(tb)
	const imsi = "001010000000001"
	class, _ := login(t, s, requestWith(t, 1, secret, "02-00-00-00-00-01", ""))
	if !strings.HasPrefix(class, ClassPrefix) || strings.Contains(class, imsi) || len(class) != len(ClassPrefix)+32 {
		t.Fatalf("Class %q", class)
	}
	ctx := context.Background()
	send := func(id byte, fill func(p *radius.Packet)) {
		t.Helper()
		req := acctPacket(t, id, secret, id%2 == 0, fill)
		checkAcctResponse(t, s.processAccounting(ctx, nas, req), req, id%2 == 0)
	}
	one := func() session.Session {
		t.Helper()
		got := tb.Lookup(imsi)
		if len(got) != 1 {
			t.Fatalf("%d sessions", len(got))
		}
		return got[0]
	}

	// Start: Acct-Session-Id and the framed address.
	send(10, func(p *radius.Packet) {
		acctAttrs(rfc2866.AcctStatusType_Value_Start, class, "S-1")(p)
		rfc2865.FramedIPAddress_Set(p, net.IPv4(10, 1, 2, 3))
	})
	ss := one()
	if ss.AcctSessionID != "S-1" || ss.FramedIPAddress != netip.MustParseAddr("10.1.2.3") || ss.Accounted.IsZero() {
		t.Fatalf("after Start: %v %q %v", ss, ss.AcctSessionID, ss.FramedIPAddress)
	}
	// Interim-Update: octets with gigawords, session time.
	send(11, func(p *radius.Packet) {
		acctAttrs(rfc2866.AcctStatusType_Value_InterimUpdate, class, "S-1")(p)
		rfc2866.AcctInputOctets_Set(p, 5)
		rfc2866.AcctOutputOctets_Set(p, 6)
		p.Add(attrAcctInputGigawords, binary.BigEndian.AppendUint32(nil, 2))
		rfc2866.AcctSessionTime_Set(p, 90)
	})
	ss = one()
	if ss.InputOctets != 2<<32|5 || ss.OutputOctets != 6 || ss.SessionTime != 90*time.Second {
		t.Fatalf("after Interim-Update: in %d out %d time %v", ss.InputOctets, ss.OutputOctets, ss.SessionTime)
	}
	if len(ends.get()) != 0 {
		t.Fatal("session ended before Stop")
	}
	// Stop: the session leaves the table; the IMSI's last, so OnLastEnd.
	send(12, acctAttrs(rfc2866.AcctStatusType_Value_Stop, class, "S-1"))
	if got := tb.Lookup(imsi); len(got) != 0 {
		t.Fatalf("after Stop: %v", got)
	}
	if got := ends.get(); len(got) != 1 || got[0] != imsi {
		t.Fatalf("OnLastEnd %v", got)
	}
	// A Stop again (another node's retransmission, a lost session):
	// answered, counted as unknown.
	send(13, acctAttrs(rfc2866.AcctStatusType_Value_Stop, class, "S-1"))
	// Accounting-On: answered, counted.
	send(14, func(p *radius.Packet) { rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_AccountingOn) })
	m := s.Stats.Snapshot()
	for k, want := range map[string]uint64{
		"accounting_requests": 5, "accounting_start": 1, "accounting_interim_update": 1, "accounting_stop": 2,
		"accounting_on": 1, "accounting_unknown_session": 1, "accounting_sessions_ended": 1,
	} {
		if m[k] != want {
			t.Errorf("%s = %d, want %d", k, m[k], want)
		}
	}
}

// Without Class (an access point that does not echo it), a permanent
// identity in User-Name finds the session; a pseudonym does not.
func TestAccounting_UserNameFallback(t *testing.T) {
	s := newTestServer(t, &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}, nil)
	tb := session.NewTable(session.Config{})
	s.SetSessions(tb)
	const imsi = "001010000000001"
	login(t, s, requestWith(t, 1, secret, "02-00-00-00-00-01", ""))
	for i, tc := range []struct {
		user  string
		found bool
	}{
		{"7pseudonym0000000@wlan.mnc001.mcc001.3gppnetwork.org", false},
		{"6" + imsi + "@wlan.mnc001.mcc001.3gppnetwork.org", true},
	} {
		req := acctPacket(t, byte(20+i), secret, false, func(p *radius.Packet) {
			rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
			rfc2865.UserName_SetString(p, tc.user)
			rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-01")
			rfc2866.AcctSessionID_SetString(p, "S-9")
		})
		checkAcctResponse(t, s.processAccounting(context.Background(), nas, req), req, false)
		got := tb.Lookup(imsi)
		if len(got) != 1 || (got[0].AcctSessionID == "S-9") != tc.found {
			t.Errorf("%s: sessions %v", tc.user, got)
		}
	}
	if n := s.Stats.Acct.UnknownSession.Load(); n != 1 {
		t.Errorf("unknown sessions %d", n)
	}
}

// Chargeable-User-Identity only when the access point asks, opaque and
// the same for the same subscriber.
func TestAccept_ChargeableUserIdentity(t *testing.T) {
	s := newTestServer(t, &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}, nil)
	s.SetSessions(session.NewTable(session.Config{}))
	withCUI := func(id byte) []byte {
		p, err := radius.Parse(requestWith(t, id, secret, "02-00-00-00-00-01", ""), []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		p.Add(attrChargeableUserIdentity, []byte{0})
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		clear(b[22:38])
		mac := hmac.New(md5.New, []byte(secret))
		mac.Write(b)
		copy(b[22:38], mac.Sum(nil))
		return b
	}
	_, p := login(t, s, requestWith(t, 1, secret, "02-00-00-00-00-01", ""))
	if _, ok := p.Lookup(attrChargeableUserIdentity); ok {
		t.Error("CUI sent unasked")
	}
	_, p1 := login(t, s, withCUI(2))
	_, p2 := login(t, s, withCUI(3))
	c1, ok1 := p1.Lookup(attrChargeableUserIdentity)
	c2, ok2 := p2.Lookup(attrChargeableUserIdentity)
	if !ok1 || !ok2 || string(c1) != string(c2) || len(c1) != 32 {
		t.Fatalf("CUI %q %q", c1, c2)
	}
	if strings.Contains(string(c1), "001010000000001") || string(c1) == s.cui("001010000000002") {
		t.Errorf("CUI %q", c1)
	}
	// Classes differ per session, CUIs do not.
	class1, _ := rfc2865.Class_Lookup(p1)
	class2, _ := rfc2865.Class_Lookup(p2)
	if string(class1) == string(class2) {
		t.Error("two sessions got the same Class")
	}
}

func TestConfig_AccountingListen(t *testing.T) {
	for _, tc := range []struct{ listen, acct, want, err string }{
		{"192.0.2.1:1812", "", "192.0.2.1:1813", ""},
		{"127.0.0.1:0", "", "127.0.0.1:0", ""},
		{"[::1]:1812", "", "[::1]:1813", ""},
		{"127.0.0.1:1812", "off", "off", ""},
		{"127.0.0.1:1812", "127.0.0.1:11813", "127.0.0.1:11813", ""},
		{"127.0.0.1:1812", "1813", "", "radius.accounting_listen"},
		{"127.0.0.1:1812", "127.0.0.1:1812", "", "radius.accounting_listen"},
	} {
		c := Config{Listen: tc.listen, AccountingListen: tc.acct,
			Clients: []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: secret}}}
		c.SetDefaults()
		err := c.Validate("radius")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: error %v", tc.listen, tc.acct, err)
			}
			continue
		}
		if err != nil || c.AccountingListen != tc.want {
			t.Errorf("%s %q: %q %v, want %q", tc.listen, tc.acct, c.AccountingListen, err, tc.want)
		}
	}
}

// Over UDP, with layeh's client (its Encode computes the Request
// Authenticator as RFC 2866 says), then Shutdown stops both sockets.
func TestServeAccounting_UDP(t *testing.T) {
	s := newTestServer(t, &scriptedEAP{}, nil)
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.ListenAccounting()
	if err != nil || conn == nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- s.Serve(context.Background(), ln) }()
	go func() { served <- s.ServeAccounting(context.Background(), conn) }()
	p := radius.New(radius.CodeAccountingRequest, []byte(secret))
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
	rfc2866.AcctSessionID_SetString(p, "S-1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := radius.Exchange(ctx, p, conn.LocalAddr().String())
	if err != nil || resp.Code != radius.CodeAccountingResponse {
		t.Fatalf("exchange: %v %v", resp, err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}
}

// Accounting off: no socket.
func TestListenAccounting_Off(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", AccountingListen: AccountingOff,
		Clients: []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: secret}}}, &scriptedEAP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.ListenAccounting(); c != nil || err != nil {
		t.Fatalf("%v %v", c, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
