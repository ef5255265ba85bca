package eap_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// FuzzServerHandle sends an arbitrary response into a conversation waiting
// for an identity or a challenge answer. Properties: no panic; the outcome is
// one of the four; and only the genuine answer (what a USIM with the right K
// sends, plus octets beyond the EAP Length, which RFC 3748 4 says to ignore)
// reaches Success: anything else would need AT_MAC under a key the fuzzer
// cannot know.
func FuzzServerHandle(f *testing.F) {
	// Seeds: real answers from the test peer, for both waiting states.
	for _, identity := range []string{"6" + testIMSI + realm, "anonymous" + realm} {
		s, _, _, _ := newTestServerWith(f, fuzzConfig, eap.TypeAKAPrime, eap.TypeAKA)
		var res eap.Result
		s.Handle(context.Background(), testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(identity)), nil, &res)
		p := newPeer(f, eap.TypeAKAPrime)
		f.Add(identity, p.respond(res.Packet))
	}
	f.Add("0"+testIMSI+realm, eap.AppendResponse(nil, 2, eap.TypeNak, []byte{50, 23}))
	f.Add("6"+testIMSI+realm, []byte{2, 2, 0, 8, 50, 4, 0, 0})
	f.Fuzz(func(t *testing.T, identity string, answer []byte) {
		s, _, _, _ := newTestServerWith(t, fuzzConfig, eap.TypeAKAPrime, eap.TypeAKA)
		ctx := context.Background()
		var res eap.Result
		if err := s.Handle(ctx, testPeer, nil, eap.AppendResponse(nil, 1, eap.TypeIdentity, []byte(identity)), nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Outcome != eap.OutcomeContinue {
			return
		}
		id := res.Conversation
		var genuine []byte
		if m, err := eap.ParseAKA(res.Packet); err == nil && m.Subtype == eap.SubtypeChallenge {
			p := newPeer(t, m.Packet.Type)
			p.identity = string(eap.TrimNUL([]byte(identity))) // keys come from the identity sent
			genuine = p.respond(res.Packet)
		}
		if len(answer) > 1 {
			answer[1] = res.Packet[1] // match the identifier so it is processed
		}
		if err := s.Handle(ctx, testPeer, id[:], answer, nil, &res); err != nil {
			t.Fatal(err)
		}
		switch res.Outcome {
		case eap.OutcomeContinue, eap.OutcomeFailure, eap.OutcomeDiscard:
		case eap.OutcomeSuccess:
			if genuine == nil || len(answer) < len(genuine) || !bytes.Equal(answer[:len(genuine)], genuine) {
				t.Fatalf("a forged answer authenticated: %x", answer)
			}
		default:
			t.Fatalf("outcome %d", res.Outcome)
		}
	})
}

// fuzzConfig turns on what the defaults turn on: pseudonyms, fast
// re-authentication and result indications.
func fuzzConfig(c *eap.ServerConfig) {
	withPseudonyms(c)
	withReauth(c)
	c.ResultIndications = true
}
