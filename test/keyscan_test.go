package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/internal/redistest"
)

// A key scan: every key on every master Redis holds, read whole whatever
// its type, searched for the subscribers' K and OPc (and the key-encryption
// key) in every encoding a careless store might use. Stores must hold them
// sealed only.

// secret is a value that must never be found in Redis.
type secret struct {
	Name  string // "K of 001010000000081": never the value itself
	Value []byte
}

// needle is one encoding of (a part of) a secret.
type needle struct {
	secret   string
	encoding string
	text     []byte
}

// scanWindow is the shortest run of a secret searched for in raw bytes and
// hex: a store holding half a key leaks it too. 8 octets of a random key
// turn up by chance with probability 2^-64 a position.
const scanWindow = 8

// needles returns every encoding of s searched for: raw bytes and
// lowercase and uppercase hex of each scanWindow-long run of it, and
// base64 (standard and URL alphabets, with and without padding) of all of
// it, including the characters that encode it alone when it sits inside
// a longer encoded value (at an offset of 0, 1 or 2 modulo 3).
func needles(s secret) []needle {
	var out []needle
	add := func(enc string, text string) {
		out = append(out, needle{secret: s.Name, encoding: enc, text: []byte(text)})
	}
	v := s.Value
	w := min(scanWindow, len(v))
	for i := 0; i+w <= len(v); i++ {
		run := v[i : i+w]
		out = append(out, needle{secret: s.Name, encoding: "raw bytes", text: run})
		add("lowercase hex", hex.EncodeToString(run))
		add("uppercase hex", strings.ToUpper(hex.EncodeToString(run)))
	}
	for _, e := range []struct {
		name   string
		padded *base64.Encoding
	}{{"base64 std", base64.StdEncoding}, {"base64 URL", base64.URLEncoding}} {
		add(e.name+" padded", e.padded.EncodeToString(v))
		raw := e.padded.WithPadding(base64.NoPadding)
		add(e.name+" unpadded", raw.EncodeToString(v))
		for off := 0; off <= 2; off++ {
			// The characters whose 6 bits all come from v when v
			// follows off other octets: the same whatever those
			// are, and whatever follows.
			enc := raw.EncodeToString(append(make([]byte, off), v...))
			first := (8*off + 5) / 6
			end := (8*off + 8*len(v)) / 6
			add(fmt.Sprintf("%s unpadded at offset %d", e.name, off), enc[first:end])
		}
	}
	return out
}

// finding is a secret found in Redis.
type finding struct {
	Node, Key, Type, Where string // Where: the value, a field, a member...
	Secret, Encoding       string
}

func (f finding) String() string {
	return fmt.Sprintf("%s: key %q (%s) %s holds the %s as %s", f.Node, f.Key, f.Type, f.Where, f.Secret, f.Encoding)
}

// scanResult is what one node held.
type scanResult struct {
	Keys     map[string]string // key: type
	Findings []finding
}

