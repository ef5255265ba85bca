package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/aaa-project/aaa/session"
)

// fakeSessionCmds is the app's side of the commands with the session
// commands, recorded.
type fakeSessionCmds struct {
	fakeCmds

	smu      sync.Mutex
	list     []SessionInfo
	listErr  error
	disc     []DisconnectInfo
	discErr  error
	listed   []string // the imsi of each Sessions call
	ended    []string // the imsi of each Disconnect call
	ctxErr   error    // Disconnect's ctx.Err() when called
	deadline time.Duration
}

func (f *fakeSessionCmds) Sessions(imsi string) ([]SessionInfo, error) {
	f.smu.Lock()
	defer f.smu.Unlock()
	f.listed = append(f.listed, imsi)
	return f.list, f.listErr
}

func (f *fakeSessionCmds) Disconnect(ctx context.Context, imsi string) ([]DisconnectInfo, error) {
	f.smu.Lock()
	defer f.smu.Unlock()
	f.ended = append(f.ended, imsi)
	f.ctxErr = ctx.Err()
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	return f.disc, f.discErr
}

func (f *fakeSessionCmds) sessionCalls() (listed, ended []string) {
	f.smu.Lock()
	defer f.smu.Unlock()
	return append([]string(nil), f.listed...), append([]string(nil), f.ended...)
}

var (
	testStarted = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	radiusInfo  = SessionInfo{IMSI: "001010000000001", FrontEnd: "radius", Client: "lab", NAS: "127.0.0.1:50000",
		CallingStationID: "02-00-00-00-00-01", AcctSessionID: "acct-1", Started: testStarted, Expires: testStarted.Add(time.Hour)}
	diameterInfo = SessionInfo{IMSI: "001010000000001", FrontEnd: "diameter", Client: "twag.test", Realm: "test",
		SessionID: "twag.test;1;2", Started: testStarted.Add(-time.Minute)}
)

func newFakeSessionCmds() *fakeSessionCmds {
	return &fakeSessionCmds{
		list: []SessionInfo{radiusInfo, diameterInfo},
		disc: []DisconnectInfo{{SessionInfo: radiusInfo, Outcome: outcomeACK}},
	}
}

const sessionsPath = "/v1/sessions?imsi=001010000000001"

// GET /v1/sessions names subscribers: guarded as POST /v1/disconnect and
// every command are, unlike /debug/vars.
func TestAdminSessions_AccessControl(t *testing.T) {
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
		{"tcp, the token as Basic", false, true, map[string]string{"Authorization": "Basic " + testToken}, http.StatusUnauthorized, "bearer token"},
		{"tcp, right token", false, true, bearer(testToken), http.StatusOK, `"ok":true`},
		{"tcp, right token, another Host", false, true, map[string]string{"Authorization": "Bearer " + testToken, "Host": "evil.example"}, http.StatusForbidden, "Host header"},
		{"tcp, right token, another Origin", false, true, map[string]string{"Authorization": "Bearer " + testToken, "Origin": "http://evil.example"}, http.StatusForbidden, "cross-origin"},
		{"tcp, right token, a name rebound to loopback", false, true, map[string]string{"Authorization": "Bearer " + testToken, "Host": "127.0.0.1.nip.io"}, http.StatusForbidden, "Host header"},
		{"unix, no token", true, false, nil, http.StatusOK, `"ok":true`},
		{"unix, a token file is not used", true, true, nil, http.StatusOK, `"ok":true`},
		{"unix, another Host", true, false, map[string]string{"Host": "evil.example"}, http.StatusForbidden, "Host header"},
	} {
		for _, route := range []string{"GET /v1/sessions", "POST /v1/disconnect"} {
			t.Run(route+" "+tc.name, func(t *testing.T) {
				c := AdminConfig{Listen: "127.0.0.1:0"}
				if tc.unix {
					c.Listen = unixListen(t)
				}
				if tc.tokenFile {
					c.TokenFile = writeToken(t, testToken)
				}
				cmds := newFakeSessionCmds()
				ta := startTestAdmin(t, c, cmds)
				var r reply
				if route == "POST /v1/disconnect" {
					r = ta.post(t, "/v1/disconnect", goodBody, tc.hdr)
				} else {
					r = ta.getWith(t, sessionsPath, tc.hdr)
				}
				if r.status != tc.want || !strings.Contains(r.body, tc.say) {
					t.Fatalf("got %d %s, want %d saying %q", r.status, r.body, tc.want, tc.say)
				}
				if tc.want == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
				if tc.want != http.StatusOK && strings.Contains(r.body, "001010000000001") {
					t.Errorf("a refusal names the subscriber: %s", r.body)
				}
				listed, ended := cmds.sessionCalls()
				if n := len(listed) + len(ended); (tc.want == http.StatusOK) != (n == 1) {
					t.Errorf("Sessions called with %q, Disconnect with %q", listed, ended)
				}
			})
		}
	}
}

