package privacy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fuzzSeeds are valid identities under testdata/fuzz-key.pem. The committed
// files in testdata/fuzz/FuzzDecrypt hold the same shapes; regenerate them
// with PRIVACY_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds.
func fuzzSeeds(t testing.TB) map[string][]byte {
	pub := fuzzKey(t).Public()
	return map[string][]byte{
		"plain":         mustEncrypt(t, pub, "0"+imsi, "", ""),
		"realm-inside":  mustEncrypt(t, pub, "6"+imsi+"@"+realm3gpp, "", ""),
		"realm-outside": mustEncrypt(t, pub, "0"+imsi, realm3gpp, ""),
		"keyid":         mustEncrypt(t, pub, "6"+imsi+"@"+realm3gpp, "", "4660"),
		"realm-keyid":   mustEncrypt(t, pub, "6"+imsi, realm3gpp, "4660"),
		"anonymous":     mustEncrypt(t, pub, "anonymous@"+realm3gpp, "", "4660"),
	}
}

func FuzzDecrypt(f *testing.F) {
	d := fuzzDecrypter(f)
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, s := range []string{"", "\x00", "\x00AAAA", "\x00AAAA@x,y=z", "0" + imsi + "@" + realm3gpp} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, identity []byte) {
		in := bytes.Clone(identity)
		got, err := d.Decrypt(identity)
		if !bytes.Equal(in, identity) {
			t.Fatal("Decrypt modified its input")
		}
		if err != nil {
			if got != nil {
				t.Fatalf("result %q with error %v", got, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) &&
				!errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrNotPermanent) {
				t.Fatalf("error %v is none of the documented ones", err)
			}
			return
		}
		if !IsEncrypted(identity) {
			t.Fatalf("decrypted an identity without the leading NUL: %q", identity)
		}
		user, realm, hasRealm := bytes.Cut(got, []byte{'@'})
		if len(got) > 253 || len(user) < 7 || len(user) > 16 || (user[0] != '0' && user[0] != '6') {
			t.Fatalf("not a permanent identity: %q", got)
		}
		for _, c := range user[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("IMSI with a non-digit: %q", got)
			}
		}
		if hasRealm && !validRealm(realm) {
			t.Fatalf("bad realm in %q", got)
		}
	})
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("PRIVACY_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set PRIVACY_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzDecrypt")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecrypt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range fuzzSeeds(t) {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The committed seeds must stay valid for the committed key, or the fuzzer
// starts from nothing that decrypts.
func TestFuzzSeedsDecrypt(t *testing.T) {
	d := fuzzDecrypter(t)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecrypt", "seed-*"))
	if err != nil || len(files) < 5 {
		t.Fatalf("seed files: %v, %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := bytes.CutPrefix(data, []byte("go test fuzz v1\n[]byte("))
		lit, ok2 := bytes.CutSuffix(lit, []byte(")\n"))
		s, err := strconv.Unquote(string(lit))
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: not a fuzz corpus file", f)
		}
		got, err := d.Decrypt([]byte(s))
		if filepath.Base(f) == "seed-anonymous" {
			if !errors.Is(err, ErrNotPermanent) {
				t.Errorf("%s: %q, %v; want ErrNotPermanent", f, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
