package diameter

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap/zaptest"
)

const (
	testApp    = 16777265 // SWx: in go-diameter's default dictionary
	testVendor = 10415
	testCmd    = 303 // MAR
)

var testApps = []App{{ID: testApp, Vendor: testVendor}}

// echo answers every request with 2001 and counts them.
type echo struct {
	n       *Node
	calls   atomic.Int64
	block   chan struct{} // when set, handlers wait on it
	started chan struct{} // when set, told of each call
	ended   chan error    // when set, told of each return: the context's error
}

func (e *echo) ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message {
	e.calls.Add(1)
	if e.started != nil {
		e.started <- struct{}{}
	}
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
		}
	}
	if e.ended != nil {
		e.ended <- ctx.Err()
	}
	return e.n.Answer(req, ResultSuccess)
}

func testConfig(host string) Config {
	return Config{OriginHost: host, OriginRealm: "test", Watchdog: time.Second,
		RequestTimeout: time.Second, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
}

func newTestNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := NewNode(cfg, testApps, dict.Default, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	return n
}

// server starts a node that accepts the given hosts and answers with echo.
func server(t *testing.T, host string, allowed ...string) (*Node, *echo, string) {
	t.Helper()
	n := newTestNode(t, testConfig(host))
	e := &echo{n: n}
	n.Handle(testApp, e)
	addr, err := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: allowed})
	if err != nil {
		t.Fatal(err)
	}
	return n, e, addr.String()
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRequestAnswer(t *testing.T) {
	_, e, addr := server(t, "hss.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	if err := c.Connect([]PeerConfig{{Host: "hss.test", Address: addr}}); err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := c.NewRequest(testCmd, testApp, "test", "")
			sid := identityOf(findAVP(req.AVP, avpSessionID, 0))
			ans, err := c.Request(ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			if rc, _ := ResultCode(ans); rc != ResultSuccess {
				t.Errorf("Result-Code %d", rc)
			}
			if got := identityOf(findAVP(ans.AVP, avpSessionID, 0)); got != sid {
				t.Errorf("answer Session-Id %q, want %q (matched to another request?)", got, sid)
			}
			if ans.AVP[0].Code != avpSessionID {
				t.Error("Session-Id is not the first AVP")
			}
		}()
	}
	wg.Wait()
	if e.calls.Load() != 50 {
		t.Errorf("handler ran %d times, want 50", e.calls.Load())
	}
}

// rawPeer is a peer written by hand, to send what a well-behaved stack
// would not.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr, host string) (*rawPeer, uint32) {
	t.Helper()
	return dialRawFrom(t, "127.0.0.1", addr, host)
}

// dialRawFrom is dialRaw from the local address from.
func dialRawFrom(t *testing.T, from, addr, host string) (*rawPeer, uint32) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
	cer := diam.NewRequest(CmdCapabilitiesExchange, 0, dict.Default)
	cer.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(host))
	cer.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	cer.NewAVP(avpHostIPAddress, avpFlagM, 0, datatype.Address(net.IPv4(127, 0, 0, 1)))
	cer.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(0))
	cer.NewAVP(avpProductName, 0, 0, datatype.UTF8String("raw"))
	cer.NewAVP(avpVendorSpecificAppID, avpFlagM, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(testVendor)),
		diam.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(testApp)),
	}})
	p.send(cer)
	cea := p.read()
	rc, _ := ResultCode(cea)
	return p, rc
}

