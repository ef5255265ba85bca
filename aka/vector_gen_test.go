package aka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/milenage"
)

// cipherFor returns the MILENAGE cipher of a test set, from its stored OPc as
// an HSS holds it.
func cipherFor(tb testing.TB, s milenageSet) *milenage.Cipher {
	tb.Helper()
	var k milenage.Key
	var opc milenage.OPc
	fill(tb, k[:], s.K)
	fill(tb, opc[:], s.OPc)
	return milenage.New(k, opc)
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func TestNewVector(t *testing.T) {
	for _, s := range loadMilenage(t) {
		t.Run(s.Name+"/AUTN is SQN xor AK || AMF || MAC-A and XRES, CK, IK are f2-f4", func(t *testing.T) {
			c := cipherFor(t, s)
			var rand [RANDLen]byte
			var sqnB [SQNLen]byte
			fill(t, rand[:], s.RAND)
			fill(t, sqnB[:], s.SQN)
			v := NewVector(c, &rand, SQNFromBytes(sqnB), binary.BigEndian.Uint16(s.AMF))

			var wantAUTN []byte
			wantAUTN = append(wantAUTN, xor(s.SQN, s.AK)...)
			wantAUTN = append(wantAUTN, s.AMF...)
			wantAUTN = append(wantAUTN, s.MACA...)
			checkBytes(t, "RAND", v.RAND[:], s.RAND)
			checkBytes(t, "AUTN", v.AUTN[:], wantAUTN)
			if v.XRESLen != 8 {
				t.Errorf("XRESLen = %d, want 8 (MILENAGE f2)", v.XRESLen)
			}
			checkBytes(t, "XRES", v.Res(), s.RES)
			checkBytes(t, "XRES padding", v.XRES[8:], make([]byte, MaxRES-8))
			checkBytes(t, "CK", v.CK[:], s.CK)
			checkBytes(t, "IK", v.IK[:], s.IK)
			if v.Prime {
				t.Error("Prime = true, want false for a fresh quintet")
			}
		})
	}

	// RFC 5448 Appendix C cases 1 and 2 carry the AUTN of TS 35.208 set
	// 19; its SQN is SQN xor AK xor AK.
	s19 := set19(t)
	c := cipherFor(t, s19)
	for _, tc := range loadPrime(t).Cases[:2] {
		t.Run(tc.Name+"/NewVector reproduces the RFC AUTN, RES, CK, IK and then CK', IK'", func(t *testing.T) {
			sqnB := [SQNLen]byte(xor(tc.SQNxorAK, s19.AK))
			checkBytes(t, "reconstructed SQN", sqnB[:], s19.SQN)
			var rand [RANDLen]byte
			fill(t, rand[:], tc.RAND)
			amf := binary.BigEndian.Uint16(tc.AUTN[6:8])

			v := NewVector(c, &rand, SQNFromBytes(sqnB), amf)
			checkBytes(t, "AUTN", v.AUTN[:], tc.AUTN)
			sxa := v.SQNxorAK()
			checkBytes(t, "SQNxorAK", sxa[:], tc.SQNxorAK)
			checkBytes(t, "RES", v.Res(), tc.RES)
			checkBytes(t, "CK", v.CK[:], tc.CK)
			checkBytes(t, "IK", v.IK[:], tc.IK)

			if err := v.ToPrime([]byte(tc.NetworkName)); err != nil {
				t.Fatalf("ToPrime: %v", err)
			}
			if !v.Prime {
				t.Error("Prime = false after ToPrime")
			}
			checkBytes(t, "CK'", v.CK[:], tc.CKPrime)
			checkBytes(t, "IK'", v.IK[:], tc.IKPrime)
			checkBytes(t, "AUTN after ToPrime", v.AUTN[:], tc.AUTN)
		})
	}
}

func TestDeriveCKIKPrime(t *testing.T) {
	for _, tc := range loadPrime(t).Cases {
		t.Run(tc.Name+"/CK'||IK' = HMAC-SHA-256(CK||IK, 0x20||P0||L0||P1||L1)", func(t *testing.T) {
			var ck, ik [KeyLen]byte
			var sxa [SQNLen]byte
			fill(t, ck[:], tc.CK)
			fill(t, ik[:], tc.IK)
			fill(t, sxa[:], tc.SQNxorAK)
			checkBytes(t, "P1 is AUTN[0:6]", tc.AUTN[:SQNLen], sxa[:])
			ckP, ikP := DeriveCKIKPrime(&ck, &ik, []byte(tc.NetworkName), sxa)
			checkBytes(t, "CK'", ckP[:], tc.CKPrime)
			checkBytes(t, "IK'", ikP[:], tc.IKPrime)
		})
	}
}

func TestToPrime(t *testing.T) {
	tc := loadPrime(t).Cases[0]
	base := Vector{XRESLen: 8}
	fill(t, base.CK[:], tc.CK)
	fill(t, base.IK[:], tc.IK)
	fill(t, base.AUTN[:], tc.AUTN)

	t.Run("a vector already holding CK'/IK' is not derived twice", func(t *testing.T) {
		v := base
		if err := v.ToPrime([]byte(tc.NetworkName)); err != nil {
			t.Fatal(err)
		}
		once := v
		if err := v.ToPrime([]byte(tc.NetworkName)); !errors.Is(err, ErrAlreadyPrime) {
			t.Fatalf("second ToPrime: %v, want ErrAlreadyPrime", err)
		}
		if v != once {
			t.Error("second ToPrime changed the vector")
		}
	})
	t.Run("a network name that does not fit L0 is refused", func(t *testing.T) {
		v := base
		if err := v.ToPrime(make([]byte, 0x10000)); !errors.Is(err, ErrNetworkNameTooLong) {
			t.Fatalf("ToPrime: %v, want ErrNetworkNameTooLong", err)
		}
		if v != base {
			t.Error("refused ToPrime changed the vector")
		}
	})
	t.Run("the longest encodable network name is accepted", func(t *testing.T) {
		v := base
		if err := v.ToPrime(bytes.Repeat([]byte{'a'}, 0xffff)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the network name binds the keys", func(t *testing.T) {
		a, b := base, base
		_ = a.ToPrime([]byte("WLAN"))
		_ = b.ToPrime([]byte("WLAN "))
		if a.CK == b.CK || a.IK == b.IK {
			t.Error("different network names gave the same CK'/IK'")
		}
	})
}

// buildAUTS makes AUTS = (SQN_MS xor f5*(RAND)) || f1*(SQN_MS, RAND,
// AMF=0000) as a USIM does (TS 33.102 6.3.3).
func buildAUTS(c *milenage.Cipher, rand *[RANDLen]byte, sqnMS SQN) (auts [AUTSLen]byte) {
	akStar := c.F5Star(rand)
	sqnB := sqnMS.Bytes()
	for i := range sqnB {
		auts[i] = sqnB[i] ^ akStar[i]
	}
	macS := c.F1Star(rand, sqnB, [AMFLen]byte{})
	copy(auts[SQNLen:], macS[:])
	return auts
}

func TestVerifyAUTS(t *testing.T) {
	sets := loadMilenage(t)
	for i, s := range sets {
		c := cipherFor(t, s)
		var rand [RANDLen]byte
		var sqnB [SQNLen]byte
		fill(t, rand[:], s.RAND)
		fill(t, sqnB[:], s.SQN)
		sqnMS := SQNFromBytes(sqnB)

		// The concealed SQN uses the AK* of the test data, so the
		// check does not rest on F5Star alone.
		var auts [AUTSLen]byte
		copy(auts[:SQNLen], xor(s.SQN, s.AKStar))
		macS := c.F1Star(&rand, sqnB, [AMFLen]byte{})
		copy(auts[SQNLen:], macS[:])

		t.Run(s.Name+"/valid AUTS yields SQN_MS", func(t *testing.T) {
			got, err := VerifyAUTS(c, &rand, &auts)
			if err != nil {
				t.Fatalf("VerifyAUTS: %v", err)
			}
			if got != sqnMS {
				t.Errorf("SQN_MS = %#x, want %#x", got, sqnMS)
			}
		})
		t.Run(s.Name+"/any single flipped MAC-S bit is rejected", func(t *testing.T) {
			for bit := SQNLen * 8; bit < AUTSLen*8; bit++ {
				bad := auts
				bad[bit/8] ^= 1 << (bit % 8)
				if got, err := VerifyAUTS(c, &rand, &bad); !errors.Is(err, ErrAUTSInvalid) || got != 0 {
					t.Fatalf("bit %d flipped: got (%#x, %v), want (0, ErrAUTSInvalid)", bit, got, err)
				}
			}
		})
		t.Run(s.Name+"/any single flipped concealed-SQN bit is rejected", func(t *testing.T) {
			for bit := range SQNLen * 8 {
				bad := auts
				bad[bit/8] ^= 1 << (bit % 8)
				if _, err := VerifyAUTS(c, &rand, &bad); !errors.Is(err, ErrAUTSInvalid) {
					t.Fatalf("bit %d flipped: %v, want ErrAUTSInvalid", bit, err)
				}
			}
		})
		t.Run(s.Name+"/MAC-S over the real AMF instead of 0000 is rejected", func(t *testing.T) {
			if bytes.Equal(s.AMF, []byte{0, 0}) {
				t.Fatal("test set has AMF 0000; the check needs a non-zero AMF")
			}
			bad := auts
			copy(bad[SQNLen:], s.MACS) // f1* of the test data, over the set's AMF
			if _, err := VerifyAUTS(c, &rand, &bad); !errors.Is(err, ErrAUTSInvalid) {
				t.Fatalf("got %v, want ErrAUTSInvalid", err)
			}
		})
		t.Run(s.Name+"/AUTS for another RAND is rejected", func(t *testing.T) {
			other := rand
			other[0] ^= 0x80
			if _, err := VerifyAUTS(c, &other, &auts); !errors.Is(err, ErrAUTSInvalid) {
				t.Fatalf("got %v, want ErrAUTSInvalid", err)
			}
		})
		t.Run(s.Name+"/AUTS from another subscriber key is rejected", func(t *testing.T) {
			oc := cipherFor(t, sets[(i+1)%len(sets)])
			if _, err := VerifyAUTS(oc, &rand, &auts); !errors.Is(err, ErrAUTSInvalid) {
				t.Fatalf("got %v, want ErrAUTSInvalid", err)
			}
		})
	}
	t.Run("extreme SQN_MS values round-trip", func(t *testing.T) {
		s := sets[0]
		c := cipherFor(t, s)
		var rand [RANDLen]byte
		fill(t, rand[:], s.RAND)
		for _, sqn := range []SQN{0, 1, MaxSQN} {
			auts := buildAUTS(c, &rand, sqn)
			if got, err := VerifyAUTS(c, &rand, &auts); err != nil || got != sqn {
				t.Errorf("SQN_MS %#x: got (%#x, %v)", sqn, got, err)
			}
		}
	})
}

func FuzzVerifyAUTS(f *testing.F) {
	for _, s := range loadMilenage(f)[:4] {
		var auts [AUTSLen]byte
		copy(auts[:], xor(s.SQN, s.AKStar))
		copy(auts[SQNLen:], s.MACS)
		f.Add([]byte(s.K), []byte(s.OPc), []byte(s.RAND), auts[:], binary.BigEndian.Uint64(append([]byte{0, 0}, s.SQN...)))
	}
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, uint64(0))
	f.Add(bytes.Repeat([]byte{0xff}, 40), bytes.Repeat([]byte{0xff}, 40), bytes.Repeat([]byte{0xff}, 40), bytes.Repeat([]byte{0xff}, 40), ^uint64(0))

	f.Fuzz(func(t *testing.T, kb, opcb, randb, autsb []byte, sqn uint64) {
		// Inputs of any length are cut or zero-padded to the fixed sizes.
		var k milenage.Key
		var opc milenage.OPc
		var rand [RANDLen]byte
		var auts [AUTSLen]byte
		copy(k[:], kb)
		copy(opc[:], opcb)
		copy(rand[:], randb)
		copy(auts[:], autsb)
		c := milenage.New(k, opc)

		// Arbitrary AUTS: no panic, and acceptance means the AUTS is
		// exactly the one the USIM would send for the returned SQN.
		got, err := VerifyAUTS(c, &rand, &auts)
		switch {
		case err == nil:
			if got > MaxSQN || buildAUTS(c, &rand, got) != auts {
				t.Fatalf("accepted AUTS %x does not match SQN_MS %#x", auts, got)
			}
		case !errors.Is(err, ErrAUTSInvalid) || got != 0:
			t.Fatalf("rejection returned (%#x, %v), want (0, ErrAUTSInvalid)", got, err)
		}

		// An AUTS built from the fuzz input verifies and returns its SQN.
		sqnMS := SQN(sqn & MaxSQN)
		valid := buildAUTS(c, &rand, sqnMS)
		got, err = VerifyAUTS(c, &rand, &valid)
		if err != nil || got != sqnMS {
			t.Fatalf("valid AUTS for SQN_MS %#x: got (%#x, %v)", sqnMS, got, err)
		}
	})
}

func TestVector_FormatRedactsEveryVerb(t *testing.T) {
	v := Vector{XRESLen: 8}
	for i := range v.CK {
		v.CK[i], v.IK[i], v.XRES[i] = 0xc1, 0x1c, 0x5e
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		out := fmt.Sprintf(verb, v) + fmt.Sprintf(verb, &v)
		for _, leak := range []string{"c1c1", "C1C1", "1c1c", "5e5e", "193", "28 28", "94"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s prints %q", verb, out)
			}
		}
	}
}
