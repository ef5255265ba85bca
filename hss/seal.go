package hss

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/aaa-project/aaa/milenage"
)

// Subscriber keys are sealed at rest: a Store holds K and OPc only as
// AES-256-GCM ciphertext under a key-encryption key (KEK) that lives
// outside the store, and only this package opens them, just before
// Milenage, wiping the plaintext after. The record carries the id of the
// KEK that sealed it, so KEKs can rotate (the first seals, all open), and
// is bound to its IMSI as additional data, so that a record copied to
// another subscriber does not open.

// KEK is a key-encryption key. It prints as REDACTED.
type KEK struct {
	ID  string
	Key [32]byte
}

// String keeps the key out of logs.
func (k KEK) String() string { return "hss.KEK{" + k.ID + " REDACTED}" }

// GoString does the same for %#v.
func (k KEK) GoString() string { return k.String() }

// maxKEKIDLen bounds a KEK id (it is stored in every record).
const maxKEKIDLen = 32

// maxKEKText bounds what ReadKEKs reads: a key file holds a few lines.
const maxKEKText = 64 << 10

// ReadKEKs reads a key file: key-encryption keys as ParseKEKs reads them.
// The first seals. Errors name the line, never a key.
func ReadKEKs(r io.Reader) ([]KEK, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKEKText+1))
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(data) > maxKEKText {
		return nil, fmt.Errorf("key file: longer than %d bytes", maxKEKText)
	}
	keks, err := ParseKEKs(data)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return keks, nil
}

// ParseKEKs parses key-encryption keys, each "ID HEX64" (an id of up to 32
// printable characters, a space, an AES-256 key in hex), one a line; ';'
// also separates keys, so that all of them fit on the one line an
// environment variable (hss.key_env) usually is. Blank lines and lines
// starting with # are skipped. The first key seals, all open. Errors name
// the line (and, on a line of several keys, which one), never a key. The
// caller wipes text.
func ParseKEKs(text []byte) ([]KEK, error) {
	var keks []KEK
	fail := func(err error) ([]KEK, error) {
		for i := range keks {
			clear(keks[i].Key[:])
		}
		return nil, err
	}
	seen := map[string]string{} // id -> where it was first given
	for line, rest := 1, text; len(rest) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			l, rest = rest, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		entries := bytes.Split(l, []byte{';'})
		for n, e := range entries {
			e = bytes.TrimSpace(e)
			if len(e) == 0 {
				continue
			}
			where := fmt.Sprintf("line %d", line)
			if len(entries) > 1 {
				where = fmt.Sprintf("line %d, key %d", line, n+1)
			}
			k, err := parseKEK(e)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", where, err))
			}
			if first, dup := seen[k.ID]; dup {
				clear(k.Key[:])
				return fail(fmt.Errorf("%s: id used before, on %s", where, first))
			}
			seen[k.ID] = where
			keks = append(keks, k)
		}
	}
	if len(keks) == 0 {
		return nil, errors.New("no key")
	}
	return keks, nil
}

// parseKEK parses one "ID HEX64".
func parseKEK(e []byte) (KEK, error) {
	var k KEK
	fields := bytes.Fields(e)
	if len(fields) != 2 {
		return k, errors.New(`want "ID HEX64"`)
	}
	id, hexKey := fields[0], fields[1]
	if len(id) > maxKEKIDLen || !printableID(string(id)) {
		return k, fmt.Errorf("the id must be 1 to %d printable characters", maxKEKIDLen)
	}
	if len(hexKey) != 64 {
		return k, errors.New("want a key of 64 hex digits (AES-256)")
	}
	if _, err := hex.Decode(k.Key[:], hexKey); err != nil {
		clear(k.Key[:])
		return k, errors.New("the key is not hex")
	}
	k.ID = string(id)
	return k, nil
}

func printableID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return id != ""
}

// Sealer seals and opens subscriber keys.
type Sealer struct {
	sealID string
	aeads  map[string]cipher.AEAD
}

