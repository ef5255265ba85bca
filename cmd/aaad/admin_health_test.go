package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/aaa-project/aaa/radius"
)

// fakeReady is adminCommands with readiness: its checks are what the test
// sets, and it records the deadline it was given.
type fakeReady struct {
	fakeCmds
	mu       sync.Mutex
	checks   []Check
	calls    int
	deadline time.Duration
	hang     bool // ignore ctx and never return (until the test ends)
	release  chan struct{}
}

func (f *fakeReady) Ready(ctx context.Context) []Check {
	f.mu.Lock()
	f.calls++
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	checks, hang := append([]Check(nil), f.checks...), f.hang
	f.mu.Unlock()
	if hang {
		<-f.release
	}
	return checks
}

func (f *fakeReady) set(checks ...Check) {
	f.mu.Lock()
	f.checks = checks
	f.mu.Unlock()
}

func startHealthAdmin(t *testing.T, cmds adminCommands, log *zap.Logger) *testAdmin {
	t.Helper()
	c := AdminConfig{Listen: "127.0.0.1:0"}
	h, err := newAdminHandler(c, cmds, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listenAdmin(c.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAdmin{srv: &http.Server{Handler: h}, base: "http://" + ln.Addr().String(),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	go ta.srv.Serve(ln)
	t.Cleanup(func() { ta.srv.Close() })
	return ta
}

func TestHealthz(t *testing.T) {
	for name, cmds := range map[string]adminCommands{"no commands": nil, "no readiness": &fakeCmds{},
		"readiness": &fakeReady{}} {
		t.Run(name, func(t *testing.T) {
			ta := startTestAdmin(t, AdminConfig{Listen: "127.0.0.1:0"}, cmds)
			r := ta.get(t, "/healthz")
			if r.status != 200 || r.body != "ok\n" {
				t.Fatalf("GET /healthz: %d %q; want 200 \"ok\\n\"", r.status, r.body)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q; want no-store", cc)
			}
			// Not a command: no token, any method but GET/HEAD refused.
			if r := ta.post(t, "/healthz", "{}", nil); r.status != 405 {
				t.Errorf("POST /healthz: %d; want 405", r.status)
			}
		})
	}
}

// Without readiness there is no /readyz (404), rather than a lie.
func TestReadyz_NotServedWithoutReadiness(t *testing.T) {
	ta := startTestAdmin(t, AdminConfig{Listen: "127.0.0.1:0"}, &fakeCmds{})
	if r := ta.get(t, "/readyz"); r.status != 404 {
		t.Fatalf("GET /readyz: %d %q; want 404", r.status, r.body)
	}
}

func TestReadyz(t *testing.T) {
	f := &fakeReady{}
	core, logs := observer.New(zapcore.InfoLevel)
	ta := startHealthAdmin(t, f, zap.New(core))

	f.set(Check{Name: "radius", OK: true}, Check{Name: "store", OK: true, Detail: "redis"},
		Check{Name: "hss", OK: true, Detail: "1 of 2 peers open"})
	r := ta.get(t, "/readyz")
	if want := "ok radius\nok store: redis\nok hss: 1 of 2 peers open\n"; r.status != 200 || r.body != want {
		t.Fatalf("all ok: %d %q; want 200 %q", r.status, r.body, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q; want text/plain", ct)
	}
	f.mu.Lock()
	d := f.deadline
	f.mu.Unlock()
	if d <= 0 || d > readyzTimeout {
		t.Errorf("Ready got a deadline %v away; want at most %v", d, readyzTimeout)
	}

	f.set(Check{Name: "radius", OK: true}, Check{Name: "store", Detail: "redis: connection refused"},
		Check{Name: "hss", Detail: "0 of 2 peers open"})
	r = ta.get(t, "/readyz")
	if want := "ok radius\nfail store: redis: connection refused\nfail hss: 0 of 2 peers open\n"; r.status != 503 || r.body != want {
		t.Fatalf("store and hss down: %d %q; want 503 %q", r.status, r.body, want)
	}

	r = ta.get(t, "/readyz?format=json")
	var got readyReply
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 503 {
		t.Fatalf("format=json: %d %q (%v); want 503 and JSON", r.status, r.body, err)
	}
	if got.Ready || len(got.Checks) != 3 || got.Checks[1] != (Check{Name: "store", Detail: "redis: connection refused"}) {
		t.Fatalf("format=json: %+v", got)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	if r := ta.get(t, "/readyz?format=xml"); r.status != 400 {
		t.Errorf("format=xml: %d; want 400", r.status)
	}

	f.set(Check{Name: "radius", OK: true})
	r = ta.get(t, "/readyz?format=json")
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 || !got.Ready {
		t.Fatalf("back: %d %q; want 200, ready", r.status, r.body)
	}

	// Each change of readiness is logged once; the same state again is
	// not.
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	if want := "ready,not ready,ready"; strings.Join(msgs, ",") != want {
		t.Errorf("logged %q; want %q", msgs, want)
	}
}

// A check that ignores its deadline does not hold the probe: 503 soon
// after the deadline, and a probe meanwhile shares the run in flight.
func TestReadyz_HungCheck(t *testing.T) {
	f := &fakeReady{hang: true, release: make(chan struct{})}
	defer close(f.release)
	f.set(Check{Name: "store", OK: true})
	ta := startHealthAdmin(t, f, zap.NewNop())
	start := time.Now()
	var wg sync.WaitGroup
	replies := make([]reply, 3)
	for i := range replies {
		wg.Go(func() { replies[i] = ta.get(t, "/readyz") })
	}
	wg.Wait()
	if el := time.Since(start); el > 3*readyzTimeout {
		t.Errorf("answered after %v; want about %v", el, readyzTimeout+readyzTimeout/2)
	}
	for _, r := range replies {
		if r.status != 503 || !strings.HasPrefix(r.body, "fail checks: no outcome within") {
			t.Errorf("hung check: %d %q; want 503, fail checks", r.status, r.body)
		}
	}
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if calls < 1 || calls > len(replies) {
		t.Errorf("Ready called %d times for %d probes", calls, len(replies))
	}
}

// The store check against a Redis that refuses connections: it fails in
// time, with a reason that names neither the address nor the password.
func TestReady_StoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const password = "pa55word-never-printed"
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: password, DialerRetries: 1, MaxRetries: -1})
	defer rdb.Close()
	a := &app{cfg: &Config{}, rdb: rdb}
	ctx, cancel := context.WithTimeout(context.Background(), readyzTimeout)
	defer cancel()
	checks := swxCommands{a: a}.Ready(ctx)
	want := []Check{{Name: "store", Detail: "redis: connection refused"}, {Name: "hss", OK: true, Detail: "local"}}
	if len(checks) != len(want) || checks[0] != want[0] || checks[1] != want[1] {
		t.Fatalf("Ready: %+v; want %+v", checks, want)
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, c := range checks {
		if strings.Contains(c.Detail, password) || strings.Contains(c.Detail, port) {
			t.Errorf("check %s's detail %q names the address or the password", c.Name, c.Detail)
		}
	}

	// The memory store: nothing to reach.
	a = &app{cfg: &Config{}}
	checks = swxCommands{a: a}.Ready(ctx)
	if len(checks) != 2 || checks[0] != (Check{Name: "store", OK: true, Detail: "memory"}) {
		t.Fatalf("memory store: %+v", checks)
	}
}

func TestHealthRedisReason(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{context.Background(), &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "user:pw@redis.example", IsNotFound: true}}, "network error"},
		{expired, context.DeadlineExceeded, "no answer within the deadline"},
		{context.Background(), redis.ErrPoolTimeout, "timeout"},
		{context.Background(), redis.ErrClosed, "client closed (shutting down)"},
		{context.Background(), redis.Nil, "error reply"},
	} {
		if got := healthRedisReason(tc.ctx, tc.err); got != tc.want {
			t.Errorf("healthRedisReason(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}

// A listener's check follows run's flag: not ready before the listeners
// are up, nor once the drain began.
func TestReady_Listening(t *testing.T) {
	a := &app{cfg: &Config{}, radius: &radius.Server{}}
	c := swxCommands{a: a}
	if got := c.Ready(context.Background())[0]; got.Name != "radius" || got.OK || got.Detail == "" {
		t.Fatalf("before run: %+v; want radius failing with a reason", got)
	}
	a.listening.Store(true)
	if got := c.Ready(context.Background())[0]; got != (Check{Name: "radius", OK: true}) {
		t.Fatalf("serving: %+v; want radius ok", got)
	}
}
