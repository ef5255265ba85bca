package swx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/aaa-project/aaa/aka"
)

var ctx = context.Background()

// The MAR carries what TS 29.273 8.2.2.1 asks, with the right flags, and
// the AKA' vector comes back Prime with CK'/IK' as TS 33.402 A.2 gives them
// for its RAND: the client does not derive again.
func TestVector_AKAPrimeIsPrimeAndNotRederived(t *testing.T) {
	r := newRig(t)
	v, err := r.client.Vector(ctx, imsi1, wlan)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Prime {
		t.Fatal("EAP-AKA' vector not Prime")
	}
	if v.AUTN[6]&0x80 == 0 {
		t.Error("AMF separation bit not set")
	}
	_, ck, ik, _ := cipher(t).F2345(&v.RAND)
	ckp, ikp := aka.DeriveCKIKPrime(&ck, &ik, []byte(wlan), v.SQNxorAK())
	if ckp != v.CK || ikp != v.IK {
		t.Fatal("CK'/IK' are not TS 33.402 A.2 of this vector's CK/IK")
	}
	// What ToPrime on the plain vector gives, once.
	plain := aka.Vector{RAND: v.RAND, AUTN: v.AUTN, CK: ck, IK: ik}
	if err := plain.ToPrime([]byte(wlan)); err != nil || plain.CK != v.CK || plain.IK != v.IK {
		t.Fatal("vector differs from ToPrime of the plain one")
	}
	if err := v.ToPrime([]byte(wlan)); !errors.Is(err, aka.ErrAlreadyPrime) {
		t.Fatalf("ToPrime on the SWx vector: %v, want ErrAlreadyPrime", err)
	}
	res, _, _, _ := cipher(t).F2345(&v.RAND)
	if string(v.Res()) != string(res[:]) {
		t.Error("XRES differs")
	}

	mar := r.aaa.last(CmdMultimediaAuth)
	if mar == nil {
		t.Fatal("no MAR")
	}
	if mar.Header.ApplicationID != AppID || mar.Header.CommandFlags&diam.ProxiableFlag == 0 {
		t.Error("MAR header: application or P bit")
	}
	checkAppAVPs(t, mar)
	for _, c := range []struct {
		code, vendor uint32
		flags        uint8
		want         string
	}{
		{AVPUserName, 0, avp.Mbit, imsi1},
		{AVPANID, Vendor3GPP, avp.Mbit | avp.Vbit, wlan},
	} {
		a := find(mar.AVP, c.code, c.vendor)
		if a == nil || a.Flags != c.flags {
			t.Errorf("AVP %d: %v, want flags %#x", c.code, a, c.flags)
			continue
		}
		if s, _ := str(a); s != c.want {
			t.Errorf("AVP %d = %q, want %q", c.code, s, c.want)
		}
	}
	if a := find(mar.AVP, AVPRATType, Vendor3GPP); a == nil || a.Flags != avp.Vbit {
		t.Errorf("RAT-Type %v: want V only", a)
	} else if v, _ := u32(a); v != RATTypeWLAN {
		t.Errorf("RAT-Type %d", v)
	}
	if a := find(mar.AVP, AVPSIPNumberAuthItems, Vendor3GPP); a == nil || a.Flags != avp.Mbit|avp.Vbit {
		t.Error("SIP-Number-Auth-Items missing or flags")
	} else if n, _ := u32(a); n != 4 {
		t.Errorf("SIP-Number-Auth-Items %d, want 4", n)
	}
	item, ok := grouped(find(mar.AVP, AVPSIPAuthDataItem, Vendor3GPP))
	if !ok {
		t.Fatal("no SIP-Auth-Data-Item")
	}
	if s, _ := str(find(item.AVP, AVPSIPAuthScheme, Vendor3GPP)); s != SchemeEAPAKAPrime {
		t.Errorf("scheme %q", s)
	}
	if find(item.AVP, AVPSIPAuthorization, Vendor3GPP) != nil {
		t.Error("SIP-Authorization without a resynchronisation")
	}
}

func checkAppAVPs(t *testing.T, m *diam.Message) {
	t.Helper()
	g, ok := grouped(find(m.AVP, AVPVendorSpecificApplicationID, 0))
	if !ok {
		t.Fatal("no Vendor-Specific-Application-Id")
	}
	if v, _ := u32(find(g.AVP, AVPVendorID, 0)); v != Vendor3GPP {
		t.Errorf("Vendor-Id %d", v)
	}
	if v, _ := u32(find(g.AVP, AVPAuthApplicationID, 0)); v != AppID {
		t.Errorf("Auth-Application-Id %d", v)
	}
	if v, _ := u32(find(m.AVP, AVPAuthSessionState, 0)); v != AuthSessionStateNoStateMaintained {
		t.Errorf("Auth-Session-State %d", v)
	}
}

