package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aaa-project/aaa/configs"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/milenage"
)

const minimal = `
radius:
  clients:
    - {name: lab, address: 127.0.0.0/8, secret: testing123}
hss:
  subscribers: configs/subscribers.csv
`

func TestLoadConfig_Defaults(t *testing.T) {
	cfg, err := loadConfig([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RADIUS.Listen != "127.0.0.1:1812" || cfg.EAP.NetworkName != "WLAN" ||
		len(cfg.EAP.Methods) != 2 || cfg.EAP.ConversationTimeout.Seconds() != 60 ||
		cfg.Store.Backend != "memory" || *cfg.HSS.INDBits != 5 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestLoadConfig_ErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top-level key", minimal + "radiuss: {}\n", "radiuss: unknown key"},
		{"unknown nested key", strings.Replace(minimal, "radius:\n", "radius:\n  lisen: 1.2.3.4:1\n", 1), "radius.lisen: unknown key"},
		{"unknown key in a list item", strings.Replace(minimal, "secret: testing123", "secret: testing123, secet: x", 1), "radius.clients[0].secet: unknown key"},
		{"bad method", minimal + "eap: {methods: [aka, sim]}\n", "eap.methods[1]"},
		{"bad backend", strings.Replace(minimal, "hss:\n", "hss:\n  backend: swx\n", 1), "hss.backend"},
		{"bad store", minimal + "store: {backend: mongo}\n", "store.backend"},
		{"redis without a key file", minimal + "store: {backend: redis, redis: {addrs: [\"127.0.0.1:6379\"]}}\n", "hss.key_file or hss.key_env: one is required with store.backend redis"},
		{"redis without addresses", minimal + "store: {backend: redis}\n", "store.redis.addrs"},
		{"key_file and key_env", strings.Replace(minimal, "hss:\n", "hss:\n  key_file: /k\n  key_env: AAAD_KEK\n", 1), "hss.key_env: give key_file or key_env, not both"},
		{"keys where key_env's name belongs", strings.Replace(minimal, "hss:\n", "hss:\n  key_env: \"2026 "+strings.Repeat("5e", 32)+"\"\n", 1), "hss.key_env: want the name of an environment variable"},
		{"bad level", minimal + "log: {level: loud}\n", "log.level"},
		{"negative timeout", minimal + "eap: {conversation_timeout: -1s}\n", "eap.conversation_timeout"},
		{"admin not loopback", minimal + "admin: {listen: 0.0.0.0:9812}\n", "admin.listen: must be a loopback"},
		{"no clients", "hss: {subscribers: x.csv}\n", "radius.clients"},
		{"not yaml", "radius: [", "config:"},
		{"wrong type does not echo the value", minimal + "eap: {max_conversations: testing123}\n", "eap.max_conversations (line 7): cannot unmarshal a string into int"},
		{"unknown key under eap after inline fields", minimal + "eap: {fast_reauth: {max_cuont: 3}}\n", "eap.fast_reauth.max_cuont: unknown key"},
		{"unknown key in identity privacy", minimal + "eap: {identity_privacy: {keys: [{id: a, fil: x.pem}]}}\n", "eap.identity_privacy.keys[0].fil: unknown key"},
		{"stateless pseudonyms without keys", minimal + "eap: {pseudonyms: {stateless: true}}\n", "eap.pseudonyms.keys"},
		{"pseudonym key not hex", minimal + "eap: {pseudonyms: {stateless: true, keys: [{id: 1, key: zz}]}}\n", "eap.pseudonyms.keys[0].key"},
		{"reauth max count zero after default", minimal + "eap: {fast_reauth: {max_count: -1}}\n", "eap.fast_reauth.max_count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "testing123") {
				t.Error("error quotes a secret")
			}
		})
	}
}

// The example file is the built-in default: both must load and wire.
func TestExampleConfigIsTheDefault(t *testing.T) {
	embedded, err := fs.ReadFile(configs.FS, configs.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile("../../configs/aaad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(embedded) != string(onDisk) {
		t.Fatal("embedded default differs from configs/aaad.yaml")
	}
	cfg, err := loadConfig(embedded)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, configs.FS)
	if err != nil {
		t.Fatal(err)
	}
	if a.radius == nil {
		t.Fatal("not wired")
	}
}

