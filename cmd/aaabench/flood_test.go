package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// checkFloodRequest parses an Access-Request as a server would and returns
// its EAP-Message: Message-Authenticator first and valid for secret.
func checkFloodRequest(t *testing.T, b []byte, secret string) (*radius.Packet, []byte) {
	t.Helper()
	p, err := radius.Parse(b, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != radius.CodeAccessRequest {
		t.Fatalf("code %v", p.Code)
	}
	if b[20] != attrMessageAuthenticator || b[21] != 18 {
		t.Fatal("Message-Authenticator is not the first attribute")
	}
	c := append([]byte(nil), b...)
	clear(c[22:38])
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[22:38]) {
		t.Fatal("Message-Authenticator does not verify")
	}
	msg, err := rfc2869.EAPMessage_Lookup(p)
	if err != nil {
		t.Fatal("no EAP-Message")
	}
	return p, msg
}

// identityOf returns the identity of an EAP-Response/Identity.
func identityOf(t *testing.T, msg []byte) []byte {
	t.Helper()
	pkt, err := eap.ParsePacket(msg)
	if err != nil || pkt.Code != eap.CodeResponse || pkt.Type != eap.TypeIdentity {
		t.Fatalf("not an EAP-Response/Identity: % x (%v)", msg, err)
	}
	return pkt.Data
}

