// Package diameter is the Diameter base protocol (RFC 6733) under the
// applications aaad speaks (SWx, and later Diameter EAP): peer connections
// over TCP or TLS, the capabilities exchange, the watchdog (RFC 3539),
// disconnection, reconnection with backoff, failover between peers, and
// routing by Destination-Host and Destination-Realm.
//
// Messages are go-diameter's (github.com/fiorix/go-diameter/v4/diam), but
// the connections are this package's own: go-diameter's server runs
// handlers on the connection's read goroutine, closes a connection on a
// command its dictionary lacks, answers no DPR, matches no answers to
// requests and advertises every application of its dictionary. Here a
// connection's read loop only frames messages and hands them on: answers
// to the request waiting for their hop-by-hop identifier, requests to a
// bounded set of handler goroutines; an unknown command gets
// DIAMETER_COMMAND_UNSUPPORTED and the connection lives on.
package diameter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"
)

// Base protocol commands, AVPs and result codes (RFC 6733).
const (
	CmdCapabilitiesExchange = 257
	CmdDeviceWatchdog       = 280
	CmdDisconnectPeer       = 282

	avpHostIPAddress        = 257
	avpAuthApplicationID    = 258
	avpAcctApplicationID    = 259
	avpVendorSpecificAppID  = 260
	avpSessionID            = 263
	avpOriginHost           = 264
	avpSupportedVendorID    = 265
	avpVendorID             = 266
	avpFirmwareRevision     = 267
	avpResultCode           = 268
	avpProductName          = 269
	avpDisconnectCause      = 273
	avpOriginStateID        = 278
	avpErrorMessage         = 281
	avpDestinationRealm     = 283
	avpDestinationHost      = 293
	avpOriginRealm          = 296
	avpExperimentalResult   = 297
	avpExperimentalResultCd = 298

	ResultSuccess                = 2001
	ResultCommandUnsupported     = 3001
	ResultUnableToDeliver        = 3002
	ResultTooBusy                = 3004
	ResultApplicationUnsupported = 3007
	ResultUnknownPeer            = 3010
	ResultMissingAVP             = 5005
	ResultNoCommonApplication    = 5010
	ResultUnableToComply         = 5012
	ResultInvalidAVPLength       = 5014

	// RelayApp is the application a relay agent advertises (RFC 6733 2.4).
	RelayApp = 0xffffffff

	disconnectRebooting = 0
	disconnectBusy      = 1
	disconnectDontWant  = 2
)

// ErrNoPeer: no open peer can take the request.
var ErrNoPeer = errors.New("diameter: no open peer for the request")

// errConnClosed: the connection ended before the answer came.
var errConnClosed = errors.New("diameter: connection closed")

// App is an application this node serves: advertised in its CER and CEA,
// as Vendor-Specific-Application-Id when Vendor is set (3GPP applications,
// vendor 10415), else as Auth-Application-Id.
type App struct {
	ID     uint32
	Vendor uint32
}

// Handler answers the requests of one application. It runs on a goroutine
// of its own, never on the connection's read loop; a nil answer sends
// nothing.
type Handler interface {
	ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message
}

// Node is this Diameter node: its identity, the applications it serves,
// and its peer connections, both those it opens (Connect) and those it
// accepts (Listen). Requests go out through Request; requests that come in
// go to the application's Handler.
type Node struct {
	cfg      Config
	dict     *dict.Parser
	apps     []App
	log      *zap.Logger
	stateID  uint32 // Origin-State-Id: the start time
	sidHigh  uint32
	sidLow   atomic.Uint32
	e2e      atomic.Uint32
	handlers map[uint32]Handler

	ctx    context.Context // of the dialers and listeners
	cancel context.CancelFunc
	// handlerCtx ends after Close drained the connections.
	handlerCtx    context.Context
	handlerCancel context.CancelFunc
	handlerSlots  chan struct{} // handlers running, all connections
	wg            sync.WaitGroup

	mu        sync.Mutex
	conns     map[string]*Conn // open connections by peer host
	order     []string         // configured peers, most preferred first
	listeners []net.Listener
	changed   chan struct{} // closed and replaced when conns changes
	closing   bool

	Stats Stats
}

