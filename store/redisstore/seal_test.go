package redisstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/internal/redistest"
)

func stateKey(id string, b byte) StateKey {
	k := StateKey{ID: id}
	for i := range k.Key {
		k.Key[i] = b + byte(i)
	}
	return k
}

func TestStateSealer(t *testing.T) {
	old, _ := NewStateSealer([]StateKey{stateKey("2025", 1)})
	rotated, _ := NewStateSealer([]StateKey{stateKey("2026", 7), stateKey("2025", 1)})
	plain := []byte("K_aut K_encr MK MSK EMSK")
	a := old.Seal(nil, plain, "aaa:c:{1}")
	b := old.Seal(nil, plain, "aaa:c:{1}")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one plaintext are equal: a nonce repeated")
	}
	if bytes.Contains(a, plain) {
		t.Fatal("the plaintext is in the sealed value")
	}
	for _, tc := range []struct {
		name   string
		s      *StateSealer
		sealed []byte
		ad     string
		ok     bool
	}{
		{"same key", old, a, "aaa:c:{1}", true},
		{"after rotation, the old key still opens", rotated, a, "aaa:c:{1}", true},
		{"under another Redis key", old, a, "aaa:c:{2}", false},
		{"sealed by a newer key the node lacks", old, rotated.Seal(nil, plain, "k"), "k", false},
		{"tampered", old, append(bytes.Clone(a[:len(a)-1]), a[len(a)-1]^1), "aaa:c:{1}", false},
		{"truncated", old, a[:5], "aaa:c:{1}", false},
		{"empty", old, nil, "aaa:c:{1}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Open(nil, tc.sealed, tc.ad)
			if tc.ok != (err == nil) || (tc.ok && !bytes.Equal(got, plain)) {
				t.Fatalf("open: %v (want ok %v)", err, tc.ok)
			}
		})
	}
	if _, err := NewStateSealer([]StateKey{stateKey("x", 1), stateKey("x", 2)}); err == nil {
		t.Fatal("a key id used twice was accepted")
	}
}

// What Redis holds of a conversation and of a re-authentication context
// shows none of their session keys.
func TestEAPStore_SessionKeysSealedAtRest(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	ctx := context.Background()
	s := NewEAPStore(rdb, EAPConfig{})
	c := eap.Conversation{State: eap.StateChallenge, Expires: time.Now().Add(time.Minute), IMSI: "001010000000001"}
	c.ID[0] = 9
	secrets := map[string][]byte{}
	for i := range c.Keys.KAut {
		c.Keys.KAut[i] = 0xa0 ^ byte(i)
	}
	for i := range c.Keys.MSK {
		c.Keys.MSK[i] = 0xb0 ^ byte(i)
	}
	secrets["K_aut"], secrets["MSK"] = c.Keys.KAut[:16], c.Keys.MSK[:16]
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	rec := eap.ReauthRecord{IMSI: c.IMSI, Method: eap.TypeAKAPrime, Expires: time.Now().Add(time.Hour)}
	for i := range rec.KRe {
		rec.KRe[i] = 0xc0 ^ byte(i)
	}
	secrets["K_re"] = rec.KRe[:16]
	if err := s.PutReauth(ctx, "r1", &rec); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{s.convKey(c.ID), s.reauthKey("r1")} {
		v, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for name, secret := range secrets {
			if bytes.Contains(v, secret) {
				t.Errorf("%s holds %s in the clear", key, name)
			}
		}
	}
	// And they come back.
	var got eap.Conversation
	if err := s.GetFresh(ctx, c.ID, &got); err != nil || got.Keys.MSK != c.Keys.MSK {
		t.Fatalf("get: %v", err)
	}
	var r eap.ReauthRecord
	if err := s.TakeReauth(ctx, "r1", &r); err != nil || r.KRe != rec.KRe {
		t.Fatalf("take: %v", err)
	}
}

// What Redis hands back is untrusted: Open must not panic on it, and only
// what Seal made for that key opens.
func FuzzStateOpen(f *testing.F) {
	s, err := NewStateSealer([]StateKey{stateKey("1", 3)})
	if err != nil {
		f.Fatal(err)
	}
	plain := []byte("session keys")
	good := s.Seal(nil, plain, "aaa:c:{1}")
	f.Add(good, "aaa:c:{1}")
	f.Add(good, "aaa:c:{2}")
	f.Add(good[:len(good)-3], "aaa:c:{1}")
	f.Add([]byte{1, 200}, "")
	f.Fuzz(func(t *testing.T, sealed []byte, ad string) {
		got, err := s.Open(nil, sealed, ad)
		if err == nil && (ad != "aaa:c:{1}" || !bytes.Equal(got, plain)) {
			t.Fatalf("a value Seal did not make for %q opened", ad)
		}
	})
}
