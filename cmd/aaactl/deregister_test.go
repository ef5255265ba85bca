package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const adminTestToken = "0123456789abcdef0123456789abcdef"

// fakeAAAD answers POST /v1/deregister as aaad does, per IMSI, and
// records what it was sent.
type fakeAAAD struct {
	needToken bool // TCP with admin.token_file
	noToken   bool // TCP without: every command refused

	mu    sync.Mutex
	auths []string
	imsis []string
}

func (f *fakeAAAD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintln(w, body)
	}
	f.mu.Lock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.mu.Unlock()
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/deregister":
		answer(http.StatusNotFound, `{"ok":false,"error":"no such command"}`)
		return
	case r.Header.Get("Content-Type") != "application/json":
		answer(http.StatusUnsupportedMediaType, `{"ok":false,"error":"want Content-Type: application/json"}`)
		return
	case f.noToken:
		answer(http.StatusForbidden, `{"ok":false,"error":"commands over TCP are refused without a token: use a unix socket (admin.listen: unix:/path) or set admin.token_file"}`)
		return
	case f.needToken && r.Header.Get("Authorization") != "Bearer "+adminTestToken:
		answer(http.StatusUnauthorized, `{"ok":false,"error":"a valid bearer token is required (the token of admin.token_file)"}`)
		return
	}
	var req struct {
		IMSI string `json:"imsi"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		answer(http.StatusBadRequest, `{"ok":false,"error":"want a JSON body"}`)
		return
	}
	f.mu.Lock()
	f.imsis = append(f.imsis, req.IMSI)
	f.mu.Unlock()
	switch req.IMSI {
	case "001010000000001":
		answer(http.StatusOK, `{"ok":true,"sent":true,"peer":"aaa.test","result_code":2001,"sessions":1}`)
	case "001010000000002":
		answer(http.StatusNotFound, `{"ok":false,"error":"the subscriber is not registered"}`)
	case "001010000000003":
		answer(http.StatusOK, `{"ok":true,"sent":false,"sessions":2}`)
	case "001010000000004":
		answer(http.StatusServiceUnavailable, "{\"ok\":false,\"error\":\"this node does not serve SWx\\u001b[2J\"}")
	default:
		answer(http.StatusInternalServerError, `{"ok":false,"error":"deregister: boom"}`)
	}
}

func (f *fakeAAAD) seen() (auths, imsis []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...), append([]string(nil), f.imsis...)
}

// serveUnix serves h on a unix socket in a directory of the test's own.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

// serveTCP serves h on loopback and returns its ip:port.
func serveTCP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// adminConfigFile writes a configuration with this admin section.
func adminConfigFile(t *testing.T, admin string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aaad.yaml")
	if err := os.WriteFile(p, []byte("hss: {backend: local}\nadmin: "+admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeregister(t *testing.T) {
	unixAAAD := &fakeAAAD{}
	unixSock := serveUnix(t, unixAAAD)
	tcpAAAD := &fakeAAAD{needToken: true}
	tcpAddr := serveTCP(t, tcpAAAD)
	openAddr := serveTCP(t, &fakeAAAD{noToken: true})
	notAAAD := serveTCP(t, http.NotFoundHandler())

	unixCfg := adminConfigFile(t, fmt.Sprintf("{listen: %q}", "unix:"+unixSock))
	tcpCfg := adminConfigFile(t, fmt.Sprintf("{listen: %q, token_file: %q}", tcpAddr, tokenFile(t, adminTestToken)))
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // exactly
		stderr     string // contains
		wantIMSI   string // what the fake must have been sent
		wantBearer bool
	}{
		{name: "unix socket", args: []string{"--config", unixCfg, "deregister", "001010000000001"},
			stdout: "deregistered 001010000000001: RTR sent to aaa.test, RTA 2001, 1 session ended\n", wantIMSI: "001010000000001"},
		{name: "unix socket, --config after the command", args: []string{"deregister", "--config", unixCfg, "001010000000003"},
			stdout: "deregistered 001010000000003: no RTR sent, 2 sessions ended\n", wantIMSI: "001010000000003"},
		{name: "tcp with the token", args: []string{"--config", tcpCfg, "deregister", "001010000000001"},
			stdout: "deregistered 001010000000001: RTR sent to aaa.test, RTA 2001, 1 session ended\n", wantIMSI: "001010000000001", wantBearer: true},
		{name: "not registered", args: []string{"--config", tcpCfg, "deregister", "001010000000002"},
			code: exitFailed, stderr: "aaactl deregister: the subscriber is not registered (HTTP 404)\n", wantIMSI: "001010000000002", wantBearer: true},
		{name: "no SWx, control characters dropped", args: []string{"--config", unixCfg, "deregister", "001010000000004"},
			code: exitFailed, stderr: "aaactl deregister: this node does not serve SWx[2J (HTTP 503)\n", wantIMSI: "001010000000004"},
		{name: "another failure", args: []string{"--config", unixCfg, "deregister", "001019"},
			code: exitFailed, stderr: "deregister: boom (HTTP 500)", wantIMSI: "001019"},
		{name: "tcp without a token file", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", openAddr)), "deregister", "001010000000001"},
			code: exitFailed, stderr: "set admin.token_file (HTTP 403)"},
		{name: "tcp with a wrong token", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q, token_file: %q}", tcpAddr, tokenFile(t, strings.Repeat("x", 32)))), "deregister", "001010000000001"},
			code: exitFailed, stderr: "(the token of admin.token_file) (HTTP 401)"},
		{name: "token file unreadable", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q, token_file: /nonexistent/admin-token}", tcpAddr)), "deregister", "001010000000001"},
			code: exitFailed, stderr: "admin.token_file: cannot read the file: no such file or directory"},
		{name: "aaad not running", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", "unix:"+filepath.Join(t.TempDir(), "gone.sock"))), "deregister", "001010000000001"},
			code: exitFailed, stderr: "cannot reach aaad at admin.listen (unix socket): connect: no such file or directory: is aaad running"},
		{name: "not aaad", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", notAAAD)), "deregister", "001010000000001"},
			code: exitFailed, stderr: "aaad answered HTTP 404, not JSON"},
		{name: "no admin.listen", args: []string{"--config", adminConfigFile(t, "{pprof: true}"), "deregister", "001010000000001"},
			code: exitFailed, stderr: "admin.listen: not set"},
		{name: "admin.listen not loopback", args: []string{"--config", adminConfigFile(t, "{listen: 192.0.2.1:9812}"), "deregister", "001010000000001"},
			code: exitFailed, stderr: "admin.listen: must be a loopback address"},
		{name: "no --config", args: []string{"deregister", "001010000000001"},
			code: exitUsage, stderr: "--config FILE is required"},
		{name: "no IMSI", args: []string{"--config", unixCfg, "deregister"},
			code: exitUsage, stderr: "the IMSI is missing"},
		{name: "two IMSIs", args: []string{"--config", unixCfg, "deregister", "001010000000001", "001010000000002"},
			code: exitUsage, stderr: `unexpected argument "001010000000002"`},
		{name: "bad IMSI", args: []string{"--config", unixCfg, "deregister", "0010"},
			code: exitUsage, stderr: "IMSI: want 6 to 15 digits"},
		{name: "unknown flag", args: []string{"--config", unixCfg, "deregister", "--force", "001010000000001"},
			code: exitUsage, stderr: "flag provided but not defined: -force"},
		{name: "help", args: []string{"deregister", "--help"}, stdout: deregisterUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ua, ui := unixAAAD.seen()
			ta, ti := tcpAAAD.seen()
			r := ctl(tc.args...)
			if r.code != tc.code || r.stdout != tc.stdout && tc.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d\nstdout: %q (want %q)\nstderr: %q (want it to say %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
			if tc.code == 0 && r.stderr != "" || tc.code != 0 && r.stdout != "" {
				t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
			}
			ua2, ui2 := unixAAAD.seen()
			ta2, ti2 := tcpAAAD.seen()
			sent := append(ui2[len(ui):], ti2[len(ti):]...)
			if tc.wantIMSI != "" && (len(sent) != 1 || sent[0] != tc.wantIMSI) {
				t.Errorf("aaad was sent %q, want %q", sent, tc.wantIMSI)
			}
			for _, a := range ua2[len(ua):] {
				if a != "" {
					t.Errorf("a token went over the unix socket: %q", a)
				}
			}
			if tc.wantBearer {
				if got := ta2[len(ta):]; len(got) != 1 || got[0] != "Bearer "+adminTestToken {
					t.Errorf("Authorization %q", got)
				}
			}
		})
	}
}

// A key typed where the IMSI goes is never echoed.
func TestDeregister_ErrorsDoNotEchoKeys(t *testing.T) {
	const key = "000102030405060708090a0b0c0d0e0f"
	cfg := adminConfigFile(t, `{listen: "unix:/nonexistent/admin.sock"}`)
	for _, args := range [][]string{
		{"--config", cfg, "deregister", key},
		{"--config", cfg, "deregister", "001010000000001", key},
		{"--config", cfg, "deregister", "--" + key},
		{"--config", cfg, "deregister", "--config=" + key},
		{"deregister", key},
	} {
		r := ctl(args...)
		if r.code == 0 {
			t.Errorf("%q: exit 0", args)
		}
		if strings.Contains(r.stderr+r.stdout, key[:16]) {
			t.Errorf("%q: the key reached the output: %s", args, r.stderr)
		}
	}
}
