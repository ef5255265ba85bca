package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	aaaradius "github.com/aaa-project/aaa/radius"
)

// startRADIUS serves aaad's RADIUS front end and EAP server in process on a
// loopback port.
func startRADIUS(t *testing.T, subs []hss.Subscriber, methods ...eap.Type) netip.AddrPort {
	t.Helper()
	rs, err := aaaradius.New(aaaradius.Config{
		Listen:  "127.0.0.1:0",
		Clients: []aaaradius.ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: testSecret}},
	}, newTestEAPServer(t, subs, methods...), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rs.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go rs.Serve(context.Background(), conn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rs.Shutdown(ctx)
	})
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func writeCSV(t *testing.T, subs []hss.Subscriber) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	for _, s := range subs {
		b.WriteString(s.IMSI + "," + hex.EncodeToString(s.K[:]) + "," + hex.EncodeToString(s.OPc[:]) + ",8000,000000000000\n")
	}
	path := filepath.Join(t.TempDir(), "subs.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runBench runs aaabench in process and returns its exit code and JSON
// summary.
func runBench(t *testing.T, stop <-chan struct{}, args ...string) (int, summary, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cfg, code := parseFlags(append(args, "--json", "--quiet"), &errb)
	if cfg == nil {
		return code, summary{}, errb.String()
	}
	code = run(cfg, &out, &errb, stop)
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v (stderr %s)", out.String(), err, errb.String())
	}
	return code, s, errb.String()
}

func TestRun_InProcessServer(t *testing.T) {
	subs := testSubscribers(40)
	csv := writeCSV(t, subs)
	addr := startRADIUS(t, subs)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"AKA' closed loop", nil},
		{"AKA, re-auth and anonymous", []string{"--method", "aka", "--reauth", "0.5", "--anonymous", "0.3"}},
		{"AKA' open loop", []string{"--rate", "2000", "--reauth", "0.5", "--anonymous", "0.3"}},
		{"one socket", []string{"--sockets", "1", "--concurrency", "30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--server", addr.String(), "--subscribers", csv, "--count", "400", "--concurrency", "12"}, tc.args...)
			code, s, stderr := runBench(t, nil, args...)
			if code != 0 || s.OK != 400 || s.FailuresTotal != 0 || s.Abandoned != 0 {
				t.Fatalf("exit %d ok %d failures %v abandoned %d\n%s", code, s.OK, s.Failures, s.Abandoned, stderr)
			}
			if s.LatencyMS.P50 <= 0 || s.LatencyMS.Max < s.LatencyMS.P99 || s.RoundsPerAuth < 2 {
				t.Fatalf("latency %+v rounds %.2f", s.LatencyMS, s.RoundsPerAuth)
			}
			if strings.Contains(strings.Join(tc.args, " "), "--reauth") && s.FastReauths == 0 {
				t.Fatal("no fast re-authentication")
			}
			// Open loop only: the start lag, and the latency without it,
			// which can never exceed the latency from the schedule.
			open := strings.Contains(strings.Join(tc.args, " "), "--rate")
			if open != (s.StartLagMS != nil) || open != (s.ServiceMS != nil) {
				t.Fatalf("open loop %v: start lag %+v, from first send %+v", open, s.StartLagMS, s.ServiceMS)
			}
			if open && (s.ServiceMS.P50 <= 0 || s.ServiceMS.Max > s.LatencyMS.Max) {
				t.Fatalf("from first send %+v, latency %+v", *s.ServiceMS, s.LatencyMS)
			}
		})
	}
}

// relay sits between aaabench and the server: it can drop requests and
// answers (to exercise retransmission and the server's duplicate cache) and
// tamper with answers (to prove the checks fail).
type relay struct {
	in     *net.UDPConn
	server netip.AddrPort

	// dropRequest and dropAnswer see the n-th distinct request (1, 2,
	// ...) and say whether to drop its first copy, or the first answer
	// to it: a retransmission always gets through.
	dropRequest func(n int64) bool
	dropAnswer  func(n int64) bool
	tamper      func(resp []byte, reqAuth []byte)
	// drop, when set, sees every answer and says whether to drop it.
	drop func(resp []byte, reqAuth []byte) bool

	distinct atomic.Int64
	mu       sync.Mutex
	ups      map[netip.AddrPort]*net.UDPConn
	auths    map[[2]uint64][16]byte // (client, Identifier) -> Request Authenticator
	seen     map[[16]byte]int64     // Request Authenticator -> n, or -n once its first answer was dropped
}

