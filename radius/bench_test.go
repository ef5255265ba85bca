package radius

import (
	"context"
	"testing"

	"github.com/aaa-project/aaa/eap"
)

// BenchmarkProcess is the RADIUS work of one round trip, EAP excluded (the
// EAP state machine has its own benchmarks): framing, Message-Authenticator
// check, duplicate cache, parse, answer with Message-Authenticator first,
// MPPE keys for an Accept.
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		name    string
		outcome eap.Outcome
		packet  []byte
	}{
		{"challenge", eap.OutcomeContinue, make([]byte, 120)},
		{"accept", eap.OutcomeSuccess, []byte{3, 9, 0, 4}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := &scriptedEAP{outcome: tc.outcome, packet: tc.packet}
			s := newTestServer(&testing.T{}, h, nil)
			reqs := make([][]byte, 4096)
			for i := range reqs {
				reqs[i] = request(b, byte(i), secret, eapResp, []byte("0123456789abcdef"), false)
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if s.process(ctx, nas, reqs[i%len(reqs)]) == nil {
					b.Fatal("no answer")
				}
				i++
				if i%len(reqs) == 0 { // new authenticators, or the cache replays
					b.StopTimer()
					for j := range reqs {
						reqs[j] = request(b, byte(j), secret, eapResp, []byte("0123456789abcdef"), false)
					}
					b.StartTimer()
				}
			}
		})
	}
}