func TestNewApp_IdentityPrivacyKeyFileErrorNamesTheKey(t *testing.T) {
	cfg, err := loadConfig([]byte(minimal + "eap: {identity_privacy: {keys: [{id: a, file: /nonexistent/k.pem}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newApp(cfg, configs.FS)
	if err == nil || !strings.Contains(err.Error(), "eap.identity_privacy.keys[0]") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadConfig_FeatureDefaultsOn(t *testing.T) {
	cfg, err := loadConfig([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.EAP.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Pseudonyms.Enabled || !sc.FastReauth.Enabled || !sc.ResultIndications || sc.Pseudonyms.Sealed != nil {
		t.Errorf("defaults: %+v", sc)
	}
	cfg, err = loadConfig([]byte(minimal + "eap: {pseudonyms: {enabled: false}, fast_reauth: {enabled: false}, result_indications: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc, _ = cfg.EAP.ServerConfig(); sc.Pseudonyms.Enabled || sc.FastReauth.Enabled || sc.ResultIndications {
		t.Errorf("disabled: %+v", sc)
	}
}

// canary stands for a secret typed into the wrong place. No error may quote
// it, or any part of it.
const canary = "Sup3rS3cretValue"

func quotesCanary(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "sup3r") || strings.Contains(s, "s3cret") || strings.Contains(s, "cretval")
}

// A client written with the canary in every way a secret can end up in the
// wrong place, and the canary as the key or value of every other key.
func TestLoadConfig_NeverEchoesAValue(t *testing.T) {
	client := func(fields string) string {
		return "radius:\n  clients:\n    - {" + fields + "}\nhss: {subscribers: configs/subscribers.csv}\n"
	}
	cases := []struct{ name, yaml string }{
		// A forgotten "secret:": the secret becomes a key with no value.
		{"secret as a key (flow)", client("name: lab, address: 127.0.0.0/8, " + canary)},
		{"secret as a key (block)", "radius:\n  clients:\n    - name: lab\n      address: 127.0.0.0/8\n      " + canary + ":\n"},
		{"secret as a key, no space after the colon", client("name: lab, address: 127.0.0.0/8, secret:" + canary)},
		{"secret as a key, no colon", client("name: lab, address: 127.0.0.0/8, secret " + canary)},
		{"secret as a key in block style, no colon", "radius:\n  clients:\n    - name: lab\n      address: 127.0.0.0/8\n      " + canary + "\n"},
		{"secret as a key twice", client(canary + ": 1, " + canary + ": 2")},
		{"secret as a list key", "radius:\n  clients:\n    - ? [" + canary + "]\n      : x\n"},
		{"secret as the name of a merge", "radius:\n  clients:\n    - {<<: {" + canary + ": 1}}\n"},
		{"secret as an alias", client("name: lab, address: 127.0.0.0/8, secret: *" + canary)},
		{"secret as an anchor on a bad value", minimal + "radius: {workers: &" + canary + " many}\n"},
		{"secret as a tag", minimal + "eap: {max_conversations: !" + canary + " 5}\n"},
		{"secret as a tag on a string", client("name: lab, address: 127.0.0.0/8, secret: !" + canary + " x")},
		{"secret unterminated", client("name: lab, address: 127.0.0.0/8, secret: \"" + canary)},
		{"secret with a space", client("name: lab, address: 127.0.0.0/8, secret: \"" + canary + " \"")},
		{"secret in the address", client("name: lab, address: " + canary + ", secret: " + canary)},
		{"secret in the address prefix", client("name: lab, address: 10.0.0.0/" + canary + ", secret: " + canary)},
		{"secret as the name, twice", "radius:\n  clients:\n    - {name: " + canary + ", address: 10.0.0.0/8, secret: " + canary + "}\n    - {name: " + canary + ", address: 10.0.0.0/8, secret: " + canary + "}\n"},
		{"secret with quotes and backticks", minimal + "eap: {max_conversations: \"" + canary + "`'\\\"x\"}\n"},
		{"secret in a second document", minimal + "---\n" + canary + ": *" + canary + "\n"},
		{"secret in a second document, bad syntax", minimal + "---\n" + canary + ": [\n"},
		{"secret as a top-level key", minimal + canary + ": 1\n"},
		{"secret as the whole file", canary + "\n"},
		{"secret as a list file", "- " + canary + "\n"},
		{"secret in the store", minimal + "store: {backend: " + canary + "}\n"},
		{"secret in the hss backend", "hss: {backend: " + canary + "}\n" + strings.SplitN(minimal, "hss:", 2)[0]},
		{"secret in a method", minimal + "eap: {methods: [aka, " + canary + "]}\n"},
		{"secret as a pseudonym key", minimal + "eap: {pseudonyms: {stateless: true, keys: [{id: 1, key: " + canary + "}]}}\n"},
		{"secret as an identity privacy key id", minimal + "eap: {identity_privacy: {keys: [{id: \"" + canary + " x\", file: a.pem}]}}\n"},
		{"secret as two identity privacy key ids", minimal + "eap: {identity_privacy: {keys: [{id: " + canary + ", file: a.pem}, {id: " + strings.ToLower(canary) + ", file: b.pem}]}}\n"},
		{"secret as an identity privacy key", minimal + "eap: {identity_privacy: {keys: [{" + canary + "}]}}\n"},
	}
	// The canary as the value, and as a key under, every key of the file.
	for _, leaf := range leafPaths(reflect.TypeOf(Config{}), nil) {
		for _, v := range []struct {
			name string
			v    any
		}{
			{"value", canary},
			{"value with quotes", canary + "`'\""},
			{"key under it", map[string]any{canary: 1}},
			{"list", []any{canary}},
		} {
			doc, err := yaml.Marshal(nest(leaf, v.v))
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, struct{ name, yaml string }{strings.Join(leaf, ".") + " " + v.name, minimal + string(doc)})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]byte(tc.yaml))
			if err == nil {
				return // a string where a string goes, and nothing wrong with it
			}
			if quotesCanary(err.Error()) {
				t.Errorf("error quotes the secret:\n%v\n--- config:\n%s", err, tc.yaml)
			}
		})
	}
}

// leafPaths lists the keys of every field of t that holds a value, a list
// element as "[]".
func leafPaths(t reflect.Type, prefix []string) [][]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeOf(time.Duration(0)):
		var out [][]string
		for _, k := range yamlKeys(t) {
			f, _ := fieldByTag(t, k)
			out = append(out, leafPaths(f.Type, append(append([]string(nil), prefix...), k))...)
		}
		return out
	case t.Kind() == reflect.Slice:
		return append([][]string{prefix}, leafPaths(t.Elem(), append(append([]string(nil), prefix...), "[]"))...)
	}
	return [][]string{prefix}
}

