package hss

import (
	"bytes"
	"strings"
	"testing"
)

// A key file or variable is operator input: it must never panic, and
// what parses must be what was written.
func FuzzParseKEKs(f *testing.F) {
	f.Add([]byte("1 " + strings.Repeat("ab", 32) + "\n# comment\n\n2 " + strings.Repeat("01", 32)))
	f.Add([]byte("a " + strings.Repeat("ab", 32) + ";b " + strings.Repeat("cd", 32)))
	f.Add([]byte("1 xyz"))
	f.Add([]byte(";;;\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		keks, err := ParseKEKs(text)
		if err != nil {
			if bytes.Contains([]byte(err.Error()), text) && len(text) > 8 {
				t.Fatalf("the error echoes the input: %v", err)
			}
			return
		}
		for _, k := range keks {
			if k.ID == "" || len(k.ID) > maxKEKIDLen {
				t.Fatalf("key id %q accepted", k.ID)
			}
		}
	})
}

// A sealed record comes from the store: whatever it holds, Open must not
// panic, and only what Seal made opens.
func FuzzSealerOpen(f *testing.F) {
	var kek KEK
	kek.ID = "1"
	copy(kek.Key[:], strings.Repeat("k", 32))
	s, err := NewSealer([]KEK{kek})
	if err != nil {
		f.Fatal(err)
	}
	k, opc := mustKey(f, "000102030405060708090a0b0c0d0e0f"), mustOPc(f, "0f0e0d0c0b0a09080706050403020100")
	good := s.Seal("001010000000001", &k, &opc)
	f.Add("001010000000001", good)
	f.Add("001010000000002", good)
	f.Add("001010000000001", good[:len(good)-1])
	f.Add("", []byte{1, 0})
	f.Fuzz(func(t *testing.T, imsi string, sealed []byte) {
		gk, gopc, err := s.Open(imsi, sealed)
		if err != nil {
			return
		}
		if imsi != "001010000000001" || gk != k || gopc != opc {
			t.Fatalf("a record that Seal did not make for %q opened", imsi)
		}
	})
}
