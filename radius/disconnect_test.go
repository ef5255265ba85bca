package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/session"
)

// testNAS is an access point's Dynamic Authorization Server: it receives
// Disconnect-Requests on a UDP socket of the test, hands each to the test
// and sends back what reply returns for it (nothing for nil).
type testNAS struct {
	conn  *net.UDPConn
	got   chan []byte
	reply atomic.Pointer[func(req []byte) [][]byte]
}

func newTestNAS(t *testing.T, reply func(req []byte) [][]byte) *testNAS {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNAS{conn: conn, got: make(chan []byte, 64)}
	n.reply.Store(&reply)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req := bytes.Clone(buf[:k])
			n.got <- req
			if r := *n.reply.Load(); r != nil {
				for _, resp := range r(req) {
					conn.WriteToUDPAddrPort(resp, from)
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return n
}

func (n *testNAS) port() int { return n.conn.LocalAddr().(*net.UDPAddr).Port }

// next returns the next Disconnect-Request the NAS received.
func (n *testNAS) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-n.got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no Disconnect-Request arrived")
		return nil
	}
}

// dasResponse answers req as a NAS does, with layeh.com/radius and the
// secret sec: Message-Authenticator (when withMA) over the answer with
// the Request Authenticator in place, then the Response Authenticator.
func dasResponse(t *testing.T, req []byte, code radius.Code, sec string, withMA bool, cause rfc3576.ErrorCause) []byte {
	t.Helper()
	p := &radius.Packet{Code: code, Identifier: req[1], Secret: []byte(sec)}
	copy(p.Authenticator[:], req[4:20])
	var zero [16]byte
	if withMA {
		p.Add(rfc2869.MessageAuthenticator_Type, zero[:])
	}
	if cause != 0 {
		rfc3576.ErrorCause_Add(p, cause)
	}
	if withMA {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(md5.New, []byte(sec))
		mac.Write(b)
		p.Attributes[0].Attribute = mac.Sum(nil)
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkDisconnectRequest verifies a Disconnect-Request as a NAS would:
// the Request Authenticator (RFC 5176 2.3) and the Message-Authenticator
// (RFC 5176 3.3: with the Authenticator field and its value zero), first.
func checkDisconnectRequest(t *testing.T, b []byte, sec string) *radius.Packet {
	t.Helper()
	if b[0] != byte(radius.CodeDisconnectRequest) {
		t.Fatalf("code %d", b[0])
	}
	if !radius.IsAuthenticRequest(b, []byte(sec)) {
		t.Error("Request Authenticator does not verify")
	}
	if b[20] != attrMessageAuthenticator || b[21] != 18 {
		t.Fatalf("first attribute %d, want Message-Authenticator", b[20])
	}
	c := bytes.Clone(b)
	clear(c[4:20])
	clear(c[22:38])
	mac := hmac.New(md5.New, []byte(sec))
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[22:38]) {
		t.Error("Message-Authenticator does not verify")
	}
	p, err := radius.Parse(b, []byte(sec))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newDASServer is a server whose client "lab" (127.0.0.0/8) has its DAS at
// the test NAS's port, and "ap1" (127.0.0.9) at das.
func newDASServer(t *testing.T, dasPort int, das string) *Server {
	t.Helper()
	s, err := New(Config{
		Listen: "127.0.0.1:0",
		Clients: []ClientConfig{
			{Name: "lab", Address: "127.0.0.0/8", Secret: secret, DASPort: dasPort},
			{Name: "ap1", Address: "127.0.0.9", Secret: "other-secret", DAS: das},
		},
	}, &scriptedEAP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var event = time.Unix(1_750_000_000, 0)

func testSession() session.Session {
	return session.Session{
		IMSI: "001010000000001", FrontEnd: FrontEnd, Client: "lab",
		NAS:              netip.MustParseAddrPort("127.0.0.1:40000"),
		UserName:         "6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org",
		CallingStationID: "02-00-00-00-00-01",
		AcctSessionID:    "5F1A2B3C",
		NASIdentifier:    "ap-lobby",
		NASIPAddress:     netip.MustParseAddr("192.0.2.10"),
		Started:          event.Add(-time.Hour),
		Expires:          event.Add(time.Hour),
	}
}

// The request is authentic and carries the session's identification; an
// ACK is acked, a NAK is not (with its Error-Cause), either with or without
// Message-Authenticator.
func TestDisconnect_Answers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code      radius.Code
		withMA    bool
		cause     rfc3576.ErrorCause
		wantAcked bool
	}{
		{"ACK", radius.CodeDisconnectACK, true, 0, true},
		{"ACK without Message-Authenticator", radius.CodeDisconnectACK, false, 0, true},
		{"ACK with Error-Cause 201", radius.CodeDisconnectACK, true, rfc3576.ErrorCause_Value_ResidualContextRemoved, true},
		{"NAK session not found", radius.CodeDisconnectNAK, true, rfc3576.ErrorCause_Value_SessionContextNotFound, false},
		{"NAK without Message-Authenticator", radius.CodeDisconnectNAK, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nas := newTestNAS(t, nil)
			reply := func(req []byte) [][]byte {
				return [][]byte{dasResponse(t, req, tc.code, secret, tc.withMA, tc.cause)}
			}
			nas.reply.Store(&reply)
			s := newDASServer(t, nas.port(), "")
			d := s.Disconnector()
			d.Now = func() time.Time { return event }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := d.Disconnect(ctx, testSession())
			if err != nil {
				t.Fatal(err)
			}
			if r.Acked != tc.wantAcked || r.ErrorCause != uint32(tc.cause) {
				t.Fatalf("result %+v, want acked %v cause %d", r, tc.wantAcked, tc.cause)
			}
			p := checkDisconnectRequest(t, nas.next(t), secret)
			want := testSession()
			for _, a := range []struct {
				name      string
				got, want string
			}{
				{"User-Name", rfc2865.UserName_GetString(p), want.UserName},
				{"Calling-Station-Id", rfc2865.CallingStationID_GetString(p), want.CallingStationID},
				{"Acct-Session-Id", rfc2866.AcctSessionID_GetString(p), want.AcctSessionID},
				{"NAS-Identifier", rfc2865.NASIdentifier_GetString(p), want.NASIdentifier},
				{"NAS-IP-Address", rfc2865.NASIPAddress_Get(p).String(), "192.0.2.10"},
				{"Event-Timestamp", strconv.FormatInt(rfc2869.EventTimestamp_Get(p).Unix(), 10), strconv.FormatInt(event.Unix(), 10)},
			} {
				if a.got != a.want {
					t.Errorf("%s %q, want %q", a.name, a.got, a.want)
				}
			}
			if len(p.Attributes) != 7 {
				t.Errorf("%d attributes, want 7", len(p.Attributes))
			}
			m := s.Stats.Snapshot()
			wantACK, wantNAK := uint64(0), uint64(1)
			if tc.wantAcked {
				wantACK, wantNAK = 1, 0
			}
			if m["disconnect_sent"] != 1 || m["disconnect_ack"] != wantACK || m["disconnect_nak"] != wantNAK ||
				m["disconnect_bad_response"] != 0 || m["disconnect_timeout"] != 0 || m["disconnect_retransmitted"] != 0 {
				t.Errorf("counters %v", m)
			}
			// The Terminator says the same.
			acked, err := d.Terminate(ctx, testSession())
			if err != nil || acked != tc.wantAcked {
				t.Errorf("Terminate: acked %v err %v", acked, err)
			}
		})
	}
}

// Where the request goes: the client's das when set, else the session's
// NAS address; das_port or das's port, else 3799.
func TestDisconnect_Destination(t *testing.T) {
	nasAddr := netip.MustParseAddrPort("192.0.2.7:51000")
	for _, tc := range []struct {
		name    string
		das     string
		dasPort int
		nas     netip.AddrPort
		want    string
	}{
		{"NAS address, default port", "", 0, nasAddr, "192.0.2.7:3799"},
		{"NAS address, das_port", "", 1700, nasAddr, "192.0.2.7:1700"},
		{"IPv4-mapped NAS address", "", 0, netip.MustParseAddrPort("[::ffff:192.0.2.7]:51000"), "192.0.2.7:3799"},
		{"das address", "198.51.100.1", 0, nasAddr, "198.51.100.1:3799"},
		{"das address and das_port", "198.51.100.1", 4000, nasAddr, "198.51.100.1:4000"},
		{"das ip:port", "198.51.100.1:3800", 0, nasAddr, "198.51.100.1:3800"},
		{"das IPv6", "[2001:db8::1]:3799", 0, nasAddr, "[2001:db8::1]:3799"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{
				{Name: "lab", Address: "192.0.2.0/24", Secret: secret, DAS: tc.das, DASPort: tc.dasPort},
			}}, &scriptedEAP{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ss := testSession()
			ss.NAS = tc.nas
			_, dst, _, err := s.Disconnector().request(ss)
			if err != nil {
				t.Fatal(err)
			}
			if dst.String() != tc.want {
				t.Errorf("to %s, want %s", dst, tc.want)
			}
		})
	}
}

