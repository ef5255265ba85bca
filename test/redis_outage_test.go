package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/internal/redistest"
	"github.com/aaa-project/aaa/store/redisstore"
)

// Redis down or slow: aaad keeps running, answers nothing it cannot answer
// correctly (never an Access-Reject or EAP-Failure for a backend fault),
// counts and logs it, grows no goroutines while Redis is away, and serves
// again by itself when Redis is back; with AOF (appendfsync always) the
// SQNs issued after a restart of Redis stay above those issued before.
//
// One aaad on one redis-server (TCP, AOF on, a directory kept across the
// restart). Load comes from aaabench (open loop, its own USIMs) and from
// RADIUS probes written here, which also check each answer, or its absence,
// on the wire. The phases:
//
//  1. Redis up: logins succeed (aaabench, and eapol_test's USIM).
//  2. Redis paused (SIGSTOP: it accepts connections, answers nothing):
//     no answer to anything, no request stuck once the load stops, no
//     goroutine growth; after SIGCONT, service back by itself.
//  3. Redis killed (SIGKILL, no final save): the same, and a conversation
//     opened before the kill gets no answer either.
//  4. Redis restarted on the same address and directory: service back
//     without touching aaad, within a bounded wait; the SQN in Redis is
//     the one issued before the kill; eapol_test's USIM, holding that
//     SQN, accepts the next challenge without a resynchronisation.
const (
	// outageGoroutineSlack is how many goroutines aaad may have above
	// its count under load with Redis up: go-redis dials (at most its
	// pool size), timers. A goroutine per request or per retry breaks it.
	outageGoroutineSlack = 50
	// outageRSSSlackMiB bounds aaad's RSS growth during an outage.
	outageRSSSlackMiB = 64
	// outageLoad is how long each outage is loaded, and at what rate
	// (authentications started a second, each 2 requests at most
	// before it times out); AAA_OUTAGE_LOAD and AAA_OUTAGE_RATE
	// override them for a longer look.
	outageLoad     = "3s"
	outageLoadRate = "150"
	// redisTimeout is store.redis.timeout (its default): what one Redis
	// operation may cost at most, retry included.
	redisTimeout = 250 * time.Millisecond
	// What a request may cost aaad before it gives up (the log's
	// elapsed). With Redis killed, less than one timeout: a refused
	// dial costs microseconds, the rest is go-redis's retry backoff.
	// With Redis paused, the timeout, twice for a request that waits
	// behind the EAP store's pipelines in flight, and room for a loaded
	// machine. go-redis's defaults (5 dial attempts 100 ms apart inside
	// each try, a retry after a read timeout) and a pipeline timeout
	// of its own cost up to 0.65 s killed and 1.7 s paused here.
	maxCostKilled = redisTimeout
	maxCostPaused = 3 * redisTimeout
	// probeWait is how long a probe waits for an answer that must not
	// come: well above what aaad spends on a request before it gives up.
	probeWait = 1500 * time.Millisecond
	// recoveryDeadline bounds how long after Redis is back aaad may take
	// to serve again (go-redis probes a dead address once a second).
	recoveryDeadline = 10 * time.Second
)

