package privacy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs1(k *rsa.PrivateKey) []byte { return pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)) }

func pkcs8(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}

func selfSigned(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4660),
		Subject:      pkix.Name{CommonName: "IMSI privacy test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("CERTIFICATE", der)
}

func TestLoadKeyAcceptsPKCS1AndPKCS8RSA(t *testing.T) {
	ks := testKeys()
	tests := []struct {
		name string
		pem  []byte
	}{
		{"PKCS#1 RSA PRIVATE KEY", pkcs1(ks.A)},
		{"PKCS#8 PRIVATE KEY", pkcs8(t, ks.A)},
		{"certificate before the key is skipped", append(selfSigned(t, ks.A), pkcs8(t, ks.A)...)},
		{"text around the PEM block is ignored", append(append([]byte("comment\n"), pkcs1(ks.A)...), "trailer\n"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKey("4660", tt.pem)
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if k.ID != "4660" || k.Bits() != 2048 || !k.Public().Equal(&ks.A.PublicKey) {
				t.Fatalf("LoadKey = %v", k)
			}
			d := mustDecrypter(t, k)
			if _, err := d.Decrypt(mustEncrypt(t, k.Public(), "0"+imsi, "", "4660")); err != nil {
				t.Fatalf("loaded key does not decrypt: %v", err)
			}
		})
	}
	if k := fuzzKey(t); k.Bits() != 2048 {
		t.Fatalf("testdata/fuzz-key.pem (openssl genpkey output) = %v", k)
	}
}

func TestLoadKeyRejects(t *testing.T) {
	ks := testKeys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := pkcs1(ks.A)
	block, _ := pem.Decode(good)
	corrupt := pemOf("RSA PRIVATE KEY", append([]byte{0x30, 0x82}, block.Bytes[10:]...))
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   block.Bytes})
	pubDER, _ := x509.MarshalPKIXPublicKey(&ks.A.PublicKey)

	tests := []struct {
		name string
		id   string
		pem  []byte
		want string // part of the error
	}{
		{"1024-bit PKCS#1 key", "", pkcs1(small), "minimum 2048"},
		{"1024-bit PKCS#8 key", "", pkcs8(t, small), "minimum 2048"},
		{"not PEM", "", []byte("this is not a key\n"), "no RSA PRIVATE KEY"},
		{"DER without PEM armour", "", x509.MarshalPKCS1PrivateKey(ks.A), "no RSA PRIVATE KEY"},
		{"empty", "", nil, "no RSA PRIVATE KEY"},
		{"EC key in SEC1 form", "", pemOf("EC PRIVATE KEY", ecDER), "want an RSA key"},
		{"EC key in PKCS#8 form", "", pkcs8(t, ec), "ECDSA, want RSA"},
		{"Ed25519 key in PKCS#8 form", "", pkcs8(t, ed), "Ed25519, want RSA"},
		{"public key only", "", pemOf("PUBLIC KEY", pubDER), "no RSA PRIVATE KEY"},
		{"certificate only", "", selfSigned(t, ks.A), "no RSA PRIVATE KEY"},
		{"corrupt PKCS#1 body", "", corrupt, "not a valid PKCS#1"},
		{"PKCS#1 body labelled PKCS#8", "", pemOf("PRIVATE KEY", block.Bytes), "not a valid PKCS#8"},
		{"encrypted legacy PEM", "", encrypted, "encrypted PEM"},
		{"encrypted PKCS#8", "", pemOf("ENCRYPTED PRIVATE KEY", block.Bytes), "encrypted PEM"},
		{"two private keys", "", append(pkcs1(ks.A), pkcs8(t, ks.B)...), "more than one"},
		{"id with a comma", "46,60", good, "key id"},
		{"id with a space", "46 60", good, "key id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKey(tt.id, tt.pem)
			if err == nil {
				t.Fatalf("LoadKey accepted it: %v", k)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not say %q", msg, tt.want)
			}
			if len(tt.pem) > 0 && strings.Contains(msg, string(tt.pem)) {
				t.Fatalf("error contains the PEM: %q", msg)
			}
			for _, line := range strings.Split(string(tt.pem), "\n") {
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line[:16]) {
					t.Fatalf("error %q contains PEM line %q", msg, line)
				}
			}
		})
	}
}

func TestNewKeyAppliesLoadKeysLimits(t *testing.T) {
	if _, err := NewKey("", nil); err == nil {
		t.Fatal("nil key accepted")
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKey("", small); err == nil || !strings.Contains(err.Error(), "minimum 2048") {
		t.Fatalf("1024-bit key: %v", err)
	}
	if _, err := NewKey("a@b", testKeys().A); err == nil {
		t.Fatal("bad id accepted")
	}
}
