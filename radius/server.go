package radius

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/latency"
	"github.com/aaa-project/aaa/session"
)

// EAPHandler is the EAP server the front end drives (*eap.Server). from
// names the client, which conversations are bound to, and its share.
type EAPHandler interface {
	Handle(ctx context.Context, from eap.Peer, state, msg, buf []byte, res *eap.Result) error
}

// Drop reasons: every request we do not answer is counted under one.
type DropReason uint8

const (
	DropUnknownClient DropReason = iota
	DropMalformed
	DropNotAccessRequest
	DropNoMessageAuthenticator
	DropBadMessageAuthenticator
	DropInProgress
	DropEAPDiscard
	DropBackend
	DropPanic
	DropDuplicateCacheFull
	DropBadRequestAuthenticator
	DropNotAccountingRequest
	numDropReasons
)

var dropNames = [numDropReasons]string{
	DropUnknownClient:           "unknown_client",
	DropMalformed:               "malformed",
	DropNotAccessRequest:        "not_access_request",
	DropNoMessageAuthenticator:  "no_message_authenticator",
	DropBadMessageAuthenticator: "bad_message_authenticator",
	DropInProgress:              "duplicate_in_progress",
	DropEAPDiscard:              "eap_discard",
	DropBackend:                 "backend_error",
	DropPanic:                   "panic",
	DropDuplicateCacheFull:      "duplicate_cache_full",
	DropBadRequestAuthenticator: "bad_request_authenticator",
	DropNotAccountingRequest:    "not_accounting_request",
}

func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Stats are the server's counters. Read them with Snapshot.
type Stats struct {
	Requests    atomic.Uint64
	Accepts     atomic.Uint64
	Rejects     atomic.Uint64
	Challenges  atomic.Uint64
	Replays     atomic.Uint64
	Resyncs     atomic.Uint64
	FastReauths atomic.Uint64
	// IdentityRounds counts AKA-Identity requests sent: identities that
	// could not be used as they came.
	IdentityRounds atomic.Uint64
	// RecordsNotStored counts pseudonyms and re-authentication identities
	// handed out in an Accept but refused by the EAP store (full or
	// failing): raise eap.max_conversations, or see the store.
	RecordsNotStored atomic.Uint64
	// EAPReplays counts answers read back from the conversation for a
	// retransmission this node had not seen (another node answered the
	// first copy, or the duplicate cache had let it go). They are not
	// counted again as challenges, accepts or rejects.
	EAPReplays atomic.Uint64
	// Disconnect-Requests (RFC 5176) the Disconnector sent (first
	// transmissions), sent again, and how they ended: ACK, NAK, no answer
	// (timeout, or the caller's context ended), not sent (error: no such
	// client, no address, a socket error); BadResponses counts answers
	// ignored (wrong Identifier, code, authenticator or framing).
	DisconnectSent         atomic.Uint64
	DisconnectRetransmits  atomic.Uint64
	DisconnectACKs         atomic.Uint64
	DisconnectNAKs         atomic.Uint64
	DisconnectTimeouts     atomic.Uint64
	DisconnectErrors       atomic.Uint64
	DisconnectBadResponses atomic.Uint64
	// SessionsAdded counts sessions recorded in the session table.
	SessionsAdded atomic.Uint64
	// Acct counts authentic Accounting-Requests (RFC 2866) answered, by
	// Acct-Status-Type (accounting.go).
	Acct AcctStats
	// Auths counts Accepts and Rejects by EAP method.
	Auths eap.Tally
	// Latency is how long Access-Requests took to answer, from the
	// duplicate check to the answer built (the vector source and the
	// store included).
	Latency      latency.Histogram
	dropped      [numDropReasons]atomic.Uint64
	eapFailures  [eap.NumReasons]atomic.Uint64
	NoEAPRejects atomic.Uint64
	InFlight     atomic.Int64
}

