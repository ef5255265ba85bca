package privacy

import (
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidateNamesTheKeyAtFault(t *testing.T) {
	tests := []struct {
		name string
		keys []KeyConfig
		want []string // each must appear; none means valid
	}{
		{"no keys: feature off", nil, nil},
		{"rotation pair", []KeyConfig{{ID: "4660", File: "/etc/aaad/imsi-2026.pem"}, {ID: "4661", File: "/etc/aaad/imsi-2027.pem"}}, nil},
		{"default key", []KeyConfig{{File: "/etc/aaad/imsi.pem"}}, nil},
		{"empty file", []KeyConfig{{ID: "4660", File: "a.pem"}, {ID: "4661"}},
			[]string{"eap.identity_privacy.keys[1].file: empty"}},
		{"duplicate id", []KeyConfig{{ID: "4660", File: "a.pem"}, {ID: "4660", File: "b.pem"}},
			[]string{`eap.identity_privacy.keys[1].id: the same id as keys[0].id`}},
		{"ids differing in case", []KeyConfig{{ID: "5388f2a0", File: "a.pem"}, {ID: "5388F2A0", File: "b.pem"}},
			[]string{"keys[1].id", "case-insensitively"}},
		{"two default keys", []KeyConfig{{File: "a.pem"}, {File: "b.pem"}},
			[]string{`eap.identity_privacy.keys[1].id: "" (the default key), as keys[0].id`}},
		{"id with a separator", []KeyConfig{{ID: "CertificateSerialNumber=1,2", File: "a.pem"}},
			[]string{"eap.identity_privacy.keys[0].id:"}},
		{"every error at once", []KeyConfig{{ID: "a b"}, {ID: "x", File: ""}},
			[]string{"keys[0].file: empty", "keys[0].id:", "keys[1].file: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Keys: tt.keys}
			err := c.Validate("eap.identity_privacy")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigLoadReadsEveryKey(t *testing.T) {
	ks := testKeys()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("imsi-2026.pem", pkcs1(ks.A))
	b := write("imsi-2027.pem", pkcs8(t, ks.B))
	c := Config{Keys: []KeyConfig{{ID: "4660", File: a}, {ID: "4661", File: b}}}
	d, err := c.Load("eap.identity_privacy")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pub *rsa.PublicKey
		id  string
	}{{&ks.A.PublicKey, "4660"}, {&ks.B.PublicKey, "4661"}} {
		got, err := d.Decrypt(mustEncrypt(t, tc.pub, "6"+imsi, "", tc.id))
		if err != nil || string(got) != "6"+imsi {
			t.Fatalf("key %s: %q, %v", tc.id, got, err)
		}
	}

	if d, err := (&Config{}).Load("eap.identity_privacy"); d != nil || err != nil {
		t.Fatalf("no keys: %v, %v", d, err)
	}

	missing := Config{Keys: []KeyConfig{{ID: "4660", File: filepath.Join(dir, "nope.pem")}}}
	if _, err := missing.Load("eap.identity_privacy"); err == nil || !strings.Contains(err.Error(), "eap.identity_privacy.keys[0].file") {
		t.Fatalf("missing file: %v", err)
	}

	secret := pkcs1(ks.A)
	broken := write("broken.pem", secret[:len(secret)/2])
	bad := Config{Keys: []KeyConfig{{ID: "4660", File: a}, {ID: "4661", File: broken}}}
	_, err = bad.Load("eap.identity_privacy")
	if err == nil || !strings.Contains(err.Error(), "eap.identity_privacy.keys[1].file: ") || strings.Contains(err.Error(), broken) {
		t.Fatalf("broken file: %v", err)
	}
	if lines := strings.Split(string(secret), "\n"); strings.Contains(err.Error(), lines[1][:16]) {
		t.Fatalf("error %q contains key material", err)
	}

	invalid := Config{Keys: []KeyConfig{{ID: "4660"}}}
	if _, err := invalid.Load("eap.identity_privacy"); err == nil || !strings.Contains(err.Error(), "file: empty") {
		t.Fatalf("invalid config: %v", err)
	}
}
