package eap_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// K_encr and IV of the encryption tests, the known answer and the fuzz
// corpus. The known answer was computed independently with
//
//	openssl enc -aes-128-cbc -nopad -K 5e0a5c0e3b7d1f2a9c4b6d8e0f112233 \
//	    -iv 101112131415161718191a1b1c1d1e1f
//
// over encrKnownPlain.
var (
	encrKey   = [16]byte{0x5e, 0x0a, 0x5c, 0x0e, 0x3b, 0x7d, 0x1f, 0x2a, 0x9c, 0x4b, 0x6d, 0x8e, 0x0f, 0x11, 0x22, 0x33}
	encrIV    = [16]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
	encrNonce = [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
)

// Hex plaintext attribute snippets for the tables.
const (
	encrHexCounter1 = "13010001"
	encrHexNonceS   = "15050000" + "0123456789abcdeffedcba9876543210"
	encrHexReauthID = "8504000c" + "726561757468407265616c6d" // "reauth@realm"
	encrHexPseudo0  = "84010000"                              // empty AT_NEXT_PSEUDONYM
	encrHexPad4     = "06010000"
	encrHexPad8     = "0602000000000000"
	encrHexPad12    = "060300000000000000000000"

	// AT_COUNTER 1, AT_NONCE_S, AT_NEXT_REAUTH_ID "reauth@realm", AT_PADDING 8.
	encrKnownPlain  = encrHexCounter1 + encrHexNonceS + encrHexReauthID + encrHexPad8
	encrKnownCipher = "bb01183e1d4559c499237f459ff1b7b6223c802361c659938a3b135bdcc92a4da7fd5837f79e0a0920538b061e85de78"
)

// encrRefCBC is AES-128-CBC with crypto/cipher, the second implementation
// the tests compare with.
func encrRefCBC(tb testing.TB, encrypt bool, key, iv *[16]byte, in []byte) []byte {
	tb.Helper()
	c, err := aes.NewCipher(key[:])
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(in))
	if encrypt {
		cipher.NewCBCEncrypter(c, iv[:]).CryptBlocks(out, in)
	} else {
		cipher.NewCBCDecrypter(c, iv[:]).CryptBlocks(out, in)
	}
	return out
}

// encrMessage builds an EAP-AKA/AKA' message whose attributes are those of
// pre, AT_IV and AT_ENCR_DATA holding inner, and AT_MAC, MACed with kAut and
// extra.
func encrMessage(tb testing.TB, code eap.Code, typ eap.Type, st eap.Subtype, kAut []byte, extra []byte,
	pre func(*eap.Builder), inner func(*eap.InnerBuilder)) []byte {
	tb.Helper()
	in := eap.NewInnerBuilder(nil)
	inner(&in)
	b := eap.NewBuilder(nil, code, 9, typ, st)
	if pre != nil {
		pre(&b)
	}
	b.AddEncrypted(&encrKey, &encrIV, &in)
	b.AddMAC()
	pkt, off, err := b.Finish()
	if err != nil {
		tb.Fatalf("Finish: %v", err)
	}
	eap.SetMAC(typ, kAut, pkt, off, extra)
	return pkt
}

// encrParse parses pkt, checks its MAC and decrypts its AT_ENCR_DATA.
func encrParse(tb testing.TB, pkt []byte, typ eap.Type, kAut, extra []byte) (eap.AKAMessage, eap.Attrs) {
	tb.Helper()
	m, err := eap.ParseAKA(pkt)
	if err != nil {
		tb.Fatalf("ParseAKA(%x): %v", pkt, err)
	}
	if !eap.VerifyMAC(typ, kAut, pkt, m.Attrs.MACOffset, extra) {
		tb.Fatalf("VerifyMAC false for %x", pkt)
	}
	if !m.Attrs.Has(eap.AttrIV) || !m.Attrs.Has(eap.AttrEncrData) {
		tb.Fatalf("AT_IV or AT_ENCR_DATA missing in %x", pkt)
	}
	scratch := make([]byte, eap.MaxEncrDataLen)
	inner, err := eap.DecryptAttrs(&encrKey, m.Attrs.IV, m.Attrs.EncrData, scratch)
	if err != nil {
		tb.Fatalf("DecryptAttrs(%x): %v", m.Attrs.EncrData, err)
	}
	return m, inner
}

// encrHasExactly reports the first known attribute whose presence in a is
// not what has says, or "".
func encrHasExactly(a *eap.Attrs, has ...eap.AttrType) string {
	for _, at := range codecAllAttrs {
		want := false
		for _, h := range has {
			want = want || h == at
		}
		if a.Has(at) != want {
			return fmt.Sprintf("Has(%v) = %v", at, !want)
		}
	}
	return ""
}

