package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/session"
)

const secret = "testing123"

var (
	nas = netip.MustParseAddrPort("127.0.0.1:40000")
	msk = func() (m [64]byte) {
		for i := range m {
			m[i] = byte(0xa0 + i%16)
		}
		return
	}()
	eapResp = []byte{2, 9, 0, 10, 1, 'h', 'e', 'l', 'l', 'o'}
)

// scriptedEAP stands in for the EAP server: it returns a fixed result and
// records what it was given. The EAP logic itself is tested in eap/ and end
// to end against eapol_test in test/.
type scriptedEAP struct {
	calls    atomic.Int32
	outcome  eap.Outcome
	packet   []byte
	err      error
	panics   bool
	notStore int  // Result.NotStored of a success
	replayed bool // Result.Replayed: the answer read back for a retransmission
	gotMsg   []byte
	gotState []byte
	gotPeer  eap.Peer
}

func (h *scriptedEAP) Handle(_ context.Context, from eap.Peer, state, msg, buf []byte, res *eap.Result) error {
	h.calls.Add(1)
	h.gotPeer = from
	h.gotMsg, h.gotState = append([]byte(nil), msg...), append([]byte(nil), state...)
	if h.panics {
		panic("boom")
	}
	if h.err != nil {
		return h.err
	}
	*res = eap.Result{Outcome: h.outcome, Packet: append(buf[:0], h.packet...), Method: eap.TypeAKAPrime,
		Identity: []byte("6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org"), IMSI: "001010000000001",
		Replayed: h.replayed}
	res.Conversation[0] = 0x42
	if h.outcome == eap.OutcomeSuccess {
		res.MSK = msk
		res.NotStored = h.notStore
	}
	return nil
}

func newTestServer(t testing.TB, h EAPHandler, log *zap.Logger) *Server {
	t.Helper()
	s, err := New(Config{
		Listen:         "127.0.0.1:0",
		Clients:        []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: secret}, {Name: "ap1", Address: "127.0.0.9", Secret: "other-secret"}},
		SessionTimeout: time.Hour,
	}, h, log)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request builds an Access-Request with EAP-Message (split into fragments
// when long) and, unless noMA, a Message-Authenticator computed with sec.
func request(t testing.TB, id byte, sec string, eapMsg []byte, state []byte, noMA bool) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(sec))
	p.Identifier = id
	rfc2865.UserName_SetString(p, "anonymous")
	if eapMsg != nil {
		rfc2869.EAPMessage_Set(p, eapMsg)
	}
	if state != nil {
		rfc2865.State_Set(p, state)
	}
	if !noMA {
		var zero [16]byte
		p.Add(attrMessageAuthenticator, zero[:])
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !noMA {
		mac := hmac.New(md5.New, []byte(sec))
		mac.Write(b)
		copy(b[len(b)-16:], mac.Sum(nil))
	}
	return b
}

// checkResponse verifies what every answer must be: authentic for the
// request, Message-Authenticator first and valid.
func checkResponse(t *testing.T, resp, req []byte) *radius.Packet {
	t.Helper()
	if !radius.IsAuthenticResponse(resp, req, []byte(secret)) {
		t.Fatal("Response Authenticator does not verify")
	}
	if resp[20] != attrMessageAuthenticator || resp[21] != 18 {
		t.Fatalf("first attribute %d, want Message-Authenticator", resp[20])
	}
	// RFC 3579 3.2: HMAC-MD5 over the response with the Request
	// Authenticator in place and the M-A value zeroed.
	c := append([]byte(nil), resp...)
	copy(c[4:20], req[4:20])
	clear(c[22:38])
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), resp[22:38]) {
		t.Fatal("Message-Authenticator does not verify")
	}
	p, err := radius.Parse(resp, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcess_ChallengeCarriesStateAndFragments(t *testing.T) {
	long := make([]byte, 600) // an EAP packet longer than one attribute
	long[0], long[1], long[2], long[3] = 1, 3, 0x02, 0x58
	h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: long}
	s := newTestServer(t, h, nil)
	in := make([]byte, 300)
	in[0], in[1], in[2], in[3] = 2, 2, 0x01, 0x2c
	req := request(t, 1, secret, in, []byte("prev-state"), false)
	resp := s.process(context.Background(), nas, req)
	if resp == nil {
		t.Fatal("no answer")
	}
	p := checkResponse(t, resp, req)
	if p.Code != radius.CodeAccessChallenge {
		t.Fatalf("code %v", p.Code)
	}
	if !bytes.Equal(h.gotMsg, in) || string(h.gotState) != "prev-state" {
		t.Error("EAP-Message fragments or State not passed on as sent")
	}
	var frags []int
	for _, a := range p.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			frags = append(frags, len(a.Attribute))
		}
	}
	if len(frags) != 3 || frags[0] != 253 || frags[1] != 253 || frags[2] != 94 {
		t.Errorf("EAP-Message fragments %v, want [253 253 94]", frags)
	}
	got, _ := rfc2869.EAPMessage_Lookup(p)
	if !bytes.Equal(got, long) {
		t.Error("EAP-Message reassembles to something else")
	}
	if st := rfc2865.State_Get(p); len(st) != 16 || st[0] != 0x42 {
		t.Errorf("State %x", st)
	}
}

