package test

import (
	"crypto/hmac"
	"crypto/md5"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/aaa-project/aaa/internal/fdtest"
)

// swxReadyMsg is what an HSS node logs once it serves SWx.
const swxReadyMsg = "swx server listening"

// diameterTimers make peers notice a loss and come back within a test's
// patience.
const diameterTimers = "watchdog: 1s, request_timeout: 1s, reconnect_min: 50ms, reconnect_max: 500ms"

// freeTCPPort returns a port nothing listens on just now, for a node that
// must come back on the same address.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// hssNode is an aaad in the HSS role: the built-in HSS served over SWx,
// no RADIUS, commands on a unix socket.
type hssNode struct {
	*server
	Host string
}

// hssNodeConfig writes an HSS node's files into dir.
func hssNodeConfig(t *testing.T, dir, host string, port int, subs []subscriber, peers ...string) string {
	t.Helper()
	csv := filepath.Join(dir, "subs.csv")
	if err := os.WriteFile(csv, []byte(subscribersCSV(subs)), 0o600); err != nil {
		t.Fatal(err)
	}
	if len(peers) == 0 {
		peers = []string{"aaa.test", "relay.test"}
	}
	quoted := make([]string, len(peers))
	for i, p := range peers {
		quoted[i] = yamlString(p)
	}
	cfg := fmt.Sprintf(`log: {level: debug}
diameter: {origin_host: %s, origin_realm: test, %s}
hss:
  backend: local
  subscribers: %s
  swx_server:
    listen: %s
    peers: [%s]
store: {backend: memory}
admin: {listen: %s}
`, yamlString(host), diameterTimers, yamlString(csv), yamlString(fmt.Sprintf("127.0.0.1:%d", port)),
		strings.Join(quoted, ", "), yamlString("unix:"+filepath.Join(dir, "admin.sock")))
	path := filepath.Join(dir, "hss.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startHSSNode(t *testing.T, host string, port int, subs []subscriber, peers ...string) *hssNode {
	t.Helper()
	path := hssNodeConfig(t, t.TempDir(), host, port, subs, peers...)
	return &hssNode{server: startWith(t, path, swxReadyMsg), Host: host}
}

// deregister runs aaactl deregister against the node and returns its output.
func (h *hssNode) deregister(t *testing.T, imsi string) string {
	t.Helper()
	out, err := exec.Command(aaactlPath, "--config", h.CfgPath, "deregister", imsi).CombinedOutput()
	if err != nil {
		t.Fatalf("aaactl deregister: %v\n%s", err, out)
	}
	return string(out)
}

// aaaNodeConfig is the configuration of an AAA node whose vectors come
// over SWx from the given peers (host=addr).
func aaaNodeConfig(peers ...string) serverConfig {
	hssLines := []string{"backend: swx", "swx:", "  destination_realm: test", "  peers:"}
	for _, p := range peers {
		host, addr, _ := strings.Cut(p, "=")
		hssLines = append(hssLines, fmt.Sprintf("    - {host: %s, address: %s}", yamlString(host), yamlString(addr)))
	}
	return serverConfig{
		HSS:   hssLines,
		Extra: []string{"diameter: {origin_host: aaa.test, origin_realm: test, " + diameterTimers + "}"},
	}
}

// waitPeerOpen waits until s logged an open connection to host.
func (s *server) waitPeerOpen(t *testing.T, host string) {
	t.Helper()
	s.log.waitFor(t, "diameter peer "+host+" open", readyTimeout, func(lines []string) bool {
		for _, e := range logEntries(lines, "diameter peer open") {
			if e["peer"] == host {
				return true
			}
		}
		return false
	})
}

// testNAS is an access point's Dynamic Authorization Server (RFC 5176): it
// receives Disconnect-Requests, checks them with the secret and ACKs.
type testNAS struct {
	conn     *net.UDPConn
	secret   []byte
	received chan *radius.Packet
}

func startTestNAS(t *testing.T, secret string) *testNAS {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNAS{conn: conn, secret: []byte(secret), received: make(chan *radius.Packet, 16)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b := append([]byte(nil), buf[:k]...)
			if !radius.IsAuthenticRequest(b, n.secret) {
				continue // not signed with the client's secret: ignored
			}
			p, err := radius.Parse(b, n.secret)
			if err != nil || p.Code != radius.CodeDisconnectRequest {
				continue
			}
			if !disconnectMAOK(b, n.secret) { // Message-Authenticator, RFC 5176 3.3
				continue
			}
			ack := p.Response(radius.CodeDisconnectACK)
			out, err := ack.Encode()
			if err != nil {
				continue
			}
			conn.WriteToUDP(out, from)
			select {
			case n.received <- p:
			default:
			}
		}
	}()
	return n
}