// TestAddEncrypted_RoundTrip builds Challenges carrying AT_NEXT_PSEUDONYM
// and AT_NEXT_REAUTH_ID encrypted, with pseudonym lengths that need each
// padding (0, 4, 8, 12 octets), and checks the exact plaintext against
// crypto/cipher and the values DecryptAttrs returns.
func TestAddEncrypted_RoundTrip(t *testing.T) {
	reauthID := []byte("reauth@realm") // a 16-octet attribute
	var rand, autn [16]byte
	seen := map[int]bool{}
	for lp := 0; lp <= 40; lp++ {
		typ, kAut := eap.TypeAKA, codecHex(t, codecKAutAKA)
		if lp%2 == 1 {
			typ, kAut = eap.TypeAKAPrime, codecHex(t, codecKAutAKAPrime)
		}
		pseudo := make([]byte, lp)
		for i := range pseudo {
			pseudo[i] = 'a' + byte(i%26)
		}
		// The plaintext, assembled by hand (RFC 4187 §10.10-10.12).
		attrLen := 4 + (lp+3)/4*4
		want := append([]byte{byte(eap.AttrNextPseudonym), byte(attrLen / 4), 0, byte(lp)}, pseudo...)
		want = append(want, make([]byte, attrLen-4-lp)...)
		want = append(want, byte(eap.AttrNextReauthID), 4, 0, byte(len(reauthID)))
		want = append(want, reauthID...)
		pad := (16 - len(want)%16) % 16
		if pad > 0 {
			want = append(want, byte(eap.AttrPadding), byte(pad/4))
			want = append(want, make([]byte, pad-2)...)
		}
		seen[pad] = true
		t.Run(fmt.Sprintf("pseudonym %d octets padding %d", lp, pad), func(t *testing.T) {
			pkt := encrMessage(t, eap.CodeRequest, typ, eap.SubtypeChallenge, kAut, nil,
				func(b *eap.Builder) {
					b.AddRAND(&rand)
					b.AddAUTN(&autn)
				},
				func(in *eap.InnerBuilder) {
					in.AddIdentityLike(eap.AttrNextPseudonym, pseudo)
					in.AddIdentityLike(eap.AttrNextReauthID, reauthID)
				})
			m, a := encrParse(t, pkt, typ, kAut, nil)
			if d := encrHasExactly(&m.Attrs, eap.AttrRAND, eap.AttrAUTN, eap.AttrIV, eap.AttrEncrData, eap.AttrMAC); d != "" {
				t.Errorf("message: %s", d)
			}
			if !bytes.Equal(m.Attrs.IV, encrIV[:]) {
				t.Errorf("AT_IV %x, want %x", m.Attrs.IV, encrIV)
			}
			if got := encrRefCBC(t, false, &encrKey, &encrIV, m.Attrs.EncrData); !bytes.Equal(got, want) {
				t.Fatalf("plaintext\n%x, want\n%x", got, want)
			}
			if got := encrRefCBC(t, true, &encrKey, &encrIV, want); !bytes.Equal(got, m.Attrs.EncrData) {
				t.Fatalf("AT_ENCR_DATA %x, crypto/cipher gives %x", m.Attrs.EncrData, got)
			}
			if !bytes.Equal(a.NextPseudonym, pseudo) || !bytes.Equal(a.NextReauthID, reauthID) {
				t.Errorf("NextPseudonym %q NextReauthID %q", a.NextPseudonym, a.NextReauthID)
			}
			has := []eap.AttrType{eap.AttrNextPseudonym, eap.AttrNextReauthID}
			if pad > 0 {
				has = append(has, eap.AttrPadding)
			}
			if d := encrHasExactly(&a, has...); d != "" {
				t.Errorf("decrypted: %s", d)
			}
			if a.MACOffset != -1 {
				t.Errorf("decrypted MACOffset %d, want -1", a.MACOffset)
			}
		})
	}
	for _, p := range []int{0, 4, 8, 12} {
		if !seen[p] {
			t.Errorf("padding %d never exercised", p)
		}
	}
}

// TestAddEncrypted_KnownAnswer checks AT_ENCR_DATA against a ciphertext
// computed with openssl, and with crypto/cipher, over the expected
// plaintext.
func TestAddEncrypted_KnownAnswer(t *testing.T) {
	kAut := codecHex(t, codecKAutAKA)
	pkt := encrMessage(t, eap.CodeRequest, eap.TypeAKA, eap.SubtypeReauthentication, kAut, nil, nil,
		func(in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			in.AddNonceS(&encrNonce)
			in.AddIdentityLike(eap.AttrNextReauthID, []byte("reauth@realm"))
		})
	m, a := encrParse(t, pkt, eap.TypeAKA, kAut, nil)
	want := codecHex(t, encrKnownCipher)
	if !bytes.Equal(m.Attrs.EncrData, want) {
		t.Errorf("AT_ENCR_DATA\n%x, want (openssl)\n%x", m.Attrs.EncrData, want)
	}
	if ref := encrRefCBC(t, true, &encrKey, &encrIV, codecHex(t, encrKnownPlain)); !bytes.Equal(ref, want) {
		t.Errorf("crypto/cipher gives %x, openssl %x", ref, want)
	}
	if a.Counter != 1 || !bytes.Equal(a.NonceS, encrNonce[:]) || string(a.NextReauthID) != "reauth@realm" {
		t.Errorf("decrypted Counter %d NonceS %x NextReauthID %q", a.Counter, a.NonceS, a.NextReauthID)
	}
	// The wire layout: AT_IV, then AT_ENCR_DATA of 13 units, then AT_MAC.
	wantAttrs := "81050000" + "101112131415161718191a1b1c1d1e1f" + "820d0000" + encrKnownCipher
	if got := fmt.Sprintf("%x", pkt[8:len(pkt)-20]); got != wantAttrs {
		t.Errorf("attributes\n%s, want\n%s", got, wantAttrs)
	}

	t.Run("in place", func(t *testing.T) {
		c := codecHex(t, encrKnownCipher)
		a, err := eap.DecryptAttrs(&encrKey, encrIV[:], c, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c, codecHex(t, encrKnownPlain)) {
			t.Errorf("decrypted in place to %x", c)
		}
		if a.Counter != 1 || string(a.NextReauthID) != "reauth@realm" {
			t.Errorf("Counter %d NextReauthID %q", a.Counter, a.NextReauthID)
		}
	})
	t.Run("IV inside scratch", func(t *testing.T) {
		scratch := make([]byte, 64)
		copy(scratch, encrIV[:])
		a, err := eap.DecryptAttrs(&encrKey, scratch[:16], codecHex(t, encrKnownCipher), scratch)
		if err != nil || a.Counter != 1 {
			t.Fatalf("Counter %d, err %v", a.Counter, err)
		}
	})
	t.Run("slices capped", func(t *testing.T) {
		scratch := make([]byte, 64)
		a, err := eap.DecryptAttrs(&encrKey, encrIV[:], codecHex(t, encrKnownCipher), scratch)
		if err != nil {
			t.Fatal(err)
		}
		_ = append(a.NextReauthID, 0xff, 0xff, 0xff, 0xff)
		if !bytes.Equal(scratch[:48], codecHex(t, encrKnownPlain)) {
			t.Errorf("appending to NextReauthID overwrote the plaintext: %x", scratch[:48])
		}
	})
}

