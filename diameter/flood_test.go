package diameter

import (
	"net"
	"sync"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// A host that opens connections and says nothing holds at most
// maxHandshakesPerIP places: a peer from another address still gets in.
func TestIdleConnectionFlood(t *testing.T) {
	n, _, addr := server(t, "hss.test", "aaa.test")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var idle []net.Conn
	for i := 0; i < 200; i++ {
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, nc)
	}
	defer func() {
		for _, nc := range idle {
			nc.Close()
		}
	}()
	// The shed ones are closed at once: reading them ends.
	shed := 0
	for _, nc := range idle[maxHandshakesPerIP:] {
		var b [1]byte
		if _, err := nc.Read(b[:]); err != nil {
			shed++
		}
	}
	if shed != len(idle)-maxHandshakesPerIP {
		t.Errorf("%d of %d idle connections past the per-address bound were closed", shed, len(idle)-maxHandshakesPerIP)
	}
	p, rc := dialRaw(t, addr, "aaa.test")
	if rc != ResultSuccess {
		t.Fatalf("the real peer got CEA %d during the flood", rc)
	}
	_ = p
	if got := n.Stats.HandshakesShed.Load(); got != uint64(len(idle)-maxHandshakesPerIP) {
		t.Errorf("handshakes_shed %d, want %d", got, len(idle)-maxHandshakesPerIP)
	}
}

// A peer that sends far more requests than its handlers take gets
// DIAMETER_TOO_BUSY for the excess; another peer is served all along.
func TestRequestFlood(t *testing.T) {
	cfg := testConfig("hss.test")
	cfg.MaxInFlight = 8
	n := newTestNode(t, cfg)
	e := &echo{n: n}
	n.Handle(testApp, e)
	addr, err := n.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"flood.test", "aaa.test"}})
	if err != nil {
		t.Fatal(err)
	}
	flood, _ := dialRaw(t, addr.String(), "flood.test")
	const total = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the flood: written without waiting for answers
		defer wg.Done()
		var buf []byte
		for i := uint32(1); i <= total; i++ {
			req := diam.NewMessage(testCmd, flagRequest|flagProxiable, testApp, i, i, dict.Default)
			req.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("flood"))
			req.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("flood.test"))
			req.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
			b, _ := req.Serialize()
			buf = append(buf, b...)
			if len(buf) > 64<<10 || i == total {
				if _, err := flood.nc.Write(buf); err != nil {
					return
				}
				buf = buf[:0]
			}
		}
	}()
	answered, busy := 0, 0
	wg.Add(1)
	go func() { // the flooder reads its answers
		defer wg.Done()
		for answered+busy < total {
			f, _, err := readFrame(flood.br, 1<<16)
			if err != nil {
				t.Errorf("flooder's connection ended after %d answers: %v", answered+busy, err)
				return
			}
			switch resultOfFrame(f) {
			case ResultSuccess:
				answered++
			case ResultTooBusy:
				busy++
			}
		}
	}()
	// Meanwhile another peer's requests are answered.
	c := newTestNode(t, testConfig("aaa.test"))
	c.Connect([]PeerConfig{{Host: "hss.test", Address: addr.String()}})
	ctx := waitCtx(t)
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		ans, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", ""))
		if err != nil {
			t.Fatalf("the other peer's request %d during the flood: %v", i, err)
		}
		if rc, _ := ResultCode(ans); rc != ResultSuccess {
			t.Fatalf("Result-Code %d", rc)
		}
	}
	wg.Wait()
	t.Logf("flood of %d: %d answered, %d DIAMETER_TOO_BUSY", total, answered, busy)
	if answered+busy != total {
		t.Errorf("%d answers for %d requests", answered+busy, total)
	}
}