// Snapshot returns the counters by name, for expvar and logs.
func (s *Stats) Snapshot() map[string]uint64 {
	m := map[string]uint64{
		"requests":         s.Requests.Load(),
		"access_accept":    s.Accepts.Load(),
		"access_reject":    s.Rejects.Load(),
		"access_challenge": s.Challenges.Load(),
		"replayed":         s.Replays.Load(),
		"resyncs":          s.Resyncs.Load(),
		"fast_reauths":     s.FastReauths.Load(),
		"identity_rounds":  s.IdentityRounds.Load(),
		"reject_no_eap":    s.NoEAPRejects.Load(),
		// Requests being processed now: it returns to 0 when the load
		// stops, whatever the store does (no request is stuck).
		"in_flight": uint64(max(s.InFlight.Load(), 0)),

		"records_not_stored": s.RecordsNotStored.Load(),
		"eap_replays":        s.EAPReplays.Load(),

		"disconnect_sent":          s.DisconnectSent.Load(),
		"disconnect_retransmitted": s.DisconnectRetransmits.Load(),
		"disconnect_ack":           s.DisconnectACKs.Load(),
		"disconnect_nak":           s.DisconnectNAKs.Load(),
		"disconnect_timeout":       s.DisconnectTimeouts.Load(),
		"disconnect_error":         s.DisconnectErrors.Load(),
		"disconnect_bad_response":  s.DisconnectBadResponses.Load(),
		"sessions_added":           s.SessionsAdded.Load(),
	}
	s.Acct.snapshot(m)
	for i := range s.dropped {
		m["dropped_"+DropReason(i).String()] = s.dropped[i].Load()
	}
	for i := range s.eapFailures {
		if i == int(eap.ReasonNone) {
			continue
		}
		m["eap_failure_"+eap.Reason(i).String()] = s.eapFailures[i].Load()
	}
	return m
}

// Dropped returns the count for one drop reason.
func (s *Stats) Dropped(r DropReason) uint64 { return s.dropped[r].Load() }

// EAPFailures returns the count of EAP failures (or discards) for a reason.
func (s *Stats) EAPFailures(r eap.Reason) uint64 { return s.eapFailures[r].Load() }

// Server is the RADIUS authentication server.
type Server struct {
	cfg     Config
	clients atomic.Pointer[clientTable] // replaced whole by SetClients
	eap     EAPHandler
	log     *zap.Logger
	drops   *dropLog
	Stats   Stats

	sockets int // how many the Listener opens; fixed at New

	// sessions, when set, records the session of every new Access-Accept.
	sessions atomic.Pointer[session.Table]
	// cuiKey keys the Chargeable-User-Identity (cui); acct is the
	// accounting listener (accounting.go).
	cuiKey []byte
	acct   acctState

	mu      sync.Mutex
	ln      *Listener // from Listen
	serving bool
	wg      sync.WaitGroup
	done    chan struct{}
}

// New returns a server for a validated cfg. It starts nothing.
func New(cfg Config, h EAPHandler, log *zap.Logger) (*Server, error) {
	cfg.SetDefaults()
	if err := cfg.Validate("radius"); err != nil {
		return nil, err
	}
	cs, err := cfg.clients()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{
		cfg:     cfg,
		eap:     h,
		log:     log,
		drops:   newDropLog(maxDropLogSources),
		sockets: socketCount(len(cs), cfg.Sockets),
		done:    make(chan struct{}),
	}
	if s.cuiKey, err = loadCUIKey(cfg.CUIKeyFile); err != nil {
		return nil, err
	}
	t := newClientTable(cs, nil, cfg.DuplicateCache, s.sockets)
	s.clients.Store(&t)
	return s, nil
}

// SetClients replaces the client table (a reload): requests in progress
// finish with the table they started with. Clients that keep their name
// keep their duplicate cache and counters. cfg is validated first; on
// error nothing changes.
func (s *Server) SetClients(cfg Config) error {
	cfg.SetDefaults()
	if err := cfg.Validate("radius"); err != nil {
		return err
	}
	cs, err := cfg.clients()
	if err != nil {
		return err
	}
	t := newClientTable(cs, *s.clients.Load(), s.cfg.DuplicateCache, s.sockets)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil && s.ln.steered {
		// The sockets stay; the program that picks one is replaced. One
		// that cannot be had (too many clients for it) leaves the kernel
		// to spread datagrams over the sockets, as at start.
		if err := s.ln.steer(t); err != nil {
			if uerr := s.ln.unsteer(); uerr != nil {
				return errors.Join(err, uerr)
			}
			s.log.Warn("clients no longer have sockets of their own: a client that floods can fill the receive buffers for all",
				zap.Error(err))
		}
	}
	s.clients.Store(&t)
	t.applyShares()
	return nil
}

// SetSessions makes every Access-Accept that is not a replay record its
// session in t (nil: none). Register s.Disconnector() with t to end them.
func (s *Server) SetSessions(t *session.Table) { s.sessions.Store(t) }