func nest(path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	if path[0] == "[]" {
		return []any{nest(path[1:], v)}
	}
	return map[string]any{path[0]: nest(path[1:], v)}
}

// An unknown key is printed only when it is plainly a typo of a known key;
// otherwise the error gives its place and the keys that are valid there.
func TestLoadConfig_UnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
		quoted           string // must not appear
	}{
		{"forgotten secret key", "radius:\n  clients:\n    - {name: lab, address: 127.0.0.0/8, Sup3rS3cretValue}\n",
			"radius.clients[0]: unknown key (line 3, column 41); valid keys: name, address, secret, max_conversations, duplicate_cache_size", canary},
		{"typo", "radius:\n  clients:\n    - {name: lab, address: 127.0.0.0/8, secet: testing123}\n",
			`radius.clients[0].secet: unknown key (line 3, column 41); did you mean "secret"?`, "testing123"},
		{"typo, letter case", "Radius: {}\n", `Radius: unknown key (line 1, column 1); did you mean "radius"?`, ""},
		{"typo, transposition", minimal + "eap: {fast_reauth: {max_cuont: 3}}\n", `eap.fast_reauth.max_cuont: unknown key (line 7, column 21); did you mean "max_count"?`, ""},
		{"typo, two edits in a long key", minimal + "eap: {max_convrsatons: 3}\n", `eap.max_convrsatons: unknown key (line 7, column 7); did you mean "max_conversations"?`, ""},
		{"two edits in a short key is not plainly a typo", minimal + "eap: {methds2: [aka]}\n", "eap: unknown key (line 7, column 7); valid keys: methods, network_name,", "methds2"},
		{"a near miss of a two-letter key", minimal + "eap: {identity_privacy: {keys: [{ix: a, file: a.pem}]}}\n", "eap.identity_privacy.keys[0]: unknown key (line 7, column 34); valid keys: id, file", "ix"},
		{"secret-like key close to a key", "radius:\n  clients:\n    - {name: lab, address: 127.0.0.0/8, secret12}\n", "radius.clients[0]: unknown key (line 3, column 41)", "secret12"},
		{"top level", minimal + "Sup3rS3cretValue: 1\n", "config: unknown key (line 7, column 1); valid keys: log, radius, eap, hss, diameter, diameter_eap, store, admin, shutdown_grace", canary},
		{"key with punctuation", minimal + "log: {level.x: info}\n", "log: unknown key (line 7, column 7); valid keys: level, format", "level.x"},
		{"merge key", minimal + "log: {<<: {level: info}}\n", "log: merge keys (<<) are not supported (line 7, column 7)", ""},
		{"known key twice", minimal + "log: {level: info, level: debug}\n", "log.level: set twice (lines 7 and 7)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if tc.quoted != "" && strings.Contains(err.Error(), tc.quoted) {
				t.Errorf("error quotes %q: %v", tc.quoted, err)
			}
		})
	}
}

