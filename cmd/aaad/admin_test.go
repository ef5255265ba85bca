package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

const testToken = "0123456789abcdef0123456789abcdef"

// fakeCmds is the app's side of the commands, recorded.
type fakeCmds struct {
	mu       sync.Mutex
	imsis    []string
	deadline time.Duration // left on the context when called
	res      DeregisterResult
	err      error
}

func (f *fakeCmds) Deregister(ctx context.Context, imsi string) (DeregisterResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imsis = append(f.imsis, imsi)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	return f.res, f.err
}

func (f *fakeCmds) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.imsis...)
}

// testAdmin is an admin endpoint served for a test, and a client of it.
type testAdmin struct {
	base   string // http://host[:port]
	client *http.Client
	srv    *http.Server
	path   string // the unix socket, if any
}

func startTestAdmin(t *testing.T, c AdminConfig, cmds adminCommands) *testAdmin {
	t.Helper()
	h, err := newAdminHandler(c, cmds, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listenAdmin(c.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAdmin{srv: &http.Server{Handler: h}}
	go ta.srv.Serve(ln)
	t.Cleanup(func() { ta.srv.Close() })
	tr := &http.Transport{DisableKeepAlives: true}
	if path, ok := strings.CutPrefix(c.Listen, adminUnixPrefix); ok {
		ta.path = path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
		ta.base = "http://localhost"
	} else {
		ta.base = "http://" + ln.Addr().String()
	}
	ta.client = &http.Client{Transport: tr}
	return ta
}

type reply struct {
	status int
	header http.Header
	body   string
}

// post sends a command; hdr are extra headers ("Host" sets the Host).
func (ta *testAdmin) post(t *testing.T, path, body string, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ta.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return ta.do(t, req)
}

func (ta *testAdmin) get(t *testing.T, path string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ta.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ta.do(t, req)
}

func (ta *testAdmin) do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := ta.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func unixListen(t *testing.T) string {
	return adminUnixPrefix + filepath.Join(t.TempDir(), "admin.sock")
}

const goodBody = `{"imsi": "001010000000001"}`

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// The socket is 0600 whatever the umask, serves, and goes with the server.
func TestAdminUnixSocket_Mode0600(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	listen := unixListen(t)
	ta := startTestAdmin(t, AdminConfig{Listen: listen}, &fakeCmds{})
	fi, err := os.Lstat(ta.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket of mode 0600", fi.Mode())
	}
	if cur := syscall.Umask(0); cur != 0 {
		t.Errorf("umask left at %#o", cur)
	}
	if r := ta.get(t, "/debug/vars"); r.status != http.StatusOK || !strings.Contains(r.body, "memstats") {
		t.Fatalf("GET /debug/vars over the socket: %d %.100s", r.status, r.body)
	}
	if err := ta.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(ta.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket file is still there after shutdown: %v", err)
	}
}

// A socket left by a dead process is removed; a live one, or a file that
// is not a socket, is not.
func TestAdminUnixSocket_WhatIsInTheWay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string
	}{
		{"stale socket", func(t *testing.T, path string) {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			ln.SetUnlinkOnClose(false)
			ln.Close() // the file stays, nobody listens: a dead aaad's
		}, ""},
		{"live socket", func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
		}, "in use by a running process"},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listen := unixListen(t)
			path := strings.TrimPrefix(listen, adminUnixPrefix)
			tc.prepare(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := listenAdmin(listen)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("listen over a stale socket: %v", err)
				}
				defer ln.Close()
				fi, err := os.Lstat(path)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("the stale socket was not replaced by a 0600 one: %v %v", fi, err)
				}
				conn, err := net.Dial("unix", path)
				if err != nil {
					t.Fatalf("the new socket does not answer: %v", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatal("listened over something that is not a stale socket")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to say %q", err, tc.wantErr)
			}
			if fi, err := os.Lstat(path); err != nil || !os.SameFile(fi, before) {
				t.Errorf("what was in the way was removed or replaced: %v", err)
			}
		})
	}
}

// Close leaves a socket that another process put at the path since.
func TestAdminUnixSocket_CloseLeavesAnotherSocket(t *testing.T) {
	listen := unixListen(t)
	path := strings.TrimPrefix(listen, adminUnixPrefix)
	ln, err := listenAdmin(listen)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the other process's socket was removed: %v", err)
	}
}

