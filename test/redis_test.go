package test

import (
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

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
// re-authentication contexts and SQNs are in Redis, not in a node. Then
// no key in Redis holds a subscriber's K or OPc, or the KEK, in any
// encoding.
func TestRedis_TwoNodesAlternating(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	run := runTwoNodesAlternating(t, []string{rds.Socket})
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: rds.Socket})
	defer rdb.Close()
	run.requireNoSecrets(t, map[string]*redis.Client{"redis " + rds.Socket: rdb})
}

// twoNodeRun is what runTwoNodesAlternating leaves for the checks after it.
type twoNodeRun struct {
	subscribers []subscriber
	secrets     []secret // what must never be in Redis
}

// runTwoNodesAlternating starts two aaad nodes on the Redis at redisAddrs
// (one server, or a cluster's seeds) with three subscribers, two of which
// authenticate through an alternatingProxy: a full authentication and two
// fast re-authentications, then one with an anonymous outer identity.
// Both nodes must have served and finished authentications they did not
// start.
func runTwoNodesAlternating(t *testing.T, redisAddrs []string) twoNodeRun {
	t.Helper()
	kek := filepath.Join(t.TempDir(), "kek")
	kekHex := hex.EncodeToString(randomBytes(t, 32))
	if err := os.WriteFile(kek, []byte("2026 "+kekHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const imsi, anonIMSI, idleIMSI = "001010000000081", "001010000000082", "001010000000083"
	// A third subscriber never authenticates: its keys, random, are in
	// Redis only as the import put them.
	idleK, idleOPc := randomSecret(t, "K"), randomSecret(t, "OPc")
	cfg := serverConfig{
		Subscribers: []subscriber{
			ts1Subscriber(imsi, "000000000000"), ts1Subscriber(anonIMSI, "000000000000"),
			{IMSI: idleIMSI, K: hex.EncodeToString(idleK.Value), OPc: hex.EncodeToString(idleOPc.Value), AMF: ts1AMF, SQN: "000000000000"},
		},
		RedisAddr:  redisAddrs[0],
		RedisAddrs: redisAddrs[1:],
		KeyFile:    kek,
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
	return twoNodeRun{subscribers: cfg.Subscribers, secrets: serverSecrets(t, a, kek)}
}

// requireNoSecrets scans every key of nodes (every master) for the run's
// secrets, and checks that the scan saw each subscriber's record.
func (run twoNodeRun) requireNoSecrets(t *testing.T, nodes map[string]*redis.Client) {
	t.Helper()
	if len(run.secrets) != 2*len(run.subscribers)+1 {
		t.Fatalf("%d secrets to look for, want K and OPc of %d subscribers and the KEK", len(run.secrets), len(run.subscribers))
	}
	keys := requireNoSecrets(t, nodes, run.secrets)
	for _, s := range run.subscribers {
		found := false
		for k, typ := range keys {
			found = found || (strings.Contains(k, s.IMSI) && typ == "hash" && strings.Contains(k, ":s:"))
		}
		if !found {
			t.Errorf("the scan saw no subscriber record (hash) for %s among %d keys: it did not read what holds the keys", s.IMSI, len(keys))
		}
	}
}
