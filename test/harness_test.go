// Package test holds the integration tests: they start the real aaad binary and
// drive it with the real eapol_test peer (wpa_supplicant's, built with the USIM
// simulator by scripts/install-test-deps.sh).
package test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout    = 20 * time.Second
	shutdownTimeout = 10 * time.Second
	eapolRunTimeout = 60 * time.Second
	checkTimeout    = 30 * time.Second

	// readyMsg is the "msg" of the JSON log line aaad writes once it serves RADIUS.
	readyMsg = "radius server listening"

	defaultSecret = "testing123"
	realm         = "wlan.mnc001.mcc001.3gppnetwork.org"

	// 3GPP TS 35.208 test set 1.
	ts1K   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	ts1OPc = "cd63cb71954a9f4e48a5994e37a02baf"
	ts1AMF = "8000"
)

var (
	moduleRoot   string // directory holding go.mod
	aaadPath     string // the aaad binary under test
	aaactlPath   string // aaactl, built beside it
	aaabenchPath string // and aaabench
	setupErr     error  // why moduleRoot/aaadPath could not be had
)

// TestMain builds aaad once per test binary. AAA_AAAD may name a prebuilt
// binary instead. A build failure is reported by every test that needs it.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "aaa-itest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test: cannot create temp dir:", err)
		os.Exit(2)
	}
	moduleRoot, setupErr = findModuleRoot()
	if setupErr == nil {
		if p := os.Getenv("AAA_AAAD"); p != "" {
			aaadPath = p
		} else {
			aaadPath = filepath.Join(tmp, "aaad")
			setupErr = buildAAAD(moduleRoot, aaadPath)
		}
		if setupErr == nil {
			aaactlPath = filepath.Join(tmp, "aaactl")
			setupErr = buildTool(moduleRoot, "cmd/aaactl", aaactlPath)
		}
		if setupErr == nil {
			aaabenchPath = filepath.Join(tmp, "aaabench")
			setupErr = buildTool(moduleRoot, "cmd/aaabench", aaabenchPath)
		}
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func findModuleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

func buildAAAD(root, out string) error { return buildTool(root, "cmd/aaad", out) }

func buildTool(root, pkg, out string) error {
	cmd := exec.Command(goTool(), "build", "-o", out, "github.com/aaa-project/aaa/"+pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build github.com/aaa-project/aaa/%s: %v\n%s", pkg, err, b)
	}
	return nil
}

func requireAAAD(t *testing.T) string {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("cannot build the server under test: %v", setupErr)
	}
	return aaadPath
}

// eapolTestPath finds the USIM-capable eapol_test: $AAA_EAPOL_TEST, else the
// cache of scripts/install-test-deps.sh. Never skips: a missing peer fails.
func eapolTestPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AAA_EAPOL_TEST"); p != "" {
		if isExecutable(p) {
			return p
		}
		t.Fatalf("AAA_EAPOL_TEST=%q is not an executable file; run scripts/install-test-deps.sh (or `make test`)", p)
	}
	cache := os.Getenv("AAA_TEST_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				t.Fatalf("no AAA_EAPOL_TEST and no home directory to find the eapol_test cache: %v; run scripts/install-test-deps.sh", err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "aaa-test")
	}
	p := filepath.Join(cache, "bin", "eapol_test")
	if !isExecutable(p) {
		t.Fatalf("eapol_test with the USIM simulator not found (AAA_EAPOL_TEST unset, %s missing): "+
			"run scripts/install-test-deps.sh (or use `make test`, which does)", p)
	}
	return p
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// ---------------------------------------------------------------------------
// Server

type subscriber struct {
	IMSI, K, OPc, AMF, SQN string // hex, as in the subscribers CSV
}

// ts1Subscriber is a subscriber with the TS 35.208 test set 1 K/OPc and AMF 8000.
func ts1Subscriber(imsi, sqn string) subscriber {
	return subscriber{IMSI: imsi, K: ts1K, OPc: ts1OPc, AMF: ts1AMF, SQN: sqn}
}

