package privacy

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"sync"
	"testing"
)

// testKeys are generated once per test binary, in parallel: A and B are the
// two keys of a rotation, Other is a key the server does not have.
var testKeys = sync.OnceValue(func() (ks struct{ A, B, Other *rsa.PrivateKey }) {
	var wg sync.WaitGroup
	for _, p := range []**rsa.PrivateKey{&ks.A, &ks.B, &ks.Other} {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			*p = k
		})
	}
	wg.Wait()
	return ks
})

func mustKey(t testing.TB, id string, priv *rsa.PrivateKey) Key {
	t.Helper()
	k, err := NewKey(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustDecrypter(t testing.TB, keys ...Key) *Decrypter {
	t.Helper()
	d, err := NewDecrypter(keys)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustEncrypt(t testing.TB, pub *rsa.PublicKey, permanent, realm, keyID string) []byte {
	t.Helper()
	id, err := Encrypt(pub, []byte(permanent), realm, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fuzzKey is the fixed key the committed fuzz corpus is encrypted to.
func fuzzKey(t testing.TB) Key {
	t.Helper()
	data, err := os.ReadFile("testdata/fuzz-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadKey("", data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fuzzDecrypter knows the fuzz key as the default key and as "4660".
func fuzzDecrypter(t testing.TB) *Decrypter {
	t.Helper()
	k := fuzzKey(t)
	named := k
	named.ID = "4660"
	return mustDecrypter(t, k, named)
}