func TestProcess_AcceptCarriesMPPEKeys(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	req := request(t, 2, secret, eapResp, nil, false)
	resp := s.process(context.Background(), nas, req)
	p := checkResponse(t, resp, req)
	if p.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", p.Code)
	}
	q, _ := radius.Parse(req, []byte(secret))
	recv, err := microsoft.MSMPPERecvKey_Lookup(p, q)
	if err != nil {
		t.Fatal(err)
	}
	send, err := microsoft.MSMPPESendKey_Lookup(p, q)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 2548 / RFC 3748: Recv-Key = MSK[0:32], Send-Key = MSK[32:64].
	if !bytes.Equal(recv, msk[:32]) || !bytes.Equal(send, msk[32:]) {
		t.Error("MPPE keys do not decrypt to the MSK halves")
	}
	if got := rfc2865.UserName_GetString(p); !strings.HasPrefix(got, "6001010000000001@") {
		t.Errorf("User-Name %q", got)
	}
	if got := rfc2865.SessionTimeout_Get(p); got != 3600 {
		t.Errorf("Session-Timeout %d", got)
	}
	if e, _ := rfc2869.EAPMessage_Lookup(p); !bytes.Equal(e, []byte{3, 9, 0, 4}) {
		t.Errorf("EAP-Message %x", e)
	}
	// The salts come from crypto/rand: two answers never share one.
	resp2 := s.process(context.Background(), nas, request(t, 3, secret, eapResp, nil, false))
	if bytes.Equal(mppeSalt(t, resp), mppeSalt(t, resp2)) {
		t.Error("same MPPE salt twice")
	}
}

// Identities the EAP store refused are counted and exported, and the
// Accept still goes out.
func TestProcess_RecordsNotStoredAreCounted(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}, notStore: 2}
	s := newTestServer(t, h, nil)
	req := request(t, 2, secret, eapResp, nil, false)
	if p := checkResponse(t, s.process(context.Background(), nas, req), req); p.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", p.Code)
	}
	m := s.Stats.Snapshot()
	if m["records_not_stored"] != 2 || m["access_accept"] != 1 {
		t.Fatalf("counters %v", m)
	}
	for _, k := range []string{"fast_reauths", "dropped_duplicate_cache_full"} {
		if _, ok := m[k]; !ok {
			t.Errorf("counter %s not exported", k)
		}
	}
}

func mppeSalt(t *testing.T, resp []byte) []byte {
	p, _ := radius.Parse(resp, []byte(secret))
	for _, a := range p.Attributes {
		if a.Type == rfc2865.VendorSpecific_Type {
			return a.Attribute[6:8]
		}
	}
	t.Fatal("no vendor attribute")
	return nil
}