type serverConfig struct {
	Subscribers []subscriber
	Methods     []string // eap.methods; default [aka-prime, aka]
	NetworkName string   // eap.network_name; default WLAN
	Secret      string   // RADIUS shared secret of the "lab" client; default testing123
	LogLevel    string   // default debug
	// EAPExtra is YAML added under eap:, each line indented by two
	// spaces (e.g. "fast_reauth: {enabled: false}").
	EAPExtra []string
	// RADIUSExtra is YAML added under radius:, indented the same way.
	RADIUSExtra []string
	// Clients are RADIUS clients added after "lab" (127.0.0.0/8): a /32
	// inside it is more specific and wins for that source address.
	Clients []clientEntry
	// RedisAddr, when set, makes the store Redis at that address (or
	// socket); KeyFile is hss.key_file.
	RedisAddr string
	KeyFile   string
	// RedisAddrs are more store.redis.addrs after RedisAddr: with it,
	// the seeds of a Redis Cluster.
	RedisAddrs []string
	// RedisMasterName is store.redis.master_name: with it, RedisAddr
	// (and RedisAddrs) are Sentinels.
	RedisMasterName string
	// HSSExtra is YAML added under hss:, indented as EAPExtra's.
	HSSExtra []string
	// Extra is YAML added at the top level (e.g. an admin section).
	Extra []string
	// LabDAS is the lab client's das: where Disconnect-Requests for its
	// sessions go (ip:port).
	LabDAS string
	// HSS replaces the whole hss section (its lines, indented by two
	// spaces), for a node whose vectors come over SWx.
	HSS []string
}

// clientEntry is one more entry of radius.clients.
type clientEntry struct {
	Name, Address, Secret string
}

type server struct {
	Addr    string // 127.0.0.1:PORT, from the readiness log line
	CfgPath string // the configuration file it runs with (a reload reads it again)
	Host    string
	Port    int
	Secret  string

	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed once stderr hit EOF and the process was waited for
	werr error         // cmd.Wait's result; read only after done is closed
	// stopped: the test stopped it already (stopNode).
	stopped bool
}

// logBuffer keeps every line the server printed, for failure reports and
// for tests that wait for a log line.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
}

// waitFor returns the lines once match(lines) is true, or fails the test
// at the deadline. It wakes on every new line: no polling, no sleep.
func (b *logBuffer) waitFor(t *testing.T, what string, timeout time.Duration, match func([]string) bool) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		lines := append([]string(nil), b.lines...)
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		if match(lines) {
			return lines
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %s in the server log within %s:\n%s", what, timeout, strings.Join(lines, "\n"))
		}
	}
}

