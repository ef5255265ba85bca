package eap_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
)

// registrar is a Registrar that answers err and counts its calls.
type registrar struct {
	err   error
	calls int
	imsi  string
}

func (r *registrar) Register(_ context.Context, imsi string) error {
	r.calls++
	r.imsi = imsi
	return r.err
}

// The Registrar hears of every subscriber that proved itself, before the
// EAP-Success: barred gets EAP-Failure, a backend fault no answer.
func TestServer_Registrar(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		outcome eap.Outcome
		reason  eap.Reason
	}{
		{"registered", nil, eap.OutcomeSuccess, eap.ReasonNone},
		{"barred", fmt.Errorf("swx: %w", aka.ErrNotAuthorized), eap.OutcomeFailure, eap.ReasonNotAuthorized},
		{"unknown to the HSS", aka.ErrUnknownSubscriber, eap.OutcomeFailure, eap.ReasonNotAuthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &registrar{err: tc.err}
			s, _, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) { c.Registrar = r }, eap.TypeAKAPrime)
			res, _ := run(t, s, newPeer(t, eap.TypeAKAPrime))
			if res.Outcome != tc.outcome || res.Reason != tc.reason {
				t.Fatalf("outcome %s (%s), want %s (%s)", res.Outcome, res.Reason, tc.outcome, tc.reason)
			}
			if r.calls != 1 || r.imsi != testIMSI {
				t.Errorf("Register called %d times for %q, want once for %s", r.calls, r.imsi, testIMSI)
			}
		})
	}
	t.Run("backend fault", func(t *testing.T) {
		r := &registrar{err: errBackend}
		s, _, _, _ := newTestServerWith(t, func(c *eap.ServerConfig) { c.Registrar = r }, eap.TypeAKAPrime)
		p := newPeer(t, eap.TypeAKAPrime)
		ctx := context.Background()
		msg := eap.AppendResponse(nil, 7, eap.TypeIdentity, []byte(p.identity))
		var state []byte
		var res eap.Result
		for {
			err := s.Handle(ctx, testPeer, state, msg, nil, &res)
			if err != nil {
				if !errors.Is(err, errBackend) {
					t.Fatalf("err %v, want the backend's", err)
				}
				return
			}
			if res.Outcome != eap.OutcomeContinue {
				t.Fatalf("outcome %s after a registration fault, want an error (no answer)", res.Outcome)
			}
			state = append(state[:0], res.Conversation[:]...)
			msg = p.respond(res.Packet)
		}
	})
}

// A vector source that refuses the subscriber this access (SWx
// DIAMETER_ERROR_USER_NO_NON_3GPP_SUBSCRIPTION) gets it a clean reject.
func TestServer_NotAuthorizedVector(t *testing.T) {
	s, h, _, _ := newTestServer(t, eap.TypeAKAPrime)
	h.fail = fmt.Errorf("swx: %w", aka.ErrNotAuthorized)
	res, _ := run(t, s, newPeer(t, eap.TypeAKAPrime))
	if res.Outcome != eap.OutcomeFailure || res.Reason != eap.ReasonNotAuthorized {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Reason)
	}
}
