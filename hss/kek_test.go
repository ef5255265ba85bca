package hss

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ParseKEKs takes what an environment variable holds: keys on one line
// separated by ';', or on lines of their own; errors say which line and
// which key of it, never the key.
func TestParseKEKs(t *testing.T) {
	a, b := "2027 "+strings.Repeat("ab", 32), "2026 "+strings.Repeat("cd", 32)
	for _, in := range []string{a + ";" + b, a + " ; " + b + ";", a + "\n" + b, "# rotation\r\n" + a + "\r\n" + b + "\r\n"} {
		keks, err := ParseKEKs([]byte(in))
		if err != nil || len(keks) != 2 || keks[0].ID != "2027" || keks[0].Key[0] != 0xab || keks[1].ID != "2026" {
			t.Fatalf("%q: %v %v", in, keks, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{a + ";2026 " + strings.Repeat("cd", 31), "line 1, key 2: want a key of 64 hex digits (AES-256)"},
		{a + ";" + a, "line 1, key 2: id used before, on line 1, key 1"},
		{a + "\n" + b + ";" + a, "line 2, key 2: id used before, on line 1"},
		{" ; ", "no key"},
	} {
		_, err := ParseKEKs([]byte(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "abab") || strings.Contains(err.Error(), "cdcd")) {
			t.Errorf("error quotes a key: %v", err)
		}
	}
}

// Config.Sealer reads key_file or key_env, names the key at fault and
// never the path, the variable or a key; neither set is no sealer.
func TestConfigSealer(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kek")
	if err := os.WriteFile(file, []byte("2026 "+strings.Repeat("5e", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HSS_TEST_KEK", "2027 "+strings.Repeat("a7", 32)+";2026 "+strings.Repeat("5e", 32))
	t.Setenv("HSS_TEST_BAD_KEK", "2027 "+strings.Repeat("a7", 31))
	for _, tc := range []struct {
		name string
		cfg  Config
		seal string // the sealing key's id, or the error
	}{
		{"neither", Config{}, ""},
		{"file", Config{KeyFile: file}, "2026"},
		{"env", Config{KeyEnv: "HSS_TEST_KEK"}, "2027"},
		{"missing file", Config{KeyFile: filepath.Join(dir, "none")}, "hss.key_file: cannot read the file: no such file or directory"},
		{"unset env", Config{KeyEnv: "HSS_TEST_NONE"}, "hss.key_env: the environment variable is not set"},
		{"bad env", Config{KeyEnv: "HSS_TEST_BAD_KEK"}, "hss.key_env: line 1: want a key of 64 hex digits (AES-256)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.Sealer("hss")
			switch {
			case err != nil:
				if err.Error() != tc.seal {
					t.Fatalf("err = %v, want %q", err, tc.seal)
				}
				if strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "HSS_TEST") || strings.Contains(err.Error(), "a7a7") {
					t.Fatalf("the error quotes the path, the variable or the key: %v", err)
				}
			case s == nil && tc.seal != "":
				t.Fatal("no sealer")
			case s != nil && s.SealKeyID() != tc.seal:
				t.Fatalf("seals under %q, want %q", s.SealKeyID(), tc.seal)
			}
		})
	}
}

func TestConfigValidate_KeyEnv(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{KeyEnv: "AAAD_KEK"}, ""},
		{Config{KeyEnv: "_K1"}, ""},
		{Config{KeyFile: "/k", KeyEnv: "AAAD_KEK"}, "hss.key_env: give key_file or key_env, not both"},
		{Config{KeyEnv: "2026 " + strings.Repeat("5e", 32)}, "hss.key_env: want the name of an environment variable"},
		{Config{KeyEnv: "1KEK"}, "hss.key_env: want the name"},
	} {
		tc.cfg.SetDefaults()
		err := tc.cfg.Validate("hss")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.cfg.KeyEnv, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: err = %v, want %q", tc.cfg.KeyEnv, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "5e5e"):
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}
