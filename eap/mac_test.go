package eap_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// K_aut values of the known-answer seeds: EAP-AKA from
// aka/testdata/aka_prf.json (eap_aka_full_auth), EAP-AKA' from RFC 5448
// Appendix C case 1.
const (
	codecKAutAKA      = "18c044070e5e642a2643876ff7a83812"
	codecKAutAKAPrime = "0842ea722ff6835bfa2032499fc3ec23c2f0e388b4f07543ffc677f1696d71ea"
	codecNonceS       = "0123456789abcdeffedcba9876543210"
)

// codecRefMAC computes the AT_MAC value with crypto/hmac, as a second
// implementation: HMAC over the packet with the MAC value zeroed, then extra,
// truncated to 16 octets (RFC 4187 §10.15, RFC 9048 §3.4.2).
func codecRefMAC(t eap.Type, key, pkt []byte, off int, extra []byte) []byte {
	h := sha1.New
	if t == eap.TypeAKAPrime {
		h = sha256.New
	}
	m := hmac.New(func() hash.Hash { return h() }, key)
	p := append([]byte(nil), pkt...)
	clear(p[off : off+16])
	m.Write(p)
	m.Write(extra)
	return m.Sum(nil)[:16]
}

// TestMAC_KnownAnswer checks VerifyMAC and SetMAC against MACs computed by an
// independent script (see codecSeeds).
func TestMAC_KnownAnswer(t *testing.T) {
	tests := []struct {
		seed  string
		typ   eap.Type
		key   string
		extra string
	}{
		{"aka-challenge-request", eap.TypeAKA, codecKAutAKA, ""},
		{"aka-challenge-response", eap.TypeAKA, codecKAutAKA, ""},
		{"aka-reauth-request", eap.TypeAKA, codecKAutAKA, ""},
		{"aka-reauth-response", eap.TypeAKA, codecKAutAKA, codecNonceS},
		{"akaprime-challenge-request", eap.TypeAKAPrime, codecKAutAKAPrime, ""},
		{"akaprime-challenge-response", eap.TypeAKAPrime, codecKAutAKAPrime, ""},
		{"akaprime-challenge-kdfs", eap.TypeAKAPrime, codecKAutAKAPrime, ""},
		{"akaprime-notification-request", eap.TypeAKAPrime, codecKAutAKAPrime, ""},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			pkt := codecSeed(t, tt.seed)
			key, extra := codecHex(t, tt.key), codecHex(t, tt.extra)
			m, err := eap.ParseAKA(pkt)
			if err != nil {
				t.Fatal(err)
			}
			off := m.Attrs.MACOffset
			if !eap.VerifyMAC(tt.typ, key, pkt, off, extra) {
				t.Fatal("VerifyMAC false for a known-good MAC")
			}
			if tt.extra != "" && eap.VerifyMAC(tt.typ, key, pkt, off, nil) {
				t.Fatal("VerifyMAC true without the extra octets")
			}
			if got := codecRefMAC(tt.typ, key, pkt, off, extra); !bytes.Equal(got, pkt[off:off+16]) {
				t.Fatalf("crypto/hmac gives %x, seed has %x", got, pkt[off:off+16])
			}
			re := append([]byte(nil), pkt...)
			for i := range 16 {
				re[off+i] = 0xff
			}
			eap.SetMAC(tt.typ, key, re, off, extra)
			if !bytes.Equal(re, pkt) {
				t.Fatalf("SetMAC wrote %x, want %x", re[off:off+16], pkt[off:off+16])
			}
		})
	}
}

