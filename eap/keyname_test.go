package eap_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// runFrom runs a whole conversation through peer from, and returns the
// result and the last challenge the server sent.
func runFrom(t *testing.T, s *eap.Server, p *peer, from eap.Peer) (eap.Result, []byte) {
	t.Helper()
	ctx := context.Background()
	msg := eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte(p.identity))
	var state, challenge []byte
	var res eap.Result
	for rounds := 0; rounds < 10; rounds++ {
		if err := s.Handle(ctx, from, state, msg, nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != eap.OutcomeContinue {
			return res, challenge
		}
		if m, err := eap.ParseAKA(res.Packet); err == nil && (m.Subtype == eap.SubtypeChallenge || m.Subtype == eap.SubtypeReauthentication) {
			challenge = append([]byte(nil), res.Packet...)
		}
		state = append(state[:0], res.Conversation[:]...)
		msg = p.respond(res.Packet)
	}
	t.Fatal("no end in 10 rounds")
	return res, nil
}

// A gateway's access network name (ANID) is the EAP-AKA' network name of
// the challenges answering it, instead of the configured one.
func TestServer_NetworkNameFromGateway(t *testing.T) {
	s, _, _, _ := newTestServer(t, eap.TypeAKAPrime)
	p := newPeer(t, eap.TypeAKAPrime)
	res, _ := runFrom(t, s, p, eap.Peer{Name: "lab", NetworkName: "Wi-Fi"})
	if res.Outcome != eap.OutcomeSuccess {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
	if p.networkName != "Wi-Fi" {
		t.Errorf("AT_KDF_INPUT %q, want the gateway's %q", p.networkName, "Wi-Fi")
	}
	too := make([]byte, eap.MaxNetworkName+1)
	var r eap.Result
	msg := eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte(p.identity))
	if err := s.Handle(context.Background(), eap.Peer{Name: "lab", NetworkName: string(too)}, nil, msg, nil, &r); err != nil || r.Outcome != eap.OutcomeDiscard {
		t.Errorf("a network name too long: %v %s", err, r.Outcome)
	}
}

// The EAP Session-Id (EAP-Key-Name): the method type, then RAND || AUTN of
// the challenge, or NONCE_S || MAC of the re-authentication request.
func TestServer_KeyName(t *testing.T) {
	for _, method := range []eap.Type{eap.TypeAKAPrime, eap.TypeAKA} {
		t.Run(method.String(), func(t *testing.T) {
			s, _, _, _ := newTestServerWith(t, withReauth, method)
			p := newPeer(t, method)
			res, challenge := runFrom(t, s, p, testPeer)
			if res.Outcome != eap.OutcomeSuccess {
				t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
			}
			m, _ := eap.ParseAKA(challenge)
			want := append(append([]byte{byte(method)}, m.Attrs.RAND...), m.Attrs.AUTN...)
			if !bytes.Equal(res.KeyName, want) {
				t.Fatalf("KeyName %x, want %x", res.KeyName, want)
			}
			// A fast re-authentication with the identity it was given.
			p.startNext()
			res, challenge = runFrom(t, s, p, testPeer)
			if res.Outcome != eap.OutcomeSuccess || !res.FastReauth {
				t.Fatalf("re-authentication: outcome %s (%s), fast %v", res.Outcome, res.Reason, res.FastReauth)
			}
			m, _ = eap.ParseAKA(challenge)
			if len(res.KeyName) != 33 || res.KeyName[0] != byte(method) ||
				!bytes.Equal(res.KeyName[17:], challenge[m.Attrs.MACOffset:m.Attrs.MACOffset+16]) {
				t.Fatalf("re-authentication KeyName %x", res.KeyName)
			}
		})
	}
}
