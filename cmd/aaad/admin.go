package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"github.com/aaa-project/aaa/hss"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/aaa-project/aaa/radius"
)

// The admin endpoint (admin.listen) is how an operator on this host reaches
// a running aaad, as caddy's admin API or birdc do: reads (the counters at
// /debug/vars, pprof when admin.pprof is set) and runtime commands that
// change state (POST /v1/...), which aaactl sends.
//
// Who may send a command:
//   - over a unix socket (admin.listen: unix:/path), whoever may open the
//     socket: it is created with mode 0600, so the user aaad runs as (and
//     root);
//   - over TCP on loopback, whoever holds the token of admin.token_file,
//     sent as "Authorization: Bearer TOKEN"; without a token file every
//     command over TCP is refused (403): any local user, or a browser
//     tricked into posting to 127.0.0.1, could send one.
//
// A command is also refused unless its Host header is loopback (a page
// whose name was rebound to 127.0.0.1 sends its own name: DNS rebinding),
// any Origin header is loopback, and its body is JSON.
//
// Reads stay open to every local user on TCP, as before the commands.

// adminCommands is what the commands of the admin endpoint do in the running
// aaad. A nil adminCommands (the interface itself nil) is a node that serves
// no command: each answers 503.
type adminCommands interface {
	// Deregister ends the registration of the subscriber imsi (6 to 15
	// digits, checked): in the HSS role, a Registration-Termination-
	// Request to the AAA server it is registered at, and the end of its
	// sessions. Errors: errUnknownSubscriber, errNotRegistered,
	// errNotSupported (wrapped as one likes: errors.Is decides), or any
	// other failure. ctx bounds the whole (adminCommandTimeout).
	Deregister(ctx context.Context, imsi string) (DeregisterResult, error)
}

// DeregisterResult is what a deregistration did: the answer of POST
// /v1/deregister (with "ok": true), which aaactl deregister prints.
type DeregisterResult struct {
	// Sent: a Registration-Termination-Request (SWx, TS 29.273) went out.
	Sent bool `json:"sent"`
	// Peer is the Diameter peer (its Origin-Host) the request went to.
	Peer string `json:"peer,omitempty"`
	// ResultCode is the answer's Result-Code, or its
	// Experimental-Result-Code; 0 when no answer came.
	ResultCode uint32 `json:"result_code,omitempty"`
	// Sessions is how many of the subscriber's sessions were ended.
	Sessions int `json:"sessions"`
}

// The errors of adminCommands that the endpoint maps to an HTTP status.
var (
	// errUnknownSubscriber: no such subscriber (404).
	errUnknownSubscriber = errors.New("unknown subscriber")
	// errNotRegistered: the subscriber is not registered (404).
	errNotRegistered = errors.New("the subscriber is not registered")
	// errNotSupported: this node cannot do it: no Diameter peer, no HSS
	// role configured (503).
	errNotSupported = errors.New("this node does not serve SWx")
)

const (
	// adminBodyLimit bounds the body of a command.
	adminBodyLimit = 4 << 10
	// adminCommandTimeout bounds a command as a whole (a Diameter round
	// trip and its retries included).
	adminCommandTimeout = 10 * time.Second
	// minAdminToken is the shortest token admin.token_file may hold.
	minAdminToken = 16
)

// adminCommands is what the app gives the admin endpoint's commands.
// Every node has them: deregister on an HSS node is an RTR, on an AAA node
// the end of the subscriber's sessions.
func (a *app) adminCommands() adminCommands { return swxCommands{a: a} }