func (p *rawPeer) send(m *diam.Message) {
	p.t.Helper()
	if _, err := m.WriteTo(p.nc); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) read() *diam.Message {
	p.t.Helper()
	m, err := diam.ReadMessage(p.br, dict.Default)
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

func TestCEAAdvertisesOnlyServedApps(t *testing.T) {
	_, _, addr := server(t, "hss.test", "aaa.test")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
	cer := diam.NewRequest(CmdCapabilitiesExchange, 0, dict.Default)
	cer.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	cer.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	cer.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(RelayApp))
	p.send(cer)
	cea := p.read()
	if rc, _ := ResultCode(cea); rc != ResultSuccess {
		t.Fatalf("CEA %d for a relay", rc)
	}
	apps, relay := peerApps(cea)
	if relay || len(apps) != 1 || apps[0] != testApp {
		t.Errorf("CEA advertises %v (relay %v), want only %d", apps, relay, testApp)
	}
	vsa := findAVP(cea.AVP, avpVendorSpecificAppID, 0)
	if vsa == nil {
		t.Fatal("no Vendor-Specific-Application-Id")
	}
	var vendor uint32
	for _, a := range vsa.Data.(*diam.GroupedAVP).AVP {
		if a.Code == avpVendorID {
			vendor = uint32(a.Data.(datatype.Unsigned32))
		}
	}
	if vendor != testVendor {
		t.Errorf("Vendor-Id %d in Vendor-Specific-Application-Id, want %d", vendor, testVendor)
	}
}

func TestUnknownPeerRefused(t *testing.T) {
	n, _, addr := server(t, "hss.test", "aaa.test")
	p, rc := dialRaw(t, addr, "mallory.test")
	if rc != ResultUnknownPeer {
		t.Fatalf("CEA Result-Code %d for an unlisted host, want %d", rc, ResultUnknownPeer)
	}
	var b [1]byte
	if _, err := p.nc.Read(b[:]); err == nil {
		t.Error("connection still open after the refusal")
	}
	if got := n.Stats.RefusedPeers.Load(); got != 1 {
		t.Errorf("refused_peers %d, want 1", got)
	}
}

// A command no dictionary knows gets DIAMETER_COMMAND_UNSUPPORTED with
// the E bit, and the connection goes on (go-diameter's own server would
// close it).
func TestUnknownCommandKeepsConnection(t *testing.T) {
	_, e, addr := server(t, "hss.test", "aaa.test")
	p, rc := dialRaw(t, addr, "aaa.test")
	if rc != ResultSuccess {
		t.Fatalf("CEA %d", rc)
	}
	for _, tc := range []struct {
		name     string
		cmd, app uint32
		want     uint32
	}{
		{"unknown command in SWx", 9999, testApp, ResultCommandUnsupported},
		{"unknown command in base", 9998, 0, ResultCommandUnsupported},
		{"known command, app not served", 272, 4, ResultApplicationUnsupported}, // Credit-Control
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := diam.NewMessage(tc.cmd, flagRequest|flagProxiable, tc.app, 77, 88, dict.Default)
			req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("aaa.test;1;2"))
			req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
			req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
			b, _ := req.Serialize()
			p.nc.Write(b)
			f, h, err := readFrame(p.br, 1<<16)
			if err != nil {
				t.Fatal(err)
			}
			if h.request() || h.cmd != tc.cmd || h.hopByHop != 77 || h.endToEnd != 88 {
				t.Fatalf("answer header %+v", h)
			}
			if h.flags&flagError == 0 {
				t.Error("no E bit on a protocol error")
			}
			if rc := resultOfFrame(f); rc != tc.want {
				t.Errorf("Result-Code %d, want %d", rc, tc.want)
			}
			if sid := rawSessionID(f); string(sid) != "aaa.test;1;2" {
				t.Errorf("Session-Id %q not echoed", sid)
			}
		})
	}
	// Still open: a real request is answered.
	req := diam.NewMessage(testCmd, flagRequest|flagProxiable, testApp, 99, 100, dict.Default)
	req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("aaa.test;1;3"))
	req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	p.send(req)
	ans := p.read()
	if rc, _ := ResultCode(ans); rc != ResultSuccess || ans.Header.HopByHopID != 99 {
		t.Fatalf("after the unknown commands: Result-Code %d hop-by-hop %d", rc, ans.Header.HopByHopID)
	}
	if e.calls.Load() != 1 {
		t.Errorf("handler calls %d, want 1", e.calls.Load())
	}
}

// resultOfFrame reads Result-Code from a raw answer.
func resultOfFrame(f []byte) uint32 {
	body := f[headerLen:]
	for len(body) >= 8 {
		code := binary.BigEndian.Uint32(body)
		l := int(body[5])<<16 | int(body[6])<<8 | int(body[7])
		if l < 8 || l > len(body) {
			return 0
		}
		if code == avpResultCode && l == 12 {
			return binary.BigEndian.Uint32(body[8:])
		}
		body = body[min((l+3)&^3, len(body)):]
	}
	return 0
}