// getWith sends a GET; hdr are extra headers ("Host" sets the Host).
func (ta *testAdmin) getWith(t *testing.T, path string, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ta.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return ta.do(t, req)
}

// Without the session commands (a nil adminCommands, or one without
// them) the routes are not there.
func TestAdminSessions_NotServedWithoutSessionCommands(t *testing.T) {
	for name, cmds := range map[string]adminCommands{"nil": nil, "no session commands": &fakeCmds{}} {
		t.Run(name, func(t *testing.T) {
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
			if r := ta.get(t, sessionsPath); r.status != http.StatusNotFound {
				t.Errorf("GET /v1/sessions: %d %s", r.status, r.body)
			}
			if r := ta.post(t, "/v1/disconnect", goodBody, nil); r.status != http.StatusNotFound {
				t.Errorf("POST /v1/disconnect: %d %s", r.status, r.body)
			}
		})
	}
}

func TestAdminSessions_Query(t *testing.T) {
	const canary = "Sup3rS3cretVal"
	for _, tc := range []struct {
		name, query string
		listErr     error
		want        int
		say         string
		wantIMSI    string // what Sessions was called with; "-": not called
	}{
		{"an imsi", "?imsi=001010000000001", nil, http.StatusOK, `"ok":true`, "001010000000001"},
		{"6 digits", "?imsi=001019", nil, http.StatusOK, `"ok":true`, "001019"},
		{"no query: all, when the node can", "", nil, http.StatusOK, `"ok":true`, ""},
		{"no query: all, when the node cannot", "", errNeedIMSI, http.StatusBadRequest, "give an IMSI", ""},
		{"Sessions fails", "?imsi=001010000000001", errors.New("boom"), http.StatusInternalServerError, "sessions: boom", "001010000000001"},
		{"empty imsi", "?imsi=", nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", "-"},
		{"5 digits", "?imsi=00101", nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", "-"},
		{"16 digits", "?imsi=0010100000000012", nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", "-"},
		{"not digits", "?imsi=" + canary, nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", "-"},
		{"twice", "?imsi=001010000000001&imsi=001010000000002", nil, http.StatusBadRequest, "?imsi=DIGITS once", "-"},
		{"another key", "?imsi=001010000000001&" + canary + "=1", nil, http.StatusBadRequest, "want no query", "-"},
		{"only another key", "?user=" + canary, nil, http.StatusBadRequest, "want no query", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds := newFakeSessionCmds()
			cmds.listErr = tc.listErr
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
			r := ta.get(t, "/v1/sessions"+tc.query)
			if r.status != tc.want || !strings.Contains(r.body, tc.say) {
				t.Fatalf("got %d %s, want %d saying %q", r.status, r.body, tc.want, tc.say)
			}
			if strings.Contains(strings.ToLower(r.body), "s3cret") {
				t.Errorf("the answer echoes the request: %s", r.body)
			}
			if r.status != http.StatusOK {
				var e adminReply
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.OK || e.Error == "" {
					t.Errorf("error answer %q is not {\"ok\":false,\"error\":...}", r.body)
				}
			}
			listed, _ := cmds.sessionCalls()
			if tc.wantIMSI == "-" && len(listed) != 0 || tc.wantIMSI != "-" && (len(listed) != 1 || listed[0] != tc.wantIMSI) {
				t.Errorf("Sessions called with %q, want %q", listed, tc.wantIMSI)
			}
		})
	}
}

func TestAdminSessions_JSON(t *testing.T) {
	many := make([]SessionInfo, maxListedSessions+1)
	for i := range many {
		many[i] = radiusInfo
	}
	for _, tc := range []struct {
		name string
		list []SessionInfo
		want string
	}{
		{"radius and diameter", []SessionInfo{radiusInfo, diameterInfo}, `{"ok":true,"sessions":[` +
			`{"imsi":"001010000000001","front_end":"radius","client":"lab","nas":"127.0.0.1:50000",` +
			`"calling_station_id":"02-00-00-00-00-01","acct_session_id":"acct-1","started":"2025-03-01T10:00:00Z","expires":"2025-03-01T11:00:00Z"},` +
			`{"imsi":"001010000000001","front_end":"diameter","client":"twag.test","realm":"test","session_id":"twag.test;1;2",` +
			`"started":"2025-03-01T09:59:00Z"}],"truncated":false}`},
		{"none is an empty list", nil, `{"ok":true,"sessions":[],"truncated":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds := newFakeSessionCmds()
			cmds.list = tc.list
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
			r := ta.get(t, sessionsPath)
			if r.status != http.StatusOK || strings.TrimSpace(r.body) != tc.want {
				t.Fatalf("got %d\n%s\nwant\n%s", r.status, r.body, tc.want)
			}
			if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		cmds := newFakeSessionCmds()
		cmds.list = many
		ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
		r := ta.get(t, "/v1/sessions")
		var got sessionsReply
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK || !got.OK || !got.Truncated || len(got.Sessions) != maxListedSessions {
			t.Fatalf("%d: ok %v, truncated %v, %d sessions", r.status, got.OK, got.Truncated, len(got.Sessions))
		}
	})
	t.Run("only GET", func(t *testing.T) {
		ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, newFakeSessionCmds())
		if r := ta.post(t, "/v1/sessions", goodBody, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("POST /v1/sessions: %d", r.status)
		}
		if r := ta.get(t, "/v1/disconnect"); r.status != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/disconnect: %d", r.status)
		}
	})
}

func TestAdminDisconnect(t *testing.T) {
	nak := DisconnectInfo{SessionInfo: diameterInfo, Outcome: outcomeNAK}
	none := DisconnectInfo{SessionInfo: radiusInfo, Outcome: outcomeNoAnswer,
		Error: `radius: no answer to Disconnect-Request from client "lab" at 127.0.0.1:3799 after 3 tries`}
	for _, tc := range []struct {
		name    string
		body    string
		disc    []DisconnectInfo
		discErr error
		want    int
		say     string // the whole answer when 200
		called  bool
	}{
		{"ack", goodBody, []DisconnectInfo{{SessionInfo: radiusInfo, Outcome: outcomeACK}}, nil, http.StatusOK,
			`{"ok":true,"sessions":[{"imsi":"001010000000001","front_end":"radius","client":"lab","nas":"127.0.0.1:50000",` +
				`"calling_station_id":"02-00-00-00-00-01","acct_session_id":"acct-1","started":"2025-03-01T10:00:00Z",` +
				`"expires":"2025-03-01T11:00:00Z","outcome":"ack"}]}`, true},
		{"nak and no answer", goodBody, []DisconnectInfo{nak, none}, nil, http.StatusOK,
			`{"ok":true,"sessions":[{"imsi":"001010000000001","front_end":"diameter","client":"twag.test","realm":"test",` +
				`"session_id":"twag.test;1;2","started":"2025-03-01T09:59:00Z","outcome":"nak"},` +
				`{"imsi":"001010000000001","front_end":"radius","client":"lab","nas":"127.0.0.1:50000",` +
				`"calling_station_id":"02-00-00-00-00-01","acct_session_id":"acct-1","started":"2025-03-01T10:00:00Z",` +
				`"expires":"2025-03-01T11:00:00Z","outcome":"no_answer",` +
				`"error":"radius: no answer to Disconnect-Request from client \"lab\" at 127.0.0.1:3799 after 3 tries"}]}`, true},
		{"no session", goodBody, nil, errNoSession, http.StatusNotFound, "the subscriber has no session", true},
		{"no session, wrapped", goodBody, nil, fmt.Errorf("001010000000001: %w", errNoSession), http.StatusNotFound, `{"ok":false,"error":"the subscriber has no session on this node"}`, true},
		{"another failure", goodBody, nil, errors.New("boom"), http.StatusInternalServerError, "disconnect: boom", true},
		{"bad imsi", `{"imsi": "0010"}`, nil, nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", false},
		{"no imsi", `{}`, nil, nil, http.StatusBadRequest, "imsi: want 6 to 15 digits", false},
		{"unknown field", `{"imsi": "001010000000001", "all": true}`, nil, nil, http.StatusBadRequest, `want a JSON body {\"imsi\": \"DIGITS\"}`, false},
		{"not json", "imsi=001010000000001", nil, nil, http.StatusBadRequest, "want a JSON body", false},
		{"too large", `{"imsi": "001010000000001"}` + strings.Repeat(" ", adminBodyLimit), nil, nil, http.StatusRequestEntityTooLarge, "too large", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds := newFakeSessionCmds()
			cmds.disc, cmds.discErr = tc.disc, tc.discErr
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, cmds)
			r := ta.post(t, "/v1/disconnect", tc.body, nil)
			if r.status != tc.want || tc.want == http.StatusOK && strings.TrimSpace(r.body) != tc.say || !strings.Contains(r.body, tc.say) {
				t.Fatalf("got %d\n%s\nwant %d and\n%s", r.status, r.body, tc.want, tc.say)
			}
			if r.status != http.StatusOK && strings.Contains(r.body, "001010000000001") {
				t.Errorf("an error quotes the request: %s", r.body)
			}
			_, ended := cmds.sessionCalls()
			if tc.called != (len(ended) == 1 && ended[0] == "001010000000001") || !tc.called && len(ended) != 0 {
				t.Errorf("Disconnect called with %q", ended)
			}
			if tc.called && (cmds.deadline <= 0 || cmds.deadline > adminCommandTimeout) {
				t.Errorf("Disconnect's context has %v left, want a deadline within %v", cmds.deadline, adminCommandTimeout)
			}
		})
	}
}

// The sessions leave the table before their access points are asked: a
// client that goes away does not cut the requests short.
func TestAdminDisconnect_OutlivesTheClient(t *testing.T) {
	cmds := newFakeSessionCmds()
	h, err := newAdminHandler(AdminConfig{Listen: unixListen(t)}, cmds, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // aaactl gone before aaad got to it
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/v1/disconnect", strings.NewReader(goodBody))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if _, ended := cmds.sessionCalls(); len(ended) != 1 || cmds.ctxErr != nil {
		t.Errorf("Disconnect called %d times, its context ended: %v", len(ended), cmds.ctxErr)
	}
}

// recordingTerminator answers every Terminate with its ack and err.
type recordingTerminator struct {
	acked bool
	err   error

	mu   sync.Mutex
	seen []session.Session
}

func (rt *recordingTerminator) Terminate(_ context.Context, s session.Session) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.seen = append(rt.seen, s)
	return rt.acked, rt.err
}

// swxCommands over a real session table: what Sessions shows of a
// session, and what each terminator's answer comes to.
func TestSwxCommands_Sessions(t *testing.T) {
	const imsi = "001010000000001"
	start := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	table := session.NewTable(session.Config{})
	a := &app{log: zap.NewNop(), sessions: table}
	c := swxCommands{a: a}
	add := func() {
		table.Add(session.Session{IMSI: imsi, FrontEnd: "radius", Client: "lab", NAS: netip.MustParseAddrPort("127.0.0.1:50000"),
			UserName: "Sup3rPseudonym", CallingStationID: "02-00-00-00-00-01", AcctSessionID: "acct-1",
			Started: start, Expires: start.Add(time.Hour)})
		table.Add(session.Session{IMSI: imsi, FrontEnd: "radius", Client: "lab2", NAS: netip.MustParseAddrPort("[::1]:50001"),
			CallingStationID: "02-00-00-00-00-02", Started: start.Add(time.Second)})
		table.Add(session.Session{IMSI: imsi, FrontEnd: "diameter", Client: "twag.test", Realm: "test", SessionID: "twag.test;1;2",
			UserName: "Sup3rPseudonym", Started: start.Add(2 * time.Second), Expires: start.Add(time.Hour)})
		table.Add(session.Session{IMSI: imsi, FrontEnd: "ldap", Client: "x", CallingStationID: "c", Started: start.Add(3 * time.Second)})
		table.Add(session.Session{IMSI: "001010000000002", FrontEnd: "radius", Client: "lab", CallingStationID: "other", Started: start})
	}
	add()

	if all, err := c.Sessions(""); err != nil || len(all) != 5 {
		t.Errorf("Sessions(\"\"): %d sessions, %v; want all 5", len(all), err)
	}
	if got, err := c.Sessions("001010000000009"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Sessions of nobody: %v %v, want an empty list", got, err)
	}
	got, err := c.Sessions(imsi)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	const want = `[{"imsi":"001010000000001","front_end":"ldap","client":"x","calling_station_id":"c","started":"2025-03-01T09:00:03Z"},` +
		`{"imsi":"001010000000001","front_end":"diameter","client":"twag.test","realm":"test","session_id":"twag.test;1;2","started":"2025-03-01T09:00:02Z","expires":"2025-03-01T10:00:00Z"},` +
		`{"imsi":"001010000000001","front_end":"radius","client":"lab2","nas":"[::1]:50001","calling_station_id":"02-00-00-00-00-02","started":"2025-03-01T09:00:01Z"},` +
		`{"imsi":"001010000000001","front_end":"radius","client":"lab","nas":"127.0.0.1:50000","calling_station_id":"02-00-00-00-00-01","acct_session_id":"acct-1","started":"2025-03-01T09:00:00Z","expires":"2025-03-01T10:00:00Z"}]`
	if string(b) != want {
		t.Errorf("Sessions:\n%s\nwant\n%s", b, want)
	}
	if strings.Contains(string(b), "Pseudonym") {
		t.Errorf("the User-Name is shown: %s", b)
	}

	radiusTerm := &recordingTerminator{acked: true}
	table.RegisterTerminator("radius", radiusTerm)
	table.RegisterTerminator("diameter", &recordingTerminator{acked: false})
	if _, err := c.Disconnect(context.Background(), "001010000000009"); !errors.Is(err, errNoSession) {
		t.Errorf("Disconnect of nobody: %v, want errNoSession", err)
	}
	res, err := c.Disconnect(context.Background(), imsi)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, d := range res {
		outcomes = append(outcomes, d.FrontEnd+" "+d.Client+" "+d.Outcome+" "+d.Error)
	}
	wantOutcomes := []string{
		`ldap x no_answer session: no terminator for the front end "ldap"`,
		"diameter twag.test nak ",
		"radius lab2 ack ",
		"radius lab ack ",
	}
	if fmt.Sprint(outcomes) != fmt.Sprint(wantOutcomes) {
		t.Errorf("Disconnect:\n%q\nwant\n%q", outcomes, wantOutcomes)
	}
	if n := len(table.Lookup(imsi)); n != 0 {
		t.Errorf("%d sessions left in the table", n)
	}
	if n := len(table.Lookup("001010000000002")); n != 1 {
		t.Errorf("another subscriber's session was ended")
	}
	if len(radiusTerm.seen) != 2 {
		t.Errorf("the RADIUS terminator was asked %d times", len(radiusTerm.seen))
	}

	// A terminator's error is no answer, with its text.
	add()
	table.RegisterTerminator("radius", &recordingTerminator{err: errors.New(`radius: no answer to Disconnect-Request from client "lab" at 127.0.0.1:3799 after 3 tries`)})
	res, err = c.Disconnect(context.Background(), imsi)
	if err != nil {
		t.Fatal(err)
	}
	if d := res[len(res)-1]; d.Client != "lab" || d.Outcome != outcomeNoAnswer || !strings.Contains(d.Error, "127.0.0.1:3799 after 3 tries") {
		t.Errorf("a terminator's error came to %+v", d)
	}
}
