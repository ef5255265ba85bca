package eap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Temporary identities are random or sealed: nothing in them reveals the
// IMSI (RFC 4187 4.1.1.7).

// randomUsername returns 16 URL-safe characters from 96 random bits: a stored
// pseudonym or re-authentication username.
func randomUsername() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// PseudonymKey is one key of the stateless pseudonym scheme.
type PseudonymKey struct {
	ID  uint8
	Key []byte // 16 or 32 octets: AES-128 or AES-256
}

// SealedPseudonyms makes stateless pseudonyms: the IMSI and an expiry sealed
// with AES-GCM under a server key, so that any node holding the key maps a
// pseudonym back without a store lookup (as Radiator's
// TemporaryIdentityAES does). Keys rotate: the first one seals, all of them
// open, picked by the key ID the pseudonym carries.
//
// Layout before base64url: key ID (1) || nonce (12) || AES-GCM(IMSI as
// 8 octets of BCD, F-padded || expiry as 4 octets of Unix seconds), with the
// identity prefix octet as additional data so that an AKA pseudonym does not
// open as an AKA' one.
type SealedPseudonyms struct {
	seal  uint8
	aeads map[uint8]cipher.AEAD
}

// Errors of the stateless scheme; all of them mean "unknown pseudonym".
var (
	errPseudonymFormat  = errors.New("eap: sealed pseudonym malformed")
	errPseudonymKey     = errors.New("eap: sealed pseudonym names an unknown key")
	errPseudonymOpen    = errors.New("eap: sealed pseudonym does not open")
	errPseudonymExpired = errors.New("eap: sealed pseudonym expired")
)

// NewSealedPseudonyms returns the scheme for keys; keys[0] seals.
func NewSealedPseudonyms(keys []PseudonymKey) (*SealedPseudonyms, error) {
	if len(keys) == 0 {
		return nil, errors.New("eap: stateless pseudonyms need at least one key")
	}
	s := &SealedPseudonyms{seal: keys[0].ID, aeads: make(map[uint8]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if _, dup := s.aeads[k.ID]; dup {
			return nil, errors.New("eap: pseudonym key ID used twice")
		}
		if len(k.Key) != 16 && len(k.Key) != 32 {
			return nil, errors.New("eap: pseudonym key must be 16 or 32 octets")
		}
		block, err := aes.NewCipher(k.Key)
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

const sealedPlainLen = 8 + 4

// Seal returns the pseudonym username (without prefix or realm) for imsi.
func (s *SealedPseudonyms) Seal(prefix byte, imsi string, expires time.Time) string {
	var plain [sealedPlainLen]byte
	packBCD(plain[:8], imsi)
	binary.BigEndian.PutUint32(plain[8:], uint32(expires.Unix()))
	aead := s.aeads[s.seal]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+sealedPlainLen+aead.Overhead())
	out[0] = s.seal
	rand.Read(out[1:]) // never fails (crypto/rand, Go 1.24+)
	out = aead.Seal(out, out[1:], plain[:], []byte{prefix})
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the IMSI inside a pseudonym username made by Seal, if it is
// still valid at now.
func (s *SealedPseudonyms) Open(prefix byte, username []byte, now time.Time) (string, error) {
	var buf [64]byte
	if base64.RawURLEncoding.DecodedLen(len(username)) > len(buf) {
		return "", errPseudonymFormat
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], username)
	if err != nil || n < 1 {
		return "", errPseudonymFormat
	}
	aead, ok := s.aeads[buf[0]]
	if !ok {
		return "", errPseudonymKey
	}
	ns := aead.NonceSize()
	if n != 1+ns+sealedPlainLen+aead.Overhead() {
		return "", errPseudonymFormat
	}
	plain, err := aead.Open(buf[1+ns:1+ns], buf[1:1+ns], buf[1+ns:n], []byte{prefix})
	if err != nil {
		return "", errPseudonymOpen
	}
	if !now.Before(time.Unix(int64(binary.BigEndian.Uint32(plain[8:])), 0)) {
		return "", errPseudonymExpired
	}
	imsi, ok := unpackBCD(plain[:8])
	if !ok {
		return "", errPseudonymFormat
	}
	return imsi, nil
}

// packBCD writes up to 16 decimal digits as BCD, padded with 0xF.
func packBCD(dst []byte, digits string) {
	for i := range dst {
		dst[i] = 0xff
	}
	for i := 0; i < len(digits) && i < 2*len(dst); i++ {
		d := digits[i] - '0'
		if i%2 == 0 {
			dst[i/2] = d<<4 | 0x0f
		} else {
			dst[i/2] = dst[i/2]&0xf0 | d
		}
	}
}

func unpackBCD(src []byte) (string, bool) {
	var out [16]byte
	n := 0
	for _, b := range src {
		for _, d := range [2]byte{b >> 4, b & 0x0f} {
			if d == 0x0f {
				return string(out[:n]), isIMSI(out[:n])
			}
			if d > 9 {
				return "", false
			}
			out[n] = '0' + d
			n++
		}
	}
	return string(out[:n]), isIMSI(out[:n])
}
