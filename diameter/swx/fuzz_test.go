package swx

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/diameter"
)

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
	// The base's read path: header bounds, the AVP walk, go-diameter's
	// decoding, as a connection does before a handler sees anything.
	base, err := diameter.NewNode(diameter.Config{OriginHost: "hss.test", OriginRealm: "test"},
		[]diameter.App{{ID: AppID, Vendor: Vendor3GPP}}, dict.Default, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := base.Decode(b)
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

// The base refuses the frames on which go-diameter's decoder panics: a
// grouped AVP (here Vendor-Specific-Application-Id) whose value is 4 octets
// that are no AVP.
func TestDecodeRefusesGroupedGarbage(t *testing.T) {
	base, err := diameter.NewNode(diameter.Config{OriginHost: "hss.test", OriginRealm: "test"},
		[]diameter.App{{ID: AppID, Vendor: Vendor3GPP}}, dict.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hex.DecodeString("01000020c0000130010000310000000100000001000001044000000cdeadbeef")
	if _, err := base.Decode(b); err == nil {
		t.Fatal("a grouped AVP holding garbage was decoded")
	}
	for _, h := range []string{
		"0100001cc000013001000031000000010000000100000001400000ff", // AVP longer than the frame
		"0100001cc00001300100003100000001000000010000000140000004", // AVP length under 8
	} {
		b, _ := hex.DecodeString(h)
		if _, err := base.Decode(b); err == nil {
			t.Errorf("%s decoded", h)
		}
	}
}
