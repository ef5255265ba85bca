package main

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/configs"
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
		{"bad store", minimal + "store: {backend: redis}\n", "store.backend"},
		{"bad level", minimal + "log: {level: loud}\n", "log.level"},
		{"negative timeout", minimal + "eap: {conversation_timeout: -1s}\n", "eap.conversation_timeout"},
		{"admin not loopback", minimal + "admin: {listen: 0.0.0.0:9812}\n", "admin.listen: must be a loopback"},
		{"no clients", "hss: {subscribers: x.csv}\n", "radius.clients"},
		{"not yaml", "radius: [", "config:"},
		{"wrong type does not echo the value", minimal + "eap: {max_conversations: testing123}\n", "cannot unmarshal !!str (value)"},
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
