package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Health for load balancers and orchestrators (issue 12):
//
//   - GET /healthz: 200 "ok" while the process serves HTTP at all
//     (liveness: restart it when this fails).
//   - GET /readyz: 200 when every check of readiness passes, 503 when one
//     fails (take the node out of rotation, do not restart it): the
//     listeners are up, the store answers, and with SWx an HSS peer is
//     open. A text body, one line per check ("ok radius", "fail store:
//     connection refused"), or JSON with ?format=json.
//
// Neither needs a token: they change nothing and reveal only check names
// and short reasons, never an address, a URL or a credential.

// Check is the outcome of one check of readiness.
type Check struct {
	// Name is what was checked: radius, diameter_eap, swx_server, store,
	// hss.
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail is a short reason: never an address, a URL or a secret.
	Detail string `json:"detail,omitempty"`
}

// readiness is what adminCommands implements to serve /readyz.
type readiness interface {
	// Ready runs the checks of readiness within ctx's deadline. Each
	// check that cannot finish in time fails.
	Ready(ctx context.Context) []Check
}

// readyzTimeout bounds one run of the checks as a whole: a probe answers
// within it, whatever is down.
const readyzTimeout = time.Second

// readyReply is the JSON body of /readyz?format=json.
type readyReply struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// healthRoutes registers GET /healthz and GET /readyz.
func (h *adminHandler) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		healthHeaders(w, "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("ok\n"))
	})
	rd, ok := h.cmds.(readiness)
	if !ok {
		return
	}
	p := &readyProber{rd: rd, log: h.log}
	mux.HandleFunc("GET /readyz", p.serve)
}

func healthHeaders(w http.ResponseWriter, contentType string) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
}

// readyProber runs the checks for /readyz: one run at a time, whose
// outcome every probe that came meanwhile shares, so that probes from
// several balancers, or a local user's loop, cost the store one PING at a
// time. It logs when readiness changes.
type readyProber struct {
	rd  readiness
	log *zap.Logger

	mu       sync.Mutex
	inflight *readyRun
	last     int // 0 none yet, 1 ready, 2 not ready
}

// readyRun is one run of the checks; done is closed when checks is set.
type readyRun struct {
	done   chan struct{}
	checks []Check
}

func (p *readyProber) serve(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" {
		healthHeaders(w, "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("format: want json or text\n"))
		return
	}
	checks := p.run(r.Context())
	ready := len(checks) > 0
	for _, c := range checks {
		ready = ready && c.OK
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	if format == "json" {
		writeAdminJSON(w, status, readyReply{Ready: ready, Checks: checks})
		return
	}
	var b strings.Builder
	for _, c := range checks {
		if c.OK {
			b.WriteString("ok ")
		} else {
			b.WriteString("fail ")
		}
		b.WriteString(c.Name)
		if c.Detail != "" {
			b.WriteString(": ")
			b.WriteString(c.Detail)
		}
		b.WriteByte('\n')
	}
	healthHeaders(w, "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// run returns the outcome of a run of the checks: the one in flight, or a
// new one. A run that outlasts its deadline (a check that ignores ctx) is
// a failure; nil when ctx (the request) ends first.
func (p *readyProber) run(ctx context.Context) []Check {
	p.mu.Lock()
	run := p.inflight
	if run == nil {
		run = &readyRun{done: make(chan struct{})}
		p.inflight = run
		// Not bound to this request: others may wait for the outcome
		// after it went away.
		go p.check(run)
	}
	p.mu.Unlock()
	late := time.NewTimer(readyzTimeout + readyzTimeout/2)
	defer late.Stop()
	select {
	case <-run.done:
		return run.checks
	case <-late.C:
		return []Check{{Name: "checks", Detail: "no outcome within " + readyzTimeout.String()}}
	case <-ctx.Done():
		return nil
	}
}

func (p *readyProber) check(run *readyRun) {
	ctx, cancel := context.WithTimeout(context.Background(), readyzTimeout)
	checks := p.rd.Ready(ctx)
	cancel()
	ready := true
	var failed []string
	for _, c := range checks {
		if !c.OK {
			ready = false
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	state := 1
	if !ready {
		state = 2
	}
	p.mu.Lock()
	run.checks = checks
	close(run.done)
	p.inflight = nil
	changed := p.last != state
	p.last = state
	p.mu.Unlock()
	if !changed {
		return
	}
	if ready {
		p.log.Info("ready")
	} else {
		p.log.Warn("not ready", zap.Strings("failed", failed))
	}
}
