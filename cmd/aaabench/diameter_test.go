package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/diameter/eapfront"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
)

// deaServer is an AAA server's Diameter EAP side in process: a
// diameter.Node (Origin-Host aaa.test, realm test) that answers each DER
// by driving the real eap.Server (newTestEAPServer) as a front end would:
// 1001 with the EAP-Request and State, 2001 with EAP-Success, the MSK and
// EAP-Key-Name, 4001 with EAP-Failure. It checks every DER on the way
// (problems), and hooks drop requests or change answers.
type deaServer struct {
	node *diameter.Node
	eap  *eap.Server
	addr string

	// drop sees the n-th DER (1, 2, ...), and whether it is a copy sent
	// again, and says whether to leave it unanswered (the EAP server
	// never sees it).
	drop func(n int64, again bool) bool
	// tamper may change an answer before it goes out; success says
	// whether it is a 2001 and k counts those (1, 2, ...).
	tamper func(ans *diam.Message, success bool, k int64)

	n, successes  atomic.Int64
	retransmitted atomic.Int64 // DERs with the T bit whose End-to-End id came before
	mu            sync.Mutex
	e2e           map[uint32]int
	sessions      map[string]string // Session-Id -> User-Name of its first DER
	problems      []string
}

func startDiameterEAP(t *testing.T, subs []hss.Subscriber, configure func(*deaServer), methods ...eap.Type) *deaServer {
	t.Helper()
	if err := eapfront.LoadDictionary(dict.Default); err != nil {
		t.Fatal(err)
	}
	apps := []diameter.App{
		{ID: eapfront.AppSTa, Vendor: eapfront.Vendor3GPP},
		{ID: eapfront.AppSWm, Vendor: eapfront.Vendor3GPP},
		{ID: eapfront.AppDiameterEAP},
	}
	node, err := diameter.NewNode(diameter.Config{OriginHost: "aaa.test", OriginRealm: "test"}, apps, dict.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &deaServer{node: node, eap: newTestEAPServer(t, subs, methods...), e2e: map[uint32]int{}, sessions: map[string]string{}}
	if configure != nil {
		configure(s)
	}
	for _, a := range apps {
		node.Handle(a.ID, s)
	}
	addr, err := node.Listen(diameter.ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"twag.test"}})
	if err != nil {
		t.Fatal(err)
	}
	s.addr = addr.String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		node.Close(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.problems {
			t.Error("DER:", p)
		}
	})
	return s
}

func (s *deaServer) problem(what string, detail ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 10 {
		s.problems = append(s.problems, strings.TrimSpace(fmt.Sprintln(append([]any{what}, detail...)...)))
	}
}

func octets(m *diam.Message, code, vendor uint32) ([]byte, bool) {
	a, err := m.FindAVP(code, vendor)
	if err != nil || a == nil {
		return nil, false
	}
	switch v := a.Data.(type) {
	case datatype.OctetString:
		return []byte(v), true
	case datatype.UTF8String:
		return []byte(v), true
	case datatype.DiameterIdentity:
		return []byte(v), true
	}
	return nil, false
}

// check looks at what the gateway sent: Session-Id first, the
// application, AUTHORIZE_AUTHENTICATE, User-Name, RAT-Type and ANID with
// their flags, and one Session-Id for one identity.
func (s *deaServer) check(req *diam.Message) {
	h := req.Header
	if len(req.AVP) == 0 || req.AVP[0].Code != eapfront.AVPSessionID {
		s.problem("Session-Id is not the first AVP")
		return
	}
	if h.CommandFlags&0x40 == 0 {
		s.problem("no P bit")
	}
	if a, err := req.FindAVP(eapfront.AVPAuthApplicationID, 0); err != nil || a.Data.(datatype.Unsigned32) != datatype.Unsigned32(h.ApplicationID) {
		s.problem("Auth-Application-Id missing or not the header's application", h.ApplicationID)
	}
	if a, err := req.FindAVP(eapfront.AVPAuthRequestType, 0); err != nil || a.Data.(datatype.Enumerated) != eapfront.AuthRequestAuthorizeAuthenticate {
		s.problem("Auth-Request-Type is not AUTHORIZE_AUTHENTICATE")
	}
	if a, err := req.FindAVP(eapfront.AVPRATType, eapfront.Vendor3GPP); err != nil || a.Flags != 0x80 || a.Data.(datatype.Enumerated) != 0 {
		s.problem("RAT-Type missing, not WLAN, or flags other than V")
	}
	if a, err := req.FindAVP(eapfront.AVPANID, eapfront.Vendor3GPP); err != nil || a.Flags != 0xc0 {
		s.problem("ANID missing or flags other than V and M")
	}
	sid, _ := octets(req, eapfront.AVPSessionID, 0)
	user, ok := octets(req, eapfront.AVPUserName, 0)
	if !ok {
		s.problem("no User-Name")
	}
	s.mu.Lock()
	first, seen := s.sessions[string(sid)]
	if !seen {
		s.sessions[string(sid)] = string(user)
	}
	s.mu.Unlock()
	if seen && first != string(user) {
		s.problem("User-Name changed within a session", first, string(user))
	}
}

