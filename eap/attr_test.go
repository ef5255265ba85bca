package eap_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// codecSeeds are real-looking EAP-AKA and EAP-AKA' messages, assembled and
// MACed by an independent script (Python hmac/hashlib) from the RFC 5448
// Appendix C case 1 values (RAND, AUTN, RES, K_aut) and, for EAP-AKA, the
// K_aut of aka/testdata/aka_prf.json (eap_aka_full_auth). They seed
// both fuzz targets and the MAC known-answer test.
var codecSeeds = []struct {
	name, hex string
}{
	// EAP-Request/AKA-Identity with AT_PERMANENT_ID_REQ (RFC 4187 §9.1).
	{"aka-identity-request", "0101000c170500000a010000"},
	// EAP-Response/AKA-Identity with a permanent identity (RFC 4187 §9.2).
	{"aka-identity-response", "02010040170500000e0e00333035353534343433333332323231313140776c616e2e6d6e633535352e6d63633434342e336770706e6574776f726b2e6f726700"},
	// EAP-Request/AKA-Challenge: AT_RAND, AT_AUTN, AT_RESULT_IND, AT_CHECKCODE (SHA-1), AT_BIDDING (D bit), AT_MAC.
	{"aka-challenge-request", "01020064170100000105000081e92b6c0ee0e12ebceba8d92a99dfa502050000bb52e91c747ac3ab2a5c23d15ee351d5870100008606000061bc9739a77ad20fc0328cb518a917aa53a8ce2b880180000b050000cc825bae6c94d24f88a2009c3936c88d"},
	// EAP-Response/AKA-Challenge: AT_RES (64 bits), AT_CHECKCODE, AT_RESULT_IND, AT_MAC.
	{"aka-challenge-response", "02020044170100000303004028d7b0f2a2ec3de58606000061bc9739a77ad20fc0328cb518a917aa53a8ce2b870100000b050000b061061a2cd5456fe691699f1ae2f0ad"},
	// EAP-Response/AKA-Synchronization-Failure with AT_AUTS (RFC 4187 §9.6).
	{"aka-sync-failure", "0202001817040000040422a3bd5ba8c8c0e87c3e1b3b2a5c"},
	// EAP-Response/AKA-Authentication-Reject, no attributes (RFC 4187 §9.5).
	{"aka-auth-reject", "0202000817020000"},
	// EAP-Request/AKA-Notification: general failure before authentication (16384, P bit set, no MAC).
	{"aka-notification-request", "0103000c170c00000c014000"},
	// EAP-Response/AKA-Notification, empty (RFC 4187 §9.11).
	{"aka-notification-response", "02030008170c0000"},
	// EAP-Response/AKA-Client-Error: unable to process packet (code 0).
	{"aka-client-error", "0203000c170e000016010000"},
	// EAP-Request/AKA-Reauthentication: AT_IV, AT_ENCR_DATA (3 blocks), AT_MAC.
	{"aka-reauth-request", "01040064170d000081050000101112131415161718191a1b1c1d1e1f820d00000b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d60b0500002353752a3fae96496f26373fa94cb12c"},
	// EAP-Response/AKA-Reauthentication: AT_IV, AT_ENCR_DATA (1 block), AT_MAC over NONCE_S.
	{"aka-reauth-response", "02040044170d000081050000101112131415161718191a1b1c1d1e1f820500000b30557a9fc4e90e33587da2c7ec11360b050000e7953b6cab6cc13eda81e231075a5597"},
	// EAP-Request/AKA'-Identity with AT_ANY_ID_REQ.
	{"akaprime-identity-request", "0101000c320500000d010000"},
	// EAP-Response/AKA'-Identity with a '6' permanent identity (RFC 9048 §3).
	{"akaprime-identity-response", "02010040320500000e0e00333635353534343433333332323231313140776c616e2e6d6e633535352e6d63633434342e336770706e6574776f726b2e6f726700"},
	// EAP-Request/AKA'-Challenge: AT_RAND, AT_AUTN, AT_KDF_INPUT "WLAN", AT_KDF 1, AT_CHECKCODE (SHA-256), AT_RESULT_IND, AT_MAC; RFC 5448 App. C case 1 values.
	{"akaprime-challenge-request", "01020078320100000105000081e92b6c0ee0e12ebceba8d92a99dfa502050000bb52e91c747ac3ab2a5c23d15ee351d517020004574c414e1801000186090000ecdbe04d43734e80f81c1106a27f37130db56c7c3296bc710a7349802cdd5a12870100000b0500004c8f6f0968283fd2249e95df14ac9ecb"},
	// EAP-Response/AKA'-Challenge: AT_RES, AT_CHECKCODE (empty), AT_MAC.
	{"akaprime-challenge-response", "0202002c320100000303004028d7b0f2a2ec3de5860100000b0500008f3bdfcd4eb0c6400cd5c8a9f792ea56"},
	// EAP-Response/AKA'-Synchronization-Failure: AT_AUTS, AT_KDF 1.
	{"akaprime-sync-failure", "0202001c32040000040422a3bd5ba8c8c0e87c3e1b3b2a5c18010001"},
	// EAP-Request/AKA'-Challenge offering AT_KDF 2 then 1, with a skippable unknown attribute 200.
	{"akaprime-challenge-kdfs", "01050078320100000105000081e92b6c0ee0e12ebceba8d92a99dfa502050000bb52e91c747ac3ab2a5c23d15ee351d51709002035473a6d6e633535352e6d63633434342e336770706e6574776f726b2e6f72671801000218010001c8020000010203040b0500008379f6ead62411409af24d7e8159cd20"},
	// EAP-Request/AKA'-Notification: user not subscribed (1031, P bit 0, so MAC).
	{"akaprime-notification-request", "01060020320c00000c0104070b05000002f8e897cff8f4936a581a5673bb13cb"},
}

// codecSeed returns the named seed.
func codecSeed(tb testing.TB, name string) []byte {
	tb.Helper()
	for _, s := range codecSeeds {
		if s.name == name {
			return codecHex(tb, s.hex)
		}
	}
	tb.Fatalf("no seed %q", name)
	return nil
}

