package eapfront

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap/zaptest"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/session"
	"github.com/aaa-project/aaa/store/memory"
)

const (
	testIMSI  = "001010000000001"
	testRealm = "wlan.mnc001.mcc001.3gppnetwork.org"
)

// rig is an aaad-like node serving Diameter EAP and a gateway node
// (twag.test) connected to it over loopback.
type rig struct {
	aaa, gw *diameter.Node
	gw2     *diameter.Node // another gateway, twag2.test
	front   *Server
	table   *session.Table
	asr     chan *diam.Message // ASRs the gateway got
}

// gateway answers ASR with ASA 2001 and reports them.
type gateway struct {
	n   *diameter.Node
	asr chan *diam.Message
}

func (g *gateway) ServeDiameter(_ context.Context, req *diam.Message) *diam.Message {
	if req.Header.CommandCode == CmdAbortSession {
		g.asr <- req
		return g.n.Answer(req, resultSuccess)
	}
	return g.n.Answer(req, resultCommandUnsupp)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if err := LoadDictionary(dict.Default); err != nil {
		t.Fatal(err)
	}
	sealer := hss.NewEphemeralSealer()
	var k, opc [16]byte
	for i := range k {
		k[i], opc[i] = byte(i), byte(0x40+i)
	}
	subs, err := memory.NewSubscriberStore([]hss.Subscriber{{IMSI: testIMSI, K: k, OPc: opc, AMF: 0x8000}}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	vectors, err := hss.NewLocal(subs, hss.LocalConfig{Sealer: sealer, INDBits: 5})
	if err != nil {
		t.Fatal(err)
	}
	e, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, NetworkName: "WLAN",
		Timeout: time.Minute}, vectors, memory.NewEAPStore(memory.EAPConfig{MaxConversations: 100, MaxBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(host string) diameter.Config {
		return diameter.Config{OriginHost: host, OriginRealm: "test", ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}
	}
	apps := []diameter.App{{ID: AppSTa, Vendor: Vendor3GPP}, {ID: AppSWm, Vendor: Vendor3GPP}, {ID: AppDiameterEAP}}
	aaa, err := diameter.NewNode(cfg("aaa.test"), apps, dict.Default, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{aaa: aaa, table: session.NewTable(session.Config{}), asr: make(chan *diam.Message, 4)}
	r.front, err = New(aaa, e, Config{Sessions: r.table, NetworkNames: []string{"WLAN", "Wi-Fi"}})
	if err != nil {
		t.Fatal(err)
	}
	r.table.RegisterTerminator(FrontEnd, r.front)
	for _, app := range []uint32{AppSTa, AppSWm, AppDiameterEAP} {
		aaa.Handle(app, r.front)
	}
	addr, err := aaa.Listen(diameter.ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"twag.test", "twag2.test"}})
	if err != nil {
		t.Fatal(err)
	}
	r.gw, err = diameter.NewNode(cfg("twag.test"), apps, dict.Default, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []uint32{AppSTa, AppSWm, AppDiameterEAP} {
		r.gw.Handle(app, &gateway{n: r.gw, asr: r.asr})
	}
	r.gw.Connect([]diameter.PeerConfig{{Host: "aaa.test", Address: addr.String()}})
	r.gw2, err = diameter.NewNode(cfg("twag2.test"), apps, dict.Default, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	r.gw2.Connect([]diameter.PeerConfig{{Host: "aaa.test", Address: addr.String()}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.gw.Close(ctx)
		r.gw2.Close(ctx)
		aaa.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.gw.WaitOpen(ctx, "aaa.test"); err != nil {
		t.Fatal(err)
	}
	if err := r.gw2.WaitOpen(ctx, "aaa.test"); err != nil {
		t.Fatal(err)
	}
	return r
}

// der builds a DER of the STa application in session sid.
func (r *rig) der(sid string, eapPayload []byte, anid string) *diam.Message {
	return derFrom(r.gw, sid, eapPayload, anid)
}

func derFrom(gw *diameter.Node, sid string, eapPayload []byte, anid string) *diam.Message {
	m := gw.NewRequestInSession(CmdDiameterEAP, AppSTa, sid, "test", "")
	m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSTa))
	m.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(AuthRequestAuthorizeAuthenticate))
	m.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("6"+testIMSI+"@"+testRealm))
	if eapPayload != nil {
		m.NewAVP(AVPEAPPayload, avp.Mbit, 0, datatype.OctetString(eapPayload))
	}
	m.NewAVP(AVPRATType, avp.Vbit, Vendor3GPP, datatype.Enumerated(0))
	if anid != "" {
		m.NewAVP(AVPANID, avp.Mbit|avp.Vbit, Vendor3GPP, datatype.UTF8String(anid))
	}
	return m
}

func resultOf(t *testing.T, m *diam.Message) uint32 {
	t.Helper()
	a, err := m.FindAVP(avp.ResultCode, 0)
	if err != nil {
		t.Fatal("no Result-Code")
	}
	return uint32(a.Data.(datatype.Unsigned32))
}

func payloadOf(m *diam.Message) []byte {
	a, err := m.FindAVP(AVPEAPPayload, 0)
	if err != nil {
		return nil
	}
	return []byte(a.Data.(datatype.OctetString))
}

var identity = eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte("6"+testIMSI+"@"+testRealm))