func TestProcess_RejectCarriesEAPFailure(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeFailure, packet: []byte{4, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	req := request(t, 4, secret, eapResp, nil, false)
	p := checkResponse(t, s.process(context.Background(), nas, req), req)
	if p.Code != radius.CodeAccessReject {
		t.Fatalf("code %v", p.Code)
	}
	if e, _ := rfc2869.EAPMessage_Lookup(p); !bytes.Equal(e, []byte{4, 9, 0, 4}) {
		t.Errorf("EAP-Message %x", e)
	}
	if s.Stats.Rejects.Load() != 1 {
		t.Error("reject not counted")
	}
}

func TestProcess_NoEAPMessageIsRejected(t *testing.T) {
	h := &scriptedEAP{}
	s := newTestServer(t, h, nil)
	req := request(t, 5, secret, nil, nil, false)
	p := checkResponse(t, s.process(context.Background(), nas, req), req)
	if p.Code != radius.CodeAccessReject || h.calls.Load() != 0 || s.Stats.NoEAPRejects.Load() != 1 {
		t.Fatalf("code %v calls %d", p.Code, h.calls.Load())
	}
}

func TestProcess_Drops(t *testing.T) {
	good := request(t, 6, secret, eapResp, nil, false)
	acct := append([]byte(nil), good...)
	acct[0] = 4
	// A header claiming 24 octets whose one attribute claims 9.
	overrun := append(append([]byte{1, 6, 0, 24}, good[4:20]...), 1, 9, 0, 0)
	twoMA := func() []byte {
		p := radius.New(radius.CodeAccessRequest, []byte(secret))
		var z [16]byte
		p.Add(attrMessageAuthenticator, z[:])
		p.Add(attrMessageAuthenticator, z[:])
		b, _ := p.Encode()
		return b
	}()
	for _, tc := range []struct {
		name   string
		from   netip.AddrPort
		pkt    []byte
		reason DropReason
	}{
		{"unknown client", netip.MustParseAddrPort("192.0.2.1:1812"), good, DropUnknownClient},
		{"shorter than a header", nas, good[:19], DropMalformed},
		{"length beyond the datagram", nas, good[:len(good)-1], DropMalformed},
		{"attribute overruns", nas, overrun, DropMalformed},
		{"two Message-Authenticators", nas, twoMA, DropMalformed},
		{"not an Access-Request", nas, acct, DropNotAccessRequest},
		{"no Message-Authenticator", nas, request(t, 7, secret, eapResp, nil, true), DropNoMessageAuthenticator},
		{"wrong secret", nas, request(t, 8, "wrong", eapResp, nil, false), DropBadMessageAuthenticator},
		// The most specific prefix wins: 127.0.0.9 has its own secret.
		{"secret of the wider prefix", netip.MustParseAddrPort("127.0.0.9:1"), good, DropBadMessageAuthenticator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: []byte{1, 1, 0, 5, 1}}
			s := newTestServer(t, h, nil)
			if resp := s.process(context.Background(), tc.from, tc.pkt); resp != nil {
				t.Fatal("answered")
			}
			if h.calls.Load() != 0 {
				t.Error("EAP saw a dropped packet")
			}
			if got := s.Stats.Dropped(tc.reason); got != 1 {
				t.Errorf("%s counted %d times", tc.reason, got)
			}
		})
	}
}

func TestProcess_RetransmissionGetsTheSameAnswer(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	ctx := context.Background()
	req := request(t, 9, secret, eapResp, nil, false)
	first := s.process(ctx, nas, req)
	again := s.process(ctx, nas, req)
	if !bytes.Equal(first, again) {
		t.Fatal("retransmission got a different answer")
	}
	if h.calls.Load() != 1 || s.Stats.Replays.Load() != 1 {
		t.Fatalf("EAP ran %d times, replays %d", h.calls.Load(), s.Stats.Replays.Load())
	}
	// Same Identifier from another port, or a new authenticator: new requests.
	s.process(ctx, netip.MustParseAddrPort("127.0.0.1:40001"), req)
	s.process(ctx, nas, request(t, 9, secret, eapResp, nil, false))
	if h.calls.Load() != 3 {
		t.Fatalf("EAP ran %d times, want 3", h.calls.Load())
	}
}

