package diameter

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// A peer that stays connected (it answers DWR) but leaves a request
// unanswered: after request_timeout the request goes to the next peer,
// within the caller's deadline.
func TestFailoverOnTimeout(t *testing.T) {
	_, ea, addrA := server(t, "hss1.test", "aaa.test")
	ea.block = make(chan struct{})
	defer close(ea.block)
	_, eb, addrB := server(t, "hss2.test", "aaa.test")
	cfg := testConfig("aaa.test")
	cfg.RequestTimeout = 200 * time.Millisecond
	c := newTestNode(t, cfg)
	c.Connect([]PeerConfig{{Host: "hss1.test", Address: addrA}, {Host: "hss2.test", Address: addrB}})
	ctx := waitCtx(t)
	c.WaitOpen(ctx, "hss1.test")
	c.WaitOpen(ctx, "hss2.test")
	rctx, cancel := context.WithTimeout(ctx, 2*cfg.RequestTimeout+time.Second)
	defer cancel()
	if _, err := c.Request(rctx, c.NewRequest(testCmd, testApp, "test", "")); err != nil {
		t.Fatalf("no failover after a timeout: %v", err)
	}
	if eb.calls.Load() != 1 || c.Stats.Failovers.Load() != 1 || c.Stats.Timeouts.Load() != 1 {
		t.Errorf("secondary %d calls, %d failovers, %d timeouts; want 1 each", eb.calls.Load(), c.Stats.Failovers.Load(), c.Stats.Timeouts.Load())
	}
}

// answerAndClose is a peer that answers one request and closes at once.
func answerAndClose(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer nc.Close()
			br := bufio.NewReader(nc)
			cer, err := diam.ReadMessage(br, dict.Default)
			if err != nil {
				return
			}
			cea := diam.NewMessage(CmdCapabilitiesExchange, 0, 0, cer.Header.HopByHopID, cer.Header.EndToEndID, dict.Default)
			cea.NewAVP(avpResultCode, avpFlagM, 0, datatype.Unsigned32(ResultSuccess))
			cea.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("hss.test"))
			cea.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
			cea.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(testApp))
			cea.WriteTo(nc)
			req, err := diam.ReadMessage(br, dict.Default)
			if err != nil {
				return
			}
			ans := diam.NewMessage(req.Header.CommandCode, 0, req.Header.ApplicationID, req.Header.HopByHopID, req.Header.EndToEndID, dict.Default)
			ans.NewAVP(avpResultCode, avpFlagM, 0, datatype.Unsigned32(ResultSuccess))
			ans.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("hss.test"))
			ans.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
			ans.WriteTo(nc)
		}()
	}
}

// An answer that arrives just before its connection closes is not lost.
func TestAnswerThenClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go answerAndClose(ln)
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss.test", Address: ln.Addr().String()}})
	ctx := waitCtx(t)
	for i := 0; i < 50; i++ {
		if err := c.WaitOpen(ctx, "hss.test"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", "")); err != nil {
			t.Fatalf("request %d: the answer came, but: %v", i, err)
		}
		c.WaitClosed(ctx, "hss.test")
	}
}

// The handlers of a connection end with it: a peer that reconnects does
// not pile up work the node can no longer answer.
func TestHandlersEndWithConnection(t *testing.T) {
	n := newTestNode(t, testConfig("hss.test"))
	e := &echo{n: n, block: make(chan struct{}), started: make(chan struct{}, 4), ended: make(chan error, 4)}
	defer close(e.block)
	n.Handle(testApp, e)
	addr, _ := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}})
	p, _ := dialRaw(t, addr.String(), "aaa.test")
	for i := uint32(1); i <= 4; i++ {
		req := diam.NewMessage(testCmd, flagRequest|flagProxiable, testApp, i, i, dict.Default)
		req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("s"))
		req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
		req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
		p.send(req)
	}
	ctx := waitCtx(t)
	for i := 0; i < 4; i++ {
		select {
		case <-e.started:
		case <-ctx.Done():
			t.Fatal("handlers did not start")
		}
	}
	p.nc.Close()
	for i := 0; i < 4; i++ {
		select {
		case err := <-e.ended:
			if err == nil {
				t.Error("a handler ended without its context cancelled")
			}
		case <-ctx.Done():
			t.Fatal("a handler outlived its connection")
		}
	}
}

