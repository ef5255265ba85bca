package privacy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Encrypt builds an encrypted identity the way a phone does, for tests and
// operators' tooling:
//
//	0x00 || base64(RSA-OAEP(SHA-256, MGF1-SHA-256, label "", permanent))
//	     [|| "@" realm] [|| ",CertificateSerialNumber=" keyID]
//
// permanent is encrypted as given and is not checked, so that tests can
// build identities Decrypt must refuse. With realm "" and keyID "" this is
// wpa_supplicant's form (imsi_privacy_cert without imsi_privacy_attr); with
// permanent "6<IMSI>@<realm>", realm "" and a keyID it is Android 10 and
// later; a realm outside the ciphertext is Android 9's placement.
func Encrypt(pub *rsa.PublicKey, permanent []byte, realm, keyID string) ([]byte, error) {
	if pub == nil {
		return nil, errors.New("privacy: nil public key")
	}
	if len(permanent) == 0 {
		return nil, errors.New("privacy: empty identity")
	}
	if realm != "" && !validRealm([]byte(realm)) {
		return nil, errors.New("privacy: bad realm")
	}
	if err := checkID(keyID); err != nil {
		return nil, err
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, permanent, nil)
	if err != nil {
		// crypto/rsa's errors say what went wrong (message too long, key
		// too small) without quoting the message.
		return nil, errors.New("privacy: RSA-OAEP encryption failed: " + err.Error())
	}
	n := 1 + base64.StdEncoding.EncodedLen(len(ct))
	if realm != "" {
		n += 1 + len(realm)
	}
	if keyID != "" {
		n += 1 + len(CertificateSerialNumber) + 1 + len(keyID)
	}
	if n > MaxIdentityLen {
		return nil, errors.New("privacy: encrypted identity would be longer than 1024 octets")
	}
	out := make([]byte, 0, n)
	out = append(out, 0)
	out = base64.StdEncoding.AppendEncode(out, ct)
	if realm != "" {
		out = append(append(out, '@'), realm...)
	}
	if keyID != "" {
		out = append(append(append(append(out, ','), CertificateSerialNumber...), '='), keyID...)
	}
	return out, nil
}