// TestMAC_AgainstCryptoHMAC builds challenges and re-authentication messages
// of many sizes (so that the packet straddles the 64-octet blocks in every
// way) and compares SetMAC with crypto/hmac for both methods.
func TestMAC_AgainstCryptoHMAC(t *testing.T) {
	keys := map[eap.Type][]byte{
		eap.TypeAKA:      codecHex(t, codecKAutAKA),
		eap.TypeAKAPrime: codecHex(t, codecKAutAKAPrime),
	}
	var rand [16]byte
	for i := range rand {
		rand[i] = byte(i)
	}
	for _, typ := range []eap.Type{eap.TypeAKA, eap.TypeAKAPrime} {
		for n := 0; n <= 200; n++ {
			b := eap.NewBuilder(nil, eap.CodeRequest, byte(n), typ, eap.SubtypeChallenge)
			b.AddRAND(&rand)
			b.AddIdentityLike(eap.AttrIdentity, bytes.Repeat([]byte{byte(n)}, n))
			b.AddMAC()
			b.AddFlag(eap.AttrResultInd)
			pkt, off, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			extra := bytes.Repeat([]byte{0x5a}, n%17)
			eap.SetMAC(typ, keys[typ], pkt, off, extra)
			if want := codecRefMAC(typ, keys[typ], pkt, off, extra); !bytes.Equal(pkt[off:off+16], want) {
				t.Fatalf("%v, identity %d octets: SetMAC %x, crypto/hmac %x", typ, n, pkt[off:off+16], want)
			}
			if !eap.VerifyMAC(typ, keys[typ], pkt, off, extra) {
				t.Fatalf("%v, identity %d octets: VerifyMAC false after SetMAC", typ, n)
			}
		}
	}
}

// TestVerifyMAC_BitFlips: a MAC over a challenge must fail after any single
// bit of the packet or of extra changes.
func TestVerifyMAC_BitFlips(t *testing.T) {
	for _, tc := range []struct {
		typ eap.Type
		key string
	}{{eap.TypeAKA, codecKAutAKA}, {eap.TypeAKAPrime, codecKAutAKAPrime}} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			key := codecHex(t, tc.key)
			var rand, autn [16]byte
			rand[0], autn[0] = 1, 2
			pkt, off, err := codecBuildAKAPrimeChallenge(nil, &rand, &autn, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			pkt[4] = byte(tc.typ)
			extra := codecHex(t, codecNonceS)
			eap.SetMAC(tc.typ, key, pkt, off, extra)
			if !eap.VerifyMAC(tc.typ, key, pkt, off, extra) {
				t.Fatal("VerifyMAC false after SetMAC")
			}
			orig := append([]byte(nil), pkt...)
			for i := range 8 * len(pkt) {
				pkt[i/8] ^= 1 << (i % 8)
				if eap.VerifyMAC(tc.typ, key, pkt, off, extra) {
					t.Fatalf("VerifyMAC true with bit %d of octet %d flipped", i%8, i/8)
				}
				pkt[i/8] ^= 1 << (i % 8)
			}
			for i := range 8 * len(extra) {
				extra[i/8] ^= 1 << (i % 8)
				if eap.VerifyMAC(tc.typ, key, pkt, off, extra) {
					t.Fatalf("VerifyMAC true with bit %d of extra flipped", i)
				}
				extra[i/8] ^= 1 << (i % 8)
			}
			key[0] ^= 1
			if eap.VerifyMAC(tc.typ, key, pkt, off, extra) {
				t.Fatal("VerifyMAC true with another key")
			}
			if !bytes.Equal(pkt, orig) {
				t.Fatal("VerifyMAC modified the packet")
			}
		})
	}
}

