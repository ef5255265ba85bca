package diameter

import (
	"bufio"
	"bytes"
	"net"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// FuzzDecode feeds what a peer could send through the read path: framing,
// the AVP walk, go-diameter's decoding, and what the base reads from a
// message (results, identities, applications). Nothing may panic.
func FuzzDecode(f *testing.F) {
	cer := diam.NewRequest(CmdCapabilitiesExchange, 0, dict.Default)
	cer.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	cer.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity("test"))
	cer.NewAVP(avpHostIPAddress, avpFlagM, 0, datatype.Address(net.IPv4(127, 0, 0, 1)))
	cer.NewAVP(avpVendorSpecificAppID, avpFlagM, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(testVendor)),
		diam.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(testApp)),
	}})
	b, _ := cer.Serialize()
	f.Add(b)
	mar := diam.NewRequest(testCmd, testApp, dict.Default)
	mar.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String("aaa.test;1;2"))
	mar.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity("aaa.test"))
	mar.NewAVP(1, avpFlagM, 0, datatype.UTF8String("001010000000001"))
	mar.NewAVP(612, avpFlagM|avpFlagVendor, testVendor, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(608, avpFlagM|avpFlagVendor, testVendor, datatype.UTF8String("EAP-AKA'")),
		diam.NewAVP(610, avpFlagM|avpFlagVendor, testVendor, datatype.OctetString(make([]byte, 30))),
	}})
	mar.NewAVP(avpExperimentalResult, avpFlagM, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(testVendor)),
		diam.NewAVP(avpExperimentalResultCd, avpFlagM, 0, datatype.Unsigned32(5001)),
	}})
	b, _ = mar.Serialize()
	f.Add(b)
	// Grouped AVPs nested deep.
	nested := &diam.GroupedAVP{AVP: []*diam.AVP{diam.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(1))}}
	for i := 0; i < 12; i++ {
		nested = &diam.GroupedAVP{AVP: []*diam.AVP{diam.NewAVP(avpVendorSpecificAppID, avpFlagM, 0, nested)}}
	}
	deep := diam.NewRequest(testCmd, testApp, dict.Default)
	deep.NewAVP(avpVendorSpecificAppID, avpFlagM, 0, nested)
	b, _ = deep.Serialize()
	f.Add(b)

	n, err := NewNode(Config{OriginHost: "hss.test", OriginRealm: "test"}, testApps, dict.Default, nil)
	if err != nil {
		f.Fatal(err)
	}
	c := newConn(n, nil, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= headerLen {
			// Mostly a consistent header, so that the body is reached.
			l := len(b) &^ 3
			b = b[:l]
			b[0], b[1], b[2], b[3] = 1, byte(l>>16), byte(l>>8), byte(l)
		}
		frame, h, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 1<<16)
		if err != nil {
			return
		}
		m, err := c.decode(frame)
		if err != nil {
			return
		}
		ResultCode(m)
		peerApps(m)
		identityOf(findAVP(m.AVP, avpOriginHost, 0))
		rawSessionID(frame)
		if h.request() {
			n.Answer(m, ResultSuccess).Serialize()
		}
		m.Serialize()
	})
}
