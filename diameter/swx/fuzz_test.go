package swx

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/aka"
)

// wellFormed is a structural walk of a Diameter message, as the base
// package pre-validates frames: the header's length is the frame's, and
// every AVP, inside grouped AVPs too, has a header and a length that fit,
// and a value of the size its type has. go-diameter's ReadMessage panics
// on some frames that fail it (a grouped AVP whose value does not hold
// whole AVPs: DecodeGroupedFromBytes calls Len on an AVP whose Data is
// nil) and misreads others (a fixed-size value of another size advances by
// the type's size, not the AVP's), so the fuzz target skips them.
func wellFormed(b []byte, d *dict.Parser) bool {
	if len(b) < diam.HeaderLength || b[0] != 1 {
		return false
	}
	if l := int(b[1])<<16 | int(b[2])<<8 | int(b[3]); l != len(b) {
		return false
	}
	return walkAVPs(b[diam.HeaderLength:], binary.BigEndian.Uint32(b[8:12]), d, 0)
}

func walkAVPs(b []byte, app uint32, d *dict.Parser, depth int) bool {
	if depth > 16 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 8 {
			return false
		}
		code := binary.BigEndian.Uint32(b[0:4])
		l := int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		h := 8
		var vendor uint32
		if b[4]&0x80 != 0 {
			h = 12
			if len(b) < 12 {
				return false
			}
			vendor = binary.BigEndian.Uint32(b[8:12])
		}
		if l < h || l > len(b) {
			return false
		}
		v := b[h:l]
		a, _ := d.FindAVPByCode(app, code, vendor)
		if a == nil {
			return false
		}
		switch a.Data.Type {
		case datatype.GroupedType:
			if !walkAVPs(v, app, d, depth+1) {
				return false
			}
		case datatype.Unsigned32Type, datatype.Integer32Type, datatype.EnumeratedType,
			datatype.Float32Type, datatype.TimeType, datatype.IPv4Type:
			if len(v) != 4 {
				return false
			}
		case datatype.Unsigned64Type, datatype.Integer64Type, datatype.Float64Type:
			if len(v) != 8 {
				return false
			}
		case datatype.IPv6Type:
			if len(v) != 16 {
				return false
			}
		case datatype.AddressType:
			if !(len(v) == 6 && v[0] == 0 && v[1] == 1) && !(len(v) == 18 && v[0] == 0 && v[1] == 2) {
				return false
			}
		}
		next := (l + 3) &^ 3
		if next > len(b) {
			// The last AVP may lack its padding; go-diameter advances
			// past the end, which ends its loop.
			next = len(b)
		}
		b = b[next:]
	}
	return true
}

// fuzzSeeds are real SWx requests: MARs (EAP-AKA', EAP-AKA,
// resynchronisation), SARs (registration, deregistration), an RTR and PPRs,
// as the client and server send them.
func fuzzSeeds(t testing.TB) [][]byte {
	aaa, hss := pair()
	auc := newAuC(t, imsi1)
	c, err := NewClient(aaa, ClientConfig{DestinationRealm: hss.realm, VectorsPerRequest: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := NewServer(hss, ServerConfig{AuC: auc})
	if err != nil {
		t.Fatal(err)
	}
	aaa.setPeer(s)
	hss.setPeer(c)
	ctx := context.Background()
	v, err := c.Vector(ctx, imsi1, wlan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Vector(ctx, imsi1, ""); err != nil {
		t.Fatal(err)
	}
	auts := makeAUTS(t, &v.RAND, aka.MakeSQN(100, 1, bits))
	if _, err := c.Resync(ctx, imsi1, wlan, &v.RAND, &auts); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	if err := c.Deregister(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deregister(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Profile{{MSISDN: "15551230001", APNs: []string{"internet"}}, {Barred: true}} {
		if _, err := hss.Request(ctx, ppr(hss, imsi1, p, PPRFlagResetIndication)); err != nil {
			t.Fatal(err)
		}
	}
	seeds := append(append([][]byte(nil), aaa.wires...), hss.wires...)
	if len(seeds) < 9 {
		t.Fatalf("%d seeds", len(seeds))
	}
	return seeds
}

// FuzzServeDiameter: whatever go-diameter decodes, neither side panics on
// it, and a request gets an answer with its hop-by-hop id.
func FuzzServeDiameter(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	aaa, hss := pair()
	c, err := NewClient(aaa, ClientConfig{DestinationRealm: hss.realm})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	srv, err := NewServer(hss, ServerConfig{AuC: newAuC(f, imsi1, imsi2)})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		if !wellFormed(b, dict.Default) {
			return
		}
		m, err := diam.ReadMessage(bytes.NewReader(b), dict.Default)
		if err != nil {
			return
		}
		for _, h := range []handler{c, srv} {
			ans := h.ServeDiameter(ctx, m)
			if !isRequest(m) {
				if ans != nil {
					t.Fatal("an answer was answered")
				}
				continue
			}
			if ans == nil {
				t.Fatal("a request got no answer")
			}
			if ans.Header.HopByHopID != m.Header.HopByHopID || ans.Header.CommandFlags&diam.RequestFlag != 0 {
				t.Fatal("answer header")
			}
			if _, err := ans.Serialize(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The walk refuses the frames on which go-diameter's decoder panics: a
// grouped AVP (here Vendor-Specific-Application-Id) whose value is 4 octets
// that are no AVP.
func TestWellFormed_RefusesGroupedGarbage(t *testing.T) {
	n := newNode("h", "r")
	m := n.NewRequest(CmdPushProfile, AppID, "r", "")
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if !wellFormed(b, dict.Default) {
		t.Fatal("a good frame refused")
	}
	bad := grouped4(b)
	if wellFormed(bad, dict.Default) {
		t.Fatal("grouped garbage accepted")
	}
}

// grouped4 appends to the frame b a Vendor-Specific-Application-Id (260,
// grouped) holding 4 octets.
func grouped4(b []byte) []byte {
	out := append([]byte(nil), b...)
	out = append(out, 0, 0, 1, 4, 0x40, 0, 0, 12, 0xde, 0xad, 0xbe, 0xef)
	l := len(out)
	out[1], out[2], out[3] = byte(l>>16), byte(l>>8), byte(l)
	return out
}
