package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/internal/redistest"
	"github.com/aaa-project/aaa/store/redisstore"
)

// The demo subscribers' keys (configs/subscribers.csv: TS 35.208 sets).
var demo = []struct{ imsi, k, opc string }{
	{"001010000000001", "465b5ce8b199b49faa5f0a2ee238a6bc", "cd63cb71954a9f4e48a5994e37a02baf"},
	{"001010000000002", "0396eb317b6d1c36f19c1c84cd6ffd16", "53c15671c60a4b731c55b4a441c0bde2"},
	{"001010000000003", "fec86ba6eb707ed08905757b1bb44b8f", "1006020f0a478bf6b699f15c062e42b3"},
	{"001010000000004", "9e5944aea94b81165c82fbf9f32db751", "a64a507ae1a2a98bb88eb4210135dc87"},
}

// demoCSV is the demo subscribers, the second with SQN 0x20 (SEQ 1).
func demoCSV() string {
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	for i, d := range demo {
		sqn := "000000000000"
		if i == 1 {
			sqn = "000000000020"
		}
		fmt.Fprintf(&b, "%s,%s,%s,8000,%s\n", d.imsi, d.k, d.opc, sqn)
	}
	return b.String()
}

// Key-encryption keys of the tests.
var (
	kekOld = "2026 " + strings.Repeat("5e", 32)
	kekNew = "2027 " + strings.Repeat("a7", 32)
)

// ctlEnv is a real redis-server and an aaad configuration naming it: the
// whole file, sections aaactl does not read included.
type ctlEnv struct {
	t      *testing.T
	dir    string
	config string
	kek    string
	socket string
	rdb    redis.UniversalClient
	store  *redisstore.SubscriberStore
}

func newCtlEnv(t *testing.T) *ctlEnv {
	t.Helper()
	srv := redistest.Start(t)
	e := &ctlEnv{t: t, dir: t.TempDir(), socket: srv.Socket}
	e.kek = filepath.Join(e.dir, "kek")
	e.writeKEK(kekOld)
	e.config = e.file("aaad.yaml", fmt.Sprintf(`log: {level: debug, format: console}
radius:
  listen: 127.0.0.1:1812
  clients:
    - {name: lab, address: 127.0.0.0/8, secret: testing123}
eap:
  methods: [aka-prime, aka]
hss:
  backend: local
  key_file: %s
store:
  backend: redis
  redis:
    addrs: [%q]
admin: {listen: 127.0.0.1:9812}
`, e.kek, srv.Socket))
	cfg := redisstore.Config{Addrs: []string{srv.Socket}}
	cfg.SetDefaults()
	e.rdb = redisstore.NewClient(cfg)
	t.Cleanup(func() { e.rdb.Close() })
	e.store = redisstore.NewSubscriberStore(e.rdb, "")
	return e
}