func TestProcess_BackendErrorIsNotCachedOrAnswered(t *testing.T) {
	h := &scriptedEAP{err: errors.New("hss down")}
	s := newTestServer(t, h, nil)
	ctx := context.Background()
	req := request(t, 10, secret, eapResp, nil, false)
	if s.process(ctx, nas, req) != nil {
		t.Fatal("answered on backend error")
	}
	h.err, h.outcome, h.packet = nil, eap.OutcomeFailure, []byte{4, 9, 0, 4}
	if s.process(ctx, nas, req) == nil {
		t.Fatal("the retransmission after recovery was not processed")
	}
	if s.Stats.Dropped(DropBackend) != 1 || h.calls.Load() != 2 {
		t.Errorf("backend drops %d calls %d", s.Stats.Dropped(DropBackend), h.calls.Load())
	}
}

func TestProcess_PanicIsRecoveredCountedAndUnanswered(t *testing.T) {
	h := &scriptedEAP{panics: true}
	s := newTestServer(t, h, nil)
	if s.process(context.Background(), nas, request(t, 11, secret, eapResp, nil, false)) != nil {
		t.Fatal("answered after a panic")
	}
	if s.Stats.Dropped(DropPanic) != 1 {
		t.Error("panic not counted")
	}
}

// Secrets never reach a log line: run every outcome at debug level and look
// for the shared secret and the MSK, raw and hex.
func TestLogsCarryNoSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	for _, outcome := range []eap.Outcome{eap.OutcomeSuccess, eap.OutcomeFailure, eap.OutcomeContinue, eap.OutcomeDiscard} {
		h := &scriptedEAP{outcome: outcome, packet: []byte{3, 9, 0, 4}}
		s := newTestServer(t, h, zap.New(core))
		s.process(context.Background(), nas, request(t, 12, secret, eapResp, nil, false))
		s.process(context.Background(), nas, request(t, 13, "wrong", eapResp, nil, false))
	}
	h := &scriptedEAP{err: errors.New("hss down")}
	newTestServer(t, h, zap.New(core)).process(context.Background(), nas, request(t, 14, secret, eapResp, nil, false))
	if logs.Len() == 0 {
		t.Fatal("nothing logged: the test would prove nothing")
	}
	hexMSK := []byte("a0a1a2a3")
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		for _, leak := range []string{secret, string(msk[:8]), string(hexMSK), "001010000000001"} {
			if strings.Contains(line, leak) {
				t.Errorf("log line %q contains %q", line, leak)
			}
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// The real loop: a datagram in, the answer out, then a clean shutdown.
func TestServe_UDP(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeFailure, packet: []byte{4, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	conn, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), conn) }()

	c, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := request(t, 15, secret, eapResp, nil, false)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if p := checkResponse(t, buf[:n], req); p.Code != radius.CodeAccessReject {
		t.Fatalf("code %v", p.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		c := Config{Listen: "127.0.0.1:1812", Clients: []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: "s3cret-value"}}}
		c.SetDefaults()
		return c
	}
	if err := func() *Config { c := good(); return &c }().Validate("radius"); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"bad listen", func(c *Config) { c.Listen = "localhost" }, "radius.listen"},
		{"no clients", func(c *Config) { c.Clients = nil }, "radius.clients: at least one"},
		{"empty secret", func(c *Config) { c.Clients[0].Secret = "" }, "radius.clients[0].secret: empty"},
		{"bad address", func(c *Config) { c.Clients[0].Address = "10.0.0.0/33" }, "radius.clients[0].address"},
		{"duplicate name", func(c *Config) { c.Clients = append(c.Clients, c.Clients[0]) }, "radius.clients[1].name: duplicate"},
		{"spaces around secret", func(c *Config) { c.Clients[0].Secret = " s3cret-value" }, "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mod(&c)
			err := c.Validate("radius")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Error("error quotes the secret")
			}
		})
	}
}

func TestMaskIMSI(t *testing.T) {
	if got := MaskIMSI("001010000000001"); got != "00101xxxxxxxx01" {
		t.Errorf("got %q", got)
	}
	if got := MaskIMSI("123"); got != "" {
		t.Errorf("short: %q", got)
	}
}

