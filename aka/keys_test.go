package aka

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSHA1Block checks the bare compression function against crypto/sha1:
// for a message of at most 55 octets, SHA-1 is one compression of the padded
// block (FIPS 180-2 5.1.1).
func TestSHA1Block(t *testing.T) {
	for n := 0; n <= 55; n++ {
		t.Run(fmt.Sprintf("one padded block of %d octets equals SHA-1", n), func(t *testing.T) {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i*7 + n)
			}
			var block [64]byte
			copy(block[:], msg)
			block[n] = 0x80
			binary.BigEndian.PutUint64(block[56:], uint64(n)*8)
			h := sha1IV
			sha1Block(&h, &block)
			var got [20]byte
			for i, v := range h {
				binary.BigEndian.PutUint32(got[4*i:], v)
			}
			if want := sha1.Sum(msg); got != want {
				t.Errorf("got %x, want %x", got, want)
			}
		})
	}
}

func TestFIPS186PRF(t *testing.T) {
	v := loadPRF(t).FIPS[0]
	if !bytes.Equal(v.XSEED, make([]byte, 20)) {
		t.Fatalf("vector XSEED %x: RFC 4187 Appendix A fixes XSEED = 0", v.XSEED)
	}
	var xkey [20]byte
	fill(t, xkey[:], v.XKEY)

	t.Run(v.Name+"/XKEY = 1 + XKEY + w_i mod 2^160 after each w", func(t *testing.T) {
		x := xkey
		var w0, w1 [20]byte
		fips186Step(&x, &w0)
		checkBytes(t, "XKEY after w0", x[:], v.XKEYAfterW0)
		fips186Step(&x, &w1)
		checkBytes(t, "XKEY after w1", x[:], v.XKEYAfterW1)
		checkBytes(t, "w0|w1", append(w0[:], w1[:]...), v.Output)
	})
	t.Run(v.Name+"/output x_0 = w_0 | w_1", func(t *testing.T) {
		x := xkey
		out := make([]byte, 40)
		if err := FIPS186PRF(&x, out); err != nil {
			t.Fatal(err)
		}
		checkBytes(t, "output", out, v.Output)
		if x != xkey {
			t.Error("FIPS186PRF modified the caller's XKEY")
		}
	})
	t.Run("longer output extends the shorter one", func(t *testing.T) {
		long := make([]byte, 160)
		if err := FIPS186PRF(&xkey, long); err != nil {
			t.Fatal(err)
		}
		checkBytes(t, "first round of 160 octets", long[:40], v.Output)
	})
	t.Run("XKEY addition wraps modulo 2^160", func(t *testing.T) {
		// An all-ones XKEY plus 1 is 0 mod 2^160, so XKEY after
		// the step is exactly w.
		x := [20]byte{}
		for i := range x {
			x[i] = 0xff
		}
		var w [20]byte
		fips186Step(&x, &w)
		if x != w {
			t.Errorf("XKEY = %x, want w = %x", x, w)
		}
	})
}

func TestFIPS186PRFLength(t *testing.T) {
	var xkey [20]byte
	for _, n := range []int{0, 40, 80, 160} {
		t.Run(fmt.Sprintf("%d octets, a whole number of rounds, is accepted", n), func(t *testing.T) {
			if err := FIPS186PRF(&xkey, make([]byte, n)); err != nil {
				t.Errorf("got %v", err)
			}
		})
	}
	for _, n := range []int{1, 20, 39, 41, 128} {
		t.Run(fmt.Sprintf("%d octets, a partial round, is refused without writing", n), func(t *testing.T) {
			out := bytes.Repeat([]byte{0xaa}, n)
			if err := FIPS186PRF(&xkey, out); !errors.Is(err, ErrPRFLength) {
				t.Fatalf("got %v, want ErrPRFLength", err)
			}
			if !bytes.Equal(out, bytes.Repeat([]byte{0xaa}, n)) {
				t.Error("out was modified")
			}
		})
	}
}

