package privacy

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	imsi      = "001010000000001"
	realm3gpp = "wlan.mnc001.mcc001.3gppnetwork.org"
)

func TestDecryptReturnsTheIdentityThePhoneDerivesKeysFrom(t *testing.T) {
	ks := testKeys()
	// withDefault: A is the default key (phones that send no identifier),
	// B is named 4661. rotation: A is 4660, B is 4661, no default.
	withDefault := mustDecrypter(t, mustKey(t, "", ks.A), mustKey(t, "4661", ks.B))
	rotation := mustDecrypter(t, mustKey(t, "4660", ks.A), mustKey(t, "4661", ks.B))
	caseKey := mustDecrypter(t, mustKey(t, "5388F2A0", ks.B))

	aka := "0" + imsi
	akaPrime := "6" + imsi
	b64B := func(plain string) string { // ciphertext under B, base64 only
		return string(mustEncrypt(t, &ks.B.PublicKey, plain, "", "")[1:])
	}
	tests := []struct {
		name     string
		d        *Decrypter
		identity []byte
		want     string
	}{
		{"no realm, no key id: default key, plaintext as is",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, aka, "", ""), aka},
		{"realm inside the plaintext is returned as is",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, akaPrime+"@"+realm3gpp, "", ""), akaPrime + "@" + realm3gpp},
		{"key id picks the second key of a rotation",
			withDefault, mustEncrypt(t, &ks.B.PublicKey, akaPrime+"@"+realm3gpp, "", "4661"), akaPrime + "@" + realm3gpp},
		{"key id picks the first key of a rotation",
			rotation, mustEncrypt(t, &ks.A.PublicKey, akaPrime, "", "4660"), akaPrime},
		{"no key id and no default key: each key is tried in order",
			rotation, mustEncrypt(t, &ks.B.PublicKey, aka, "", ""), aka},
		{"outer realm is appended when the plaintext has none (Android 9)",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, aka, realm3gpp, ""), aka + "@" + realm3gpp},
		{"outer realm and key id together",
			rotation, mustEncrypt(t, &ks.B.PublicKey, akaPrime, realm3gpp, "4661"), akaPrime + "@" + realm3gpp},
		{"outer realm is ignored when the plaintext has its own",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, aka+"@inner.example", realm3gpp, ""), aka + "@inner.example"},
		{"realm after the key id attribute is accepted too",
			rotation, []byte("\x00" + b64B(aka) + ",CertificateSerialNumber=4661@" + realm3gpp), aka + "@" + realm3gpp},
		{"key id compares case-insensitively",
			caseKey, []byte("\x00" + b64B(aka) + ",CertificateSerialNumber=5388f2a0"), aka},
		{"attribute name compares case-insensitively",
			rotation, []byte("\x00" + b64B(aka) + ",certificateserialnumber=4661"), aka},
		{"a single attribute of another name is the key identifier (wpa_supplicant imsi_privacy_attr)",
			rotation, []byte("\x00" + b64B(aka) + ",KeyIdentifier=4661"), aka},
		{"CertificateSerialNumber wins among several attributes",
			rotation, []byte("\x00" + b64B(aka) + ",Foo=4660,CertificateSerialNumber=4661"), aka},
		{"blanks around an attribute are ignored",
			rotation, []byte("\x00" + b64B(aka) + ", CertificateSerialNumber=4661 "), aka},
		{"trailing NUL octets are ignored (C string terminator)",
			rotation, []byte("\x00" + b64B(aka) + ",CertificateSerialNumber=4661\x00\x00"), aka},
		{"6-digit IMSI is the shortest accepted",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, "0001010", "", ""), "0001010"},
		{"15-digit IMSI in a 190-octet NAI, the most OAEP carries under RSA-2048",
			withDefault, mustEncrypt(t, &ks.A.PublicKey, akaPrime+"@"+longRealm(190-len(akaPrime)-1), "", ""),
			akaPrime + "@" + longRealm(190-len(akaPrime)-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.d.Decrypt(tt.identity)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Decrypt = %q, want %q", got, tt.want)
			}
			if len(got) > 0 && &got[0] == &tt.identity[0] {
				t.Fatal("result aliases the input")
			}
		})
	}
}