// startAdmin publishes the counters and serves the admin endpoint on
// admin.listen, with cmds behind its commands (nil: none served). Its
// errors are prefixed with "admin.listen: " by the caller.
func (a *app) startAdmin(cmds adminCommands) (*http.Server, error) {
	log := a.log.Named("admin")
	h, err := newAdminHandler(a.cfg.Admin, cmds, log)
	if err != nil {
		return nil, err
	}
	ln, err := listenAdmin(a.cfg.Admin.Listen)
	if err != nil {
		return nil, err
	}
	a.publishVars()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	addr := ln.Addr().String()
	if ul, ok := ln.(*unixSocketListener); ok {
		addr = adminUnixPrefix + ul.path
	}
	a.log.Info("admin listening", zap.String("addr", addr), zap.Bool("pprof", a.cfg.Admin.PProf),
		zap.Bool("commands", cmds != nil), zap.Bool("token", a.cfg.Admin.TokenFile != ""))
	return srv, nil
}

// publishVars publishes the counters at /debug/vars (once a process:
// expvar refuses a name twice).
func (a *app) publishVars() {
	if a.radius != nil {
		stats := &a.radius.Stats
		expvar.Publish("radius", expvar.Func(func() any { return stats.Snapshot() }))
		expvar.Publish("radius_clients", expvar.Func(func() any { return a.radius.ClientStats() }))
	}
	if a.node != nil {
		expvar.Publish("diameter", expvar.Func(func() any { return a.node.Stats.Snapshot() }))
		expvar.Publish("diameter_peers", expvar.Func(func() any { return a.node.OpenPeers() }))
	}
	if a.swxClient != nil {
		expvar.Publish("swx", expvar.Func(func() any {
			m := a.swxClient.Stats()
			return m
		}))
	}
	if a.swxServer != nil {
		expvar.Publish("swx_server", expvar.Func(func() any { return a.swxServer.Stats() }))
	}
	if a.eapFront != nil {
		expvar.Publish("diameter_eap", expvar.Func(func() any { return a.eapFront.Stats.Snapshot() }))
	}
	expvar.Publish("sessions", expvar.Func(func() any {
		return map[string]uint64{"live": uint64(a.sessions.Len()), "evicted": a.sessions.Evicted(),
			"deregistrations_dropped": a.deregsDropped.Load()}
	}))
	expvar.Publish("eap_store", expvar.Func(func() any {
		if a.convs == nil {
			return map[string]string{"backend": a.cfg.Store.Backend}
		}
		p, r := a.convs.Records()
		return map[string]int64{"conversations": int64(a.convs.Len()), "conversation_bytes": a.convs.Bytes(),
			"pseudonyms": int64(p), "reauth_contexts": int64(r)}
	}))
	// Goroutines and the Redis pool: what an outage of the store must
	// not grow (docs/architecture.md, "When Redis is down or slow").
	expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	if a.rdb != nil {
		rdb := a.rdb
		expvar.Publish("redis_pool", expvar.Func(func() any {
			st := rdb.PoolStats()
			m := make(map[string]uint64, 16)
			add := func(prefix string, hits, misses, timeouts, waits, total, idle, stale, pending uint32) {
				m[prefix+"hits"], m[prefix+"misses"], m[prefix+"timeouts"] = uint64(hits), uint64(misses), uint64(timeouts)
				m[prefix+"wait_count"], m[prefix+"total_conns"], m[prefix+"idle_conns"] = uint64(waits), uint64(total), uint64(idle)
				m[prefix+"stale_conns"], m[prefix+"pending_requests"] = uint64(stale), uint64(pending)
			}
			add("", st.Hits, st.Misses, st.Timeouts, st.WaitCount, st.TotalConns, st.IdleConns, st.StaleConns, st.PendingRequests)
			if p := st.PipelineStats; p != nil { // pipelines' own pool
				add("pipeline_", p.Hits, p.Misses, p.Timeouts, p.WaitCount, p.TotalConns, p.IdleConns, p.StaleConns, p.PendingRequests)
			}
			return m
		}))
	}
}

// adminHandler serves the admin endpoint of one listener.
type adminHandler struct {
	log  *zap.Logger
	cmds adminCommands
	unix bool // over a unix socket: its file mode is the access control
	// tokenSum is SHA-256 of admin.token_file's token; nil when none.
	// Hashes are compared, so the comparison takes the same time
	// whatever the length of what was sent.
	tokenSum []byte
}