func TestVector_AKAIsPlain(t *testing.T) {
	r := newRig(t)
	v, err := r.client.Vector(ctx, imsi1, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Prime {
		t.Fatal("EAP-AKA vector marked Prime")
	}
	_, ck, ik, _ := cipher(t).F2345(&v.RAND)
	if ck != v.CK || ik != v.IK {
		t.Fatal("CK/IK differ")
	}
	item, _ := grouped(find(r.aaa.last(CmdMultimediaAuth).AVP, AVPSIPAuthDataItem, Vendor3GPP))
	if s, _ := str(find(item.AVP, AVPSIPAuthScheme, Vendor3GPP)); s != SchemeEAPAKA {
		t.Errorf("scheme %q", s)
	}
	if find(r.aaa.last(CmdMultimediaAuth).AVP, AVPANID, Vendor3GPP) != nil {
		t.Error("ANID for EAP-AKA")
	}
}

// One MAR brings VectorsPerRequest vectors; the next calls get the spares,
// oldest (lowest SQN) first, per network name.
func TestVector_SparesServeTheNextCalls(t *testing.T) {
	for _, per := range []int{1, 3, 4} {
		t.Run(fmt.Sprint(per), func(t *testing.T) {
			r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.VectorsPerRequest = per })
			var last aka.SQN
			const calls = 9
			for i := range calls {
				v, err := r.client.Vector(ctx, imsi1, wlan)
				if err != nil {
					t.Fatal(err)
				}
				sqn := recoverSQN(t, &v)
				if i > 0 && sqn.SEQ(bits) <= last.SEQ(bits) {
					t.Fatalf("call %d: SEQ %d after %d", i, sqn.SEQ(bits), last.SEQ(bits))
				}
				last = sqn
			}
			wantMARs := (calls + per - 1) / per
			if got := r.aaa.count(CmdMultimediaAuth); got != wantMARs {
				t.Errorf("%d MARs, want %d", got, wantMARs)
			}
			st := r.client.Stats()
			if st.SparesUsed != uint64(calls-wantMARs) || st.MARSent != uint64(wantMARs) {
				t.Errorf("stats %+v", st)
			}
			// Spares for WLAN are not EAP-AKA vectors.
			if per > 1 {
				before := r.aaa.count(CmdMultimediaAuth)
				if v, err := r.client.Vector(ctx, imsi1, ""); err != nil || v.Prime {
					t.Fatalf("EAP-AKA after AKA' spares: %v prime=%v", err, v.Prime)
				}
				if r.aaa.count(CmdMultimediaAuth) != before+1 {
					t.Error("EAP-AKA vector came from an AKA' spare")
				}
			}
		})
	}
}

func TestVector_SparesExpire(t *testing.T) {
	r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.SpareLifetime = time.Minute })
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil || r.aaa.count(CmdMultimediaAuth) != 1 {
		t.Fatalf("spare not used: %v", err)
	}
	r.clock.Advance(time.Minute)
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if r.aaa.count(CmdMultimediaAuth) != 2 {
		t.Error("expired spare used")
	}
	if st := r.client.Stats(); st.SparesExpired != 2 {
		t.Errorf("SparesExpired %d, want 2", st.SparesExpired)
	}
}

// Past MaxSpareSubscribers the least recently used subscriber's spares go,
// cleared.
func TestVector_SpareSubscribersBounded(t *testing.T) {
	r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.MaxSpareSubscribers = 2 })
	for _, imsi := range []string{imsi1, imsi2, imsi3} {
		if _, err := r.client.Vector(ctx, imsi, wlan); err != nil {
			t.Fatal(err)
		}
	}
	r.client.mu.Lock()
	n, has1 := len(r.client.subs), r.client.subs[imsi1] != nil
	r.client.mu.Unlock()
	if n != 2 || has1 {
		t.Fatalf("%d subscribers kept (first kept: %v)", n, has1)
	}
	if st := r.client.Stats(); st.SparesDropped != 3 {
		t.Errorf("SparesDropped %d, want 3", st.SparesDropped)
	}
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil || r.aaa.count(CmdMultimediaAuth) != 4 {
		t.Fatalf("evicted subscriber: %v, %d MARs", err, r.aaa.count(CmdMultimediaAuth))
	}
}

