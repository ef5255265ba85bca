package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync/atomic"
)

// StateKey is a key the EAP store's state is sealed under, by id: aaad
// gives the store its key-encryption keys (hss.key_file), of which the
// store derives keys of its own (HKDF-SHA-256, "aaa redis state v1"), so
// that one key never serves two purposes.
type StateKey struct {
	ID  string
	Key [32]byte
}

// String keeps the key out of logs.
func (k StateKey) String() string { return "redisstore.StateKey{" + k.ID + " REDACTED}" }

// GoString does the same for %#v.
func (k StateKey) GoString() string { return k.String() }

// StateSealer seals what the EAP store keeps in Redis of conversations
// and re-authentication contexts (session keys: K_aut, K_encr, MK, K_re,
// MSK, EMSK) with AES-256-GCM, bound to the Redis key they are stored
// under. The first key seals; all open, so keys can rotate.
//
// Nonces are a random 96-bit starting point counted up, not drawn at
// random each time: the store seals a few times per authentication, which
// passes the 2^32 messages that random GCM nonces allow a key within days
// at full load; counted from a random start, two processes' nonces meet
// only if their ranges of some 2^40 values overlap in 2^96.
type StateSealer struct {
	sealID string
	seal   cipher.AEAD
	aeads  map[string]cipher.AEAD
	hi     uint32
	lo     atomic.Uint64
}

const stateFormat = 1

var errSealedState = errors.New("redisstore: sealed state does not open")

// NewStateSealer derives the sealer's keys from keys; keys[0] seals.
func NewStateSealer(keys []StateKey) (*StateSealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("redisstore: no state key")
	}
	s := &StateSealer{sealID: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if len(k.ID) == 0 || len(k.ID) > 255 {
			return nil, errors.New("redisstore: state key id of a bad length")
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, errors.New("redisstore: state key id used twice")
		}
		dk, err := hkdf.Key(sha256.New, k.Key[:], nil, "aaa redis state v1", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(dk)
		clear(dk)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[k.ID] = aead
	}
	s.seal = s.aeads[s.sealID]
	var start [12]byte
	rand.Read(start[:]) // never fails (crypto/rand, Go 1.24+)
	s.hi = binary.BigEndian.Uint32(start[:4])
	s.lo.Store(binary.BigEndian.Uint64(start[4:]))
	return s, nil
}

// Seal appends plain, sealed for the Redis key ad, to dst.
func (s *StateSealer) Seal(dst, plain []byte, ad string) []byte {
	dst = append(dst, stateFormat, byte(len(s.sealID)))
	dst = append(dst, s.sealID...)
	// The low half would wrap after 2^64 seals by one process: years
	// at billions a second.
	var nonce [12]byte
	binary.BigEndian.PutUint32(nonce[:4], s.hi)
	binary.BigEndian.PutUint64(nonce[4:], s.lo.Add(1))
	dst = append(dst, nonce[:]...)
	return s.seal.Seal(dst, nonce[:], plain, []byte(ad))
}

// Open appends what sealed holds to dst, if it opens for the Redis key ad.
func (s *StateSealer) Open(dst, sealed []byte, ad string) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != stateFormat {
		return nil, errSealedState
	}
	n := int(sealed[1])
	if len(sealed) < 2+n+12 {
		return nil, errSealedState
	}
	aead, ok := s.aeads[string(sealed[2:2+n])]
	if !ok {
		return nil, errSealedState
	}
	body := sealed[2+n:]
	out, err := aead.Open(dst, body[:12], body[12:], []byte(ad))
	if err != nil {
		return nil, errSealedState
	}
	return out, nil
}
