package main

import (
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/latency"
)

// The app's metrics are read at scrape time from the counters the
// packages already keep (atomic adds where the event happens): nothing on
// the hot path knows Prometheus, and a scrape costs what it reads. No
// label carries an identity, an IMSI or a secret; client and peer names
// come from the configuration.
var (
	metricsOnce sync.Once
	metricsReg  *prometheus.Registry
)

// Metrics serves the app's registry (one per process).
func (c swxCommands) Metrics() http.Handler {
	metricsOnce.Do(func() {
		metricsReg = prometheus.NewRegistry()
		metricsReg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			appCollector{a: c.a},
		)
	})
	return promhttp.HandlerFor(metricsReg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// appCollector turns the app's counters into metrics at scrape time.
type appCollector struct{ a *app }

var (
	descAuths = prometheus.NewDesc("aaad_authentications_total",
		"Authentications ended, by front end, EAP method and result (success: Access-Accept or DIAMETER_SUCCESS; failure: Access-Reject or DIAMETER_AUTHENTICATION_REJECTED).",
		[]string{"front_end", "method", "result"}, nil)
	descEAPFailures = prometheus.NewDesc("aaad_eap_failures_total",
		"EAP failures and discards, by reason (RADIUS front end).", []string{"front_end", "reason"}, nil)
	descRADIUS = prometheus.NewDesc("aaad_radius_events_total",
		"RADIUS server events (requests, challenges, resyncs, fast re-authentications, Disconnect-Requests, ...).", []string{"event"}, nil)
	descRADIUSDropped = prometheus.NewDesc("aaad_radius_dropped_total",
		"RADIUS requests dropped, by reason.", []string{"reason"}, nil)
	descRADIUSInFlight = prometheus.NewDesc("aaad_radius_in_flight",
		"RADIUS requests being processed.", nil, nil)
	descRADIUSClient = prometheus.NewDesc("aaad_radius_client_events_total",
		"Per RADIUS client (its configured name): requests, accepts, rejects, drops by reason, and what was shed for its share.", []string{"client", "event"}, nil)
	descDiameter = prometheus.NewDesc("aaad_diameter_events_total",
		"Diameter base events (messages, failovers, timeouts, watchdog timeouts, refused peers, ...).", []string{"event"}, nil)
	descDiameterPeer = prometheus.NewDesc("aaad_diameter_peer_open",
		"1 for each Diameter peer (Origin-Host) with an open connection.", []string{"peer"}, nil)
	descDiameterEAP = prometheus.NewDesc("aaad_diameter_eap_events_total",
		"Diameter EAP front end events (DERs, DEAs by result, duplicates, STR, ASR, AAR, refused).", []string{"event"}, nil)
	descSWxClient = prometheus.NewDesc("aaad_swx_client_events_total",
		"SWx client events (MARs, MAAs by outcome, vectors, spares, SARs, SAAs by outcome, RTRs, PPRs).", []string{"event"}, nil)
	descSWxServer = prometheus.NewDesc("aaad_swx_server_events_total",
		"SWx server (built-in HSS) events (MARs, vectors sent, SARs, registrations, RTRs).", []string{"event"}, nil)
	descSessions = prometheus.NewDesc("aaad_sessions",
		"Live access sessions in the session table.", nil, nil)
	descConversations = prometheus.NewDesc("aaad_eap_conversations",
		"EAP conversations held by the memory store.", nil, nil)
	descRequestLatency = prometheus.NewDesc("aaad_request_duration_seconds",
		"How long requests took to answer: RADIUS Access-Requests, Diameter EAP DERs.", []string{"front_end"}, nil)
	descVectorLatency = prometheus.NewDesc("aaad_vector_source_duration_seconds",
		"How long the vector source took for a vector or a resynchronisation: Milenage over the store (local) or a MAR over SWx.", []string{"backend"}, nil)
	descVectorErrors = prometheus.NewDesc("aaad_vector_source_errors_total",
		"Vector source errors by kind.", []string{"backend", "kind"}, nil)
	descStoreLatency = prometheus.NewDesc("aaad_store_duration_seconds",
		"How long the EAP store (memory or Redis) took for an operation: conversations, pseudonyms, re-authentication contexts.", []string{"backend"}, nil)
	descStoreErrors = prometheus.NewDesc("aaad_store_errors_total",
		"EAP store faults (not: not found, conflict, full).", []string{"backend"}, nil)
)

// histogram is a latency histogram as Prometheus reads one.
func histogram(d *prometheus.Desc, h *latency.Histogram, labels ...string) prometheus.Metric {
	s := h.Read()
	buckets := make(map[float64]uint64, len(latency.Bounds))
	for i, b := range latency.Bounds {
		buckets[b.Seconds()] = s.Cumulative[i]
	}
	return prometheus.MustNewConstHistogram(d, s.Count, s.Sum, buckets, labels...)
}

func (c appCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAuths, descEAPFailures, descRADIUS, descRADIUSDropped, descRADIUSInFlight,
		descRADIUSClient, descDiameter, descDiameterPeer, descDiameterEAP, descSWxClient, descSWxServer,
		descSessions, descConversations, descRequestLatency, descVectorLatency, descVectorErrors,
		descStoreLatency, descStoreErrors} {
		ch <- d
	}
}