// longRealm is a valid realm of exactly n octets.
func longRealm(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat("a", min(60, n-b.Len())))
	}
	s := b.String()
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1] + "b"
	}
	return s
}

// androidIdentity builds the identity byte for byte as AOSP's
// WifiCarrierInfoManager (packages/modules/Wifi, Android 11+; the same code
// was in TelephonyUtil in Android 10) does: buildIdentity gives
// prefix + IMSI + "@wlan.mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org",
// encryptDataUsingPublicKey encrypts identity.getBytes() with
// "RSA/ECB/OAEPwithSHA-256andMGF1Padding" (Conscrypt: MGF1 uses the OAEP
// digest, SHA-256) and Base64.NO_WRAP, and buildEncryptedIdentity returns
// "\0" + base64 + "," + keyIdentifier, keyIdentifier being the carrier
// JSON's "key-identifier" string verbatim. It returns the identity sent and
// the plain identity the framework hands wpa_supplicant as imsi_identity,
// which eap_aka.c uses for the MK.
func androidIdentity(t *testing.T, pub *rsa.PublicKey, prefix, imsi, mccMnc, keyIdentifier string) (sent, plain []byte) {
	mcc, mnc := mccMnc[:3], mccMnc[3:]
	if len(mnc) == 2 {
		mnc = "0" + mnc
	}
	identity := prefix + imsi + "@wlan.mnc" + mnc + ".mcc" + mcc + ".3gppnetwork.org"
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte(identity), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := "\x00" + base64.StdEncoding.EncodeToString(ct)
	if keyIdentifier != "" {
		s += "," + keyIdentifier
	}
	return []byte(s), []byte(identity)
}

// android9Identity builds the identity as Android 9's TelephonyUtil
// (frameworks/opt/net/wifi) did: only prefix + IMSI is encrypted, the
// base64 is android.util.Base64.DEFAULT (a '\n' after every 76 characters
// and at the end), and buildIdentity(eapMethod, encryptedImsi, mccMnc, true)
// puts "\0" before it and "@" + realm after it, then "," + keyIdentifier.
// The plain identity handed to wpa_supplicant is prefix + IMSI + "@" + realm.
func android9Identity(t *testing.T, pub *rsa.PublicKey, prefix, imsi, mccMnc, keyIdentifier string) (sent, plain []byte) {
	mcc, mnc := mccMnc[:3], mccMnc[3:]
	if len(mnc) == 2 {
		mnc = "0" + mnc
	}
	realm := "wlan.mnc" + mnc + ".mcc" + mcc + ".3gppnetwork.org"
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte(prefix+imsi), nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(ct)
	var wrapped strings.Builder
	for len(enc) > 76 {
		wrapped.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	wrapped.WriteString(enc + "\n")
	s := "\x00" + wrapped.String() + "@" + realm
	if keyIdentifier != "" {
		s += "," + keyIdentifier
	}
	return []byte(s), []byte(prefix + imsi + "@" + realm)
}

// wpaSupplicantIdentity builds the identity as wpa_supplicant's
// eap_aka_encrypt_identity (src/eap_peer/eap_aka.c) does: '\0',
// base64_encode_no_lf of crypto_rsa_oaep_sha256_encrypt(identity), then ','
// and imsi_privacy_attr when configured. The MK uses the configured identity.
func wpaSupplicantIdentity(t *testing.T, pub *rsa.PublicKey, identity, attr string) (sent, plain []byte) {
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte(identity), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := "\x00" + base64.StdEncoding.EncodeToString(ct)
	if attr != "" {
		s += "," + attr
	}
	return []byte(s), []byte(identity)
}

func TestDecryptPhonesByteForByte(t *testing.T) {
	ks := testKeys()
	d := mustDecrypter(t, mustKey(t, "4660", ks.A), mustKey(t, "", ks.B))
	type builder func() (sent, plain []byte)
	tests := []struct {
		name  string
		build builder
	}{
		{"Android 10+ EAP-AKA' with CertificateSerialNumber key identifier", func() ([]byte, []byte) {
			return androidIdentity(t, &ks.A.PublicKey, "6", "310260000000001", "310260", "CertificateSerialNumber=4660")
		}},
		{"Android 10+ EAP-AKA, 2-digit MNC padded to 3", func() ([]byte, []byte) {
			return androidIdentity(t, &ks.A.PublicKey, "0", imsi, "00101", "CertificateSerialNumber=4660")
		}},
		{"Android 10+ without key identifier uses the default key", func() ([]byte, []byte) {
			return androidIdentity(t, &ks.B.PublicKey, "6", imsi, "00101", "")
		}},
		{"Android 9: realm outside, wrapped base64, key identifier last", func() ([]byte, []byte) {
			return android9Identity(t, &ks.A.PublicKey, "0", imsi, "00101", "CertificateSerialNumber=4660")
		}},
		{"wpa_supplicant imsi_privacy_cert without imsi_privacy_attr", func() ([]byte, []byte) {
			return wpaSupplicantIdentity(t, &ks.B.PublicKey, "0"+imsi+"@"+realm3gpp, "")
		}},
		{"wpa_supplicant with imsi_privacy_attr, identity without realm", func() ([]byte, []byte) {
			return wpaSupplicantIdentity(t, &ks.A.PublicKey, "6"+imsi, "CertificateSerialNumber=4660")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, plain := tt.build()
			got, err := d.Decrypt(sent)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Decrypt = %q, want the phone's key-derivation identity %q", got, plain)
			}
		})
	}
}