// Stats counts what a node's connections did.
type Stats struct {
	Received, Sent       atomic.Uint64
	Requests, Answers    atomic.Uint64 // requests sent and answers matched to them
	Unmatched            atomic.Uint64 // answers nobody waited for (late, or forged)
	Failovers            atomic.Uint64 // requests sent again to another peer
	NoPeer               atomic.Uint64
	Timeouts             atomic.Uint64 // attempts a peer left unanswered
	TooBusy              atomic.Uint64 // requests refused: the connection's handlers were all busy
	UnknownCommand       atomic.Uint64 // answered DIAMETER_COMMAND_UNSUPPORTED
	UnsupportedApp       atomic.Uint64
	Malformed            atomic.Uint64 // messages refused for their AVPs
	FrameErrors          atomic.Uint64 // connections ended for a broken frame
	Opened, Closed       atomic.Uint64
	RefusedPeers         atomic.Uint64 // CERs from hosts not allowed, or with no common application
	ConnectFailures      atomic.Uint64
	WatchdogTimeouts     atomic.Uint64
	DisconnectsRequested atomic.Uint64 // DPRs received
	HandshakeFailures    atomic.Uint64
	HandshakesShed       atomic.Uint64 // connections closed unread: too many in their handshake
	Panics               atomic.Uint64 // handlers that panicked (answered 5012)
}

// Snapshot returns the counters by name.
func (s *Stats) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"received": s.Received.Load(), "sent": s.Sent.Load(),
		"requests": s.Requests.Load(), "answers": s.Answers.Load(),
		"unmatched_answers": s.Unmatched.Load(), "failovers": s.Failovers.Load(),
		"no_peer": s.NoPeer.Load(), "timeouts": s.Timeouts.Load(),
		"too_busy": s.TooBusy.Load(), "unknown_command": s.UnknownCommand.Load(),
		"unsupported_application": s.UnsupportedApp.Load(), "malformed": s.Malformed.Load(),
		"frame_errors": s.FrameErrors.Load(), "opened": s.Opened.Load(), "closed": s.Closed.Load(),
		"refused_peers": s.RefusedPeers.Load(), "connect_failures": s.ConnectFailures.Load(),
		"watchdog_timeouts": s.WatchdogTimeouts.Load(), "disconnects_requested": s.DisconnectsRequested.Load(),
		"handshake_failures": s.HandshakeFailures.Load(), "handshakes_shed": s.HandshakesShed.Load(),
		"handler_panics": s.Panics.Load(),
	}
}

// NewNode returns a node with cfg's identity serving apps. d is the
// dictionary, loaded with every application's additions before any
// traffic. It starts nothing.
func NewNode(cfg Config, apps []App, d *dict.Parser, log *zap.Logger) (*Node, error) {
	cfg.SetDefaults()
	if err := cfg.Validate("diameter"); err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, errors.New("diameter: a node serves at least one application")
	}
	if d == nil {
		d = dict.Default
	}
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg: cfg, dict: d, apps: slices.Clone(apps), log: log,
		stateID:  uint32(time.Now().Unix()),
		handlers: make(map[uint32]Handler),
		ctx:      ctx, cancel: cancel,
		conns:        make(map[string]*Conn),
		changed:      make(chan struct{}),
		handlerSlots: make(chan struct{}, 4*cfg.MaxInFlight),
	}
	n.handlerCtx, n.handlerCancel = context.WithCancel(context.Background())
	n.sidHigh = n.stateID
	var r [8]byte
	rand.Read(r[:])
	n.sidLow.Store(binary.BigEndian.Uint32(r[:4]))
	// End-to-End: the low 12 bits of the start time, then a counter
	// (RFC 6733 3), so that ids differ across restarts.
	n.e2e.Store(n.stateID<<20 | binary.BigEndian.Uint32(r[4:])&0xfffff)
	return n, nil
}

