package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/internal/capture"
)

// The SWx chain of TestSWx (an AAA node getting its vectors from an HSS
// node), captured on loopback and decoded by Wireshark's own Diameter
// dissector (tshark): one EAP-AKA' success (MAR/MAA, SAR/SAA), one RTR
// from the HSS (RTR/RTA), and both nodes' shutdown (DPR/DPA), every
// message well formed and made of AVPs Wireshark's 3GPP dictionary knows,
// with the vendor and flags it expects.
func TestCaptureSWx(t *testing.T) {
	t.Parallel()
	const (
		imsiPrime = "001010000000131"
		imsiRTR   = "001010000000132"
	)
	subs := []subscriber{ts1Subscriber(imsiPrime, "000000000000"), ts1Subscriber(imsiRTR, "000000000000")}

	// The HSS node's port is known before it starts, so that the capture
	// runs before the AAA node connects: its CER/CEA is captured too.
	hssPort := freeTCPPort(t)
	c := capture.Start(t, hssPort)

	hss := startHSSNode(t, "hss.test", hssPort, subs)
	nas := startTestNAS(t, defaultSecret)
	cfg := aaaNodeConfig("hss.test=" + hss.Addr)
	cfg.LabDAS = nas.addr()
	aaa := startServer(t, cfg)
	aaa.waitPeerOpen(t, "hss.test")

	r := aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiPrime),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")})
	requireSuccess(t, r, 1)

	r = aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiRTR),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")})
	requireSuccess(t, r, 1)
	if out := hss.deregister(t, imsiRTR); !strings.Contains(out, "aaa.test") || !strings.Contains(out, "2001") {
		t.Errorf("aaactl deregister said %q, want the RTR to aaa.test answered 2001", out)
	}
	nas.wait(t)

	// The AAA node's shutdown sends DPR and waits for the DPA: received,
	// so in the capture (capture.Stop's guarantee).
	stopNode(t, aaa)
	stopNode(t, hss.server)
	pcap := c.Stop(t)

	msgs := capture.Diameter(t, pcap, hssPort)
	capture.Check(t, msgs)

	var all strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&all, "  %v\n", m)
	}
	// Each request answered (same hop-by-hop identifier, other
	// direction) with DIAMETER_SUCCESS, in the right application.
	const swxApp = 16777265
	wantApp := map[uint32]uint32{257: 0, 303: swxApp, 301: swxApp, 304: swxApp, 282: 0}
	names := map[uint32]string{257: "CER/CEA", 303: "MAR/MAA", 301: "SAR/SAA", 304: "RTR/RTA", 282: "DPR/DPA"}
	pairs := map[uint32]int{}
	for i, req := range msgs {
		if req.Undecoded || !req.Request {
			continue
		}
		if app, ok := wantApp[req.Command]; ok && req.App != app {
			t.Errorf("%v: application %d, want %d", req, req.App, app)
		}
		var ans *capture.Message
		for j := i + 1; j < len(msgs); j++ {
			a := &msgs[j]
			if !a.Undecoded && !a.Request && a.Command == req.Command && a.HopByHop == req.HopByHop && a.SrcPort == req.DstPort {
				ans = a
				break
			}
		}
		if ans == nil {
			t.Errorf("%v: no answer in the capture", req)
			continue
		}
		if ans.App != req.App {
			t.Errorf("%v: application %d, its request's is %d", ans, ans.App, req.App)
		}
		if ans.Result != 2001 || ans.ExperimentalResult != 0 {
			t.Errorf("%v: want Result-Code 2001 (DIAMETER_SUCCESS)", ans)
		}
		pairs[req.Command]++
	}
	for _, cmd := range []uint32{257, 303, 301, 304, 282} {
		if pairs[cmd] == 0 {
			t.Errorf("no %s (command %d) request and answer in the capture", names[cmd], cmd)
		}
	}
	if t.Failed() {
		t.Logf("tshark decoded:\n%s", all.String())
	}
}