// A resynchronisation is an MAR with RAND || AUTS that brings one vector
// past the USIM's SQN; it drops the spares, whose SQNs the USIM passed.
func TestResync_VectorPastUSIMAndSparesDropped(t *testing.T) {
	for _, nn := range []string{wlan, ""} {
		t.Run("nn="+nn, func(t *testing.T) {
			r := newRig(t)
			v, err := r.client.Vector(ctx, imsi1, nn)
			if err != nil {
				t.Fatal(err)
			}
			usim := aka.MakeSQN(1000, 7, bits)
			auts := makeAUTS(t, &v.RAND, usim)
			v2, err := r.client.Resync(ctx, imsi1, nn, &v.RAND, &auts)
			if err != nil {
				t.Fatal(err)
			}
			if got := recoverSQN(t, &v2); got.SEQ(bits) <= usim.SEQ(bits) {
				t.Fatalf("SEQ %d after resync, want above the USIM's %d", got.SEQ(bits), usim.SEQ(bits))
			}
			if v2.Prime != (nn != "") {
				t.Error("Prime wrong after resync")
			}
			mar := r.aaa.last(CmdMultimediaAuth)
			item, _ := grouped(find(mar.AVP, AVPSIPAuthDataItem, Vendor3GPP))
			sync, _ := octets(find(item.AVP, AVPSIPAuthorization, Vendor3GPP))
			if len(sync) != 30 || string(sync[:16]) != string(v.RAND[:]) || string(sync[16:]) != string(auts[:]) {
				t.Fatalf("SIP-Authorization is not RAND || AUTS (%d octets)", len(sync))
			}
			if n, _ := u32(find(mar.AVP, AVPSIPNumberAuthItems, Vendor3GPP)); n != 1 {
				t.Errorf("resync asks %d vectors", n)
			}
			if st := r.client.Stats(); st.SparesDropped != 3 {
				t.Errorf("SparesDropped %d, want 3", st.SparesDropped)
			}
			// The next vector is a new MAR, past the resynchronised one.
			v3, err := r.client.Vector(ctx, imsi1, nn)
			if err != nil {
				t.Fatal(err)
			}
			if r.aaa.count(CmdMultimediaAuth) != 3 {
				t.Errorf("%d MARs, want 3: a pre-resync spare was used", r.aaa.count(CmdMultimediaAuth))
			}
			if recoverSQN(t, &v3).SEQ(bits) <= usim.SEQ(bits) {
				t.Error("vector after resync not past the USIM")
			}
		})
	}
}

// Spares from an MAR sent before a resynchronisation are refused when they
// arrive after it.
func TestResync_LateSparesRefused(t *testing.T) {
	r := newRig(t)
	var resynced bool
	r.aaa.setPeer(handlerFunc(func(c context.Context, m *diam.Message) *diam.Message {
		if !resynced {
			resynced = true
			// While this MAR is in flight, the USIM resynchronises.
			seed, err := r.auc.Vector(c, imsi1, wlan)
			if err != nil {
				t.Error(err)
				return nil
			}
			auts := makeAUTS(t, &seed.RAND, aka.MakeSQN(500, 0, bits))
			r.aaa.setPeer(r.server)
			if _, err := r.client.Resync(c, imsi1, wlan, &seed.RAND, &auts); err != nil {
				t.Error(err)
			}
		}
		return r.server.ServeDiameter(c, m)
	}))
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	before := r.aaa.count(CmdMultimediaAuth)
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if r.aaa.count(CmdMultimediaAuth) != before+1 {
		t.Error("a spare from before the resynchronisation was kept")
	}
}

// A forged AUTS: TS 33.102 6.3.5, the HSS does not reset its SQN and sends
// a vector all the same; it is not past the USIM's SQN, and the HSS's SQN
// did not jump.
func TestResync_ForgedAUTS(t *testing.T) {
	r := newRig(t)
	v, err := r.client.Vector(ctx, imsi1, wlan)
	if err != nil {
		t.Fatal(err)
	}
	usim := aka.MakeSQN(1<<20, 0, bits)
	auts := makeAUTS(t, &v.RAND, usim)
	auts[13] ^= 1
	v2, err := r.client.Resync(ctx, imsi1, wlan, &v.RAND, &auts)
	if err != nil {
		t.Fatalf("resync with a forged AUTS: %v, want a vector (TS 33.102 6.3.5)", err)
	}
	if recoverSQN(t, &v2).SEQ(bits) >= usim.SEQ(bits) {
		t.Fatal("a forged AUTS moved the SQN")
	}
	if r.server.Stats().AUTSInvalid != 1 {
		t.Error("AUTSInvalid not counted")
	}
}

