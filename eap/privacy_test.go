package eap_test

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"sync"
	"testing"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/privacy"
)

var (
	phoneKeyOnce sync.Once
	phoneKey     *rsa.PrivateKey
)

// privacyServer returns a server holding the operator's private key, and the
// public key phones get from the carrier configuration.
func privacyServer(t *testing.T) (*eap.Server, *rsa.PublicKey) {
	t.Helper()
	phoneKeyOnce.Do(func() {
		var err error
		if phoneKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	k, err := privacy.NewKey("4660", phoneKey)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := privacy.NewDecrypter([]privacy.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) {
		withPseudonyms(c)
		c.Identities = dec
	}, eap.TypeAKAPrime)
	return s, &phoneKey.PublicKey
}

// A phone sends its permanent identity encrypted; the server decrypts it
// and, as the phone does, derives the keys from the decrypted identity. The
// pseudonym it then hands out spares the next attempt the encryption.
func TestEncryptedIdentity_RoundTrip(t *testing.T) {
	s, pub := privacyServer(t)
	for _, tc := range []struct {
		name, plain, realm, keyID string
	}{
		{"realm inside, key identifier", "6" + testIMSI + realm, "", "CertificateSerialNumber=4660"},
		{"no key identifier", "6" + testIMSI + realm, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyID := ""
			if tc.keyID != "" {
				keyID = "4660"
			}
			enc, err := privacy.Encrypt(pub, []byte(tc.plain), tc.realm, keyID)
			if err != nil {
				t.Fatal(err)
			}
			p := newPeer(t, eap.TypeAKAPrime)
			p.identity = tc.plain // what the phone keys its MSK with
			res, rounds := runWith(t, s, p, string(enc))
			mustSucceed(t, res, p)
			if rounds != 2 || string(res.Identity) != tc.plain {
				t.Fatalf("rounds %d identity %q", rounds, res.Identity)
			}
			if p.pseudonym == "" {
				t.Fatal("no pseudonym handed out after an encrypted identity")
			}
			p.startNext()
			res, rounds = run(t, s, p)
			mustSucceed(t, res, p)
			if rounds != 2 {
				t.Fatalf("pseudonym run took %d rounds", rounds)
			}
		})
	}
}

// The encrypted identity may also come in AT_IDENTITY, after an anonymous
// outer identity.
func TestEncryptedIdentity_InATIdentity(t *testing.T) {
	s, pub := privacyServer(t)
	enc, err := privacy.Encrypt(pub, []byte("6"+testIMSI+realm), "", "4660")
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, eap.TypeAKAPrime)
	p.identity = "anonymous" + realm
	p.permanent = string(enc) // what the peer answers to an identity request
	var keyed string
	orig := p.respondHook
	p.respondHook = func(req []byte) {
		if m, err := eap.ParseAKA(req); err == nil && m.Subtype == eap.SubtypeChallenge {
			keyed = p.identity
			p.identity = "6" + testIMSI + realm // keys from the decrypted identity
		}
	}
	defer func() { p.respondHook = orig }()
	res, rounds := run(t, s, p)
	if keyed != string(enc) {
		t.Fatalf("peer did not send the encrypted identity in AT_IDENTITY")
	}
	mustSucceed(t, res, p)
	if rounds != 3 || string(res.Identity) != "6"+testIMSI+realm {
		t.Fatalf("rounds %d identity %q", rounds, res.Identity)
	}
}

// Anything malformed is an unknown identity: an identity request, never a
// crash or a reject.
func TestEncryptedIdentity_MalformedIsUnknownIdentity(t *testing.T) {
	s, pub := privacyServer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forOther, _ := privacy.Encrypt(&other.PublicKey, []byte("6"+testIMSI+realm), "", "")
	notPermanent, _ := privacy.Encrypt(pub, []byte("anonymous"+realm), "", "")
	unknownKey, _ := privacy.Encrypt(pub, []byte("6"+testIMSI+realm), "", "9999")
	for _, tc := range []struct{ name, identity string }{
		{"NUL only", "\x00"},
		{"not base64", "\x00!!!!@" + realm[1:]},
		{"base64 of garbage", "\x00QUJDREVGR0g="},
		{"encrypted for another key", string(forOther)},
		{"plaintext not a permanent identity", string(notPermanent)},
		{"unknown key identifier", string(unknownKey)},
		{"overlong", "\x00" + strings.Repeat("QUJD", 500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t, eap.TypeAKAPrime)
			res, rounds := runWith(t, s, p, tc.identity)
			mustSucceed(t, res, p)
			if rounds != 3 {
				t.Fatalf("%d rounds, want an identity request first", rounds)
			}
		})
	}
}