func (n *testNAS) addr() string { return n.conn.LocalAddr().String() }

func (n *testNAS) wait(t *testing.T) *radius.Packet {
	t.Helper()
	select {
	case p := <-n.received:
		return p
	case <-time.After(checkTimeout):
		t.Fatal("no Disconnect-Request reached the access point")
		return nil
	}
}

// The AAA node gets its vectors over SWx from an HSS node: EAP-AKA' and
// EAP-AKA succeed, a USIM ahead resynchronises through MAR with AUTS, an
// unknown IMSI is rejected, and deregistering a subscriber at the HSS
// (RTR) ends its session at the access point with a Disconnect-Request.
func TestSWx(t *testing.T) {
	t.Parallel()
	const (
		imsiPrime  = "001010000000101"
		imsiAKA    = "001010000000102"
		imsiResync = "001010000000103"
		imsiRTR    = "001010000000104"
	)
	subs := []subscriber{
		ts1Subscriber(imsiPrime, "000000000000"), ts1Subscriber(imsiAKA, "000000000000"),
		ts1Subscriber(imsiResync, "000000000000"), ts1Subscriber(imsiRTR, "000000000000"),
	}
	hss := startHSSNode(t, "hss.test", 0, subs)
	nas := startTestNAS(t, defaultSecret)
	cfg := aaaNodeConfig("hss.test=" + hss.Addr)
	cfg.LabDAS = nas.addr()
	aaa := startServer(t, cfg)
	aaa.waitPeerOpen(t, "hss.test")
	runSWxChain(t, aaa, hss, nas, imsiPrime, imsiAKA, imsiResync, imsiRTR)
}

// runSWxChain runs the checks of TestSWx on a chain of nodes.
func runSWxChain(t *testing.T, aaa *server, hss *hssNode, nas *testNAS, imsiPrime, imsiAKA, imsiResync, imsiRTR string) {
	t.Run("EAP-AKA'", func(t *testing.T) {
		r := aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiPrime),
			Password: usimPassword(ts1K, ts1OPc, "000000000000")})
		requireSuccess(t, r, 1)
	})
	t.Run("EAP-AKA", func(t *testing.T) {
		r := aaa.eapolTest(t, peerConfig{Method: "AKA", Identity: akaIdentity(imsiAKA),
			Password: usimPassword(ts1K, ts1OPc, "000000000000")})
		requireSuccess(t, r, 1)
	})
	t.Run("resync", func(t *testing.T) {
		r := aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiResync),
			Password: usimPassword(ts1K, ts1OPc, "000000001000")})
		requireSuccess(t, r, 1)
		if !r.Contains(syncFailureSent) {
			t.Fatalf("%s; no Synchronization-Failure: the test did not exercise resync\n%s", r.summary(), r.Output)
		}
	})
	t.Run("unknown IMSI", func(t *testing.T) {
		r := aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity("001019999999999"),
			Password: usimPassword(ts1K, ts1OPc, "000000000000")})
		requireReject(t, r)
	})
	t.Run("RTR ends the session", func(t *testing.T) {
		r := aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiRTR),
			Password: usimPassword(ts1K, ts1OPc, "000000000000")})
		requireSuccess(t, r, 1)
		out := hss.deregister(t, imsiRTR)
		if !strings.Contains(out, "aaa.test") || !strings.Contains(out, "2001") {
			t.Errorf("aaactl deregister said %q, want the RTR to aaa.test answered 2001", out)
		}
		p := nas.wait(t)
		if got := rfc2865.UserName_GetString(p); got != akaPrimeIdentity(imsiRTR) {
			t.Errorf("Disconnect-Request User-Name %q, want %q", got, akaPrimeIdentity(imsiRTR))
		}
	})
}