func TestVerifyMAC_BadInputs(t *testing.T) {
	pkt := codecSeed(t, "akaprime-challenge-request")
	kP := codecHex(t, codecKAutAKAPrime)
	m, err := eap.ParseAKA(pkt)
	if err != nil {
		t.Fatal(err)
	}
	off := m.Attrs.MACOffset
	trailing := append(append([]byte(nil), pkt...), 1, 2, 3)
	longer := append([]byte(nil), pkt...)
	longer[3]++ // Length beyond the octets
	tests := []struct {
		name string
		typ  eap.Type
		key  []byte
		pkt  []byte
		off  int
		want bool
	}{
		{"good", eap.TypeAKAPrime, kP, pkt, off, true},
		{"octets beyond the EAP length are not covered", eap.TypeAKAPrime, kP, trailing, off, true},
		{"AKA type with an AKA' key", eap.TypeAKA, kP, pkt, off, false},
		{"AKA' type with a 16-octet key", eap.TypeAKAPrime, kP[:16], pkt, off, false},
		{"AKA type for an AKA' packet", eap.TypeAKA, kP[:16], pkt, off, false},
		{"empty key", eap.TypeAKAPrime, nil, pkt, off, false},
		{"identity type", eap.TypeIdentity, kP, pkt, off, false},
		{"offset -1 (no AT_MAC)", eap.TypeAKAPrime, kP, pkt, -1, false},
		{"offset 0", eap.TypeAKAPrime, kP, pkt, 0, false},
		{"offset not at an AT_MAC value", eap.TypeAKAPrime, kP, pkt, off - 4, false},
		{"offset past the end", eap.TypeAKAPrime, kP, pkt, len(pkt) - 15, false},
		{"huge offset", eap.TypeAKAPrime, kP, pkt, 1 << 30, false},
		{"nil packet", eap.TypeAKAPrime, kP, nil, off, false},
		{"packet cut short", eap.TypeAKAPrime, kP, pkt[:len(pkt)-1], off, false},
		{"length field beyond the packet", eap.TypeAKAPrime, kP, longer, off, false},
		{"header only", eap.TypeAKAPrime, kP, pkt[:8], off, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eap.VerifyMAC(tt.typ, tt.key, tt.pkt, tt.off, nil); got != tt.want {
				t.Fatalf("VerifyMAC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetMAC_PanicsOnMisuse(t *testing.T) {
	pkt := codecSeed(t, "akaprime-challenge-request")
	kP := codecHex(t, codecKAutAKAPrime)
	for _, tc := range []struct {
		name string
		typ  eap.Type
		key  []byte
		off  int
	}{
		{"no AT_MAC", eap.TypeAKAPrime, kP, -1},
		{"wrong key length", eap.TypeAKA, kP, len(pkt) - 16},
		{"wrong type", eap.TypeNak, kP, len(pkt) - 16},
		{"type not the packet's", eap.TypeAKA, kP[:16], len(pkt) - 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			eap.SetMAC(tc.typ, tc.key, pkt, tc.off, nil)
		})
	}
}

// TestMAC_Allocs pins the figure in the package doc: SetMAC and VerifyMAC
// allocate nothing (the HMAC state lives on the stack, see mac.go).
func TestMAC_Allocs(t *testing.T) {
	for _, tc := range []struct {
		typ eap.Type
		key string
	}{{eap.TypeAKA, codecKAutAKA}, {eap.TypeAKAPrime, codecKAutAKAPrime}} {
		key := codecHex(t, tc.key)
		var rand, autn [16]byte
		pkt, off, err := codecBuildAKAPrimeChallenge(make([]byte, 0, 512), &rand, &autn, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		pkt[4] = byte(tc.typ)
		if n := testing.AllocsPerRun(100, func() { eap.SetMAC(tc.typ, key, pkt, off, nil) }); n != 0 {
			t.Errorf("%v: SetMAC allocates %v times, want 0", tc.typ, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			if !eap.VerifyMAC(tc.typ, key, pkt, off, nil) {
				t.Fatal("VerifyMAC false")
			}
		}); n != 0 {
			t.Errorf("%v: VerifyMAC allocates %v times, want 0", tc.typ, n)
		}
	}
}

func BenchmarkVerifyMAC(b *testing.B) {
	pkt := codecSeed(b, "akaprime-challenge-request")
	key := codecHex(b, codecKAutAKAPrime)
	off := len(pkt) - 16
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if !eap.VerifyMAC(eap.TypeAKAPrime, key, pkt, off, nil) {
			b.Fatal("VerifyMAC false")
		}
	}
}

func BenchmarkSetMAC(b *testing.B) {
	for _, tc := range []struct {
		name string
		typ  eap.Type
		key  string
	}{{"AKA", eap.TypeAKA, codecKAutAKA}, {"AKAPrime", eap.TypeAKAPrime, codecKAutAKAPrime}} {
		b.Run(tc.name, func(b *testing.B) {
			key := codecHex(b, tc.key)
			pkt := codecSeed(b, "akaprime-challenge-request")
			pkt[4] = byte(tc.typ)
			off := len(pkt) - 16
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				eap.SetMAC(tc.typ, key, pkt, off, nil)
			}
		})
	}
}