func (s *deaServer) ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message {
	n := s.n.Add(1)
	h := req.Header
	s.mu.Lock()
	copies := s.e2e[h.EndToEndID]
	s.e2e[h.EndToEndID]++
	s.mu.Unlock()
	t := h.CommandFlags&0x10 != 0
	switch {
	case t && copies > 0:
		s.retransmitted.Add(1)
	case t:
		s.problem("T bit on a first copy")
	case copies > 0:
		s.problem("End-to-End id reused without the T bit", h.EndToEndID)
	}
	s.check(req)
	if s.drop != nil && s.drop(n, t) {
		return nil
	}
	msg, _ := octets(req, eapfront.AVPEAPPayload, 0)
	state, _ := octets(req, eapfront.AVPState, 0)
	peer, _ := diameter.PeerFromContext(ctx)
	var res eap.Result
	if err := s.eap.Handle(ctx, eap.Peer{Name: peer.Host}, state, msg, make([]byte, 0, 2048), &res); err != nil {
		return s.node.Answer(req, diameter.ResultUnableToComply)
	}
	var ans *diam.Message
	switch res.Outcome {
	case eap.OutcomeContinue:
		ans = s.answer(req, eapfront.ResultMultiRoundAuth, res.Packet)
		ans.NewAVP(eapfront.AVPState, 0x40, 0, datatype.OctetString(res.Conversation[:]))
	case eap.OutcomeSuccess:
		ans = s.answer(req, diameter.ResultSuccess, res.Packet)
		ans.NewAVP(eapfront.AVPEAPMasterSessionKey, 0x40, 0, datatype.OctetString(res.MSK[:]))
		ans.NewAVP(eapfront.AVPEAPKeyName, 0x40, 0, datatype.OctetString(append([]byte{byte(res.Method)}, res.Identity...)))
	case eap.OutcomeFailure:
		ans = s.answer(req, 4001, res.Packet)
	default:
		return nil
	}
	if s.tamper != nil {
		success := res.Outcome == eap.OutcomeSuccess
		var k int64
		if success {
			k = s.successes.Add(1)
		}
		s.tamper(ans, success, k)
	}
	return ans
}

func (s *deaServer) answer(req *diam.Message, code uint32, pkt []byte) *diam.Message {
	ans := s.node.Answer(req, code)
	ans.NewAVP(eapfront.AVPAuthApplicationID, 0x40, 0, datatype.Unsigned32(req.Header.ApplicationID))
	ans.NewAVP(eapfront.AVPAuthRequestType, 0x40, 0, datatype.Enumerated(eapfront.AuthRequestAuthorizeAuthenticate))
	ans.NewAVP(eapfront.AVPEAPPayload, 0x40, 0, datatype.OctetString(pkt))
	return ans
}

// replaceAVP swaps the data of the first AVP of code in m (lengths kept
// right).
func replaceAVP(m *diam.Message, code uint32, data datatype.Type) {
	for i, a := range m.AVP {
		if a.Code == code && a.VendorID == 0 {
			m.Header.MessageLength -= uint32(a.Len())
			m.AVP[i] = diam.NewAVP(code, a.Flags, 0, data)
			m.Header.MessageLength += uint32(m.AVP[i].Len())
			return
		}
	}
	panic("no such AVP")
}