// Answers that are not the NAS's to this request are ignored and counted,
// and the wait goes on: the valid ACK that follows counts.
func TestDisconnect_ForgedAnswersAreIgnored(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(t *testing.T, req []byte) []byte
	}{
		{"wrong secret", func(t *testing.T, req []byte) []byte {
			return dasResponse(t, req, radius.CodeDisconnectACK, "wrong-secret", true, 0)
		}},
		{"wrong secret, no Message-Authenticator", func(t *testing.T, req []byte) []byte {
			return dasResponse(t, req, radius.CodeDisconnectACK, "wrong-secret", false, 0)
		}},
		{"wrong Identifier", func(t *testing.T, req []byte) []byte {
			r := bytes.Clone(req)
			r[1]++
			return dasResponse(t, r, radius.CodeDisconnectACK, secret, true, 0)
		}},
		{"wrong code", func(t *testing.T, req []byte) []byte {
			return dasResponse(t, req, radius.CodeCoAACK, secret, true, 0)
		}},
		{"bad Message-Authenticator", func(t *testing.T, req []byte) []byte {
			// A valid Response Authenticator over a wrong
			// Message-Authenticator.
			p := &radius.Packet{Code: radius.CodeDisconnectACK, Identifier: req[1], Secret: []byte(secret)}
			copy(p.Authenticator[:], req[4:20])
			p.Add(rfc2869.MessageAuthenticator_Type, bytes.Repeat([]byte{7}, 16))
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"Response Authenticator of the request", func(t *testing.T, req []byte) []byte {
			b := dasResponse(t, req, radius.CodeDisconnectACK, secret, false, 0)
			copy(b[4:20], req[4:20])
			return b
		}},
		{"truncated", func(t *testing.T, req []byte) []byte {
			return dasResponse(t, req, radius.CodeDisconnectACK, secret, true, 0)[:30]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := func(req []byte) [][]byte {
				return [][]byte{tc.forge(t, req), dasResponse(t, req, radius.CodeDisconnectACK, secret, true, 0)}
			}
			nas := newTestNAS(t, reply)
			s := newDASServer(t, nas.port(), "")
			d := s.Disconnector()
			d.Wait = time.Hour // one try: the answer is to the first
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			acked, err := d.Terminate(ctx, testSession())
			if err != nil || !acked {
				t.Fatalf("acked %v err %v", acked, err)
			}
			if got := s.Stats.DisconnectBadResponses.Load(); got != 1 {
				t.Errorf("%d bad responses counted, want 1", got)
			}
			if got := s.Stats.DisconnectACKs.Load(); got != 1 {
				t.Errorf("%d ACKs counted", got)
			}
		})
	}
	// Only forged answers: none counts, and the request ends without
	// one, after its tries.
	reply := func(req []byte) [][]byte {
		return [][]byte{dasResponse(t, req, radius.CodeDisconnectACK, "wrong-secret", true, 0)}
	}
	nas := newTestNAS(t, reply)
	s := newDASServer(t, nas.port(), "")
	d := s.Disconnector()
	d.Wait = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acked, err := d.Terminate(ctx, testSession())
	if acked || !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("acked %v err %v, want no answer", acked, err)
	}
	// Each try drew a forged answer; at least one came within its wait.
	if s.Stats.DisconnectBadResponses.Load() == 0 || s.Stats.DisconnectTimeouts.Load() != 1 || s.Stats.DisconnectACKs.Load() != 0 {
		t.Errorf("counters %v", s.Stats.Snapshot())
	}
}

