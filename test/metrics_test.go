package test

import (
	"fmt"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics of the admin endpoint at addr with the
// Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// value returns the sample of family name whose labels are labels (all
// of them), 0 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// After logins of every kind (success, wrong K, unknown IMSI, resync),
// each counter moved by exactly what happened.
func TestMetricsAfterLogins(t *testing.T) {
	t.Parallel()
	const (
		imsiGood   = "001010000000301"
		imsiWrongK = "001010000000302"
		imsiResync = "001010000000303"
		wrongK     = "000102030405060708090a0b0c0d0e0f"
	)
	port := freeTCPPort(t)
	admin := fmt.Sprintf("127.0.0.1:%d", port)
	s := startServer(t, serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsiGood, "000000000000"), ts1Subscriber(imsiWrongK, "000000000000"),
			ts1Subscriber(imsiResync, "000000000000")},
		Extra: []string{"admin: {listen: " + yamlString(admin) + "}"},
	})
	before := scrape(t, admin)
	if v := value(before, "aaad_authentications_total", map[string]string{"result": "success"}); v != 0 {
		t.Fatalf("%v successes before any login", v)
	}
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiGood),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA", Identity: akaIdentity(imsiGood),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)
	requireReject(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiWrongK),
		Password: usimPassword(wrongK, ts1OPc, "000000000000")}))
	requireReject(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity("001019999999997"),
		Password: usimPassword(ts1K, ts1OPc, "000000000000")}))
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiResync),
		Password: usimPassword(ts1K, ts1OPc, "000000001000")}), 1)
	// An anonymous outer identity: one AKA-Identity round.
	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsiGood),
		AnonymousIdentity: "anonymous@" + realm, Password: usimPassword(ts1K, ts1OPc, "000000000000")}), 1)

	after := scrape(t, admin)
	for _, tc := range []struct {
		name   string
		family string
		labels map[string]string
		want   float64
	}{
		{"AKA' successes", "aaad_authentications_total", map[string]string{"front_end": "radius", "method": "aka-prime", "result": "success"}, 3},
		{"identity rounds", "aaad_radius_events_total", map[string]string{"event": "identity_rounds"}, 1},
		{"AKA successes", "aaad_authentications_total", map[string]string{"front_end": "radius", "method": "aka", "result": "success"}, 1},
		{"AKA' failures", "aaad_authentications_total", map[string]string{"front_end": "radius", "method": "aka-prime", "result": "failure"}, 2},
		{"failures: authentication reject (wrong K)", "aaad_eap_failures_total", map[string]string{"reason": "authentication_reject"}, 1},
		{"failures: unknown subscriber", "aaad_eap_failures_total", map[string]string{"reason": "unknown_subscriber"}, 1},
		{"resyncs", "aaad_radius_events_total", map[string]string{"event": "resyncs"}, 1},
		{"vector source: unknown subscriber", "aaad_vector_source_errors_total", map[string]string{"backend": "local", "kind": "unknown_subscriber"}, 1},
		// Three successes, two sessions: the second of imsiGood's came
		// from the same access point and station, and replaced the first.
		{"sessions", "aaad_sessions", nil, 2},
	} {
		got := value(after, tc.family, tc.labels) - value(before, tc.family, tc.labels)
		if got != tc.want {
			t.Errorf("%s: %s%v moved by %v, want %v", tc.name, tc.family, tc.labels, got, tc.want)
		}
	}
	// At least a vector for each of the five logins and one for the
	// resync (a method negotiation may take another).
	if n := value(after, "aaad_vector_source_duration_seconds", map[string]string{"backend": "local"}); n < 6 {
		t.Errorf("%v vector source calls timed, want at least 6", n)
	}
	if n := value(after, "aaad_store_duration_seconds", map[string]string{"backend": "memory"}); n < 10 {
		t.Errorf("%v store operations timed; six logins took more", n)
	}
	if n := value(after, "aaad_store_errors_total", map[string]string{"backend": "memory"}); n != 0 {
		t.Errorf("%v store faults", n)
	}
	if n := value(after, "aaad_request_duration_seconds", map[string]string{"front_end": "radius"}); n < 10 {
		t.Errorf("%v RADIUS requests timed; five logins took at least ten", n)
	}
	// No label names a subscriber.
	for name, f := range after {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				for _, imsi := range []string{imsiGood, imsiWrongK, imsiResync} {
					if l.GetValue() == imsi || len(l.GetValue()) > 64 {
						t.Errorf("%s has a label %s=%q", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
}
