package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap/zaptest"

	"github.com/aaa-project/aaa/diameter"
)

const (
	swxApp    = 16777265 // 3GPP SWx (TS 29.273)
	vendor3GP = 10415
	cmdMAR    = 303
	cmdDPR    = 282

	avpUserName          = 1
	avpSIPNumberAuthItem = 607 // 3GPP, V and M
)

type answerer struct{ n *diameter.Node }

func (a answerer) ServeDiameter(_ context.Context, req *diam.Message) *diam.Message {
	return a.n.Answer(req, diameter.ResultSuccess)
}

func newNode(t *testing.T, host string) *diameter.Node {
	t.Helper()
	n, err := diameter.NewNode(diameter.Config{OriginHost: host, OriginRealm: "test", Watchdog: 30 * time.Second,
		RequestTimeout: 5 * time.Second, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
		[]diameter.App{{ID: swxApp, Vendor: vendor3GP}}, dict.Default, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNode(t, n) })
	return n
}

func closeNode(t *testing.T, n *diameter.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// Two of our Diameter nodes on loopback: tshark sees the CER/CEA, one
// MAR/MAA, and the DPR/DPA of the client's close, in order, all clean.
func TestCaptureDiameterExchange(t *testing.T) {
	server := newNode(t, "hss.test")
	server.Handle(swxApp, answerer{server})
	addr, err := server.Listen(diameter.ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}})
	if err != nil {
		t.Fatal(err)
	}
	port := addr.(*net.TCPAddr).Port

	c := Start(t, port)

	client := newNode(t, "aaa.test")
	if err := client.Connect([]diameter.PeerConfig{{Host: "hss.test", Address: addr.String()}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	req := client.NewRequest(cmdMAR, swxApp, "test", "hss.test")
	req.NewAVP(avpUserName, 0x40, 0, datatype.UTF8String("001010000000001"))
	req.NewAVP(avpSIPNumberAuthItem, 0xc0, vendor3GP, datatype.Unsigned32(1))
	ans, err := client.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rc, _ := diameter.ResultCode(ans); rc != diameter.ResultSuccess {
		t.Fatalf("Result-Code %d", rc)
	}
	closeNode(t, client) // DPR, and waits for the DPA

	pcap := c.Stop(t)
	msgs := Diameter(t, pcap, port)
	Check(t, msgs)

	type seen struct {
		cmd uint32
		req bool
	}
	var got []seen
	for _, m := range msgs {
		got = append(got, seen{m.Command, m.Request})
	}
	want := []seen{{257, true}, {257, false}, {cmdMAR, true}, {cmdMAR, false}, {cmdDPR, true}, {cmdDPR, false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tshark decoded %v, want %v (command, request)\n%s", got, want, summary(msgs))
	}
	for _, m := range msgs {
		if !m.Request && m.Result != diameter.ResultSuccess {
			t.Errorf("%v: want Result-Code 2001", m)
		}
		if m.Command == cmdMAR && m.App != swxApp {
			t.Errorf("%v: want application %d", m, swxApp)
		}
	}
	if msgs[2].HopByHop != msgs[3].HopByHop {
		t.Errorf("MAR and MAA hop-by-hop differ: %v / %v", msgs[2], msgs[3])
	}
}

func summary(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %v\n", m)
		for _, e := range m.Expert {
			fmt.Fprintf(&b, "    %v\n", e)
		}
	}
	return b.String()
}

// Several messages in one TCP segment: each is a Message of its own, with
// its own Result-Code.
func TestCaptureSeveralMessagesInOneSegment(t *testing.T) {
	var seg []byte
	seg = append(seg, rawMessage(257, 0x80, 1, avp(264, 0x40, 0, []byte("aaa.test")), avp(296, 0x40, 0, []byte("test")))...)
	seg = append(seg, rawMessage(280, 0x00, 2, avp(268, 0x40, 0, u32(3004)), avp(264, 0x40, 0, []byte("aaa.test")), avp(296, 0x40, 0, []byte("test")))...)
	seg = append(seg, rawMessage(280, 0x80, 3, avp(264, 0x40, 0, []byte("aaa.test")), avp(296, 0x40, 0, []byte("test")))...)
	msgs := captureRaw(t, seg)
	if len(msgs) != 3 {
		t.Fatalf("want 3 messages, got:\n%s", summary(msgs))
	}
	if msgs[0].Frame != msgs[2].Frame {
		t.Fatalf("the messages were not in one segment (frames %d, %d): the test proves nothing", msgs[0].Frame, msgs[2].Frame)
	}
	if msgs[0].Command != 257 || !msgs[0].Request || msgs[0].Result != 0 ||
		msgs[1].Command != 280 || msgs[1].Request || msgs[1].Result != 3004 ||
		msgs[2].Command != 280 || !msgs[2].Request || msgs[2].Result != 0 || msgs[2].HopByHop != 3 {
		t.Fatalf("messages misread:\n%s", summary(msgs))
	}
	if probs := Problems(msgs); len(probs) != 0 {
		t.Fatalf("clean messages reported: %v", probs)
	}
}

// Check fails on what Wireshark flags: an AVP whose length runs past the
// end of its message, a 3GPP AVP sent without its vendor (an unknown AVP
// to Wireshark), a message cut short.
func TestCheckFailsOnMalformed(t *testing.T) {
	origin := [][]byte{avp(264, 0x40, 0, []byte("aaa.test")), avp(296, 0x40, 0, []byte("test"))}
	cases := []struct {
		name string
		seg  []byte
		want string // in the problems
	}{
		{
			// Origin-Realm claims 100 octets; 12 are left in the message.
			name: "AVP length past the message",
			seg: rawMessage(257, 0x80, 1, origin[0],
				[]byte{0, 0, 0x01, 0x28, 0x40, 0, 0, 100, 't', 'e', 's', 't'}),
			want: "Wrong AVP(296) length 100",
		},
		{
			// SIP-Number-Auth-Items (607) is 3GPP's: without the V bit
			// and vendor it is no AVP Wireshark knows.
			name: "3GPP AVP without its vendor",
			seg:  rawMessage(257, 0x80, 1, origin[0], origin[1], avp(607, 0x40, 0, u32(1))),
			want: "Unknown AVP",
		},
		{
			// Vendor-Specific-Application-Id holds 4 octets: too few
			// for the AVP header inside, the dissector throws.
			name: "grouped AVP too short for an AVP inside",
			seg:  rawMessage(257, 0x80, 1, origin[0], origin[1], avp(260, 0x40, 0, u32(266))),
			want: "Malformed",
		},
		{
			// The header says 64 octets, 48 come, then the connection
			// ends: Wireshark never completes the message.
			name: "message cut short",
			seg:  setLength(rawMessage(257, 0x80, 1, origin...), 64),
			want: "part of no Diameter message",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := captureRaw(t, tc.seg)
			probs := Problems(msgs)
			if !strings.Contains(strings.Join(probs, "\n"), tc.want) {
				t.Fatalf("problems %q, want one with %q; decoded:\n%s", probs, tc.want, summary(msgs))
			}
			rec := &recorder{TB: t}
			if Check(rec, msgs) || !rec.failed {
				t.Fatal("Check passed")
			}
			t.Logf("Check said: %s", rec.text)
		})
	}
}

