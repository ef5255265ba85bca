package privacy

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const (
	// MaxIdentityLen bounds an encrypted identity, NUL included. RSA-4096
	// gives 684 base64 octets; AT_IDENTITY cannot carry more than 1016.
	MaxIdentityLen = 1024
	// maxNAILen is the longest permanent identity we return (RFC 7542 2.2;
	// the eap package keeps the same bound).
	maxNAILen = 253
	// maxIDLen bounds a key identifier value.
	maxIDLen = 128
	// CertificateSerialNumber is the key identifier attribute name carriers
	// put in Android's carrier key JSON ("key-identifier":
	// "CertificateSerialNumber=...", sent verbatim after a ','). Encrypt
	// writes it; Decrypt prefers it when an identity carries several
	// attributes.
	CertificateSerialNumber = "CertificateSerialNumber"
)

// Errors from Decrypt. They are returned wrapped with a short fixed reason;
// test with errors.Is. None of them ever carries identity bytes.
var (
	// ErrMalformed: not the encrypted form (no leading NUL, empty, longer
	// than MaxIdentityLen, bad base64, bad realm, bad attribute syntax).
	ErrMalformed = errors.New("privacy: malformed encrypted identity")
	// ErrUnknownKey: the key identifier names no configured key.
	ErrUnknownKey = errors.New("privacy: key identifier names no configured key")
	// ErrDecrypt: RSA-OAEP decryption failed with every candidate key:
	// encrypted for another key, or tampered with.
	ErrDecrypt = errors.New("privacy: identity does not decrypt")
	// ErrNotPermanent: it decrypted, but not to '0' or '6' + IMSI [@realm].
	ErrNotPermanent = errors.New("privacy: decrypted identity is not a permanent identity")
)

var strictBase64 = base64.StdEncoding.Strict()

func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }

// Decrypter holds several keys at once (for rotation) and picks one by the
// key identifier attribute; with no identifier it tries the default key
// (ID ""), and if there is none, each key in order. It is immutable and safe
// for concurrent use.
type Decrypter struct {
	keys []Key
	def  int // index of the key with ID "", or -1
}

// NewDecrypter checks keys and keeps a copy of the list. Duplicate IDs
// (compared case-insensitively) are rejected, as are keys not made by
// LoadKey or NewKey.
func NewDecrypter(keys []Key) (*Decrypter, error) {
	if len(keys) == 0 {
		return nil, errors.New("privacy: no keys")
	}
	d := &Decrypter{keys: slices.Clone(keys), def: -1}
	for i, k := range d.keys {
		if k.priv == nil {
			return nil, fmt.Errorf("privacy: keys[%d]: no RSA key (make keys with LoadKey)", i)
		}
		if err := checkID(k.ID); err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		for j := range i {
			if strings.EqualFold(d.keys[j].ID, k.ID) {
				return nil, fmt.Errorf("privacy: keys[%d]: id %q duplicates keys[%d]", i, k.ID, j)
			}
		}
		if k.ID == "" {
			d.def = i
		}
	}
	return d, nil
}

// IsEncrypted reports whether an identity is in the encrypted form (starts
// with 0x00). No permanent, pseudonym, re-authentication or anonymous NAI
// starts with NUL.
func IsEncrypted(identity []byte) bool {
	return len(identity) > 0 && identity[0] == 0
}

// Decrypt returns the permanent identity inside an encrypted identity: the
// identity the phone encrypted and derives its keys from. When the phone
// put the realm outside the ciphertext ("\x00" b64 "@realm", Android 9) and
// the plaintext has none, the realm is appended, because that is the
// identity the phone uses (docs/identity-privacy.md). The result is a fresh
// slice. Errors: ErrMalformed, ErrUnknownKey, ErrDecrypt, ErrNotPermanent;
// they never include the ciphertext or plaintext. Never panics.
func (d *Decrypter) Decrypt(identity []byte) ([]byte, error) {
	if d == nil || len(d.keys) == 0 {
		return nil, fmt.Errorf("%w: no keys configured", ErrUnknownKey)
	}
	e, err := parse(identity)
	if err != nil {
		return nil, err
	}
	try := func(k Key) ([]byte, bool) {
		if len(e.ct) != k.priv.Size() {
			return nil, false // cannot be for this key; spare the RSA operation
		}
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, k.priv, e.ct, nil)
		return pt, err == nil
	}
	switch {
	case e.keyID != "":
		for _, k := range d.keys {
			if k.ID != "" && strings.EqualFold(k.ID, e.keyID) {
				if pt, ok := try(k); ok {
					return permanent(pt, e.realm)
				}
				return nil, ErrDecrypt
			}
		}
		return nil, ErrUnknownKey
	case d.def >= 0:
		if pt, ok := try(d.keys[d.def]); ok {
			return permanent(pt, e.realm)
		}
	default:
		for _, k := range d.keys {
			if pt, ok := try(k); ok {
				return permanent(pt, e.realm)
			}
		}
	}
	return nil, ErrDecrypt
}

// encrypted is a parsed encrypted identity.
type encrypted struct {
	ct    []byte // decoded ciphertext
	realm []byte // outer realm, nil when absent
	keyID string // key identifier value, "" when absent
}

