package test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aaa-project/aaa/internal/redistest"
)

// alternatingProxy relays RADIUS between eapol_test and several aaad nodes,
// sending each request to the next node in turn: every packet of a
// conversation lands on another node than the one before.
type alternatingProxy struct {
	down    *net.UDPConn // faces eapol_test
	up      []*net.UDPConn
	next    atomic.Uint64
	peer    atomic.Pointer[net.UDPAddr]
	perNode []atomic.Int64
	wg      sync.WaitGroup
}

func startAlternatingProxy(t *testing.T, nodes ...*server) *alternatingProxy {
	t.Helper()
	down, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	p := &alternatingProxy{down: down, perNode: make([]atomic.Int64, len(nodes))}
	for _, n := range nodes {
		raddr, err := net.ResolveUDPAddr("udp", n.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, raddr)
		if err != nil {
			t.Fatal(err)
		}
		p.up = append(p.up, c)
	}
	for _, c := range p.up {
		p.wg.Add(1)
		go func() { // answers back to eapol_test
			defer p.wg.Done()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if to := p.peer.Load(); to != nil {
					p.down.WriteToUDP(buf[:n], to)
				}
			}
		}()
	}
	p.wg.Add(1)
	go func() { // requests to the next node
		defer p.wg.Done()
		buf := make([]byte, 4096)
		for {
			n, from, err := p.down.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p.peer.Store(from)
			i := int(p.next.Add(1)-1) % len(p.up)
			p.perNode[i].Add(1)
			p.up[i].Write(buf[:n])
		}
	}()
	t.Cleanup(func() {
		down.Close()
		for _, c := range p.up {
			c.Close()
		}
		p.wg.Wait()
	})
	return p
}

// target is a server value that points eapol_test at the proxy.
func (p *alternatingProxy) target(s *server) *server {
	cp := *s
	addr := p.down.LocalAddr().(*net.UDPAddr)
	cp.Addr, cp.Host, cp.Port = addr.String(), addr.IP.String(), addr.Port
	return &cp
}

// Two aaad nodes sharing one Redis finish eapol_test's conversations while
// every packet goes to the other node than the one before: conversations,
// re-authentication contexts and SQNs are in Redis, not in a node.
func TestRedis_TwoNodesAlternating(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("2026 "+strings.Repeat("3c", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const imsi, anonIMSI = "001010000000081", "001010000000082"
	cfg := serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000"), ts1Subscriber(anonIMSI, "000000000000")},
		RedisAddr:   redis.Socket,
		KeyFile:     kek,
	}
	a, b := startServer(t, cfg), startServer(t, cfg)
	p := startAlternatingProxy(t, a, b)
	front := p.target(a)

	// A full authentication and two fast re-authentications, each
	// packet on the other node.
	r := front.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
		Reauths:  2,
	})
	requireSuccess(t, r, 3)
	// An anonymous outer identity: three round trips over both nodes.
	r = front.eapolTest(t, peerConfig{
		Method:            "AKA'",
		Identity:          akaPrimeIdentity(anonIMSI),
		AnonymousIdentity: "anonymous@" + realm,
		Password:          usimPassword(ts1K, ts1OPc, "000000000000"),
	})
	requireSuccess(t, r, 1)
	if p.perNode[0].Load() == 0 || p.perNode[1].Load() == 0 {
		t.Fatalf("requests per node %d, %d: both must have served", p.perNode[0].Load(), p.perNode[1].Load())
	}
	// Both nodes finished authentications they had not started.
	for i, s := range []*server{a, b} {
		if len(logEntries(strings.Split(s.log.String(), "\n"), "eap authentication succeeded")) == 0 {
			t.Errorf("node %d finished no authentication", i)
		}
	}
}