// scanNode reads every key of one Redis node (SCAN, TYPE, then the whole
// value) and searches each part for every needle. A key of a type it
// cannot read fails the test: unread is not clean.
func scanNode(t *testing.T, ctx context.Context, name string, rdb *redis.Client, secrets []secret) scanResult {
	t.Helper()
	var all []needle
	for _, s := range secrets {
		all = append(all, needles(s)...)
	}
	res := scanResult{Keys: map[string]string{}}
	check := func(key, typ, where string, b []byte) {
		lower := bytes.ToLower(b)
		for _, n := range all {
			hay := b
			if strings.HasSuffix(n.encoding, "hex") {
				hay = lower // any case
				n.text = bytes.ToLower(n.text)
			}
			if bytes.Contains(hay, n.text) {
				res.Findings = append(res.Findings, finding{Node: name, Key: key, Type: typ, Where: where, Secret: n.secret, Encoding: n.encoding})
			}
		}
	}
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			t.Fatalf("%s: SCAN: %v", name, err)
		}
		for _, key := range keys {
			if _, done := res.Keys[key]; done {
				continue // SCAN may return a key twice
			}
			typ, err := rdb.Type(ctx, key).Result()
			if err != nil {
				t.Fatalf("%s: TYPE %q: %v", name, key, err)
			}
			res.Keys[key] = typ
			check(key, typ, "name", []byte(key))
			if err := readValue(ctx, rdb, key, typ, check); err != nil {
				t.Fatalf("%s: read %q (%s): %v", name, key, typ, err)
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	return res
}

// readValue hands every part of key's value to check.
func readValue(ctx context.Context, rdb *redis.Client, key, typ string, check func(key, typ, where string, b []byte)) error {
	var err error
	switch typ {
	case "none": // expired between SCAN and TYPE
	case "string":
		var v []byte
		if v, err = rdb.Get(ctx, key).Bytes(); err == nil {
			check(key, typ, "value", v)
		}
	case "hash":
		var m map[string]string
		if m, err = rdb.HGetAll(ctx, key).Result(); err == nil {
			for f, v := range m {
				check(key, typ, "field name "+fmt.Sprintf("%q", f), []byte(f))
				check(key, typ, "field "+fmt.Sprintf("%q", f), []byte(v))
			}
		}
	case "list":
		var l []string
		if l, err = rdb.LRange(ctx, key, 0, -1).Result(); err == nil {
			for i, v := range l {
				check(key, typ, fmt.Sprintf("element %d", i), []byte(v))
			}
		}
	case "set":
		var l []string
		if l, err = rdb.SMembers(ctx, key).Result(); err == nil {
			for _, v := range l {
				check(key, typ, "a member", []byte(v))
			}
		}
	case "zset":
		var l []redis.Z
		if l, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result(); err == nil {
			for _, z := range l {
				check(key, typ, "a member", []byte(fmt.Sprint(z.Member)))
			}
		}
	case "stream":
		var l []redis.XMessage
		if l, err = rdb.XRange(ctx, key, "-", "+").Result(); err == nil {
			for _, m := range l {
				for f, v := range m.Values {
					check(key, typ, "entry "+m.ID+" field name", []byte(f))
					check(key, typ, "entry "+m.ID+" field "+f, []byte(fmt.Sprint(v)))
				}
			}
		}
	default:
		return fmt.Errorf("type %q: the scan cannot read it", typ)
	}
	if errors.Is(err, redis.Nil) {
		return nil // expired between TYPE and the read
	}
	return err
}

// subscriberSecrets reads the K and OPc (or OP) of every subscriber of
// the CSV that aaad was given.
func subscriberSecrets(t *testing.T, csvPath string) []secret {
	t.Helper()
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", csvPath, err)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no subscribers", csvPath)
	}
	header := rows[0]
	var out []secret
	for _, row := range rows[1:] {
		var imsi string
		for i, col := range header {
			if col == "imsi" {
				imsi = row[i]
			}
		}
		for i, col := range header {
			if col != "k" && col != "opc" && col != "op" {
				continue
			}
			v, err := hex.DecodeString(row[i])
			if err != nil || len(v) != 16 {
				t.Fatalf("%s: subscriber %s: %s is not 16 octets of hex", csvPath, imsi, col)
			}
			out = append(out, secret{Name: map[string]string{"k": "K", "opc": "OPc", "op": "OP"}[col] + " of " + imsi, Value: v})
		}
	}
	return out
}

// requireNoSecrets scans every node and fails the test for every secret
// found. It returns the keys seen, by node, for the caller's own checks.
func requireNoSecrets(t *testing.T, nodes map[string]*redis.Client, secrets []secret) map[string]string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]string{}
	for name, rdb := range nodes {
		res := scanNode(t, ctx, name, rdb, secrets)
		for _, f := range res.Findings {
			t.Errorf("secret in Redis: %s", f)
		}
		for k, typ := range res.Keys {
			seen[k] = typ
		}
		t.Logf("%s: %d keys scanned", name, len(res.Keys))
	}
	if len(seen) == 0 {
		t.Fatal("the scan found no key at all: it looked in the wrong place")
	}
	return seen
}