var tallyMethods = []struct {
	t    eap.Type
	name string
}{{eap.TypeAKAPrime, "aka-prime"}, {eap.TypeAKA, "aka"}, {0, "none"}}

func tally(ch chan<- prometheus.Metric, frontEnd string, t *eap.Tally) {
	for _, m := range tallyMethods {
		ch <- prometheus.MustNewConstMetric(descAuths, prometheus.CounterValue, float64(t.Load(m.t, true)), frontEnd, m.name, "success")
		ch <- prometheus.MustNewConstMetric(descAuths, prometheus.CounterValue, float64(t.Load(m.t, false)), frontEnd, m.name, "failure")
	}
}

func counters(ch chan<- prometheus.Metric, d *prometheus.Desc, m map[string]uint64, labels ...string) {
	for k, v := range m {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(labels, k)...)
	}
}

// structCounters reads the uint64 fields of a stats struct by name
// ("MARSent" becomes "mar_sent"): at scrape time only.
func structCounters(v any) map[string]uint64 {
	rv := reflect.ValueOf(v)
	m := map[string]uint64{}
	for i := range rv.NumField() {
		if f := rv.Field(i); f.Kind() == reflect.Uint64 {
			m[snake(rv.Type().Field(i).Name)] = f.Uint()
		}
	}
	return m
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prev := s[i-1]
			next := byte(0)
			if i+1 < len(s) {
				next = s[i+1]
			}
			if prev >= 'a' && prev <= 'z' || next >= 'a' && next <= 'z' && prev >= 'A' && prev <= 'Z' {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (c appCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	if v := a.vectors; v != nil {
		ch <- histogram(descVectorLatency, &v.latency, v.backend)
		for i := range v.errs {
			ch <- prometheus.MustNewConstMetric(descVectorErrors, prometheus.CounterValue, float64(v.errs[i].Load()), v.backend, vectorErrorNames[i])
		}
	}
	if st := a.store; st != nil {
		ch <- histogram(descStoreLatency, &st.latency, st.backend)
		ch <- prometheus.MustNewConstMetric(descStoreErrors, prometheus.CounterValue, float64(st.errs.Load()), st.backend)
	}
	if r := a.radius; r != nil {
		ch <- histogram(descRequestLatency, &r.Stats.Latency, "radius")
		tally(ch, "radius", &r.Stats.Auths)
		snap := r.Stats.Snapshot()
		for k, v := range snap {
			switch {
			case k == "in_flight":
				ch <- prometheus.MustNewConstMetric(descRADIUSInFlight, prometheus.GaugeValue, float64(v))
			case strings.HasPrefix(k, "dropped_"):
				ch <- prometheus.MustNewConstMetric(descRADIUSDropped, prometheus.CounterValue, float64(v), strings.TrimPrefix(k, "dropped_"))
			case strings.HasPrefix(k, "eap_failure_"):
				ch <- prometheus.MustNewConstMetric(descEAPFailures, prometheus.CounterValue, float64(v), "radius", strings.TrimPrefix(k, "eap_failure_"))
			default:
				ch <- prometheus.MustNewConstMetric(descRADIUS, prometheus.CounterValue, float64(v), k)
			}
		}
		for client, m := range r.ClientStats() {
			counters(ch, descRADIUSClient, m, client)
		}
	}
	if f := a.eapFront; f != nil {
		ch <- histogram(descRequestLatency, &f.Stats.Latency, "diameter")
		tally(ch, "diameter", &f.Stats.Auths)
		counters(ch, descDiameterEAP, f.Stats.Snapshot())
	}
	if n := a.node; n != nil {
		counters(ch, descDiameter, n.Stats.Snapshot())
		for _, p := range n.OpenPeers() {
			ch <- prometheus.MustNewConstMetric(descDiameterPeer, prometheus.GaugeValue, 1, p)
		}
	}
	if s := a.swxClient; s != nil {
		counters(ch, descSWxClient, structCounters(s.Stats()))
	}
	if s := a.swxServer; s != nil {
		counters(ch, descSWxServer, structCounters(s.Stats()))
	}
	ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(a.sessions.Len()))
	if a.convs != nil {
		ch <- prometheus.MustNewConstMetric(descConversations, prometheus.GaugeValue, float64(a.convs.Len()))
	}
}