func TestUnknownIMSI(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.Vector(ctx, imsiX, wlan); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("Vector: %v, want ErrUnknownSubscriber", err)
	}
	var a [16]byte
	var b [14]byte
	if _, err := r.client.Resync(ctx, imsiX, "", &a, &b); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("Resync: %v, want ErrUnknownSubscriber", err)
	}
	if err := r.client.Register(ctx, imsiX); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("Register: %v, want ErrUnknownSubscriber", err)
	}
	if st := r.client.Stats(); st.MAAUnknownSubscriber != 2 || st.SAAUnknownSubscriber != 1 {
		t.Errorf("stats %+v", st)
	}
}

// What each answer means to the EAP layer: the subscriber refused
// (sentinels) or no answer (a plain error).
func TestMAA_ResultMapping(t *testing.T) {
	for _, tc := range []struct {
		name         string
		code         uint32
		experimental bool
		want         error // nil: neither sentinel
	}{
		{"user unknown", ExpUserUnknown, true, aka.ErrUnknownSubscriber},
		{"no non-3GPP subscription", ExpUserNoNon3GPPSubscription, true, aka.ErrNotAuthorized},
		{"roaming not allowed", ExpRoamingNotAllowed, true, aka.ErrNotAuthorized},
		{"auth scheme not supported", ExpAuthSchemeNotSupported, true, aka.ErrNotAuthorized},
		{"RAT type not allowed", ExpRATTypeNotAllowed, true, aka.ErrNotAuthorized},
		{"RAT not allowed (S6a)", ExpRATNotAllowed, true, aka.ErrNotAuthorized},
		{"authorization rejected", ResultAuthorizationRejected, false, aka.ErrNotAuthorized},
		{"authentication data unavailable", ExpAuthenticationDataUnavailable, true, nil},
		{"unable to comply", ResultUnableToComply, false, nil},
		{"unable to deliver", 3002, false, nil},
		{"identity not registered", ExpIdentityNotRegistered, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.aaa.setPeer(handlerFunc(func(_ context.Context, m *diam.Message) *diam.Message {
				if tc.experimental {
					return experimental(r.hss, m, tc.code)
				}
				return answer(r.hss, m, tc.code)
			}))
			_, err := r.client.Vector(ctx, imsi1, wlan)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if tc.want == nil && (errors.Is(err, aka.ErrUnknownSubscriber) || errors.Is(err, aka.ErrNotAuthorized) || errors.Is(err, aka.ErrAUTSInvalid)) {
				t.Fatalf("%v: a clean reject for a code that is not one", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tc.code)) {
				t.Errorf("%q does not name the code", err)
			}
			var re *ResultError
			if !errors.As(err, &re) || re.Code != tc.code || (re.Vendor != 0) != tc.experimental {
				t.Errorf("ResultError %+v", re)
			}
		})
	}
}