func TestRedisOutage_KillAndRestart(t *testing.T) {
	bin := buildAAABench(t)
	rds := redistest.StartWith(t, redistest.Options{AOF: true})
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("2026 "+strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	benchCSV, benchSubs := benchSubscribers(t, bin, "256", "--imsi-base", "001016000000000")
	// usimIMSI is eapol_test's USIM, whose SQN is followed across the
	// restart; probeIMSI is the RADIUS probes' (their half-open
	// challenges advance its SQN, not the USIM's).
	const usimIMSI, probeIMSI = "001010000000093", "001010000000094"
	s := startServer(t, serverConfig{
		Subscribers: append([]subscriber{ts1Subscriber(usimIMSI, "000000000000"), ts1Subscriber(probeIMSI, "000000000000")}, benchSubs...),
		Methods:     []string{"aka-prime"},
		LogLevel:    "info",
		RedisAddr:   rds.Addr,
		KeyFile:     kek,
		// The load authenticates 256 USIMs far more often than phones do.
		HSSExtra:    []string{"vector_rate: 1000", "vector_burst: 1000"},
		RADIUSExtra: []string{"drop_log_interval: 1s"},
		Extra:       []string{"admin:", `  listen: "127.0.0.1:0"`},
	})
	adm := s.adminAddr(t)
	indBits := uint(aka.DefaultINDBits)

	// 1. Redis up.
	code, sum := runBench(t, bin, s, "--subscribers", benchCSV, "--count", "200", "--concurrency", "16", "--timeout", "500ms")
	if code != 0 || sum.OK != 200 {
		t.Fatalf("with Redis up: aaabench exit %d, ok %d, failures %v; want 200 ok", code, sum.OK, sum.Failures)
	}
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(usimIMSI),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"), Timeout: 5}), 1)
	// The baseline: aaad right after that load, all it needs with
	// Redis up (workers, pool connections) started.
	base := waitIdle(t, adm, time.Second)
	baseRSS := rssKiB(t, s)
	t.Logf("Redis up: goroutines %d, RSS %d KiB, heap in use %d KiB, redis pool %v", base.Goroutines, baseRSS, base.Mem.HeapInuse>>10, base.Pool)
	probe := dialProbe(t, s)

	// 2. Redis paused: a Redis that holds its connections and answers
	// nothing, which only timeouts end.
	t.Run("paused", func(t *testing.T) {
		rds.Pause()
		outage(t, s, adm, bin, benchCSV, probe, probeIMSI, base, baseRSS, nil, 0, maxCostPaused)
		rds.Resume()
		back := time.Now()
		waitService(t, probe, probeIMSI)
		t.Logf("Redis resumed: service back after %v", time.Since(back).Round(time.Millisecond))
	})
	if t.Failed() {
		return
	}

	// 3. Redis killed.
	// A conversation opened before the kill: its next message must get
	// no answer while Redis is away (its state is there), not an
	// EAP-Failure for an unknown conversation.
	open := probe.exchange(eapIdentityResponse(1, akaPrimeIdentity(probeIMSI)), nil, probeWait)
	if open.err != nil || open.answer == nil || open.answer.Code != radius.CodeAccessChallenge {
		t.Fatalf("with Redis up, an identity got %v (%v); want Access-Challenge", open.answer, open.err)
	}
	openID := open.answer.eap(t).ID
	sqnBefore := redisSQN(t, rds.Addr, usimIMSI, indBits)
	t.Run("killed", func(t *testing.T) {
		rds.Kill()
		outage(t, s, adm, bin, benchCSV, probe, probeIMSI, base, baseRSS, open.answer.State, openID, maxCostKilled)
	})
	if t.Failed() {
		return
	}

	// 4. Redis back on the same address and AOF directory.
	rds.Restart()
	back := time.Now()
	// Nothing acknowledged before the kill was lost (appendfsync always).
	if got := redisSQN(t, rds.Addr, usimIMSI, indBits); got != sqnBefore {
		t.Fatalf("SQN of %s after the restart %012x, before the kill %012x: the AOF lost or changed it", usimIMSI, uint64(got), uint64(sqnBefore))
	}
	waitService(t, probe, probeIMSI)
	t.Logf("Redis restarted: service back after %v, aaad untouched", time.Since(back).Round(time.Millisecond))
	// The USIM holds the highest SQN issued before the kill: it accepts
	// the next challenge only if that SQN is higher (else it sends
	// Synchronization-Failure, and aaad would resynchronise).
	r := s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(usimIMSI),
		Password: usimPassword(ts1K, ts1OPc, fmt.Sprintf("%012x", uint64(sqnBefore))), Timeout: 5})
	requireSuccess(t, r, 1)
	if r.Contains(syncFailureSent) || r.Contains(syncFailureAUTN) {
		t.Fatalf("after the restart the USIM holding SQN %012x saw an SQN not above it (it resynchronised):\n%s", uint64(sqnBefore), r.Output)
	}
	if got := redisSQN(t, rds.Addr, usimIMSI, indBits); got <= sqnBefore {
		t.Fatalf("SQN of %s %012x after a login after the restart; want above %012x", usimIMSI, uint64(got), uint64(sqnBefore))
	}
	code, sum = runBench(t, bin, s, "--subscribers", benchCSV, "--count", "200", "--concurrency", "16", "--timeout", "500ms")
	if code != 0 || sum.OK != 200 {
		t.Fatalf("after the restart: aaabench exit %d, ok %d, failures %v; want 200 ok", code, sum.OK, sum.Failures)
	}
	after := waitIdle(t, adm, time.Second)
	t.Logf("after the restart: goroutines %d (up: %d), RSS %d KiB (up: %d KiB), heap in use %d KiB (up: %d KiB), redis pool %v",
		after.Goroutines, base.Goroutines, rssKiB(t, s), baseRSS, after.Mem.HeapInuse>>10, base.Mem.HeapInuse>>10, after.Pool)
	if after.Goroutines > base.Goroutines+outageGoroutineSlack {
		t.Errorf("goroutines %d after the outages, %d before: they grew", after.Goroutines, base.Goroutines)
	}
}