// recorder is a testing.TB whose Errorf is recorded, not reported.
type recorder struct {
	testing.TB
	failed bool
	text   string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.text += fmt.Sprintf(format, args...)
}

// captureRaw sends b on one TCP connection to a listener of the test
// (which reads it all), captured, and returns what tshark decodes as
// Diameter on the listener's port.
func captureRaw(t *testing.T, b []byte) []Message {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	c := Start(t, port)

	got := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(conn, make([]byte, len(b)))
		got <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil { // one write: one segment on loopback
		t.Fatal(err)
	}
	if err := <-got; err != nil { // received: so captured (see Stop)
		t.Fatal(err)
	}
	conn.Close()
	return Diameter(t, c.Stop(t), port)
}

// rawMessage is a Diameter message (base application) with the AVPs given,
// encoded by hand.
func rawMessage(cmd uint32, flags byte, hbh uint32, avps ...[]byte) []byte {
	b := make([]byte, 20)
	b[0] = 1
	b[4] = flags
	binary.BigEndian.PutUint32(b[4:8], cmd|uint32(flags)<<24)
	binary.BigEndian.PutUint32(b[12:16], hbh)
	binary.BigEndian.PutUint32(b[16:20], hbh)
	for _, a := range avps {
		b = append(b, a...)
	}
	return setLength(b, len(b))
}

func setLength(b []byte, n int) []byte {
	b[1], b[2], b[3] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

// avp encodes one AVP, padded.
func avp(code uint32, flags byte, vendor uint32, data []byte) []byte {
	h := 8
	if vendor != 0 {
		h = 12
	}
	b := make([]byte, h, h+len(data)+3)
	binary.BigEndian.PutUint32(b[0:4], code)
	n := h + len(data)
	binary.BigEndian.PutUint32(b[4:8], uint32(flags)<<24|uint32(n))
	if vendor != 0 {
		binary.BigEndian.PutUint32(b[8:12], vendor)
	}
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// The expert tap's output as tshark 4.0 prints it (tshark -q -z expert).
func TestParseExpertTap(t *testing.T) {
	out := `
Errors (1)
=============
   Frequency      Group           Protocol  Summary
           1  Malformed           Diameter  Wrong AVP(296) length 100

Warnings (2)
=============
   Frequency      Group           Protocol  Summary
           2  Undecoded           Diameter  Unknown AVP 607 (vendor=Reserved), if you know what this is you can add it to dictionary.xml

Notes (1)
=============
   Frequency      Group           Protocol  Summary
           1   Sequence                TCP  This frame initiates the connection closing
`
	rows, err := parseExpertTap(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []expertRow{
		{"Error", "Malformed", "Diameter", "Wrong AVP(296) length 100", 1},
		{"Warning", "Undecoded", "Diameter", "Unknown AVP 607 (vendor=Reserved), if you know what this is you can add it to dictionary.xml", 2},
		{"Note", "Sequence", "TCP", "This frame initiates the connection closing", 1},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", rows, want)
	}
}