func TestEncryptBuildsAndroidsLayout(t *testing.T) {
	ks := testKeys()
	sent, plain := androidIdentity(t, &ks.A.PublicKey, "6", imsi, "00101", "CertificateSerialNumber=4660")
	ours := mustEncrypt(t, &ks.A.PublicKey, string(plain), "", "4660")
	// OAEP is randomised: compare everything but the ciphertext bytes.
	if len(ours) != len(sent) || ours[0] != 0 || !bytes.HasSuffix(ours, []byte(",CertificateSerialNumber=4660")) {
		t.Fatalf("Encrypt layout %q differs from Android's %q", ours, sent)
	}
	d := mustDecrypter(t, mustKey(t, "4660", ks.A))
	got, err := d.Decrypt(ours)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Decrypt(Encrypt) = %q, %v", got, err)
	}
}

func TestEncryptRefusesWhatItCannotWrite(t *testing.T) {
	ks := testKeys()
	tests := []struct {
		name             string
		pub              *rsa.PublicKey
		plain, realm, id string
	}{
		{"nil key", nil, "0" + imsi, "", ""},
		{"empty identity", &ks.A.PublicKey, "", "", ""},
		{"identity too long for OAEP with RSA-2048", &ks.A.PublicKey, strings.Repeat("0", 191), "", ""},
		{"realm with a comma", &ks.A.PublicKey, "0" + imsi, "a,b", ""},
		{"key id with a comma", &ks.A.PublicKey, "0" + imsi, "", "1,2"},
		{"key id with an at sign", &ks.A.PublicKey, "0" + imsi, "", "1@2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Encrypt(tt.pub, []byte(tt.plain), tt.realm, tt.id); err == nil {
				t.Fatal("Encrypt succeeded")
			} else if tt.plain != "" && strings.Contains(err.Error(), tt.plain) {
				t.Fatalf("error %q contains the identity", err)
			}
		})
	}
}