// outage loads aaad while Redis is away (paused or killed) and checks what
// it does: no answer at all (on the wire and by its own counters), every
// request counted as a backend error and logged, each given up within
// maxCost, goroutines and RSS within bounds, and no request still in
// progress once the load stops. open is the State of a conversation opened
// before (and its EAP Identifier), or nil.
func outage(t *testing.T, s *server, adm string, bin, benchCSV string, probe *probeClient, probeIMSI string,
	base adminVars, baseRSS int64, open []byte, openID byte, maxCost time.Duration) {
	t.Helper()
	before := fetchVars(t, adm)
	logsBefore := len(strings.Split(s.log.String(), "\n"))
	smp := startSampler(adm, s.cmd.Process.Pid)

	// Probes that must get no answer: a new conversation, a message of
	// an unknown conversation (an EAP-Failure when the store answers
	// "not found"), and the next message of one opened before.
	type probeCase struct {
		name  string
		msg   []byte
		state []byte
	}
	cases := []probeCase{
		{"identity", eapIdentityResponse(2, akaPrimeIdentity(probeIMSI)), nil},
		{"unknown State", akaChallengeResponseBadMAC(eapTypeAKAPrime, 3), randomState(t)},
	}
	if open != nil {
		cases = append(cases, probeCase{"conversation opened before", akaChallengeResponseBadMAC(eapTypeAKAPrime, openID), open})
	}
	results := make([]probeResult, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			p, err := probe.clone()
			if err != nil {
				results[i] = probeResult{err: err}
				return
			}
			defer p.close()
			results[i] = p.exchange(c.msg, c.state, probeWait)
		})
	}
	load, rate := outageLoad, outageLoadRate
	if v := os.Getenv("AAA_OUTAGE_LOAD"); v != "" {
		load = v
	}
	if v := os.Getenv("AAA_OUTAGE_RATE"); v != "" {
		rate = v
	}
	code, sum := runBench(t, bin, s, "--subscribers", benchCSV, "--duration", load, "--rate", rate,
		"--concurrency", "256", "--timeout", "500ms", "--retries", "1")
	wg.Wait()
	for i, c := range cases {
		if r := results[i]; r.err != nil || r.answer != nil {
			t.Errorf("probe %q while Redis is away: got %v (%v); want no answer", c.name, r.answer, r.err)
		}
	}
	// aaabench: every authentication timed out; none was rejected.
	for reason, n := range sum.Failures {
		if reason != "timeout" {
			t.Errorf("aaabench while Redis is away: %d failures %q; want only timeouts (no answer)", n, reason)
		}
	}
	if code != 1 || sum.OK != 0 || sum.Failures["timeout"] == 0 {
		t.Errorf("aaabench while Redis is away: exit %d, ok %d, failures %v; want every authentication to time out", code, sum.OK, sum.Failures)
	}

	// No request stuck: with the load stopped, nothing is in progress
	// (each gave up by itself, Redis still away).
	idle := waitIdle(t, adm, 5*time.Second)
	smp.stop()
	// aaad's own counters: no answer of any kind went out, and every
	// request was dropped for the backend.
	for _, k := range []string{"access_accept", "access_reject", "access_challenge"} {
		if d := idle.Radius[k] - before.Radius[k]; d != 0 {
			t.Errorf("aaad sent %d %s while Redis was away; want none", d, k)
		}
	}
	requests := idle.Radius["requests"] - before.Radius["requests"]
	backend := idle.Radius["dropped_backend_error"] - before.Radius["dropped_backend_error"]
	inProgress := idle.Radius["dropped_duplicate_in_progress"] - before.Radius["dropped_duplicate_in_progress"]
	if backend == 0 || backend+inProgress != requests {
		t.Errorf("while Redis was away: %d requests, %d dropped for the backend, %d as duplicates in progress; want every request counted as one of them",
			requests, backend, inProgress)
	}
	// Logged: each failure (sampled) with what it cost, and the summary.
	lines := strings.Split(s.log.String(), "\n")[logsBefore:]
	failed := logEntries(lines, "eap request failed")
	if len(failed) == 0 {
		t.Errorf("no \"eap request failed\" in aaad's log while Redis was away")
	}
	elapsed := make([]float64, 0, len(failed))
	for _, e := range failed {
		if v, ok := e["elapsed"].(float64); ok {
			elapsed = append(elapsed, v*1000)
		}
	}
	sort.Float64s(elapsed)
	if len(elapsed) != len(failed) {
		t.Errorf("%d of %d \"eap request failed\" lines without elapsed", len(failed)-len(elapsed), len(failed))
	}
	if worst := pct(elapsed, 1); worst > float64(maxCost)/float64(time.Millisecond) {
		t.Errorf("a request cost aaad %.1f ms before it gave up; want at most %v", worst, maxCost)
	}
	summary := dropSummary(t, s, logsBefore, "backend_error")
	t.Logf("while Redis was away: %d requests, %d dropped (backend_error), %d duplicates in progress; aaabench %d timeouts; "+
		"cost of a request until aaad gave up (ms, %d logged): p50 %.1f, p99 %.1f, max %.1f; drop summary %v",
		requests, backend, inProgress, sum.Failures["timeout"], len(elapsed),
		pct(elapsed, 0.5), pct(elapsed, 0.99), pct(elapsed, 1), summary)
	t.Logf("goroutines: up %d, during max %d, after the load %d; RSS KiB: up %d, during max %d; heap in use KiB: up %d, during max %d; redis pool %v",
		base.Goroutines, smp.maxGoroutines, idle.Goroutines, baseRSS, smp.maxRSS, base.Mem.HeapInuse>>10, smp.maxHeap>>10, idle.Pool)
	if smp.err != nil {
		t.Errorf("sampling aaad: %v", smp.err)
	}
	if smp.maxGoroutines > base.Goroutines+outageGoroutineSlack {
		t.Errorf("goroutines reached %d while Redis was away, %d with it up: more than +%d", smp.maxGoroutines, base.Goroutines, outageGoroutineSlack)
	}
	if smp.maxRSS > baseRSS+outageRSSSlackMiB<<10 {
		t.Errorf("RSS reached %d KiB while Redis was away, %d KiB with it up: more than +%d MiB", smp.maxRSS, baseRSS, outageRSSSlackMiB)
	}
}