func TestDWRAndDPR(t *testing.T) {
	n, _, addr := server(t, "hss.test", "aaa.test")
	p, _ := dialRaw(t, addr, "aaa.test")
	dwr := diam.NewMessage(CmdDeviceWatchdog, flagRequest, 0, 5, 6, dict.Default)
	dwr.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	dwr.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	p.send(dwr)
	if dwa := p.read(); dwa.Header.CommandCode != CmdDeviceWatchdog || dwa.Header.HopByHopID != 5 {
		t.Fatalf("DWA: %v", dwa)
	} else if rc, _ := ResultCode(dwa); rc != ResultSuccess {
		t.Fatalf("DWA Result-Code %d", rc)
	}
	dpr := diam.NewMessage(CmdDisconnectPeer, flagRequest, 0, 7, 8, dict.Default)
	dpr.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	dpr.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	dpr.NewAVP(avpDisconnectCause, avpFlagM, 0, datatype.Enumerated(disconnectRebooting))
	p.send(dpr)
	if dpa := p.read(); dpa.Header.CommandCode != CmdDisconnectPeer {
		t.Fatalf("DPA: %v", dpa)
	}
	if err := n.WaitClosed(waitCtx(t), "aaa.test"); err != nil {
		t.Fatal(err)
	}
}

// Close sends DPR and the peer's DPA ends the connection.
func TestCloseSendsDPR(t *testing.T) {
	s, _, addr := server(t, "hss.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss.test", Address: addr}})
	ctx := waitCtx(t)
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitOpen(ctx, "aaa.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitClosed(ctx, "aaa.test"); err != nil {
		t.Fatal(err)
	}
	if s.Stats.DisconnectsRequested.Load() != 1 {
		t.Errorf("server saw %d DPRs, want 1", s.Stats.DisconnectsRequested.Load())
	}
}

// A peer that stops answering is given up after about two watchdog
// intervals.
func TestWatchdogEndsSilentPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		cer, err := diam.ReadMessage(br, dict.Default)
		if err != nil {
			return
		}
		cea := cer.Answer(ResultSuccess)
		cea.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("hss.test"))
		cea.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
		cea.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(testApp))
		cea.WriteTo(nc)
		for { // read, never answer
			if _, err := diam.ReadMessage(br, dict.Default); err != nil {
				return
			}
		}
	}()
	cfg := testConfig("aaa.test")
	cfg.Watchdog = 100 * time.Millisecond
	cfg.ReconnectMin, cfg.ReconnectMax = time.Minute, time.Minute
	c := newTestNode(t, cfg)
	c.Connect([]PeerConfig{{Host: "hss.test", Address: ln.Addr().String()}})
	ctx := waitCtx(t)
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.WaitClosed(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	if c.Stats.WatchdogTimeouts.Load() != 1 {
		t.Errorf("watchdog_timeouts %d, want 1", c.Stats.WatchdogTimeouts.Load())
	}
	t.Logf("silent peer given up after %v (Tw 100ms)", time.Since(start))
}