// TestEncr_Reauthentication runs the encrypted part of a fast
// re-authentication (RFC 4187 §5.4, §9.7, §9.8): the server sends AT_COUNTER,
// AT_NONCE_S and AT_NEXT_REAUTH_ID; the peer answers AT_COUNTER and
// AT_COUNTER_TOO_SMALL, with a fresh IV, MACed over NONCE_S.
func TestEncr_Reauthentication(t *testing.T) {
	for _, tc := range []struct {
		typ  eap.Type
		kAut string
	}{{eap.TypeAKA, codecKAutAKA}, {eap.TypeAKAPrime, codecKAutAKAPrime}} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			kAut := codecHex(t, tc.kAut)
			nextID := []byte("4rzP5ZcyNLyJOBdaylVsfdeh@realm.example")
			req := encrMessage(t, eap.CodeRequest, tc.typ, eap.SubtypeReauthentication, kAut, nil,
				func(b *eap.Builder) { b.AddFlag(eap.AttrResultInd) },
				func(in *eap.InnerBuilder) {
					in.AddUint16(eap.AttrCounter, 513)
					in.AddNonceS(&encrNonce)
					in.AddIdentityLike(eap.AttrNextReauthID, nextID)
				})
			m, a := encrParse(t, req, tc.typ, kAut, nil)
			if m.Subtype != eap.SubtypeReauthentication || !m.Attrs.Has(eap.AttrResultInd) {
				t.Errorf("request subtype %v, AT_RESULT_IND %v", m.Subtype, m.Attrs.Has(eap.AttrResultInd))
			}
			if a.Counter != 513 || !bytes.Equal(a.NonceS, encrNonce[:]) || !bytes.Equal(a.NextReauthID, nextID) {
				t.Fatalf("server attributes: Counter %d NonceS %x NextReauthID %q", a.Counter, a.NonceS, a.NextReauthID)
			}
			if d := encrHasExactly(&a, eap.AttrCounter, eap.AttrNonceS, eap.AttrNextReauthID, eap.AttrPadding); d != "" {
				t.Errorf("server attributes: %s", d)
			}

			// The peer's answer: the counter it got, flagged too small.
			nonce := append([]byte(nil), a.NonceS...)
			in := eap.NewInnerBuilder(nil)
			in.AddUint16(eap.AttrCounter, a.Counter)
			in.AddFlag(eap.AttrCounterTooSmall)
			iv2 := [16]byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}
			b := eap.NewBuilder(nil, eap.CodeResponse, m.Packet.Identifier, tc.typ, eap.SubtypeReauthentication)
			b.AddEncrypted(&encrKey, &iv2, &in)
			b.AddMAC()
			resp, off, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			eap.SetMAC(tc.typ, kAut, resp, off, nonce)
			m2, err := eap.ParseAKA(resp)
			if err != nil {
				t.Fatal(err)
			}
			if !eap.VerifyMAC(tc.typ, kAut, resp, m2.Attrs.MACOffset, nonce) {
				t.Error("VerifyMAC over NONCE_S false")
			}
			if eap.VerifyMAC(tc.typ, kAut, resp, m2.Attrs.MACOffset, nil) {
				t.Error("VerifyMAC without NONCE_S true")
			}
			if len(m2.Attrs.EncrData) != 16 {
				t.Errorf("AT_ENCR_DATA %d octets, want 16", len(m2.Attrs.EncrData))
			}
			var scratch [eap.MaxEncrDataLen]byte
			p, err := eap.DecryptAttrs(&encrKey, m2.Attrs.IV, m2.Attrs.EncrData, scratch[:])
			if err != nil {
				t.Fatal(err)
			}
			if p.Counter != 513 || !p.Has(eap.AttrCounterTooSmall) {
				t.Errorf("peer attributes: Counter %d, AT_COUNTER_TOO_SMALL %v", p.Counter, p.Has(eap.AttrCounterTooSmall))
			}
			if d := encrHasExactly(&p, eap.AttrCounter, eap.AttrCounterTooSmall, eap.AttrPadding); d != "" {
				t.Errorf("peer attributes: %s", d)
			}
			if _, err := eap.DecryptAttrs(&encrKey, encrIV[:], m2.Attrs.EncrData, scratch[:]); err == nil {
				t.Error("decrypting with the request's IV succeeded")
			}
		})
	}
}

