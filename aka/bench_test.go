package aka

import (
	"encoding/binary"
	"testing"
)

// benchInputs are the RFC 5448 case 1 / TS 35.208 set 19 values.
type benchInputs struct {
	identity []byte
	network  []byte
	rand     [RANDLen]byte
	sqn      SQN
	amf      uint16
	ck, ik   [KeyLen]byte
	ckP, ikP [KeyLen]byte
	sxa      [SQNLen]byte
	mk       [20]byte
	kRe      [32]byte
	nonce    [16]byte
}

func loadBench(tb testing.TB) benchInputs {
	tb.Helper()
	s := set19(tb)
	tc := loadPrime(tb).Cases[0]
	var in benchInputs
	in.identity = []byte(tc.Identity)
	in.network = []byte(tc.NetworkName)
	fill(tb, in.rand[:], s.RAND)
	var sqnB [SQNLen]byte
	fill(tb, sqnB[:], s.SQN)
	in.sqn = SQNFromBytes(sqnB)
	in.amf = binary.BigEndian.Uint16(s.AMF)
	fill(tb, in.ck[:], tc.CK)
	fill(tb, in.ik[:], tc.IK)
	fill(tb, in.ckP[:], tc.CKPrime)
	fill(tb, in.ikP[:], tc.IKPrime)
	fill(tb, in.sxa[:], tc.SQNxorAK)
	fill(tb, in.mk[:], loadPRF(tb).AKA[0].MK)
	fill(tb, in.kRe[:], tc.KRe)
	fill(tb, in.nonce[:], loadPrime(tb).FastReauth[0].NonceS)
	return in
}

// TestNoAllocations pins the hot paths at zero allocations: vector
// generation runs per authentication, key derivation per EAP conversation.
func TestNoAllocations(t *testing.T) {
	in := loadBench(t)
	c := cipherFor(t, set19(t))
	var k Keys
	auts := buildAUTS(c, &in.rand, in.sqn)
	cases := []struct {
		name string
		fn   func()
	}{
		{"NewVector", func() { _ = NewVector(c, &in.rand, in.sqn, in.amf) }},
		{"NewVector+ToPrime", func() {
			v := NewVector(c, &in.rand, in.sqn, in.amf)
			_ = v.ToPrime(in.network)
		}},
		{"DeriveCKIKPrime", func() { _, _ = DeriveCKIKPrime(&in.ck, &in.ik, in.network, in.sxa) }},
		{"DeriveAKA", func() { DeriveAKA(in.identity, &in.ik, &in.ck, &k) }},
		{"DeriveAKAPrime", func() { DeriveAKAPrime(in.identity, &in.ikP, &in.ckP, &k) }},
		{"DeriveReauthAKA", func() { _, _ = DeriveReauthAKA(in.identity, 1, &in.nonce, &in.mk) }},
		{"DeriveReauthAKAPrime", func() { _, _ = DeriveReauthAKAPrime(in.identity, 1, &in.nonce, &in.kRe) }},
		{"VerifyAUTS", func() { _, _ = VerifyAUTS(c, &in.rand, &auts) }},
	}
	for _, tc := range cases {
		t.Run(tc.name+" does not allocate", func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("%v allocations per call, want 0", n)
			}
		})
	}
}

func BenchmarkNewVector(b *testing.B) {
	in := loadBench(b)
	c := cipherFor(b, set19(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = NewVector(c, &in.rand, in.sqn, in.amf)
	}
}

func BenchmarkDeriveCKIKPrime(b *testing.B) {
	in := loadBench(b)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = DeriveCKIKPrime(&in.ck, &in.ik, in.network, in.sxa)
	}
}

func BenchmarkDeriveAKA(b *testing.B) {
	in := loadBench(b)
	var k Keys
	b.ReportAllocs()
	for b.Loop() {
		DeriveAKA(in.identity, &in.ik, &in.ck, &k)
	}
}

func BenchmarkDeriveAKAPrime(b *testing.B) {
	in := loadBench(b)
	var k Keys
	b.ReportAllocs()
	for b.Loop() {
		DeriveAKAPrime(in.identity, &in.ikP, &in.ckP, &k)
	}
}