func startRelay(t *testing.T, server netip.AddrPort, configure func(*relay)) *relay {
	in, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{in: in, server: server, ups: map[netip.AddrPort]*net.UDPConn{}, auths: map[[2]uint64][16]byte{}, seen: map[[16]byte]int64{}}
	t.Cleanup(func() {
		in.Close()
		r.mu.Lock()
		for _, u := range r.ups {
			u.Close()
		}
		r.mu.Unlock()
	})
	configure(r)
	go r.loop()
	return r
}

func (r *relay) addr() string { return r.in.LocalAddr().String() }

func authKey(client netip.AddrPort, id byte) [2]uint64 {
	return [2]uint64{uint64(client.Port()), uint64(id)}
}

func (r *relay) loop() {
	buf := make([]byte, 5000)
	for {
		n, from, err := r.in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		auth := [16]byte(buf[4:20])
		r.mu.Lock()
		_, again := r.seen[auth]
		if !again {
			k := r.distinct.Add(1)
			r.seen[auth] = k
			if r.dropRequest != nil && r.dropRequest(k) {
				r.mu.Unlock()
				continue
			}
		}
		r.auths[authKey(from, buf[1])] = auth
		up := r.ups[from]
		if up == nil {
			up, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(r.server))
			if err != nil {
				r.mu.Unlock()
				return
			}
			r.ups[from] = up
			go r.back(up, from)
		}
		r.mu.Unlock()
		up.Write(buf[:n])
	}
}

func (r *relay) back(up *net.UDPConn, client netip.AddrPort) {
	buf := make([]byte, 5000)
	for {
		n, err := up.Read(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		auth := r.auths[authKey(client, buf[1])]
		k := r.seen[auth]
		drop := k > 0 && r.dropAnswer != nil && r.dropAnswer(k)
		if drop {
			r.seen[auth] = -k
		}
		r.mu.Unlock()
		if drop || (r.drop != nil && r.drop(buf[:n], auth[:])) {
			continue
		}
		if r.tamper != nil {
			r.tamper(buf[:n], auth[:])
		}
		r.in.WriteToUDPAddrPort(buf[:n], client)
	}
}

// Lost requests and lost answers: aaabench retransmits the same bytes, the
// server answers from its duplicate cache, every authentication succeeds.
func TestRun_RetransmitsThroughALossyNetwork(t *testing.T) {
	subs := testSubscribers(20)
	csv := writeCSV(t, subs)
	r := startRelay(t, startRADIUS(t, subs), func(r *relay) {
		r.dropRequest = func(n int64) bool { return n%7 == 3 }
		r.dropAnswer = func(n int64) bool { return n%5 == 1 }
	})
	code, s, stderr := runBench(t, nil, "--server", r.addr(), "--subscribers", csv, "--count", "150", "--concurrency", "8",
		"--timeout", "50ms", "--retries", "4", "--reauth", "0.5")
	if code != 0 || s.OK != 150 || s.FailuresTotal != 0 {
		t.Fatalf("exit %d ok %d failures %v\n%s", code, s.OK, s.Failures, stderr)
	}
	if s.Retransmissions == 0 {
		t.Fatal("no retransmission counted")
	}
}

// Answers changed on the way: each check fails under its own reason and the
// exit status is 1.
func TestRun_DetectsTamperedAnswers(t *testing.T) {
	subs := testSubscribers(10)
	csv := writeCSV(t, subs)
	server := startRADIUS(t, subs)
	secret := []byte(testSecret)
	for _, tc := range []struct {
		name   string
		tamper func(b, reqAuth []byte)
		want   reason
	}{
		{"Response Authenticator", func(b, _ []byte) { b[5] ^= 1 }, reasonBadResponseAuthenticator},
		{"Message-Authenticator", func(b, reqAuth []byte) {
			b[25] ^= 1
			resignResponseOnly(b, reqAuth, secret)
		}, reasonBadMessageAuthenticator},
		{"MPPE key", func(b, reqAuth []byte) {
			if b[0] == codeAccessAccept {
				at := -1 // a Vendor-Specific: an MPPE key
				for off := radiusHeaderLen; off < len(b); off += int(b[off+1]) {
					if b[off] == attrVendorSpecific {
						at = off
					}
				}
				if at < 0 {
					panic("an Accept without MPPE keys")
				}
				// Type, Length, Vendor-Id (4), vendor type and length, salt
				// (2), then the encrypted key length and key: flip a key
				// octet (the padding after it does not count).
				b[at+2+4+2+2+5] ^= 1
				resign(b, reqAuth, secret)
			}
		}, reasonMPPEMismatch},
		{"EAP-Success into EAP-Failure", func(b, reqAuth []byte) {
			if b[0] == codeAccessAccept {
				b[0] = codeAccessReject
				resign(b, reqAuth, secret)
			}
		}, reasonAccessReject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRelay(t, server, func(r *relay) { r.tamper = tc.tamper })
			code, s, stderr := runBench(t, nil, "--server", r.addr(), "--subscribers", csv, "--count", "20", "--concurrency", "4")
			if code != 1 || s.OK != 0 || s.Failures[tc.want.String()] != 20 {
				t.Fatalf("exit %d ok %d failures %v, want 20 %s\n%s", code, s.OK, s.Failures, tc.want, stderr)
			}
		})
	}
}

