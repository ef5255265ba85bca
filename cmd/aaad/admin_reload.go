package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// The reload route of the admin endpoint:
//
//	POST /v1/reload   {} (or no body): reload the configuration, as SIGHUP does
//
// It answers what was reloaded ({"ok": true, "reloaded": [...], ...}), or
// why the new configuration was refused whole (400: it is at fault; 500:
// aaad could not read it), the running one still serving.

// reloadCommands is what the reload route needs of the running aaad; it is
// served only when the adminCommands implement it.
type reloadCommands interface {
	// Reload reads the configuration again and applies what can change
	// while serving, all or nothing. A *reloadError says why not.
	Reload() (*reloadSummary, error)
}

// reloadReply is the answer of a reload that was applied.
type reloadReply struct {
	OK bool `json:"ok"`
	*reloadSummary
}

// reloadRoutes registers POST /v1/reload.
func (h *adminHandler) reloadRoutes(mux *http.ServeMux) {
	rc, ok := h.cmds.(reloadCommands)
	if !ok {
		return
	}
	mux.Handle("POST /v1/reload", h.command(func(w http.ResponseWriter, r *http.Request) { h.reload(rc, w, r) }))
}

// reload serves POST /v1/reload: {} or an empty body.
func (h *adminHandler) reload(rc reloadCommands, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is too large (at most %d bytes)", adminBodyLimit))
			return
		}
		h.refuse(w, r, http.StatusBadRequest, "cannot read the body")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct{}
		if !h.decodeCommand(w, r, &req, "{} (or none)") {
			return
		}
	}
	start := time.Now()
	sum, err := rc.Reload()
	log := h.log.With(zap.String("command", "reload"), zap.Duration("elapsed", time.Since(start)))
	if err != nil {
		status := http.StatusInternalServerError
		var re *reloadError
		if errors.As(err, &re) && re.invalid {
			status = http.StatusBadRequest
		}
		// The reason names keys, never values (the configuration's own
		// errors never print one).
		log.Warn("admin command failed", zap.Int("status", status), zap.Error(err))
		writeAdminJSON(w, status, adminReply{Error: err.Error()})
		return
	}
	log.Info("admin command done", zap.Strings("reloaded", sum.Reloaded), zap.Strings("restart", sum.Restart))
	writeAdminJSON(w, http.StatusOK, reloadReply{OK: true, reloadSummary: sum})
}