// parse splits 0x00 || base64 [@realm] [,name=value...] [@realm]. See
// docs/identity-privacy.md for why each liberty is taken.
func parse(identity []byte) (encrypted, error) {
	var e encrypted
	if !IsEncrypted(identity) {
		return e, malformed("does not start with NUL")
	}
	if len(identity) > MaxIdentityLen {
		return e, malformed("longer than 1024 octets")
	}
	rest := identity[1:]
	// Trailing NULs: some peers count a C string terminator in the identity
	// length (hostapd's "drop last null character" workaround).
	for len(rest) > 0 && rest[len(rest)-1] == 0 {
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 0 {
		return e, malformed("nothing after NUL")
	}
	head, attrs, hasAttrs := bytes.Cut(rest, []byte{','})
	b64, realm, hasRealm := bytes.Cut(head, []byte{'@'})
	if hasAttrs {
		if !hasRealm {
			// Realm after the key identifier: no known phone sends it,
			// but the order is not written down anywhere normative.
			attrs, realm, hasRealm = bytes.Cut(attrs, []byte{'@'})
		}
		id, err := keyIdentifier(attrs)
		if err != nil {
			return e, err
		}
		e.keyID = id
	}
	if hasRealm {
		if !validRealm(realm) {
			return e, malformed("bad realm")
		}
		e.realm = realm
	}
	if len(b64) == 0 {
		return e, malformed("no ciphertext")
	}
	// StdEncoding skips CR and LF, which Android 9 put into the base64
	// (android.util.Base64.DEFAULT wraps at 76 characters).
	ct := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := strictBase64.Decode(ct, b64)
	if err != nil {
		return e, malformed("bad base64")
	}
	if n == 0 {
		return e, malformed("no ciphertext")
	}
	e.ct = ct[:n]
	return e, nil
}

// keyIdentifier parses the attributes after the first ',': one or more
// name=value pairs separated by ','. The key identifier is the value of
// CertificateSerialNumber if present, else of the only attribute.
func keyIdentifier(attrs []byte) (string, error) {
	var (
		csn, only []byte
		n         int
		names     [][]byte
	)
	for more := true; more; {
		var f []byte
		f, attrs, more = bytes.Cut(attrs, []byte{','})
		f = bytes.Trim(f, " \t")
		name, value, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			return "", malformed("attribute without '='")
		}
		if len(name) == 0 || !allBytes(name, isNameByte) {
			return "", malformed("bad attribute name")
		}
		if len(value) == 0 || len(value) > maxIDLen || !allBytes(value, isValueByte) {
			return "", malformed("bad attribute value")
		}
		for _, seen := range names {
			if bytes.EqualFold(seen, name) {
				return "", malformed("attribute repeated")
			}
		}
		if len(names) == 8 {
			return "", malformed("too many attributes")
		}
		names = append(names, name)
		if bytes.EqualFold(name, []byte(CertificateSerialNumber)) {
			csn = value
		}
		only = value
		n++
	}
	switch {
	case csn != nil:
		return string(csn), nil
	case n == 1:
		return string(only), nil
	}
	return "", malformed("several attributes and none is CertificateSerialNumber")
}

// permanent checks a plaintext and builds the identity to return. pt is
// cleared when it is not returned.
func permanent(pt, outerRealm []byte) ([]byte, error) {
	user, inner, hasInner := bytes.Cut(pt, []byte{'@'})
	if len(pt) > maxNAILen || !isPermanentUser(user) || (hasInner && !validRealm(inner)) {
		clear(pt)
		return nil, ErrNotPermanent
	}
	if hasInner || outerRealm == nil {
		return bytes.Clone(pt), nil
	}
	if len(pt)+1+len(outerRealm) > maxNAILen {
		clear(pt)
		return nil, malformed("realm too long")
	}
	out := make([]byte, 0, len(pt)+1+len(outerRealm))
	out = append(append(append(out, pt...), '@'), outerRealm...)
	clear(pt)
	return out, nil
}

// isPermanentUser: '0' (EAP-AKA) or '6' (EAP-AKA') and a 6 to 15 digit IMSI
// (RFC 4187 4.1.1.6, RFC 9048 3.1, TS 23.003 2.2), as eap.ParseIdentity.
func isPermanentUser(u []byte) bool {
	if len(u) < 7 || len(u) > 16 || (u[0] != '0' && u[0] != '6') {
		return false
	}
	return allBytes(u[1:], func(c byte) bool { return c >= '0' && c <= '9' })
}

// validRealm: dot-separated labels of letters, digits and '-', as 3GPP
// realms (TS 23.003 14.5) and RFC 7542 2.2 allow; at most 253 octets.
func validRealm(r []byte) bool {
	if len(r) == 0 || len(r) > maxNAILen {
		return false
	}
	for label := range bytes.SplitSeq(r, []byte{'.'}) {
		if len(label) == 0 || len(label) > 63 || !allBytes(label, isLabelByte) {
			return false
		}
	}
	return true
}

func allBytes(b []byte, ok func(byte) bool) bool {
	for _, c := range b {
		if !ok(c) {
			return false
		}
	}
	return true
}

func isLabelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func isNameByte(c byte) bool { return isLabelByte(c) || c == '_' || c == '.' }

// isValueByte: printable ASCII except the separators ',' and '@'. '=' may
// appear in a value (the first '=' ends the name).
func isValueByte(c byte) bool { return c > ' ' && c < 0x7f && c != ',' && c != '@' }