// codecAllAttrs lists every attribute type the codec knows.
var codecAllAttrs = []eap.AttrType{
	eap.AttrRAND, eap.AttrAUTN, eap.AttrRES, eap.AttrAUTS, eap.AttrPadding,
	eap.AttrPermanentIDReq, eap.AttrMAC, eap.AttrNotification, eap.AttrAnyIDReq,
	eap.AttrIdentity, eap.AttrFullauthIDReq, eap.AttrCounter, eap.AttrCounterTooSmall,
	eap.AttrNonceS, eap.AttrClientErrorCode, eap.AttrKDFInput, eap.AttrKDF, eap.AttrIV,
	eap.AttrEncrData, eap.AttrNextPseudonym, eap.AttrNextReauthID, eap.AttrCheckcode,
	eap.AttrResultInd, eap.AttrBidding,
}

// akaRebuild builds m again from its parsed attributes with the Builder and
// copies the parsed MAC value into the result. Unknown skippable attributes
// and AT_PADDING (the Builder has no method for them) are left out.
func akaRebuild(m *eap.AKAMessage, buf []byte) ([]byte, int, error) {
	a := &m.Attrs
	b := eap.NewBuilder(buf, m.Packet.Code, m.Packet.Identifier, m.Packet.Type, m.Subtype)
	if a.Has(eap.AttrRAND) {
		b.AddRAND((*[16]byte)(a.RAND))
	}
	if a.Has(eap.AttrAUTN) {
		b.AddAUTN((*[16]byte)(a.AUTN))
	}
	if a.Has(eap.AttrRES) {
		b.AddRES(a.RES)
	}
	if a.Has(eap.AttrAUTS) {
		b.AddAUTS((*[14]byte)(a.AUTS))
	}
	for _, t := range []eap.AttrType{eap.AttrPermanentIDReq, eap.AttrAnyIDReq, eap.AttrFullauthIDReq, eap.AttrResultInd, eap.AttrCounterTooSmall} {
		if a.Has(t) {
			b.AddFlag(t)
		}
	}
	for _, u := range []struct {
		t eap.AttrType
		v uint16
	}{
		{eap.AttrNotification, a.Notification},
		{eap.AttrClientErrorCode, a.ClientErrorCode},
		{eap.AttrBidding, a.Bidding},
		{eap.AttrCounter, a.Counter},
	} {
		if a.Has(u.t) {
			b.AddUint16(u.t, u.v)
		}
	}
	for _, k := range a.KDF[:a.NKDF] {
		b.AddUint16(eap.AttrKDF, k)
	}
	for _, v := range []struct {
		t eap.AttrType
		v []byte
	}{
		{eap.AttrIdentity, a.Identity},
		{eap.AttrKDFInput, a.KDFInput},
		{eap.AttrNextPseudonym, a.NextPseudonym},
		{eap.AttrNextReauthID, a.NextReauthID},
	} {
		if a.Has(v.t) {
			b.AddIdentityLike(v.t, v.v)
		}
	}
	if a.Has(eap.AttrCheckcode) {
		b.AddCheckcode(a.Checkcode)
	}
	if a.Has(eap.AttrNonceS) {
		b.AddNonceS((*[16]byte)(a.NonceS))
	}
	if a.Has(eap.AttrIV) {
		b.AddIV((*[16]byte)(a.IV))
	}
	if a.Has(eap.AttrEncrData) {
		b.AddEncrData(a.EncrData)
	}
	if a.Has(eap.AttrMAC) {
		b.AddMAC()
	}
	pkt, off, err := b.Finish()
	if err == nil && off >= 0 {
		copy(pkt[off:off+16], a.MAC)
	}
	return pkt, off, err
}

// akaAttrsDiff names the first value field of Attrs that differs, or
// returns "". Presence is compared separately, with Has.
func akaAttrsDiff(got, want *eap.Attrs) string {
	for _, f := range []struct {
		name string
		g, w []byte
	}{
		{"RAND", got.RAND, want.RAND},
		{"AUTN", got.AUTN, want.AUTN},
		{"RES", got.RES, want.RES},
		{"AUTS", got.AUTS, want.AUTS},
		{"MAC", got.MAC, want.MAC},
		{"Identity", got.Identity, want.Identity},
		{"Checkcode", got.Checkcode, want.Checkcode},
		{"KDFInput", got.KDFInput, want.KDFInput},
		{"NonceS", got.NonceS, want.NonceS},
		{"IV", got.IV, want.IV},
		{"EncrData", got.EncrData, want.EncrData},
		{"NextPseudonym", got.NextPseudonym, want.NextPseudonym},
		{"NextReauthID", got.NextReauthID, want.NextReauthID},
	} {
		if !bytes.Equal(f.g, f.w) {
			return f.name
		}
	}
	switch {
	case got.RESBits != want.RESBits:
		return "RESBits"
	case got.Notification != want.Notification:
		return "Notification"
	case got.ClientErrorCode != want.ClientErrorCode:
		return "ClientErrorCode"
	case got.NKDF != want.NKDF || got.KDF != want.KDF:
		return "KDF"
	case got.Bidding != want.Bidding:
		return "Bidding"
	case got.Counter != want.Counter:
		return "Counter"
	}
	return ""
}

// akaHasDiff names the first known attribute type whose presence differs
// between got and want, skipping the types in skip.
func akaHasDiff(got, want *eap.Attrs, skip ...eap.AttrType) string {
outer:
	for _, t := range codecAllAttrs {
		for _, s := range skip {
			if t == s {
				continue outer
			}
		}
		if got.Has(t) != want.Has(t) {
			return t.String()
		}
	}
	return ""
}

// codecAKAPacket assembles an EAP-AKA packet from hex attributes, with a
// correct EAP Length, for the rows that must be malformed inside.
func codecAKAPacket(tb testing.TB, code eap.Code, typ eap.Type, st eap.Subtype, attrs ...string) []byte {
	tb.Helper()
	body := codecHex(tb, strings.Join(attrs, ""))
	n := 8 + len(body)
	b := []byte{byte(code), 1, byte(n >> 8), byte(n), byte(typ), byte(st), 0, 0}
	return append(b, body...)
}

// Hex attribute snippets for the tables.
const (
	codecHexRAND   = "0105000081e92b6c0ee0e12ebceba8d92a99dfa5"
	codecHexAUTN   = "02050000bb52e91c747ac3ab2a5c23d15ee351d5"
	codecHexMAC    = "0b05000000000000000000000000000000000000"
	codecHexKDF1   = "18010001"
	codecHexResInd = "87010000"
)