func TestDecryptRejects(t *testing.T) {
	ks := testKeys()
	d := mustDecrypter(t, mustKey(t, "", ks.A), mustKey(t, "4661", ks.B))
	good := mustEncrypt(t, &ks.A.PublicKey, "0"+imsi, "", "")
	goodB64 := string(good[1:])
	garbage := make([]byte, 256)
	rand.Read(garbage)
	tampered := bytes.Clone(good)
	tampered[100] = 'A' // still base64, another ciphertext of the same length
	if good[100] == 'A' {
		tampered[100] = 'B'
	}
	enc := func(plain string) []byte { return mustEncrypt(t, &ks.A.PublicKey, plain, "", "") }

	tests := []struct {
		name     string
		identity []byte
		want     error
	}{
		{"empty", nil, ErrMalformed},
		{"not starting with NUL: a plain permanent identity", []byte("0" + imsi + "@" + realm3gpp), ErrMalformed},
		{"not starting with NUL: the base64 alone", []byte(goodB64), ErrMalformed},
		{"empty after NUL", []byte{0}, ErrMalformed},
		{"only NULs", []byte{0, 0, 0}, ErrMalformed},
		{"bad base64", []byte("\x00!!!!" + goodB64[4:]), ErrMalformed},
		{"base64 without its padding", []byte("\x00" + strings.TrimRight(goodB64, "=")), ErrMalformed},
		{"space inside the base64", []byte("\x00" + goodB64[:40] + " " + goodB64[40:]), ErrMalformed},
		{"nothing but a realm", []byte("\x00@" + realm3gpp), ErrMalformed},
		{"empty outer realm", []byte("\x00" + goodB64 + "@"), ErrMalformed},
		{"outer realm with a bad character", []byte("\x00" + goodB64 + "@wlan_x.example"), ErrMalformed},
		{"two realms", []byte("\x00" + goodB64 + "@a.example,CertificateSerialNumber=4661@b.example"), ErrMalformed},
		{"overlong input", append([]byte{0}, bytes.Repeat([]byte("A"), MaxIdentityLen)...), ErrMalformed},
		{"attribute without '='", []byte("\x00" + goodB64 + ",CertificateSerialNumber4661"), ErrMalformed},
		{"empty attribute after the comma", []byte("\x00" + goodB64 + ","), ErrMalformed},
		{"trailing comma after an attribute", []byte("\x00" + goodB64 + ",CertificateSerialNumber=4661,"), ErrMalformed},
		{"attribute with an empty value", []byte("\x00" + goodB64 + ",CertificateSerialNumber="), ErrMalformed},
		{"attribute with an empty name", []byte("\x00" + goodB64 + ",=4661"), ErrMalformed},
		{"attribute value with a control character", []byte("\x00" + goodB64 + ",CertificateSerialNumber=46\x0161"), ErrMalformed},
		{"repeated attribute", []byte("\x00" + goodB64 + ",CertificateSerialNumber=4661,certificateserialnumber=4661"), ErrMalformed},
		{"several attributes, none a certificate serial", []byte("\x00" + goodB64 + ",A=1,B=2"), ErrMalformed},
		{"base64 of garbage", []byte("\x00" + base64.StdEncoding.EncodeToString(garbage)), ErrDecrypt},
		{"base64 of garbage of another length", []byte("\x00" + base64.StdEncoding.EncodeToString(garbage[:100])), ErrDecrypt},
		{"tampered ciphertext", tampered, ErrDecrypt},
		{"ciphertext for another key", mustEncrypt(t, &ks.Other.PublicKey, "0"+imsi, "", ""), ErrDecrypt},
		{"ciphertext for the default key named as another key", mustEncrypt(t, &ks.A.PublicKey, "0"+imsi, "", "4661"), ErrDecrypt},
		{"unknown key identifier", mustEncrypt(t, &ks.A.PublicKey, "0"+imsi, "", "9999"), ErrUnknownKey},
		{"plaintext anonymous@realm", enc("anonymous@" + realm3gpp), ErrNotPermanent},
		{"plaintext with a pseudonym prefix (EAP-AKA')", enc("7" + imsi + "@" + realm3gpp), ErrNotPermanent},
		{"plaintext with a pseudonym prefix (EAP-AKA)", enc("2" + imsi), ErrNotPermanent},
		{"plaintext with a re-authentication prefix", enc("8" + imsi), ErrNotPermanent},
		{"plaintext with the EAP-SIM prefix", enc("1" + imsi), ErrNotPermanent},
		{"plaintext with a 5-digit IMSI", enc("600101"), ErrNotPermanent},
		{"plaintext with a 16-digit IMSI", enc("6" + imsi + "0"), ErrNotPermanent},
		{"plaintext IMSI with a letter", enc("600101000000000a"), ErrNotPermanent},
		{"plaintext with an empty realm", enc("6" + imsi + "@"), ErrNotPermanent},
		{"plaintext with a trailing NUL", enc("6" + imsi + "\x00"), ErrNotPermanent},
		{"plaintext that is itself an encrypted identity", enc("\x00" + goodB64[:100]), ErrNotPermanent},
		{"outer realm making the NAI longer than 253 octets",
			mustEncrypt(t, &ks.A.PublicKey, "6"+imsi, longRealm(250), ""), ErrMalformed},
	}
	secrets := []string{imsi, goodB64, goodB64[:16], base64.StdEncoding.EncodeToString(garbage)[:16]}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Decrypt(tt.identity)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Fatalf("Decrypt returned %q with an error", got)
			}
			msg := err.Error()
			for _, s := range append(secrets, ciphertextChunks(tt.identity)...) {
				if strings.Contains(msg, s) {
					t.Fatalf("error %q contains identity material %q", msg, s)
				}
			}
		})
	}
}

