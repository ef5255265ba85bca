package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/configs"
)

const (
	reloadK   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	reloadOPc = "cd63cb71954a9f4e48a5994e37a02baf"
)

// reloadFixture is an app on the memory store whose configuration and
// subscriber file live in a temporary directory the test rewrites.
type reloadFixture struct {
	a        *app
	cfgPath  string
	subsPath string
}

func newReloadFixture(t *testing.T, rows ...string) *reloadFixture {
	t.Helper()
	dir := t.TempDir()
	f := &reloadFixture{cfgPath: filepath.Join(dir, "aaad.yaml"), subsPath: filepath.Join(dir, "subscribers.csv")}
	f.writeSubscribers(t, rows...)
	f.writeConfig(t, "testing123", "info")
	data, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.a, err = newApp(cfg, nil); err != nil {
		t.Fatal(err)
	}
	f.a.source = func() ([]byte, error) { return os.ReadFile(f.cfgPath) }
	return f
}

func (f *reloadFixture) writeConfig(t *testing.T, secret, level string) {
	t.Helper()
	cfg := fmt.Sprintf("radius:\n  clients:\n    - {name: lab, address: 127.0.0.0/8, secret: %s}\nhss:\n  subscribers: %s\nlog: {level: %s}\n",
		secret, f.subsPath, level)
	if err := os.WriteFile(f.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeSubscribers writes rows "IMSI,SQN" (SQN in hex), all with the same
// keys.
func (f *reloadFixture) writeSubscribers(t *testing.T, rows ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	for _, r := range rows {
		imsi, sqn, _ := strings.Cut(r, ",")
		fmt.Fprintf(&b, "%s,%s,%s,8000,%s\n", imsi, reloadK, reloadOPc, sqn)
	}
	if err := os.WriteFile(f.subsPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A reload re-reads hss.subscribers: new subscribers come, removed ones
// go, and an SQN issued is never lowered by the file's.
func TestReload_SubscribersKeepSQNs(t *testing.T) {
	f := newReloadFixture(t, "001010000000001,000000000000", "001010000000002,000000000000")
	const indBits = 5
	var issued aka.SQN
	for range 3 {
		var err error
		if _, issued, err = f.a.rl.subs.AdvanceSQN(context.Background(), "001010000000001", indBits); err != nil {
			t.Fatal(err)
		}
	}
	f.writeSubscribers(t, "001010000000001,000000000000", "001010000000003,000000001000")
	sum, err := f.a.reload()
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.Subscribers; s == nil || *s != (subscribersReloaded{Count: 2, Added: 1, Removed: 1}) {
		t.Fatalf("subscribers: %+v", s)
	}
	if !strings.Contains(strings.Join(sum.Reloaded, ","), "hss.subscribers") || len(sum.Restart) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if sqn, _ := f.a.rl.subs.SQN("001010000000001"); sqn != issued {
		t.Errorf("SQN %#x after the reload, want %#x: never lowered", sqn, issued)
	}
	if sqn, ok := f.a.rl.subs.SQN("001010000000003"); !ok || sqn != 0x1000 {
		t.Errorf("new subscriber: %#x %v", sqn, ok)
	}
	if _, ok := f.a.rl.subs.SQN("001010000000002"); ok {
		t.Error("a subscriber removed from the file is still there")
	}
}

// A reload with any part broken applies nothing: not the log level, not
// the clients, not the subscribers.
func TestReload_RefusedWhole(t *testing.T) {
	f := newReloadFixture(t, "001010000000001,000000000000")
	f.writeConfig(t, "another-secret", "debug")
	f.writeSubscribers(t, "001010000000001,000000000000", "001010000000001,000000000000") // twice
	_, err := f.a.reload()
	var re *reloadError
	if !errors.As(err, &re) || !re.invalid || !strings.Contains(err.Error(), "hss.subscribers") {
		t.Fatalf("err = %v, want an invalid configuration naming hss.subscribers", err)
	}
	if f.a.level.Level() != zapcore.InfoLevel || f.a.cfg.RADIUS.Clients[0].Secret != "testing123" {
		t.Errorf("applied in part: level %v", f.a.level.Level())
	}
	if f.a.rl.subs.Len() != 1 {
		t.Errorf("subscribers %d, want 1", f.a.rl.subs.Len())
	}

	// A bad secret (too short) is refused, named, and not printed.
	f.writeSubscribers(t, "001010000000001,000000000000")
	f.writeConfig(t, "abc12", "debug")
	if _, err = f.a.reload(); err == nil || !strings.Contains(err.Error(), "radius.clients[0].secret") || strings.Contains(err.Error(), "abc12") {
		t.Fatalf("err = %v", err)
	}
	if f.a.level.Level() != zapcore.InfoLevel {
		t.Error("log level applied from a refused configuration")
	}

	// Fixed, it applies.
	f.writeConfig(t, "another-secret", "debug")
	sum, err := f.a.reload()
	if err != nil {
		t.Fatal(err)
	}
	if f.a.level.Level() != zapcore.DebugLevel || sum.LogLevel != "debug" || sum.Clients != 1 {
		t.Errorf("summary %+v, level %v", sum, f.a.level.Level())
	}
}

type fakeReloadCmds struct {
	fakeCmds
	sum   *reloadSummary
	err   error
	calls int
}

func (c *fakeReloadCmds) Reload() (*reloadSummary, error) { c.calls++; return c.sum, c.err }

func TestAdminReload(t *testing.T) {
	ok := &fakeReloadCmds{sum: &reloadSummary{Reloaded: []string{"radius.clients", "log.level"}, Clients: 2, LogLevel: "info",
		Subscribers: &subscribersReloaded{Count: 3, Added: 1, Removed: 1}}}
	for _, tc := range []struct {
		name   string
		cmds   *fakeReloadCmds
		body   string
		status int
		want   string
	}{
		{"empty object", ok, "{}", http.StatusOK, `"reloaded":["radius.clients","log.level"]`},
		{"no body", ok, "", http.StatusOK, `"subscribers":{"count":3,"added":1,"removed":1}`},
		{"unknown field", ok, `{"x": 1}`, http.StatusBadRequest, "want a JSON body"},
		{"invalid", &fakeReloadCmds{err: &reloadError{what: "invalid configuration", invalid: true, err: errors.New("radius.clients[0].secret: too short")}},
			"{}", http.StatusBadRequest, "reload refused: invalid configuration: radius.clients[0].secret"},
		{"unreadable", &fakeReloadCmds{err: &reloadError{what: "cannot read the configuration", err: os.ErrPermission}},
			"{}", http.StatusInternalServerError, "cannot read the configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, tc.cmds)
			r := ta.post(t, "/v1/reload", tc.body, nil)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Fatalf("%d %s; want %d and %s", r.status, r.body, tc.status, tc.want)
			}
			var ans struct {
				OK bool `json:"ok"`
			}
			if err := json.Unmarshal([]byte(r.body), &ans); err != nil || ans.OK != (tc.status == http.StatusOK) {
				t.Errorf("answer %s", r.body)
			}
		})
	}
	// Without the reload command, no route.
	ta := startTestAdmin(t, AdminConfig{Listen: unixListen(t)}, &fakeCmds{})
	if r := ta.post(t, "/v1/reload", "{}", nil); r.status != http.StatusNotFound {
		t.Errorf("without Reload: %d %s", r.status, r.body)
	}
}

// With identity privacy on at start, a reload swaps the keys behind the
// EAP server's decrypter; a key file that does not load refuses it.
func TestReload_IdentityPrivacyKeys(t *testing.T) {
	dir := t.TempDir()
	writeKey := func(name string) string {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k1, k2 := writeKey("k1.pem"), writeKey("k2.pem")
	cfgPath := filepath.Join(dir, "aaad.yaml")
	write := func(keys string) {
		if err := os.WriteFile(cfgPath, []byte(minimal+"eap: {identity_privacy: {keys: ["+keys+"]}}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("{id: a, file: " + k1 + "}")
	data, _ := os.ReadFile(cfgPath)
	cfg, err := loadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, configs.FS)
	if err != nil {
		t.Fatal(err)
	}
	a.source = func() ([]byte, error) { return os.ReadFile(cfgPath) }
	before := a.rl.identities.d.Load()
	if before == nil {
		t.Fatal("no decrypter behind the holder")
	}

	write("{id: a, file: " + k1 + "}, {id: b, file: " + filepath.Join(dir, "missing.pem") + "}")
	if _, err := a.reload(); err == nil || !strings.Contains(err.Error(), "eap.identity_privacy.keys[1].file") {
		t.Fatalf("err = %v", err)
	}
	if a.rl.identities.d.Load() != before {
		t.Fatal("keys swapped by a refused reload")
	}

	write("{id: a, file: " + k1 + "}, {id: b, file: " + k2 + "}")
	sum, err := a.reload()
	if err != nil {
		t.Fatal(err)
	}
	if sum.IdentityPrivacyKeys == nil || *sum.IdentityPrivacyKeys != 2 || a.rl.identities.d.Load() == before || len(sum.Restart) != 0 {
		t.Fatalf("summary %+v", sum)
	}
}
