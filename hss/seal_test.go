package hss

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func kekFrom(id string, b byte) KEK {
	k := KEK{ID: id}
	for i := range k.Key {
		k.Key[i] = b + byte(i)
	}
	return k
}

func TestSealer_RoundTripBindingAndRotation(t *testing.T) {
	k, opc := mustKey(t, set1K), mustOPc(t, set1OPc)
	a, b := kekFrom("2026a", 1), kekFrom("2027a", 101)
	old, err := NewSealer([]KEK{a})
	if err != nil {
		t.Fatal(err)
	}
	sealed := old.Seal("001010000000001", &k, &opc)
	if bytes.Contains(sealed, k[:8]) || bytes.Contains(sealed, opc[:8]) {
		t.Fatal("the sealed record holds K or OPc in the clear")
	}
	if id, _ := KeyID(sealed); id != "2026a" {
		t.Fatalf("key id %q", id)
	}
	gk, gopc, err := old.Open("001010000000001", sealed)
	if err != nil || gk != k || gopc != opc {
		t.Fatalf("open: %v", err)
	}
	// Bound to its IMSI: a record moved to another subscriber does not open.
	if _, _, err := old.Open("001010000000002", sealed); !errors.Is(err, ErrSealedOpen) {
		t.Fatalf("opened for another IMSI: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, _, err := old.Open("001010000000001", tampered); !errors.Is(err, ErrSealedOpen) {
		t.Fatalf("opened a tampered record: %v", err)
	}
	// Rotation: the new key seals, the old still opens; a rewrapped
	// record opens with the new key alone.
	both, _ := NewSealer([]KEK{b, a})
	if _, _, err := both.Open("001010000000001", sealed); err != nil {
		t.Fatalf("the old key no longer opens: %v", err)
	}
	re, err := both.Rewrap("001010000000001", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyID(re); id != "2027a" {
		t.Fatalf("rewrapped under %q", id)
	}
	newOnly, _ := NewSealer([]KEK{b})
	if gk, _, err := newOnly.Open("001010000000001", re); err != nil || gk != k {
		t.Fatalf("the rewrapped record: %v", err)
	}
	if _, _, err := newOnly.Open("001010000000001", sealed); !errors.Is(err, ErrSealedKey) {
		t.Fatalf("a record under a retired key: %v, want ErrSealedKey", err)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0}, {1, 5, 'a'}, sealed[:20]} {
		if _, _, err := old.Open("001010000000001", bad); err == nil {
			t.Fatalf("opened %x", bad)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", a, a, a); strings.Contains(s, "1, 2, 3") || strings.Contains(s, "0102") {
		t.Fatalf("a KEK prints its key: %s", s)
	}
}

func TestReadKEKs(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	keks, err := ReadKEKs(strings.NewReader("# rotation\n2027 " + hex64 + "\n\n2026 " + strings.Repeat("cd", 32) + "\n"))
	if err != nil || len(keks) != 2 || keks[0].ID != "2027" || keks[0].Key[0] != 0xab {
		t.Fatalf("%v %v", keks, err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "# nothing\n", "no key"},
		{"one field", hex64 + "\n", "line 1"},
		{"short key", "a " + hex64[:62] + "\n", "line 1: want a key of 64 hex digits"},
		{"not hex", "a " + strings.Repeat("zz", 32) + "\n", "line 1: the key is not hex"},
		{"id twice", "a " + hex64 + "\na " + hex64 + "\n", "line 2: id used before, on line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadKEKs(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "abab") || strings.Contains(err.Error(), "zzzz") {
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
}
