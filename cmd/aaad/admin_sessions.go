package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/radius"
)

// The session routes of the admin endpoint:
//
//	GET  /v1/sessions?imsi=IMSI   the subscriber's live sessions
//	POST /v1/disconnect           {"imsi": "IMSI"}: end them at their access points
//
// Sessions name subscribers and their devices (personal data), so unlike
// the other reads (/debug/vars) GET /v1/sessions is guarded as a command
// is: a loopback Host and Origin, and over TCP the token of
// admin.token_file (refused without one); over the unix socket, the
// socket's mode.

// sessionCommands is what the session routes need of the running aaad;
// they are served only when the adminCommands implement it.
type sessionCommands interface {
	// Sessions returns the live sessions of imsi (6 to 15 digits,
	// checked), newest first; none is an empty list, not an error. With
	// imsi "" it returns every live session, or errNeedIMSI when it
	// cannot list them all.
	Sessions(imsi string) ([]SessionInfo, error)
	// Disconnect takes every live session of imsi out of the session
	// table and ends each at its access point or gateway (a RADIUS
	// Disconnect-Request, a Diameter Abort-Session-Request), and returns
	// what each came to, newest first. errNoSession when there was none;
	// ctx bounds the whole (adminCommandTimeout).
	Disconnect(ctx context.Context, imsi string) ([]DisconnectInfo, error)
}

// The errors of sessionCommands that the endpoint maps to an HTTP status.
var (
	// errNeedIMSI: this node cannot list every session; ask for one
	// subscriber's (400).
	errNeedIMSI = errors.New("give an IMSI (?imsi=DIGITS; aaactl sessions --imsi IMSI): this aaad lists the sessions of one subscriber at a time")
	// errNoSession: the subscriber has no live session here (404).
	errNoSession = errors.New("the subscriber has no session on this node")
)

// maxListedSessions bounds the answer of GET /v1/sessions; one longer is
// cut, with "truncated": true.
const maxListedSessions = 10_000

// SessionInfo is one live session in the answers of the session routes.
// The IMSI is whole: the operator asked for it, and the routes are
// guarded. The User-Name is left out (it may be a pseudonym or a fast
// re-authentication identity).
type SessionInfo struct {
	IMSI string `json:"imsi"`
	// FrontEnd is "radius" or "diameter"; Client the RADIUS client's name
	// in the configuration, or the Diameter gateway's Origin-Host.
	FrontEnd string `json:"front_end"`
	Client   string `json:"client"`
	// NAS is where the RADIUS Access-Request came from (ip:port).
	NAS string `json:"nas,omitempty"`
	// Realm and SessionID name a Diameter session: the gateway's
	// Origin-Realm and the Session-Id.
	Realm            string `json:"realm,omitempty"`
	SessionID        string `json:"session_id,omitempty"`
	CallingStationID string `json:"calling_station_id,omitempty"`
	AcctSessionID    string `json:"acct_session_id,omitempty"`
	// Started and Expires are UTC; no Expires: the session stays until
	// ended or evicted.
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires,omitzero"`
}

// The outcomes of ending one session (DisconnectInfo.Outcome).
const (
	// outcomeACK: the access point ended the session (Disconnect-ACK, an
	// ASA with DIAMETER_SUCCESS).
	outcomeACK = "ack"
	// outcomeNAK: it answered that it did not (Disconnect-NAK, an ASA
	// with another Result-Code).
	outcomeNAK = "nak"
	// outcomeNoAnswer: no answer that could be trusted, or no request
	// could be sent (Error says why).
	outcomeNoAnswer = "no_answer"
)

// DisconnectInfo is what ending one session came to: the session, and
// its outcome. Error is set with outcomeNoAnswer: the terminator's error,
// which names the client and the address, never a secret.
type DisconnectInfo struct {
	SessionInfo
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// sessionsReply is the answer of GET /v1/sessions.
type sessionsReply struct {
	OK        bool          `json:"ok"`
	Sessions  []SessionInfo `json:"sessions"`
	Truncated bool          `json:"truncated"`
}

// disconnectReply is the answer of POST /v1/disconnect.
type disconnectReply struct {
	OK       bool             `json:"ok"`
	Sessions []DisconnectInfo `json:"sessions"`
}

// sessionRoutes registers GET /v1/sessions and POST /v1/disconnect.
func (h *adminHandler) sessionRoutes(mux *http.ServeMux) {
	sc, ok := h.cmds.(sessionCommands)
	if !ok {
		return
	}
	mux.Handle("GET /v1/sessions", h.guarded(func(w http.ResponseWriter, r *http.Request) { h.sessions(sc, w, r) }))
	mux.Handle("POST /v1/disconnect", h.command(func(w http.ResponseWriter, r *http.Request) { h.disconnect(sc, w, r) }))
}

// guarded guards a read that names subscribers as h.command guards a
// command: the very same checks (a loopback Host and Origin, the token
// over TCP, refused over TCP without admin.token_file), run by
// h.command itself on a copy of the request that has no body and, since
// there is none, the JSON Content-Type its last check wants.
func (h *adminHandler) guarded(next http.HandlerFunc) http.Handler {
	cmd := h.command(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.Body, r2.ContentLength = http.NoBody, 0
		r2.Header.Set("Content-Type", "application/json")
		cmd.ServeHTTP(w, r2)
	})
}