// Handle sends the requests of application app to h. Call it before
// Connect and Listen.
func (n *Node) Handle(app uint32, h Handler) { n.handlers[app] = h }

// Identity is this node's Origin-Host and Origin-Realm.
func (n *Node) Identity() (host, realm string) { return n.cfg.OriginHost, n.cfg.OriginRealm }

// Dict is the node's dictionary.
func (n *Node) Dict() *dict.Parser { return n.dict }

func (n *Node) serves(app uint32) bool {
	for _, a := range n.apps {
		if a.ID == app {
			return true
		}
	}
	return false
}

// NewRequest returns a request of app with the Proxiable bit set and, in
// this order, a new Session-Id, Origin-Host, Origin-Realm,
// Destination-Realm and, when destHost is set, Destination-Host.
func (n *Node) NewRequest(cmd, app uint32, destRealm, destHost string) *diam.Message {
	return n.NewRequestInSession(cmd, app, n.sessionID(), destRealm, destHost)
}

// NewRequestInSession is NewRequest in an existing session: Session-Id is
// sessionID (an ASR for a session a gateway opened).
func (n *Node) NewRequestInSession(cmd, app uint32, sessionID, destRealm, destHost string) *diam.Message {
	m := diam.NewMessage(cmd, flagRequest|flagProxiable, app, 1, n.e2e.Add(1), n.dict)
	m.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String(sessionID))
	m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginHost))
	m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginRealm))
	if destRealm != "" {
		m.NewAVP(avpDestinationRealm, avpFlagM, 0, datatype.DiameterIdentity(destRealm))
	}
	if destHost != "" {
		m.NewAVP(avpDestinationHost, avpFlagM, 0, datatype.DiameterIdentity(destHost))
	}
	return m
}

const avpFlagM = 0x40

// sessionID is <DiameterIdentity>;<high 32 bits>;<low 32 bits> (RFC 6733
// 8.8): the start time, then a counter.
func (n *Node) sessionID() string {
	b := make([]byte, 0, len(n.cfg.OriginHost)+22)
	b = append(b, n.cfg.OriginHost...)
	b = append(b, ';')
	b = strconv.AppendUint(b, uint64(n.sidHigh), 10)
	b = append(b, ';')
	b = strconv.AppendUint(b, uint64(n.sidLow.Add(1)), 10)
	return string(b)
}

// Answer returns the answer to req: its command, application and
// identifiers, the Session-Id first, Result-Code when resultCode is set
// (with the E bit for a protocol error, 3xxx), Origin-Host, Origin-Realm.
func (n *Node) Answer(req *diam.Message, resultCode uint32) *diam.Message {
	flags := req.Header.CommandFlags &^ (flagRequest | flagRetransmitted | flagError)
	if resultCode >= 3000 && resultCode < 4000 {
		flags |= flagError
	}
	m := diam.NewMessage(req.Header.CommandCode, flags, req.Header.ApplicationID,
		req.Header.HopByHopID, req.Header.EndToEndID, n.dict)
	// NewMessage draws random identifiers for zeros: an answer carries
	// the request's, whatever they are.
	m.Header.HopByHopID, m.Header.EndToEndID = req.Header.HopByHopID, req.Header.EndToEndID
	if sid := findAVP(req.AVP, avpSessionID, 0); sid != nil {
		m.AddAVP(diam.NewAVP(avpSessionID, avpFlagM, 0, sid.Data))
	}
	if resultCode != 0 {
		m.NewAVP(avpResultCode, avpFlagM, 0, datatype.Unsigned32(resultCode))
	}
	m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginHost))
	m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginRealm))
	return m
}

