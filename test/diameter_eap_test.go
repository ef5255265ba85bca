package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/diameter/eapfront"
	"github.com/aaa-project/aaa/internal/capture"
	"github.com/aaa-project/aaa/internal/fdtest"
)

// diameterEAPReadyMsg is what aaad logs once it serves Diameter EAP.
const diameterEAPReadyMsg = "diameter eap listening"

// eapNodeConfig writes the configuration of an aaad serving Diameter EAP
// only (the contract), with hssSection as its hss section.
func eapNodeConfig(t *testing.T, dir string, port int, hssSection string, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`log: {level: debug}
diameter: {origin_host: aaa.test, origin_realm: test, %s}
diameter_eap:
  listen: %s
  peers: [twag.test, relay.test]
eap: {methods: [aka-prime, aka], network_name: WLAN}
%s
store: {backend: memory}
%s`, diameterTimers, yamlString(fmt.Sprintf("127.0.0.1:%d", port)), hssSection, extra)
	path := filepath.Join(dir, "aaad.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeCSV writes subscribers into dir/name.
func writeCSV(t *testing.T, dir, name string, subs []subscriber) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(subscribersCSV(subs)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// benchResult is what the tests read of aaabench's JSON summary.
type benchResult struct {
	OK          uint64            `json:"ok"`
	Failures    map[string]uint64 `json:"failures"`
	Resyncs     uint64            `json:"resyncs"`
	EAPKeyNames *uint64           `json:"eap_key_names"`
}

// twag runs aaabench as the gateway twag.test through addr (peer host
// peer) for the USIMs of csv, count authentications.
func twag(t *testing.T, addr, peer, csv, method string, count int) benchResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aaabenchPath, "--diameter", addr, "--peer-host", peer,
		"--origin-host", "twag.test", "--origin-realm", "test", "--destination-realm", "test",
		"--subscribers", csv, "--method", method, "--count", fmt.Sprint(count), "--concurrency", "2",
		"--timeout", "2s", "--json", "--quiet")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r benchResult
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
		t.Fatalf("aaabench: %v (%v)\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}
	return r
}

// relayFor starts freeDiameterd as relay.test connecting to aaad's
// Diameter EAP port, and waits until both sides are open.
func relayFor(t *testing.T, aaa *server, port int) *fdtest.Relay {
	t.Helper()
	relay := fdtest.Start(t, fdtest.Config{
		Identity: "relay.test", Realm: "test",
		AllowedHosts: []string{"twag.test", "aaa.test"},
		ConnectPeers: []fdtest.Peer{{Host: "aaa.test", Port: port}},
	})
	aaa.waitPeerOpen(t, "relay.test")
	relay.WaitPeerOpen(t, "aaa.test", readyTimeout)
	return relay
}

// Diameter EAP (STa) between aaabench as a trusted WLAN gateway and aaad,
// relayed by freeDiameterd: EAP-AKA' and EAP-AKA succeed with the MSK
// checked on every success, a USIM ahead resynchronises, an unknown IMSI
// is rejected, a retransmitted DER gets the same DEA; tshark decodes every
// message of the run with nothing malformed.
func TestDiameterEAPThroughFreeDiameter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var subs []subscriber
	for i := 0; i < 8; i++ {
		subs = append(subs, ts1Subscriber(fmt.Sprintf("00101000000020%d", i), "000000000000"))
	}
	const imsiResync, imsiRetransmit = "001010000000210", "001010000000211"
	subs = append(subs, ts1Subscriber(imsiResync, "000000000000"), ts1Subscriber(imsiRetransmit, "000000000000"))
	hssCSV := writeCSV(t, dir, "subs.csv", subs)

	port := freeTCPPort(t)
	capt := capture.Start(t, port)
	admin := "admin: {listen: " + yamlString("unix:"+filepath.Join(dir, "admin.sock")) + "}\n"
	aaa := startWith(t, eapNodeConfig(t, dir, port, "hss: {backend: local, subscribers: "+yamlString(hssCSV)+"}", admin), diameterEAPReadyMsg)
	relay := relayFor(t, aaa, port)

	for _, method := range []string{"aka-prime", "aka"} {
		t.Run(method, func(t *testing.T) {
			r := twag(t, relay.Addr, "relay.test", writeCSV(t, t.TempDir(), "usims.csv", subs[:8]), method, 16)
			if r.OK != 16 || len(r.Failures) != 0 {
				t.Fatalf("%d ok, failures %v; want 16 and none", r.OK, r.Failures)
			}
			if r.EAPKeyNames == nil || *r.EAPKeyNames != 16 {
				t.Errorf("EAP-Key-Name in %v of 16 successes", r.EAPKeyNames)
			}
		})
	}
	t.Run("resync", func(t *testing.T) {
		ahead := []subscriber{ts1Subscriber(imsiResync, "000000001000")}
		r := twag(t, relay.Addr, "relay.test", writeCSV(t, t.TempDir(), "usims.csv", ahead), "aka-prime", 1)
		if r.OK != 1 || r.Resyncs != 1 {
			t.Fatalf("%d ok, %d resyncs, failures %v; want 1, 1", r.OK, r.Resyncs, r.Failures)
		}
	})
	t.Run("unknown IMSI", func(t *testing.T) {
		unknown := []subscriber{ts1Subscriber("001019999999998", "000000000000")}
		r := twag(t, relay.Addr, "relay.test", writeCSV(t, t.TempDir(), "usims.csv", unknown), "aka-prime", 1)
		if r.OK != 0 || r.Failures["result_4001"] != 1 {
			t.Fatalf("%d ok, failures %v; want DIAMETER_AUTHENTICATION_REJECTED", r.OK, r.Failures)
		}
	})
	t.Run("retransmitted DER, then ASR on command", func(t *testing.T) {
		gw := startGateway(t, relay.Addr, "relay.test")
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		id := "6" + imsiRetransmit + "@" + realm
		first := gw.der("twag.test;retransmit;1", id)
		e2e := first.Header.EndToEndID
		a1, err := gw.n.Request(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		again := gw.der("twag.test;retransmit;1", id)
		again.Header.EndToEndID = e2e
		again.Header.CommandFlags |= diam.RetransmittedFlag
		a2, err := gw.n.Request(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := payload(a1), payload(a2)
		if len(p1) == 0 || !bytes.Equal(p1, p2) || result(a1) != 1001 || result(a2) != 1001 {
			t.Fatalf("DEAs differ: %d %x / %d %x", result(a1), p1, result(a2), p2)
		}

		// On command: aaactl deregister on the AAA node ends the
		// subscriber's sessions with ASRs to the gateway (through the
		// relay), in their own Session-Ids.
		out, err := exec.Command(aaactlPath, "--config", aaa.CfgPath, "deregister", subs[0].IMSI).CombinedOutput()
		if err != nil || !strings.Contains(out2s(out), "sessions ended") {
			t.Fatalf("aaactl deregister: %v: %s", err, out)
		}
		select {
		case asr := <-gw.asr:
			if a, err := asr.FindAVP(avp.SessionID, 0); err != nil || !strings.HasPrefix(string(a.Data.(datatype.UTF8String)), "twag.test;") {
				t.Errorf("ASR outside the gateway's sessions")
			}
		case <-time.After(checkTimeout):
			t.Fatal("no ASR reached the gateway")
		}
	})

	stopNode(t, aaa)
	pcap := capt.Stop(t)
	msgs := capture.Diameter(t, pcap, port)
	capture.Check(t, msgs)
	var der, dea, success int
	for _, m := range msgs {
		if m.Command == eapfront.CmdDiameterEAP && m.App == eapfront.AppSTa {
			if m.Request {
				der++
			} else {
				dea++
				if m.Result == 2001 {
					success++
				}
			}
		}
	}
	if der == 0 || dea != der || success < 33 {
		t.Errorf("tshark saw %d DERs, %d DEAs (%d successes) in application STa", der, dea, success)
	}
	t.Logf("tshark decoded %d Diameter messages: %d DER, %d DEA, %d DIAMETER_SUCCESS", len(msgs), der, dea, success)
}

// gateway is a trusted WLAN gateway (twag.test) of our own: it sends
// DERs and records the ASRs it gets, answering them 2001.
type gateway struct {
	n   *diameter.Node
	asr chan *diam.Message
}

func (g *gateway) ServeDiameter(_ context.Context, req *diam.Message) *diam.Message {
	if req.Header.CommandCode == eapfront.CmdAbortSession {
		select {
		case g.asr <- req:
		default:
		}
		return g.n.Answer(req, 2001)
	}
	return g.n.Answer(req, 3001)
}

func startGateway(t *testing.T, addr, peer string) *gateway {
	t.Helper()
	if err := eapfront.LoadDictionary(dict.Default); err != nil {
		t.Fatal(err)
	}
	n, err := diameter.NewNode(diameter.Config{OriginHost: "twag.test", OriginRealm: "test",
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond},
		[]diameter.App{{ID: eapfront.AppSTa, Vendor: eapfront.Vendor3GPP}}, dict.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{n: n, asr: make(chan *diam.Message, 4)}
	n.Handle(eapfront.AppSTa, g)
	if err := n.Connect([]diameter.PeerConfig{{Host: peer, Address: addr}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := n.WaitOpen(ctx, peer); err != nil {
		t.Fatal(err)
	}
	return g
}

// der is a DER of the STa application in session sid with the
// EAP-Response/Identity id.
func (g *gateway) der(sid, id string) *diam.Message {
	m := g.n.NewRequestInSession(eapfront.CmdDiameterEAP, eapfront.AppSTa, sid, "test", "")
	m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(eapfront.AppSTa))
	m.NewAVP(avp.AuthRequestType, avp.Mbit, 0, datatype.Enumerated(eapfront.AuthRequestAuthorizeAuthenticate))
	m.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String(id))
	m.NewAVP(eapfront.AVPEAPPayload, avp.Mbit, 0, datatype.OctetString(append([]byte{2, 1, 0, byte(5 + len(id)), 1}, id...)))
	m.NewAVP(eapfront.AVPRATType, avp.Vbit, eapfront.Vendor3GPP, datatype.Enumerated(0))
	m.NewAVP(eapfront.AVPANID, avp.Mbit|avp.Vbit, eapfront.Vendor3GPP, datatype.UTF8String("WLAN"))
	return m
}

func result(m *diam.Message) uint32 {
	if a, err := m.FindAVP(avp.ResultCode, 0); err == nil {
		return uint32(a.Data.(datatype.Unsigned32))
	}
	return 0
}

func payload(m *diam.Message) []byte {
	if a, err := m.FindAVP(eapfront.AVPEAPPayload, 0); err == nil {
		return []byte(a.Data.(datatype.OctetString))
	}
	return nil
}

// A user authenticated over Diameter EAP (through freeDiameterd) from an
// AAA node whose HSS is another aaad over SWx: `aaactl deregister` at the
// HSS sends an RTR, and the AAA node ends the session with an ASR that
// reaches the gateway, in the session's Session-Id.
func TestDiameterEAPASRAfterDeregister(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000220"
	dir := t.TempDir()
	subs := []subscriber{ts1Subscriber(imsi, "000000000000")}
	hss := startHSSNode(t, "hss.test", 0, subs)
	port := freeTCPPort(t)
	hssSection := fmt.Sprintf("hss:\n  backend: swx\n  swx:\n    destination_realm: test\n    peers:\n      - {host: hss.test, address: %s}", yamlString(hss.Addr))
	aaa := startWith(t, eapNodeConfig(t, dir, port, hssSection, ""), diameterEAPReadyMsg)
	aaa.waitPeerOpen(t, "hss.test")
	relay := relayFor(t, aaa, port)

	r := twag(t, relay.Addr, "relay.test", writeCSV(t, dir, "usims.csv", subs), "aka-prime", 1)
	if r.OK != 1 || len(r.Failures) != 0 {
		t.Fatalf("%d ok, failures %v", r.OK, r.Failures)
	}
	// aaabench is gone; the gateway that takes the ASR connects as
	// twag.test.
	gw := startGateway(t, relay.Addr, "relay.test")
	out := hss.deregister(t, imsi)
	if !strings.Contains(out, "aaa.test") || !strings.Contains(out, "2001") {
		t.Errorf("aaactl deregister said %q, want the RTR to aaa.test answered 2001", out)
	}
	select {
	case asr := <-gw.asr:
		a, err := asr.FindAVP(avp.SessionID, 0)
		if err != nil || !strings.HasPrefix(string(a.Data.(datatype.UTF8String)), "twag.test;") {
			t.Errorf("ASR not in the gateway's session: %v", a)
		}
	case <-time.After(checkTimeout):
		t.Fatal("no ASR reached the gateway")
	}
	aaa.log.waitFor(t, "the session ended with an acknowledged ASR", checkTimeout, func(lines []string) bool {
		for _, e := range logEntries(lines, "session ended") {
			if e["acked"] == true {
				return true
			}
		}
		return false
	})
}

func out2s(b []byte) string { return string(b) }