// Subscribers whose K the server does not have: the AUTN does not verify.
func TestRun_WrongKeys(t *testing.T) {
	subs := testSubscribers(10)
	server := startRADIUS(t, subs)
	wrong := append([]hss.Subscriber(nil), subs...)
	for i := range wrong {
		wrong[i].K[3] ^= 0x40
	}
	code, s, stderr := runBench(t, nil, "--server", server.String(), "--subscribers", writeCSV(t, wrong), "--count", "30", "--concurrency", "5")
	if code != 1 || s.OK != 0 || s.Failures["autn_mac"] != 30 {
		t.Fatalf("exit %d ok %d failures %v\n%s", code, s.OK, s.Failures, stderr)
	}
}

// No server at all: every authentication times out after its retries.
func TestRun_Timeouts(t *testing.T) {
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	csv := writeCSV(t, testSubscribers(5))
	start := time.Now()
	code, s, stderr := runBench(t, nil, "--server", silent.LocalAddr().String(), "--subscribers", csv, "--count", "5", "--concurrency", "5",
		"--timeout", "50ms", "--retries", "1")
	if code != 1 || s.Failures["timeout"] != 5 || s.Retransmissions != 5 {
		t.Fatalf("exit %d failures %v retransmissions %d\n%s", code, s.Failures, s.Retransmissions, stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

// An interrupt stops new authentications, lets those in flight end and
// prints the summary so far.
func TestRun_Interrupt(t *testing.T) {
	subs := testSubscribers(20)
	csv := writeCSV(t, subs)
	server := startRADIUS(t, subs)
	stop := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(stop) })
	start := time.Now()
	code, s, stderr := runBench(t, stop, "--server", server.String(), "--subscribers", csv, "--duration", "1h", "--concurrency", "8")
	if code != 0 || s.OK == 0 || !s.Interrupted || s.Abandoned != 0 {
		t.Fatalf("exit %d ok %d interrupted %v abandoned %d failures %v\n%s", code, s.OK, s.Interrupted, s.Abandoned, s.Failures, stderr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v to stop", d)
	}
}

func TestRun_ConcurrencyCappedAtSubscribers(t *testing.T) {
	subs := testSubscribers(3)
	server := startRADIUS(t, subs)
	code, s, stderr := runBench(t, nil, "--server", server.String(), "--subscribers", writeCSV(t, subs), "--count", "30", "--concurrency", "64")
	if code != 0 || s.OK != 30 || s.Concurrency != 3 || !strings.Contains(stderr, "concurrency capped at 3") {
		t.Fatalf("exit %d ok %d concurrency %d\n%s", code, s.OK, s.Concurrency, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	csv := writeCSV(t, testSubscribers(1))
	for _, args := range [][]string{
		{},
		{"--subscribers", csv, "--method", "tls"},
		{"--subscribers", csv, "--count", "10", "--duration", "5s"},
		{"--subscribers", csv, "--reauth", "1.5"},
		{"--subscribers", csv, "--concurrency", "0"},
		{"--subscribers", csv, "--bogus"},
		{"--subscribers", filepath.Join(t.TempDir(), "missing.csv"), "--count", "1"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