func pct(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// dropSummary waits for a periodic "radius requests dropped" line after
// the first skip lines of the log that counts reason (drop_log_interval
// 1s) and returns its fields.
func dropSummary(t *testing.T, s *server, skip int, reason string) map[string]any {
	t.Helper()
	var found map[string]any
	s.log.waitFor(t, "drop summary with "+reason, 5*time.Second, func(lines []string) bool {
		for _, e := range logEntries(lines[min(skip, len(lines)):], "radius requests dropped") {
			if strings.Contains(fmt.Sprint(e), reason) {
				found = e
			}
		}
		return found != nil
	})
	delete(found, "ts")
	delete(found, "level")
	delete(found, "logger")
	delete(found, "caller")
	return found
}

// waitService waits until aaad answers a new conversation again (with
// Redis back), polling with a probe; it fails the test at
// recoveryDeadline.
func waitService(t *testing.T, probe *probeClient, imsi string) {
	t.Helper()
	deadline := time.Now().Add(recoveryDeadline)
	var last probeResult
	for time.Now().Before(deadline) {
		last = probe.exchange(eapIdentityResponse(2, akaPrimeIdentity(imsi)), nil, 250*time.Millisecond)
		if last.err == nil && last.answer != nil {
			if last.answer.Code != radius.CodeAccessChallenge {
				t.Fatalf("with Redis back, an identity got %v; want Access-Challenge", last.answer)
			}
			return
		}
	}
	t.Fatalf("aaad did not serve again within %v of Redis coming back (last probe: %v, %v)", recoveryDeadline, last.answer, last.err)
}

// redisSQN reads the last SQN issued to imsi from Redis, through a client
// of its own.
func redisSQN(t *testing.T, addr, imsi string, indBits uint) aka.SQN {
	t.Helper()
	cfg := redisstore.Config{Addrs: []string{addr}}
	cfg.SetDefaults()
	cfg.Timeout = 2 * time.Second
	rdb := redisstore.NewClient(cfg)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sqn, err := redisstore.NewSubscriberStore(rdb, cfg.Prefix).SQN(ctx, imsi, indBits)
	if err != nil {
		t.Fatalf("SQN of %s in Redis: %v", imsi, err)
	}
	return sqn
}

// ---------------------------------------------------------------------------
// aaad's counters, goroutines and RSS

// adminAddr is where aaad serves /debug/vars (admin.listen 127.0.0.1:0).
func (s *server) adminAddr(t *testing.T) string {
	t.Helper()
	e := s.waitLogEntries(t, "admin listening", 1)
	addr, _ := e[0]["addr"].(string)
	if addr == "" {
		t.Fatalf("admin listening without an addr: %v", e[0])
	}
	return addr
}

type adminVars struct {
	Goroutines int               `json:"goroutines"`
	Radius     map[string]uint64 `json:"radius"`
	Pool       map[string]uint64 `json:"redis_pool"`
	Mem        struct {
		HeapInuse uint64 `json:"HeapInuse"`
	} `json:"memstats"`
}

var adminHTTP = &http.Client{Timeout: 2 * time.Second}

func getVars(addr string) (adminVars, error) {
	var v adminVars
	resp, err := adminHTTP.Get("http://" + addr + "/debug/vars")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("/debug/vars: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("/debug/vars: %w", err)
	}
	if v.Goroutines == 0 || v.Radius == nil {
		return v, errors.New("/debug/vars: no goroutines or radius counters")
	}
	return v, nil
}

func fetchVars(t *testing.T, addr string) adminVars {
	t.Helper()
	v, err := getVars(addr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitIdle waits until aaad has no request in progress and returns its
// counters then; it fails the test at the deadline (a stuck request).
func waitIdle(t *testing.T, addr string, within time.Duration) adminVars {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := fetchVars(t, addr)
		if v.Radius["in_flight"] == 0 {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in progress %v after the load stopped: stuck", v.Radius["in_flight"], within)
		}
		time.Sleep(20 * time.Millisecond) // polling a counter, against a deadline
	}
}

// rssKiB is aaad's resident set size.
func rssKiB(t *testing.T, s *server) int64 {
	t.Helper()
	n, err := readRSS(s.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// sampler reads aaad's goroutines and RSS every 50 ms until stopped.
type sampler struct {
	quit, done    chan struct{}
	maxGoroutines int
	maxRSS        int64
	maxHeap       uint64
	err           error
}

func startSampler(adm string, pid int) *sampler {
	s := &sampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			v, err := getVars(adm)
			if err != nil {
				s.err = err
				return
			}
			s.maxGoroutines = max(s.maxGoroutines, v.Goroutines)
			s.maxHeap = max(s.maxHeap, v.Mem.HeapInuse)
			if rss, err := readRSS(pid); err == nil {
				s.maxRSS = max(s.maxRSS, rss)
			}
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() {
	close(s.quit)
	<-s.done
}

// ---------------------------------------------------------------------------
// RADIUS probes

// probeClient is an access point of the lab client (127.0.0.1) that sends
// one request and waits a given time for its answer, without failing the
// test itself (it runs beside aaabench).
type probeClient struct {
	conn   *net.UDPConn
	secret []byte
	server *net.UDPAddr
	nextID byte
}

type probeResult struct {
	answer *radiusAnswer // nil: no answer within the wait
	err    error
}

func dialProbe(t *testing.T, s *server) *probeClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &probeClient{secret: []byte(s.Secret), server: raddr}
	if p.conn, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, raddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// clone is another access point (socket) of the same client.
func (p *probeClient) clone() (*probeClient, error) {
	c := &probeClient{secret: p.secret, server: p.server}
	var err error
	c.conn, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, p.server)
	return c, err
}

func (p *probeClient) close() { p.conn.Close() }

// exchange sends an Access-Request with msg (and state) and returns the
// checked answer, or none after wait.
func (p *probeClient) exchange(msg, state []byte, wait time.Duration) probeResult {
	id := p.nextID
	p.nextID++
	req, err := newAccessRequest(p.secret, id, "", msg, state)
	if err != nil {
		return probeResult{err: err}
	}
	if _, err := p.conn.Write(req); err != nil {
		return probeResult{err: err}
	}
	buf := make([]byte, radius.MaxPacketLength)
	deadline := time.Now().Add(wait)
	for {
		p.conn.SetReadDeadline(deadline)
		n, err := p.conn.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return probeResult{}
		}
		if err != nil {
			return probeResult{err: err}
		}
		if n < radiusHeaderLen || buf[1] != id {
			continue // a late answer to an earlier request
		}
		resp := bytes.Clone(buf[:n])
		if err := checkAnswer(resp, req[4:radiusHeaderLen], p.secret); err != nil {
			return probeResult{err: err}
		}
		a, err := parseAnswer(resp, p.secret)
		if err != nil {
			return probeResult{err: err}
		}
		return probeResult{answer: &a}
	}
}
