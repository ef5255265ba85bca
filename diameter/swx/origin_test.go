package swx

import (
	"context"
	"errors"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/aaa-project/aaa/aka"
)

// Only the HSS may deregister a user or change its profile: an RTR or PPR
// from another realm (or, with a destination host, another host) is
// refused and ends nothing.
func TestRTRAndPPRFromElsewhereRefused(t *testing.T) {
	for _, tc := range []struct {
		name       string
		host, dest string // the request's origin host; the client's destination host
		realm      string
		ok         bool
	}{
		{"the HSS", "hss.example.org", "", "example.org", true},
		{"another realm", "hss.evil.org", "", "evil.org", false},
		{"another host, destination host set", "aaa2.example.org", "hss.example.org", "example.org", false},
		{"the destination host", "hss.example.org", "hss.example.org", "example.org", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *ClientConfig, _ *ServerConfig) { c.DestinationHost = tc.dest })
			from := newNode(tc.host, tc.realm)
			for _, req := range []*diam.Message{rtr(from, imsi1), ppr(from, imsi1, &Profile{Barred: true}, 0)} {
				// Through the wire, as the base would hand it over.
				m, _, err := wire(req)
				if err != nil {
					t.Fatal(err)
				}
				ans := r.client.ServeDiameter(context.Background(), m)
				code, _, _ := result(ans)
				if tc.ok && code == ResultAuthorizationRejected || !tc.ok && code != ResultAuthorizationRejected {
					t.Errorf("command %d from %s/%s: Result-Code %d", m.Header.CommandCode, tc.host, tc.realm, code)
				}
			}
			if !tc.ok {
				select {
				case imsi := <-r.ends.ch:
					t.Fatalf("sessions of %s ended on a refused request", imsi)
				default:
				}
				if st := r.client.Stats(); st.RefusedOrigin != 2 || st.RTRReceived != 0 {
					t.Errorf("stats %+v", st)
				}
			}
		})
	}
}

// A SAR must name the host of the connection it came on (unless that is a
// relay): one AAA node cannot register or deregister users for another.
func TestSARFromAnotherPeerRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peer  string
		relay bool
		ok    bool
	}{
		{"its own", "aaa.example.org", false, true},
		{"through a relay", "relay.example.org", true, true},
		{"another node's name", "aaa2.example.org", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(_ *ClientConfig, s *ServerConfig) {
				s.PeerOf = func(context.Context) (string, bool, bool) { return tc.peer, tc.relay, true }
			})
			if _, err := r.client.Vector(ctx, imsi1, wlan); err != nil {
				t.Fatal(err)
			}
			err := r.client.Register(ctx, imsi1)
			if tc.ok != (err == nil) {
				t.Fatalf("Register: %v", err)
			}
			if !tc.ok && (errors.Is(err, aka.ErrUnknownSubscriber) || errors.Is(err, aka.ErrNotAuthorized)) {
				t.Errorf("a refused origin reads as an answer about the subscriber: %v", err)
			}
		})
	}
}

// A fault of the HSS's store is DIAMETER_TOO_BUSY, which sends the AAA
// server to another HSS, not an answer about the subscriber.
func TestAuCFaultIsTooBusy(t *testing.T) {
	aaa, hss := pair()
	s, err := NewServer(hss, ServerConfig{AuC: failingAuC{}})
	if err != nil {
		t.Fatal(err)
	}
	req := aaa.NewRequest(CmdMultimediaAuth, AppID, hss.realm, "")
	appAVPs(req)
	req.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi1)))
	req.AddAVP(diam.NewAVP(AVPSIPNumberAuthItems, mv, Vendor3GPP, datatype.Unsigned32(1)))
	req.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(SchemeEAPAKA)),
	}}))
	m, _, err := wire(req)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := result(s.ServeDiameter(ctx, m)); code != ResultTooBusy {
		t.Fatalf("Result-Code %d for a store fault, want %d", code, ResultTooBusy)
	}
}

type failingAuC struct{}

var errStore = errors.New("store down")

func (failingAuC) Vector(context.Context, string, string) (aka.Vector, error) {
	return aka.Vector{}, errStore
}

func (failingAuC) Resync(context.Context, string, string, *[aka.RANDLen]byte, *[aka.AUTSLen]byte) (aka.Vector, error) {
	return aka.Vector{}, errStore
}
