package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The sessions of the fake aaad, as aaad's GET /v1/sessions lists them.
const (
	radiusSessionJSON = `{"imsi":"001010000000001","front_end":"radius","client":"lab","nas":"127.0.0.1:50000",` +
		`"calling_station_id":"02-00-00-00-00-01","acct_session_id":"acct-1","started":"2025-03-01T10:00:00Z","expires":"2025-03-01T11:00:00Z"}`
	diameterSessionJSON = `{"imsi":"001010000000001","front_end":"diameter","client":"twag.test","realm":"test",` +
		`"session_id":"twag.test;1;2","started":"2025-03-01T09:59:00Z"}`
)

// fakeSessionsAAAD answers GET /v1/sessions and POST /v1/disconnect as
// aaad does, per IMSI, guarded as aaad guards them, and records what it
// was sent.
type fakeSessionsAAAD struct {
	needToken bool // TCP with admin.token_file
	noToken   bool // TCP without: refused

	mu       sync.Mutex
	auths    []string
	requests []string // method, path and query, and the IMSI of a POST
}

func (f *fakeSessionsAAAD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintln(w, body)
	}
	f.mu.Lock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.mu.Unlock()
	route := r.Method + " " + r.URL.Path
	switch {
	case route != "GET /v1/sessions" && route != "POST /v1/disconnect":
		http.NotFound(w, r) // as aaad's mux: not JSON
		return
	case f.noToken:
		answer(http.StatusForbidden, `{"ok":false,"error":"commands over TCP are refused without a token: use a unix socket (admin.listen: unix:/path) or set admin.token_file"}`)
		return
	case f.needToken && r.Header.Get("Authorization") != "Bearer "+adminTestToken:
		answer(http.StatusUnauthorized, `{"ok":false,"error":"a valid bearer token is required (the token of admin.token_file)"}`)
		return
	}
	if r.Method == http.MethodGet {
		f.record(r.Method + " " + r.URL.RequestURI())
		q := r.URL.Query()
		switch imsi := q.Get("imsi"); {
		case len(q) == 0:
			answer(http.StatusBadRequest, `{"ok":false,"error":"give an IMSI (?imsi=DIGITS; aaactl sessions --imsi IMSI): this aaad lists the sessions of one subscriber at a time"}`)
		case imsi == "001010000000001":
			answer(http.StatusOK, `{"ok":true,"sessions":[`+radiusSessionJSON+`,`+diameterSessionJSON+`],"truncated":false}`)
		case imsi == "001010000000003":
			answer(http.StatusOK, `{"ok":true,"sessions":[{"imsi":"001010000000003","front_end":"radius","client":"lab\u001b[2J","nas":"127.0.0.1:50000","started":"2025-03-01T10:00:00Z"}],"truncated":true}`)
		default:
			answer(http.StatusOK, `{"ok":true,"sessions":[],"truncated":false}`)
		}
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		answer(http.StatusUnsupportedMediaType, `{"ok":false,"error":"want Content-Type: application/json"}`)
		return
	}
	var req struct {
		IMSI string `json:"imsi"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		answer(http.StatusBadRequest, `{"ok":false,"error":"want a JSON body"}`)
		return
	}
	f.record(route + " " + req.IMSI)
	switch req.IMSI {
	case "001010000000001":
		answer(http.StatusOK, `{"ok":true,"sessions":[`+strings.TrimSuffix(radiusSessionJSON, "}")+`,"outcome":"ack"},`+
			strings.TrimSuffix(diameterSessionJSON, "}")+`,"outcome":"ack"}]}`)
	case "001010000000002":
		answer(http.StatusOK, `{"ok":true,"sessions":[`+strings.TrimSuffix(diameterSessionJSON, "}")+`,"outcome":"nak"},`+
			strings.TrimSuffix(radiusSessionJSON, "}")+`,"outcome":"no_answer",`+
			`"error":"radius: no answer to Disconnect-Request from client \"lab\" at 127.0.0.1:3799 after 3 tries"}]}`)
	case "001010000000003":
		answer(http.StatusOK, `{"ok":true,"sessions":[`+strings.TrimSuffix(radiusSessionJSON, "}")+`,"outcome":"nak"}]}`)
	default:
		answer(http.StatusNotFound, `{"ok":false,"error":"the subscriber has no session on this node"}`)
	}
}

func (f *fakeSessionsAAAD) record(req string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
}

func (f *fakeSessionsAAAD) seen() (auths, requests []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...), append([]string(nil), f.requests...)
}

const sessionsTable = `IMSI             FRONT END  CLIENT     NAS / REALM      SESSION        CALLING STATION    STARTED               EXPIRES
001010000000001  radius     lab        127.0.0.1:50000  acct-1         02-00-00-00-00-01  2025-03-01T10:00:00Z  2025-03-01T11:00:00Z
001010000000001  diameter   twag.test  test             twag.test;1;2  -                  2025-03-01T09:59:00Z  never
`

func TestSessionsAndDisconnect(t *testing.T) {
	unixAAAD := &fakeSessionsAAAD{}
	unixSock := serveUnix(t, unixAAAD)
	tcpAAAD := &fakeSessionsAAAD{needToken: true}
	tcpAddr := serveTCP(t, tcpAAAD)
	openAddr := serveTCP(t, &fakeSessionsAAAD{noToken: true})
	oldAAAD := serveTCP(t, http.NotFoundHandler())

	unixCfg := adminConfigFile(t, fmt.Sprintf("{listen: %q}", "unix:"+unixSock))
	tcpCfg := adminConfigFile(t, fmt.Sprintf("{listen: %q, token_file: %q}", tcpAddr, tokenFile(t, adminTestToken)))
	wrongTokenCfg := adminConfigFile(t, fmt.Sprintf("{listen: %q, token_file: %q}", tcpAddr, tokenFile(t, strings.Repeat("x", 32))))
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // exactly
		stderr     string // contains; "" when it must be empty
		wantSent   string // the request the fake must have had
		wantBearer bool
	}{
		// sessions
		{name: "sessions, unix socket", args: []string{"--config", unixCfg, "sessions", "--imsi", "001010000000001"},
			stdout: sessionsTable, wantSent: "GET /v1/sessions?imsi=001010000000001"},
		{name: "sessions, flags after the command", args: []string{"sessions", "--imsi=001010000000001", "--config", unixCfg},
			stdout: sessionsTable, wantSent: "GET /v1/sessions?imsi=001010000000001"},
		{name: "sessions, tcp with the token", args: []string{"--config", tcpCfg, "sessions", "--imsi", "001010000000001"},
			stdout: sessionsTable, wantSent: "GET /v1/sessions?imsi=001010000000001", wantBearer: true},
		{name: "sessions, none", args: []string{"--config", unixCfg, "sessions", "--imsi", "001010000000009"},
			stdout: "no sessions\n", wantSent: "GET /v1/sessions?imsi=001010000000009"},
		{name: "sessions, control characters dropped, truncated", args: []string{"--config", unixCfg, "sessions", "--imsi", "001010000000003"},
			stdout: "IMSI             FRONT END  CLIENT  NAS / REALM      SESSION  CALLING STATION  STARTED               EXPIRES\n" +
				"001010000000003  radius     lab[2J  127.0.0.1:50000  -        -                2025-03-01T10:00:00Z  never\n",
			stderr: "aaactl sessions: aaad sent only the first 1 sessions\n", wantSent: "GET /v1/sessions?imsi=001010000000003"},
		{name: "sessions, all: aaad asks for an IMSI", args: []string{"--config", unixCfg, "sessions"},
			code: exitFailed, stderr: "aaactl sessions: give an IMSI (?imsi=DIGITS; aaactl sessions --imsi IMSI): this aaad lists the sessions of one subscriber at a time (HTTP 400)\n",
			wantSent: "GET /v1/sessions"},
		{name: "sessions, tcp with a wrong token", args: []string{"--config", wrongTokenCfg, "sessions", "--imsi", "001010000000001"},
			code: exitFailed, stderr: "(the token of admin.token_file) (HTTP 401)"},
		{name: "sessions, tcp without a token file", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", openAddr)), "sessions", "--imsi", "001010000000001"},
			code: exitFailed, stderr: "set admin.token_file (HTTP 403)"},
		{name: "sessions, an aaad without the command", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", oldAAAD)), "sessions", "--imsi", "001010000000001"},
			code: exitFailed, stderr: "aaad answered HTTP 404, not JSON: an aaad without this command"},
		{name: "sessions, aaad not running", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", "unix:"+filepath.Join(t.TempDir(), "gone.sock"))), "sessions", "--imsi", "001010000000001"},
			code: exitFailed, stderr: "cannot reach aaad at admin.listen (unix socket)"},
		{name: "sessions, bad IMSI", args: []string{"--config", unixCfg, "sessions", "--imsi", "0010"},
			code: exitUsage, stderr: "--imsi: want 6 to 15 digits"},
		{name: "sessions, the IMSI without --imsi", args: []string{"--config", unixCfg, "sessions", "001010000000001"},
			code: exitUsage, stderr: `unexpected argument "001010000000001" (the IMSI goes with --imsi)`},
		{name: "sessions, no --config", args: []string{"sessions", "--imsi", "001010000000001"},
			code: exitUsage, stderr: "--config FILE is required"},
		{name: "sessions, unknown flag", args: []string{"--config", unixCfg, "sessions", "--all"},
			code: exitUsage, stderr: "flag provided but not defined: -all"},
		{name: "sessions, help", args: []string{"sessions", "--help"}, stdout: sessionsUsage},

		// disconnect
		{name: "disconnect, every session ACKed", args: []string{"--config", unixCfg, "disconnect", "001010000000001"},
			stdout: "radius lab 127.0.0.1:50000 (Calling-Station-Id 02-00-00-00-00-01): ACK\n" +
				"diameter twag.test (realm test, Session-Id twag.test;1;2): ACK\n",
			wantSent: "POST /v1/disconnect 001010000000001"},
		{name: "disconnect, tcp with the token", args: []string{"--config", tcpCfg, "disconnect", "001010000000001"},
			stdout: "radius lab 127.0.0.1:50000 (Calling-Station-Id 02-00-00-00-00-01): ACK\n" +
				"diameter twag.test (realm test, Session-Id twag.test;1;2): ACK\n",
			wantSent: "POST /v1/disconnect 001010000000001", wantBearer: true},
		{name: "disconnect, a NAK and no answer", args: []string{"disconnect", "--config", unixCfg, "001010000000002"},
			code: exitFailed,
			stdout: "diameter twag.test (realm test, Session-Id twag.test;1;2): NAK\n" +
				`radius lab 127.0.0.1:50000 (Calling-Station-Id 02-00-00-00-00-01): no answer: radius: no answer to Disconnect-Request from client "lab" at 127.0.0.1:3799 after 3 tries` + "\n",
			stderr:   "aaactl disconnect: 2 of 2 sessions not acknowledged (aaad has forgotten them all)\n",
			wantSent: "POST /v1/disconnect 001010000000002"},
		{name: "disconnect, a NAK", args: []string{"--config", unixCfg, "disconnect", "001010000000003"},
			code:     exitFailed,
			stdout:   "radius lab 127.0.0.1:50000 (Calling-Station-Id 02-00-00-00-00-01): NAK\n",
			stderr:   "1 of 1 sessions not acknowledged",
			wantSent: "POST /v1/disconnect 001010000000003"},
		{name: "disconnect, no session", args: []string{"--config", tcpCfg, "disconnect", "001010000000009"},
			code: exitFailed, stderr: "aaactl disconnect: the subscriber has no session on this node (HTTP 404)\n",
			wantSent: "POST /v1/disconnect 001010000000009", wantBearer: true},
		{name: "disconnect, tcp with a wrong token", args: []string{"--config", wrongTokenCfg, "disconnect", "001010000000001"},
			code: exitFailed, stderr: "(HTTP 401)"},
		{name: "disconnect, an aaad without the command", args: []string{"--config", adminConfigFile(t, fmt.Sprintf("{listen: %q}", oldAAAD)), "disconnect", "001010000000001"},
			code: exitFailed, stderr: "aaad answered HTTP 404, not JSON: an aaad without this command"},
		{name: "disconnect, no IMSI", args: []string{"--config", unixCfg, "disconnect"},
			code: exitUsage, stderr: "the IMSI is missing"},
		{name: "disconnect, two IMSIs", args: []string{"--config", unixCfg, "disconnect", "001010000000001", "001010000000002"},
			code: exitUsage, stderr: `unexpected argument "001010000000002": one IMSI at a time`},
		{name: "disconnect, bad IMSI", args: []string{"--config", unixCfg, "disconnect", "00101000000000a"},
			code: exitUsage, stderr: "IMSI: want 6 to 15 digits"},
		{name: "disconnect, no --config", args: []string{"disconnect", "001010000000001"},
			code: exitUsage, stderr: "--config FILE is required"},
		{name: "disconnect, help", args: []string{"disconnect", "-h"}, stdout: disconnectUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ua, ur := unixAAAD.seen()
			ta, tr := tcpAAAD.seen()
			r := ctl(tc.args...)
			if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderr) || tc.stderr == "" && r.stderr != "" {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr: %q (want it to say %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
			ua2, ur2 := unixAAAD.seen()
			ta2, tr2 := tcpAAAD.seen()
			sent := append(ur2[len(ur):], tr2[len(tr):]...)
			if tc.wantSent != "" && (len(sent) != 1 || sent[0] != tc.wantSent) {
				t.Errorf("aaad was sent %q, want %q", sent, tc.wantSent)
			}
			if tc.code == exitUsage && len(sent) != 0 {
				t.Errorf("a wrong command line reached aaad: %q", sent)
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
func TestSessionsAndDisconnect_ErrorsDoNotEchoKeys(t *testing.T) {
	const key = "000102030405060708090a0b0c0d0e0f"
	cfg := adminConfigFile(t, `{listen: "unix:/nonexistent/admin.sock"}`)
	for _, args := range [][]string{
		{"--config", cfg, "sessions", "--imsi", key},
		{"--config", cfg, "sessions", key},
		{"--config", cfg, "sessions", "--imsi=" + key},
		{"--config", cfg, "sessions", "--" + key},
		{"--config", cfg, "disconnect", key},
		{"--config", cfg, "disconnect", "001010000000001", key},
		{"--config", cfg, "disconnect", "--" + key},
		{"disconnect", "--config=" + key},
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