// masterClients returns a client for every master of the cluster that
// seeds lead to, as the cluster itself reports them.
func masterClients(t *testing.T, seeds []string) map[string]*redis.Client {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	defer cc.Close()
	var mu sync.Mutex
	var addrs []string
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		addrs = append(addrs, c.Options().Addr)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if len(addrs) != len(seeds) {
		t.Fatalf("the cluster reports masters %v, want %d (every node a master)", addrs, len(seeds))
	}
	out := map[string]*redis.Client{}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		t.Cleanup(func() { c.Close() })
		out["master "+a] = c
	}
	return out
}

func randomSecret(t *testing.T, name string) secret {
	t.Helper()
	return secret{Name: name, Value: randomBytes(t, 16)}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	v := make([]byte, n)
	if _, err := rand.Read(v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every encoding the scan claims to search is found wherever it sits in a
// value: at any offset, with anything before and after it.
func TestScan_Encodings(t *testing.T) {
	s := randomSecret(t, "K")
	encs := map[string]func([]byte) string{
		"raw bytes":           func(b []byte) string { return string(b) },
		"lowercase hex":       hex.EncodeToString,
		"uppercase hex":       func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) },
		"base64 std padded":   base64.StdEncoding.EncodeToString,
		"base64 std unpadded": base64.RawStdEncoding.EncodeToString,
		"base64 URL padded":   base64.URLEncoding.EncodeToString,
		"base64 URL unpadded": base64.RawURLEncoding.EncodeToString,
	}
	ns := needles(s)
	for name, enc := range encs {
		for before := range 5 {
			for after := range 4 {
				v := append(append(bytes.Repeat([]byte{0xa5}, before), s.Value...), bytes.Repeat([]byte{0x5a}, after)...)
				hay := []byte("x" + enc(v) + "y")
				found := false
				for _, n := range ns {
					text := n.text
					h := hay
					if strings.HasSuffix(n.encoding, "hex") {
						text, h = bytes.ToLower(text), bytes.ToLower(hay)
					}
					found = found || bytes.Contains(h, text)
				}
				if !found {
					t.Errorf("%s of K after %d octets, before %d: not found", name, before, after)
				}
			}
		}
	}
	// Half the key, in the clear, is found too.
	half := string(s.Value[4:12])
	found := false
	for _, n := range ns {
		found = found || strings.Contains("--"+half+"--", string(n.text))
	}
	if !found {
		t.Error("8 octets of K in the clear: not found")
	}
	// And a value that holds none of it is clean.
	other := randomSecret(t, "other")
	for _, n := range ns {
		for _, enc := range encs {
			if strings.Contains(enc(other.Value), string(n.text)) {
				t.Errorf("an unrelated value matched %s", n.encoding)
			}
		}
	}
}

