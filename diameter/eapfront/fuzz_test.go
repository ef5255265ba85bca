package eapfront

import (
	"context"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/session"
	"github.com/aaa-project/aaa/store/memory"
)

// FuzzDER feeds what a gateway could send through the base's read path
// (header bounds, AVP walk, go-diameter) into the front end, with a real
// EAP server behind it: nothing may panic, and every request that gets an
// answer gets one with its identifiers.
func FuzzDER(f *testing.F) {
	if err := LoadDictionary(dict.Default); err != nil {
		f.Fatal(err)
	}
	apps := []diameter.App{{ID: AppSTa, Vendor: Vendor3GPP}, {ID: AppSWm, Vendor: Vendor3GPP}, {ID: AppDiameterEAP}}
	node, err := diameter.NewNode(diameter.Config{OriginHost: "aaa.test", OriginRealm: "test"}, apps, dict.Default, nil)
	if err != nil {
		f.Fatal(err)
	}
	sealer := hss.NewEphemeralSealer()
	subs, _ := memory.NewSubscriberStore([]hss.Subscriber{{IMSI: testIMSI, AMF: 0x8000}}, sealer)
	vectors, _ := hss.NewLocal(subs, hss.LocalConfig{Sealer: sealer, INDBits: 5})
	e, err := eap.NewServer(eap.ServerConfig{Methods: []eap.Type{eap.TypeAKAPrime, eap.TypeAKA}, NetworkName: "WLAN",
		Timeout: time.Minute}, vectors, memory.NewEAPStore(memory.EAPConfig{MaxConversations: 1000, MaxBytes: 1 << 20}))
	if err != nil {
		f.Fatal(err)
	}
	front, err := New(node, e, Config{Sessions: session.NewTable(session.Config{}), MaxSessions: 1000, DuplicateMax: 1000})
	if err != nil {
		f.Fatal(err)
	}
	for _, app := range []uint32{AppSTa, AppSWm, AppDiameterEAP} {
		m := node.NewRequest(CmdDiameterEAP, app, "test", "")
		m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app))
		m.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(AuthRequestAuthorizeAuthenticate))
		m.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("6"+testIMSI+"@"+testRealm))
		m.NewAVP(AVPEAPPayload, avp.Mbit, 0, datatype.OctetString(identity))
		m.NewAVP(AVPRATType, avp.Vbit, Vendor3GPP, datatype.Enumerated(0))
		m.NewAVP(AVPANID, avp.Mbit|avp.Vbit, Vendor3GPP, datatype.UTF8String("WLAN"))
		b, _ := m.Serialize()
		f.Add(b)
	}
	for _, cmd := range []uint32{CmdSessionTermination, CmdAA, CmdAbortSession} {
		m := node.NewRequest(cmd, AppSWm, "test", "")
		m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSWm))
		m.NewAVP(AVPServiceSelection, avp.Mbit, 0, datatype.UTF8String("internet"))
		b, _ := m.Serialize()
		f.Add(b)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := node.Decode(b)
		if err != nil {
			return
		}
		ans := front.ServeDiameter(ctx, m)
		if ans == nil {
			return
		}
		if ans.Header.HopByHopID != m.Header.HopByHopID || ans.Header.EndToEndID != m.Header.EndToEndID {
			t.Fatal("answer with other identifiers")
		}
		if _, err := ans.Serialize(); err != nil {
			t.Fatal(err)
		}
	})
}
