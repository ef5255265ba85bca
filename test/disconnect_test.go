package test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"layeh.com/radius/rfc2865"
)

// aaactl sessions shows a login's session; aaactl disconnect sends the
// access point a Disconnect-Request that it verifies (Request
// Authenticator, Message-Authenticator, with the client's secret) and
// ACKs, and the session is gone.
func TestDisconnectByCommand(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000401"
	nas := startTestNAS(t, defaultSecret)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	s := startServer(t, serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")},
		LabDAS:      nas.addr(),
		Extra:       []string{"admin: {listen: " + yamlString("unix:"+sock) + "}"},
	})
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)
	ctl := func(args ...string) (string, error) {
		out, err := exec.Command(aaactlPath, append([]string{"--config", s.CfgPath}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := ctl("sessions", "--imsi", imsi)
	if err != nil || !strings.Contains(out, imsi) || !strings.Contains(out, "radius") {
		t.Fatalf("aaactl sessions: %v\n%s", err, out)
	}
	if out, err := ctl("sessions"); err != nil || !strings.Contains(out, imsi) {
		t.Fatalf("aaactl sessions (all): %v\n%s", err, out)
	}
	out, err = ctl("disconnect", imsi)
	if err != nil || !strings.Contains(out, "ACK") {
		t.Fatalf("aaactl disconnect: %v\n%s", err, out)
	}
	p := nas.wait(t)
	if got := rfc2865.UserName_GetString(p); got != akaPrimeIdentity(imsi) {
		t.Errorf("Disconnect-Request User-Name %q", got)
	}
	out, err = ctl("sessions", "--imsi", imsi)
	if err != nil || !strings.Contains(out, "no sessions") {
		t.Fatalf("after disconnect, aaactl sessions: %v\n%s", err, out)
	}
}