// The scanner finds secrets planted in a real Redis in every type and
// encoding, and nothing in clean keys: a scan that finds nothing after
// aaad ran means something.
func TestScan_FindsPlantedSecrets(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket})
	defer rdb.Close()
	ctx := context.Background()
	k, opc := randomSecret(t, "K of 001010000000099"), randomSecret(t, "OPc of 001010000000099")
	noise := randomSecret(t, "noise").Value
	withNoise := func(off int, v []byte) []byte {
		return append(append(append([]byte(nil), noise[:off]...), v...), noise[off:]...)
	}
	plant := map[string]string{} // key: encoding expected
	do := func(key, enc string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if enc != "" {
			plant[key] = enc
		}
	}
	do("plant:string:raw", "raw bytes", rdb.Set(ctx, "plant:string:raw", withNoise(3, k.Value), 0).Err())
	do("plant:string:half", "raw bytes", rdb.Set(ctx, "plant:string:half", withNoise(1, k.Value[8:]), 0).Err())
	do("plant:hash:hexupper", "uppercase hex", rdb.HSet(ctx, "plant:hash:hexupper", "f", "x"+strings.ToUpper(hex.EncodeToString(opc.Value))).Err())
	do("plant:hash:fieldname", "lowercase hex", rdb.HSet(ctx, "plant:hash:fieldname", hex.EncodeToString(k.Value), "v").Err())
	do("plant:list:url", "base64 URL unpadded at offset 1", rdb.RPush(ctx, "plant:list:url", "a", base64.RawURLEncoding.EncodeToString(withNoise(1, k.Value))).Err())
	do("plant:set:std", "base64 std padded", rdb.SAdd(ctx, "plant:set:std", "m", base64.StdEncoding.EncodeToString(opc.Value)).Err())
	do("plant:zset:std2", "base64 std unpadded at offset 2", rdb.ZAdd(ctx, "plant:zset:std2", redis.Z{Score: 1, Member: base64.RawStdEncoding.EncodeToString(withNoise(2, k.Value))}).Err())
	do("plant:string:urlpad", "base64 URL padded", rdb.Set(ctx, "plant:string:urlpad", base64.URLEncoding.EncodeToString(opc.Value), 0).Err())
	do("plant:stream", "lowercase hex", rdb.XAdd(ctx, &redis.XAddArgs{Stream: "plant:stream", Values: []string{"k", hex.EncodeToString(k.Value)}}).Err())
	keyName := "plant:name:" + hex.EncodeToString(opc.Value)
	do(keyName, "lowercase hex", rdb.Set(ctx, keyName, "v", 0).Err())
	// Clean keys of every type, holding other random values.
	do("clean:string", "", rdb.Set(ctx, "clean:string", noise, 0).Err())
	do("clean:hash", "", rdb.HSet(ctx, "clean:hash", "k", hex.EncodeToString(noise), "b", base64.StdEncoding.EncodeToString(noise)).Err())
	do("clean:list", "", rdb.RPush(ctx, "clean:list", noise).Err())
	do("clean:set", "", rdb.SAdd(ctx, "clean:set", noise).Err())
	do("clean:zset", "", rdb.ZAdd(ctx, "clean:zset", redis.Z{Score: 2, Member: noise}).Err())

	res := scanNode(t, ctx, "planted", rdb, []secret{k, opc})
	if len(res.Keys) != 15 {
		t.Errorf("scanned %d keys, want 15: %v", len(res.Keys), res.Keys)
	}
	got := map[string][]string{}
	for _, f := range res.Findings {
		got[f.Key] = append(got[f.Key], f.Encoding)
	}
	for key, enc := range plant {
		if !slices.Contains(got[key], enc) {
			t.Errorf("planted %s in %q: found %v", enc, key, got[key])
		}
	}
	for key := range got {
		if _, ok := plant[key]; !ok {
			t.Errorf("clean key %q reported: %v", key, got[key])
		}
	}
}

// kekSecret is the key-encryption key of a hss.key_file line "ID HEX64".
func kekSecret(t *testing.T, keyFile string) secret {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		t.Fatalf("%s: want ID HEX64", keyFile)
	}
	v, err := hex.DecodeString(fields[1])
	if err != nil {
		t.Fatalf("%s: %v", keyFile, err)
	}
	return secret{Name: "key-encryption key " + fields[0], Value: v}
}

// serverSecrets is what the scan looks for after aaad ran with s: every
// subscriber's K and OPc, from the CSV it was given, and its KEK.
func serverSecrets(t *testing.T, s *server, keyFile string) []secret {
	t.Helper()
	out := subscriberSecrets(t, filepath.Join(filepath.Dir(s.CfgPath), "subscribers.csv"))
	return append(out, kekSecret(t, keyFile))
}