func diameterArgs(s *deaServer, csv string, more ...string) []string {
	return append([]string{"--diameter", s.addr, "--subscribers", csv, "--timeout", "2s"}, more...)
}

// aaabench as a TWAG completes EAP-AKA' and EAP-AKA against the real EAP
// server behind Diameter, over each application, closed and open loop,
// with fast re-authentications and anonymous identities, and every DEA's
// MSK checked.
func TestDiameter_InProcessServer(t *testing.T) {
	subs := testSubscribers(40)
	csv := writeCSV(t, subs)
	s := startDiameterEAP(t, subs, nil)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"AKA' STa closed loop", nil},
		{"AKA, re-auth and anonymous", []string{"--method", "aka", "--reauth", "0.5", "--anonymous", "0.3"}},
		{"AKA' SWm open loop", []string{"--app", "swm", "--rate", "2000", "--reauth", "0.5", "--anonymous", "0.3"}},
		{"AKA' Diameter EAP, Destination-Host", []string{"--app", "eap", "--destination-host", "aaa.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, sum, stderr := runBench(t, nil, diameterArgs(s, csv, append([]string{"--count", "300", "--concurrency", "12"}, tc.args...)...)...)
			if code != 0 || sum.OK != 300 || sum.FailuresTotal != 0 || sum.Abandoned != 0 {
				t.Fatalf("exit %d ok %d failures %v abandoned %d\n%s", code, sum.OK, sum.Failures, sum.Abandoned, stderr)
			}
			if sum.Transport != "diameter" || sum.Diameter == nil || sum.EAPKeyNames == nil || *sum.EAPKeyNames != 300 {
				t.Fatalf("transport %q diameter %+v key names %v", sum.Transport, sum.Diameter, sum.EAPKeyNames)
			}
			if sum.LatencyMS.P50 <= 0 || sum.LatencyMS.Max < sum.LatencyMS.P99 || sum.RoundsPerAuth < 2 || sum.Retransmissions != 0 {
				t.Fatalf("latency %+v rounds %.2f retransmissions %d", sum.LatencyMS, sum.RoundsPerAuth, sum.Retransmissions)
			}
			joined := strings.Join(tc.args, " ")
			if strings.Contains(joined, "--reauth") && sum.FastReauths == 0 {
				t.Fatal("no fast re-authentication")
			}
			if open := strings.Contains(joined, "--rate"); open != (sum.StartLagMS != nil) || open != (sum.ServiceMS != nil) {
				t.Fatalf("open loop %v: start lag %+v", open, sum.StartLagMS)
			}
		})
	}
}

// DERs lost on the way (a fifth of the first copies): each is sent again
// with the T bit and its End-to-End id (the server checks both), and
// every authentication succeeds.
func TestDiameter_Retransmits(t *testing.T) {
	subs := testSubscribers(20)
	csv := writeCSV(t, subs)
	s := startDiameterEAP(t, subs, func(s *deaServer) { s.drop = func(n int64, again bool) bool { return !again && n%5 == 2 } })
	code, sum, stderr := runBench(t, nil, diameterArgs(s, csv, "--count", "100", "--concurrency", "6", "--timeout", "100ms")...)
	if code != 0 || sum.OK != 100 || sum.FailuresTotal != 0 {
		t.Fatalf("exit %d ok %d failures %v\n%s", code, sum.OK, sum.Failures, stderr)
	}
	if sum.Retransmissions == 0 || int64(sum.Retransmissions) != s.retransmitted.Load() {
		t.Fatalf("retransmissions %d counted, %d received with the T bit", sum.Retransmissions, s.retransmitted.Load())
	}
}