// A malformed SIP-Auth-Data-Item refuses the whole answer, with an error.
func TestMAA_MalformedItems(t *testing.T) {
	key := func(n int) datatype.Type { return datatype.OctetString(strings.Repeat("k", n)) }
	good := func() []*diam.AVP {
		return []*diam.AVP{
			diam.NewAVP(AVPSIPItemNumber, mv, Vendor3GPP, datatype.Unsigned32(1)),
			diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(SchemeEAPAKAPrime)),
			diam.NewAVP(AVPSIPAuthenticate, mv, Vendor3GPP, key(32)),
			diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, key(8)),
			diam.NewAVP(AVPConfidentialityKey, mv, Vendor3GPP, key(16)),
			diam.NewAVP(AVPIntegrityKey, mv, Vendor3GPP, key(16)),
		}
	}
	with := func(code uint32, v datatype.Type) []*diam.AVP {
		out := good()
		for i, a := range out {
			if a.Code == code {
				if v == nil {
					return append(out[:i], out[i+1:]...)
				}
				out[i] = diam.NewAVP(code, mv, Vendor3GPP, v)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		items [][]*diam.AVP
		ok    bool
	}{
		{"good", [][]*diam.AVP{good()}, true},
		{"no item", nil, false},
		{"short RAND||AUTN", [][]*diam.AVP{with(AVPSIPAuthenticate, key(31))}, false},
		{"long RAND||AUTN", [][]*diam.AVP{with(AVPSIPAuthenticate, key(33))}, false},
		{"no SIP-Authenticate", [][]*diam.AVP{with(AVPSIPAuthenticate, nil)}, false},
		{"XRES 3 octets", [][]*diam.AVP{with(AVPSIPAuthorization, key(3))}, false},
		{"XRES 17 octets", [][]*diam.AVP{with(AVPSIPAuthorization, key(17))}, false},
		{"XRES 4 octets", [][]*diam.AVP{with(AVPSIPAuthorization, key(4))}, true},
		{"CK 15 octets", [][]*diam.AVP{with(AVPConfidentialityKey, key(15))}, false},
		{"IK 17 octets", [][]*diam.AVP{with(AVPIntegrityKey, key(17))}, false},
		{"no IK", [][]*diam.AVP{with(AVPIntegrityKey, nil)}, false},
		{"other scheme", [][]*diam.AVP{with(AVPSIPAuthScheme, datatype.UTF8String(SchemeEAPAKA))}, false},
		{"repeated key", [][]*diam.AVP{append(good(), diam.NewAVP(AVPIntegrityKey, mv, Vendor3GPP, key(16)))}, false},
		{"second item bad", [][]*diam.AVP{good(), with(AVPConfidentialityKey, key(0))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.aaa.setPeer(handlerFunc(func(_ context.Context, m *diam.Message) *diam.Message {
				a := answer(r.hss, m, ResultSuccess)
				a.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi1)))
				for _, it := range tc.items {
					a.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: it}))
				}
				return a
			}))
			v, err := r.client.Vector(ctx, imsi1, wlan)
			if tc.ok {
				if err != nil || !v.Prime {
					t.Fatalf("%v prime=%v", err, v.Prime)
				}
				return
			}
			if err == nil {
				t.Fatal("malformed item accepted")
			}
			if v != (aka.Vector{}) {
				t.Error("a vector with the error")
			}
			if strings.Contains(err.Error(), "kkkk") {
				t.Error("the error shows key material")
			}
			if r.client.Stats().MAAMalformed != 1 {
				t.Error("MAAMalformed not counted")
			}
		})
	}
}

// Items are used in SIP-Item-Number order.
func TestMAA_ItemNumberOrder(t *testing.T) {
	r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.VectorsPerRequest = 3 })
	r.aaa.setPeer(handlerFunc(func(_ context.Context, m *diam.Message) *diam.Message {
		a := answer(r.hss, m, ResultSuccess)
		for _, n := range []uint32{3, 1, 2} {
			auth := strings.Repeat(string(rune('a'+n)), 32)
			a.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
				diam.NewAVP(AVPSIPItemNumber, mv, Vendor3GPP, datatype.Unsigned32(n)),
				diam.NewAVP(AVPSIPAuthenticate, mv, Vendor3GPP, datatype.OctetString(auth)),
				diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, datatype.OctetString("12345678")),
				diam.NewAVP(AVPConfidentialityKey, mv, Vendor3GPP, datatype.OctetString(strings.Repeat("c", 16))),
				diam.NewAVP(AVPIntegrityKey, mv, Vendor3GPP, datatype.OctetString(strings.Repeat("i", 16))),
			}}))
		}
		return a
	}))
	for _, want := range []byte{'b', 'c', 'd'} {
		v, err := r.client.Vector(ctx, imsi1, "")
		if err != nil {
			t.Fatal(err)
		}
		if v.RAND[0] != want {
			t.Errorf("RAND starts %q, want %q", v.RAND[0], want)
		}
	}
}