// The same chain with freeDiameterd relaying SWx between the AAA node and
// the HSS node: our Diameter against an independent implementation.
func TestSWxThroughFreeDiameter(t *testing.T) {
	t.Parallel()
	const (
		imsiPrime  = "001010000000111"
		imsiAKA    = "001010000000112"
		imsiResync = "001010000000113"
		imsiRTR    = "001010000000114"
	)
	subs := []subscriber{
		ts1Subscriber(imsiPrime, "000000000000"), ts1Subscriber(imsiAKA, "000000000000"),
		ts1Subscriber(imsiResync, "000000000000"), ts1Subscriber(imsiRTR, "000000000000"),
	}
	// The HSS must listen before the relay starts: freeDiameterd's first
	// connection attempt is delayed if it fails.
	hss := startHSSNode(t, "hss.test", 0, subs)
	relay := fdtest.Start(t, fdtest.Config{
		Identity: "relay.test", Realm: "test",
		AllowedHosts: []string{"aaa.test", "hss.test"},
		ConnectPeers: []fdtest.Peer{{Host: "hss.test", Port: hss.Port}},
	})
	hss.waitPeerOpen(t, "relay.test")
	nas := startTestNAS(t, defaultSecret)
	cfg := aaaNodeConfig("relay.test=" + relay.Addr)
	cfg.LabDAS = nas.addr()
	aaa := startServer(t, cfg)
	aaa.waitPeerOpen(t, "relay.test")
	relay.WaitPeerOpen(t, "aaa.test", readyTimeout)
	runSWxChain(t, aaa, hss, nas, imsiPrime, imsiAKA, imsiResync, imsiRTR)
}

// Two HSS peers: when the first goes, requests fail over to the second;
// with none left the access point gets no answer; when one returns, the
// service does.
func TestSWxFailover(t *testing.T) {
	t.Parallel()
	imsis := []string{"001010000000121", "001010000000122", "001010000000123"}
	var subs []subscriber
	for _, imsi := range imsis {
		subs = append(subs, ts1Subscriber(imsi, "000000000000"))
	}
	port1 := freeTCPPort(t)
	dir1 := t.TempDir()
	cfg1 := hssNodeConfig(t, dir1, "hss1.test", port1, subs)
	hss1 := &hssNode{server: startWith(t, cfg1, swxReadyMsg), Host: "hss1.test"}
	hss2 := startHSSNode(t, "hss2.test", 0, subs)
	aaa := startServer(t, aaaNodeConfig("hss1.test="+hss1.Addr, "hss2.test="+hss2.Addr))
	aaa.waitPeerOpen(t, "hss1.test")
	aaa.waitPeerOpen(t, "hss2.test")
	auth := func(t *testing.T, imsi string) eapolResult {
		return aaa.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi),
			Password: usimPassword(ts1K, ts1OPc, "000000000000"), Timeout: 5})
	}
	t.Run("primary", func(t *testing.T) { requireSuccess(t, auth(t, imsis[0]), 1) })
	stopNode(t, hss1.server)
	t.Run("failover", func(t *testing.T) { requireSuccess(t, auth(t, imsis[1]), 1) })
	stopNode(t, hss2.server)
	t.Run("no HSS left: no answer", func(t *testing.T) {
		r := auth(t, imsis[2])
		if r.Success() || r.Contains("Access-Reject") || r.Contains("EAP-Failure") {
			t.Fatalf("%s; want no answer at all with no HSS\n%s", r.summary(), r.Output)
		}
	})
	// hss1 comes back on its address, with a fresh store: imsis[2] has
	// never been authenticated there.
	hss1b := &hssNode{server: startWith(t, cfg1, swxReadyMsg), Host: "hss1.test"}
	_ = hss1b
	t.Run("recovery", func(t *testing.T) {
		aaa.log.waitFor(t, "hss1.test open again", readyTimeout, func(lines []string) bool {
			n := 0
			for _, e := range logEntries(lines, "diameter peer open") {
				if e["peer"] == "hss1.test" {
					n++
				}
			}
			return n >= 2
		})
		requireSuccess(t, auth(t, imsis[2]), 1)
	})
}

// stopNode stops a node now (SIGTERM, clean exit), before the test ends.
func stopNode(t *testing.T, s *server) {
	t.Helper()
	s.stop(t)
	s.stopped = true
}

// disconnectMAOK checks a Disconnect-Request's Message-Authenticator:
// HMAC-MD5 with the secret over the packet with the Authenticator field
// and the attribute's own value zero (RFC 5176 3.3, as for
// Accounting-Request). A request without one is refused.
func disconnectMAOK(b, secret []byte) bool {
	if len(b) < 20 {
		return false
	}
	c := append([]byte(nil), b...)
	clear(c[4:20])
	var got []byte
	for i := 20; i+2 <= len(c); {
		l := int(c[i+1])
		if l < 2 || i+l > len(c) {
			return false
		}
		if c[i] == 80 && l == 18 {
			got = append([]byte(nil), c[i+2:i+18]...)
			clear(c[i+2 : i+18])
		}
		i += l
	}
	if got == nil {
		return false
	}
	m := hmac.New(md5.New, secret)
	m.Write(c)
	return hmac.Equal(m.Sum(nil), got)
}