// A server that never answers: each DER is sent --retries more times,
// then the authentication fails as a timeout.
func TestDiameter_Timeouts(t *testing.T) {
	subs := testSubscribers(5)
	s := startDiameterEAP(t, subs, func(s *deaServer) { s.drop = func(int64, bool) bool { return true } })
	start := time.Now()
	code, sum, stderr := runBench(t, nil, diameterArgs(s, writeCSV(t, subs), "--count", "5", "--concurrency", "5", "--timeout", "50ms", "--retries", "2")...)
	if code != 1 || sum.Failures["timeout"] != 5 || sum.Retransmissions != 10 || s.retransmitted.Load() != 10 {
		t.Fatalf("exit %d failures %v retransmissions %d (received %d)\n%s", code, sum.Failures, sum.Retransmissions, s.retransmitted.Load(), stderr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// Answers changed by the server: each is a failure under its own reason.
func TestDiameter_DetectsBadAnswers(t *testing.T) {
	subs := testSubscribers(10)
	csv := writeCSV(t, subs)
	for _, tc := range []struct {
		name   string
		tamper func(ans *diam.Message, success bool, k int64)
		want   map[string]uint64
	}{
		{"MSK of one answer", func(ans *diam.Message, success bool, k int64) {
			if success && k == 3 {
				msk, _ := octets(ans, eapfront.AVPEAPMasterSessionKey, 0)
				msk[7] ^= 1
				replaceAVP(ans, eapfront.AVPEAPMasterSessionKey, datatype.OctetString(msk))
			}
		}, map[string]uint64{"msk_mismatch": 1}},
		{"no MSK", func(ans *diam.Message, success bool, k int64) {
			if success {
				replaceAVP(ans, eapfront.AVPEAPMasterSessionKey, datatype.OctetString(""))
			}
		}, map[string]uint64{"msk_mismatch": 20}},
		{"Session-Id", func(ans *diam.Message, success bool, k int64) {
			replaceAVP(ans, eapfront.AVPSessionID, datatype.UTF8String("aaa.test;1;1"))
		}, map[string]uint64{"session_id_mismatch": 20}},
		{"Result-Code 5012", func(ans *diam.Message, success bool, k int64) {
			if success {
				replaceAVP(ans, avpResultCode, datatype.Unsigned32(5012))
			}
		}, map[string]uint64{"result_5012": 20}},
		{"Experimental-Result 5420", func(ans *diam.Message, success bool, k int64) {
			if success {
				ans.DeleteAVP(avpResultCode, 0)
				ans.NewAVP(avpExperimentalResult, 0x40, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
					diam.NewAVP(avpVendorID, 0x40, 0, datatype.Unsigned32(10415)),
					diam.NewAVP(avpExperimentalResultCd, 0x40, 0, datatype.Unsigned32(5420)),
				}})
			}
		}, map[string]uint64{"result_5420": 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startDiameterEAP(t, subs, func(s *deaServer) { s.tamper = tc.tamper })
			code, sum, stderr := runBench(t, nil, diameterArgs(s, csv, "--count", "20", "--concurrency", "4")...)
			var total uint64
			for _, n := range tc.want {
				total += n
			}
			if code != 1 || sum.OK != 20-total || sum.FailuresTotal != total {
				t.Fatalf("exit %d ok %d failures %v, want %v\n%s", code, sum.OK, sum.Failures, tc.want, stderr)
			}
			for k, n := range tc.want {
				if sum.Failures[k] != n {
					t.Fatalf("failures %v, want %v", sum.Failures, tc.want)
				}
			}
		})
	}
}

// The USIM checks the network name of AKA' against the ANID: another
// one, and it refuses the network (network_name, answered 4001).
// EAP-AKA has no network name.
func TestDiameter_ANIDIsTheNetworkName(t *testing.T) {
	subs := testSubscribers(4)
	csv := writeCSV(t, subs)
	s := startDiameterEAP(t, subs, nil)
	code, sum, stderr := runBench(t, nil, diameterArgs(s, csv, "--count", "4", "--concurrency", "2", "--anid", "HRPD")...)
	if code != 1 || sum.Failures["network_name"] != 4 || sum.FailuresTotal != 4 {
		t.Fatalf("exit %d ok %d failures %v\n%s", code, sum.OK, sum.Failures, stderr)
	}
	s = startDiameterEAP(t, subs, nil, eap.TypeAKA)
	code, sum, stderr = runBench(t, nil, diameterArgs(s, csv, "--count", "4", "--concurrency", "2", "--anid", "HRPD", "--method", "aka")...)
	if code != 0 || sum.OK != 4 {
		t.Fatalf("EAP-AKA: exit %d ok %d failures %v\n%s", code, sum.OK, sum.Failures, stderr)
	}
}

// Subscribers whose K the server does not have: the phone refuses the
// AUTN, the server answers 4001, and the reason is the phone's.
func TestDiameter_WrongKeys(t *testing.T) {
	subs := testSubscribers(6)
	s := startDiameterEAP(t, subs, nil)
	wrong := append([]hss.Subscriber(nil), subs...)
	for i := range wrong {
		wrong[i].K[3] ^= 0x40
	}
	code, sum, stderr := runBench(t, nil, diameterArgs(s, writeCSV(t, wrong), "--count", "12", "--concurrency", "3")...)
	if code != 1 || sum.OK != 0 || sum.Failures["autn_mac"] != 12 {
		t.Fatalf("exit %d ok %d failures %v\n%s", code, sum.OK, sum.Failures, stderr)
	}
}

// An interrupt stops new authentications, lets those in flight end and
// prints the summary so far.
func TestDiameter_Interrupt(t *testing.T) {
	subs := testSubscribers(20)
	s := startDiameterEAP(t, subs, nil)
	stop := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(stop) })
	start := time.Now()
	code, sum, stderr := runBench(t, stop, diameterArgs(s, writeCSV(t, subs), "--duration", "1h", "--concurrency", "8")...)
	if code != 0 || sum.OK == 0 || !sum.Interrupted || sum.Abandoned != 0 {
		t.Fatalf("exit %d ok %d interrupted %v abandoned %d failures %v\n%s", code, sum.OK, sum.Interrupted, sum.Abandoned, sum.Failures, stderr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v to stop", d)
	}
}