func TestEAPSIMKeyExpansion(t *testing.T) {
	v := loadPRF(t).SIM[0]
	t.Run(v.Name+"/MK = SHA1(Identity|n*Kc|NONCE_MT|Version List|Selected Version)", func(t *testing.T) {
		h := sha1.New()
		h.Write([]byte(v.Identity))
		for _, tr := range v.Triplets {
			h.Write(tr.Kc)
		}
		h.Write(v.NonceMT)
		h.Write(v.VersionList)
		h.Write(v.SelectedVersion)
		checkBytes(t, "MK", h.Sum(nil), v.MK)
	})
	t.Run(v.Name+"/PRF(MK) = K_encr|K_aut|MSK|EMSK (RFC 4186 7)", func(t *testing.T) {
		var mk [20]byte
		fill(t, mk[:], v.MK)
		out := make([]byte, 160)
		if err := FIPS186PRF(&mk, out); err != nil {
			t.Fatal(err)
		}
		checkBytes(t, "K_encr", out[0:16], v.KEncr)
		checkBytes(t, "K_aut", out[16:32], v.KAut)
		checkBytes(t, "MSK", out[32:96], v.MSK)
		checkBytes(t, "EMSK", out[96:160], v.EMSK)
	})
}

func TestDeriveAKA(t *testing.T) {
	v := loadPRF(t).AKA[0]
	s19 := set19(t)
	checkBytes(t, "vector IK is set 19 f4", v.IK, s19.IK)
	checkBytes(t, "vector CK is set 19 f3", v.CK, s19.CK)

	t.Run(v.Name+"/MK = SHA1(Identity|IK|CK) and keys = PRF(MK)", func(t *testing.T) {
		var ik, ck [16]byte
		fill(t, ik[:], v.IK)
		fill(t, ck[:], v.CK)
		// Stale data from an earlier use must not survive.
		var k Keys
		for i := range k.KRe {
			k.KRe[i] = 0xee
			k.KAut[i] = 0xee
		}
		DeriveAKA([]byte(v.Identity), &ik, &ck, &k)
		checkBytes(t, "MK", k.MK[:], v.MK)
		checkBytes(t, "K_encr", k.KEncr[:], v.KEncr)
		if k.KAutLen != 16 {
			t.Errorf("KAutLen = %d, want 16", k.KAutLen)
		}
		checkBytes(t, "K_aut", k.KAutKey(), v.KAut)
		checkBytes(t, "K_aut beyond 16 octets", k.KAut[16:], make([]byte, 16))
		checkBytes(t, "K_re (unused by EAP-AKA)", k.KRe[:], make([]byte, 32))
		checkBytes(t, "MSK", k.MSK[:], v.MSK)
		checkBytes(t, "EMSK", k.EMSK[:], v.EMSK)
	})
}

func TestDeriveReauthAKA(t *testing.T) {
	v := loadPRF(t).Reauth[0]
	var mk [20]byte
	var nonce [16]byte
	fill(t, mk[:], v.MK)
	fill(t, nonce[:], v.NonceS)
	t.Run(v.Name+"/XKEY' = SHA1(Identity|counter|NONCE_S|MK)", func(t *testing.T) {
		x := reauthXKEY([]byte(v.Identity), v.Counter, &nonce, &mk)
		checkBytes(t, "XKEY'", x[:], v.XKEY)
	})
	t.Run(v.Name+"/MSK|EMSK = first 128 octets of PRF(XKEY')", func(t *testing.T) {
		msk, emsk := DeriveReauthAKA([]byte(v.Identity), v.Counter, &nonce, &mk)
		checkBytes(t, "MSK", msk[:], v.MSK)
		checkBytes(t, "EMSK", emsk[:], v.EMSK)
	})
	t.Run("the counter binds the keys", func(t *testing.T) {
		a, _ := DeriveReauthAKA([]byte(v.Identity), v.Counter, &nonce, &mk)
		b, _ := DeriveReauthAKA([]byte(v.Identity), v.Counter+1, &nonce, &mk)
		if a == b {
			t.Error("counters 1 and 2 gave the same MSK")
		}
	})
}

func TestDeriveAKAPrime(t *testing.T) {
	for _, tc := range loadPrime(t).Cases {
		t.Run(tc.Name+"/MK = PRF'(IK'|CK', \"EAP-AKA'\"|Identity) split 16/32/32/64/64", func(t *testing.T) {
			var ikP, ckP [16]byte
			fill(t, ikP[:], tc.IKPrime)
			fill(t, ckP[:], tc.CKPrime)
			var k Keys
			k.MK[0] = 0xee // stale data must not survive
			DeriveAKAPrime([]byte(tc.Identity), &ikP, &ckP, &k)
			checkBytes(t, "K_encr", k.KEncr[:], tc.KEncr)
			if k.KAutLen != 32 {
				t.Errorf("KAutLen = %d, want 32", k.KAutLen)
			}
			checkBytes(t, "K_aut", k.KAutKey(), tc.KAut)
			checkBytes(t, "K_re", k.KRe[:], tc.KRe)
			checkBytes(t, "MSK", k.MSK[:], tc.MSK)
			checkBytes(t, "EMSK", k.EMSK[:], tc.EMSK)
			checkBytes(t, "MK (unused by EAP-AKA')", k.MK[:], make([]byte, 20))
		})
	}
}