// Requests go to the first configured peer; when it goes away they fail
// over to the second, and come back when it returns.
func TestFailoverAndRecovery(t *testing.T) {
	a, ea, addrA := server(t, "hss1.test", "aaa.test")
	_, eb, addrB := server(t, "hss2.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss1.test", Address: addrA}, {Host: "hss2.test", Address: addrB}})
	ctx := waitCtx(t)
	c.WaitOpen(ctx, "hss1.test")
	c.WaitOpen(ctx, "hss2.test")
	send := func() {
		t.Helper()
		ans, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", ""))
		if err != nil {
			t.Fatal(err)
		}
		if rc, _ := ResultCode(ans); rc != ResultSuccess {
			t.Fatalf("Result-Code %d", rc)
		}
	}
	send()
	if ea.calls.Load() != 1 || eb.calls.Load() != 0 {
		t.Fatalf("primary %d secondary %d, want 1 0", ea.calls.Load(), eb.calls.Load())
	}
	// The primary goes away.
	a.Close(ctx)
	if err := c.WaitClosed(ctx, "hss1.test"); err != nil {
		t.Fatal(err)
	}
	send()
	if eb.calls.Load() != 1 {
		t.Fatalf("secondary %d calls after failover, want 1", eb.calls.Load())
	}
	// It comes back on the same address.
	a2 := newTestNode(t, testConfig("hss1.test"))
	ea2 := &echo{n: a2}
	a2.Handle(testApp, ea2)
	if _, err := a2.Listen(ListenConfig{Listen: addrA, Peers: []string{"aaa.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitOpen(ctx, "hss1.test"); err != nil {
		t.Fatal(err)
	}
	send()
	if ea2.calls.Load() != 1 {
		t.Errorf("recovered primary %d calls, want 1", ea2.calls.Load())
	}
}

// A request in flight when its connection dies is sent again to the next
// peer with the T bit; with no peer left it fails at once.
func TestFailoverOfRequestInFlight(t *testing.T) {
	a, ea, addrA := server(t, "hss1.test", "aaa.test")
	ea.block, ea.started = make(chan struct{}), make(chan struct{}, 1)
	_, eb, addrB := server(t, "hss2.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss1.test", Address: addrA}, {Host: "hss2.test", Address: addrB}})
	ctx := waitCtx(t)
	c.WaitOpen(ctx, "hss1.test")
	c.WaitOpen(ctx, "hss2.test")
	done := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", ""))
		done <- err
	}()
	select {
	case <-ea.started:
	case <-ctx.Done():
		t.Fatal("request never reached the primary")
	}
	a.mu.Lock()
	conn := a.conns["aaa.test"]
	a.mu.Unlock()
	conn.nc.Close() // the primary's connection drops
	if err := <-done; err != nil {
		t.Fatalf("no failover: %v", err)
	}
	if eb.calls.Load() != 1 || c.Stats.Failovers.Load() != 1 {
		t.Errorf("secondary %d, failovers %d; want 1, 1", eb.calls.Load(), c.Stats.Failovers.Load())
	}
	close(ea.block)
}

func TestNoPeer(t *testing.T) {
	c := newTestNode(t, testConfig("aaa.test"))
	_, err := c.Request(waitCtx(t), c.NewRequest(testCmd, testApp, "test", ""))
	if !errors.Is(err, ErrNoPeer) {
		t.Fatalf("err %v, want ErrNoPeer", err)
	}
}

// A peer that sends more requests than max_in_flight at once gets
// DIAMETER_TOO_BUSY for the excess, not a growing backlog.
func TestTooBusy(t *testing.T) {
	cfg := testConfig("hss.test")
	cfg.MaxInFlight = 2
	n := newTestNode(t, cfg)
	e := &echo{n: n, block: make(chan struct{})}
	n.Handle(testApp, e)
	addr, err := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := dialRaw(t, addr.String(), "aaa.test")
	for i := uint32(1); i <= 3; i++ {
		req := diam.NewMessage(testCmd, flagRequest|flagProxiable, testApp, i, i, dict.Default)
		req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("s"))
		req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
		req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
		p.send(req)
	}
	ans := p.read()
	if rc, _ := ResultCode(ans); rc != ResultTooBusy || ans.Header.HopByHopID != 3 {
		t.Fatalf("third request: Result-Code %d hop-by-hop %d, want %d for 3", rc, ans.Header.HopByHopID, ResultTooBusy)
	}
	close(e.block)
	for i := 0; i < 2; i++ {
		if rc, _ := ResultCode(p.read()); rc != ResultSuccess {
			t.Errorf("Result-Code %d", rc)
		}
	}
}

