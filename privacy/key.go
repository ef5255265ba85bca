package privacy

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Key sizes we accept. Below 2048 bits RSA is not fit for new keys. Above
// 4096 bits the identity outgrows what an EAP peer can send: RSA-8192 needs
// 1368 base64 characters, while AT_IDENTITY stops at 1016 octets (RFC 4187
// 10.5: length in 4-octet units, in one octet) and Decrypt at 1024.
const (
	MinKeyBits = 2048
	MaxKeyBits = 4096
)

// Key is one RSA private key for decrypting identities, with the identifier
// phones name it by.
type Key struct {
	// ID is the key identifier value as phones send it after the '=' of
	// the key identifier attribute (",CertificateSerialNumber=4660" names
	// ID "4660"); compared ASCII case-insensitively. "" is the default
	// key, used for identities that carry no identifier.
	ID   string
	priv *rsa.PrivateKey
}

// NewKey wraps an RSA private key already in memory (for tooling and tests;
// servers use LoadKey). It applies LoadKey's size limits.
func NewKey(id string, priv *rsa.PrivateKey) (Key, error) {
	if priv == nil {
		return Key{}, errors.New("privacy: nil RSA key")
	}
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	if err := checkBits(priv.N.BitLen()); err != nil {
		return Key{}, err
	}
	if err := priv.Validate(); err != nil {
		return Key{}, errors.New("privacy: RSA private key is inconsistent")
	}
	return Key{ID: id, priv: priv}, nil
}

// LoadKey reads a PEM file holding an RSA private key (PKCS#1 "RSA PRIVATE
// KEY" or PKCS#8 "PRIVATE KEY"); errors never contain key material. Minimum
// 2048 bits, maximum 4096. Other PEM blocks in the file (a certificate, say)
// are skipped; more than one private key, an encrypted PEM, or a key that is
// not RSA is an error.
func LoadKey(id string, pemBytes []byte) (Key, error) {
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	var found *pem.Block
	rest := pemBytes
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY", "PRIVATE KEY":
		case "ENCRYPTED PRIVATE KEY":
			return Key{}, errors.New("privacy: encrypted PEM keys are not supported; store the key unencrypted with restrictive file permissions")
		case "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return Key{}, fmt.Errorf("privacy: PEM block %q: want an RSA key", b.Type)
		default:
			if strings.HasSuffix(b.Type, "PRIVATE KEY") {
				return Key{}, fmt.Errorf("privacy: PEM block %q: want RSA PRIVATE KEY or PRIVATE KEY", b.Type)
			}
			continue // certificates, parameters: not ours to judge
		}
		if found != nil {
			return Key{}, errors.New("privacy: more than one private key in the PEM data")
		}
		found = b
	}
	if found == nil {
		return Key{}, errors.New("privacy: no RSA PRIVATE KEY or PRIVATE KEY PEM block found")
	}
	if _, ok := found.Headers["Proc-Type"]; ok {
		return Key{}, errors.New("privacy: encrypted PEM keys are not supported; store the key unencrypted with restrictive file permissions")
	}
	// The parsers' own errors are not passed on: ASN.1 diagnostics can
	// quote parts of the input.
	var priv *rsa.PrivateKey
	if found.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(found.Bytes)
		if err != nil {
			return Key{}, errors.New("privacy: RSA PRIVATE KEY block is not a valid PKCS#1 RSA private key")
		}
		priv = k
	} else {
		k, err := x509.ParsePKCS8PrivateKey(found.Bytes)
		if err != nil {
			return Key{}, errors.New("privacy: PRIVATE KEY block is not a valid PKCS#8 private key")
		}
		r, ok := k.(*rsa.PrivateKey)
		if !ok {
			return Key{}, fmt.Errorf("privacy: PKCS#8 key is %s, want RSA", keyKind(k))
		}
		priv = r
	}
	return NewKey(id, priv)
}

// Bits is the size of the key's modulus.
func (k Key) Bits() int {
	if k.priv == nil {
		return 0
	}
	return k.priv.N.BitLen()
}

// Public is the key's public half: what goes into the certificate given to
// phones, and what Encrypt takes.
func (k Key) Public() *rsa.PublicKey {
	if k.priv == nil {
		return nil
	}
	return &k.priv.PublicKey
}

// String never shows key material.
func (k Key) String() string {
	return fmt.Sprintf("privacy.Key{ID: %q, RSA-%d}", k.ID, k.Bits())
}

// GoString keeps %#v from walking into the private key.
func (k Key) GoString() string { return k.String() }

func checkBits(bits int) error {
	if bits < MinKeyBits {
		return fmt.Errorf("privacy: RSA key is %d bits, minimum %d", bits, MinKeyBits)
	}
	if bits > MaxKeyBits {
		return fmt.Errorf("privacy: RSA key is %d bits, maximum %d (larger ciphertexts do not fit an EAP identity)", bits, MaxKeyBits)
	}
	return nil
}

// checkID accepts what can come back from a phone as an attribute value:
// printable ASCII without the separators ',' and '@', at most 128 octets.
func checkID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("privacy: key id longer than %d octets", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !isValueByte(id[i]) {
			return errors.New("privacy: key id must be printable ASCII without spaces, ',' or '@'")
		}
	}
	return nil
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PrivateKey:
		return "ECDH"
	}
	return "not RSA"
}
