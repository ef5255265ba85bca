package test

import (
	"os"
	"strings"
	"syscall"
	"testing"
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
