package hss

import (
	"encoding/hex"
	"testing"

	"github.com/aaa-project/aaa/milenage"
)

func mustKey(t testing.TB, s string) (k milenage.Key) {
	t.Helper()
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOPc(t testing.TB, s string) (o milenage.OPc) {
	t.Helper()
	if _, err := hex.Decode(o[:], []byte(s)); err != nil {
		t.Fatal(err)
	}
	return o
}

// testSealer seals the test stores' records.
var testSealer = NewEphemeralSealer()