func TestParseAKA_Rejects(t *testing.T) {
	const none eap.AttrType = 0 // no *AttrError expected
	challenge := func(attrs ...string) []byte {
		return codecAKAPacket(t, eap.CodeRequest, eap.TypeAKA, eap.SubtypeChallenge, attrs...)
	}
	full := challenge(codecHexRAND, codecHexAUTN, codecHexMAC)
	cut := append([]byte(nil), full...)
	cut[3] = 8 + 4 + 8 // Length ends inside AT_RAND
	tests := []struct {
		name     string
		in       []byte
		want     error
		wantAttr eap.AttrType
	}{
		{"truncated header", codecHex(t, "0101"), eap.ErrShortPacket, none},
		{"length < 4", codecHex(t, "01010003"), eap.ErrLength, none},
		{"length > len", full[:len(full)-1], eap.ErrLength, none},
		{"success with extra bytes", codecHex(t, "0301000500"), eap.ErrLength, none},
		{"success is not an AKA message", codecHex(t, "03010004"), eap.ErrCode, none},
		{"identity type is not AKA", codecHex(t, "0201000601aa"), eap.ErrType, none},
		{"no subtype and reserved", codecHex(t, "010100061701"), eap.ErrShortPacket, none},
		{"reserved cut short", codecHex(t, "01010007170100"), eap.ErrShortPacket, none},
		{"attribute header truncated", challenge(codecHexResInd + "01"), eap.ErrShortAttr, eap.AttrRAND},
		{"attribute length 0", challenge("01000000"), eap.ErrAttrLen, eap.AttrRAND},
		{"skippable attribute length 0", challenge("c8000000"), eap.ErrAttrLen, 200},
		{"attribute overrunning the packet", challenge(codecHexRAND[:16]), eap.ErrShortAttr, eap.AttrRAND},
		{"skippable attribute overrunning the packet", challenge("c8050000"), eap.ErrShortAttr, 200},
		{"length field cuts an attribute", cut, eap.ErrShortAttr, eap.AttrRAND},
		{"AT_RAND 4 units", challenge("01040000" + codecHexRAND[8:32]), eap.ErrAttrLen, eap.AttrRAND},
		{"AT_RAND 6 units", challenge("01060000" + codecHexRAND[8:] + "00000000"), eap.ErrAttrLen, eap.AttrRAND},
		{"AT_AUTN wrong length", challenge("02060000" + codecHexAUTN[8:] + "00000000"), eap.ErrAttrLen, eap.AttrAUTN},
		{"AT_MAC wrong length", challenge("0b040000" + codecHexMAC[8:32]), eap.ErrAttrLen, eap.AttrMAC},
		{"AT_IV wrong length", challenge("81040000" + codecHexMAC[8:32]), eap.ErrAttrLen, eap.AttrIV},
		{"AT_NONCE_S wrong length", challenge("15060000" + codecHexMAC[8:] + "00000000"), eap.ErrAttrLen, eap.AttrNonceS},
		{"AT_AUTS 18 octets", challenge("0405" + "00000000000000000000000000000000" + "0000"), eap.ErrAttrLen, eap.AttrAUTS},
		{"AT_AUTS 10 octets", challenge("0403" + "00000000000000000000"), eap.ErrAttrLen, eap.AttrAUTS},
		{"AT_RES bits not multiple of 8", challenge("03030041" + "28d7b0f2a2ec3de5"), eap.ErrAttrValue, eap.AttrRES},
		{"AT_RES bits > value length", challenge("03030080" + "28d7b0f2a2ec3de5"), eap.ErrAttrValue, eap.AttrRES},
		{"AT_RES bits < 32", challenge("03020018" + "28d7b000"), eap.ErrAttrValue, eap.AttrRES},
		{"AT_RES bits 0", challenge("03020000" + "00000000"), eap.ErrAttrValue, eap.AttrRES},
		{"AT_RES bits > 128", challenge("03060088" + strings.Repeat("aa", 17) + "000000"), eap.ErrAttrValue, eap.AttrRES},
		{"AT_RES extra padding word", challenge("03030020" + "28d7b0f2" + "00000000"), eap.ErrAttrLen, eap.AttrRES},
		{"AT_IDENTITY actual length > space", challenge("0e020005" + "30313233"), eap.ErrAttrValue, eap.AttrIdentity},
		{"AT_KDF_INPUT actual length > space", challenge("17020005" + "574c414e"), eap.ErrAttrValue, eap.AttrKDFInput},
		{"AT_NEXT_PSEUDONYM actual length > space", challenge("84010001"), eap.ErrAttrValue, eap.AttrNextPseudonym},
		{"AT_NEXT_REAUTH_ID actual length > space", challenge("85020008" + "61626364"), eap.ErrAttrValue, eap.AttrNextReauthID},
		{"AT_CHECKCODE 16 octets", challenge("86050000" + strings.Repeat("cc", 16)), eap.ErrAttrLen, eap.AttrCheckcode},
		{"AT_CHECKCODE 24 octets", challenge("86070000" + strings.Repeat("cc", 24)), eap.ErrAttrLen, eap.AttrCheckcode},
		{"AT_CHECKCODE 36 octets", challenge("860a0000" + strings.Repeat("cc", 36)), eap.ErrAttrLen, eap.AttrCheckcode},
		{"unknown non-skippable (99)", challenge("63010000"), eap.ErrNonSkippable, 99},
		{"unknown non-skippable (127)", challenge("7f010000"), eap.ErrNonSkippable, 127},
		{"unknown non-skippable (0)", challenge("00010000"), eap.ErrNonSkippable, 0},
		{"unassigned 5 is non-skippable", challenge("05010000"), eap.ErrNonSkippable, 5},
		{"duplicate AT_RAND", challenge(codecHexRAND, codecHexRAND), eap.ErrDuplicateAttr, eap.AttrRAND},
		{"duplicate AT_MAC", challenge(codecHexMAC, codecHexMAC), eap.ErrDuplicateAttr, eap.AttrMAC},
		{"duplicate AT_RESULT_IND", challenge(codecHexResInd, codecHexResInd), eap.ErrDuplicateAttr, eap.AttrResultInd},
		{"duplicate AT_IDENTITY", challenge("0e02000161000000", "0e02000162000000"), eap.ErrDuplicateAttr, eap.AttrIdentity},
		{"9 AT_KDF", challenge(strings.Repeat(codecHexKDF1, 9)), eap.ErrDuplicateAttr, eap.AttrKDF},
		{"AT_ENCR_DATA not multiple of 16", challenge("82030000" + strings.Repeat("ee", 8)), eap.ErrAttrLen, eap.AttrEncrData},
		{"AT_ENCR_DATA empty", challenge("82010000"), eap.ErrAttrLen, eap.AttrEncrData},
		{"AT_PERMANENT_ID_REQ with a value", challenge("0a02000000000000"), eap.ErrAttrLen, eap.AttrPermanentIDReq},
		{"AT_RESULT_IND with a value", challenge("8702000000000000"), eap.ErrAttrLen, eap.AttrResultInd},
		{"AT_NOTIFICATION 8 octets", challenge("0c02400000000000"), eap.ErrAttrLen, eap.AttrNotification},
		{"AT_CLIENT_ERROR_CODE 8 octets", challenge("1602000000000000"), eap.ErrAttrLen, eap.AttrClientErrorCode},
		{"AT_KDF 8 octets", challenge("1802000100000000"), eap.ErrAttrLen, eap.AttrKDF},
		{"AT_BIDDING 8 octets", challenge("8802800000000000"), eap.ErrAttrLen, eap.AttrBidding},
		{"AT_COUNTER 8 octets", challenge("1302000100000000"), eap.ErrAttrLen, eap.AttrCounter},
		{"AT_PADDING 16 octets", challenge("0604" + strings.Repeat("00", 14)), eap.ErrAttrLen, eap.AttrPadding},
		{"AT_PADDING not zero", challenge("0602000000010000"), eap.ErrAttrValue, eap.AttrPadding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := eap.ParseAKA(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseAKA(%x) = %v, want %v", tt.in, err, tt.want)
			}
			var ae *eap.AttrError
			isAttr := errors.As(err, &ae)
			switch {
			case tt.wantAttr == none && tt.want != eap.ErrNonSkippable && isAttr:
				t.Fatalf("got an *AttrError for %v, want a bare sentinel", ae.Type)
			case tt.wantAttr != none && !isAttr:
				t.Fatalf("error %v is not an *AttrError", err)
			case isAttr && ae.Type != tt.wantAttr:
				t.Fatalf("AttrError.Type = %d, want %d", ae.Type, tt.wantAttr)
			}
			if m.Packet.Data != nil || m.Attrs.Present != 0 || m.Attrs.RAND != nil {
				t.Fatalf("message not zero on error: %+v", m)
			}
		})
	}
}

