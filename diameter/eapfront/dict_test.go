package eapfront

import (
	"bytes"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// The AVPs STa, SWm and Diameter EAP share (ANID, RAT-Type, EAP-Payload)
// decode in each application's messages, with their types.
func TestDictionary(t *testing.T) {
	if err := LoadDictionary(dict.Default); err != nil {
		t.Fatal(err)
	}
	if err := LoadDictionary(dict.Default); err != nil {
		t.Fatal("second load:", err)
	}
	for _, app := range []uint32{AppDiameterEAP, AppSTa, AppSWm} {
		m := diam.NewRequest(CmdDiameterEAP, app, dict.Default)
		m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("twag.test;1;1"))
		m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app))
		m.NewAVP(AVPEAPPayload, avp.Mbit, 0, datatype.OctetString([]byte{2, 1, 0, 5, 1}))
		m.NewAVP(AVPANID, avp.Mbit|avp.Vbit, Vendor3GPP, datatype.UTF8String("WLAN"))
		m.NewAVP(AVPRATType, avp.Vbit, Vendor3GPP, datatype.Enumerated(0))
		m.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(AuthRequestAuthorizeAuthenticate))
		b, err := m.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		got, err := diam.ReadMessage(bytes.NewReader(b), dict.Default)
		if err != nil {
			t.Fatalf("app %d: %v", app, err)
		}
		for _, want := range []struct {
			code, vendor uint32
			typ          datatype.TypeID
		}{
			{AVPEAPPayload, 0, datatype.OctetStringType},
			{AVPANID, Vendor3GPP, datatype.UTF8StringType},
			{AVPRATType, Vendor3GPP, datatype.EnumeratedType},
			{AVPAuthRequestType, 0, datatype.EnumeratedType},
		} {
			a, err := got.FindAVP(want.code, want.vendor)
			if err != nil {
				t.Fatalf("app %d: AVP %d not found: %v", app, want.code, err)
			}
			if a.Data.Type() != want.typ {
				t.Errorf("app %d: AVP %d decoded as type %d, want %d", app, want.code, a.Data.Type(), want.typ)
			}
		}
	}
	if _, err := dict.Default.FindCommand(AppSWm, CmdAA); err != nil {
		t.Error("no AAR in SWm")
	}
}