func TestRegister_Profile(t *testing.T) {
	p := profiles{
		imsi1: {MSISDN: "15551230001", APNs: []string{"internet", "ims"}},
		imsi2: {Barred: true},
	}
	r := newRig(t, func(_ *ClientConfig, s *ServerConfig) { s.Profiles = p })
	if err := r.client.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	got, ok := r.client.Profile(imsi1)
	if !ok || got.Barred || got.MSISDN != "15551230001" || len(got.APNs) != 2 || got.APNs[1] != "ims" {
		t.Fatalf("profile %+v", got)
	}
	if host, _, ok := r.server.Registration(imsi1); !ok || host != r.aaa.host {
		t.Fatalf("HSS registered %q", host)
	}
	sar := r.aaa.last(CmdServerAssignment)
	checkAppAVPs(t, sar)
	if v, _ := u32(find(sar.AVP, AVPServerAssignType, Vendor3GPP)); v != ServerAssignmentRegistration {
		t.Errorf("Server-Assignment-Type %d", v)
	}

	if err := r.client.Register(ctx, imsi2); !errors.Is(err, aka.ErrNotAuthorized) {
		t.Fatalf("barred: %v, want ErrNotAuthorized", err)
	}
	if _, err := r.client.Vector(ctx, imsi2, wlan); !errors.Is(err, aka.ErrNotAuthorized) {
		t.Fatalf("barred MAR: %v, want ErrNotAuthorized", err)
	}
	if st := r.client.Stats(); st.SAABarred != 1 || st.SAASuccess != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Within RegistrationTTL the kept registration decides; with 0 every
// authentication registers.
func TestRegister_TTL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		advance time.Duration
		sars    int
	}{
		{"kept", time.Hour, 0, 1},
		{"kept until the TTL", time.Hour, time.Hour - time.Second, 1},
		{"expired", time.Hour, time.Hour, 2},
		{"no TTL", 0, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := profiles{imsi1: {}, imsi2: {Barred: true}}
			r := newRig(t, func(c *ClientConfig, s *ServerConfig) {
				c.RegistrationTTL = tc.ttl
				s.Profiles = p
			})
			for _, imsi := range []string{imsi1, imsi2} {
				before := r.aaa.count(CmdServerAssignment)
				for i := range 2 {
					err := r.client.Register(ctx, imsi)
					if (imsi == imsi2) != errors.Is(err, aka.ErrNotAuthorized) || (imsi == imsi1 && err != nil) {
						t.Fatalf("%s register %d: %v", imsi, i, err)
					}
					if i == 0 {
						r.clock.Advance(tc.advance)
					}
				}
				if got := r.aaa.count(CmdServerAssignment) - before; got != tc.sars {
					t.Errorf("%s: %d SARs, want %d", imsi, got, tc.sars)
				}
			}
		})
	}
}

func TestDeregister_Client(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Deregister(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	sar := r.aaa.last(CmdServerAssignment)
	if v, _ := u32(find(sar.AVP, AVPServerAssignType, Vendor3GPP)); v != ServerAssignmentUserDeregistration {
		t.Errorf("Server-Assignment-Type %d", v)
	}
	if _, _, ok := r.server.Registration(imsi1); ok {
		t.Error("HSS still has the registration")
	}
	if r.client.Registered(imsi1) {
		t.Error("client still registered")
	}
	// Not registered: no SAR.
	n := r.aaa.count(CmdServerAssignment)
	if err := r.client.Deregister(ctx, imsi1); err != nil || r.aaa.count(CmdServerAssignment) != n {
		t.Errorf("deregistering an unregistered IMSI: %v", err)
	}
	if st := r.client.Stats(); st.Deregistrations != 1 || st.SparesDropped != 3 {
		t.Errorf("stats %+v", st)
	}
}

// The HSS deregisters (RTR): RTA 2001, registration and spares gone, the
// sessions ended.
func TestRTR_ReachesTheClient(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	res, err := r.server.Deregister(ctx, imsi1)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResultCode != ResultSuccess || res.Peer != r.aaa.host {
		t.Fatalf("%+v", res)
	}
	if got := r.ends.wait(t); got != imsi1 {
		t.Errorf("EndSessions(%q)", got)
	}
	if r.client.Registered(imsi1) {
		t.Error("client still registered")
	}
	if _, _, ok := r.server.Registration(imsi1); ok {
		t.Error("HSS kept the registration")
	}
	if _, err := r.server.Deregister(ctx, imsi1); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("second Deregister: %v", err)
	}
	rtr := r.hss.last(CmdRegistrationTermination)
	checkAppAVPs(t, rtr)
	if h, _ := str(find(rtr.AVP, avp.DestinationHost, 0)); h != r.aaa.host {
		t.Errorf("Destination-Host %q", h)
	}
	dr, _ := grouped(find(rtr.AVP, AVPDeregReason, Vendor3GPP))
	if dr == nil {
		t.Fatal("no Deregistration-Reason")
	}
	if v, ok := u32(find(dr.AVP, AVPReasonCode, Vendor3GPP)); !ok || v != ReasonCodePermanentTermination {
		t.Errorf("Reason-Code %d", v)
	}
	// The next authentication starts afresh.
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil || r.aaa.count(CmdMultimediaAuth) != 2 {
		t.Errorf("spare survived the RTR: %v", err)
	}
	if st := r.client.Stats(); st.RTRReceived != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The RTA does not wait for the sessions to end.
func TestRTR_DoesNotWaitForSessions(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 1)
	aaa, hss := pair()
	c, err := NewClient(aaa, ClientConfig{DestinationRealm: hss.realm, Sessions: blockingEnder{started, release}})
	if err != nil {
		t.Fatal(err)
	}
	hss.setPeer(c)
	req := rtr(hss, imsi1)
	ans, err := hss.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := result(ans); code != ResultSuccess {
		t.Fatalf("RTA %d", code)
	}
	<-started
	close(release)
	c.Close()
}

