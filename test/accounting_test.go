package test

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// classRE finds the Class of the Access-Accept in eapol_test's dump.
var classRE = regexp.MustCompile(`Attribute 25 \(Class\) length=\d+\s+Value: ([0-9a-f]+)`)

// RADIUS accounting end to end: after an eapol_test login, the test plays
// the access point's accounting: Start (with the Class of the Accept, an
// Acct-Session-Id, a Message-Authenticator) shows in aaactl sessions; Stop
// ends the session.
func TestAccounting_StartStopShowsAndEndsTheSession(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000421"
	sock := filepath.Join(t.TempDir(), "admin.sock")
	s := startServer(t, serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")},
		Extra:       []string{"admin: {listen: " + yamlString("unix:"+sock) + "}"},
	})
	r := s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")})
	requireSuccess(t, r, 1)
	m := classRE.FindStringSubmatch(r.Output)
	if m == nil {
		t.Fatalf("no Class in the Access-Accept\n%s", r.summary())
	}
	class, err := hex.DecodeString(m[1])
	if err != nil || !strings.HasPrefix(string(class), "aaad:") || strings.Contains(string(class), imsi) {
		t.Fatalf("Class %q %v", class, err)
	}
	entries := s.waitLogEntries(t, "radius accounting listening", 1)
	addr, _ := entries[0]["addr"].(string)
	if addr == "" {
		t.Fatal("no accounting address logged")
	}
	ctl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(aaactlPath, append([]string{"--config", s.CfgPath}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("aaactl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	acct(t, addr, s.Secret, 1, func(p *radius.Packet) {
		rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
		rfc2865.UserName_SetString(p, akaPrimeIdentity(imsi))
		rfc2865.Class_Add(p, class)
		rfc2866.AcctSessionID_SetString(p, "acct-4711")
		rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-01")
		rfc2865.FramedIPAddress_Set(p, net.IPv4(10, 9, 8, 7))
	})
	out := ctl("sessions", "--imsi", imsi)
	if !strings.Contains(out, imsi) || !strings.Contains(out, "acct-4711") {
		t.Fatalf("after Start, aaactl sessions:\n%s", out)
	}
	acct(t, addr, s.Secret, 2, func(p *radius.Packet) {
		rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Stop)
		rfc2865.UserName_SetString(p, akaPrimeIdentity(imsi))
		rfc2865.Class_Add(p, class)
		rfc2866.AcctSessionID_SetString(p, "acct-4711")
		rfc2866.AcctSessionTime_Set(p, 42)
		rfc2866.AcctInputOctets_Set(p, 1000)
		rfc2866.AcctOutputOctets_Set(p, 2000)
	})
	out = ctl("sessions", "--imsi", imsi)
	if !strings.Contains(out, "no sessions") {
		t.Fatalf("after Stop, aaactl sessions:\n%s", out)
	}
}

// acct sends one Accounting-Request to addr, signed as an access point
// signs it (Message-Authenticator over the packet with a zero Request
// Authenticator, then the Request Authenticator of RFC 2866 3), and
// requires an authentic Accounting-Response with a Message-Authenticator.
func acct(t *testing.T, addr, secret string, id byte, fill func(*radius.Packet)) {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(secret))
	p.Identifier = id
	p.Authenticator = [16]byte{}
	var zero [16]byte
	p.Add(80, zero[:]) // Message-Authenticator
	fill(p)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil))
	h := md5.New()
	h.Write(b)
	h.Write([]byte(secret))
	copy(b[4:20], h.Sum(nil))

	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	for attempt := 0; ; attempt++ {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			if attempt < 2 {
				continue // a retransmission, as an access point would
			}
			t.Fatalf("no Accounting-Response: %v", err)
		}
		resp := buf[:n]
		if resp[0] != byte(radius.CodeAccountingResponse) || resp[1] != id || !radius.IsAuthenticResponse(resp, b, []byte(secret)) {
			t.Fatalf("bad Accounting-Response % x", resp)
		}
		if resp[20] != 80 {
			t.Fatal("Accounting-Response without Message-Authenticator")
		}
		return
	}
}