// Sessions returns the table set with SetSessions, or nil.
func (s *Server) Sessions() *session.Table { return s.sessions.Load() }

// ClientStats returns each client's counters by client name, for expvar.
func (s *Server) ClientStats() map[string]map[string]uint64 {
	t := *s.clients.Load()
	m := make(map[string]map[string]uint64, len(t))
	for i := range t {
		m[t[i].Name] = t[i].state.stats.snapshot()
	}
	return m
}

// Client returns the client named name, or nil (tests, operations).
func (s *Server) Client(name string) *Client {
	t := *s.clients.Load()
	for i := range t {
		if t[i].Name == name {
			return &t[i]
		}
	}
	return nil
}

// Stats returns the client's counters.
func (c *Client) Stats() *ClientStats { return &c.state.stats }

// Listen binds the configured UDP address: a socket per client and one for
// other sources, each client's datagrams steered to its own (Listener).
func (s *Server) Listen() (*Listener, error) {
	ap, err := netip.ParseAddrPort(s.cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := listen(ap, s.sockets, s.cfg.ReadBuffer, *s.clients.Load())
	if err != nil {
		return nil, err
	}
	if l.steerErr != nil {
		s.log.Warn("one socket for all clients: a client that floods can fill the receive buffer for all",
			zap.Error(l.steerErr))
	}
	// Known from now on, so that a reload before Serve steers it too.
	s.ln = l
	return l, nil
}

// Serve answers requests on l's sockets until Shutdown. ctx is the parent
// of every request's context.
func (s *Server) Serve(ctx context.Context, l *Listener) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("radius: already serving")
	}
	s.serving = true
	s.ln = l
	steered := l.steered
	s.mu.Unlock()
	defer close(s.done)
	// A fixed set of long-lived workers each read a datagram and answer
	// it: a goroutine per packet grew a new stack for the EAP work every
	// time, and a hand-off from one reader to a worker cost a thread
	// wake-up per packet below saturation. Datagrams beyond what the
	// workers take wait in the socket's receive buffer.
	stopSweep := make(chan struct{})
	defer close(stopSweep)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		lastDropLog := time.Now()
		defer func() { s.drops.flush(s.log, time.Since(lastDropLog)) }()
		for {
			select {
			case <-stopSweep:
				return
			case now := <-t.C:
				cs := *s.clients.Load()
				for i := range cs {
					cs[i].state.dedup.sweep(now)
				}
				if now.Sub(lastDropLog) >= s.cfg.DropLogInterval {
					s.drops.flush(s.log, now.Sub(lastDropLog))
					lastDropLog = now
				}
			}
		}
	}()
	// Each socket has its own workers: those of a client that floods are
	// busy with its datagrams; the others' still read theirs.
	var errs []error
	var errMu sync.Mutex
	for i, conn := range l.conns {
		n := s.cfg.Workers
		if steered {
			n = workersFor(i, len(l.conns), s.cfg.Workers)
		} else if i > 0 {
			n = max(1, s.cfg.Workers/len(l.conns))
		}
		for range n {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := s.readAndServe(ctx, conn); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			}()
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// readAndServe is one worker: read a datagram, answer it, until the socket
// is closed.
func (s *Server) readAndServe(ctx context.Context, conn *net.UDPConn) error {
	pb := new(packetBuf)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(pb[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn("radius read failed", zap.Error(err))
			continue
		}
		s.Stats.InFlight.Add(1)
		if resp := s.process(ctx, from, pb[:n]); resp != nil {
			s.write(conn, from, resp)
		}
		s.Stats.InFlight.Add(-1)
	}
}

// packetBuf holds one datagram: one octet more than the largest RADIUS
// packet, so that an oversized datagram is seen as such.
type packetBuf [radius.MaxPacketLength + 1]byte

// Shutdown stops reading and waits for requests in progress, at most until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	acctDone := s.shutdownAccounting()
	if ln == nil {
		return waitOrDone(ctx, acctDone)
	}
	ln.Close()
	wait := make(chan struct{})
	go func() {
		// Serve has started every worker by the time it returns (done),
		// and closed their queue: then wait for them to drain it.
		<-s.done
		s.wg.Wait()
		<-acctDone
		close(wait)
	}()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drop counts a request we do not answer, for the server and the client,
// and notes it for the periodic summary in the log (never a line per
// packet: a flood would fill the disk).
func (s *Server) drop(r DropReason, from netip.AddrPort, client *Client) {
	s.Stats.dropped[r].Add(1)
	name := ""
	if client != nil {
		client.state.stats.dropped[r].Add(1)
		name = client.Name
	}
	s.drops.add(from.Addr(), name, r.String())
}

// process runs one request through: client lookup, framing, duplicate
// check, Message-Authenticator, EAP. It returns the answer to send, or nil.
func (s *Server) process(ctx context.Context, from netip.AddrPort, b []byte) (resp []byte) {
	client := s.clients.Load().lookup(from.Addr())
	if client == nil {
		s.drop(DropUnknownClient, from, nil)
		return nil
	}
	b, maOff, err := checkPacket(b)
	if err != nil {
		s.drop(DropMalformed, from, client)
		return nil
	}
	if b[0] != codeAccessRequest {
		s.drop(DropNotAccessRequest, from, client)
		return nil
	}
	s.Stats.Requests.Add(1)
	client.state.stats.Requests.Add(1)
	key := dedupKey{addr: from, id: b[1]}
	var auth [16]byte
	copy(auth[:], b[4:20])
	// Message-Authenticator is checked before the duplicate cache is
	// consulted, so a forged packet can neither fetch nor fill an entry.
	// Every Access-Request must carry one (RFC 3579 3.2 makes it mandatory
	// with EAP-Message; BlastRADIUS, CVE-2024-3596, makes it mandatory for
	// us on every request).
	mac := client.mac()
	err = verifyMessageAuthenticator(b, maOff, mac)
	client.putMAC(mac)
	if err != nil {
		if errors.Is(err, errNoMsgAuth) {
			s.drop(DropNoMessageAuthenticator, from, client)
		} else {
			s.drop(DropBadMessageAuthenticator, from, client)
		}
		return nil
	}
	return s.deduplicated(client.state.dedup, key, &auth, from, client, &s.Stats.Replays, "radius request", func() []byte {
		start := time.Now()
		resp := s.answer(ctx, client, from, b)
		s.Stats.Latency.Since(start)
		return resp
	})
}

// deduplicated answers a retransmission from dedup, drops one whose first
// copy is still in progress or that the client's share cannot keep, and
// otherwise runs handle and keeps its answer. A panic in handle is
// recovered, counted and never answered: no Accept can come out of a
// state we do not understand.
func (s *Server) deduplicated(dedup *dedupCache, key dedupKey, auth *[16]byte, from netip.AddrPort, client *Client,
	replays *atomic.Uint64, what string, handle func() []byte) (resp []byte) {
	switch cached, st := dedup.begin(key, auth, time.Now()); st {
	case dedupReplay:
		replays.Add(1)
		return cached
	case dedupPending:
		s.drop(DropInProgress, from, client)
		return nil
	case dedupFull:
		// The client's share of the cache is full: an answer we could
		// not replay could differ from a retransmission's. The access
		// point retries once its own entries expire.
		s.drop(DropDuplicateCacheFull, from, client)
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			resp = nil
			s.drop(DropPanic, from, client)
			s.log.Error(what+" panicked", zap.String("client", client.Name))
		}
		dedup.finish(key, auth, resp)
	}()
	return handle()
}

