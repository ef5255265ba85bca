package main

import "net/http"

// reloadRoutes registers POST /v1/reload.
func (h *adminHandler) reloadRoutes(mux *http.ServeMux) {}
