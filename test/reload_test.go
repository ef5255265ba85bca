package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SIGHUP (what systemctl reload sends) reloads the RADIUS clients and the
// log level and keeps every conversation, SQN and identity it holds; a
// configuration that does not validate is refused whole and the running
// one keeps serving. Before, SIGHUP killed aaad and everything it held in
// memory.
func TestReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	const (
		imsi     = "001010000000061"
		goodIMSI = "001010000000062"
	)
	base := serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000"), ts1Subscriber(goodIMSI, "000000000000")}}
	s := startServer(t, base)

	// A conversation in progress through lab: a challenge outstanding.
	lab := dialRADIUS(t, s, "127.0.0.1", defaultSecret)
	first := lab.exchange(t, "", eapIdentityResponse(1, akaPrimeIdentity(imsi)), nil)
	if first == nil || first.eap(t).Subtype != akaSubtypeChallenge {
		t.Fatalf("identity: got %s, want an AKA'-Challenge", first)
	}

	// A new client with its own secret, and another log level.
	withOther := base
	withOther.Clients = []clientEntry{{Name: "other", Address: otherClientIP + "/32", Secret: otherClientSecret}}
	withOther.LogLevel = "info"
	rewriteConfig(t, s, withOther)
	s.hangUp(t)
	s.waitLogEntries(t, "configuration reloaded", 1)

	r := s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(goodIMSI),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
		ClientIP: otherClientIP,
		Secret:   otherClientSecret,
	})
	requireSuccess(t, r, 1)

	// The conversation opened before the reload is still there: a wrong
	// challenge response gets AKA-Notification, not the EAP-Failure of an
	// unknown State.
	ch := first.eap(t)
	a := lab.exchange(t, "", akaChallengeResponseBadMAC(eapTypeAKAPrime, ch.ID), first.State)
	if a == nil || a.eap(t).Subtype != akaSubtypeNotification {
		t.Fatalf("after the reload: got %s, want AKA-Notification for the conversation opened before it", a)
	}

	// A bad configuration is refused; the running one keeps serving.
	if err := os.WriteFile(s.CfgPath, []byte("radius: {clients: [{name: x, address: 127.0.0.0/8, secret: abc12}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.hangUp(t)
	refused := s.waitLogEntries(t, "reload refused: invalid configuration; the running one stays", 1)
	if e := refused[0]; !strings.Contains(e["error"].(string), "radius.clients[0].secret") || strings.Contains(e["error"].(string), "abc12") {
		t.Fatalf("refusal %v: want the key named and the value not", e)
	}
	r = s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(goodIMSI),
		Password: usimPassword(ts1K, ts1OPc, "000000000001"),
		ClientIP: otherClientIP,
		Secret:   otherClientSecret,
	})
	requireSuccess(t, r, 1)
	// Cleanup stops it with SIGTERM and requires a clean exit: it is
	// still the same process.
}

// rewriteConfig writes cfg over the server's configuration file.
func rewriteConfig(t *testing.T, s *server, cfg serverConfig) {
	t.Helper()
	dir := strings.TrimSuffix(s.CfgPath, "/aaad.yaml")
	if got := writeServerFiles(t, dir, cfg); got != s.CfgPath {
		t.Fatalf("config written to %s, want %s", got, s.CfgPath)
	}
}

// hangUp sends the server SIGHUP.
func (s *server) hangUp(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP to aaad: %v", err)
	}
}