func (s *Server) write(conn *net.UDPConn, to netip.AddrPort, b []byte) {
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("radius write failed", zap.Error(err))
	}
}

// answer runs EAP for an authentic Access-Request and encodes the reply, or
// returns nil to send nothing.
func (s *Server) answer(ctx context.Context, client *Client, from netip.AddrPort, b []byte) []byte {
	req, err := radius.Parse(b, client.Secret)
	if err != nil {
		s.drop(DropMalformed, from, client)
		return nil
	}
	resp := &radius.Packet{
		Identifier:    req.Identifier,
		Authenticator: req.Authenticator,
		Secret:        client.Secret,
	}
	var zero [16]byte
	resp.Add(attrMessageAuthenticator, zero[:]) // first, filled in by encodeResponse
	msg, err := rfc2869.EAPMessage_Lookup(req)
	if err != nil {
		// Not EAP: the only authentication we do is EAP.
		s.Stats.NoEAPRejects.Add(1)
		client.state.stats.Rejects.Add(1)
		resp.Code = radius.CodeAccessReject
		return s.encode(resp, from, client)
	}
	state, _ := rfc2865.State_Lookup(req)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	sc := scratchPool.Get().(*scratch)
	defer func() {
		sc.res.Clear()
		sc.res = eap.Result{}
		scratchPool.Put(sc)
	}()
	res := &sc.res
	peer := eap.Peer{Name: client.Name, MaxConversations: client.MaxConversations}
	start := time.Now()
	if err := s.eap.Handle(ctx, peer, state, msg, sc.buf[:0], res); err != nil {
		// A backend fault (store or vector source): no answer, never a
		// rejection; the access point retries or fails over. elapsed is
		// what the fault cost this request (a worker was busy that long).
		s.drop(DropBackend, from, client)
		if ce := s.log.Check(zap.ErrorLevel, "eap request failed"); ce != nil {
			ce.Write(zap.String("client", client.Name), zap.Duration("elapsed", time.Since(start)), zap.Error(err))
		}
		return nil
	}
	if res.Replayed {
		s.Stats.EAPReplays.Add(1)
	} else if res.Outcome == eap.OutcomeSuccess {
		if res.Resynced {
			s.Stats.Resyncs.Add(1)
		}
		if res.FastReauth {
			s.Stats.FastReauths.Add(1)
		}
		if res.NotStored > 0 {
			s.Stats.RecordsNotStored.Add(uint64(res.NotStored))
		}
	}
	switch res.Outcome {
	case eap.OutcomeDiscard:
		s.Stats.dropped[DropEAPDiscard].Add(1)
		client.state.stats.dropped[DropEAPDiscard].Add(1)
		s.Stats.eapFailures[res.Reason].Add(1)
		if res.Reason == eap.ReasonPeerFull {
			client.state.stats.ShareFull.Add(1)
		}
		if res.Reason < eap.Reason(eap.NumReasons) {
			s.drops.add(from.Addr(), client.Name, eapDiscardLabels[res.Reason])
		}
		if ce := s.log.Check(zap.DebugLevel, "eap message discarded"); ce != nil {
			ce.Write(zap.String("client", client.Name), zap.Stringer("reason", res.Reason))
		}
		return nil
	case eap.OutcomeContinue:
		if !res.Replayed {
			s.Stats.Challenges.Add(1)
			client.state.stats.Challenges.Add(1)
			if res.IdentityRound {
				s.Stats.IdentityRounds.Add(1)
			}
		}
		resp.Code = radius.CodeAccessChallenge
		rfc2869.EAPMessage_Set(resp, res.Packet)
		rfc2865.State_Set(resp, res.Conversation[:])
	case eap.OutcomeSuccess:
		if !res.Replayed {
			s.Stats.Accepts.Add(1)
			s.Stats.Auths.Add(res.Method, true)
			client.state.stats.Accepts.Add(1)
		}
		resp.Code = radius.CodeAccessAccept
		rfc2869.EAPMessage_Set(resp, res.Packet)
		// RFC 2548 2.4.2-3: MS-MPPE-Recv-Key is the first 32 octets of
		// the MSK, Send-Key the next 32 (RFC 3748 / RFC 5247 usage).
		if err := microsoft.MSMPPERecvKey_Add(resp, res.MSK[:32]); err != nil {
			return nil
		}
		if err := microsoft.MSMPPESendKey_Add(resp, res.MSK[32:64]); err != nil {
			return nil
		}
		if len(res.Identity) > 0 && len(res.Identity) <= 253 {
			rfc2865.UserName_Set(resp, res.Identity)
		}
		if s.cfg.SessionTimeout > 0 {
			rfc2865.SessionTimeout_Set(resp, rfc2865.SessionTimeout(s.cfg.SessionTimeout/time.Second))
		}
		if t := s.sessions.Load(); t != nil && !res.Replayed && res.IMSI != "" {
			// Class ties the access point's accounting to this session
			// (RFC 2865 5.25); an opaque random token, never the IMSI.
			class := newClass()
			s.addSession(t, client, from, req, res, class)
			rfc2865.Class_Add(resp, []byte(class))
		}
		if res.IMSI != "" {
			if _, ok := req.Lookup(attrChargeableUserIdentity); ok {
				// The access point asks for it (RFC 4372 2.1): an opaque
				// value per subscriber, never the IMSI.
				resp.Add(attrChargeableUserIdentity, []byte(s.cui(res.IMSI)))
			}
		}
		// Check first: at load the sampler drops most of these lines,
		// and then the fields (a masked IMSI, a parsed identity) are
		// not built at all.
		if res.Replayed {
			// The same Accept again, for a retransmission: not another
			// authentication.
			if ce := s.log.Check(zap.DebugLevel, "eap answer replayed"); ce != nil {
				ce.Write(zap.String("client", client.Name), zap.String("outcome", "success"))
			}
		} else if ce := s.log.Check(zap.InfoLevel, "eap authentication succeeded"); ce != nil {
			ce.Write(zap.String("client", client.Name),
				zap.String("method", methodName(res.Method)),
				zap.String("imsi", MaskIMSI(res.IMSI)),
				zap.Stringer("identity_kind", eap.ParseIdentity(res.Identity).Kind),
				zap.Bool("fast_reauth", res.FastReauth),
				zap.Bool("resynced", res.Resynced))
		}
	case eap.OutcomeFailure:
		if !res.Replayed {
			s.Stats.Rejects.Add(1)
			s.Stats.Auths.Add(res.Method, false)
			client.state.stats.Rejects.Add(1)
			s.Stats.eapFailures[res.Reason].Add(1)
		}
		resp.Code = radius.CodeAccessReject
		rfc2869.EAPMessage_Set(resp, res.Packet)
		if ce := s.log.Check(zap.InfoLevel, "eap authentication failed"); ce != nil && !res.Replayed {
			ce.Write(zap.String("client", client.Name),
				zap.String("method", methodName(res.Method)),
				zap.Stringer("reason", res.Reason))
		}
	}
	return s.encode(resp, from, client)
}