// newAdminHandler is the admin endpoint for c (validated): it reads
// admin.token_file.
func newAdminHandler(c AdminConfig, cmds adminCommands, log *zap.Logger) (http.Handler, error) {
	network, _, err := adminListenAddr(c.Listen)
	if err != nil {
		return nil, err
	}
	h := &adminHandler{log: log, cmds: cmds, unix: network == "unix"}
	if c.TokenFile != "" && !h.unix {
		if h.tokenSum, err = readAdminToken(c.TokenFile); err != nil {
			return nil, err
		}
		if fi, err := os.Stat(c.TokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("admin.token_file: readable or writable by others than its owner: chmod 0600")
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	if c.PProf {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("POST /v1/deregister", h.command(h.deregister))
	// Each family of routes in a file of its own; each registers only
	// when cmds implements what it needs.
	h.sessionRoutes(mux)
	h.healthRoutes(mux)
	h.metricsRoutes(mux)
	h.reloadRoutes(mux)
	return mux, nil
}

// readAdminToken reads admin.token_file: one line, at least minAdminToken
// printable characters, no space. It returns the token's SHA-256; errors
// name the key, never the contents.
func readAdminToken(path string) ([]byte, error) {
	data, err := readNamedFile(nil, "admin.token_file", path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	tok := bytes.TrimSpace(data)
	if len(tok) < minAdminToken {
		return nil, fmt.Errorf("admin.token_file: the token is too short: want at least %d characters (openssl rand -hex 32)", minAdminToken)
	}
	for _, b := range tok {
		if b < 0x21 || b > 0x7e {
			return nil, errors.New("admin.token_file: want one token: printable ASCII, no spaces, on one line")
		}
	}
	sum := sha256.Sum256(tok)
	return sum[:], nil
}

// adminReply is the body of every answer to a command.
type adminReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// refuse answers a command with an error: msg is ours, never anything of
// the request.
func (h *adminHandler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.log.Warn("admin command refused", zap.String("path", r.URL.Path), zap.Int("status", status),
		zap.String("reason", msg), zap.Bool("unix", h.unix))
	writeAdminJSON(w, status, adminReply{Error: msg})
}

// command guards a command: a loopback Host and Origin, the token over
// TCP, a JSON body of at most adminBodyLimit.
func (h *adminHandler) command(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) && !(h.unix && r.Host == "") {
			h.refuse(w, r, http.StatusForbidden, "the Host header must be localhost or a loopback address")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || !loopbackHost(u.Host) {
				h.refuse(w, r, http.StatusForbidden, "cross-origin commands are refused")
				return
			}
		}
		if !h.unix {
			if h.tokenSum == nil {
				h.refuse(w, r, http.StatusForbidden, "commands over TCP are refused without a token: use a unix socket (admin.listen: unix:/path) or set admin.token_file")
				return
			}
			if !h.tokenOK(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aaad admin"`)
				h.refuse(w, r, http.StatusUnauthorized, "a valid bearer token is required (the token of admin.token_file)")
				return
			}
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			h.refuse(w, r, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, adminBodyLimit)
		next(w, r)
	})
}

// tokenOK reports whether r carries the token, in constant time.
func (h *adminHandler) tokenOK(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum) == 1
}

// loopbackHost reports whether host (a Host header, or a URL's host, with
// or without a port) is localhost or a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// decodeCommand reads a command's body into v: one JSON object of known
// fields. Its errors answer the request, and quote nothing of it.
func (h *adminHandler) decodeCommand(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		switch _, err2 := dec.Token(); {
		case err2 == nil:
			err = errors.New("trailing data")
		case !errors.Is(err2, io.EOF):
			err = err2
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is too large (at most %d bytes)", adminBodyLimit))
		return false
	}
	h.refuse(w, r, http.StatusBadRequest, "want a JSON body "+want)
	return false
}

// deregisterReply is the answer of a deregistration that succeeded.
type deregisterReply struct {
	OK bool `json:"ok"`
	DeregisterResult
}

// deregister serves POST /v1/deregister {"imsi": "..."}.
func (h *adminHandler) deregister(w http.ResponseWriter, r *http.Request) {
	if h.cmds == nil {
		h.refuse(w, r, http.StatusServiceUnavailable, errNotSupported.Error())
		return
	}
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
	ctx, cancel := context.WithTimeout(r.Context(), adminCommandTimeout)
	defer cancel()
	res, err := h.cmds.Deregister(ctx, req.IMSI)
	log := h.log.With(zap.String("command", "deregister"), zap.String("imsi", radius.MaskIMSI(req.IMSI)),
		zap.Duration("elapsed", time.Since(start)))
	if err != nil {
		status := http.StatusInternalServerError
		msg := "deregister: " + err.Error()
		switch {
		case errors.Is(err, errUnknownSubscriber), errors.Is(err, errNotRegistered):
			status = http.StatusNotFound
			msg = err.Error()
		case errors.Is(err, errNotSupported):
			status = http.StatusServiceUnavailable
			msg = err.Error()
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			msg = fmt.Sprintf("deregister: no outcome within %v", adminCommandTimeout)
		}
		log.Warn("admin command failed", zap.Int("status", status), zap.Error(err))
		writeAdminJSON(w, status, adminReply{Error: msg})
		return
	}
	log.Info("admin command done", zap.Bool("sent", res.Sent), zap.String("peer", res.Peer),
		zap.Uint32("result_code", res.ResultCode), zap.Int("sessions", res.Sessions))
	writeAdminJSON(w, http.StatusOK, deregisterReply{OK: true, DeregisterResult: res})
}

// listenAdmin listens on admin.listen (validated): TCP, or a unix socket
// of mode 0600 whose file goes when the listener is closed.
func listenAdmin(listen string) (net.Listener, error) {
	network, addr, err := adminListenAddr(listen)
	if err != nil {
		return nil, err
	}
	if network == "tcp" {
		return net.Listen("tcp", addr)
	}
	return listenUnixSocket(addr)
}

// umaskMu serialises the umask changes of listenUnixSocket.
var umaskMu sync.Mutex

// listenUnixSocket listens on a unix socket at path, created with mode
// 0600 whatever the umask: the umask is 0177 while the socket is bound
// (the process's umask: this runs at start, before anything else creates
// files, and only makes a file created meanwhile more private), and the
// mode is set again after. A socket left at path by a process that is
// gone is removed first; anything else at path is left alone and is an
// error.
func listenUnixSocket(path string) (net.Listener, error) {
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	umaskMu.Lock()
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, err
	}
	// Removed by our Close, and only if it is still ours.
	ln.SetUnlinkOnClose(false)
	fi, err := os.Lstat(path)
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("the unix socket: %w", err)
	}
	return &unixSocketListener{UnixListener: ln, path: path, file: fi}, nil
}

// removeStaleSocket removes a unix socket at path that no process listens
// on any more. Nothing at path is fine; a socket something still listens
// on, or a file that is not a socket, is an error and stays.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("the unix socket: %w", err)
	case fi.Mode().Type() != os.ModeSocket:
		return errors.New("the unix socket's path holds a file that is not a socket: not removed; remove it or choose another path")
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return errors.New("the unix socket is in use by a running process (another aaad?): not removed")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("the unix socket is there and cannot be told stale: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the stale unix socket: %w", err)
	}
	return nil
}

// unixSocketListener is the admin endpoint's unix socket: its Close
// removes the socket file, unless another process has put its own there
// since.
type unixSocketListener struct {
	*net.UnixListener
	path string
	file os.FileInfo // the socket as created
	once sync.Once
}

func (l *unixSocketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.file) {
			os.Remove(l.path)
		}
	})
	return err
}
