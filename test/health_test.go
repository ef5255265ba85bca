package test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aaa-project/aaa/internal/redistest"
)

// /healthz and /readyz (admin.listen) of real aaad processes: /readyz
// turns unready when the only HSS peer, or the Redis, goes, and ready again
// when it returns; /healthz stays 200 throughout.

// adminOnLoopback is the admin section of a node whose /readyz a test
// reads: a port of the kernel's choice, read back from the log
// (adminAddr).
const adminOnLoopback = `admin: {listen: "127.0.0.1:0"}`

// readyPoll is how often waitReadyz asks again, up to its deadline.
const readyPoll = 50 * time.Millisecond

// getHealth GETs path from the admin endpoint at addr.
func getHealth(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := adminHTTP.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// waitReadyz polls /readyz until it answers want with a body holding
// line, and returns the body; it fails the test at the deadline with the
// last answer.
func waitReadyz(t *testing.T, addr string, want int, line string, within time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		status, body := getHealth(t, addr, "/readyz")
		if status == want && strings.Contains(body, line) {
			return body
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("/readyz: %d %q after %v; want %d with %q", status, body, within, want, line)
		}
	}
}

func requireHealthz(t *testing.T, addr string) {
	t.Helper()
	if status, body := getHealth(t, addr, "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q; want 200 \"ok\\n\"", status, body)
	}
}

// An AAA node with one HSS peer over SWx: ready while the peer is open,
// unready when it stops, ready again when it is back on its address.
func TestHealth_SWxPeer(t *testing.T) {
	t.Parallel()
	subs := []subscriber{ts1Subscriber("001010000000131", "000000000000")}
	port := freeTCPPort(t)
	cfgHSS := hssNodeConfig(t, t.TempDir(), "hss1.test", port, subs)
	hss := &hssNode{server: startWith(t, cfgHSS, swxReadyMsg), Host: "hss1.test"}
	cfg := aaaNodeConfig("hss1.test=" + hss.Addr)
	cfg.Extra = append(cfg.Extra, adminOnLoopback)
	aaa := startServer(t, cfg)
	adm := aaa.adminAddr(t)

	body := waitReadyz(t, adm, http.StatusOK, "ok hss: 1 of 1 peers open", readyTimeout)
	for _, l := range []string{"ok radius", "ok store: memory"} {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("/readyz: %q; want a line %q", body, l)
		}
	}
	// The HSS node serves its own /readyz on its unix socket; not read
	// here: the AAA node's view of its peer is what a balancer needs.

	stopNode(t, hss.server)
	aaa.log.waitFor(t, "the HSS peer closed", readyTimeout, func(lines []string) bool {
		return len(logEntries(lines, "diameter peer closed")) > 0
	})
	body = waitReadyz(t, adm, http.StatusServiceUnavailable, "fail hss: 0 of 1 peers open", readyTimeout)
	if !strings.Contains(body, "ok radius\n") {
		t.Errorf("/readyz with the HSS gone: %q; want radius still ok", body)
	}
	requireHealthz(t, adm)
	// The same in JSON.
	status, js := getHealth(t, adm, "/readyz?format=json")
	var got struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil || status != http.StatusServiceUnavailable || got.Ready {
		t.Fatalf("/readyz?format=json: %d %q (%v); want 503, not ready", status, js, err)
	}

	aaa.waitLogEntries(t, "not ready", 1)

	// Back on the same address: the AAA node reconnects by itself.
	startWith(t, cfgHSS, swxReadyMsg)
	waitReadyz(t, adm, http.StatusOK, "ok hss: 1 of 1 peers open", readyTimeout)
	aaa.waitLogEntries(t, "ready", 2) // at start, and now
}

// A node on Redis: ready while Redis answers, unready once it is killed
// (with a reason that names no address), ready again after its restart.
func TestHealth_RedisStore(t *testing.T) {
	t.Parallel()
	rds := redistest.StartWith(t, redistest.Options{})
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("2026 "+strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverConfig{
		Subscribers: []subscriber{ts1Subscriber("001010000000132", "000000000000")},
		Methods:     []string{"aka-prime"},
		RedisAddr:   rds.Addr,
		KeyFile:     kek,
		Extra:       []string{adminOnLoopback},
	})
	adm := s.adminAddr(t)

	body := waitReadyz(t, adm, http.StatusOK, "ok store: redis\n", readyTimeout)
	for _, l := range []string{"ok radius", "ok hss: local"} {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("/readyz: %q; want a line %q", body, l)
		}
	}

	rds.Kill()
	body = waitReadyz(t, adm, http.StatusServiceUnavailable, "fail store: redis: ", readyTimeout)
	if strings.Contains(body, rds.Addr) || strings.Contains(body, "127.0.0.1") {
		t.Errorf("/readyz names Redis's address: %q", body)
	}
	if !strings.Contains(body, "ok radius\n") {
		t.Errorf("/readyz with Redis gone: %q; want radius still ok", body)
	}
	requireHealthz(t, adm)
	// The change is logged once, with the short reasons only.
	for _, e := range s.waitLogEntries(t, "not ready", 1) {
		if b, _ := json.Marshal(e); strings.Contains(string(b), rds.Addr) {
			t.Errorf("the log line names Redis's address: %s", b)
		}
	}

	rds.Restart()
	waitReadyz(t, adm, http.StatusOK, "ok store: redis\n", readyTimeout)
	s.waitLogEntries(t, "ready", 2) // at start, and now
}
