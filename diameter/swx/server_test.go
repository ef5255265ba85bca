package swx

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/aka"
)

// mar builds an MAR as a peer AAA server might, with what is given.
func mar(n *fakeNode, imsi, scheme, anid string, items uint32, sync []byte) *diam.Message {
	m := n.NewRequest(CmdMultimediaAuth, AppID, "example.org", "")
	appAVPs(m)
	if imsi != "" {
		m.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	}
	if anid != "" {
		m.AddAVP(diam.NewAVP(AVPANID, mv, Vendor3GPP, datatype.UTF8String(anid)))
	}
	if scheme != "-" {
		g := &diam.GroupedAVP{}
		if scheme != "" {
			g.AddAVP(diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(scheme)))
		}
		if sync != nil {
			g.AddAVP(diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, datatype.OctetString(sync)))
		}
		m.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, g))
	}
	if items != 0 {
		m.AddAVP(diam.NewAVP(AVPSIPNumberAuthItems, mv, Vendor3GPP, datatype.Unsigned32(items)))
	}
	return m
}

func sar(n *fakeNode, imsi string, typ int) *diam.Message {
	m := n.NewRequest(CmdServerAssignment, AppID, "example.org", "")
	appAVPs(m)
	if imsi != "" {
		m.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	}
	if typ >= 0 {
		m.AddAVP(diam.NewAVP(AVPServerAssignType, mv, Vendor3GPP, datatype.Enumerated(typ)))
	}
	return m
}

func TestServer_Answers(t *testing.T) {
	r := newRig(t, func(_ *ClientConfig, s *ServerConfig) { s.MaxVectors = 3 })
	for _, tc := range []struct {
		name         string
		req          *diam.Message
		code         uint32
		experimental bool
		failed       uint32
		items        int
	}{
		{"AKA'", mar(r.aaa, imsi1, SchemeEAPAKAPrime, wlan, 2, nil), ResultSuccess, false, 0, 2},
		{"AKA", mar(r.aaa, imsi1, SchemeEAPAKA, "", 1, nil), ResultSuccess, false, 0, 1},
		{"capped at MaxVectors", mar(r.aaa, imsi1, SchemeEAPAKA, "", 32, nil), ResultSuccess, false, 0, 3},
		{"no SIP-Number-Auth-Items", mar(r.aaa, imsi1, SchemeEAPAKA, "", 0, nil), ResultSuccess, false, 0, 1},
		{"MAR without User-Name", mar(r.aaa, "", SchemeEAPAKA, "", 1, nil), ResultMissingAVP, false, AVPUserName, 0},
		{"AKA' without ANID", mar(r.aaa, imsi1, SchemeEAPAKAPrime, "", 1, nil), ResultMissingAVP, false, AVPANID, 0},
		{"no SIP-Auth-Data-Item", mar(r.aaa, imsi1, "-", "", 1, nil), ResultMissingAVP, false, AVPSIPAuthDataItem, 0},
		{"no scheme", mar(r.aaa, imsi1, "", "", 1, nil), ResultMissingAVP, false, AVPSIPAuthDataItem, 0},
		{"other scheme", mar(r.aaa, imsi1, "Digest-AKAv1-MD5", "", 1, nil), ExpAuthSchemeNotSupported, true, 0, 0},
		{"short RAND||AUTS", mar(r.aaa, imsi1, SchemeEAPAKA, "", 1, make([]byte, 29)), ResultInvalidAVPValue, false, AVPSIPAuthDataItem, 0},
		{"unknown IMSI", mar(r.aaa, imsiX, SchemeEAPAKA, "", 1, nil), ExpUserUnknown, true, 0, 0},
		{"SAR without User-Name", sar(r.aaa, "", ServerAssignmentRegistration), ResultMissingAVP, false, AVPUserName, 0},
		{"SAR without type", sar(r.aaa, imsi1, -1), ResultMissingAVP, false, AVPServerAssignType, 0},
		{"SAR for an IMSI never authenticated", sar(r.aaa, imsi2, ServerAssignmentRegistration), ExpUserUnknown, true, 0, 0},
		{"SAR for an unknown IMSI", sar(r.aaa, imsiX, ServerAssignmentRegistration), ExpUserUnknown, true, 0, 0},
		{"SAR after an MAR", sar(r.aaa, imsi1, ServerAssignmentRegistration), ResultSuccess, false, 0, 0},
		{"SAR of another type", sar(r.aaa, imsi1, 99), ExpInAssignmentType, true, 0, 0},
		{"RTR to the HSS", rtr(r.aaa, imsi1), ResultCommandUnsupported, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := r.aaa.Request(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			checkAppAVPs(t, ans)
			code, vendor, ok := result(ans)
			if !ok || code != tc.code || (vendor != 0) != tc.experimental {
				t.Fatalf("result %d/%d, want %d", code, vendor, tc.code)
			}
			if tc.failed != 0 {
				checkError(t, ans, tc.code, tc.failed)
			}
			if tc.code == ResultCommandUnsupported && ans.Header.CommandFlags&diam.ErrorFlag == 0 {
				t.Error("no E bit")
			}
			if n := count(ans.AVP, AVPSIPAuthDataItem, Vendor3GPP); n != tc.items {
				t.Errorf("%d items, want %d", n, tc.items)
			}
			if tc.items > 0 {
				if v, _ := u32(find(ans.AVP, AVPSIPNumberAuthItems, Vendor3GPP)); int(v) != tc.items {
					t.Errorf("SIP-Number-Auth-Items %d", v)
				}
				vs, err := parseItems(ans, schemeOf(tc.req), find(tc.req.AVP, AVPANID, Vendor3GPP) != nil, 32)
				if err != nil || len(vs) != tc.items {
					t.Fatalf("items do not parse: %v", err)
				}
			}
		})
	}
	// A command it does not serve, unknown to the dictionary.
	checkError(t, r.server.ServeDiameter(ctx, r.aaa.NewRequest(399, AppID, "example.org", "")), ResultCommandUnsupported, 0)
}