// ciphertextChunks returns 16-octet pieces of an identity's base64, so the
// leak check covers each case's own ciphertext.
func ciphertextChunks(identity []byte) []string {
	if len(identity) < 2 {
		return nil
	}
	b64, _, _ := bytes.Cut(identity[1:], []byte{','})
	b64, _, _ = bytes.Cut(b64, []byte{'@'})
	var out []string
	for len(b64) >= 16 {
		out = append(out, string(b64[:16]))
		b64 = b64[16:]
	}
	return out
}

func TestDecryptWithoutKeysFails(t *testing.T) {
	var d *Decrypter
	if _, err := d.Decrypt([]byte("\x00AAAA")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("nil Decrypter: %v", err)
	}
	if _, err := (&Decrypter{}).Decrypt([]byte("\x00AAAA")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("zero Decrypter: %v", err)
	}
}

func TestNewDecrypterRejectsAmbiguousKeySets(t *testing.T) {
	ks := testKeys()
	a, b := mustKey(t, "4660", ks.A), mustKey(t, "4660", ks.B)
	lower, upper := mustKey(t, "abcd", ks.A), mustKey(t, "ABCD", ks.B)
	def1, def2 := mustKey(t, "", ks.A), mustKey(t, "", ks.B)
	bad := Key{ID: "a,b", priv: ks.A}
	tests := []struct {
		name string
		keys []Key
	}{
		{"no keys", nil},
		{"duplicate ids", []Key{a, b}},
		{"ids differing only in case", []Key{lower, upper}},
		{"two default keys", []Key{def1, def2}},
		{"zero Key", []Key{{ID: "1"}}},
		{"id with a separator", []Key{bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewDecrypter(tt.keys); err == nil {
				t.Fatal("NewDecrypter accepted it")
			}
		})
	}
	// The list is copied: changing the caller's slice changes nothing.
	keys := []Key{mustKey(t, "4660", ks.A)}
	d := mustDecrypter(t, keys...)
	keys[0].ID = "9999"
	if _, err := d.Decrypt(mustEncrypt(t, &ks.A.PublicKey, "0"+imsi, "", "4660")); err != nil {
		t.Fatalf("Decrypt after the caller changed its slice: %v", err)
	}
}

func TestIsEncryptedIsTheLeadingNUL(t *testing.T) {
	for in, want := range map[string]bool{
		"":                  false,
		"\x00":              true,
		"\x00AAAA":          true,
		"0" + imsi:          false,
		"anonymous@realm":   false,
		"6" + imsi + "\x00": false,
	} {
		if got := IsEncrypted([]byte(in)); got != want {
			t.Errorf("IsEncrypted(%q) = %v", in, got)
		}
	}
}

func TestKeyNeverPrintsKeyMaterial(t *testing.T) {
	ks := testKeys()
	k := mustKey(t, "4660", ks.A)
	s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
	for _, secret := range []string{ks.A.D.String()[:20], ks.A.N.String()[:20], ks.A.Primes[0].String()[:20]} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q shows key material", s)
		}
	}
	if !strings.Contains(s, `"4660"`) || !strings.Contains(s, "RSA-2048") {
		t.Fatalf("%q does not say which key", s)
	}
}

// RSA-2048 cannot carry more than 190 octets, so the 253-octet NAI bound is
// checked on the plaintext directly (RSA-4096 carries 446).
func TestPermanentRefusesNAIsOver253Octets(t *testing.T) {
	ok := "6" + imsi + "@" + longRealm(253-len(imsi)-2)
	if got, err := permanent([]byte(ok), nil); err != nil || string(got) != ok {
		t.Fatalf("253 octets: %q, %v", got, err)
	}
	if _, err := permanent([]byte(ok+"a"), nil); !errors.Is(err, ErrNotPermanent) {
		t.Fatalf("254 octets: %v", err)
	}
}