// The first DER of a session gets DIAMETER_MULTI_ROUND_AUTH with the
// AKA'-Challenge, whose AT_KDF_INPUT is the gateway's ANID; a
// retransmission (same End-to-End-Id, T bit) gets the same DEA without a
// second round.
func TestDERMultiRoundAndRetransmission(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	req := r.der("twag.test;1;1", identity, "Wi-Fi")
	e2e := req.Header.EndToEndID
	ans, err := r.gw.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rc := resultOf(t, ans); rc != ResultMultiRoundAuth {
		t.Fatalf("Result-Code %d, want 1001", rc)
	}
	first := payloadOf(ans)
	m, err := eap.ParseAKA(first)
	if err != nil || m.Subtype != eap.SubtypeChallenge {
		t.Fatalf("EAP-Payload is no AKA-Challenge: %v", err)
	}
	if string(m.Attrs.KDFInput) != "Wi-Fi" {
		t.Errorf("AT_KDF_INPUT %q, want the ANID", m.Attrs.KDFInput)
	}
	if a, err := ans.FindAVP(avp.SessionID, 0); err != nil || ans.AVP[0].Code != avp.SessionID ||
		string(a.Data.(datatype.UTF8String)) != "twag.test;1;1" {
		t.Error("DEA without the session's Session-Id first")
	}
	// The retransmission.
	again := r.der("twag.test;1;1", identity, "Wi-Fi")
	again.Header.EndToEndID = e2e
	again.Header.CommandFlags |= diam.RetransmittedFlag
	ans2, err := r.gw.Request(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payloadOf(ans2), first) || resultOf(t, ans2) != ResultMultiRoundAuth {
		t.Fatal("the retransmission got another answer")
	}
	if r.front.Stats.Duplicates.Load() != 1 || r.front.Stats.DER.Load() != 1 {
		t.Errorf("duplicates %d, DERs handled %d; want 1, 1", r.front.Stats.Duplicates.Load(), r.front.Stats.DER.Load())
	}
}

// A DER without EAP-Payload gets DIAMETER_MISSING_AVP; an unknown
// command in STa gets 3001.
func TestDERRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ans, err := r.gw.Request(ctx, r.der("twag.test;1;2", nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if rc := resultOf(t, ans); rc != resultMissingAVP {
		t.Fatalf("Result-Code %d, want %d", rc, resultMissingAVP)
	}
	long := make([]byte, eap.MaxNetworkName+1)
	for i := range long {
		long[i] = 'a'
	}
	ans, err = r.gw.Request(ctx, r.der("twag.test;1;3", identity, string(long)))
	if err != nil {
		t.Fatal(err)
	}
	if rc := resultOf(t, ans); rc != resultInvalidAVPValue {
		t.Fatalf("Result-Code %d for an ANID too long, want %d", rc, resultInvalidAVPValue)
	}
}

// STR for a session nobody knows: DIAMETER_UNKNOWN_SESSION_ID; for a
// session in progress: 2001, and it is gone. AAR for an unknown session:
// 5002.
func TestSTRAndAAR(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	str := func(sid string) uint32 {
		m := r.gw.NewRequestInSession(CmdSessionTermination, AppSTa, sid, "test", "")
		m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSTa))
		m.NewAVP(AVPTerminationCause, avp.Mbit, 0, datatype.Enumerated(1))
		ans, err := r.gw.Request(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return resultOf(t, ans)
	}
	if rc := str("twag.test;9;9"); rc != resultUnknownSessionID {
		t.Errorf("STR for an unknown session: %d", rc)
	}
	if _, err := r.gw.Request(ctx, r.der("twag.test;1;4", identity, "")); err != nil {
		t.Fatal(err)
	}
	if rc := str("twag.test;1;4"); rc != resultSuccess {
		t.Errorf("STR: %d", rc)
	}
	if rc := str("twag.test;1;4"); rc != resultUnknownSessionID {
		t.Errorf("second STR: %d", rc)
	}
	aar := r.gw.NewRequestInSession(CmdAA, AppSWm, "twag.test;1;5", "test", "")
	aar.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSWm))
	aar.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(AuthRequestAuthorizeOnly))
	ans, err := r.gw.Request(ctx, aar)
	if err != nil {
		t.Fatal(err)
	}
	if rc := resultOf(t, ans); rc != resultUnknownSessionID {
		t.Errorf("AAR for a session that did not authenticate: %d", rc)
	}
}