func TestDeriveReauthAKAPrime(t *testing.T) {
	for _, tc := range loadPrime(t).FastReauth {
		t.Run(tc.Name+"/MK = PRF'(K_re, \"EAP-AKA' re-auth\"|Identity|counter|NONCE_S)", func(t *testing.T) {
			var kRe [32]byte
			var nonce [16]byte
			fill(t, kRe[:], tc.KRe)
			fill(t, nonce[:], tc.NonceS)
			msk, emsk := DeriveReauthAKAPrime([]byte(tc.Identity), tc.Counter, &nonce, &kRe)
			checkBytes(t, "MSK", msk[:], tc.MSK)
			checkBytes(t, "EMSK", emsk[:], tc.EMSK)
		})
	}
	t.Run("K_re of RFC 5448 case 1 is the one the re-auth vector starts from", func(t *testing.T) {
		d := loadPrime(t)
		checkBytes(t, "K_re", d.FastReauth[0].KRe, d.Cases[0].KRe)
	})
}

// refPRFPrime is PRF' written directly from RFC 9048 3.4 with crypto/hmac.
func refPRFPrime(key, s []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, key)
		m.Write(t)
		m.Write(s)
		m.Write([]byte{i})
		t = m.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

func TestHMACHelpersMatchCryptoHMAC(t *testing.T) {
	var key [32]byte
	for i := range key {
		key[i] = byte(0xa0 + i)
	}
	msg := make([]byte, 300)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, n := range []int{0, 1, 31, 32, 33, 55, 56, 64, 65, 127, 128, 300} {
		t.Run(fmt.Sprintf("hmacSHA256 over %d octets in pieces equals crypto/hmac", n), func(t *testing.T) {
			got := hmacSHA256(&key, msg[:n/3], msg[n/3:n/2], msg[n/2:n])
			m := hmac.New(sha256.New, key[:])
			m.Write(msg[:n])
			checkBytes(t, "HMAC", got[:], m.Sum(nil))
		})
		t.Run(fmt.Sprintf("prfPrime of %d octets equals the RFC 9048 3.4 construction", n), func(t *testing.T) {
			got := make([]byte, n)
			prfPrime(&key, got, msg[:7], msg[7:20])
			checkBytes(t, "PRF'", got, refPRFPrime(key[:], msg[:20], n))
		})
	}
}

func TestKeys(t *testing.T) {
	tc := loadPrime(t).Cases[0]
	var ikP, ckP [16]byte
	fill(t, ikP[:], tc.IKPrime)
	fill(t, ckP[:], tc.CKPrime)
	var k Keys
	DeriveAKAPrime([]byte(tc.Identity), &ikP, &ckP, &k)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%30v"} {
		for _, val := range []any{k, &k, []Keys{k}, struct{ K Keys }{k}} {
			t.Run(fmt.Sprintf("%s of %T never shows key material", verb, val), func(t *testing.T) {
				out := fmt.Sprintf(verb, val)
				if !strings.Contains(out, "aka.Keys{REDACTED}") {
					t.Errorf("Sprintf(%q) = %q, want aka.Keys{REDACTED}", verb, out)
				}
				lower := strings.ToLower(out)
				for name, sec := range map[string][]byte{"K_encr": k.KEncr[:], "K_aut": k.KAut[:], "K_re": k.KRe[:], "MSK": k.MSK[:16], "EMSK": k.EMSK[:16]} {
					if strings.Contains(lower, hex.EncodeToString(sec[:8])) || strings.Contains(out, fmt.Sprint(sec[:4])) {
						t.Errorf("Sprintf(%q) = %q discloses %s", verb, out, name)
					}
				}
			})
		}
	}
	t.Run("String and GoString are redacted", func(t *testing.T) {
		if k.String() != "aka.Keys{REDACTED}" || k.GoString() != "aka.Keys{REDACTED}" {
			t.Errorf("String %q, GoString %q", k.String(), k.GoString())
		}
	})
	t.Run("Clear zeroes every key", func(t *testing.T) {
		c := k
		c.Clear()
		if c != (Keys{}) {
			t.Error("Clear left key material")
		}
		if len(c.KAutKey()) != 0 {
			t.Error("KAutKey of cleared keys is not empty")
		}
	})
}
