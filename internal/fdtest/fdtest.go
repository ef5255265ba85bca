// Package fdtest starts a real freeDiameterd (Debian's freediameterd,
// 1.2.1) for a test, as a Diameter relay on loopback: TCP only, no TLS
// (SecPort 0), peers admitted in clear by the acl_wl extension, and
// outgoing connections to configured peers. Its configuration is written in
// the test's own directory; it runs in the foreground, logging to a pipe the
// helper reads, and is killed when the test ends. Start waits for its
// readiness line and then for its port to accept a connection, never a
// sleep. A missing freeDiameterd or acl_wl.fdx fails the test
// (scripts/install-test-deps.sh installs both).
//
// What freeDiameterd 1.2.1 does that a test must allow for:
//   - It binds its port on every address of the machine, whatever ListenOn
//     says, and listens only some time after it logs that it started: Start
//     waits for a TCP connect to 127.0.0.1 to succeed.
//   - A peer that is not in AllowedHosts gets a CEA with Result-Code 3010
//     (DIAMETER_UNKNOWN_PEER), and the connection is closed.
//   - A CER from an identity whose previous connection has just closed may
//     be discarded (no CEA) or refused (3010) while freeDiameterd still
//     tears the old one down, even after it logged the peer's ZOMBIE state:
//     a test connects as a given identity once, or retries.
//   - Its connection to a ConnectPeers peer is usually made at once, but now
//     and then only after a random delay of up to 4 s (see ConnectPeers).
//   - It logs a peer's STATE_OPEN just before it adds the peer to the peers
//     it routes to: a request relayed to it at once may get Result-Code 3002
//     (DIAMETER_UNABLE_TO_DELIVER) from the relay itself, to be retried.
package fdtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// readyLine is what freeDiameterd logs once fd_core_start has
	// returned: its server sockets are bound (a bind error aborts
	// fd_core_start before it), but they listen only once their server
	// threads have run, so Start then waits for a TCP connect to succeed.
	readyLine = "freeDiameterd daemon initialized."
	// connectPoll is how often Start tries to connect while waiting for
	// freeDiameterd to listen.
	connectPoll = 5 * time.Millisecond
	// bindError is in its log when its port was taken (it then exits).
	bindError = "Address already in use"
	// readyTimeout bounds the wait for readyLine.
	readyTimeout = 20 * time.Second
	// bindAttempts: a free port picked here may be taken by another
	// process before freeDiameterd binds it; it is then started again on
	// another port.
	bindAttempts = 5
)

// ExtensionDirs are where freeDiameter extensions (.fdx) are looked for:
// Debian's freediameter-extensions installs them in /usr/lib/freeDiameter.
var ExtensionDirs = []string{
	"/usr/lib/freeDiameter",
	"/usr/lib/x86_64-linux-gnu/freeDiameter",
	"/usr/lib/aarch64-linux-gnu/freeDiameter",
	"/usr/local/lib/freeDiameter",
}

// Peer is a Diameter peer that freeDiameterd connects to (ConnectPeer), in
// clear over TCP on 127.0.0.1.
type Peer struct {
	// Host is its Diameter identity; its CEA must carry it as Origin-Host.
	Host string
	// Port is its TCP port on 127.0.0.1.
	Port int
}

// Config is what Start writes into freeDiameterd.conf.
type Config struct {
	// Identity is freeDiameterd's Diameter identity (Origin-Host);
	// "relay.test" if empty.
	Identity string
	// Realm is its realm (Origin-Realm); "test" if empty.
	Realm string
	// Port is its TCP port; 0 picks a free one. freeDiameterd binds it on
	// every address of the machine whatever ListenOn says, so it must be
	// free on all of them.
	Port int
	// AllowedHosts are the Diameter identities that may connect to it
	// without TLS (acl_wl's ALLOW_IPSEC): a CER from any other host is
	// refused.
	AllowedHosts []string
	// ConnectPeers are the peers it connects to, in clear over TCP. They
	// must listen before Start, and Relay.WaitPeerOpen waits for the
	// connection: freeDiameterd 1.2.1 connects at once, except now and
	// then (a race between its start and its peer state machines' threads)
	// after a random delay of up to 4 s. It retries every TcTimer.
	ConnectPeers []Peer
	// TcTimer is its reconnection timer (seconds) towards ConnectPeers;
	// 0 keeps freeDiameterd's default (30 s).
	TcTimer int
	// Debug passes -d: a more verbose log (CER/CEA and other messages
	// dumped), shown by Log and when the test fails.
	Debug bool
}