// A value of the wrong type is reported with the key it belongs to, its line
// and what is wanted, never the value.
func TestLoadConfig_TypeErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"string into int", "radius:\n  clients: [{name: lab, address: 127.0.0.0/8, secret: testing123}]\neap:\n  methods: [aka]\n  max_conversations: lots\n",
			"eap.max_conversations (line 5): cannot unmarshal a string into int"},
		{"several on one line", "hss: {subscribers: x.csv}\nradius: {workers: x, read_buffer: y, clients: []}\n",
			"radius.workers (line 2): cannot unmarshal a string into int\nradius.read_buffer (line 2): cannot unmarshal a string into int"},
		{"section twice", minimal + "radius: {workers: 2}\n", "radius: set twice (lines 2 and 7)"},
		{"in a list item", "radius:\n  clients:\n    - {name: lab, address: 127.0.0.0/8, secret: testing123, max_conversations: [1]}\n",
			"radius.clients[0].max_conversations (line 3): cannot unmarshal a list into int"},
		{"duration", minimal + "eap:\n  conversation_timeout: 60\n", "eap.conversation_timeout (line 8): cannot unmarshal an integer into a duration (like 30s or 5m)"},
		{"bool", minimal + "eap: {pseudonyms: {stateless: maybe}}\n", "eap.pseudonyms.stateless (line 7): cannot unmarshal a string into bool"},
		{"out of range", minimal + "eap: {pseudonyms: {keys: [{id: 300, key: 00}]}}\n", "eap.pseudonyms.keys[0].id (line 7): cannot unmarshal an integer out of range into uint8"},
		{"mapping into a string", minimal + "log: {level: {x: 1}}\n", "log.level (line 7): cannot unmarshal a mapping into string"},
		{"string into a list", minimal + "eap: {methods: aka}\n", "eap.methods (line 7): cannot unmarshal a string into a list"},
		{"list into a section", minimal + "store: [memory]\n", "store (line 7): cannot unmarshal a list into a mapping"},
		{"not a mapping at all", "hello\n", "config (line 1): cannot unmarshal a string into a mapping"},
		{"through an alias", minimal + "x_: &n many\n", "config: unknown key"},
		{"second document", minimal + "---\nlog: {level: debug}\n", "config: line 7: a second YAML document; aaad reads only one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// Wrong settings are refused, naming the key; the edges of each range load.
func TestLoadConfig_Hazards(t *testing.T) {
	clients := func(cs ...string) string {
		return "radius:\n  clients:\n" + "    - " + strings.Join(cs, "\n    - ") + "\nhss: {subscribers: configs/subscribers.csv}\n"
	}
	lab := "{name: lab, address: 127.0.0.0/8, secret: a-long-random-secret}"
	for _, tc := range []struct{ name, yaml, want string }{
		{"host bits", clients("{name: lab, address: 10.1.2.3/8, secret: a-long-random-secret}"), "radius.clients[0].address: host bits set; did you mean 10.0.0.0/8?"},
		{"host bits v6", clients("{name: lab, address: \"2001:db8::1/32\", secret: a-long-random-secret}"), "radius.clients[0].address: host bits set; did you mean 2001:db8::/32?"},
		{"same prefix twice", clients(lab, "{name: ap, address: 10.0.0.0/8, secret: a-long-random-secret}", "{name: ap2, address: 127.0.0.0/8, secret: another-long-secret}"),
			"radius.clients[2].address: duplicate of clients[0].address (after masking)"},
		{"same host twice", clients(lab, "{name: ap, address: 10.0.0.1, secret: a-long-random-secret}", "{name: ap2, address: 10.0.0.1/32, secret: another-long-secret}"),
			"radius.clients[2].address: duplicate of clients[1].address"},
		{"same name twice", clients(lab, "{name: lab, address: 10.0.0.1, secret: a-long-random-secret}"), "radius.clients[1].name: duplicate of clients[0].name"},
		{"IPv4-mapped", clients("{name: lab, address: \"::ffff:10.0.0.1\", secret: a-long-random-secret}"), "radius.clients[0].address: an IPv4-mapped IPv6 address never matches"},
		{"secret of 7", clients("{name: lab, address: 127.0.0.0/8, secret: abcdefg}"), "radius.clients[0].secret: shorter than 8 characters"},
		{"negative client share", clients("{name: lab, address: 127.0.0.0/8, secret: a-long-random-secret, max_conversations: -1}"), "radius.clients[0].max_conversations: negative"},
		{"negative client cache share", clients("{name: lab, address: 127.0.0.0/8, secret: a-long-random-secret, duplicate_cache_size: -1}"), "radius.clients[0].duplicate_cache_size: negative"},
		{"conversation timeout 999ms", minimal + "eap: {conversation_timeout: 999ms}\n", "eap.conversation_timeout: below 1s"},
		{"session timeout 500ms", minimal + "radius: {session_timeout: 500ms}\n", "radius.session_timeout: below 1s"},
		{"session timeout 1.5s", minimal + "radius: {session_timeout: 1500ms}\n", "radius.session_timeout: not a whole number of seconds"},
		{"session timeout 2^32 s", minimal + "radius: {session_timeout: 4294967296s}\n", "radius.session_timeout: above 4294967295s"},
		{"session timeout negative", minimal + "radius: {session_timeout: -1s}\n", "radius.session_timeout: negative"},
		{"workers 4097", minimal + "radius: {workers: 4097}\n", "radius.workers: want 1 to 4096"},
		{"workers 65536", minimal + "radius: {workers: 65536}\n", "radius.workers: want 1 to 4096"},
		{"max_conversation_mib negative", minimal + "eap: {max_conversation_mib: -1}\n", "eap.max_conversation_mib"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each key is given once, so merge the override into minimal's
			// sections by loading it on its own when it has clients.
			_, err := loadConfig([]byte(mergeSections(tc.yaml)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, yaml string }{
		{"secret of 8", clients("{name: lab, address: 127.0.0.0/8, secret: abcdefgh}")},
		{"single address and its /32", clients(lab, "{name: ap, address: 10.0.0.1, secret: a-long-random-secret}", "{name: ap2, address: 10.0.0.0/31, secret: another-long-secret}")},
		{"client shares of 0", clients("{name: lab, address: 127.0.0.0/8, secret: a-long-random-secret, max_conversations: 0, duplicate_cache_size: 0}")},
		{"conversation timeout 1s", minimal + "eap: {conversation_timeout: 1s}\n"},
		{"session timeout 1s", minimal + "radius: {session_timeout: 1s}\n"},
		{"session timeout 2^32-1 s", minimal + "radius: {session_timeout: 4294967295s}\n"},
		{"workers 4096", minimal + "radius: {workers: 4096}\n"},
		{"everything open", clients("{name: any, address: 0.0.0.0/0, secret: a-long-random-secret}", "{name: any6, address: \"::/0\", secret: a-long-random-secret}")},
	} {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			if _, err := loadConfig([]byte(mergeSections(tc.yaml))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// mergeSections joins top-level sections given twice in a flow override
// ("radius:\n  clients: ...\nradius: {workers: 2}\n") into one, so that a
// test can add keys to minimal's sections.
func mergeSections(doc string) string {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err == nil {
		return doc // no section twice
	}
	merged := map[string]map[string]any{}
	var order []string
	for _, part := range splitSections(doc) {
		var one map[string]map[string]any
		if err := yaml.Unmarshal([]byte(part), &one); err != nil {
			panic(err)
		}
		for k, v := range one {
			if merged[k] == nil {
				merged[k] = map[string]any{}
				order = append(order, k)
			}
			for kk, vv := range v {
				merged[k][kk] = vv
			}
		}
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// splitSections cuts a document at each line that starts a top-level key.
func splitSections(doc string) []string {
	var parts []string
	for _, line := range strings.SplitAfter(doc, "\n") {
		if line == "" || line == "\n" {
			continue
		}
		if line[0] != ' ' && line[0] != '-' || len(parts) == 0 {
			parts = append(parts, line)
		} else {
			parts[len(parts)-1] += line
		}
	}
	return parts
}

// Risky but allowed settings load, and Warnings names each key; the default
// configuration loads with its one warning (testing123 is short).
func TestConfig_Warnings(t *testing.T) {
	long := "{name: lab, address: 127.0.0.0/8, secret: a-long-random-secret}"
	withClients := func(cs ...string) string {
		return "radius:\n  clients:\n    - " + strings.Join(cs, "\n    - ") + "\nhss: {subscribers: configs/subscribers.csv}\n"
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"long secret, nothing to say", withClients(long), nil},
		{"short secret", minimal, []string{"radius.clients[0].secret: shorter than 16 characters; use a long random secret (BlastRADIUS guidance)"}},
		{"any IPv4 source", withClients("{name: any, address: 0.0.0.0/0, secret: a-long-random-secret}"),
			[]string{"radius.clients[0].address: matches every source address: anyone who learns the secret can use this server"}},
		{"any IPv6 source", withClients(long, "{name: any, address: \"::/0\", secret: a-long-random-secret}"),
			[]string{"radius.clients[1].address: matches every source address"}},
		{"conversation timeout 9s", withClients(long) + "eap: {conversation_timeout: 9s}\n",
			[]string{"eap.conversation_timeout: below 10s"}},
		{"conversation timeout 10s", withClients(long) + "eap: {conversation_timeout: 10s}\n", nil},
		{"client shares beyond the total", withClients(
			"{name: a, address: 10.0.0.0/8, secret: a-long-random-secret, max_conversations: 60000}",
			"{name: b, address: 11.0.0.0/8, secret: a-long-random-secret, max_conversations: 50000}",
			"{name: c, address: 12.0.0.0/8, secret: a-long-random-secret}"),
			[]string{"radius.clients[].max_conversations: the clients' shares add up to more than eap.max_conversations: a client can crowd out the others"}},
		{"client shares within the total", withClients(
			"{name: a, address: 10.0.0.0/8, secret: a-long-random-secret, max_conversations: 60000}",
			"{name: b, address: 11.0.0.0/8, secret: a-long-random-secret, max_conversations: 40000}"), nil},
		{"client cache shares beyond the total", withClients(
			"{name: a, address: 10.0.0.0/8, secret: a-long-random-secret, duplicate_cache_size: 2000}") + "radius_: x\n",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.yaml
			if strings.Contains(doc, "radius_:") {
				doc = strings.Replace(strings.Replace(doc, "radius_: x\n", "", 1), "radius:\n", "radius:\n  duplicate_cache_size: 1000\n", 1)
				tc.want = []string{"radius.clients[].duplicate_cache_size: the clients' shares add up to more than radius.duplicate_cache_size"}
			}
			cfg, err := loadConfig([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("warnings = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %d = %q, want it to start %q", i, got[i], w)
				}
				if strings.Contains(got[i], "a-long-random-secret") || strings.Contains(got[i], "testing123") {
					t.Errorf("warning quotes a secret: %q", got[i])
				}
			}
		})
	}
	embedded, err := fs.ReadFile(configs.FS, configs.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(embedded)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "radius.clients[0].secret: shorter than 16") {
		t.Errorf("default config warnings = %q", w)
	}
}

// The eapol_test configurations in configs/eapol_test authenticate one of
// the demo subscribers: their K and OPc must be that subscriber's.
func TestEapolTestConfigsMatchTheDemoSubscribers(t *testing.T) {
	csv, err := os.ReadFile("../../configs/subscribers.csv")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := hss.ReadSubscribersCSV(strings.NewReader(string(csv)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, method, prefix string }{
		{"akaprime.conf", "AKA'", "6"},
		{"aka.conf", "AKA", "0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			conf, err := os.ReadFile("../../configs/eapol_test/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			field := func(name string) string {
				for _, line := range strings.Split(string(conf), "\n") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+"="); ok {
						return strings.Trim(v, `"`)
					}
				}
				t.Fatalf("%s: no %s", tc.file, name)
				return ""
			}
			if m := field("eap"); m != tc.method {
				t.Errorf("eap=%s, want %s", m, tc.method)
			}
			id := field("identity")
			imsi, _, _ := strings.Cut(strings.TrimPrefix(id, tc.prefix), "@")
			k, opc, _ := strings.Cut(field("password"), ":")
			opc, _, _ = strings.Cut(opc, ":")
			for _, s := range subs {
				if s.IMSI == imsi {
					if fmt.Sprintf("%x", s.K[:]) != k || fmt.Sprintf("%x", s.OPc[:]) != opc {
						t.Errorf("K:OPc of %s differ from configs/subscribers.csv", imsi)
					}
					return
				}
			}
			t.Errorf("identity %s: no such subscriber in configs/subscribers.csv", id)
		})
	}
}

// The yaml.v3 messages loadConfig does not write itself lose whatever they
// quote from the file.
func TestRedactYAMLError(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"yaml: unknown anchor 'Sup3rS3cretValue' referenced", "yaml: unknown anchor (name) referenced"},
		{"yaml: unknown anchor 'Sup3r'S3cretValue' referenced", "yaml: unknown anchor (name) referenced"},
		{"yaml: anchor 'Sup3rS3cretValue' value contains itself", "yaml: anchor (name) value contains itself"},
		{"yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `Sup3r`S3cretValue` into int", "yaml: unmarshal errors:\n  line 3: cannot unmarshal a value (value) into int"},
		{"yaml: unmarshal errors:\n  line 3: cannot unmarshal !Sup3rS3cretValue `x` into int", "yaml: unmarshal errors:\n  line 3: cannot unmarshal a value (value) into int"},
		{`yaml: unmarshal errors:` + "\n" + `  line 4: mapping key "Sup3r\"S3cretValue" already defined at line 3`, "yaml: unmarshal errors:\n  line 4: mapping key (value) already defined at line 3"},
		{"yaml: unmarshal errors:\n  line 4: field Sup3rS3cretValue not found in type main.Config", "yaml: unmarshal errors:\n  line 4: field (key) not found in type main.Config"},
		{"yaml: line 1: did not find expected ',' or '}'", "yaml: line 1: did not find expected ',' or '}'"},
		{"yaml: something 'Sup3rS3cretValue", "yaml: something (value)"},
		{"yaml: something `Sup3rS3cretValue", "yaml: something (value)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got := redactYAMLError(errors.New(tc.in))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if quotesCanary(got) {
				t.Errorf("quotes the secret: %q", got)
			}
		})
	}
}

// A type error the walk did not catch first still gets its key path, from
// its line, and loses its value.
func TestDecodeErrorNamesTheKey(t *testing.T) {
	c := checker{lines: map[int][]string{5: {"eap.max_conversations"}, 6: {"radius.workers", "radius.read_buffer"}}}
	err := c.decodeError(&yaml.TypeError{Errors: []string{
		"line 5: cannot unmarshal !!str `Sup3rS3cretValue` into int",
		"line 6: cannot unmarshal !!str `Sup3r...` into int",
		"line 9: cannot unmarshal !!str `Sup3r...` into time.Duration",
		"line 10: mapping key \"Sup3rS3cretValue\" already defined at line 9",
		"something else 'Sup3rS3cretValue'",
	}})
	want := "eap.max_conversations (line 5): cannot unmarshal a value of another type into int\n" +
		"radius.workers or radius.read_buffer (line 6): cannot unmarshal a value of another type into int\n" +
		"config: line 9: cannot unmarshal a value of another type into time.Duration\n" +
		"config: line 10: invalid value\n" +
		"config: something else (value)"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// hss.key_file seals the subscribers' keys under the operator's keys; a
// file that does not read or parse is refused by key, never quoted.
func TestNewApp_KeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "kek")
	secretHex := strings.Repeat("5e", 32)
	if err := os.WriteFile(good, []byte("2026 "+secretHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "kek-bad")
	if err := os.WriteFile(bad, []byte("2026 "+secretHex[:60]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{good, ""},
		{bad, "hss.key_file: key file: line 1"},
		{filepath.Join(dir, "missing"), "hss.key_file: cannot read the file"},
	} {
		cfg, err := loadConfig([]byte(strings.Replace(minimal, "hss:\n", "hss:\n  key_file: "+tc.file+"\n", 1)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = newApp(cfg, configs.FS)
		switch {
		case tc.want == "" && err != nil:
			t.Fatalf("%s: %v", tc.file, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Fatalf("%s: err = %v, want %q", tc.file, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), "5e5e") || strings.Contains(err.Error(), dir)):
			t.Fatalf("the error quotes the key or the path: %v", err)
		}
	}
}

// hss.key_env holds the keys in an environment variable instead of a file:
// "ID HEX64" entries separated by newlines or ';'. It satisfies
// store.backend redis as key_file does; a variable that is unset or does
// not parse is refused by key, never quoted.
func TestNewApp_KeyEnv(t *testing.T) {
	secretHex := strings.Repeat("5e", 32)
	redisCfg := strings.Replace(minimal, "hss:\n", "hss:\n  key_env: AAAD_TEST_KEK\n", 1) +
		"store: {backend: redis, redis: {addrs: [\"127.0.0.1:6379\"]}}\n"
	cfg, err := loadConfig([]byte(redisCfg))
	if err != nil {
		t.Fatalf("key_env with redis: %v", err)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"one key", "2026 " + secretHex, ""},
		{"two keys, semicolon", "2027 " + strings.Repeat("ab", 32) + "; 2026 " + secretHex, ""},
		{"two keys, newline", "2027 " + strings.Repeat("ab", 32) + "\n2026 " + secretHex + "\n", ""},
		{"short second key", "2027 " + strings.Repeat("ab", 32) + ";2026 " + secretHex[:60], "hss.key_env: line 1, key 2: want a key of 64 hex digits"},
		{"empty", "", "hss.key_env: no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AAAD_TEST_KEK", tc.value)
			sealer, err := newSealer(cfg.HSS.Config)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			case err != nil && (strings.Contains(err.Error(), "5e5e") || strings.Contains(err.Error(), "AAAD_TEST_KEK")):
				t.Fatalf("the error quotes the key or the variable: %v", err)
			case err == nil:
				// The first key seals.
				var (
					k   milenage.Key
					opc milenage.OPc
				)
				sealed := sealer.Seal("001010000000001", &k, &opc)
				if id, _ := hss.KeyID(sealed); id != strings.Fields(tc.value)[0] {
					t.Fatalf("sealed under %q", id)
				}
			}
		})
	}
	t.Run("unset", func(t *testing.T) {
		t.Setenv("AAAD_TEST_KEK", "")
		os.Unsetenv("AAAD_TEST_KEK")
		if _, err := newSealer(cfg.HSS.Config); err == nil || !strings.Contains(err.Error(), "hss.key_env: the environment variable is not set") {
			t.Fatalf("err = %v", err)
		}
	})
}