// sessions serves GET /v1/sessions[?imsi=IMSI].
func (h *adminHandler) sessions(sc sessionCommands, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var imsi string
	for k, v := range q {
		if k != "imsi" || len(v) != 1 {
			h.refuse(w, r, http.StatusBadRequest, "want no query, or ?imsi=DIGITS once")
			return
		}
		imsi = v[0]
		if !hss.ValidIMSI(imsi) {
			h.refuse(w, r, http.StatusBadRequest, "imsi: want 6 to 15 digits")
			return
		}
	}
	log := h.log.With(zap.String("command", "sessions"), zap.String("imsi", radius.MaskIMSI(imsi)))
	list, err := sc.Sessions(imsi)
	if err != nil {
		status, msg := http.StatusInternalServerError, "sessions: "+err.Error()
		if errors.Is(err, errNeedIMSI) {
			status, msg = http.StatusBadRequest, errNeedIMSI.Error()
		}
		log.Warn("admin command failed", zap.Int("status", status), zap.Error(err))
		writeAdminJSON(w, status, adminReply{Error: msg})
		return
	}
	reply := sessionsReply{OK: true, Sessions: list}
	if len(list) > maxListedSessions {
		reply.Sessions, reply.Truncated = list[:maxListedSessions], true
	}
	if reply.Sessions == nil {
		reply.Sessions = []SessionInfo{}
	}
	// Who read whose sessions: the IMSI masked, as every command's.
	log.Info("admin command done", zap.Int("sessions", len(reply.Sessions)), zap.Bool("truncated", reply.Truncated))
	writeAdminJSON(w, http.StatusOK, reply)
}

// disconnect serves POST /v1/disconnect {"imsi": "..."}.
func (h *adminHandler) disconnect(sc sessionCommands, w http.ResponseWriter, r *http.Request) {
	var req struct {
		IMSI string `json:"imsi"`
	}
	if !h.decodeCommand(w, r, &req, `{"imsi": "DIGITS"}`) {
		return
	}
	if !hss.ValidIMSI(req.IMSI) {
		h.refuse(w, r, http.StatusBadRequest, "imsi: want 6 to 15 digits")
		return
	}
	start := time.Now()
	// The sessions leave the table before their access points are asked:
	// an aaactl that goes away must not cut the requests short, leaving
	// sessions aaad forgot live at their access points.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), adminCommandTimeout)
	defer cancel()
	res, err := sc.Disconnect(ctx, req.IMSI)
	log := h.log.With(zap.String("command", "disconnect"), zap.String("imsi", radius.MaskIMSI(req.IMSI)),
		zap.Duration("elapsed", time.Since(start)))
	if err != nil {
		status, msg := http.StatusInternalServerError, "disconnect: "+err.Error()
		switch {
		case errors.Is(err, errNoSession):
			status, msg = http.StatusNotFound, errNoSession.Error()
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			msg = fmt.Sprintf("disconnect: no outcome within %v", adminCommandTimeout)
		}
		log.Warn("admin command failed", zap.Int("status", status), zap.Error(err))
		writeAdminJSON(w, status, adminReply{Error: msg})
		return
	}
	var acks, naks, none int
	for _, d := range res {
		switch d.Outcome {
		case outcomeACK:
			acks++
		case outcomeNAK:
			naks++
		default:
			none++
		}
	}
	log.Info("admin command done", zap.Int("sessions", len(res)), zap.Int("acked", acks),
		zap.Int("naked", naks), zap.Int("no_answer", none))
	if res == nil {
		res = []DisconnectInfo{}
	}
	writeAdminJSON(w, http.StatusOK, disconnectReply{OK: true, Sessions: res})
}