// Relay is a running freeDiameterd.
type Relay struct {
	// Identity and Realm are its Diameter identity and realm.
	Identity, Realm string
	// Port is its TCP port, and Addr 127.0.0.1:Port.
	Port int
	Addr string
	// ConfigFile is the freeDiameterd.conf it runs with.
	ConfigFile string

	log *logBuffer
}

// Log returns what freeDiameterd has logged so far.
func (r *Relay) Log() string { return r.log.String() }

// WaitLog waits until freeDiameterd has logged a line containing substr,
// and fails the test if it does not within timeout.
func (r *Relay) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	if !r.log.wait(substr, timeout) {
		t.Fatalf("freeDiameterd did not log %q within %v; its log:\n%s", substr, timeout, r.Log())
	}
}

// WaitPeerOpen waits until freeDiameterd has had an open connection with
// the peer host (its peer state machine logged "-> 'STATE_OPEN' 'host'"),
// and fails the test if it has not within timeout. Like WaitLog it looks at
// the whole log, earlier connections included.
func (r *Relay) WaitPeerOpen(t testing.TB, host string, timeout time.Duration) {
	t.Helper()
	quoted := "'" + host + "'"
	if !r.log.waitFunc(func(line string) bool {
		return strings.Contains(line, "-> 'STATE_OPEN'") && strings.HasSuffix(strings.TrimSpace(line), quoted)
	}, timeout) {
		t.Fatalf("freeDiameterd's connection with %s not open within %v; its log:\n%s", host, timeout, r.Log())
	}
}

// Start starts freeDiameterd for t with cfg and returns once it listens.
func Start(t testing.TB, cfg Config) *Relay {
	t.Helper()
	bin, err := exec.LookPath("freeDiameterd")
	if err != nil {
		t.Fatalf("freeDiameterd not found (%v): run scripts/install-test-deps.sh (make test does; Debian's freediameterd)", err)
	}
	aclWL, err := findExtension("acl_wl.fdx")
	if err != nil {
		t.Fatalf("%v: run scripts/install-test-deps.sh (make test does; Debian's freediameter-extensions)", err)
	}
	if cfg.Identity == "" {
		cfg.Identity = "relay.test"
	}
	if cfg.Realm == "" {
		cfg.Realm = "test"
	}
	dir := t.TempDir()
	aclFile := filepath.Join(dir, "acl_wl.conf")
	var acl strings.Builder
	for _, h := range cfg.AllowedHosts {
		fmt.Fprintf(&acl, "ALLOW_IPSEC %s\n", h)
	}
	if err := os.WriteFile(aclFile, []byte(acl.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	attempts := bindAttempts
	if cfg.Port != 0 {
		attempts = 1
	}
	var lastLog string
	for range attempts {
		port := cfg.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				t.Fatalf("fdtest: no free port: %v", err)
			}
		}
		confFile := filepath.Join(dir, "freeDiameterd.conf")
		if err := os.WriteFile(confFile, []byte(configText(cfg, port, aclWL, aclFile)), 0o600); err != nil {
			t.Fatal(err)
		}
		log, err := run(t, bin, confFile, port, cfg.Debug)
		if err == nil {
			return &Relay{
				Identity:   cfg.Identity,
				Realm:      cfg.Realm,
				Port:       port,
				Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
				ConfigFile: confFile,
				log:        log,
			}
		}
		if !errors.Is(err, errPortTaken) {
			t.Fatalf("freeDiameterd -c %s: %v; its log:\n%s", confFile, err, log)
		}
		lastLog = log.String()
	}
	t.Fatalf("freeDiameterd: its port was taken %d times in a row; last log:\n%s", attempts, lastLog)
	return nil
}