func schemeOf(m *diam.Message) string {
	g, _ := grouped(find(m.AVP, AVPSIPAuthDataItem, Vendor3GPP))
	s, _ := str(find(g.AVP, AVPSIPAuthScheme, Vendor3GPP))
	return s
}

// AuC errors: the vector rate is DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE,
// which the client turns into a plain error (no answer to the peer).
func TestServer_VectorRate(t *testing.T) {
	r := newRig(t)
	r.auc.mu.Lock()
	r.auc.rateErr = true
	r.auc.mu.Unlock()
	ans, err := r.aaa.Request(ctx, mar(r.aaa, imsi1, SchemeEAPAKA, "", 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if code, vendor, _ := result(ans); code != ExpAuthenticationDataUnavailable || vendor != Vendor3GPP {
		t.Fatalf("%d/%d", code, vendor)
	}
	_, err = r.client.Vector(ctx, imsi1, "")
	if err == nil || errors.Is(err, aka.ErrUnknownSubscriber) || errors.Is(err, aka.ErrNotAuthorized) {
		t.Fatalf("%v, want a plain error", err)
	}
}

// The SAA carries the profile, and the SAR's Origin-Host is registered.
func TestServer_SARProfile(t *testing.T) {
	p := profiles{imsi1: {MSISDN: "15551230001", APNs: []string{"internet"}, APNsDisabled: true}}
	r := newRig(t, func(_ *ClientConfig, s *ServerConfig) { s.Profiles = p })
	ans, err := r.aaa.Request(ctx, sar(r.aaa, imsi1, ServerAssignmentRegistration))
	if err != nil {
		t.Fatal(err)
	}
	a := find(ans.AVP, AVPNon3GPPUserData, Vendor3GPP)
	if a == nil || a.Flags != avp.Mbit|avp.Vbit {
		t.Fatalf("Non-3GPP-User-Data %v", a)
	}
	u, err := decodeProfile(a)
	if err != nil {
		t.Fatal(err)
	}
	var got Profile
	u.apply(&got)
	if got.MSISDN != "15551230001" || !got.APNsDisabled || got.Barred || len(got.APNs) != 1 || got.APNs[0] != "internet" {
		t.Fatalf("%+v", got)
	}
	if h, realm, ok := r.server.Registration(imsi1); !ok || h != r.aaa.host || realm != r.aaa.realm {
		t.Fatalf("registered %q %q", h, realm)
	}
	// Deregistration drops it.
	if _, err := r.aaa.Request(ctx, sar(r.aaa, imsi1, ServerAssignmentUserDeregistration)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.server.Registration(imsi1); ok {
		t.Fatal("registration kept")
	}
	if _, err := r.server.Deregister(ctx, imsi1); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("%v", err)
	}
}

// A PPR with Non-3GPP-User-Data round-trips through Serialize and
// diam.ReadMessage once the dictionary is loaded; it may be loaded again.
func TestDictionary_PPRRoundTrip(t *testing.T) {
	if err := LoadDictionary(dict.Default); err != nil {
		t.Fatal("second load:", err)
	}
	fresh, err := dict.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := LoadDictionary(fresh); err != nil {
			t.Fatal(err)
		}
	}
	n := newNode("hss.example.org", "example.org")
	want := Profile{Barred: true, APNsDisabled: true, APNs: []string{"internet", "ims"}, MSISDN: "15551230001"}
	m := ppr(n, imsi1, &want, PPRFlagResetIndication)
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	got, err := diam.ReadMessage(bytes.NewReader(b), dict.Default)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.CommandCode != CmdPushProfile || got.Header.ApplicationID != AppID {
		t.Fatalf("header %v", got.Header)
	}
	a := find(got.AVP, AVPNon3GPPUserData, Vendor3GPP)
	if _, ok := a.Data.(*diam.GroupedAVP); !ok {
		t.Fatalf("Non-3GPP-User-Data decoded as %T", a.Data)
	}
	u, err := decodeProfile(a)
	if err != nil {
		t.Fatal(err)
	}
	var p Profile
	u.apply(&p)
	if p.Barred != want.Barred || p.APNsDisabled != want.APNsDisabled || p.MSISDN != want.MSISDN ||
		len(p.APNs) != 2 || p.APNs[0] != "internet" || p.APNs[1] != "ims" {
		t.Fatalf("%+v, want %+v", p, want)
	}
	f := find(got.AVP, AVPPPRFlags, Vendor3GPP)
	if v, ok := f.Data.(datatype.Unsigned32); !ok || uint32(v) != PPRFlagResetIndication || f.Flags != avp.Vbit {
		t.Fatalf("PPR-Flags %v", f)
	}
	// And the answer.
	c := newNode("aaa.example.org", "example.org")
	ans := experimental(c, got, ExpUserUnknown)
	if _, _, err := wire(ans); err != nil {
		t.Fatal("PPA:", err)
	}
}

// A malformed Non-3GPP-IP-Access (not 4 octets) must not read as ALLOWED.
func TestProfile_MalformedAccessIsNotAllowed(t *testing.T) {
	g := &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPNon3GPPIPAccess, mv, Vendor3GPP, datatype.OctetString("\x00\x01")),
	}}
	m := ppr(newNode("h", "r"), imsi1, nil, 0)
	m.AddAVP(diam.NewAVP(AVPNon3GPPUserData, mv, Vendor3GPP, g))
	got, _, err := wire(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeProfile(find(got.AVP, AVPNon3GPPUserData, Vendor3GPP)); err == nil {
		t.Fatal("a 2-octet Non-3GPP-IP-Access was accepted")
	}
	// An unknown value bars.
	g.AVP[0] = diam.NewAVP(AVPNon3GPPIPAccess, mv, Vendor3GPP, datatype.Enumerated(7))
	u, err := decodeProfile(diam.NewAVP(AVPNon3GPPUserData, mv, Vendor3GPP, g))
	if err != nil || !u.p.Barred {
		t.Fatalf("value 7: %v barred=%v", err, u.p.Barred)
	}
}

func TestNewServer_Config(t *testing.T) {
	_, hss := pair()
	if _, err := NewServer(hss, ServerConfig{}); err == nil {
		t.Error("no AuC accepted")
	}
	if _, err := NewServer(nil, ServerConfig{AuC: newAuC(t)}); err == nil {
		t.Error("no transport accepted")
	}
	if _, err := NewServer(hss, ServerConfig{AuC: newAuC(t), MaxVectors: 33}); err == nil {
		t.Error("33 vectors accepted")
	}
}

// RTR with an RTA that is not success keeps the registration.
func TestServer_DeregisterRefused(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.Vector(ctx, imsi1, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	r.hss.setPeer(handlerFunc(func(_ context.Context, m *diam.Message) *diam.Message {
		return answer(r.aaa, m, ResultUnableToComply)
	}))
	res, err := r.server.Deregister(context.Background(), imsi1)
	if err != nil || res.ResultCode != ResultUnableToComply {
		t.Fatalf("%+v %v", res, err)
	}
	if _, _, ok := r.server.Registration(imsi1); !ok {
		t.Error("registration dropped on a failed RTA")
	}
}
