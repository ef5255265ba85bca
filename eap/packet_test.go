package eap_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// codecHex decodes a hex literal of a test table.
func codecHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestParsePacket_Accepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want eap.Packet
	}{
		{"success", "03070004", eap.Packet{Code: eap.CodeSuccess, Identifier: 7}},
		{"failure", "04ff0004", eap.Packet{Code: eap.CodeFailure, Identifier: 255}},
		// RFC 3748 §4.1: octets beyond Length are lower-layer padding.
		{"success with padding beyond length", "030700040000", eap.Packet{Code: eap.CodeSuccess, Identifier: 7}},
		{"identity request, no data", "0101000501", eap.Packet{Code: eap.CodeRequest, Identifier: 1, Type: eap.TypeIdentity, Data: []byte{}}},
		{"identity response", "020100090161626364", eap.Packet{Code: eap.CodeResponse, Identifier: 1, Type: eap.TypeIdentity, Data: []byte("abcd")}},
		{"nak with padding beyond length", "0209000603320000", eap.Packet{Code: eap.CodeResponse, Identifier: 9, Type: eap.TypeNak, Data: []byte{byte(eap.TypeAKAPrime)}}},
		// Unknown types are for the state machine (it answers with a Nak
		// or drops), not a header error.
		{"unknown type", "01010006fe00", eap.Packet{Code: eap.CodeRequest, Identifier: 1, Type: 254, Data: []byte{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := codecHex(t, tt.in)
			got, err := eap.ParsePacket(in)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if got.Code != tt.want.Code || got.Identifier != tt.want.Identifier || got.Type != tt.want.Type ||
				!bytes.Equal(got.Data, tt.want.Data) || (got.Data == nil) != (tt.want.Data == nil) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.Data != nil && cap(got.Data) != len(got.Data) {
				t.Errorf("Data capacity %d exceeds its length %d: appending would overwrite the input", cap(got.Data), len(got.Data))
			}
		})
	}
}

func TestParsePacket_Rejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", eap.ErrShortPacket},
		{"truncated header", "010100", eap.ErrShortPacket},
		{"length < 4", "03010003", eap.ErrLength},
		{"length 0", "03010000", eap.ErrLength},
		{"length > len", "0101000601", eap.ErrLength},
		{"success with extra bytes", "0301000500", eap.ErrLength},
		{"failure with extra bytes", "0401000800000000", eap.ErrLength},
		{"request without type", "01010004", eap.ErrLength},
		{"response without type", "02010004", eap.ErrLength},
		{"code 0", "00010004", eap.ErrCode},
		{"code 5 (ERP initiate) unsupported", "0501000500", eap.ErrCode},
		{"code 255", "ff010004", eap.ErrCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := codecHex(t, tt.in)
			if _, err := eap.ParsePacket(in); !errors.Is(err, tt.want) {
				t.Fatalf("ParsePacket(%s) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestAppendPackets(t *testing.T) {
	prefix := []byte{0xaa}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"success", eap.AppendSuccess(nil, 3), "03030004"},
		{"failure", eap.AppendFailure(nil, 4), "04040004"},
		{"identity request", eap.AppendRequest(nil, 1, eap.TypeIdentity, nil), "0101000501"},
		{"identity response", eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("abcd")), "020100090161626364"},
		{"appends after prefix", eap.AppendSuccess(prefix[:1:1], 3), "aa03030004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.got); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAppendRequest_PanicsWhenTooLong(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 65531 octets of type-data")
		}
	}()
	eap.AppendRequest(nil, 1, eap.TypeIdentity, make([]byte, 65531))
}

func TestAppendRequest_LongestFits(t *testing.T) {
	pkt := eap.AppendRequest(nil, 1, eap.TypeIdentity, make([]byte, 65530))
	p, err := eap.ParsePacket(pkt)
	if err != nil || len(p.Data) != 65530 {
		t.Fatalf("ParsePacket: %v, %d octets", err, len(p.Data))
	}
}

func TestParsePacket_Allocs(t *testing.T) {
	in := codecHex(t, "020100090161626364")
	if n := testing.AllocsPerRun(100, func() {
		if _, err := eap.ParsePacket(in); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("ParsePacket allocates %v times, want 0", n)
	}
}

func TestCodeTypeStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{eap.CodeRequest.String(), "Request"},
		{eap.CodeResponse.String(), "Response"},
		{eap.CodeSuccess.String(), "Success"},
		{eap.CodeFailure.String(), "Failure"},
		{eap.Code(9).String(), "unknown"},
		{eap.TypeIdentity.String(), "Identity"},
		{eap.TypeNotification.String(), "Notification"},
		{eap.TypeNak.String(), "Nak"},
		{eap.TypeAKA.String(), "AKA"},
		{eap.TypeAKAPrime.String(), "AKA'"},
		{eap.Type(4).String(), "unknown"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

// TestCodecNoFmt keeps fmt, reflect and math/rand out of the codec, as
// dnsmessage's TestNoFmt does: the codec is on the per-packet path and must
// not format or reflect (style guide §1.2, §8).
func TestCodecNoFmt(t *testing.T) {
	forbidden := map[string]bool{"fmt": true, "reflect": true, "math/rand": true, "math/rand/v2": true}
	for _, file := range []string{"packet.go", "attr.go", "mac.go", "doc.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if forbidden[path] {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}

// FuzzParsePacket checks that ParsePacket never panics and that whatever it
// accepts is rebuilt octet for octet (up to the Length field) by the Append
// functions.
func FuzzParsePacket(f *testing.F) {
	for _, s := range []string{
		"03070004", "04ff0004", "030700040000", "0101000501", "020100090161626364",
		"0209000603320000", "0101000601", "03010003", "0501000500",
	} {
		f.Add(codecHex(f, s))
	}
	for _, s := range codecSeeds {
		f.Add(codecHex(f, s.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := eap.ParsePacket(b)
		if err != nil {
			return
		}
		n := int(b[2])<<8 | int(b[3])
		var re []byte
		switch p.Code {
		case eap.CodeRequest:
			re = eap.AppendRequest(nil, p.Identifier, p.Type, p.Data)
		case eap.CodeResponse:
			re = eap.AppendResponse(nil, p.Identifier, p.Type, p.Data)
		case eap.CodeSuccess:
			re = eap.AppendSuccess(nil, p.Identifier)
		case eap.CodeFailure:
			re = eap.AppendFailure(nil, p.Identifier)
		default:
			t.Fatalf("accepted code %d", p.Code)
		}
		if !bytes.Equal(re, b[:n]) {
			t.Fatalf("rebuilt %x, input %x", re, b[:n])
		}
	})
}