// SIGHUP while logins run: one client's secret changes and a new client
// comes. No login in progress fails, the new client authenticates, the old
// secret stops working and the new one works; a broken configuration sent
// meanwhile is refused and the logins go on.
func TestReloadOnSIGHUP_WhileLoggingIn(t *testing.T) {
	t.Parallel()
	const (
		imsi      = "001010000000063"
		apIP      = "127.0.0.3"
		oldSecret = "ap1-old-secret-0123"
		newSecret = "ap1-new-secret-4567"
	)
	base := serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")},
		Clients:     []clientEntry{{Name: "ap1", Address: apIP + "/32", Secret: oldSecret}},
	}
	s := startServer(t, base)
	login := peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi), Password: usimPassword(ts1K, ts1OPc, "000000000000")}

	// Logins through lab, one after another, until told to stop.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []eapolResult
		stop    = make(chan struct{})
		done    = make(chan struct{}, 64) // a login finished
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := s.eapolTest(t, login)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
			select {
			case done <- struct{}{}:
			default:
			}
		}
	}()
	waitLogins := func(n int) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for range n {
			select {
			case <-done:
			case <-timeout:
				t.Fatalf("fewer than %d logins within 30 s", n)
			}
		}
	}
	waitLogins(1)

	next := base
	next.Clients = []clientEntry{
		{Name: "ap1", Address: apIP + "/32", Secret: newSecret},
		{Name: "other", Address: otherClientIP + "/32", Secret: otherClientSecret},
	}
	rewriteConfig(t, s, next)
	s.hangUp(t)
	s.waitLogEntries(t, "configuration reloaded", 1)
	waitLogins(1)

	withClient := func(ip, secret string, timeout int) peerConfig {
		p := login
		p.ClientIP, p.Secret, p.Timeout = ip, secret, timeout
		return p
	}
	requireSuccess(t, s.eapolTest(t, withClient(otherClientIP, otherClientSecret, 0)), 1)
	requireSuccess(t, s.eapolTest(t, withClient(apIP, newSecret, 0)), 1)
	if r := s.eapolTest(t, withClient(apIP, oldSecret, 3)); r.Success() {
		t.Fatalf("%s: the old secret still works after the reload", r.summary())
	}

	// A broken configuration: refused, and the logins go on.
	if err := os.WriteFile(s.CfgPath, []byte("radius: {clients: [{name: x, address: 127.0.0.0/8, secret: abc12}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.hangUp(t)
	s.waitLogEntries(t, "reload refused: invalid configuration; the running one stays", 1)
	waitLogins(2)
	requireSuccess(t, s.eapolTest(t, withClient(apIP, newSecret, 0)), 1)

	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(results) < 4 {
		t.Fatalf("%d logins ran, want at least 4", len(results))
	}
	for i, r := range results {
		if !r.Success() {
			t.Fatalf("login %d of %d failed across the reloads: %s\n%s", i+1, len(results), r.summary(), r.Output)
		}
	}
}

// A reload (here aaactl reload, over the admin endpoint) re-reads
// hss.subscribers (memory store): a subscriber added to the file
// authenticates, and one whose file SQN is lower than the SQN the store
// issued keeps the store's: the USIM needs no resynchronisation. A
// refused reload makes aaactl exit 1 with the reason.
func TestReload_SubscribersKeepSQNs(t *testing.T) {
	t.Parallel()
	const (
		imsi    = "001010000000064"
		newIMSI = "001010000000065"
		usimSQN = "000000001000"
	)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	base := serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")},
		Extra: []string{"admin: {listen: " + yamlString("unix:"+sock) + "}"}}
	s := startServer(t, base)
	usim := peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi), Password: usimPassword(ts1K, ts1OPc, usimSQN)}

	// The USIM is ahead: one resynchronisation brings the store past it.
	r := s.eapolTest(t, usim)
	requireSuccess(t, r, 1)
	if !r.Contains(syncFailureSent) {
		t.Fatalf("%s: no Synchronization-Failure before the reload\n%s", r.summary(), r.Output)
	}

	// The same file (its sqn column now below the store's) and a new
	// subscriber.
	next := base
	next.Subscribers = append(next.Subscribers, ts1Subscriber(newIMSI, "000000000000"))
	rewriteConfig(t, s, next)
	out, err := exec.Command(aaactlPath, "--config", s.CfgPath, "reload").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "subscribers: 2 (1 added, 0 removed)") {
		t.Fatalf("aaactl reload: %v\n%s", err, out)
	}
	e := s.waitLogEntries(t, "configuration reloaded", 1)[0]
	if e["subscribers"] != float64(2) || e["subscribers_added"] != float64(1) || e["subscribers_removed"] != float64(0) {
		t.Fatalf("reload logged %v: want 2 subscribers, 1 added, none removed", e)
	}

	r = s.eapolTest(t, usim)
	requireSuccess(t, r, 1)
	if r.Contains(syncFailureSent) {
		t.Fatalf("%s: a Synchronization-Failure after the reload: the file lowered the SQN\n%s", r.summary(), r.Output)
	}
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(newIMSI),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)

	// An IMSI twice in the file: refused whole, the reason printed.
	bad := next
	bad.Subscribers = append(bad.Subscribers, ts1Subscriber(newIMSI, "000000000000"))
	rewriteConfig(t, s, bad)
	cmd := exec.Command(aaactlPath, "--config", s.CfgPath, "reload")
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "hss.subscribers") ||
		!strings.Contains(string(out), "HTTP 400") {
		t.Fatalf("aaactl reload of a bad file: %v\n%s", err, out)
	}
	s.waitLogEntries(t, "reload refused: invalid configuration; the running one stays", 1)
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(newIMSI),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)
}
