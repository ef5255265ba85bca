package test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// A peer of the HSS node that sends a command nobody knows gets
// DIAMETER_COMMAND_UNSUPPORTED and keeps its connection: its next MAR is
// answered on it.
func TestSWxUnknownCommandKeepsConnection(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000131"
	hss := startHSSNode(t, "hss.test", 0, []subscriber{ts1Subscriber(imsi, "000000000000")}, "probe.test")
	nc, err := net.Dial("tcp", hss.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(checkTimeout))
	br := bufio.NewReader(nc)
	send := func(m *diam.Message) {
		t.Helper()
		if _, err := m.WriteTo(nc); err != nil {
			t.Fatal(err)
		}
	}
	read := func() *diam.Message {
		t.Helper()
		m, err := diam.ReadMessage(br, dict.Default)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return m
	}
	resultCode := func(m *diam.Message) uint32 {
		a, err := m.FindAVP(avp.ResultCode, 0)
		if err != nil {
			return 0
		}
		return uint32(a.Data.(datatype.Unsigned32))
	}
	origin := func(m *diam.Message) {
		m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("probe.test"))
		m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
	}
	const swxApp, vendor = 16777265, 10415
	cer := diam.NewRequest(diam.CapabilitiesExchange, 0, dict.Default)
	origin(cer)
	cer.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.IPv4(127, 0, 0, 1)))
	cer.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(0))
	cer.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String("probe"))
	cer.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor)),
		diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(swxApp)),
	}})
	send(cer)
	if rc := resultCode(read()); rc != 2001 {
		t.Fatalf("CEA %d", rc)
	}
	unknown := diam.NewMessage(9999, diam.RequestFlag|diam.ProxiableFlag, swxApp, 7, 7, dict.Default)
	unknown.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("probe.test;1;1"))
	origin(unknown)
	send(unknown)
	// go-diameter cannot read an answer to a command its dictionary
	// lacks either: read it by hand.
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3])-20)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	var rc uint32
	for b := body; len(b) >= 8; {
		l := int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		if l < 8 || l > len(b) {
			break
		}
		if binary.BigEndian.Uint32(b) == avp.ResultCode && l == 12 {
			rc = binary.BigEndian.Uint32(b[8:])
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	if hbh := binary.BigEndian.Uint32(hdr[12:]); rc != 3001 || hbh != 7 || hdr[4]&diam.ErrorFlag == 0 {
		t.Fatalf("answer to an unknown command: Result-Code %d, hop-by-hop %d, flags %#x; want 3001 with the E bit", rc, hbh, hdr[4])
	}
	mar := diam.NewMessage(303, diam.RequestFlag|diam.ProxiableFlag, swxApp, 8, 8, dict.Default)
	mar.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("probe.test;1;2"))
	mar.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor)),
		diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(swxApp)),
	}})
	mar.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	origin(mar)
	mar.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
	mar.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String(imsi))
	mar.NewAVP(607, avp.Mbit|avp.Vbit, vendor, datatype.Unsigned32(1))
	mar.NewAVP(612, avp.Mbit|avp.Vbit, vendor, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(608, avp.Mbit|avp.Vbit, vendor, datatype.UTF8String("EAP-AKA")),
	}})
	send(mar)
	maa := read()
	if rc := resultCode(maa); rc != 2001 || maa.Header.HopByHopID != 8 {
		t.Fatalf("MAA after the unknown command: Result-Code %d hop-by-hop %d", rc, maa.Header.HopByHopID)
	}
	if items, _ := maa.FindAVPs(612, vendor); len(items) != 1 {
		t.Fatalf("MAA with %d SIP-Auth-Data-Items, want 1", len(items))
	}
}