// The duplicate cache holds the answer to the latest request per source and
// Identifier for its TTL whatever the request rate (a fixed ring once forgot
// answers within a second or two under load), lets a new Request
// Authenticator replace it, drops it after the TTL, and refuses what it
// cannot hold.
func TestDedupCache(t *testing.T) {
	d := newDedupCache(1<<18, 30*time.Second)
	t0 := time.Unix(1000, 0)
	auth := func(i int) *[16]byte { return &[16]byte{byte(i), byte(i >> 8), byte(i >> 16), 1} }
	const n = 200000 // four seconds at 50,000 requests/s from 64 sources
	src := func(i int) dedupKey {
		return dedupKey{addr: netip.AddrPortFrom(nas.Addr(), uint16(40000+i%64)), id: byte(i / 64)}
	}
	for i := range n {
		now := t0.Add(time.Duration(i) * 20 * time.Microsecond)
		if _, st := d.begin(src(i), auth(i), now); st != dedupNew {
			t.Fatalf("request %d not new", i)
		}
		d.finish(src(i), auth(i), []byte{byte(i)})
	}
	if got := d.len(); got != 64*256 {
		t.Fatalf("%d entries for 64 sources, want one per source and Identifier (%d)", got, 64*256)
	}
	last := n - 1
	for _, after := range []time.Duration{4 * time.Second, 29 * time.Second} {
		if resp, st := d.begin(src(last), auth(last), t0.Add(after)); st != dedupReplay || resp[0] != byte(last) {
			t.Fatalf("after %s: state %d, want the cached answer", after, st)
		}
	}
	// An older request on a reused Identifier is not the cached one.
	if _, st := d.begin(src(last-64*256), auth(last-64*256), t0.Add(5*time.Second)); st != dedupNew {
		t.Fatal("a replaced request was answered from the cache")
	}
	// While the first copy is processed, a duplicate is dropped.
	if _, st := d.begin(src(last-64*256), auth(last-64*256), t0.Add(5*time.Second)); st != dedupPending {
		t.Fatal("duplicate of a pending request not seen")
	}
	d.sweep(t0.Add(40 * time.Second))
	if got := d.len(); got != 0 {
		t.Fatalf("%d entries after the TTL", got)
	}
	small := newDedupCache(160, 30*time.Second)
	full := 0
	for i := range 1000 {
		k := dedupKey{addr: netip.AddrPortFrom(nas.Addr(), uint16(i)), id: byte(i)}
		if _, st := small.begin(k, auth(i), t0); st == dedupFull {
			full++
		}
	}
	if got := small.len(); got != 160 || full != 840 {
		t.Fatalf("%d entries under a bound of 160, %d refused", got, full)
	}
}

// One identifier value, or sixteen that are equal modulo the shard count,
// must not be able to fill a shard others need: the bound is the client's,
// not a shard's.
func TestDedupCache_NoShardCrowding(t *testing.T) {
	d := newDedupCache(4096, 30*time.Second)
	t0 := time.Unix(1000, 0)
	for i := range 4000 {
		k := dedupKey{addr: netip.AddrPortFrom(nas.Addr(), uint16(10000+i)), id: 16 * byte(i%16)}
		if _, st := d.begin(k, &[16]byte{1}, t0); st != dedupNew {
			t.Fatalf("request %d: state %d with room left", i, st)
		}
	}
}