// file writes a file of the test's own and returns its path.
func (e *ctlEnv) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// writeKEK replaces the key file with these "ID HEX64" lines.
func (e *ctlEnv) writeKEK(lines ...string) {
	e.t.Helper()
	if err := os.WriteFile(e.kek, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs aaactl --config (the env's) args.
func (e *ctlEnv) ctl(args ...string) result {
	return ctl(append([]string{"--config", e.config}, args...)...)
}

func ctl(args ...string) result {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) must(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (e *ctlEnv) dbSize() int64 {
	e.t.Helper()
	n, err := e.rdb.DBSize(context.Background()).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// sealer opens with the key file as it is now.
func (e *ctlEnv) sealer() *hss.Sealer {
	e.t.Helper()
	f, err := os.Open(e.kek)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	keks, err := hss.ReadKEKs(f)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := hss.NewSealer(keks)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// noKeys fails t if text holds any demo key.
func noKeys(t *testing.T, what, text string) {
	t.Helper()
	for _, d := range demo {
		if strings.Contains(text, d.k) || strings.Contains(text, d.opc) {
			t.Fatalf("%s holds a K or OPc:\n%s", what, text)
		}
	}
	if strings.Contains(text, "5e5e5e") || strings.Contains(text, "a7a7a7") {
		t.Fatalf("%s holds a key-encryption key:\n%s", what, text)
	}
}

// An import with bad rows names every one by its line, says nothing was
// written, and writes nothing; no message carries a key.
func TestSubscriberImport_EveryBadRowNothingWritten(t *testing.T) {
	e := newCtlEnv(t)
	good := func(imsi string) string { return imsi + "," + demo[0].k + "," + demo[0].opc + ",8000,000000000000" }
	rows := []struct {
		row  string
		want string // in the message for its line; "" for a good row
	}{
		{good("001010000000001"), ""},
		{good("0010100000000x2"), "column imsi: want 6 to 15 digits"},
		{good("12345"), "column imsi: want 6 to 15 digits"},
		{good("0010100000000011"), "column imsi: want 6 to 15 digits"},
		{"001010000000005," + demo[0].k[:30] + "," + demo[0].opc + ",8000,000000000000", "column k: want 32 hex digits"},
		{"001010000000006," + demo[0].k + "," + strings.Repeat("zz", 16) + ",8000,000000000000", "column opc: not hex"},
		{"001010000000007," + demo[0].k + "," + demo[0].opc + ",800,000000000000", "column amf: want 4 hex digits"},
		{"001010000000008," + demo[0].k + "," + demo[0].opc + ",8000,0000000000", "column sqn: want 12 hex digits"},
		{"# a comment is no row", ""},
		{good("001010000000001"), "IMSI listed twice (first on line 2)"},
		{"001010000000009," + demo[0].k + "," + demo[0].opc + ",8000", "wrong number of fields"},
		{good("001010000000010"), ""},
	}
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	bad := 0
	for _, r := range rows {
		b.WriteString(r.row + "\n")
		if r.want != "" {
			bad++
		}
	}
	name := e.file("subs.csv", b.String())
	res := e.ctl("subscriber", "import", name)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	for i, r := range rows {
		line := fmt.Sprintf("%s: line %d: ", name, i+2)
		switch {
		case r.want == "" && strings.Contains(res.stderr, line):
			t.Errorf("line %d is good but reported:\n%s", i+2, res.stderr)
		case r.want != "" && !strings.Contains(res.stderr, line+r.want):
			t.Errorf("stderr does not say %q:\n%s", line+r.want, res.stderr)
		}
	}
	if !strings.Contains(res.stderr, fmt.Sprintf("%d bad rows; nothing written", bad)) {
		t.Errorf("stderr does not sum up:\n%s", res.stderr)
	}
	noKeys(t, "stderr", res.stderr)
	if n := e.dbSize(); n != 0 {
		t.Fatalf("%d keys in Redis after a refused import", n)
	}
}

// Once the file is good, an IMSI already stored is a bad row (by line)
// and nothing is written; --update replaces keys and never lowers an SQN.
func TestSubscriberImport_StoredIMSIs(t *testing.T) {
	e := newCtlEnv(t)
	e.ctl("subscriber", "import", e.file("demo.csv", demoCSV())).must(t)
	more := e.file("more.csv", "imsi,k,opc,amf,sqn\n"+
		"001010000000009,"+demo[0].k+","+demo[0].opc+",8000,000000000000\n"+
		"001010000000002,"+demo[0].k+","+demo[0].opc+",9000,000000000000\n")
	res := e.ctl("subscriber", "import", more)
	if res.code != 1 || !strings.Contains(res.stderr, more+": line 3: IMSI stored already") ||
		!strings.Contains(res.stderr, "1 bad row; nothing written") || strings.Contains(res.stderr, "line 2") {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if _, err := e.store.Get(context.Background(), "001010000000009", aka.DefaultINDBits); err == nil {
		t.Fatal("the good row of a refused file was written")
	}
	// Flags after the file work as before it.
	e.ctl("subscriber", "import", more, "--update").must(t)
	show := e.ctl("subscriber", "show", "001010000000002").must(t).stdout
	if !strings.Contains(show, "amf     9000") || !strings.Contains(show, "sqn     000000000020 (SEQ 1, IND 0 of 5 bits)") {
		t.Fatalf("after --update (new AMF, SQN kept at 0x20):\n%s", show)
	}
	k, _, err := e.sealer().Open("001010000000002", e.record("001010000000002").Record.Sealed)
	if err != nil || fmt.Sprintf("%x", k[:]) != demo[0].k {
		t.Fatalf("--update did not replace the keys: %v", err)
	}
}

func (e *ctlEnv) record(imsi string) redisstore.Entry {
	e.t.Helper()
	got, err := e.store.Get(context.Background(), imsi, aka.DefaultINDBits)
	if err != nil {
		e.t.Fatalf("%s: %v", imsi, err)
	}
	return got
}

// show, list, export (with and without keys) and delete on an imported
// store.
func TestSubscriberCommands(t *testing.T) {
	e := newCtlEnv(t)
	res := e.ctl("subscriber", "import", e.file("demo.csv", demoCSV())).must(t)
	if res.stdout != "imported 4 subscribers from "+filepath.Join(e.dir, "demo.csv")+"\n" {
		t.Errorf("import said %q", res.stdout)
	}
	noKeys(t, "Redis", fmt.Sprint(e.rdb.Keys(context.Background(), "*").Val(), e.rdb.HGetAll(context.Background(), "aaa:s:{001010000000001}").Val()))
	withKeys := filepath.Join(e.dir, "export.csv")
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		check func(t *testing.T, r result)
	}{
		{"list", []string{"list"}, 0, func(t *testing.T, r result) {
			want := demo[0].imsi + "\n" + demo[1].imsi + "\n" + demo[2].imsi + "\n" + demo[3].imsi + "\n"
			if r.stdout != want {
				t.Errorf("list:\n%s", r.stdout)
			}
		}},
		{"show", []string{"show", demo[1].imsi}, 0, func(t *testing.T, r result) {
			want := "imsi    001010000000002\namf     8000\nsqn     000000000020 (SEQ 1, IND 0 of 5 bits)\nkey_id  2026\nopens   yes\n"
			if r.stdout != want {
				t.Errorf("show:\n%s\nwant:\n%s", r.stdout, want)
			}
		}},
		{"show unknown", []string{"show", "001019999999999"}, 1, func(t *testing.T, r result) {
			if !strings.Contains(r.stderr, "001019999999999: not stored") {
				t.Errorf("stderr: %s", r.stderr)
			}
		}},
		{"show not an IMSI", []string{"show", "00101x"}, 2, nil},
		{"export without keys", []string{"export"}, 0, func(t *testing.T, r result) {
			want := "imsi,amf,sqn\n001010000000001,8000,000000000000\n001010000000002,8000,000000000020\n" +
				"001010000000003,8000,000000000000\n001010000000004,8000,000000000000\n"
			if r.stdout != want {
				t.Errorf("export:\n%s", r.stdout)
			}
		}},
		{"export with keys", []string{"export", "--with-keys"}, 0, func(t *testing.T, r result) {
			if r.stdout != demoCSV() {
				t.Errorf("export --with-keys:\n%s\nwant:\n%s", r.stdout, demoCSV())
			}
		}},
		{"export with keys to a file", []string{"export", "--with-keys", "--out", withKeys}, 0, func(t *testing.T, r result) {
			fi, err := os.Stat(withKeys)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%v %v, want mode 0600", fi.Mode(), err)
			}
			data, _ := os.ReadFile(withKeys)
			subs, err := hss.ReadSubscribersCSV(bytes.NewReader(data))
			if err != nil || len(subs) != 4 || fmt.Sprintf("%x", subs[2].OPc[:]) != demo[2].opc || subs[1].SQN != 0x20 {
				t.Errorf("the export does not read back: %v", err)
			}
		}},
		{"export never overwrites", []string{"export", "--out", withKeys}, 2, func(t *testing.T, r result) {
			if !strings.Contains(r.stderr, "the file exists") {
				t.Errorf("stderr: %s", r.stderr)
			}
		}},
		{"delete", []string{"delete", demo[2].imsi}, 0, func(t *testing.T, r result) {
			if l := e.ctl("subscriber", "list").must(t).stdout; strings.Contains(l, demo[2].imsi) || strings.Count(l, "\n") != 3 {
				t.Errorf("list after delete:\n%s", l)
			}
		}},
		{"delete again", []string{"delete", demo[2].imsi}, 1, func(t *testing.T, r result) {
			if !strings.Contains(r.stderr, "not stored: "+demo[2].imsi) {
				t.Errorf("stderr: %s", r.stderr)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.ctl(append([]string{"subscriber"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !slices.Contains(tc.args, "--with-keys") {
				noKeys(t, "output", r.stdout+r.stderr)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// provision writes a new 0600 file of fresh keys, then stores them
// sealed: each record opens with the key file to the keys of the file.
func TestSubscriberProvision(t *testing.T) {
	e := newCtlEnv(t)
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			start := map[string]string{"csv": "001010000000100", "json": "001010000000200"}[format]
			out := filepath.Join(e.dir, "sims."+format)
			res := e.ctl("subscriber", "provision", "--count", "5", "--imsi-start", start, "--out", out, "--format", format).must(t)
			if !strings.Contains(res.stdout, "provisioned 5 subscribers") {
				t.Errorf("stdout: %s", res.stdout)
			}
			fi, err := os.Stat(out)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%v %v, want mode 0600", fi.Mode(), err)
			}
			data, _ := os.ReadFile(out)
			if strings.Contains(res.stdout+res.stderr, string(data[len(data)/2:len(data)/2+16])) {
				t.Fatal("the output quotes the file")
			}
			var subs []hss.Subscriber
			if format == "csv" {
				subs, err = hss.ReadSubscribersCSV(bytes.NewReader(data))
			} else {
				subs, err = readProvisionJSON(data)
			}
			if err != nil || len(subs) != 5 {
				t.Fatalf("%d subscribers, %v\n%s", len(subs), err, data)
			}
			sealer := e.sealer()
			ks := map[[16]byte]bool{}
			for i, s := range subs {
				if want := start[:len(start)-1] + fmt.Sprint(i); s.IMSI != want || s.AMF != 0x8000 || s.SQN != 0 {
					t.Fatalf("row %d: %s amf %04x sqn %d, want %s 8000 0", i, s.IMSI, s.AMF, s.SQN, want)
				}
				if [16]byte(s.K) == [16]byte(s.OPc) || ks[s.K] || s.K == ([16]byte{}) {
					t.Fatalf("keys not fresh: row %d", i)
				}
				ks[s.K] = true
				k, opc, err := sealer.Open(s.IMSI, e.record(s.IMSI).Record.Sealed)
				if err != nil || k != s.K || opc != s.OPc {
					t.Fatalf("%s: the stored record does not open to the file's keys (%v)", s.IMSI, err)
				}
			}
		})
	}
	before := e.dbSize()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"existing file", []string{"--count", "2", "--imsi-start", "001010000000300", "--out", filepath.Join(e.dir, "sims.csv")}, 2, "the file exists; it is never overwritten"},
		{"IMSIs stored already", []string{"--count", "3", "--imsi-start", "001010000000103", "--out", filepath.Join(e.dir, "overlap.csv")}, 1, "2 of the IMSIs are stored already (001010000000103-001010000000104); nothing written"},
		{"range past 15 digits", []string{"--count", "3", "--imsi-start", "999999999999998", "--out", filepath.Join(e.dir, "x.csv")}, 2, "the range would pass 999999999999999"},
		{"range past the start's length", []string{"--count", "2", "--imsi-start", "9999999", "--out", filepath.Join(e.dir, "x.csv")}, 2, "the range would pass 9999999 (7 digits)"},
		{"count zero", []string{"--count", "0", "--imsi-start", "001010000000300", "--out", filepath.Join(e.dir, "x.csv")}, 2, "--count: want 1 to"},
		{"short IMSI", []string{"--count", "1", "--imsi-start", "12345", "--out", filepath.Join(e.dir, "x.csv")}, 2, "--imsi-start: want an IMSI of 6 to 15 digits"},
		{"bad format", []string{"--count", "1", "--imsi-start", "001010000000300", "--out", filepath.Join(e.dir, "x.csv"), "--format", "xml"}, 2, "--format"},
		{"no out", []string{"--count", "1", "--imsi-start", "001010000000300"}, 2, "--out FILE is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.ctl(append([]string{"subscriber", "provision"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d saying %q\n%s", r.code, tc.code, tc.want, r.stderr)
			}
			if n := e.dbSize(); n != before {
				t.Fatalf("a refused provision changed Redis: %d keys, %d before", n, before)
			}
			if _, err := os.Stat(filepath.Join(e.dir, "overlap.csv")); err == nil {
				t.Fatal("a refused provision wrote its file")
			}
		})
	}
	t.Run("no store", func(t *testing.T) {
		out := filepath.Join(e.dir, "nostore.csv")
		r := ctl("subscriber", "provision", "--no-store", "--count", "3", "--imsi-start", "001010000000500", "--out", out).must(t)
		if !strings.Contains(r.stdout, "none stored (--no-store)") {
			t.Errorf("stdout: %s", r.stdout)
		}
		data, _ := os.ReadFile(out)
		if subs, err := hss.ReadSubscribersCSV(bytes.NewReader(data)); err != nil || len(subs) != 3 {
			t.Fatalf("%v", err)
		}
		if n := e.dbSize(); n != before {
			t.Fatal("--no-store stored")
		}
	})
}

func readProvisionJSON(data []byte) ([]hss.Subscriber, error) {
	var rows []struct{ IMSI, K, OPc, AMF, SQN string }
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("imsi,k,opc,amf,sqn\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", r.IMSI, r.K, r.OPc, r.AMF, r.SQN)
	}
	return hss.ReadSubscribersCSV(strings.NewReader(b.String()))
}

// Key rotation: with the new key first, rewrap seals every record under
// it, so that the old key can leave the key file and everything still
// opens. Without the rewrap, it would not.
func TestSubscriberRewrap(t *testing.T) {
	e := newCtlEnv(t)
	e.ctl("subscriber", "import", e.file("demo.csv", demoCSV())).must(t)
	e.writeKEK(kekNew, kekOld)
	// Before the rewrap the old key is still needed.
	if show := e.ctl("subscriber", "show", demo[0].imsi).must(t).stdout; !strings.Contains(show, "key_id  2026") {
		t.Fatalf("show:\n%s", show)
	}
	res := e.ctl("subscriber", "rewrap").must(t)
	if res.stdout != "4 records sealed again under key 2027, 0 already were, 0 deleted meanwhile, 0 failed\n" {
		t.Fatalf("rewrap said %q", res.stdout)
	}
	res = e.ctl("subscriber", "rewrap").must(t)
	if !strings.HasPrefix(res.stdout, "0 records sealed again under key 2027, 4 already were") {
		t.Fatalf("second rewrap said %q", res.stdout)
	}
	e.writeKEK(kekNew)
	for _, d := range demo {
		show := e.ctl("subscriber", "show", d.imsi).must(t).stdout
		if !strings.Contains(show, "key_id  2027") || !strings.Contains(show, "opens   yes") {
			t.Fatalf("after the old key left:\n%s", show)
		}
	}
	if got := e.ctl("subscriber", "export", "--with-keys").must(t).stdout; got != demoCSV() {
		t.Fatalf("the keys changed in the rewrap:\n%s", got)
	}
	// A record under a key the file no longer has is named, and rewrap
	// fails: that key must stay.
	e.writeKEK(kekOld)
	e.ctl("subscriber", "add", "--imsi", "001010000000099", "--k", demo[0].k, "--opc", demo[0].opc).must(t)
	e.writeKEK(kekNew)
	if show := e.ctl("subscriber", "show", "001010000000099").must(t).stdout; !strings.Contains(show, "opens   no") {
		t.Fatalf("a record under a key the file lacks:\n%s", show)
	}
	res = e.ctl("subscriber", "rewrap")
	if res.code != 1 || !strings.Contains(res.stderr, "001010000000099: does not open") || !strings.Contains(res.stderr, "keep every key") {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
}

// add stores one subscriber; again it is refused unless --update.
func TestSubscriberAdd(t *testing.T) {
	e := newCtlEnv(t)
	add := []string{"subscriber", "add", "--imsi", demo[0].imsi, "--k", demo[0].k, "--opc", demo[0].opc}
	if r := e.ctl(add...).must(t); r.stdout != "added "+demo[0].imsi+"\n" {
		t.Errorf("add said %q", r.stdout)
	}
	r := e.ctl(add...)
	if r.code != 1 || !strings.Contains(r.stderr, "is stored already: --update") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// The OP of TS 35.208 set 1 gives the same OPc.
	e.ctl("subscriber", "add", "--update", "--imsi", demo[0].imsi, "--k", demo[0].k, "--op", "cdc202d5123e20f62b6d676ac72cb318", "--amf", "b9b9", "--sqn", "000000000040").must(t)
	if got := e.ctl("subscriber", "export", "--with-keys").must(t).stdout; got != "imsi,k,opc,amf,sqn\n"+demo[0].imsi+","+demo[0].k+","+demo[0].opc+",b9b9,000000000040\n" {
		t.Fatalf("export:\n%s", got)
	}
	for _, bad := range [][]string{
		{"--imsi", demo[1].imsi, "--k", demo[0].k[:30], "--opc", demo[0].opc},
		{"--imsi", demo[1].imsi, "--k", demo[0].k},
		{"--imsi", "1234", "--k", demo[0].k, "--opc", demo[0].opc},
		{"--imsi", demo[1].imsi, "--k", demo[0].k, "--opc", demo[0].opc, "--amf", "zz00"},
	} {
		r := e.ctl(append([]string{"subscriber", "add"}, bad...)...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, r.code, r.stderr)
		}
		noKeys(t, "stderr", r.stderr)
	}
}

// What aaactl makes of the configuration: the memory store is refused
// with the way out, the key may come from the environment, a missing key
// or a bad file is named without quoting it.
func TestSubscriberConfig(t *testing.T) {
	e := newCtlEnv(t)
	socket := e.socket
	t.Setenv("AAACTL_TEST_KEK", kekNew+";"+kekOld)
	for _, tc := range []struct {
		name   string
		config string // "" for none
		args   []string
		code   int
		want   string
	}{
		{"memory store", "hss: {subscribers: subs.csv}\nstore: {backend: memory}\n", []string{"list"}, 1, "subscriber commands need store.backend: redis; with the memory store"},
		{"default store is memory", "hss: {subscribers: subs.csv}\n", []string{"list"}, 1, "need store.backend: redis"},
		{"no key", fmt.Sprintf("store: {backend: redis, redis: {addrs: [%q]}}\n", socket), []string{"list"}, 1, "hss.key_file or hss.key_env: one is required"},
		{"key file and key env", fmt.Sprintf("hss: {key_file: /k, key_env: AAACTL_TEST_KEK}\nstore: {backend: redis, redis: {addrs: [%q]}}\n", socket), []string{"list"}, 1, "hss.key_env: give key_file or key_env, not both"},
		{"key env", fmt.Sprintf("hss: {key_env: AAACTL_TEST_KEK}\nstore: {backend: redis, redis: {addrs: [%q]}}\n", socket), []string{"add", "--imsi", demo[0].imsi, "--k", demo[0].k, "--opc", demo[0].opc}, 0, ""},
		{"key env unset", fmt.Sprintf("hss: {key_env: AAACTL_TEST_NO_KEK}\nstore: {backend: redis, redis: {addrs: [%q]}}\n", socket), []string{"show", demo[0].imsi}, 1, "hss.key_env: the environment variable is not set"},
		{"bad redis section", "hss: {key_file: /k}\nstore: {backend: redis, redis: {addrs: [nowhere]}}\n", []string{"list"}, 1, "store.redis.addrs[0]: want host:port"},
		{"a secret of the wrong type is not quoted", "store: {backend: redis, redis: {addrs: [x:1], db: s3cretValue}}\n", []string{"list"}, 1, "config: a value of the wrong type on line 1"},
		{"not YAML, not quoted", "store: {redis: {password: \"s3cretValue}\n", []string{"list"}, 1, "config: not valid YAML"},
		{"no config", "", []string{"list"}, 2, "--config FILE is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"subscriber"}, tc.args...)
			if tc.config != "" {
				args = append([]string{"--config", e.file("c.yaml", tc.config)}, args...)
			}
			r := ctl(args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d saying %q\nstdout: %s\nstderr: %s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "s3cretValue") || strings.Contains(r.stderr, "AAACTL_TEST") {
				t.Fatalf("the error quotes the file: %s", r.stderr)
			}
			noKeys(t, "stderr", r.stderr)
		})
	}
	// The key from the environment: its first key sealed the record.
	if id, _ := hss.KeyID(e.record(demo[0].imsi).Record.Sealed); id != "2027" {
		t.Fatal("the record is not sealed under the first key of key_env")
	}
	// --config may follow the command.
	if r := ctl("subscriber", "list", "--config", e.config).must(t); r.stdout != demo[0].imsi+"\n" {
		t.Fatalf("list: %q", r.stdout)
	}
}