type blockingEnder struct {
	started chan string
	release chan struct{}
}

func (b blockingEnder) EndSessions(ctx context.Context, imsi string) int {
	b.started <- imsi
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return 0
}

func rtr(n *fakeNode, imsi string) *diam.Message {
	m := n.NewRequest(CmdRegistrationTermination, AppID, "example.org", "aaa.example.org")
	appAVPs(m)
	if imsi != "" {
		m.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	}
	m.AddAVP(diam.NewAVP(AVPDeregReason, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPReasonCode, mv, Vendor3GPP, datatype.Enumerated(ReasonCodePermanentTermination)),
	}}))
	return m
}

func ppr(n *fakeNode, imsi string, p *Profile, flags uint32) *diam.Message {
	m := n.NewRequest(CmdPushProfile, AppID, "example.org", "aaa.example.org")
	appAVPs(m)
	if imsi != "" {
		m.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	}
	if p != nil {
		m.AddAVP(encodeProfile(*p))
	}
	if flags != 0 {
		m.AddAVP(diam.NewAVP(AVPPPRFlags, avp.Vbit, Vendor3GPP, datatype.Unsigned32(flags)))
	}
	return m
}

func TestPPR(t *testing.T) {
	r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.RegistrationTTL = time.Hour })
	if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Register(ctx, imsi1); err != nil {
		t.Fatal(err)
	}
	send := func(m *diam.Message) (code, vendor uint32) {
		t.Helper()
		ans, err := r.hss.Request(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		checkAppAVPs(t, ans)
		code, vendor, _ = result(ans)
		return code, vendor
	}

	// A new profile is kept.
	if code, _ := send(ppr(r.hss, imsi1, &Profile{MSISDN: "15550000001", APNs: []string{"internet"}}, 0)); code != ResultSuccess {
		t.Fatalf("PPA %d", code)
	}
	if p, _ := r.client.Profile(imsi1); p.MSISDN != "15550000001" || len(p.APNs) != 1 || p.Barred {
		t.Fatalf("profile %+v", p)
	}
	// An HSS reset: the next authentication registers again.
	sars := r.aaa.count(CmdServerAssignment)
	if code, _ := send(ppr(r.hss, imsi1, nil, PPRFlagResetIndication)); code != ResultSuccess {
		t.Fatalf("PPA %d", code)
	}
	if err := r.client.Register(ctx, imsi1); err != nil || r.aaa.count(CmdServerAssignment) != sars+1 {
		t.Fatalf("after a reset: %v, %d SARs", err, r.aaa.count(CmdServerAssignment)-sars)
	}
	// Barred: registration dropped, sessions ended.
	if code, _ := send(ppr(r.hss, imsi1, &Profile{Barred: true}, 0)); code != ResultSuccess {
		t.Fatalf("PPA %d", code)
	}
	if got := r.ends.wait(t); got != imsi1 {
		t.Errorf("EndSessions(%q)", got)
	}
	if r.client.Registered(imsi1) {
		t.Error("barred user still registered")
	}
	// Not registered here: DIAMETER_ERROR_USER_UNKNOWN.
	if code, vendor := send(ppr(r.hss, imsi2, &Profile{}, 0)); code != ExpUserUnknown || vendor != Vendor3GPP {
		t.Errorf("PPA for an unregistered user: %d/%d", code, vendor)
	}
	if r.client.Stats().PPRReceived != 4 {
		t.Error("PPRs not counted")
	}
}