// A write that goes straight to the socket (larger than the buffer) uses
// a fresh deadline, not the one left by the last flush.
func TestLargeWriteAfterIdle(t *testing.T) {
	_, _, addr := server(t, "hss.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss.test", Address: addr}})
	ctx := waitCtx(t)
	c.WaitOpen(ctx, "hss.test")
	c.mu.Lock()
	conn := c.conns["hss.test"]
	c.mu.Unlock()
	conn.nc.SetWriteDeadline(time.Now().Add(-time.Second)) // as left by a flush long ago
	req := c.NewRequest(testCmd, testApp, "test", "")
	req.NewAVP(1, avpFlagM, 0, datatype.UTF8String(make([]byte, 40<<10)))
	if _, err := c.Request(ctx, req); err != nil {
		t.Fatalf("a 40 KiB request after a stale deadline: %v", err)
	}
}

// A second connection that claims the Origin-Host of a live peer from
// another address is refused, and does not cut the peer off; from the
// same address it is the peer come back, and replaces the old one.
func TestImpostorRefused(t *testing.T) {
	s, _, addr := server(t, "hss.test", "aaa.test")
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss.test", Address: addr}})
	ctx := waitCtx(t)
	c.WaitOpen(ctx, "hss.test")
	s.WaitOpen(ctx, "aaa.test")
	if _, rc := dialRawFrom(t, "127.0.0.2", addr, "aaa.test"); rc != ResultUnableToComply {
		t.Fatalf("impostor from another address got CEA %d, want %d", rc, ResultUnableToComply)
	}
	if c.Stats.Closed.Load() != 0 {
		t.Fatal("the real peer's connection was closed")
	}
	if _, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", "")); err != nil {
		t.Fatal(err)
	}
	if _, rc := dialRawFrom(t, "127.0.0.1", addr, "aaa.test"); rc != ResultSuccess {
		t.Fatalf("the peer reconnecting from its address got CEA %d", rc)
	}
}

// Sources keeps out addresses before any handshake.
func TestSources(t *testing.T) {
	n := newTestNode(t, testConfig("hss.test"))
	n.Handle(testApp, &echo{n: n})
	addr, err := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}, Sources: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, rc := dialRaw(t, addr.String(), "aaa.test"); rc != ResultSuccess {
		t.Fatalf("CEA %d from an allowed source", rc)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}
	nc, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var b [1]byte
	if _, err := nc.Read(b[:]); err == nil {
		t.Fatal("a connection from outside sources was served")
	}
}

// A listener serves only its applications: a peer of one listener cannot
// reach the handlers of an application the node serves on another (a
// gateway must not reach the HSS's SWx), and its CEA names only them.
func TestListenerApplications(t *testing.T) {
	const otherApp = 16777250 // STa
	n, err := NewNode(testConfig("hss.test"), []App{{ID: testApp, Vendor: testVendor}, {ID: otherApp, Vendor: testVendor}}, dict.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	e := &echo{n: n}
	n.Handle(testApp, e)
	n.Handle(otherApp, e)
	addr, err := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"twag.test"}, Apps: []App{{ID: otherApp, Vendor: testVendor}}})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
	cer := diam.NewRequest(CmdCapabilitiesExchange, 0, dict.Default)
	cer.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("twag.test"))
	cer.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	cer.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(RelayApp))
	p.send(cer)
	cea := p.read()
	if apps, _ := peerApps(cea); len(apps) != 1 || apps[0] != otherApp {
		t.Fatalf("CEA advertises %v, want only the listener's %d", apps, otherApp)
	}
	req := diam.NewMessage(testCmd, flagRequest|flagProxiable, testApp, 5, 5, dict.Default)
	req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("twag.test;1;1"))
	req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("twag.test"))
	req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	p.send(req)
	if rc, _ := ResultCode(p.read()); rc != ResultApplicationUnsupported {
		t.Fatalf("a SWx request on the STa listener: Result-Code %d, want %d", rc, ResultApplicationUnsupported)
	}
	if e.calls.Load() != 0 {
		t.Fatal("the SWx handler ran for a peer of another listener")
	}
}
