package radius

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/session"
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
		// nasAttrs: requests carry Calling-Station-Id, NAS-Identifier,
		// NAS-IP-Address and Acct-Session-Id; sessions: the server has a
		// session table (each Accept replaces the device's session).
		nasAttrs, sessions bool
	}{
		{"challenge", eap.OutcomeContinue, make([]byte, 120), nil, false, false},
		{"accept", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, nil, false, false},
		// The success line is logged per authentication: at load the
		// sampler drops most of them, which must cost next to nothing.
		{"accept-sampled-log", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, sampledLogger(), false, false},
		{"accept-nas-attrs", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, nil, true, false},
		{"accept-nas-attrs-sessions", eap.OutcomeSuccess, []byte{3, 9, 0, 4}, nil, true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := &scriptedEAP{outcome: tc.outcome, packet: tc.packet}
			s := newTestServer(&testing.T{}, h, tc.log)
			if tc.sessions {
				s.SetSessions(session.NewTable(session.Config{}))
			}
			newReq := func(id byte) []byte {
				if tc.nasAttrs {
					return requestWith(b, id, secret, "02-00-00-00-00-01", "5F1A2B3C")
				}
				return request(b, id, secret, eapResp, []byte("0123456789abcdef"), false)
			}
			reqs := make([][]byte, 4096)
			for i := range reqs {
				reqs[i] = newReq(byte(i))
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
						reqs[j] = newReq(byte(j))
					}
					b.StartTimer()
				}
			}
		})
	}
}