// addSession records the session an Access-Accept opens. The user name is
// the one the Accept carries (the EAP identity), which the access point
// uses for the session from then on (RFC 2865 5.1), else the request's.
func (s *Server) addSession(t *session.Table, client *Client, from netip.AddrPort, req *radius.Packet, res *eap.Result, class string) {
	now := time.Now()
	life := s.cfg.SessionLifetime
	if s.cfg.SessionTimeout > 0 {
		life = s.cfg.SessionTimeout
	}
	ss := session.Session{
		IMSI:     res.IMSI,
		FrontEnd: FrontEnd,
		Client:   client.Name,
		NAS:      from,
		Started:  now,
		Expires:  now.Add(life),
	}
	var userName []byte
	if len(res.Identity) > 0 && len(res.Identity) <= 253 {
		userName = res.Identity
	}
	// One pass over the attributes; a string is built only for those
	// present.
	for _, a := range req.Attributes {
		v := a.Attribute
		switch a.Type {
		case rfc2865.UserName_Type:
			if userName == nil {
				userName = v
			}
		case rfc2865.CallingStationID_Type:
			ss.CallingStationID = string(v)
		case rfc2865.NASIdentifier_Type:
			ss.NASIdentifier = string(v)
		case attrAcctSessionID:
			ss.AcctSessionID = string(v)
		case rfc2865.NASIPAddress_Type:
			if len(v) == 4 {
				ss.NASIPAddress = netip.AddrFrom4([4]byte(v))
			}
		case attrNASIPv6Address:
			if len(v) == 16 && !ss.NASIPAddress.Is4() {
				ss.NASIPAddress = netip.AddrFrom16([16]byte(v))
			}
		}
	}
	ss.UserName = string(userName)
	t.AddClass(ss, class)
	s.Stats.SessionsAdded.Add(1)
}

func (s *Server) encode(p *radius.Packet, from netip.AddrPort, client *Client) []byte {
	mac := client.mac()
	b, err := encodeResponse(p, mac)
	client.putMAC(mac)
	if err != nil {
		s.log.Error("radius encode failed", zap.String("client", client.Name), zap.Error(err))
		return nil
	}
	return b
}

// scratch is the per-request working memory of answer: the EAP reply and
// the result would otherwise escape to the heap on every request.
type scratch struct {
	buf [1024]byte
	res eap.Result
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func methodName(t eap.Type) string {
	switch t {
	case eap.TypeAKA:
		return "aka"
	case eap.TypeAKAPrime:
		return "aka-prime"
	}
	return ""
}

// MaskIMSI keeps an IMSI out of info logs: session.MaskIMSI, so that
// every package masks alike and lines about one user, read together,
// show no more digits.
func MaskIMSI(imsi string) string { return session.MaskIMSI(imsi) }
