package radius

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/eap"
)

// sampledLogger logs at info level through zap's sampler, as aaad does in
// production (zap.NewProductionConfig), into io.Discard.
func sampledLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel)
	return zap.New(zapcore.NewSamplerWithOptions(core, time.Second, 100, 100))
}

// BenchmarkProcess is the RADIUS work of one round trip, EAP excluded (the
// EAP state machine has its own benchmarks): framing, Message-Authenticator
// check, duplicate cache, parse, answer with Message-Authenticator first,
// MPPE keys for an Accept.
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		name    string
		outcome eap.Outcome
		packet  []byte
		log     *zap.Logger
	}{
		{"challenge", eap.OutcomeContinue, make([]byte, 120), nil},
		{"accept", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, nil},
		// The success line is logged per authentication: at load the
		// sampler drops most of them, which must cost next to nothing.
		{"accept-sampled-log", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, sampledLogger()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := &scriptedEAP{outcome: tc.outcome, packet: tc.packet}
			s := newTestServer(&testing.T{}, h, tc.log)
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
