package main

import "net/http"

// metricsSource is what serves /metrics: the app's private registry.
type metricsSource interface {
	Metrics() http.Handler
}

// metricsRoutes registers GET /metrics (Prometheus text format) when the
// commands can serve it. Like /debug/vars it holds no personal data (no
// IMSI, identity or secret in any label), so it is open on the admin
// listener as the counters always were.
func (h *adminHandler) metricsRoutes(mux *http.ServeMux) {
	if m, ok := h.cmds.(metricsSource); ok {
		mux.Handle("GET /metrics", m.Metrics())
	}
}