func testFlooder(t *testing.T, args ...string) *flooder {
	t.Helper()
	var errb bytes.Buffer
	cfg, code := parseFloodFlags(args, &errb)
	if cfg == nil {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	f := &flooder{cfg: cfg, secret: []byte(cfg.secret), junk: newJunk()}
	if cfg.mode == floodHalfOpen {
		ids, err := loadIdentities(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.ids = ids
	}
	return f
}

func TestFloodBuilder_Requests(t *testing.T) {
	csv := writeCSV(t, testSubscribers(3))
	for _, tc := range []struct {
		name, mode string
		args       []string
		check      func(t *testing.T, i int, identity []byte)
	}{
		{"anonymous", "anonymous", nil, func(t *testing.T, _ int, id []byte) {
			if string(id) != "anonymous@"+testRealm {
				t.Fatalf("identity %q", id)
			}
		}},
		{"ports", "ports", nil, func(t *testing.T, _ int, id []byte) {
			if string(id) != "anonymous@"+testRealm {
				t.Fatalf("identity %q", id)
			}
		}},
		{"halfopen", "halfopen", []string{"--subscribers", csv}, func(t *testing.T, i int, id []byte) {
			// The subscribers of the file, round robin.
			want := fmt.Sprintf("6%s@%s", testSubscribers(3)[i%3].IMSI, testRealm)
			if string(id) != want {
				t.Fatalf("identity %d %q, want %q", i, id, want)
			}
		}},
		{"halfopen AKA", "halfopen", []string{"--subscribers", csv, "--method", "aka"}, func(t *testing.T, i int, id []byte) {
			if !bytes.HasPrefix(id, []byte("0"+testSubscribers(1)[0].IMSI[:6])) {
				t.Fatalf("identity %q, want the EAP-AKA prefix 0", id)
			}
		}},
		{"fat", "fat", nil, func(t *testing.T, _ int, id []byte) {
			if len(id) != 1+fatJunkLen || id[0] != 0 {
				t.Fatalf("identity of %d octets starting %#x, want NUL and %d", len(id), id[0], fatJunkLen)
			}
			for _, c := range id[1:] {
				if !strings.ContainsRune(junkAlphabet, rune(c)) {
					t.Fatalf("identity octet %#x is not printable junk", c)
				}
			}
		}},
		{"fat --fat-answer", "fat", []string{"--fat-answer"}, func(t *testing.T, _ int, id []byte) {
			if len(id) != fatJunkLen || id[0] == 0 {
				t.Fatalf("--fat-answer: identity of %d octets starting %#x, want %d printable", len(id), id[0], fatJunkLen)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFlooder(t, append([]string{"--mode", tc.mode, "--secret", "flood-secret"}, tc.args...)...)
			b := newFloodBuilder(f, 0)
			seenAuth := map[[16]byte]bool{}
			seenID := map[string]bool{}
			for i := range 6 {
				pkt := append([]byte(nil), b.build(byte(i+40))...)
				p, msg := checkFloodRequest(t, pkt, "flood-secret")
				if p.Identifier != byte(i+40) {
					t.Fatalf("Identifier %d, want %d", p.Identifier, i+40)
				}
				if seenAuth[p.Authenticator] {
					t.Fatal("a Request Authenticator used twice")
				}
				seenAuth[p.Authenticator] = true
				id := identityOf(t, msg)
				tc.check(t, i, id)
				seenID[string(id)] = true
				user := rfc2865.UserName_Get(p)
				if n := min(len(id), maxAttrValue); !bytes.Equal(user, id[:n]) {
					t.Fatalf("User-Name %q, want the identity's first %d octets", user, n)
				}
			}
			if tc.mode == "fat" && len(seenID) != 6 {
				t.Fatalf("%d distinct fat identities in 6", len(seenID))
			}
		})
	}
}

// identityRequest is an Access-Challenge with an AKA'-Identity request
// asking for attr, as aaad sends it.
func identityRequest(t *testing.T, id byte, reqAuth [16]byte, attr eap.AttrType) []byte {
	t.Helper()
	eb := eap.NewBuilder(nil, eap.CodeRequest, 7, eap.TypeAKAPrime, eap.SubtypeIdentity)
	eb.AddFlag(attr)
	msg, _, err := eb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	p := &radius.Packet{Code: radius.CodeAccessChallenge, Identifier: id, Authenticator: reqAuth, Secret: []byte(testSecret)}
	p.Add(attrMessageAuthenticator, make([]byte, 16))
	rfc2869.EAPMessage_Set(p, msg)
	rfc2865.State_Set(p, []byte("state-42"))
	return encodeLikeAAAD(t, p)
}

func TestFloodBuilder_IdentityResponse(t *testing.T) {
	f := testFlooder(t, "--mode", "fat", "--fat-answer", "--secret", testSecret)
	b := newFloodBuilder(f, 0)
	out := b.buildIdentityResponse(identityRequest(t, 3, [16]byte{1}, eap.AttrAnyIDReq), 200)
	if out == nil {
		t.Fatal("no answer to AKA-Identity with AT_ANY_ID_REQ")
	}
	p, msg := checkFloodRequest(t, out, testSecret)
	if p.Identifier != 200 || string(rfc2865.State_Get(p)) != "state-42" {
		t.Fatalf("Identifier %d State %q", p.Identifier, rfc2865.State_Get(p))
	}
	m, err := eap.ParseAKA(msg)
	if err != nil || m.Packet.Code != eap.CodeResponse || m.Packet.Identifier != 7 || m.Subtype != eap.SubtypeIdentity {
		t.Fatalf("not an AKA'-Identity response to EAP Identifier 7: %+v %v", m, err)
	}
	if id := m.Attrs.Identity; len(id) != 1+fatJunkLen || id[0] != 0 {
		t.Fatalf("AT_IDENTITY of %d octets", len(id))
	}
	// Asked for the permanent identity, there is nothing worth sending.
	if out := b.buildIdentityResponse(identityRequest(t, 4, [16]byte{2}, eap.AttrPermanentIDReq), 201); out != nil {
		t.Fatal("answered AT_PERMANENT_ID_REQ")
	}
}

// fakeServer answers every Access-Request with the given code, or with an
// AKA'-Identity request (AT_ANY_ID_REQ) for a fat identity without NUL, and
// records the identities and AT_IDENTITYs it saw.
type fakeServer struct {
	conn     *net.UDPConn
	code     byte
	requests atomic.Int64
	answers  atomic.Int64
	atIDs    atomic.Int64 // AT_IDENTITY of a NUL and 1000 octets
	mu       sync.Mutex
	sources  map[string]bool
}

func startFakeServer(t *testing.T, code byte) *fakeServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(4 << 20)
	s := &fakeServer{conn: conn, code: code, sources: map[string]bool{}}
	t.Cleanup(func() { conn.Close() })
	go s.loop(t)
	return s
}

func (s *fakeServer) loop(t *testing.T) {
	buf := make([]byte, 5000)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		s.requests.Add(1)
		s.mu.Lock()
		s.sources[from.String()] = true
		s.mu.Unlock()
		p, err := radius.Parse(buf[:n], []byte(testSecret))
		if err != nil {
			continue
		}
		msg, _ := rfc2869.EAPMessage_Lookup(p)
		var out []byte
		if pkt, err := eap.ParsePacket(msg); err == nil && pkt.Type == eap.TypeIdentity && len(pkt.Data) == fatJunkLen {
			out = identityRequest(t, p.Identifier, p.Authenticator, eap.AttrAnyIDReq)
		} else {
			if m, err := eap.ParseAKA(msg); err == nil && len(m.Attrs.Identity) == 1+fatJunkLen && m.Attrs.Identity[0] == 0 {
				s.atIDs.Add(1)
			}
			out = make([]byte, 38) // the header and Message-Authenticator
			out[0], out[1], out[3] = s.code, p.Identifier, 38
			out[20], out[21] = attrMessageAuthenticator, 18
			resign(out, p.Authenticator[:], []byte(testSecret))
		}
		if _, err := s.conn.WriteToUDPAddrPort(out, from); err == nil {
			s.answers.Add(1)
		}
	}
}

func runFloodJSON(t *testing.T, args ...string) (int, floodSummary, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(append([]string{"flood", "--json", "--quiet"}, args...), &out, &errb)
	var s floodSummary
	if code != 2 {
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatalf("exit %d, summary %q: %v (stderr %s)", code, out.String(), err, errb.String())
		}
	}
	return code, s, errb.String()
}