// configText is freeDiameterd.conf for cfg on port.
func configText(cfg Config, port int, aclWL, aclFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Identity = %q;\n", cfg.Identity)
	fmt.Fprintf(&b, "Realm = %q;\n", cfg.Realm)
	fmt.Fprintf(&b, "Port = %d;\n", port)
	// No TLS port, hence no certificate or key needed; no SCTP. (No
	// ListenOn: freeDiameterd 1.2.1 binds every address whatever it says.)
	b.WriteString("SecPort = 0;\n")
	b.WriteString("No_SCTP;\n")
	if cfg.TcTimer > 0 {
		fmt.Fprintf(&b, "TcTimer = %d;\n", cfg.TcTimer)
	}
	fmt.Fprintf(&b, "LoadExtension = %q : %q;\n", aclWL, aclFile)
	for _, p := range cfg.ConnectPeers {
		fmt.Fprintf(&b, "ConnectPeer = %q { ConnectTo = \"127.0.0.1\"; Port = %d; No_TLS; No_SCTP; };\n", p.Host, p.Port)
	}
	return b.String()
}

var errPortTaken = errors.New("port taken")

// run starts freeDiameterd with confFile, kills it when t ends, and
// returns once it logged readyLine (nil error), or exited (errPortTaken
// when its port was taken), or did not get ready in time.
func run(t testing.TB, bin, confFile string, port int, debug bool) (*logBuffer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"-c", confFile}
	if debug {
		args = append(args, "-d")
	}
	// freeDiameterd stays in the foreground and logs to stdout.
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	log := newLogBuffer()
	if err := cmd.Start(); err != nil {
		cancel()
		return log, fmt.Errorf("start: %w", err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			log.add(sc.Text())
		}
		io.Copy(io.Discard, pr) // a line over 1 MiB: keep the pipe drained
	}()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		<-readDone
		log.close()
		close(exited)
	}()
	stop := func() {
		cancel() // SIGKILL: nothing of it needs to survive the test
		<-exited
	}

	deadline := time.Now().Add(readyTimeout)
	if log.wait(readyLine, readyTimeout) && waitListen(port, deadline, exited) {
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("freeDiameterd -c %s logged:\n%s", confFile, log)
			}
		})
		return log, nil
	}
	stop()
	if strings.Contains(log.String(), bindError) {
		return log, errPortTaken
	}
	if log.isClosed() {
		return log, errors.New("exited before it was ready")
	}
	return log, fmt.Errorf("not listening on port %d within %v", port, readyTimeout)
}

// waitListen tries to connect to 127.0.0.1:port until it succeeds (true),
// or freeDiameterd exits or deadline passes (false). freeDiameterd accepts
// the connection and drops it when it closes, without a CER.
func waitListen(port int, deadline time.Time, exited <-chan struct{}) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(connectPoll):
		}
		if !time.Now().Before(deadline) {
			return false
		}
	}
}

// findExtension returns the path of the freeDiameter extension name.
func findExtension(name string) (string, error) {
	for _, dir := range ExtensionDirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("freeDiameter extension %s not found in %s", name, strings.Join(ExtensionDirs, ", "))
}

// freePort returns a TCP port that is free on every address (freeDiameterd
// binds 0.0.0.0 and [::]).
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logBuffer is freeDiameterd's log, line by line, with waiters for lines.
type logBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	lines  []string
	closed bool
}

func newLogBuffer() *logBuffer {
	b := &logBuffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *logBuffer) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *logBuffer) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

func (b *logBuffer) wait(substr string, timeout time.Duration) bool {
	return b.waitFunc(func(line string) bool { return strings.Contains(line, substr) }, timeout)
}

// waitFunc waits until a line satisfies match (true), or the log ends or
// timeout passes (false).
func (b *logBuffer) waitFunc(match func(string) bool, timeout time.Duration) bool {
	timer := time.AfterFunc(timeout, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cond.Broadcast()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := 0; ; {
		for ; i < len(b.lines); i++ {
			if match(b.lines[i]) {
				return true
			}
		}
		if b.closed || !time.Now().Before(deadline) {
			return false
		}
		b.cond.Wait()
	}
}