// NewSealer returns a sealer for keks; keks[0] seals.
func NewSealer(keks []KEK) (*Sealer, error) {
	if len(keks) == 0 {
		return nil, errors.New("hss: no key-encryption key")
	}
	s := &Sealer{sealID: keks[0].ID, aeads: make(map[string]cipher.AEAD, len(keks))}
	for _, k := range keks {
		if _, dup := s.aeads[k.ID]; dup {
			return nil, errors.New("hss: key-encryption key id used twice")
		}
		if len(k.ID) == 0 || len(k.ID) > maxKEKIDLen {
			return nil, errors.New("hss: key-encryption key id of a bad length")
		}
		block, err := aes.NewCipher(k.Key[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// SealKeyID is the id of the KEK that seals (the first of the key file).
func (s *Sealer) SealKeyID() string { return s.sealID }

// NewEphemeralSealer returns a sealer under a random key that lives as
// long as the process: for a store in memory that is loaded at every
// start, the keys are still never held in the clear.
func NewEphemeralSealer() *Sealer {
	k := KEK{ID: "ephemeral"}
	rand.Read(k.Key[:]) // never fails (crypto/rand, Go 1.24+)
	s, _ := NewSealer([]KEK{k})
	clear(k.Key[:])
	return s
}

// sealedFormat starts every sealed record.
const sealedFormat = 1

// plainLen is K || OPc.
const plainLen = 16 + 16

// adPrefix and the IMSI are the additional data: a record is bound to its
// subscriber.
const adPrefix = "aaa subscriber keys v1 "

// scratch is one allocation for the plaintext (first plainLen octets) and
// the additional data of one seal or open: both escape through the AEAD
// interface, and a vector opens a record every time.
func scratch(imsi string) (plain, ad []byte) {
	b := make([]byte, plainLen, plainLen+len(adPrefix)+len(imsi))
	ad = append(append(b[plainLen:], adPrefix...), imsi...)
	return b[:plainLen:plainLen], ad
}

// Seal returns K and OPc sealed for imsi:
// format (1) | len(id) (1) | id | nonce (12) | AES-256-GCM(K || OPc).
func (s *Sealer) Seal(imsi string, k *milenage.Key, opc *milenage.OPc) []byte {
	aead := s.aeads[s.sealID]
	plain, ad := scratch(imsi)
	copy(plain[:16], k[:])
	copy(plain[16:], opc[:])
	out := make([]byte, 0, 2+len(s.sealID)+aead.NonceSize()+plainLen+aead.Overhead())
	out = append(out, sealedFormat, byte(len(s.sealID)))
	out = append(out, s.sealID...)
	nonce := out[len(out) : len(out)+aead.NonceSize()]
	rand.Read(nonce)
	out = out[:len(out)+aead.NonceSize()]
	out = aead.Seal(out, nonce, plain, ad)
	clear(plain)
	return out
}

// Errors of Open. Neither says anything about the keys.
var (
	ErrSealedFormat = errors.New("hss: sealed subscriber record malformed")
	ErrSealedKey    = errors.New("hss: sealed subscriber record names an unknown key-encryption key")
	ErrSealedOpen   = errors.New("hss: sealed subscriber record does not open (wrong key or subscriber, or altered)")
)

// KeyID returns the id of the KEK that sealed a record.
func KeyID(sealed []byte) (string, error) {
	if len(sealed) < 2 || sealed[0] != sealedFormat || len(sealed) < 2+int(sealed[1]) {
		return "", ErrSealedFormat
	}
	return string(sealed[2 : 2+int(sealed[1])]), nil
}

// Open returns the K and OPc sealed for imsi. The caller wipes them.
func (s *Sealer) Open(imsi string, sealed []byte) (k milenage.Key, opc milenage.OPc, err error) {
	id, err := KeyID(sealed)
	if err != nil {
		return k, opc, err
	}
	aead, ok := s.aeads[id]
	if !ok {
		return k, opc, ErrSealedKey
	}
	rest := sealed[2+len(id):]
	if len(rest) != aead.NonceSize()+plainLen+aead.Overhead() {
		return k, opc, ErrSealedFormat
	}
	plain, ad := scratch(imsi)
	defer clear(plain)
	if _, err := aead.Open(plain[:0], rest[:aead.NonceSize()], rest[aead.NonceSize():], ad); err != nil {
		return k, opc, ErrSealedOpen
	}
	copy(k[:], plain[:16])
	copy(opc[:], plain[16:])
	return k, opc, nil
}

// Rewrap opens a record and seals it again under the sealing KEK (key
// rotation). It returns the record unchanged when that KEK sealed it.
func (s *Sealer) Rewrap(imsi string, sealed []byte) ([]byte, error) {
	if id, err := KeyID(sealed); err == nil && id == s.sealID {
		return bytes.Clone(sealed), nil
	}
	k, opc, err := s.Open(imsi, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(k[:])
	defer clear(opc[:])
	return s.Seal(imsi, &k, &opc), nil
}