// Decode reads one message from frame as a connection of this node would:
// the header's bounds, the AVP walk, then go-diameter's decoding. For
// tools and fuzzing; a connection does the same.
func (n *Node) Decode(frame []byte) (*diam.Message, error) {
	if len(frame) < headerLen {
		return nil, errLength
	}
	if frame[0] != 1 {
		return nil, errVersion
	}
	h := parseHeader(frame)
	if int(h.length) != len(frame) || int(h.length) > n.cfg.MaxMessage || h.length%4 != 0 {
		return nil, errLength
	}
	if err := checkAVPs(frame[headerLen:], h.app, n.dict, 0); err != nil {
		return nil, err
	}
	return diam.ReadMessage(bytes.NewReader(frame), n.dict)
}

// findAVP returns the first top-level AVP of code and vendor.
func findAVP(avps []*diam.AVP, code, vendor uint32) *diam.AVP {
	for _, a := range avps {
		if a != nil && a.Code == code && a.VendorID == vendor {
			return a
		}
	}
	return nil
}

// identityOf returns the DiameterIdentity (or string) value of an AVP.
func identityOf(a *diam.AVP) string {
	if a == nil || a.Data == nil {
		return ""
	}
	switch v := a.Data.(type) {
	case datatype.DiameterIdentity:
		return string(v)
	case datatype.UTF8String:
		return string(v)
	case datatype.OctetString:
		return string(v)
	}
	return ""
}

// ResultCode returns an answer's Result-Code, or its
// Experimental-Result-Code with the vendor, or 0 when it has neither.
func ResultCode(m *diam.Message) (code, vendor uint32) {
	if a := findAVP(m.AVP, avpResultCode, 0); a != nil {
		if v, ok := a.Data.(datatype.Unsigned32); ok {
			return uint32(v), 0
		}
	}
	if a := findAVP(m.AVP, avpExperimentalResult, 0); a != nil {
		if g, ok := a.Data.(*diam.GroupedAVP); ok {
			for _, in := range g.AVP {
				switch in.Code {
				case avpVendorID:
					if v, ok := in.Data.(datatype.Unsigned32); ok {
						vendor = uint32(v)
					}
				case avpExperimentalResultCd:
					if v, ok := in.Data.(datatype.Unsigned32); ok {
						code = uint32(v)
					}
				}
			}
		}
	}
	return code, vendor
}

// notify wakes those waiting for a change of the open connections.
// n.mu is held.
func (n *Node) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// WaitOpen waits until a connection to host is open.
func (n *Node) WaitOpen(ctx context.Context, host string) error {
	for {
		n.mu.Lock()
		_, ok := n.conns[host]
		ch := n.changed
		n.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("diameter: waiting for %s: %w", host, ctx.Err())
		}
	}
}

// WaitClosed waits until no connection to host is open.
func (n *Node) WaitClosed(ctx context.Context, host string) error {
	for {
		n.mu.Lock()
		_, ok := n.conns[host]
		ch := n.changed
		n.mu.Unlock()
		if !ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("diameter: waiting for %s to close: %w", host, ctx.Err())
		}
	}
}

// OpenPeers returns the hosts of the open connections.
func (n *Node) OpenPeers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	hosts := make([]string, 0, len(n.conns))
	for h := range n.conns {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

// register makes c the open connection to its host, replacing an older one.
func (n *Node) register(c *Conn) bool {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return false
	}
	old := n.conns[c.host]
	n.conns[c.host] = c
	n.notifyLocked()
	n.mu.Unlock()
	n.Stats.Opened.Add(1)
	if old != nil {
		old.close(errors.New("replaced by a newer connection from the same host"))
	}
	n.log.Info("diameter peer open", zap.String("peer", c.host), zap.String("realm", c.realm),
		zap.String("addr", c.nc.RemoteAddr().String()))
	return true
}

// open returns the open connection to host, or nil.
func (n *Node) open(host string) *Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[host]
}

func (n *Node) unregister(c *Conn) {
	n.mu.Lock()
	if n.conns[c.host] == c {
		delete(n.conns, c.host)
		n.notifyLocked()
	}
	n.mu.Unlock()
}