// No answer: the same packet is sent Tries times, then the request fails;
// a context that ends first ends it sooner.
func TestDisconnect_NoAnswer(t *testing.T) {
	t.Run("every try", func(t *testing.T) {
		nas := newTestNAS(t, nil)
		s := newDASServer(t, nas.port(), "")
		d := s.Disconnector()
		d.Wait = 5 * time.Millisecond // 5, 10, 20 ms
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		acked, err := d.Terminate(ctx, testSession())
		if acked || !errors.Is(err, ErrNoAnswer) || ctx.Err() != nil {
			t.Fatalf("acked %v err %v", acked, err)
		}
		first := nas.next(t)
		checkDisconnectRequest(t, first, secret)
		for i := range 2 {
			if again := nas.next(t); !bytes.Equal(again, first) {
				t.Errorf("retransmission %d differs from the first request", i+1)
			}
		}
		m := s.Stats.Snapshot()
		if m["disconnect_sent"] != 1 || m["disconnect_retransmitted"] != 2 || m["disconnect_timeout"] != 1 {
			t.Errorf("counters %v", m)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows the secret", err)
		}
	})
	t.Run("context ends first", func(t *testing.T) {
		nas := newTestNAS(t, nil)
		s := newDASServer(t, nas.port(), "")
		d := s.Disconnector() // 1 s for the first answer
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := d.Terminate(ctx, testSession())
		if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if el := time.Since(start); el > 900*time.Millisecond {
			t.Errorf("returned after %v, not when the context ended", el)
		}
		nas.next(t)
		if s.Stats.DisconnectRetransmits.Load() != 0 || s.Stats.DisconnectTimeouts.Load() != 1 {
			t.Errorf("counters %v", s.Stats.Snapshot())
		}
	})
}