// A client that sends from ever new source ports fills its own share of the
// duplicate cache; its requests past it are dropped, not answered without
// a cached answer; another client's logins, and the retransmission of their
// final request, are not affected.
func TestProcess_DuplicateCacheShareIsPerClient(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: []byte{1, 1, 0, 5, 1}}
	s, err := New(Config{
		Listen: "127.0.0.1:0",
		Clients: []ClientConfig{
			{Name: "lab", Address: "127.0.0.0/8", Secret: secret},
			{Name: "flood", Address: "127.0.0.2", Secret: "flood-secret"},
		},
		DuplicateCacheSize: 1024, // 512 each
	}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flood := netip.MustParseAddr("127.0.0.2")
	for i := range 2000 {
		req := request(t, byte(i), "flood-secret", eapResp, nil, false)
		s.process(ctx, netip.AddrPortFrom(flood, uint16(1024+i)), req)
	}
	fc := s.Client("flood").Stats()
	if got := fc.Dropped(DropDuplicateCacheFull); got != 2000-512 {
		t.Fatalf("flood client: %d dropped for a full cache, want %d", got, 2000-512)
	}
	if calls := h.calls.Load(); calls != 512 {
		t.Fatalf("EAP handled %d of the flood, want only the 512 that could be cached", calls)
	}
	h.outcome, h.packet = eap.OutcomeSuccess, []byte{3, 9, 0, 4}
	req := request(t, 9, secret, eapResp, nil, false)
	first := s.process(ctx, nas, req)
	again := s.process(ctx, nas, req)
	if first == nil || !bytes.Equal(first, again) {
		t.Fatal("the other client's final answer was not replayed to its retransmission")
	}
	if h.gotPeer.Name != "lab" || h.gotPeer.MaxConversations != 0 {
		t.Fatalf("EAP saw peer %+v", h.gotPeer)
	}
	if got := s.Client("lab").Stats().Dropped(DropDuplicateCacheFull); got != 0 {
		t.Fatalf("lab client: %d dropped", got)
	}
}

// Clients without a share of their own split the conversation store
// evenly; the share goes to EAP with the client's name.
func TestProcess_ConversationShares(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: []byte{1, 1, 0, 5, 1}}
	s, err := New(Config{
		Listen: "127.0.0.1:0",
		Clients: []ClientConfig{
			{Name: "lab", Address: "127.0.0.0/8", Secret: secret},
			{Name: "big", Address: "127.0.0.9", Secret: "other-secret", MaxConversations: 700},
			{Name: "small", Address: "127.0.0.10", Secret: "other-secret"},
		},
		ConversationCapacity: 900,
	}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want int
	}{{"lab", 300}, {"big", 700}, {"small", 300}} {
		if got := s.Client(tc.name).MaxConversations; got != tc.want {
			t.Errorf("%s: share %d, want %d", tc.name, got, tc.want)
		}
	}
	s.process(context.Background(), nas, request(t, 1, secret, eapResp, nil, false))
	if h.gotPeer != (eap.Peer{Name: "lab", MaxConversations: 300}) {
		t.Fatalf("EAP saw peer %+v", h.gotPeer)
	}
}

// Dropped requests are summarised per interval by source and reason; a
// flood writes one line, not one per packet, and its memory is bounded.
func TestDropLog_Summarises(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: []byte{1, 1, 0, 5, 1}}
	s := newTestServer(t, h, zap.New(core))
	bad := request(t, 8, "wrong", eapResp, nil, false)
	for i := range 5000 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 1812)
		s.process(context.Background(), from, bad)
		s.process(context.Background(), nas, bad)
	}
	if logs.Len() != 0 {
		t.Fatalf("%d lines logged during the flood, want none before the summary", logs.Len())
	}
	s.drops.flush(s.log, 10*time.Second)
	s.drops.flush(s.log, 10*time.Second) // nothing more: no line
	if logs.Len() != 1 {
		t.Fatalf("%d summary lines, want 1", logs.Len())
	}
	e := logs.All()[0]
	f := e.ContextMap()
	if e.Message != "radius requests dropped" || f["total"] != uint64(10000) || f["sources"] != int64(257) {
		t.Fatalf("summary %q %v", e.Message, f)
	}
	top := f["top"].([]any)[0].(map[string]any)
	if top["from"] != "127.0.0.1" || top["reason"] != "bad_message_authenticator" || top["count"] != uint64(5000) || top["client"] != "lab" {
		t.Fatalf("top entry %v", top)
	}
	if len(s.drops.counts) != 0 {
		t.Fatal("the summary did not start a new interval")
	}
	small := newDropLog(4)
	for i := range 100 {
		small.add(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "", DropUnknownClient.String())
	}
	if len(small.counts) != 4 || small.others != 96 {
		t.Fatalf("%d sources tracked, %d untracked", len(small.counts), small.others)
	}
}