// Ending a Diameter session from the table sends the gateway an ASR in
// that session, and its ASA counts as acknowledged.
func TestASR(t *testing.T) {
	r := newRig(t)
	r.table.Add(session.Session{IMSI: testIMSI, FrontEnd: FrontEnd, Client: "twag.test", Realm: "test",
		SessionID: "twag.test;7;7", UserName: "6" + testIMSI + "@" + testRealm, Started: time.Now()})
	res := r.table.End(context.Background(), testIMSI)
	if len(res) != 1 || !res[0].Acked || res[0].Err != nil {
		t.Fatalf("End: %+v", res)
	}
	asr := <-r.asr
	if a, err := asr.FindAVP(avp.SessionID, 0); err != nil || string(a.Data.(datatype.UTF8String)) != "twag.test;7;7" {
		t.Error("ASR not in the session")
	}
	if a, err := asr.FindAVP(avp.DestinationHost, 0); err != nil || string(a.Data.(datatype.DiameterIdentity)) != "twag.test" {
		t.Error("ASR not to the gateway")
	}
}

// One gateway cannot continue, end or take the answers of another's
// session; names longer than any real one, another's Origin-Host, and an
// access network name not allowed are refused.
func TestGatewaysKeepApart(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	first := r.der("twag.test;1;1", identity, "WLAN")
	a1, err := r.gw.Request(ctx, first)
	if err != nil || resultOf(t, a1) != ResultMultiRoundAuth {
		t.Fatalf("first DER: %v", err)
	}
	// twag2 sends into twag's session in progress: refused, and twag's
	// conversation is still there.
	a, err := r.gw2.Request(ctx, derFrom(r.gw2, "twag.test;1;1", identity, "WLAN"))
	if err != nil || resultOf(t, a) != resultUnknownSessionID {
		t.Fatalf("another gateway's DER in the session: %v %d", err, resultOf(t, a))
	}
	// twag2 ends twag's session: refused.
	str := r.gw2.NewRequestInSession(CmdSessionTermination, AppSTa, "twag.test;1;1", "test", "")
	str.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSTa))
	str.NewAVP(AVPTerminationCause, avp.Mbit, 0, datatype.Enumerated(1))
	if a, err := r.gw2.Request(ctx, str); err != nil || resultOf(t, a) != resultUnknownSessionID {
		t.Fatalf("another gateway's STR: %v", err)
	}
	r.front.mu.Lock()
	_, still := r.front.sessions["twag.test;1;1"]
	r.front.mu.Unlock()
	if !still {
		t.Fatal("another gateway's requests dropped the conversation")
	}
	// The identifiers of twag's answered DER on another request: not
	// its answer.
	other := r.der("twag.test;1;9", identity, "WLAN")
	other.Header.EndToEndID = first.Header.EndToEndID
	if a, err := r.gw.Request(ctx, other); err != nil || resultOf(t, a) != resultUnableToComply || payloadOf(a) != nil {
		t.Fatalf("a reused End-to-End-Id got %d", resultOf(t, a))
	}
	for _, tc := range []struct {
		name string
		m    *diam.Message
		want uint32
	}{
		{"long Session-Id", r.der(strings.Repeat("s", maxSessionID+1), identity, "WLAN"), resultInvalidAVPValue},
		{"ANID not allowed", r.der("twag.test;1;3", identity, "EVIL"), resultInvalidAVPValue},
	} {
		a, err := r.gw.Request(ctx, tc.m)
		if err != nil || resultOf(t, a) != tc.want {
			t.Errorf("%s: %v %d, want %d", tc.name, err, resultOf(t, a), tc.want)
		}
	}
	// Another gateway's Origin-Host on twag2's own connection.
	spoof := derFrom(r.gw2, "twag2.test;1;1", identity, "WLAN")
	for i, a := range spoof.AVP {
		if a.Code == avp.OriginHost {
			spoof.AVP[i] = diam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("twag.test"))
		}
	}
	if a, err := r.gw2.Request(ctx, spoof); err != nil || resultOf(t, a) != resultUnableToComply {
		t.Fatalf("a DER claiming another gateway's Origin-Host: %v", err)
	}
}