// Malformed AVPs in a request get an answer; a broken frame ends the
// connection; nothing panics.
func TestMalformed(t *testing.T) {
	n, _, addr := server(t, "hss.test", "aaa.test")
	p, _ := dialRaw(t, addr, "aaa.test")
	// A grouped AVP (Vendor-Specific-Application-Id) whose inner AVP
	// claims more octets than the group holds: go-diameter would index
	// past it.
	body := []byte{
		0, 0, 1, 7, 0x40, 0, 0, 12, 'a', 'b', 'c', 'd', // Session-Id "abcd"
		0, 0, 1, 4, 0x40, 0, 0, 20, // Vendor-Specific-Application-Id, 12 octets of data
		0, 0, 1, 10, 0x40, 0, 0, 40, 0, 0, 0x28, 0xaf, // Vendor-Id claiming 40 octets
	}
	frame := make([]byte, headerLen+len(body))
	frame[0] = 1
	frame[1], frame[2], frame[3] = byte(len(frame)>>16), byte(len(frame)>>8), byte(len(frame))
	frame[4] = flagRequest
	frame[7] = testCmd & 0xff
	frame[6] = testCmd >> 8
	binary.BigEndian.PutUint32(frame[8:], testApp)
	binary.BigEndian.PutUint32(frame[12:], 42)
	copy(frame[headerLen:], body)
	p.nc.Write(frame)
	f, h, err := readFrame(p.br, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if h.hopByHop != 42 || resultOfFrame(f) != ResultInvalidAVPLength {
		t.Fatalf("answer %+v Result-Code %d, want %d", h, resultOfFrame(f), ResultInvalidAVPLength)
	}
	if n.Stats.Malformed.Load() != 1 {
		t.Errorf("malformed %d, want 1", n.Stats.Malformed.Load())
	}
	// A frame longer than max_message ends the connection.
	big := make([]byte, headerLen)
	big[0], big[1] = 1, 0x10 // 1 MiB
	p.nc.Write(big)
	var b [1]byte
	if _, err := p.br.Read(b[:]); err == nil {
		t.Error("connection open after an oversized frame")
	}
	if n.Stats.FrameErrors.Load() != 1 {
		t.Errorf("frame_errors %d, want 1", n.Stats.FrameErrors.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no host", func(c *Config) { c.OriginHost = "" }, false},
		{"bad host", func(c *Config) { c.OriginHost = "a b" }, false},
		{"empty label", func(c *Config) { c.OriginRealm = "test..x" }, false},
		{"tiny watchdog", func(c *Config) { c.Watchdog = time.Millisecond }, false},
		{"backoff inverted", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, false},
		{"huge message", func(c *Config) { c.MaxMessage = 1<<20 + 1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{OriginHost: "aaa.test", OriginRealm: "test"}
			c.SetDefaults()
			tc.mod(&c)
			if err := c.Validate("diameter"); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// go-diameter, given a grouped AVP whose inner lengths do not add up,
// panics (it takes the length of an AVP it failed to decode); checkAVPs
// is what stands between it and the network. If this test starts failing
// because go-diameter stopped panicking, checkAVPs may be relaxed.
func TestGoDiameterNeedsCheckAVPs(t *testing.T) {
	body := []byte{
		0, 0, 1, 4, 0x40, 0, 0, 20, // Vendor-Specific-Application-Id
		0, 0, 1, 10, 0x40, 0, 0, 40, 0, 0, 0x28, 0xaf, // Vendor-Id claiming 40 octets
	}
	if err := checkAVPs(body, testApp, dict.Default, 0); err == nil {
		t.Fatal("checkAVPs let a bad inner length through")
	}
	panicked := func() (p bool) {
		defer func() { p = recover() != nil }()
		diam.DecodeGroupedFromBytes(body[8:], testApp, dict.Default)
		return false
	}()
	if !panicked {
		t.Log("go-diameter no longer panics on a bad inner AVP length")
	}
}

// An answer carries the request's identifiers, zeros included (go-diameter
// draws random ones for zeros).
func TestAnswerKeepsZeroIdentifiers(t *testing.T) {
	n := newTestNode(t, testConfig("hss.test"))
	req := diam.NewMessage(testCmd, flagRequest, testApp, 0, 0, dict.Default)
	req.Header.HopByHopID, req.Header.EndToEndID = 0, 0
	ans := n.Answer(req, ResultSuccess)
	if ans.Header.HopByHopID != 0 || ans.Header.EndToEndID != 0 {
		t.Fatalf("answer ids %d/%d, want 0/0", ans.Header.HopByHopID, ans.Header.EndToEndID)
	}
}