// TestDecryptAttrs_Rejects feeds DecryptAttrs ciphertexts (encrypted with
// crypto/cipher) and arguments it must refuse.
func TestDecryptAttrs_Rejects(t *testing.T) {
	enc := func(plainHex string) []byte {
		return encrRefCBC(t, true, &encrKey, &encrIV, codecHex(t, plainHex))
	}
	valid := enc(encrKnownPlain)
	otherKey := encrKey
	otherKey[0] ^= 1
	errAny := errors.New("any error")
	const none eap.AttrType = 0
	tests := []struct {
		name     string
		key      *[16]byte
		iv       []byte
		encr     []byte
		scratch  int
		want     error
		wantAttr eap.AttrType
	}{
		{"wrong key", &otherKey, encrIV[:], valid, 1008, errAny, none},
		{"wrong IV", &encrKey, encrNonce[:], valid, 1008, errAny, none},
		{"length not multiple of 16", &encrKey, encrIV[:], valid[:40], 1008, eap.ErrEncrData, none},
		{"one octet", &encrKey, encrIV[:], valid[:1], 1008, eap.ErrEncrData, none},
		{"empty", &encrKey, encrIV[:], nil, 1008, eap.ErrEncrData, none},
		{"longer than MaxEncrDataLen", &encrKey, encrIV[:], make([]byte, 1024), 1024, eap.ErrEncrData, none},
		{"IV missing", &encrKey, nil, valid, 1008, eap.ErrEncrData, none},
		{"IV 15 octets", &encrKey, encrIV[:15], valid, 1008, eap.ErrEncrData, none},
		{"IV 17 octets", &encrKey, append(encrIV[:], 0), valid, 1008, eap.ErrEncrData, none},
		{"scratch shorter than ciphertext", &encrKey, encrIV[:], valid, 47, eap.ErrEncrData, none},
		{"non-zero padding", &encrKey, encrIV[:], enc(encrHexCounter1 + encrHexNonceS + encrHexReauthID + "0602000000000001"), 1008, eap.ErrAttrValue, eap.AttrPadding},
		{"non-zero padding first octet", &encrKey, encrIV[:], enc(encrHexCounter1 + encrHexNonceS + encrHexReauthID + "0602010000000000"), 1008, eap.ErrAttrValue, eap.AttrPadding},
		{"AT_PADDING not last", &encrKey, encrIV[:], enc(encrHexPad4 + encrHexCounter1 + encrHexNonceS + encrHexPseudo0), 1008, eap.ErrAttrValue, eap.AttrPadding},
		{"AT_PADDING 16 octets", &encrKey, encrIV[:], enc("0604" + strings.Repeat("00", 14)), 1008, eap.ErrAttrLen, eap.AttrPadding},
		{"AT_PADDING length 0", &encrKey, encrIV[:], enc(encrHexCounter1 + "0600" + strings.Repeat("00", 10)), 1008, eap.ErrAttrLen, eap.AttrPadding},
		{"AT_RAND inside", &encrKey, encrIV[:], enc(codecHexRAND + encrHexPad12), 1008, eap.ErrAttrValue, eap.AttrRAND},
		{"AT_MAC inside", &encrKey, encrIV[:], enc(codecHexMAC + encrHexPad12), 1008, eap.ErrAttrValue, eap.AttrMAC},
		{"AT_IV inside", &encrKey, encrIV[:], enc("81050000" + strings.Repeat("11", 16) + encrHexPad12), 1008, eap.ErrAttrValue, eap.AttrIV},
		{"AT_ENCR_DATA nested", &encrKey, encrIV[:], enc("82050000" + strings.Repeat("11", 16) + encrHexPad12), 1008, eap.ErrAttrValue, eap.AttrEncrData},
		{"AT_RESULT_IND inside", &encrKey, encrIV[:], enc(encrHexCounter1 + codecHexResInd + encrHexPad8), 1008, eap.ErrAttrValue, eap.AttrResultInd},
		{"AT_NOTIFICATION inside", &encrKey, encrIV[:], enc(encrHexCounter1 + "0c014000" + encrHexPad8), 1008, eap.ErrAttrValue, eap.AttrNotification},
		{"AT_IDENTITY inside", &encrKey, encrIV[:], enc("0e030004" + "61626364" + "00000000" + encrHexPad4), 1008, eap.ErrAttrValue, eap.AttrIdentity},
		{"unknown non-skippable inside", &encrKey, encrIV[:], enc(encrHexCounter1 + "63010000" + encrHexPad8), 1008, eap.ErrNonSkippable, 99},
		{"truncated inner attribute", &encrKey, encrIV[:], enc(encrHexCounter1 + "8408000c" + "6162636465666768"), 1008, eap.ErrShortAttr, eap.AttrNextPseudonym},
		{"zero attribute length", &encrKey, encrIV[:], enc("13000001" + encrHexPad12), 1008, eap.ErrAttrLen, eap.AttrCounter},
		{"duplicate AT_COUNTER", &encrKey, encrIV[:], enc(encrHexCounter1 + encrHexCounter1 + encrHexPad8), 1008, eap.ErrDuplicateAttr, eap.AttrCounter},
		{"AT_COUNTER 8 octets", &encrKey, encrIV[:], enc("1302000100000000" + encrHexPad8), 1008, eap.ErrAttrLen, eap.AttrCounter},
		{"AT_NONCE_S 12 octets", &encrKey, encrIV[:], enc("15040000" + strings.Repeat("22", 12)), 1008, eap.ErrAttrLen, eap.AttrNonceS},
		{"AT_COUNTER_TOO_SMALL 8 octets", &encrKey, encrIV[:], enc("1402000000000000" + encrHexPad8), 1008, eap.ErrAttrLen, eap.AttrCounterTooSmall},
		{"AT_NEXT_PSEUDONYM length past the attribute", &encrKey, encrIV[:], enc("8402000c" + "61626364" + encrHexPad8), 1008, eap.ErrAttrValue, eap.AttrNextPseudonym},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scratch := make([]byte, tt.scratch)
			encr := append([]byte(nil), tt.encr...)
			a, err := eap.DecryptAttrs(tt.key, tt.iv, encr, scratch)
			if err == nil {
				t.Fatalf("DecryptAttrs accepted it: %+v", a)
			}
			if tt.want != errAny && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var ae *eap.AttrError
			if tt.wantAttr != none && (!errors.As(err, &ae) || ae.Type != tt.wantAttr) {
				t.Fatalf("error %v, want an *AttrError for %v", err, tt.wantAttr)
			}
			if !reflect.DeepEqual(a, eap.Attrs{}) {
				t.Errorf("Attrs on error %+v, want the zero value", a)
			}
			if !bytes.Equal(encr, tt.encr) {
				t.Errorf("encr modified")
			}
			if !errors.Is(err, eap.ErrEncrData) && !bytes.Equal(scratch[:len(encr)], make([]byte, len(encr))) {
				t.Errorf("plaintext left in scratch after %v: %x", err, scratch[:len(encr)])
			}
			t.Logf("%v", err)
		})
	}
}