func TestParseAKA_Accepts(t *testing.T) {
	challenge := func(attrs ...string) []byte {
		return codecAKAPacket(t, eap.CodeRequest, eap.TypeAKAPrime, eap.SubtypeChallenge, attrs...)
	}
	tests := []struct {
		name  string
		in    []byte
		has   []eap.AttrType
		check func(*testing.T, *eap.Attrs)
	}{
		{"unknown skippable (200) is skipped", challenge(codecHexRAND, "c8020000aabbccdd", codecHexMAC), []eap.AttrType{eap.AttrRAND, eap.AttrMAC}, func(t *testing.T, a *eap.Attrs) {
			if a.MACOffset != 8+20+8+4 {
				t.Errorf("MACOffset %d", a.MACOffset)
			}
		}},
		{"unknown skippable (128) is skipped", challenge("80010000"), nil, nil},
		{"octets beyond the EAP length are ignored", append(challenge(codecHexRAND), 0x63, 0x01, 0, 0), []eap.AttrType{eap.AttrRAND}, nil},
		{"no attributes", challenge(), nil, nil},
		{"AT_PADDING 4 octets", challenge("06010000"), []eap.AttrType{eap.AttrPadding}, nil},
		{"AT_PADDING 12 octets", challenge("0603" + strings.Repeat("00", 10)), []eap.AttrType{eap.AttrPadding}, nil},
		{"AT_IDENTITY extra padding tolerated", challenge("0e030001" + "6100000000000000"), []eap.AttrType{eap.AttrIdentity}, func(t *testing.T, a *eap.Attrs) {
			if string(a.Identity) != "a" {
				t.Errorf("Identity %q", a.Identity)
			}
		}},
		{"AT_IDENTITY empty", challenge("0e010000"), []eap.AttrType{eap.AttrIdentity}, func(t *testing.T, a *eap.Attrs) {
			if a.Identity == nil || len(a.Identity) != 0 {
				t.Errorf("Identity %q", a.Identity)
			}
		}},
		{"AT_CHECKCODE empty", challenge("86010000"), []eap.AttrType{eap.AttrCheckcode}, func(t *testing.T, a *eap.Attrs) {
			if len(a.Checkcode) != 0 {
				t.Errorf("Checkcode %x", a.Checkcode)
			}
		}},
		{"AT_RES 5 octets padded", challenge("03030028" + "0102030405000000"), []eap.AttrType{eap.AttrRES}, func(t *testing.T, a *eap.Attrs) {
			if a.RESBits != 40 || !bytes.Equal(a.RES, []byte{1, 2, 3, 4, 5}) {
				t.Errorf("RES %x bits %d", a.RES, a.RESBits)
			}
		}},
		{"AT_RES 128 bits", challenge("03050080" + strings.Repeat("ab", 16)), []eap.AttrType{eap.AttrRES}, nil},
		{"8 AT_KDF in order", challenge("18010004", "18010003", "18010002", "18010001", "18010005", "18010006", "18010007", "18010008"), []eap.AttrType{eap.AttrKDF}, func(t *testing.T, a *eap.Attrs) {
			if a.NKDF != eap.MaxKDFs || a.KDF != [eap.MaxKDFs]uint16{4, 3, 2, 1, 5, 6, 7, 8} {
				t.Errorf("KDF %v (%d)", a.KDF, a.NKDF)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := eap.ParseAKA(tt.in)
			if err != nil {
				t.Fatalf("ParseAKA: %v", err)
			}
			for _, at := range codecAllAttrs {
				wanted := false
				for _, h := range tt.has {
					wanted = wanted || h == at
				}
				if m.Attrs.Has(at) != wanted {
					t.Errorf("Has(%v) = %v", at, !wanted)
				}
			}
			if !m.Attrs.Has(eap.AttrMAC) && m.Attrs.MACOffset != -1 {
				t.Errorf("MACOffset %d without AT_MAC, want -1", m.Attrs.MACOffset)
			}
			if tt.check != nil {
				tt.check(t, &m.Attrs)
			}
		})
	}
}

// TestParseAKA_Seeds checks every seed message parses, and that its slices
// alias the input at the right places.
func TestParseAKA_Seeds(t *testing.T) {
	for _, s := range codecSeeds {
		t.Run(s.name, func(t *testing.T) {
			in := codecHex(t, s.hex)
			m, err := eap.ParseAKA(in)
			if err != nil {
				t.Fatalf("ParseAKA: %v", err)
			}
			if m.Attrs.Has(eap.AttrMAC) && !bytes.Equal(in[m.Attrs.MACOffset:m.Attrs.MACOffset+16], m.Attrs.MAC) {
				t.Errorf("MACOffset %d does not point at the MAC", m.Attrs.MACOffset)
			}
			wantType := eap.TypeAKA
			if strings.HasPrefix(s.name, "akaprime") {
				wantType = eap.TypeAKAPrime
			}
			if m.Packet.Type != wantType {
				t.Errorf("Type %v, want %v", m.Packet.Type, wantType)
			}
		})
	}
	m, err := eap.ParseAKA(codecSeed(t, "akaprime-challenge-request"))
	if err != nil {
		t.Fatal(err)
	}
	a := &m.Attrs
	if m.Subtype != eap.SubtypeChallenge || m.Packet.Code != eap.CodeRequest || m.Packet.Identifier != 2 ||
		!bytes.Equal(a.RAND, codecHex(t, "81e92b6c0ee0e12ebceba8d92a99dfa5")) ||
		!bytes.Equal(a.AUTN, codecHex(t, "bb52e91c747ac3ab2a5c23d15ee351d5")) ||
		string(a.KDFInput) != "WLAN" || a.NKDF != 1 || a.KDF[0] != 1 || len(a.Checkcode) != 32 ||
		!a.Has(eap.AttrResultInd) || a.MACOffset != len(codecSeed(t, "akaprime-challenge-request"))-16 {
		t.Fatalf("AKA' challenge parsed as %+v", m)
	}
}

func TestAKARoundTrip(t *testing.T) {
	rand := [16]byte{0x81, 0xe9, 0x2b, 0x6c, 0x0e, 0xe0, 0xe1, 0x2e, 0xbc, 0xeb, 0xa8, 0xd9, 0x2a, 0x99, 0xdf, 0xa5}
	autn := [16]byte{0xbb, 0x52, 0xe9, 0x1c, 0x74, 0x7a, 0xc3, 0xab, 0x2a, 0x5c, 0x23, 0xd1, 0x5e, 0xe3, 0x51, 0xd5}
	auts := [14]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	iv := [16]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
	nonce := [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	res8 := []byte{0x28, 0xd7, 0xb0, 0xf2, 0xa2, 0xec, 0x3d, 0xe5}
	cc20 := bytes.Repeat([]byte{0xc1}, 20)
	cc32 := bytes.Repeat([]byte{0xc2}, 32)
	encr := bytes.Repeat([]byte{0xe0}, 48)
	zeroMAC := make([]byte, 16)
	id := []byte("0555444333222111@wlan.mnc555.mcc444.3gppnetwork.org")
	tests := []struct {
		name  string
		code  eap.Code
		typ   eap.Type
		st    eap.Subtype
		build func(b *eap.Builder)
		want  eap.Attrs
		has   []eap.AttrType
	}{
		{"AKA identity request", eap.CodeRequest, eap.TypeAKA, eap.SubtypeIdentity,
			func(b *eap.Builder) { b.AddFlag(eap.AttrPermanentIDReq) },
			eap.Attrs{}, []eap.AttrType{eap.AttrPermanentIDReq}},
		{"AKA identity response", eap.CodeResponse, eap.TypeAKA, eap.SubtypeIdentity,
			func(b *eap.Builder) { b.AddIdentityLike(eap.AttrIdentity, id) },
			eap.Attrs{Identity: id}, []eap.AttrType{eap.AttrIdentity}},
		{"AKA challenge request", eap.CodeRequest, eap.TypeAKA, eap.SubtypeChallenge,
			func(b *eap.Builder) {
				b.AddRAND(&rand)
				b.AddAUTN(&autn)
				b.AddFlag(eap.AttrResultInd)
				b.AddCheckcode(cc20)
				b.AddUint16(eap.AttrBidding, 0x8000)
				b.AddMAC()
			},
			eap.Attrs{RAND: rand[:], AUTN: autn[:], Checkcode: cc20, Bidding: 0x8000, MAC: zeroMAC},
			[]eap.AttrType{eap.AttrRAND, eap.AttrAUTN, eap.AttrResultInd, eap.AttrCheckcode, eap.AttrBidding, eap.AttrMAC}},
		{"AKA challenge response", eap.CodeResponse, eap.TypeAKA, eap.SubtypeChallenge,
			func(b *eap.Builder) {
				b.AddRES(res8)
				b.AddCheckcode(nil)
				b.AddMAC()
			},
			eap.Attrs{RES: res8, RESBits: 64, Checkcode: []byte{}, MAC: zeroMAC},
			[]eap.AttrType{eap.AttrRES, eap.AttrCheckcode, eap.AttrMAC}},
		{"RES 4 octets", eap.CodeResponse, eap.TypeAKA, eap.SubtypeChallenge,
			func(b *eap.Builder) { b.AddRES(res8[:4]) },
			eap.Attrs{RES: res8[:4], RESBits: 32}, []eap.AttrType{eap.AttrRES}},
		{"RES 5 octets padded", eap.CodeResponse, eap.TypeAKA, eap.SubtypeChallenge,
			func(b *eap.Builder) { b.AddRES(res8[:5]) },
			eap.Attrs{RES: res8[:5], RESBits: 40}, []eap.AttrType{eap.AttrRES}},
		{"RES 16 octets", eap.CodeResponse, eap.TypeAKAPrime, eap.SubtypeChallenge,
			func(b *eap.Builder) { b.AddRES(encr[:16]) },
			eap.Attrs{RES: encr[:16], RESBits: 128}, []eap.AttrType{eap.AttrRES}},
		{"AKA synchronization failure", eap.CodeResponse, eap.TypeAKA, eap.SubtypeSynchronizationFailure,
			func(b *eap.Builder) { b.AddAUTS(&auts) },
			eap.Attrs{AUTS: auts[:]}, []eap.AttrType{eap.AttrAUTS}},
		{"AKA authentication reject", eap.CodeResponse, eap.TypeAKA, eap.SubtypeAuthenticationReject,
			func(b *eap.Builder) {}, eap.Attrs{}, nil},
		{"AKA notification with MAC", eap.CodeRequest, eap.TypeAKA, eap.SubtypeNotification,
			func(b *eap.Builder) {
				b.AddUint16(eap.AttrNotification, 1031)
				b.AddMAC()
			},
			eap.Attrs{Notification: 1031, MAC: zeroMAC}, []eap.AttrType{eap.AttrNotification, eap.AttrMAC}},
		{"AKA client error", eap.CodeResponse, eap.TypeAKA, eap.SubtypeClientError,
			func(b *eap.Builder) { b.AddUint16(eap.AttrClientErrorCode, 3) },
			eap.Attrs{ClientErrorCode: 3}, []eap.AttrType{eap.AttrClientErrorCode}},
		{"AKA reauthentication request", eap.CodeRequest, eap.TypeAKA, eap.SubtypeReauthentication,
			func(b *eap.Builder) {
				b.AddIV(&iv)
				b.AddEncrData(encr)
				b.AddFlag(eap.AttrResultInd)
				b.AddMAC()
			},
			eap.Attrs{IV: iv[:], EncrData: encr, MAC: zeroMAC},
			[]eap.AttrType{eap.AttrIV, eap.AttrEncrData, eap.AttrResultInd, eap.AttrMAC}},
		// What AT_ENCR_DATA decrypts to (RFC 4187 §9.7, §9.8), built
		// and parsed as plain attributes.
		{"reauthentication inner attributes", eap.CodeRequest, eap.TypeAKA, eap.SubtypeReauthentication,
			func(b *eap.Builder) {
				b.AddUint16(eap.AttrCounter, 7)
				b.AddNonceS(&nonce)
				b.AddFlag(eap.AttrCounterTooSmall)
				b.AddIdentityLike(eap.AttrNextPseudonym, []byte("pseudo"))
				b.AddIdentityLike(eap.AttrNextReauthID, []byte("reauth@realm"))
			},
			eap.Attrs{Counter: 7, NonceS: nonce[:], NextPseudonym: []byte("pseudo"), NextReauthID: []byte("reauth@realm")},
			[]eap.AttrType{eap.AttrCounter, eap.AttrNonceS, eap.AttrCounterTooSmall, eap.AttrNextPseudonym, eap.AttrNextReauthID}},
		{"AKA' identity request", eap.CodeRequest, eap.TypeAKAPrime, eap.SubtypeIdentity,
			func(b *eap.Builder) { b.AddFlag(eap.AttrAnyIDReq) },
			eap.Attrs{}, []eap.AttrType{eap.AttrAnyIDReq}},
		{"AKA' identity request fullauth", eap.CodeRequest, eap.TypeAKAPrime, eap.SubtypeIdentity,
			func(b *eap.Builder) { b.AddFlag(eap.AttrFullauthIDReq) },
			eap.Attrs{}, []eap.AttrType{eap.AttrFullauthIDReq}},
		{"AKA' identity response empty identity", eap.CodeResponse, eap.TypeAKAPrime, eap.SubtypeIdentity,
			func(b *eap.Builder) { b.AddIdentityLike(eap.AttrIdentity, nil) },
			eap.Attrs{Identity: []byte{}}, []eap.AttrType{eap.AttrIdentity}},
		{"AKA' challenge request", eap.CodeRequest, eap.TypeAKAPrime, eap.SubtypeChallenge,
			func(b *eap.Builder) {
				b.AddRAND(&rand)
				b.AddAUTN(&autn)
				b.AddIdentityLike(eap.AttrKDFInput, []byte("WLAN"))
				for k := uint16(1); k <= eap.MaxKDFs; k++ {
					b.AddUint16(eap.AttrKDF, k)
				}
				b.AddCheckcode(cc32)
				b.AddFlag(eap.AttrResultInd)
				b.AddMAC()
			},
			eap.Attrs{RAND: rand[:], AUTN: autn[:], KDFInput: []byte("WLAN"), KDF: [eap.MaxKDFs]uint16{1, 2, 3, 4, 5, 6, 7, 8}, NKDF: 8, Checkcode: cc32, MAC: zeroMAC},
			[]eap.AttrType{eap.AttrRAND, eap.AttrAUTN, eap.AttrKDFInput, eap.AttrKDF, eap.AttrCheckcode, eap.AttrResultInd, eap.AttrMAC}},
		{"AKA' synchronization failure", eap.CodeResponse, eap.TypeAKAPrime, eap.SubtypeSynchronizationFailure,
			func(b *eap.Builder) {
				b.AddAUTS(&auts)
				b.AddUint16(eap.AttrKDF, 1)
			},
			eap.Attrs{AUTS: auts[:], KDF: [eap.MaxKDFs]uint16{1}, NKDF: 1}, []eap.AttrType{eap.AttrAUTS, eap.AttrKDF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, 0, 512)
			b := eap.NewBuilder(buf, tt.code, 42, tt.typ, tt.st)
			tt.build(&b)
			pkt, macOff, err := b.Finish()
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if len(pkt)%4 != 0 {
				t.Errorf("packet length %d is not a multiple of 4", len(pkt))
			}
			m, err := eap.ParseAKA(pkt)
			if err != nil {
				t.Fatalf("ParseAKA(%x): %v", pkt, err)
			}
			if m.Packet.Code != tt.code || m.Packet.Identifier != 42 || m.Packet.Type != tt.typ || m.Subtype != tt.st {
				t.Fatalf("header %+v subtype %v", m.Packet, m.Subtype)
			}
			if d := akaAttrsDiff(&m.Attrs, &tt.want); d != "" {
				t.Errorf("%s differs: got %+v", d, m.Attrs)
			}
			for _, at := range codecAllAttrs {
				wanted := false
				for _, h := range tt.has {
					wanted = wanted || h == at
				}
				if m.Attrs.Has(at) != wanted {
					t.Errorf("Has(%v) = %v, want %v", at, !wanted, wanted)
				}
			}
			if macOff != m.Attrs.MACOffset {
				t.Errorf("Finish MAC offset %d, ParseAKA MACOffset %d", macOff, m.Attrs.MACOffset)
			}
		})
	}
}

func TestBuilder_Rejects(t *testing.T) {
	var v16 [16]byte
	tests := []struct {
		name     string
		code     eap.Code
		typ      eap.Type
		build    func(b *eap.Builder)
		want     error
		wantAttr eap.AttrType
	}{
		{"success code", eap.CodeSuccess, eap.TypeAKA, func(*eap.Builder) {}, eap.ErrCode, 0},
		{"identity type", eap.CodeRequest, eap.TypeIdentity, func(*eap.Builder) {}, eap.ErrType, 0},
		{"RES 3 octets", eap.CodeResponse, eap.TypeAKA, func(b *eap.Builder) { b.AddRES(make([]byte, 3)) }, eap.ErrAttrValue, eap.AttrRES},
		{"RES 17 octets", eap.CodeResponse, eap.TypeAKA, func(b *eap.Builder) { b.AddRES(make([]byte, 17)) }, eap.ErrAttrValue, eap.AttrRES},
		{"duplicate RAND", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddRAND(&v16); b.AddRAND(&v16) }, eap.ErrDuplicateAttr, eap.AttrRAND},
		{"duplicate MAC", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddMAC(); b.AddMAC() }, eap.ErrDuplicateAttr, eap.AttrMAC},
		{"9 KDF", eap.CodeRequest, eap.TypeAKAPrime, func(b *eap.Builder) {
			for range 9 {
				b.AddUint16(eap.AttrKDF, 1)
			}
		}, eap.ErrDuplicateAttr, eap.AttrKDF},
		{"checkcode 16 octets", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddCheckcode(make([]byte, 16)) }, eap.ErrAttrLen, eap.AttrCheckcode},
		{"encr data 15 octets", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddEncrData(make([]byte, 15)) }, eap.ErrAttrLen, eap.AttrEncrData},
		{"encr data empty", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddEncrData(nil) }, eap.ErrAttrLen, eap.AttrEncrData},
		{"encr data 1024 octets", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddEncrData(make([]byte, 1024)) }, eap.ErrAttrLen, eap.AttrEncrData},
		{"identity 1017 octets", eap.CodeResponse, eap.TypeAKA, func(b *eap.Builder) { b.AddIdentityLike(eap.AttrIdentity, make([]byte, 1017)) }, eap.ErrAttrLen, eap.AttrIdentity},
		{"AddFlag of a non-flag", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddFlag(eap.AttrRAND) }, nil, eap.AttrRAND},
		{"AddUint16 of a non-uint16", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddUint16(eap.AttrMAC, 1) }, nil, eap.AttrMAC},
		{"AddIdentityLike of AT_RES", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddIdentityLike(eap.AttrRES, nil) }, nil, eap.AttrRES},
		{"first error wins", eap.CodeRequest, eap.TypeAKA, func(b *eap.Builder) { b.AddRES(nil); b.AddCheckcode(make([]byte, 1)) }, eap.ErrAttrValue, eap.AttrRES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := eap.NewBuilder(nil, tt.code, 1, tt.typ, eap.SubtypeChallenge)
			tt.build(&b)
			pkt, off, err := b.Finish()
			if err == nil || pkt != nil || off != -1 {
				t.Fatalf("Finish = %x, %d, %v; want an error", pkt, off, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Finish error %v, want %v", err, tt.want)
			}
			var ae *eap.AttrError
			if tt.wantAttr != 0 && (!errors.As(err, &ae) || ae.Type != tt.wantAttr) {
				t.Fatalf("Finish error %v, want an *AttrError for %v", err, tt.wantAttr)
			}
		})
	}
	t.Run("zero builder", func(t *testing.T) {
		var b eap.Builder
		if _, _, err := b.Finish(); err == nil {
			t.Fatal("Finish of a zero Builder succeeded")
		}
	})
	t.Run("longest attributes fit", func(t *testing.T) {
		b := eap.NewBuilder(nil, eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeChallenge)
		b.AddIdentityLike(eap.AttrIdentity, make([]byte, 1016))
		b.AddEncrData(make([]byte, 1008))
		pkt, _, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eap.ParseAKA(pkt); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("appends after a prefix", func(t *testing.T) {
		prefix := []byte{0xaa, 0xbb}
		b := eap.NewBuilder(prefix, eap.CodeRequest, 1, eap.TypeAKA, eap.SubtypeChallenge)
		b.AddMAC()
		pkt, off, err := b.Finish()
		if err != nil || len(pkt) != 28 || off != 12 || pkt[0] != byte(eap.CodeRequest) {
			t.Fatalf("Finish = %x, %d, %v", pkt, off, err)
		}
	})
}

func TestAttrError_Message(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&eap.AttrError{Type: eap.AttrRAND, Err: eap.ErrAttrLen}, "eap: AT_RAND: invalid attribute length"},
		{&eap.AttrError{Type: 99, Err: eap.ErrNonSkippable}, "eap: attribute type 99: unknown non-skippable attribute"},
		{&eap.AttrError{Type: eap.AttrKDF}, "eap: AT_KDF: <nil>"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	// Error texts are constant and lower case (style guide §7.3).
	for _, err := range []error{eap.ErrShortPacket, eap.ErrLength, eap.ErrCode, eap.ErrType, eap.ErrShortAttr,
		eap.ErrAttrLen, eap.ErrNonSkippable, eap.ErrDuplicateAttr, eap.ErrAttrValue} {
		if msg := err.Error(); !strings.HasPrefix(msg, "eap: ") || strings.ToLower(msg) != msg {
			t.Errorf("error text %q", msg)
		}
	}
}

func TestSubtypeAttrTypeStrings(t *testing.T) {
	subtypes := map[eap.Subtype]string{
		eap.SubtypeChallenge:              "AKA-Challenge",
		eap.SubtypeAuthenticationReject:   "AKA-Authentication-Reject",
		eap.SubtypeSynchronizationFailure: "AKA-Synchronization-Failure",
		eap.SubtypeIdentity:               "AKA-Identity",
		eap.SubtypeNotification:           "AKA-Notification",
		eap.SubtypeReauthentication:       "AKA-Reauthentication",
		eap.SubtypeClientError:            "AKA-Client-Error",
		3:                                 "unknown",
	}
	for st, want := range subtypes {
		if got := st.String(); got != want {
			t.Errorf("Subtype(%d) = %q, want %q", st, got, want)
		}
	}
	seen := map[string]bool{}
	for _, at := range codecAllAttrs {
		name := at.String()
		if !strings.HasPrefix(name, "AT_") || seen[name] {
			t.Errorf("AttrType(%d) = %q", at, name)
		}
		seen[name] = true
	}
	for _, at := range []eap.AttrType{0, 5, 99, 127, 128, 131, 137, 255} {
		if got := at.String(); got != "unknown" {
			t.Errorf("AttrType(%d) = %q, want unknown", at, got)
		}
		var a eap.Attrs
		a.Present = ^uint64(0)
		if a.Has(at) {
			t.Errorf("Has(%d) true for an unknown type", at)
		}
	}
}

// codecBuildAKAPrimeChallenge builds the AKA' challenge request of the
// allocation test and the benchmarks.
func codecBuildAKAPrimeChallenge(buf []byte, rand, autn *[16]byte, checkcode []byte) ([]byte, int, error) {
	b := eap.NewBuilder(buf, eap.CodeRequest, 2, eap.TypeAKAPrime, eap.SubtypeChallenge)
	b.AddRAND(rand)
	b.AddAUTN(autn)
	b.AddIdentityLike(eap.AttrKDFInput, []byte("WLAN"))
	b.AddUint16(eap.AttrKDF, 1)
	b.AddCheckcode(checkcode)
	b.AddFlag(eap.AttrResultInd)
	b.AddMAC()
	return b.Finish()
}

// TestAKA_Allocs pins the performance contract of the package doc: parsing
// and building a Challenge allocate nothing.
func TestAKA_Allocs(t *testing.T) {
	chal := codecSeed(t, "akaprime-challenge-request")
	if n := testing.AllocsPerRun(100, func() {
		if _, err := eap.ParseAKA(chal); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseAKA of a challenge allocates %v times, want 0", n)
	}
	resp := codecSeed(t, "aka-challenge-response")
	if n := testing.AllocsPerRun(100, func() {
		if _, err := eap.ParseAKA(resp); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseAKA of a challenge response allocates %v times, want 0", n)
	}
	buf := make([]byte, 0, 512)
	var rand, autn [16]byte
	checkcode := make([]byte, 32)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := codecBuildAKAPrimeChallenge(buf[:0], &rand, &autn, checkcode); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("NewBuilder..Finish of a challenge allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		b := eap.NewBuilder(buf[:0], eap.CodeResponse, 2, eap.TypeAKA, eap.SubtypeChallenge)
		b.AddRES(checkcode[:5]) // padded
		b.AddIdentityLike(eap.AttrIdentity, checkcode[:7])
		b.AddMAC()
		if _, _, err := b.Finish(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("building padded attributes allocates %v times, want 0", n)
	}
}

// FuzzParseAKA checks that ParseAKA never panics and that every message it
// accepts survives a round trip: rebuilt from its parsed Attrs with the
// Builder and parsed again, it has the same header and attribute values
// (AT_PADDING and unknown skippable attributes are not rebuilt).
//
// Each input is tried twice: as a whole packet, and as the attribute list of
// a well-formed EAP-AKA' Challenge header with the right Length, so that the
// fuzzer spends its time inside the attribute parser rather than on headers.
func FuzzParseAKA(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add(codecHex(f, s.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		akaFuzzRoundTrip(t, b)
		if n := 8 + len(b); n <= 0xffff {
			hdr := []byte{byte(eap.CodeRequest), 1, byte(n >> 8), byte(n), byte(eap.TypeAKAPrime), byte(eap.SubtypeChallenge), 0, 0}
			akaFuzzRoundTrip(t, append(hdr, b...))
		}
	})
}

// akaFuzzRoundTrip is the property of FuzzParseAKA for one packet.
func akaFuzzRoundTrip(t *testing.T, b []byte) {
	// VerifyMAC never panics, whatever the offset.
	for _, off := range []int{len(b) - 16, len(b) - 20, 12} {
		eap.VerifyMAC(eap.TypeAKA, make([]byte, 16), b, off, nil)
		eap.VerifyMAC(eap.TypeAKAPrime, make([]byte, 32), b, off, nil)
	}
	m, err := eap.ParseAKA(b)
	if err != nil {
		var ae *eap.AttrError
		if errors.As(err, &ae) && ae.Err == nil {
			t.Fatalf("AttrError without a cause: %v", err)
		}
		return
	}
	a := &m.Attrs
	if a.Has(eap.AttrMAC) != (a.MACOffset >= 0) {
		t.Fatalf("Has(AT_MAC) %v with MACOffset %d", a.Has(eap.AttrMAC), a.MACOffset)
	}
	if a.Has(eap.AttrMAC) && !bytes.Equal(b[a.MACOffset:a.MACOffset+16], a.MAC) {
		t.Fatalf("MACOffset %d does not point at the MAC", a.MACOffset)
	}
	if a.Has(eap.AttrRES) && int(a.RESBits) != 8*len(a.RES) {
		t.Fatalf("RESBits %d for %d octets", a.RESBits, len(a.RES))
	}
	if a.Has(eap.AttrMAC) {
		// SetMAC then VerifyMAC agree on whatever the parser accepts, and
		// VerifyMAC of the original agrees with whether SetMAC changed it.
		key := make([]byte, 16)
		if m.Packet.Type == eap.TypeAKAPrime {
			key = make([]byte, 32)
		}
		c := append([]byte(nil), b...)
		eap.SetMAC(m.Packet.Type, key, c, a.MACOffset, b[:min(len(b), 16)])
		if !eap.VerifyMAC(m.Packet.Type, key, c, a.MACOffset, b[:min(len(b), 16)]) {
			t.Fatalf("VerifyMAC false after SetMAC on %x", b)
		}
		if eap.VerifyMAC(m.Packet.Type, key, b, a.MACOffset, b[:min(len(b), 16)]) != bytes.Equal(b, c) {
			t.Fatalf("VerifyMAC of %x disagrees with SetMAC", b)
		}
	}
	pkt, _, err := akaRebuild(&m, nil)
	if err != nil {
		t.Fatalf("rebuilding %x: %v", b, err)
	}
	m2, err := eap.ParseAKA(pkt)
	if err != nil {
		t.Fatalf("parsing rebuilt %x (from %x): %v", pkt, b, err)
	}
	if m2.Packet.Code != m.Packet.Code || m2.Packet.Identifier != m.Packet.Identifier ||
		m2.Packet.Type != m.Packet.Type || m2.Subtype != m.Subtype {
		t.Fatalf("header changed: %+v/%v -> %+v/%v", m.Packet, m.Subtype, m2.Packet, m2.Subtype)
	}
	if d := akaAttrsDiff(&m2.Attrs, a); d != "" {
		t.Fatalf("%s changed in the round trip of %x -> %x", d, b, pkt)
	}
	if d := akaHasDiff(&m2.Attrs, a, eap.AttrPadding); d != "" {
		t.Fatalf("presence of %s changed in the round trip of %x -> %x", d, b, pkt)
	}
}

func BenchmarkParseAKAChallenge(b *testing.B) {
	chal := codecSeed(b, "akaprime-challenge-request")
	b.ReportAllocs()
	b.SetBytes(int64(len(chal)))
	for b.Loop() {
		if _, err := eap.ParseAKA(chal); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildChallenge(b *testing.B) {
	buf := make([]byte, 0, 512)
	var rand, autn [16]byte
	checkcode := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := codecBuildAKAPrimeChallenge(buf[:0], &rand, &autn, checkcode); err != nil {
			b.Fatal(err)
		}
	}
}