// No peer at the address, or one with another Origin-Host: a setup
// error (exit 2), named.
func TestDiameter_NoConnection(t *testing.T) {
	subs := testSubscribers(2)
	csv := writeCSV(t, subs)
	s := startDiameterEAP(t, subs, nil)
	for _, args := range [][]string{
		{"--diameter", "127.0.0.1:1", "--subscribers", csv},
		{"--diameter", s.addr, "--subscribers", csv, "--peer-host", "other.test"},
		{"--diameter", s.addr, "--subscribers", csv, "--origin-host", "stranger.test"},
	} {
		var out, errb bytes.Buffer
		args = append(args, "--count", "1", "--connect-timeout", "300ms", "--quiet")
		if code := realMain(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no connection to") {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

func TestDiameter_UsageErrors(t *testing.T) {
	csv := writeCSV(t, testSubscribers(1))
	for _, args := range [][]string{
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--server", "127.0.0.1:1812"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--secret", "s3cret-s3cret"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--sockets", "4"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--retransmit-final"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--app", "swx"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--anid", ""},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--origin-host", "twag test"},
		{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--destination-realm", ""},
		{"--subscribers", csv, "--diameter", "3868"},
		{"--subscribers", csv, "--peer-host", "aaa.test"},
		{"--subscribers", csv, "--app", "sta"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	var errb bytes.Buffer
	cfg, _ := parseFlags([]string{"--subscribers", csv, "--diameter", "127.0.0.1:3868"}, &errb)
	if cfg == nil || cfg.retries != 3 || cfg.appID != eapfront.AppSTa || cfg.appVendor != eapfront.Vendor3GPP || cfg.anid != "WLAN" {
		t.Fatalf("defaults: %+v (%s)", cfg, errb.String())
	}
	cfg, _ = parseFlags([]string{"--subscribers", csv, "--diameter", "127.0.0.1:3868", "--retries", "0", "--app", "eap"}, &errb)
	if cfg == nil || cfg.retries != 0 || cfg.appID != eapfront.AppDiameterEAP || cfg.appVendor != 0 {
		t.Fatalf("--retries 0 --app eap: %+v", cfg)
	}
}

// The DERs of one authentication: the first with a new Session-Id from
// Node.NewRequest, the later ones with the same Session-Id and routing
// AVPs, each with its own End-to-End id; the AVPs, their flags and
// vendors as STa / SWm / RFC 4072 want them, and what a decoder reads
// back.
func TestDER(t *testing.T) {
	if err := eapfront.LoadDictionary(dict.Default); err != nil {
		t.Fatal(err)
	}
	node, err := diameter.NewNode(diameter.Config{OriginHost: "twag.test", OriginRealm: "test"},
		[]diameter.App{{ID: eapfront.AppSTa, Vendor: eapfront.Vendor3GPP}}, dict.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	type avpWant struct {
		code, vendor uint32
		flags        uint8
		value        string // "" = not checked
	}
	for _, tc := range []struct {
		name     string
		app      uint32
		destHost string
		state    []byte
	}{
		{"STa", eapfront.AppSTa, "", nil},
		{"SWm with Destination-Host and State", eapfront.AppSWm, "aaa.test", []byte{1, 2, 3, 4}},
		{"Diameter EAP", eapfront.AppDiameterEAP, "", []byte("st")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := newDERTemplate(tc.app, "WLAN")
			user := []byte("6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org")
			eapMsg := []byte{2, 7, 0, 8, 50, 1, 0, 0}
			first := node.NewRequest(eapfront.CmdDiameterEAP, tc.app, "test", tc.destHost)
			first.Header.EndToEndID = 1000
			hdr := append([]*diam.AVP(nil), first.AVP...)
			tmpl.appendBody(first, user, eapMsg, nil)
			later := tmpl.follow(hdr, 1001)
			tmpl.appendBody(later, user, eapMsg, tc.state)

			var sid string
			for i, m := range []*diam.Message{first, later} {
				b, err := m.Serialize()
				if err != nil {
					t.Fatal(err)
				}
				got, err := node.Decode(b)
				if err != nil {
					t.Fatalf("DER %d: %v", i, err)
				}
				h := got.Header
				if h.CommandCode != 268 || h.ApplicationID != tc.app || h.CommandFlags != 0xc0 || h.EndToEndID != uint32(1000+i) {
					t.Fatalf("DER %d header %+v", i, h)
				}
				want := []avpWant{
					{eapfront.AVPSessionID, 0, 0x40, ""},
					{264, 0, 0x40, "twag.test"},
					{296, 0, 0x40, "test"},
					{283, 0, 0x40, "test"},
				}
				if tc.destHost != "" {
					want = append(want, avpWant{293, 0, 0x40, tc.destHost})
				}
				want = append(want,
					avpWant{eapfront.AVPAuthApplicationID, 0, 0x40, ""},
					avpWant{eapfront.AVPAuthRequestType, 0, 0x40, ""},
					avpWant{eapfront.AVPUserName, 0, 0x40, string(user)},
					avpWant{eapfront.AVPEAPPayload, 0, 0x40, string(eapMsg)})
				if i == 1 && tc.state != nil {
					want = append(want, avpWant{eapfront.AVPState, 0, 0x40, string(tc.state)})
				}
				want = append(want,
					avpWant{eapfront.AVPRATType, 10415, 0x80, ""},
					avpWant{eapfront.AVPANID, 10415, 0xc0, "WLAN"})
				if len(got.AVP) != len(want) {
					t.Fatalf("DER %d: %d AVPs, want %d: %v", i, len(got.AVP), len(want), got)
				}
				for j, w := range want {
					a := got.AVP[j]
					if a.Code != w.code || a.VendorID != w.vendor || a.Flags != w.flags {
						t.Fatalf("DER %d AVP %d: code %d vendor %d flags %#x, want %d %d %#x", i, j, a.Code, a.VendorID, a.Flags, w.code, w.vendor, w.flags)
					}
					if w.value != "" {
						if v, ok := octets(got, w.code, w.vendor); !ok || string(v) != w.value {
							t.Fatalf("DER %d AVP %d: %q, want %q", i, w.code, v, w.value)
						}
					}
				}
				if v, _ := got.FindAVP(eapfront.AVPAuthApplicationID, 0); v.Data.(datatype.Unsigned32) != datatype.Unsigned32(tc.app) {
					t.Fatalf("Auth-Application-Id %v", v.Data)
				}
				if v, _ := got.FindAVP(eapfront.AVPAuthRequestType, 0); v.Data.(datatype.Enumerated) != 3 {
					t.Fatalf("Auth-Request-Type %v", v.Data)
				}
				if v, _ := got.FindAVP(eapfront.AVPRATType, 10415); v.Data.(datatype.Enumerated) != 0 {
					t.Fatalf("RAT-Type %v", v.Data)
				}
				s, _ := octets(got, eapfront.AVPSessionID, 0)
				if i == 0 {
					sid = string(s)
					if !strings.HasPrefix(sid, "twag.test;") {
						t.Fatalf("Session-Id %q", sid)
					}
				} else if string(s) != sid {
					t.Fatalf("Session-Id %q, then %q", sid, s)
				}
			}
		})
	}
}

func TestParseDEA(t *testing.T) {
	const sid = "twag.test;1;2"
	answer := func(flags uint8, avps ...*diam.AVP) *diam.Message {
		m := diam.NewMessage(eapfront.CmdDiameterEAP, flags, eapfront.AppSTa, 1, 1, dict.Default)
		m.AddAVP(diam.NewAVP(eapfront.AVPSessionID, 0x40, 0, datatype.UTF8String(sid)))
		for _, a := range avps {
			m.AddAVP(a)
		}
		return m
	}
	rc := func(c uint32) *diam.AVP { return diam.NewAVP(avpResultCode, 0x40, 0, datatype.Unsigned32(c)) }
	exp := func(vendor, c uint32) *diam.AVP {
		return diam.NewAVP(avpExperimentalResult, 0x40, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(avpVendorID, 0x40, 0, datatype.Unsigned32(vendor)),
			diam.NewAVP(avpExperimentalResultCd, 0x40, 0, datatype.Unsigned32(c)),
		}})
	}
	oct := func(code uint32, v string) *diam.AVP { return diam.NewAVP(code, 0x40, 0, datatype.OctetString(v)) }
	msk := strings.Repeat("k", 64)
	for _, tc := range []struct {
		name    string
		m       *diam.Message
		want    dea
		wantErr bool
	}{
		{"multi-round", answer(0, rc(1001), oct(eapfront.AVPEAPPayload, "\x01\x02"), oct(eapfront.AVPState, "st")),
			dea{result: 1001, hasResult: true, sessionID: sid, eap: "\x01\x02", state: "st"}, false},
		{"success", answer(0, rc(2001), oct(eapfront.AVPEAPPayload, "\x03\x02\x00\x04"), oct(eapfront.AVPEAPMasterSessionKey, msk), oct(eapfront.AVPEAPKeyName, "n")),
			dea{result: 2001, hasResult: true, sessionID: sid, eap: "\x03\x02\x00\x04", msk: msk, hasMSK: true, keyName: true}, false},
		{"rejected", answer(0, rc(4001), oct(eapfront.AVPEAPPayload, "\x04\x02\x00\x04")),
			dea{result: 4001, hasResult: true, sessionID: sid, eap: "\x04\x02\x00\x04"}, false},
		{"protocol error, E bit", answer(0x20, rc(3002)), dea{result: 3002, hasResult: true, sessionID: sid}, false},
		{"experimental", answer(0, exp(10415, 5001)),
			dea{result: 5001, vendor: 10415, experimental: true, hasResult: true, sessionID: sid}, false},
		{"Result-Code wins", answer(0, exp(10415, 5001), rc(5012)), dea{result: 5012, hasResult: true, sessionID: sid}, false},
		{"no result", answer(0, oct(eapfront.AVPEAPPayload, "\x01")), dea{}, true},
		{"a request", answer(0x80, rc(2001)), dea{}, true},
		{"Result-Code of the wrong type", answer(0, diam.NewAVP(avpResultCode, 0x40, 0, datatype.OctetString("x"))), dea{}, true},
		{"other command", func() *diam.Message {
			m := answer(0, rc(2001))
			m.Header.CommandCode = 265
			return m
		}(), dea{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got dea
			err := parseDEA(tc.m, &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