// A reload replaces clients and secrets; a client that keeps its name keeps
// its duplicate cache, so a retransmission across the reload still gets
// the cached answer.
func TestSetClients(t *testing.T) {
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	ctx := context.Background()
	req := request(t, 9, secret, eapResp, nil, false)
	first := s.process(ctx, nas, req)
	err := s.SetClients(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{
		{Name: "lab", Address: "127.0.0.0/8", Secret: secret},
		{Name: "ap2", Address: "192.0.2.7", Secret: "new-secret-123"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if again := s.process(ctx, nas, req); !bytes.Equal(first, again) {
		t.Fatal("retransmission across the reload was not replayed")
	}
	if h.calls.Load() != 1 {
		t.Fatalf("%d EAP calls", h.calls.Load())
	}
	if s.process(ctx, netip.MustParseAddrPort("192.0.2.7:5000"), request(t, 3, "new-secret-123", eapResp, nil, false)) == nil {
		t.Fatal("the new client is not served")
	}
	if s.process(ctx, netip.MustParseAddrPort("127.0.0.9:5000"), request(t, 4, "other-secret", eapResp, nil, false)) != nil {
		t.Fatal("the removed client is still served")
	}
	before := s.Client("lab").state.dedup.max.Load()
	if err := s.SetClients(Config{Listen: "127.0.0.1:0", DuplicateCacheSize: 300}); err == nil {
		t.Fatal("an empty client list was accepted")
	}
	if s.Client("lab").state.dedup.max.Load() != before {
		t.Fatal("a refused reload changed a client's share of the duplicate cache")
	}
	if s.Client("ap2") == nil {
		t.Fatal("a refused reload changed the clients")
	}
}

// EAP discards (a client over its share, say) are in the summary too, by
// their EAP reason.
func TestDropLog_EAPDiscards(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	h := &scriptedEAP{outcome: eap.OutcomeDiscard}
	s := newTestServer(t, h, zap.New(core))
	for i := range 3 {
		s.process(context.Background(), nas, request(t, byte(i), secret, eapResp, nil, false))
	}
	s.drops.flush(s.log, 10*time.Second)
	if logs.Len() != 1 {
		t.Fatalf("%d summary lines", logs.Len())
	}
	top := logs.All()[0].ContextMap()["top"].([]any)[0].(map[string]any)
	if top["reason"] != "eap_discard_none" || top["count"] != uint64(3) || top["client"] != "lab" {
		t.Fatalf("top entry %v", top)
	}
}

// requestWith is request with the attributes an access point sends about
// the session: Calling-Station-Id, NAS-Identifier, NAS-IP-Address and
// Acct-Session-Id (hostapd sends them all in Access-Request).
func requestWith(t testing.TB, id byte, sec string, station, acctSessionID string) []byte {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(sec))
	p.Identifier = id
	var zero [16]byte
	p.Add(attrMessageAuthenticator, zero[:])
	rfc2865.UserName_SetString(p, "anonymous@wlan.mnc001.mcc001.3gppnetwork.org")
	rfc2869.EAPMessage_Set(p, eapResp)
	rfc2865.CallingStationID_SetString(p, station)
	rfc2865.NASIdentifier_SetString(p, "ap-lobby")
	rfc2865.NASIPAddress_Set(p, net.IPv4(192, 0, 2, 10))
	if acctSessionID != "" {
		p.Add(attrAcctSessionID, []byte(acctSessionID))
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(md5.New, []byte(sec))
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil))
	return b
}

// Every Access-Accept that is not a replay records its session: the
// subscriber, the client and where the request came from, the identity
// the Accept hands the access point, the access point's attributes, and
// an expiry at the Session-Timeout it was sent, else radius.session_lifetime.
func TestProcess_AcceptRecordsTheSession(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sessionTimeout time.Duration
		lifetime       time.Duration
		wantLife       time.Duration
	}{
		{"session_timeout", time.Hour, 0, time.Hour},
		{"default lifetime", 0, 0, 24 * time.Hour},
		{"session_lifetime", 0, 90 * time.Minute, 90 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
			s, err := New(Config{
				Listen:          "127.0.0.1:0",
				Clients:         []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: secret}},
				SessionTimeout:  tc.sessionTimeout,
				SessionLifetime: tc.lifetime,
			}, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			tb := session.NewTable(session.Config{})
			s.SetSessions(tb)
			ctx := context.Background()
			before := time.Now()
			req := requestWith(t, 1, secret, "02-00-00-00-00-01", "5F1A")
			if p := checkResponse(t, s.process(ctx, nas, req), req); p.Code != radius.CodeAccessAccept {
				t.Fatalf("code %v", p.Code)
			}
			after := time.Now()
			got := tb.Lookup("001010000000001")
			if len(got) != 1 {
				t.Fatalf("%d sessions", len(got))
			}
			ss := got[0]
			want := session.Session{
				IMSI: "001010000000001", FrontEnd: FrontEnd, Client: "lab", NAS: nas,
				UserName:         "6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org",
				CallingStationID: "02-00-00-00-00-01", AcctSessionID: "5F1A", NASIdentifier: "ap-lobby",
				NASIPAddress: netip.MustParseAddr("192.0.2.10"),
				Started:      ss.Started, Expires: ss.Expires,
			}
			if ss != want {
				// String masks the IMSI and leaves names out: show them.
				t.Errorf("session %v %s %q %q %q %q %s, want %v %s %q %q %q %q %s", ss, ss.IMSI, ss.UserName,
					ss.CallingStationID, ss.AcctSessionID, ss.NASIdentifier, ss.NASIPAddress,
					want, want.IMSI, want.UserName, want.CallingStationID, want.AcctSessionID, want.NASIdentifier, want.NASIPAddress)
			}
			if ss.Started.Before(before) || ss.Started.After(after) || ss.Expires.Sub(ss.Started) != tc.wantLife {
				t.Errorf("started %v expires %v, want a lifetime of %v", ss.Started, ss.Expires, tc.wantLife)
			}
			// The retransmission gets the cached Accept: no new session.
			tb.Remove(ss)
			if s.process(ctx, nas, req) == nil || tb.Len() != 0 {
				t.Fatalf("replayed Accept: %d sessions", tb.Len())
			}
			// Nor does an Accept the EAP layer read back for a
			// retransmission it had answered before.
			h.replayed = true
			s.process(ctx, nas, requestWith(t, 2, secret, "02-00-00-00-00-01", "5F1A"))
			if tb.Len() != 0 {
				t.Fatalf("EAP replay: %d sessions", tb.Len())
			}
			// A re-authentication from the same device replaces its
			// session; another device adds one.
			h.replayed = false
			s.process(ctx, nas, requestWith(t, 3, secret, "02-00-00-00-00-01", "5F1A"))
			s.process(ctx, nas, requestWith(t, 4, secret, "02-00-00-00-00-01", "5F1A"))
			s.process(ctx, nas, requestWith(t, 5, secret, "02-00-00-00-00-02", ""))
			if tb.Len() != 2 || s.Stats.SessionsAdded.Load() != 4 {
				t.Fatalf("%d sessions, %d added", tb.Len(), s.Stats.SessionsAdded.Load())
			}
		})
	}
	// Challenges and rejects record nothing; a server without a table
	// answers as before.
	for _, outcome := range []eap.Outcome{eap.OutcomeContinue, eap.OutcomeFailure} {
		h := &scriptedEAP{outcome: outcome, packet: []byte{1, 9, 0, 4}}
		s := newTestServer(t, h, nil)
		tb := session.NewTable(session.Config{})
		s.SetSessions(tb)
		s.process(context.Background(), nas, request(t, 1, secret, eapResp, nil, false))
		if tb.Len() != 0 {
			t.Errorf("outcome %v recorded a session", outcome)
		}
	}
	h := &scriptedEAP{outcome: eap.OutcomeSuccess, packet: []byte{3, 9, 0, 4}}
	s := newTestServer(t, h, nil)
	if s.Sessions() != nil || s.process(context.Background(), nas, request(t, 1, secret, eapResp, nil, false)) == nil {
		t.Fatal("no answer without a session table")
	}
}