// TestDecryptAttrs_Accepts covers what the plaintext may hold besides what
// InnerBuilder writes.
func TestDecryptAttrs_Accepts(t *testing.T) {
	tests := []struct {
		name  string
		plain string
		want  eap.Attrs
		has   []eap.AttrType
	}{
		{"unknown skippable inside is skipped", encrHexCounter1 + "c802000001020304" + encrHexPad4,
			eap.Attrs{Counter: 1}, []eap.AttrType{eap.AttrCounter, eap.AttrPadding}},
		{"AT_PADDING 12 octets", encrHexNonceS + encrHexPad12,
			eap.Attrs{NonceS: encrNonce[:]}, []eap.AttrType{eap.AttrNonceS, eap.AttrPadding}},
		{"no padding needed", encrHexCounter1 + "8403000861626364656667" + "68",
			eap.Attrs{Counter: 1, NextPseudonym: []byte("abcdefgh")}, []eap.AttrType{eap.AttrCounter, eap.AttrNextPseudonym}},
		{"identity with extra zero padding", "84040002" + "6869" + strings.Repeat("00", 10),
			eap.Attrs{NextPseudonym: []byte("hi")}, []eap.AttrType{eap.AttrNextPseudonym}},
		{"all five", encrHexCounter1 + "14010000" + encrHexNonceS + encrHexPseudo0 + encrHexReauthID,
			eap.Attrs{Counter: 1, NonceS: encrNonce[:], NextPseudonym: []byte{}, NextReauthID: []byte("reauth@realm")},
			[]eap.AttrType{eap.AttrCounter, eap.AttrCounterTooSmall, eap.AttrNonceS, eap.AttrNextPseudonym, eap.AttrNextReauthID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := codecHex(t, tt.plain)
			encr := encrRefCBC(t, true, &encrKey, &encrIV, plain)
			scratch := make([]byte, len(encr))
			a, err := eap.DecryptAttrs(&encrKey, encrIV[:], encr, scratch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(scratch, plain) {
				t.Errorf("plaintext %x, want %x", scratch, plain)
			}
			if d := akaAttrsDiff(&a, &tt.want); d != "" {
				t.Errorf("%s differs: %+v", d, a)
			}
			if d := encrHasExactly(&a, tt.has...); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestAddEncrypted_Rejects(t *testing.T) {
	var v16 [16]byte
	tests := []struct {
		name     string
		build    func(b *eap.Builder, in *eap.InnerBuilder)
		want     error // nil: any error, with wantAttr
		wantAttr eap.AttrType
	}{
		{"inner AT_NOTIFICATION", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrNotification, 1)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, nil, eap.AttrNotification},
		{"inner AT_RESULT_IND", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddFlag(eap.AttrResultInd)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, nil, eap.AttrResultInd},
		{"inner AT_IDENTITY", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddIdentityLike(eap.AttrIdentity, []byte("x"))
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, nil, eap.AttrIdentity},
		{"inner duplicate AT_COUNTER", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			in.AddUint16(eap.AttrCounter, 2)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrDuplicateAttr, eap.AttrCounter},
		{"inner duplicate AT_NONCE_S", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddNonceS(&v16)
			in.AddNonceS(&v16)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrDuplicateAttr, eap.AttrNonceS},
		{"inner pseudonym 1017 octets", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddIdentityLike(eap.AttrNextPseudonym, make([]byte, 1017))
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrAttrLen, eap.AttrNextPseudonym},
		{"padded past MaxEncrDataLen", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddIdentityLike(eap.AttrNextPseudonym, make([]byte, 1005)) // 1012 octets, 1024 padded
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrAttrLen, eap.AttrEncrData},
		{"empty inner", func(b *eap.Builder, in *eap.InnerBuilder) {
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrAttrLen, eap.AttrEncrData},
		{"zero InnerBuilder", func(b *eap.Builder, _ *eap.InnerBuilder) {
			var in eap.InnerBuilder
			b.AddEncrypted(&encrKey, &encrIV, &in)
		}, eap.ErrAttrLen, eap.AttrEncrData},
		{"nil inner", func(b *eap.Builder, _ *eap.InnerBuilder) {
			b.AddEncrypted(&encrKey, &encrIV, nil)
		}, eap.ErrAttrLen, eap.AttrEncrData},
		{"added twice", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			b.AddEncrypted(&encrKey, &encrIV, in)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrDuplicateAttr, eap.AttrIV},
		{"after AddIV", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			b.AddIV(&v16)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrDuplicateAttr, eap.AttrIV},
		{"after AddEncrData", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			b.AddEncrData(make([]byte, 16))
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrDuplicateAttr, eap.AttrEncrData},
		{"first error wins", func(b *eap.Builder, in *eap.InnerBuilder) {
			in.AddUint16(eap.AttrCounter, 1)
			b.AddRES(nil)
			b.AddEncrypted(&encrKey, &encrIV, in)
		}, eap.ErrAttrValue, eap.AttrRES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := eap.NewInnerBuilder(nil)
			b := eap.NewBuilder(nil, eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeReauthentication)
			tt.build(&b, &in)
			b.AddMAC()
			pkt, off, err := b.Finish()
			if err == nil || pkt != nil || off != -1 {
				t.Fatalf("Finish = %x, %d, %v; want an error", pkt, off, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Finish error %v, want %v", err, tt.want)
			}
			var ae *eap.AttrError
			if !errors.As(err, &ae) || ae.Type != tt.wantAttr || ae.Err == nil {
				t.Fatalf("Finish error %v, want an *AttrError for %v", err, tt.wantAttr)
			}
		})
	}
	for _, tc := range []struct {
		name string
		n    int // pseudonym length
	}{{"1004-octet pseudonym fills 1008 unpadded", 1004}, {"996-octet pseudonym padded to 1008", 996}} {
		t.Run(tc.name, func(t *testing.T) {
			pseudo := bytes.Repeat([]byte{'p'}, tc.n)
			kAut := codecHex(t, codecKAutAKA)
			pkt := encrMessage(t, eap.CodeRequest, eap.TypeAKA, eap.SubtypeChallenge, kAut, nil, nil,
				func(in *eap.InnerBuilder) { in.AddIdentityLike(eap.AttrNextPseudonym, pseudo) })
			m, a := encrParse(t, pkt, eap.TypeAKA, kAut, nil)
			if len(m.Attrs.EncrData) != eap.MaxEncrDataLen || !bytes.Equal(a.NextPseudonym, pseudo) {
				t.Errorf("AT_ENCR_DATA %d octets, pseudonym %d", len(m.Attrs.EncrData), len(a.NextPseudonym))
			}
		})
	}
	t.Run("inner buffer untouched", func(t *testing.T) {
		ibuf := make([]byte, 0, 64)
		in := eap.NewInnerBuilder(ibuf)
		in.AddUint16(eap.AttrCounter, 7)
		b := eap.NewBuilder(nil, eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeReauthentication)
		b.AddEncrypted(&encrKey, &encrIV, &in)
		if _, _, err := b.Finish(); err != nil {
			t.Fatal(err)
		}
		if got := ibuf[:16]; !bytes.Equal(got[:4], []byte{19, 1, 0, 7}) || !bytes.Equal(got[4:], make([]byte, 12)) {
			t.Errorf("inner buffer %x", got)
		}
	})
}

// encrSeedMessages are the built messages whose AT_ENCR_DATA values (under
// encrKey and encrIV) are the files of testdata/fuzz/FuzzDecryptAttrs.
var encrSeedMessages = []struct {
	name  string
	pad   int // octets of AT_PADDING
	inner func(in *eap.InnerBuilder)
}{
	{"reauth-request-counter-nonce-reauth-id", 8, func(in *eap.InnerBuilder) {
		in.AddUint16(eap.AttrCounter, 1)
		in.AddNonceS(&encrNonce)
		in.AddIdentityLike(eap.AttrNextReauthID, []byte("reauth@realm"))
	}},
	{"reauth-response-counter-too-small", 8, func(in *eap.InnerBuilder) {
		in.AddUint16(eap.AttrCounter, 513)
		in.AddFlag(eap.AttrCounterTooSmall)
	}},
	{"reauth-response-counter", 12, func(in *eap.InnerBuilder) { in.AddUint16(eap.AttrCounter, 2) }},
	{"challenge-pseudonym-reauth-id-pad0", 0, func(in *eap.InnerBuilder) {
		in.AddIdentityLike(eap.AttrNextPseudonym, []byte("w8w49PexCazWJ&xCIARmxuMKht5S1sxRqR2v"))
		in.AddIdentityLike(eap.AttrNextReauthID, []byte("Y24fNSrz8BP274jOJaF17WfxI8YO7QX00pMXk9XMMVOw7broaNhTczuFq53aEpOkk3L0dm@eapsim.foo"))
	}},
	{"challenge-pseudonym-reauth-id-pad4", 4, func(in *eap.InnerBuilder) {
		in.AddIdentityLike(eap.AttrNextPseudonym, []byte("pseudo"))
		in.AddIdentityLike(eap.AttrNextReauthID, []byte("reauth@realm"))
	}},
	{"challenge-pseudonym-reauth-id-pad8", 8, func(in *eap.InnerBuilder) {
		in.AddIdentityLike(eap.AttrNextPseudonym, []byte("p"))
		in.AddIdentityLike(eap.AttrNextReauthID, []byte("reauth@realm"))
	}},
	{"challenge-pseudonym-pad12", 12, func(in *eap.InnerBuilder) {
		in.AddIdentityLike(eap.AttrNextPseudonym, []byte("pseudonym1234567"))
	}},
}

// encrSeedCipher builds the message of a seed and returns its AT_ENCR_DATA.
func encrSeedCipher(tb testing.TB, inner func(in *eap.InnerBuilder)) []byte {
	tb.Helper()
	kAut := codecHex(tb, codecKAutAKA)
	pkt := encrMessage(tb, eap.CodeRequest, eap.TypeAKA, eap.SubtypeReauthentication, kAut, nil, nil, inner)
	m, _ := encrParse(tb, pkt, eap.TypeAKA, kAut, nil)
	return m.Attrs.EncrData
}

// encrCorpusFile is the go test fuzz v1 encoding of one []byte, with
// every octet outside printable ASCII as \xNN.
func encrCorpusFile(b []byte) string {
	var sb strings.Builder
	sb.WriteString("go test fuzz v1\n[]byte(\"")
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	sb.WriteString("\")\n")
	return sb.String()
}

// TestDecryptAttrs_Seeds checks that the fuzz corpus holds exactly what the
// seed messages build today. EAP_WRITE_FUZZ_SEEDS=1 rewrites the files.
func TestDecryptAttrs_Seeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecryptAttrs")
	pads := map[int]bool{}
	for _, s := range encrSeedMessages {
		c := encrSeedCipher(t, s.inner)
		want := encrCorpusFile(c)
		path := filepath.Join(dir, s.name)
		if os.Getenv("EAP_WRITE_FUZZ_SEEDS") == "1" {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s: corpus file differs from the built message; rerun with EAP_WRITE_FUZZ_SEEDS=1", s.name)
		}
		scratch := make([]byte, len(c))
		a, err := eap.DecryptAttrs(&encrKey, encrIV[:], c, scratch)
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		if a.Has(eap.AttrPadding) != (s.pad > 0) {
			t.Errorf("%s: AT_PADDING %v, %d octets, want %d octets of padding", s.name, a.Has(eap.AttrPadding), len(c), s.pad)
		}
		if s.pad > 0 && !bytes.Equal(scratch[len(c)-s.pad:], append([]byte{byte(eap.AttrPadding), byte(s.pad / 4)}, make([]byte, s.pad-2)...)) {
			t.Errorf("%s: plaintext does not end with %d octets of AT_PADDING: %x", s.name, s.pad, scratch)
		}
		pads[s.pad] = true
	}
	for _, p := range []int{0, 4, 8, 12} {
		if !pads[p] {
			t.Errorf("no seed with padding %d", p)
		}
	}
}

// FuzzDecryptAttrs checks that DecryptAttrs never panics, that what it
// accepts is a ciphertext of its plaintext (CBC is a permutation, so
// encrypting the plaintext with the same key and IV gives the input back),
// that the plaintext holds only what AT_ENCR_DATA may, and that it survives
// a rebuild with InnerBuilder and AddEncrypted.
//
// Each input is tried twice: as the ciphertext (the corpus files are
// AT_ENCR_DATA values of built messages), and, when it is whole blocks, as
// the plaintext, encrypted first, so that the fuzzer also mutates attributes
// directly rather than through the cipher.
func FuzzDecryptAttrs(f *testing.F) {
	for _, s := range encrSeedMessages {
		c := encrSeedCipher(f, s.inner)
		f.Add(encrRefCBC(f, false, &encrKey, &encrIV, c)) // the plaintext
	}
	f.Add(codecHex(f, encrHexCounter1+"c802000001020304"+encrHexPad4))
	f.Fuzz(func(t *testing.T, b []byte) {
		encrFuzzCheck(t, b)
		if len(b) > 0 && len(b)%16 == 0 && len(b) <= eap.MaxEncrDataLen {
			encrFuzzCheck(t, encrRefCBC(t, true, &encrKey, &encrIV, b))
		}
	})
}

// encrFuzzCheck is the property of FuzzDecryptAttrs for one ciphertext.
func encrFuzzCheck(t *testing.T, encr []byte) {
	var scratch [eap.MaxEncrDataLen]byte
	a, err := eap.DecryptAttrs(&encrKey, encrIV[:], encr, scratch[:])
	if err != nil {
		var ae *eap.AttrError
		switch {
		case errors.As(err, &ae):
			if ae.Err == nil {
				t.Fatalf("AttrError without a cause: %v", err)
			}
			if !bytes.Equal(scratch[:len(encr)], make([]byte, len(encr))) {
				t.Fatalf("plaintext left in scratch after %v", err)
			}
		case !errors.Is(err, eap.ErrEncrData):
			t.Fatalf("unexpected error %v", err)
		}
		if !reflect.DeepEqual(a, eap.Attrs{}) {
			t.Fatalf("Attrs on error: %+v", a)
		}
		return
	}
	plain := scratch[:len(encr)]
	if back := encrRefCBC(t, true, &encrKey, &encrIV, plain); !bytes.Equal(back, encr) {
		t.Fatalf("re-encrypting %x gives %x, not %x", plain, back, encr)
	}
	allowed := []eap.AttrType{eap.AttrNextPseudonym, eap.AttrNextReauthID, eap.AttrCounter,
		eap.AttrCounterTooSmall, eap.AttrNonceS, eap.AttrPadding}
	for _, at := range codecAllAttrs {
		ok := false
		for _, al := range allowed {
			ok = ok || al == at
		}
		if a.Has(at) && !ok {
			t.Fatalf("%v accepted inside AT_ENCR_DATA: %x", at, plain)
		}
	}
	if a.MACOffset != -1 {
		t.Fatalf("MACOffset %d", a.MACOffset)
	}

	// Rebuild (AT_PADDING and unknown skippable attributes are not
	// rebuilt), encrypt, decrypt: same values.
	in := eap.NewInnerBuilder(nil)
	if a.Has(eap.AttrCounter) {
		in.AddUint16(eap.AttrCounter, a.Counter)
	}
	if a.Has(eap.AttrCounterTooSmall) {
		in.AddFlag(eap.AttrCounterTooSmall)
	}
	if a.Has(eap.AttrNonceS) {
		in.AddNonceS((*[16]byte)(a.NonceS))
	}
	if a.Has(eap.AttrNextPseudonym) {
		in.AddIdentityLike(eap.AttrNextPseudonym, a.NextPseudonym)
	}
	if a.Has(eap.AttrNextReauthID) {
		in.AddIdentityLike(eap.AttrNextReauthID, a.NextReauthID)
	}
	b := eap.NewBuilder(nil, eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeReauthentication)
	b.AddEncrypted(&encrKey, &encrIV, &in)
	pkt, _, err := b.Finish()
	if err != nil {
		if errors.Is(err, eap.ErrAttrLen) && !a.Has(eap.AttrCounter) && !a.Has(eap.AttrCounterTooSmall) &&
			!a.Has(eap.AttrNonceS) && !a.Has(eap.AttrNextPseudonym) && !a.Has(eap.AttrNextReauthID) {
			return // only padding and unknown attributes: nothing to rebuild
		}
		t.Fatalf("rebuilding %x: %v", plain, err)
	}
	m, err := eap.ParseAKA(pkt)
	if err != nil {
		t.Fatalf("parsing rebuilt %x: %v", pkt, err)
	}
	var scratch2 [eap.MaxEncrDataLen]byte
	a2, err := eap.DecryptAttrs(&encrKey, m.Attrs.IV, m.Attrs.EncrData, scratch2[:])
	if err != nil {
		t.Fatalf("decrypting rebuilt %x: %v", m.Attrs.EncrData, err)
	}
	if d := akaAttrsDiff(&a2, &a); d != "" {
		t.Fatalf("%s changed in the rebuild of %x", d, plain)
	}
	if d := akaHasDiff(&a2, &a, eap.AttrPadding); d != "" {
		t.Fatalf("presence of %s changed in the rebuild of %x", d, plain)
	}
}

// TestEncr_Allocs pins the allocations of the encrypted-data path: one each
// for DecryptAttrs and AddEncrypted, the AES key schedule that
// aes.NewCipher puts on the heap; CBC is done by hand because
// cipher.NewCBCDecrypter/Encrypter would add one more.
func TestEncr_Allocs(t *testing.T) {
	kAut := codecHex(t, codecKAutAKA)
	pkt := encrMessage(t, eap.CodeRequest, eap.TypeAKA, eap.SubtypeReauthentication, kAut, nil, nil, encrSeedMessages[0].inner)
	m, err := eap.ParseAKA(pkt)
	if err != nil {
		t.Fatal(err)
	}
	var scratch [eap.MaxEncrDataLen]byte
	n := testing.AllocsPerRun(100, func() {
		if _, err := eap.DecryptAttrs(&encrKey, m.Attrs.IV, m.Attrs.EncrData, scratch[:]); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("DecryptAttrs (%d octets): %v allocations", len(m.Attrs.EncrData), n)
	if n > 1 {
		t.Errorf("DecryptAttrs allocates %v times, want at most 1", n)
	}
	big := encrSeedCipher(t, func(in *eap.InnerBuilder) {
		in.AddIdentityLike(eap.AttrNextPseudonym, make([]byte, 1004))
	})
	if n := testing.AllocsPerRun(100, func() {
		if _, err := eap.DecryptAttrs(&encrKey, encrIV[:], big, scratch[:]); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("DecryptAttrs of 1008 octets allocates %v times, want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := eap.DecryptAttrs(&encrKey, encrIV[:15], big, scratch[:]); err == nil {
			t.Fatal("short IV accepted")
		}
	}); n != 0 {
		t.Errorf("DecryptAttrs with a short IV allocates %v times, want 0", n)
	}

	buf := make([]byte, 0, 512)
	ibuf := make([]byte, 0, 128)
	nextID := []byte("reauth@realm")
	n = testing.AllocsPerRun(100, func() {
		in := eap.NewInnerBuilder(ibuf[:0])
		in.AddUint16(eap.AttrCounter, 1)
		in.AddNonceS(&encrNonce)
		in.AddIdentityLike(eap.AttrNextReauthID, nextID)
		b := eap.NewBuilder(buf[:0], eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeReauthentication)
		b.AddEncrypted(&encrKey, &encrIV, &in)
		b.AddMAC()
		if _, _, err := b.Finish(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("InnerBuilder + NewBuilder + AddEncrypted + AddMAC + Finish: %v allocations", n)
	if n > 1 {
		t.Errorf("building a re-authentication request allocates %v times, want at most 1", n)
	}
}

func BenchmarkDecryptAttrs(b *testing.B) {
	c := encrSeedCipher(b, encrSeedMessages[0].inner)
	var scratch [eap.MaxEncrDataLen]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(c)))
	for b.Loop() {
		if _, err := eap.DecryptAttrs(&encrKey, encrIV[:], c, scratch[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddEncrypted(b *testing.B) {
	buf := make([]byte, 0, 512)
	ibuf := make([]byte, 0, 128)
	nextID := []byte("reauth@realm")
	b.ReportAllocs()
	for b.Loop() {
		in := eap.NewInnerBuilder(ibuf[:0])
		in.AddUint16(eap.AttrCounter, 1)
		in.AddNonceS(&encrNonce)
		in.AddIdentityLike(eap.AttrNextReauthID, nextID)
		bd := eap.NewBuilder(buf[:0], eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeReauthentication)
		bd.AddEncrypted(&encrKey, &encrIV, &in)
		bd.AddMAC()
		if _, _, err := bd.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}