func TestAdminCommands_AccessControl(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unix      bool
		tokenFile bool
		hdr       map[string]string
		want      int
		say       string
	}{
		{"tcp, no token file", false, false, nil, http.StatusForbidden, "admin.token_file"},
		{"tcp, no token file, a token sent anyway", false, false, bearer(testToken), http.StatusForbidden, "unix socket"},
		{"tcp, no token sent", false, true, nil, http.StatusUnauthorized, "bearer token"},
		{"tcp, wrong token", false, true, bearer(testToken[:31] + "0"), http.StatusUnauthorized, "bearer token"},
		{"tcp, the token and more", false, true, bearer(testToken + "x"), http.StatusUnauthorized, "bearer token"},
		{"tcp, the token as Basic", false, true, map[string]string{"Authorization": "Basic " + testToken}, http.StatusUnauthorized, "bearer token"},
		{"tcp, the token bare", false, true, map[string]string{"Authorization": testToken}, http.StatusUnauthorized, "bearer token"},
		{"tcp, right token", false, true, bearer(testToken), http.StatusOK, `"ok":true`},
		{"tcp, right token, scheme in lower case", false, true, map[string]string{"Authorization": "bearer " + testToken}, http.StatusOK, `"ok":true`},
		{"unix, no token", true, false, nil, http.StatusOK, `"ok":true`},
		{"unix, a token file is not used", true, true, nil, http.StatusOK, `"ok":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := AdminConfig{Listen: "127.0.0.1:0"}
			if tc.unix {
				c.Listen = unixListen(t)
			}
			if tc.tokenFile {
				c.TokenFile = writeToken(t, testToken)
			}
			cmds := &fakeCmds{res: DeregisterResult{Sent: true, Peer: "aaa.test", ResultCode: 2001, Sessions: 1}}
			ta := startTestAdmin(t, c, cmds)
			r := ta.post(t, "/v1/deregister", goodBody, tc.hdr)
			if r.status != tc.want || !strings.Contains(r.body, tc.say) {
				t.Fatalf("got %d %s, want %d saying %q", r.status, r.body, tc.want, tc.say)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if strings.Contains(r.body, testToken[:16]) {
				t.Errorf("the answer quotes the token: %s", r.body)
			}
			if got := cmds.calls(); (tc.want == http.StatusOK) != (len(got) == 1) {
				t.Errorf("Deregister called with %q", got)
			}
			// Reads need no token, as before the commands.
			if r := ta.get(t, "/debug/vars"); r.status != http.StatusOK {
				t.Errorf("GET /debug/vars: %d", r.status)
			}
		})
	}
}

// DNS rebinding and cross-origin posts: a command's Host (and any
// Origin) must be loopback, even with the right token.
func TestAdminCommands_HostCheck(t *testing.T) {
	tcp := startTestAdmin(t, AdminConfig{Listen: "127.0.0.1:0", TokenFile: writeToken(t, testToken)}, &fakeCmds{})
	unix := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, &fakeCmds{})
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{"evil.example", "", http.StatusForbidden},
		{"evil.example:9812", "", http.StatusForbidden},
		{"127.0.0.1.nip.io", "", http.StatusForbidden},
		{"10.0.0.1:9812", "", http.StatusForbidden},
		{"localhost:9812", "", http.StatusOK},
		{"LOCALHOST", "", http.StatusOK},
		{"127.0.0.1", "", http.StatusOK},
		{"127.1.2.3:9812", "", http.StatusOK},
		{"[::1]:9812", "", http.StatusOK},
		{"[::1]", "", http.StatusOK},
		{"localhost", "http://evil.example", http.StatusForbidden},
		{"localhost", "null", http.StatusForbidden},
		{"localhost", "http://localhost:8080", http.StatusOK},
	} {
		for _, ta := range []*testAdmin{tcp, unix} {
			name := "tcp"
			if ta == unix {
				name = "unix"
			}
			t.Run(name+" "+tc.host+" "+tc.origin, func(t *testing.T) {
				hdr := bearer(testToken)
				hdr["Host"] = tc.host
				if tc.origin != "" {
					hdr["Origin"] = tc.origin
				}
				if r := ta.post(t, "/v1/deregister", goodBody, hdr); r.status != tc.want {
					t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
				}
			})
		}
	}
	// Reads are not checked, as before.
	req, _ := http.NewRequest(http.MethodGet, tcp.base+"/debug/vars", nil)
	req.Host = "evil.example"
	if r := tcp.do(t, req); r.status != http.StatusOK {
		t.Errorf("GET /debug/vars with another Host: %d", r.status)
	}
}

func TestAdminDeregister_OK(t *testing.T) {
	cmds := &fakeCmds{res: DeregisterResult{Sent: true, Peer: "aaa.test", ResultCode: 2001, Sessions: 1}}
	ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
	r := ta.post(t, "/v1/deregister", goodBody, nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ok": true, "sent": true, "peer": "aaa.test", "result_code": 2001.0, "sessions": 1.0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answer %v, want %v", got, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if c := cmds.calls(); len(c) != 1 || c[0] != "001010000000001" {
		t.Errorf("Deregister called with %q", c)
	}
	if cmds.deadline <= 0 || cmds.deadline > adminCommandTimeout {
		t.Errorf("Deregister's context has %v left, want a deadline within %v", cmds.deadline, adminCommandTimeout)
	}
	// Only POST.
	if r := ta.get(t, "/v1/deregister"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/deregister: %d", r.status)
	}
}

func TestAdminDeregister_BadRequests(t *testing.T) {
	const canary = "Sup3rS3cretVal"
	ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, &fakeCmds{})
	for _, tc := range []struct {
		name, body, contentType string
		want                    int
	}{
		{"no imsi", `{}`, "", http.StatusBadRequest},
		{"empty imsi", `{"imsi": ""}`, "", http.StatusBadRequest},
		{"4 digits", `{"imsi": "0010"}`, "", http.StatusBadRequest},
		{"16 digits", `{"imsi": "0010100000000012"}`, "", http.StatusBadRequest},
		{"not digits", `{"imsi": "00101000000000a"}`, "", http.StatusBadRequest},
		{"a key as the imsi", `{"imsi": "` + canary + `"}`, "", http.StatusBadRequest},
		{"a number", `{"imsi": 1010000000001}`, "", http.StatusBadRequest},
		{"unknown field", `{"imsi": "001010000000001", "` + canary + `": 1}`, "", http.StatusBadRequest},
		{"two objects", goodBody + goodBody, "", http.StatusBadRequest},
		{"trailing garbage", goodBody + " " + canary, "", http.StatusBadRequest},
		{"not json", canary, "", http.StatusBadRequest},
		{"empty", "", "", http.StatusBadRequest},
		{"a list", `["001010000000001"]`, "", http.StatusBadRequest},
		{"form", "imsi=001010000000001", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"text", goodBody, "text/plain", http.StatusUnsupportedMediaType},
		{"json with charset", goodBody, "application/json; charset=utf-8", http.StatusOK},
		{"6 digits", `{"imsi": "001019"}`, "", http.StatusOK},
		{"5 digits", `{"imsi": "00101"}`, "", http.StatusBadRequest},
		{"just under the limit", `{"imsi": "001010000000001"}` + strings.Repeat(" ", adminBodyLimit-len(goodBody)-1), "", http.StatusOK},
		{"over the limit", `{"imsi": "001010000000001", "pad": "` + strings.Repeat("x", adminBodyLimit) + `"}`, "", http.StatusRequestEntityTooLarge},
		{"over the limit in spaces", goodBody + strings.Repeat(" ", adminBodyLimit), "", http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr map[string]string
			if tc.contentType != "" {
				hdr = map[string]string{"Content-Type": tc.contentType}
			}
			r := ta.post(t, "/v1/deregister", tc.body, hdr)
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			if strings.Contains(strings.ToLower(r.body), "s3cret") || strings.Contains(r.body, "001010000000001") {
				t.Errorf("the answer echoes the request: %s", r.body)
			}
			if r.status != http.StatusOK {
				var e adminReply
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.OK || e.Error == "" {
					t.Errorf("error answer %q is not {\"ok\":false,\"error\":...}", r.body)
				}
			}
		})
	}
}

func TestAdminDeregister_ErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds adminCommands
		want int
		say  string
	}{
		{"not registered", &fakeCmds{err: fmt.Errorf("001010000000001: %w", errNotRegistered)}, http.StatusNotFound, "not registered"},
		{"unknown subscriber", &fakeCmds{err: errUnknownSubscriber}, http.StatusNotFound, "unknown subscriber"},
		{"no SWx", &fakeCmds{err: fmt.Errorf("no Diameter peer: %w", errNotSupported)}, http.StatusServiceUnavailable, "does not serve SWx"},
		{"no commands on this node", nil, http.StatusServiceUnavailable, "this node does not serve SWx"},
		{"another failure", &fakeCmds{err: errors.New("RTA 5012")}, http.StatusInternalServerError, "deregister: RTA 5012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, tc.cmds)
			r := ta.post(t, "/v1/deregister", goodBody, nil)
			if r.status != tc.want || !strings.Contains(r.body, tc.say) || !strings.Contains(r.body, `"ok":false`) {
				t.Fatalf("got %d %s, want %d saying %q", r.status, r.body, tc.want, tc.say)
			}
		})
	}
}

func TestAdminToken_File(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"missing", "", "admin.token_file: cannot read the file"},
		{"empty", "\n", "admin.token_file: the token is too short"},
		{"short", "Sup3rS3cret", "admin.token_file: the token is too short"},
		{"two words", "Sup3rS3cretVal Sup3rS3cretVal", "admin.token_file: want one token"},
		{"two lines", "Sup3rS3cretVal\nSup3rS3cretVal", "admin.token_file: want one token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "token")
			if tc.name != "missing" {
				if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := newAdminHandler(AdminConfig{Listen: "127.0.0.1:0", TokenFile: p}, nil, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if quotesCanary(err.Error()) || strings.Contains(err.Error(), p) {
				t.Errorf("the error quotes the file or its contents: %v", err)
			}
		})
	}
}

func TestLoadConfig_Admin(t *testing.T) {
	for _, tc := range []struct {
		name, admin, want string
	}{
		{"tcp loopback", "{listen: 127.0.0.1:9812}", ""},
		{"tcp loopback v6", `{listen: "[::1]:9812"}`, ""},
		{"tcp with a token file", "{listen: 127.0.0.1:9812, token_file: /etc/aaad/admin-token}", ""},
		{"unix", "{listen: unix:/run/aaad/admin.sock}", ""},
		{"not loopback", "{listen: 192.0.2.1:9812}", "admin.listen: must be a loopback address"},
		{"no port", "{listen: 127.0.0.1}", "admin.listen: want a loopback ip:port or unix:/path"},
		{"a name", "{listen: localhost:9812}", "admin.listen: want a loopback ip:port or unix:/path"},
		{"unix without a path", "{listen: \"unix:\"}", "admin.listen: unix: wants a path"},
		{"unix relative", "{listen: unix:admin.sock}", "admin.listen: the unix socket wants an absolute path"},
		{"unix abstract", "{listen: \"unix:@aaad\"}", "admin.listen: the unix socket wants an absolute path"},
		{"unix directory", "{listen: unix:/run/aaad/}", "admin.listen: the unix socket path names a directory"},
		{"unix too long", "{listen: unix:/" + strings.Repeat("d", maxUnixPath) + "}", "admin.listen: the unix socket path is too long"},
		{"token file without listen", "{token_file: /etc/aaad/admin-token}", "admin.token_file: set without admin.listen"},
		{"a secret as the listen", "{listen: Sup3rS3cretValue}", "admin.listen: want"},
		{"a secret as a unix path", "{listen: unix:Sup3rS3cretValue}", "admin.listen: the unix socket wants an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]byte(minimal + "admin: " + tc.admin + "\n"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if quotesCanary(err.Error()) || strings.Contains(err.Error(), "192.0.2.1") {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
}

func TestConfig_AdminWarnings(t *testing.T) {
	for _, tc := range []struct {
		admin string
		warn  bool
	}{
		{"{listen: unix:/run/aaad/admin.sock, token_file: /etc/aaad/admin-token}", true},
		{"{listen: unix:/run/aaad/admin.sock}", false},
		{"{listen: 127.0.0.1:9812, token_file: /etc/aaad/admin-token}", false},
	} {
		cfg, err := loadConfig([]byte(minimal + "admin: " + tc.admin + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(cfg.Warnings(), "\n")
		if strings.Contains(got, "admin.token_file: not used") != tc.warn {
			t.Errorf("%s: warnings %q", tc.admin, got)
		}
	}
}