// Missing mandatory AVPs: DIAMETER_MISSING_AVP with Failed-AVP; other
// commands: DIAMETER_COMMAND_UNSUPPORTED with the E bit.
func TestClientServe_Errors(t *testing.T) {
	r := newRig(t)
	noReason := rtr(r.hss, imsi1)
	noReason.DeleteAVP(AVPDeregReason, Vendor3GPP)
	for _, tc := range []struct {
		name   string
		req    *diam.Message
		code   uint32
		failed uint32
	}{
		{"RTR without User-Name", rtr(r.hss, ""), ResultMissingAVP, AVPUserName},
		{"RTR without Deregistration-Reason", noReason, ResultMissingAVP, AVPDeregReason},
		{"PPR without User-Name", ppr(r.hss, "", &Profile{}, 0), ResultMissingAVP, AVPUserName},
		{"MAR to the client", r.aaa.NewRequest(CmdMultimediaAuth, AppID, "example.org", ""), ResultCommandUnsupported, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := r.hss.Request(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, ans, tc.code, tc.failed)
		})
	}
	// A command no dictionary knows does not cross the fake wire: served
	// directly.
	req := r.hss.NewRequest(399, AppID, "example.org", "")
	checkError(t, r.client.ServeDiameter(ctx, req), ResultCommandUnsupported, 0)
	// An answer gets nothing.
	ans := r.hss.Answer(req, ResultSuccess)
	if r.client.ServeDiameter(ctx, ans) != nil || r.client.ServeDiameter(ctx, nil) != nil {
		t.Error("an answer was answered")
	}
}

func checkError(t *testing.T, ans *diam.Message, code, failed uint32) {
	t.Helper()
	got, vendor, ok := result(ans)
	if !ok || got != code || vendor != 0 {
		t.Fatalf("result %d/%d, want %d", got, vendor, code)
	}
	if e := ans.Header.CommandFlags&diam.ErrorFlag != 0; e != (code >= 3000 && code < 4000) {
		t.Errorf("E bit %v for %d", e, code)
	}
	checkAppAVPs(t, ans)
	if failed != 0 {
		g, ok := grouped(find(ans.AVP, AVPFailedAVP, 0))
		if !ok || len(g.AVP) != 1 || g.AVP[0].Code != failed {
			t.Errorf("Failed-AVP %v, want AVP %d", g, failed)
		}
	}
}

// The keys an MAA carries do not print.
func TestMAA_KeysDoNotPrint(t *testing.T) {
	r := newRig(t)
	var printed string
	r.aaa.setPeer(handlerFunc(func(c context.Context, m *diam.Message) *diam.Message {
		a := r.server.ServeDiameter(c, m)
		printed = fmt.Sprintf("%v %s", a, a)
		return a
	}))
	v, err := r.client.Vector(ctx, imsi1, wlan)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{v.CK[:], v.IK[:], v.Res()} {
		if strings.Contains(printed, fmt.Sprintf("%x", k)) {
			t.Fatal("key material printed")
		}
	}
	if !strings.Contains(printed, "REDACTED") {
		t.Error("no redacted value printed")
	}
}

func TestNewClient_Config(t *testing.T) {
	aaa, _ := pair()
	for _, tc := range []struct {
		cfg ClientConfig
		ok  bool
	}{
		{ClientConfig{DestinationRealm: "r"}, true},
		{ClientConfig{}, false},
		{ClientConfig{DestinationRealm: "r", VectorsPerRequest: 33}, false},
		{ClientConfig{DestinationRealm: "r", VectorsPerRequest: 32}, true},
		{ClientConfig{DestinationRealm: "r", VectorsPerRequest: -1}, false},
		{ClientConfig{DestinationRealm: "r", SpareLifetime: -1}, false},
		{ClientConfig{DestinationRealm: "r", RegistrationTTL: -1}, false},
	} {
		c, err := NewClient(aaa, tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
		if c != nil {
			c.Close()
		}
	}
	if _, err := NewClient(nil, ClientConfig{DestinationRealm: "r"}); err == nil {
		t.Error("nil transport accepted")
	}
}

// A transport failure is a plain error.
func TestVector_TransportError(t *testing.T) {
	r := newRig(t)
	r.aaa.mu.Lock()
	r.aaa.fail = errors.New("no peer open")
	r.aaa.mu.Unlock()
	_, err := r.client.Vector(ctx, imsi1, wlan)
	if err == nil || errors.Is(err, aka.ErrUnknownSubscriber) || errors.Is(err, aka.ErrNotAuthorized) {
		t.Fatalf("%v", err)
	}
	if r.client.Stats().MARFailed != 1 {
		t.Error("MARFailed not counted")
	}
}