func TestFlood_CountsAnswersAndStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		code byte
		args []string
		want string
	}{
		{"anonymous", codeAccessChallenge, []string{"--mode", "anonymous"}, "access_challenge"},
		{"ports", codeAccessReject, []string{"--mode", "ports", "--sockets", "300"}, "access_reject"},
		{"fat", codeAccessChallenge, []string{"--mode", "fat", "--rate", "2000"}, "access_challenge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFakeServer(t, tc.code)
			start := time.Now()
			code, s, stderr := runFloodJSON(t, append([]string{"--server", srv.conn.LocalAddr().String(), "--secret", testSecret,
				"--bind", "127.0.0.2", "--duration", "300ms", "--senders", "2"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v for a 300 ms flood", d)
			}
			if s.Sent == 0 || s.SentPerS <= 0 || s.BytesSent == 0 {
				t.Fatalf("summary %+v", s)
			}
			// Every request the fake server answered was counted (a
			// few may be in flight when it stops).
			if got := int64(s.Answers[tc.want]); got == 0 || got > srv.answers.Load() || s.Answered != uint64(got) {
				t.Fatalf("answers %v, the server sent %d", s.Answers, srv.answers.Load())
			}
			if s.Sent != uint64(srv.requests.Load()) && s.Unanswered == 0 {
				t.Fatalf("sent %d, server got %d, none unanswered", s.Sent, srv.requests.Load())
			}
			srv.mu.Lock()
			nsrc := len(srv.sources)
			for src := range srv.sources {
				if !strings.HasPrefix(src, "127.0.0.2:") {
					t.Fatalf("request from %s, want --bind 127.0.0.2", src)
				}
			}
			srv.mu.Unlock()
			if tc.name == "ports" && nsrc != 300 {
				t.Fatalf("%d source ports, want 300", nsrc)
			}
			if tc.name == "fat" && (s.SentPerS > 2600 || s.Sent < 300) {
				t.Fatalf("--rate 2000: sent %d in %.2f s (%.0f/s)", s.Sent, s.DurationS, s.SentPerS)
			}
		})
	}
}

func TestFlood_FatAnswer(t *testing.T) {
	srv := startFakeServer(t, codeAccessChallenge)
	code, s, stderr := runFloodJSON(t, "--server", srv.conn.LocalAddr().String(), "--secret", testSecret, "--bind", "127.0.0.2",
		"--mode", "fat", "--fat-answer", "--duration", "200ms", "--rate", "1000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if s.Followups == 0 || int64(s.Followups) != srv.atIDs.Load() {
		t.Fatalf("follow-ups %d, the server saw %d AT_IDENTITY of a NUL and %d octets", s.Followups, srv.atIDs.Load(), fatJunkLen)
	}
}

func TestFlood_UsageErrors(t *testing.T) {
	csv := writeCSV(t, testSubscribers(1))
	for _, args := range [][]string{
		{},
		{"--mode", "smurf"},
		{"--mode", "halfopen"},
		{"--mode", "anonymous", "--fat-answer"},
		{"--mode", "anonymous", "--bind", "192.0.2.1"},
		{"--mode", "anonymous", "--server", "192.0.2.1:1812"},
		{"--mode", "anonymous", "--duration", "0s"},
		{"--mode", "halfopen", "--subscribers", filepath.Join(t.TempDir(), "missing.csv")},
		{"--mode", "halfopen", "--subscribers", csv, "--method", "tls"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(append([]string{"flood"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	if _, err := os.Stat(csv); err != nil {
		t.Fatal(err)
	}
}