// pick chooses the connection for a request of app: the destination host
// when it is a peer, else the configured peers in their order, then the
// other open peers; a peer qualifies when it serves app (or relays) and is
// in destRealm (or relays). Connections in tried are skipped.
func (n *Node) pick(app uint32, destHost, destRealm string, tried []*Conn) *Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	ok := func(c *Conn, mustRelay bool) bool {
		if c == nil || slices.Contains(tried, c) || c.isClosed() {
			return false
		}
		if c.relay {
			return true
		}
		if mustRelay || !c.supports(app) {
			return false
		}
		return destRealm == "" || c.realm == destRealm
	}
	mustRelay := false
	if destHost != "" {
		if c := n.conns[destHost]; c != nil && !slices.Contains(tried, c) && !c.isClosed() && (c.relay || c.supports(app)) {
			return c
		}
		// Another host than the one named can only pass it on.
		mustRelay = true
	}
	for _, h := range n.order {
		if c := n.conns[h]; ok(c, mustRelay) {
			return c
		}
	}
	var best *Conn
	for h, c := range n.conns {
		if slices.Contains(n.order, h) || !ok(c, mustRelay) {
			continue
		}
		if best == nil || c.host < best.host {
			best = c
		}
	}
	return best
}

// Request sends req and returns its answer. It picks a peer by the
// request's Destination-Host and Destination-Realm; when the connection
// ends, the peer leaves an attempt unanswered for request_timeout, or
// answers DIAMETER_UNABLE_TO_DELIVER or DIAMETER_TOO_BUSY, the request
// goes to the next peer with the T bit (RFC 6733 5.5.4), while ctx lasts.
func (n *Node) Request(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	destHost := identityOf(findAVP(req.AVP, avpDestinationHost, 0))
	destRealm := identityOf(findAVP(req.AVP, avpDestinationRealm, 0))
	app := req.Header.ApplicationID
	if req.Header.EndToEndID == 0 {
		req.Header.EndToEndID = n.e2e.Add(1)
	}
	var (
		tried   []*Conn
		lastErr error
		lastAns *diam.Message
	)
	for {
		c := n.pick(app, destHost, destRealm, tried)
		if c == nil {
			if lastAns != nil {
				return lastAns, nil
			}
			if lastErr != nil {
				return nil, lastErr
			}
			n.Stats.NoPeer.Add(1)
			return nil, ErrNoPeer
		}
		if len(tried) > 0 {
			req.Header.CommandFlags |= flagRetransmitted
			n.Stats.Failovers.Add(1)
		}
		tried = append(tried, c)
		actx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
		ans, err := c.Request(actx, req)
		cancel()
		if err == nil {
			if rc, _ := ResultCode(ans); rc == ResultUnableToDeliver || rc == ResultTooBusy {
				lastAns = ans
				continue
			}
			return ans, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("diameter: request to %s: %w", c.host, ctx.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) {
			n.Stats.Timeouts.Add(1)
		}
		lastErr = fmt.Errorf("diameter: request to %s: %w", c.host, err)
	}
}

// Close sends DPR on every connection, waits for the DPAs while ctx
// lasts, and closes everything.
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closing = true
	lns := n.listeners
	conns := make([]*Conn, 0, len(n.conns))
	for _, c := range n.conns {
		conns = append(conns, c)
	}
	n.mu.Unlock()
	n.cancel() // no more connections
	for _, ln := range lns {
		ln.Close()
	}
	// DPR on each, the requests in progress answered, then closed.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.disconnect(ctx, disconnectRebooting)
		}()
	}
	wg.Wait()
	n.handlerCancel()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jitter returns d moved by up to a tenth either way.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	span := int64(d) / 5
	if span <= 0 {
		return d
	}
	r, _ := rand.Int(rand.Reader, big.NewInt(span))
	return d - time.Duration(span/2) + time.Duration(r.Int64())
}