// What cannot be sent is an error at once, naming no secret.
func TestDisconnect_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*session.Session)
		want error
	}{
		{"client gone", func(s *session.Session) { s.Client = "gone" }, ErrUnknownClient},
		{"other front end", func(s *session.Session) { s.FrontEnd = "diameter" }, nil},
		{"no address", func(s *session.Session) { s.NAS = netip.AddrPort{} }, nil},
		{"nothing identifies the session", func(s *session.Session) {
			s.UserName, s.CallingStationID, s.AcctSessionID = "", "", ""
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDASServer(t, 3799, "")
			ss := testSession()
			tc.mod(&ss)
			acked, err := s.Disconnector().Terminate(context.Background(), ss)
			if acked || err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("acked %v err %v", acked, err)
			}
			for _, leak := range []string{secret, "other-secret"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q shows a secret", err)
				}
			}
			if s.Stats.DisconnectErrors.Load() != 1 || s.Stats.DisconnectSent.Load() != 0 {
				t.Errorf("counters %v", s.Stats.Snapshot())
			}
		})
	}
	// After a reload that removes the client, its sessions cannot be
	// disconnected.
	s := newDASServer(t, 3799, "")
	if err := s.SetClients(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{{Name: "other", Address: "10.0.0.0/8", Secret: secret}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Disconnector().Terminate(context.Background(), testSession()); !errors.Is(err, ErrUnknownClient) {
		t.Fatalf("err %v", err)
	}
}

// The whole path: an Access-Accept records the session, and ending the
// IMSI through the table sends its access point a Disconnect-Request,
// to the client's das address, with the client's secret.
func TestDisconnect_ThroughTheTable(t *testing.T) {
	reply := func(req []byte) [][]byte {
		return [][]byte{dasResponse(t, req, radius.CodeDisconnectACK, "other-secret", true, 0)}
	}
	nas := newTestNAS(t, reply)
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
	s, err := New(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{
		{Name: "ap1", Address: "127.0.0.9", Secret: "other-secret", DAS: "127.0.0.1:" + strconv.Itoa(nas.port())},
	}}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ends := make(chan string, 1)
	tb := session.NewTable(session.Config{OnLastEnd: func(imsi string) { ends <- imsi }})
	tb.RegisterTerminator(FrontEnd, s.Disconnector())
	s.SetSessions(tb)
	from := netip.MustParseAddrPort("127.0.0.9:40000")
	req := request(t, 1, "other-secret", eapResp, nil, false)
	if p := checkResponseSecret(t, s.process(context.Background(), from, req), req, "other-secret"); p.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", p.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := tb.End(ctx, "001010000000001")
	if len(res) != 1 || !res[0].Acked || res[0].Err != nil {
		t.Fatalf("End: %+v", res)
	}
	p := checkDisconnectRequest(t, nas.next(t), "other-secret")
	if got := rfc2865.UserName_GetString(p); got != "6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org" {
		t.Errorf("User-Name %q", got)
	}
	if got := <-ends; got != "001010000000001" {
		t.Errorf("OnLastEnd %s", got)
	}
}

// checkResponseSecret is checkResponse for another secret: the Response
// Authenticator only.
func checkResponseSecret(t *testing.T, resp, req []byte, sec string) *radius.Packet {
	t.Helper()
	if !radius.IsAuthenticResponse(resp, req, []byte(sec)) {
		t.Fatal("Response Authenticator does not verify")
	}
	p, err := radius.Parse(resp, []byte(sec))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