// logEntries returns the server's JSON log entries whose msg is msg.
func logEntries(lines []string, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// waitLogEntries waits until the server has logged n entries with msg.
func (s *server) waitLogEntries(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	lines := s.log.waitFor(t, fmt.Sprintf("%d %q entries", n, msg), 10*time.Second, func(ls []string) bool {
		return len(logEntries(ls, msg)) >= n
	})
	return logEntries(lines, msg)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// lineWriter feeds a byte stream (the server's stdout) into the buffer by lines.
type lineWriter struct {
	buf    *logBuffer
	prefix string
	mu     sync.Mutex
	part   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := strings.IndexByte(string(w.part), '\n')
		if i < 0 {
			break
		}
		w.buf.add(w.prefix + string(w.part[:i]))
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.part) > 0 {
		w.buf.add(w.prefix + string(w.part))
		w.part = nil
	}
}

// yamlString quotes s as a YAML double-quoted scalar (Go's escapes are valid
// YAML escapes for the strings used here).
func yamlString(s string) string { return strconv.Quote(s) }

func (c serverConfig) yaml(subscribersCSV string) string {
	methods := c.Methods
	if len(methods) == 0 {
		methods = []string{"aka-prime", "aka"}
	}
	quoted := make([]string, len(methods))
	for i, m := range methods {
		quoted[i] = yamlString(m)
	}
	network := c.NetworkName
	if network == "" {
		network = "WLAN"
	}
	level := c.LogLevel
	if level == "" {
		level = "debug"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "log:\n  level: %s\n", yamlString(level))
	fmt.Fprintf(&b, "radius:\n  listen: %s\n  clients:\n", yamlString("127.0.0.1:0"))
	fmt.Fprintf(&b, "    - name: lab\n      address: %s\n      secret: %s\n", yamlString("127.0.0.0/8"), yamlString(c.secret()))
	if c.LabDAS != "" {
		fmt.Fprintf(&b, "      das: %s\n", yamlString(c.LabDAS))
	}
	for _, cl := range c.Clients {
		fmt.Fprintf(&b, "    - name: %s\n      address: %s\n      secret: %s\n", yamlString(cl.Name), yamlString(cl.Address), yamlString(cl.Secret))
	}
	for _, l := range c.RADIUSExtra {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "eap:\n  methods: [%s]\n  network_name: %s\n", strings.Join(quoted, ", "), yamlString(network))
	for _, l := range c.EAPExtra {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if c.HSS != nil {
		b.WriteString("hss:\n")
		for _, l := range c.HSS {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	} else {
		fmt.Fprintf(&b, "hss:\n  backend: local\n  subscribers: %s\n", yamlString(subscribersCSV))
	}
	if c.KeyFile != "" && c.HSS == nil {
		fmt.Fprintf(&b, "  key_file: %s\n", yamlString(c.KeyFile))
	}
	for _, l := range c.HSSExtra {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if c.RedisAddr != "" {
		addrs := []string{yamlString(c.RedisAddr)}
		for _, a := range c.RedisAddrs {
			addrs = append(addrs, yamlString(a))
		}
		fmt.Fprintf(&b, "store:\n  backend: redis\n  redis:\n    addrs: [%s]\n", strings.Join(addrs, ", "))
		if c.RedisMasterName != "" {
			fmt.Fprintf(&b, "    master_name: %s\n", yamlString(c.RedisMasterName))
		}
	} else {
		fmt.Fprintf(&b, "store:\n  backend: memory\n")
	}
	for _, l := range c.Extra {
		fmt.Fprintf(&b, "%s\n", l)
	}
	return b.String()
}

func (c serverConfig) secret() string {
	if c.Secret == "" {
		return defaultSecret
	}
	return c.Secret
}

func subscribersCSV(subs []subscriber) string {
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	for _, s := range subs {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", s.IMSI, s.K, s.OPc, s.AMF, s.SQN)
	}
	return b.String()
}

// writeServerFiles writes the subscribers CSV and the YAML config into dir and
// returns the config's path.
func writeServerFiles(t *testing.T, dir string, cfg serverConfig) string {
	t.Helper()
	csvPath := filepath.Join(dir, "subscribers.csv")
	if err := os.WriteFile(csvPath, []byte(subscribersCSV(cfg.Subscribers)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "aaad.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml(csvPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// startServer starts aaad with cfg and returns once it logged readiness. Its
// t.Cleanup stops it with SIGTERM and requires a clean exit (status 0) within
// shutdownTimeout; the server log is dumped whenever the test failed.
func startServer(t *testing.T, cfg serverConfig) *server {
	t.Helper()
	cfgPath := writeServerFiles(t, t.TempDir(), cfg)
	s := startWith(t, cfgPath, readyMsg)
	s.Secret = cfg.secret()
	return s
}

// startWith starts aaad on the configuration file cfgPath and returns once
// it logged ready (a JSON line whose msg is ready, with an addr).
func startWith(t *testing.T, cfgPath, ready string) *server {
	t.Helper()
	bin := requireAAAD(t)
	s := &server{
		CfgPath: cfgPath,
		log:     &logBuffer{},
		done:    make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "--config", cfgPath)
	s.cmd.Dir = moduleRoot
	s.cmd.SysProcAttr = serverProcAttr() // own process group; dies with the test
	stdout := &lineWriter{buf: s.log, prefix: "stdout: "}
	s.cmd.Stdout = stdout
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}

	readyCh := make(chan string, 1)
	go func() {
		readLines(stderr, s.log, readyCh, ready)
		s.werr = s.cmd.Wait() // only after all reads from the pipe are done
		stdout.flush()
		close(s.done)
	}()

	t.Cleanup(func() { s.stop(t) })

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	select {
	case addr := <-readyCh:
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("readiness line has a bad addr %q: %v", addr, err)
		}
		s.Addr, s.Host = addr, host
		if s.Port, err = strconv.Atoi(port); err != nil || s.Port <= 0 {
			t.Fatalf("readiness line has a bad port in addr %q", addr)
		}
	case <-s.done:
		t.Fatalf("aaad exited before it was ready (%v)", s.werr)
	case <-ctx.Done():
		t.Fatalf("aaad did not log %q with an addr within %v", ready, readyTimeout)
	}
	return s
}

// readLines copies r into buf line by line and sends the addr of the first
// readiness line on ready.
func readLines(r io.Reader, buf *logBuffer, ready chan<- string, readyMsg string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		buf.add(line)
		if signalled {
			continue
		}
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == readyMsg && entry.Addr != "" {
			ready <- entry.Addr
			signalled = true
		}
	}
	if err := sc.Err(); err != nil {
		buf.add("test harness: reading stderr: " + err.Error())
		io.Copy(io.Discard, r) // keep draining so the server never blocks on stderr
	}
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	exited := false
	select {
	case <-s.done:
		exited = true // it stopped by itself: that is a failure too
		t.Errorf("aaad exited before the test stopped it: %v", s.werr)
	default:
	}
	if !exited {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM to aaad: %v", err)
		}
		timer := time.NewTimer(shutdownTimeout)
		select {
		case <-s.done:
			timer.Stop()
			if s.werr != nil {
				t.Errorf("aaad did not exit cleanly after SIGTERM: %v (want exit status 0)", s.werr)
			}
		case <-timer.C:
			// Kill the whole group, so that no child keeps stderr open.
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			t.Errorf("aaad did not exit within %v of SIGTERM; killed", shutdownTimeout)
			reaped := time.NewTimer(shutdownTimeout)
			select {
			case <-s.done:
				reaped.Stop()
			case <-reaped.C:
				t.Errorf("aaad's stderr still open %v after SIGKILL to its process group", shutdownTimeout)
			}
		}
	}
	if t.Failed() {
		t.Logf("aaad log (%s):\n%s", s.cmd, s.log)
	}
}

// ---------------------------------------------------------------------------
// Peer

type peerConfig struct {
	Method            string // "AKA" or "AKA'"
	Identity          string
	AnonymousIdentity string // optional outer identity
	Phase1            string // optional, e.g. "result_ind=1"
	Password          string // "K:OPc:SQN", see usimPassword
	Reauths           int    // eapol_test -r: re-authentications after the first
	Timeout           int    // eapol_test -t, seconds for the whole run; default 10
	ClientIP          string // eapol_test -A: the source address (another RADIUS client)
	Secret            string // eapol_test -s; default the server's lab secret
}

func usimPassword(k, opc, sqn string) string { return k + ":" + opc + ":" + sqn }

func akaPrimeIdentity(imsi string) string { return "6" + imsi + "@" + realm }
func akaIdentity(imsi string) string      { return "0" + imsi + "@" + realm }

type eapolResult struct {
	ExitCode int
	Output   string // stdout and stderr
	Args     []string
}

// eapolTest runs eapol_test against the server with a network block built from p.
func (s *server) eapolTest(t *testing.T, p peerConfig) eapolResult {
	t.Helper()
	bin := eapolTestPath(t)

	var conf strings.Builder
	conf.WriteString("network={\n\tssid=\"test\"\n\tkey_mgmt=WPA-EAP\n")
	fmt.Fprintf(&conf, "\teap=%s\n", p.Method)
	fmt.Fprintf(&conf, "\tidentity=%q\n", p.Identity)
	if p.AnonymousIdentity != "" {
		fmt.Fprintf(&conf, "\tanonymous_identity=%q\n", p.AnonymousIdentity)
	}
	if p.Phase1 != "" {
		fmt.Fprintf(&conf, "\tphase1=%q\n", p.Phase1)
	}
	fmt.Fprintf(&conf, "\tpassword=%q\n", p.Password)
	conf.WriteString("}\n")
	confPath := filepath.Join(t.TempDir(), "eapol_test.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10
	}
	secret := s.Secret
	if p.Secret != "" {
		secret = p.Secret
	}
	args := []string{"-c", confPath, "-a", s.Host, "-p", strconv.Itoa(s.Port), "-s", secret, "-t", strconv.Itoa(timeout)}
	if p.ClientIP != "" {
		args = append(args, "-A", p.ClientIP)
	}
	if p.Reauths > 0 {
		args = append(args, "-r", strconv.Itoa(p.Reauths))
	}

	ctx, cancel := context.WithTimeout(context.Background(), eapolRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	res := eapolResult{Output: string(out), Args: args}
	if ctx.Err() != nil {
		t.Fatalf("eapol_test %v did not finish within %v\n%s", args, eapolRunTimeout, out)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run eapol_test: %v", err)
	}
	return res
}

// eapol_test exit codes (main() in wpa_supplicant/eapol_test.c returns -N).
// Without -n every failed run also counts an MPPE mismatch, and the mismatch
// check comes last, so a timeout (-2) or an Access-Reject (-3) exits 252 (-4)
// as well: the exit code alone does not tell failures apart, the output does.
func exitCodeMeaning(code int) string {
	switch code {
	case 0:
		return "SUCCESS: Access-Accept with MPPE keys matching the peer's MSK"
	case 252:
		return "FAILURE: reject, timeout or MPPE key mismatch/missing"
	case 255:
		return "setup error, e.g. bad config file"
	}
	return "unexpected"
}

// "MPPE keys OK: %d  mismatch: %d\n" (two spaces), printed at the end of main().
var mppeRE = regexp.MustCompile(`(?m)^MPPE keys OK: (\d+)  mismatch: (\d+)$`)

// MPPE returns the counts of the final "MPPE keys OK: N  mismatch: M" line.
func (r eapolResult) MPPE() (ok, mismatch int, found bool) {
	m := mppeRE.FindAllStringSubmatch(r.Output, -1)
	if len(m) == 0 {
		return 0, 0, false
	}
	last := m[len(m)-1]
	ok, _ = strconv.Atoi(last[1])
	mismatch, _ = strconv.Atoi(last[2])
	return ok, mismatch, true
}

// Success: exit status 0 and the closing "SUCCESS" line.
func (r eapolResult) Success() bool {
	return r.ExitCode == 0 && r.hasLine("SUCCESS")
}

func (r eapolResult) hasLine(line string) bool {
	for _, l := range strings.Split(r.Output, "\n") {
		if strings.TrimRight(l, "\r") == line {
			return true
		}
	}
	return false
}

func (r eapolResult) Contains(s string) bool { return strings.Contains(r.Output, s) }

func (r eapolResult) Count(s string) int { return strings.Count(r.Output, s) }

func (r eapolResult) summary() string {
	return fmt.Sprintf("eapol_test %s: exit %d (%s)", strings.Join(r.Args, " "), r.ExitCode, exitCodeMeaning(r.ExitCode))
}

// requireSuccess fails unless eapol_test succeeded with want authentications
// whose MPPE keys all matched.
func requireSuccess(t *testing.T, r eapolResult, want int) {
	t.Helper()
	ok, mismatch, found := r.MPPE()
	if r.Success() && found && ok == want && mismatch == 0 {
		return
	}
	t.Fatalf("%s; want SUCCESS and \"MPPE keys OK: %d  mismatch: 0\", got found=%v ok=%d mismatch=%d\n--- eapol_test output:\n%s",
		r.summary(), want, found, ok, mismatch, r.Output)
}

// requireReject fails unless eapol_test failed on an Access-Reject carrying an
// EAP-Failure that the peer accepted.
func requireReject(t *testing.T, r eapolResult) {
	t.Helper()
	var problems []string
	if r.ExitCode == 0 || r.hasLine("SUCCESS") {
		problems = append(problems, "authentication succeeded")
	}
	if !r.hasLine("FAILURE") {
		problems = append(problems, "no closing FAILURE line")
	}
	if !r.Contains(accessRejectDump) {
		problems = append(problems, "no Access-Reject received")
	}
	if !r.Contains(eapFailureRecv) {
		problems = append(problems, "no EAP-Failure in the Access-Reject")
	} else if !r.Contains(eapFailureEvent) {
		// eap.c enters FAILURE only if the EAP-Failure's Identifier
		// matches the last request's ("EAP: EAP-Success Id mismatch").
		problems = append(problems, "the peer discarded the EAP-Failure (wrong EAP Identifier?)")
	}
	if len(problems) > 0 {
		t.Fatalf("%s; want Access-Reject with EAP-Failure: %s\n--- eapol_test output:\n%s",
			r.summary(), strings.Join(problems, "; "), r.Output)
	}
}

// Lines eapol_test (wpa_supplicant 2.10) prints, with where they come from.
const (
	// src/radius/radius.c radius_msg_dump(), called by radius_client.c on
	// receipt since eapol_test sets msg_dumps = 1.
	accessRejectDump = "RADIUS message: code=3 (Access-Reject)"
	accessAcceptDump = "RADIUS message: code=2 (Access-Accept)"
	// src/eap_peer/eap.c eap_sm_parseEapReq().
	eapFailureRecv = "EAP: Received EAP-Failure"
	// src/eap_peer/eap.c SM_STATE(EAP, FAILURE): WPA_EVENT_EAP_FAILURE
	// "EAP authentication failed".
	eapFailureEvent = "CTRL-EVENT-EAP-FAILURE"
	// src/eap_peer/eap_aka.c eap_aka_synchronization_failure().
	syncFailureSent = "Generating EAP-AKA Synchronization-Failure"
	// src/eap_peer/eap_aka.c eap_aka_process_challenge(), milenage_check() == -2.
	syncFailureAUTN = "EAP-AKA: UMTS authentication failed (AUTN seq# -> AUTS)"
	// src/eap_peer/eap_aka.c eap_aka_authentication_reject().
	authRejectSent = "Generating EAP-AKA Authentication-Reject"
	// src/crypto/milenage.c milenage_check().
	milenageMACMismatch = "Milenage: MAC mismatch"
	// src/eap_peer/eap_aka.c eap_aka_process_identity() and eap_aka_response_identity().
	akaIdentityRequest  = "EAP-AKA: subtype Identity"
	akaIdentityResponse = "Generating EAP-AKA Identity"
	// src/eap_peer/eap.c eap_sm_buildIdentity().
	eapAnonymousIdentity = "EAP: using anonymous identity"
)
