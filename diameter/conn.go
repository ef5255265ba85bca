package diameter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"
)

// writeTimeout bounds a write to a peer: one that stops reading loses its
// connection rather than holding every writer.
const writeTimeout = 5 * time.Second

// Conn is an open connection to a peer, after the capabilities exchange.
type Conn struct {
	node  *Node
	nc    net.Conn
	br    *bufio.Reader
	host  string // the peer's Origin-Host
	realm string
	apps  []uint32 // the applications it advertised
	relay bool
	// served are the applications served on this connection (its
	// listener's or its peer's configuration).
	served []App

	wmu     sync.Mutex
	bw      *bufio.Writer
	writers atomic.Int32 // writers waiting for wmu: the last one flushes

	hbh     atomic.Uint32
	mu      sync.Mutex
	pending map[uint32]chan []byte
	done    chan struct{}
	err     error // why it closed, under mu
	dpa     chan struct{}

	handlers chan struct{} // a token per request being handled
	running  sync.WaitGroup
	ctx      context.Context // of the handlers: ends when the connection does
	cancel   context.CancelFunc
	lastRecv atomic.Int64 // unix nanoseconds
	dwrSent  atomic.Bool
	peerDPR  atomic.Uint32 // Disconnect-Cause+1 of a DPR received
}

func newConn(n *Node, nc net.Conn, br *bufio.Reader) *Conn {
	c := &Conn{
		node: n, nc: nc, br: br,
		bw:       bufio.NewWriterSize(nc, 32<<10),
		pending:  make(map[uint32]chan []byte),
		done:     make(chan struct{}),
		dpa:      make(chan struct{}, 1),
		handlers: make(chan struct{}, n.cfg.MaxInFlight),
	}
	c.ctx, c.cancel = context.WithCancel(n.handlerCtx)
	var r [4]byte
	randRead(r[:])
	c.hbh.Store(uint32(r[0])<<24 | uint32(r[1])<<16 | uint32(r[2])<<8 | uint32(r[3]))
	c.lastRecv.Store(time.Now().UnixNano())
	return c
}

// Host is the peer's Origin-Host.
func (c *Conn) Host() string { return c.host }

func (c *Conn) supports(app uint32) bool {
	for _, a := range c.apps {
		if a == app {
			return true
		}
	}
	return false
}

// healthy: open, and heard from within a watchdog interval.
func (c *Conn) healthy() bool {
	return !c.isClosed() && time.Duration(time.Now().UnixNano()-c.lastRecv.Load()) < c.node.cfg.Watchdog
}

// serves reports whether app is served on this connection.
func (c *Conn) serves(app uint32) bool {
	for _, a := range c.served {
		if a.ID == app {
			return true
		}
	}
	return false
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// close ends the connection; requests waiting on it fail over.
func (c *Conn) close(why error) {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return
	default:
	}
	c.err = why
	close(c.done)
	c.pending = nil
	c.mu.Unlock()
	c.cancel() // its handlers' answers could not be sent
	c.nc.Close()
	if c.host != "" {
		c.node.unregister(c)
		c.node.Stats.Closed.Add(1)
		c.node.log.Info("diameter peer closed", zap.String("peer", c.host), zap.NamedError("reason", why))
	}
}

// write sends one serialized message. Writers that queue up behind one
// another are flushed together by the last of them: under load, many
// messages go out in one system call.
func (c *Conn) write(b []byte) error {
	c.writers.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.isClosed() {
		c.writers.Add(-1)
		return errConnClosed
	}
	// Every write may reach the socket (bufio writes through when its
	// buffer fills), so each sets the deadline.
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.bw.Write(b)
	if c.writers.Add(-1) == 0 && err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		c.close(fmt.Errorf("write: %w", err))
		return errConnClosed
	}
	c.node.Stats.Sent.Add(1)
	return nil
}

func (c *Conn) writeMsg(m *diam.Message) error {
	b, err := m.Serialize()
	if err != nil {
		return fmt.Errorf("diameter: serialize: %w", err)
	}
	return c.write(b)
}

// Request sends req on this connection with a hop-by-hop identifier of its
// own and waits for the answer that carries it.
func (c *Conn) Request(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	hbh := c.hbh.Add(1)
	req.Header.HopByHopID = hbh
	b, err := req.Serialize()
	if err != nil {
		return nil, fmt.Errorf("diameter: serialize: %w", err)
	}
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return nil, errConnClosed
	}
	c.pending[hbh] = ch
	c.mu.Unlock()
	c.node.Stats.Requests.Add(1)
	if err := c.write(b); err != nil {
		return nil, err
	}
	select {
	case f := <-ch:
		return c.decode(f)
	case <-ctx.Done():
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, hbh)
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	case <-c.done:
		// The answer may have come just before the close: select picks
		// at random among ready cases.
		select {
		case f := <-ch:
			return c.decode(f)
		default:
		}
		return nil, errConnClosed
	}
}

// decode checks a frame's AVPs and decodes it.
func (c *Conn) decode(f []byte) (*diam.Message, error) {
	h := parseHeader(f)
	if err := checkAVPs(f[headerLen:], h.app, c.node.dict, 0); err != nil {
		c.node.Stats.Malformed.Add(1)
		return nil, err
	}
	m, err := diam.ReadMessage(bytes.NewReader(f), c.node.dict)
	if err != nil {
		c.node.Stats.Malformed.Add(1)
		return nil, fmt.Errorf("diameter: decode: %w", err)
	}
	return m, nil
}

// serve reads until the connection ends, with the watchdog running.
func (c *Conn) serve() {
	go c.watchdog()
	err := c.readLoop()
	c.close(err)
}

func (c *Conn) readLoop() error {
	max := c.node.cfg.MaxMessage
	for {
		f, h, err := readFrame(c.br, max)
		if err != nil {
			if errors.Is(err, errVersion) || errors.Is(err, errLength) {
				c.node.Stats.FrameErrors.Add(1)
			}
			return err
		}
		c.node.Stats.Received.Add(1)
		c.lastRecv.Store(time.Now().UnixNano())
		c.dwrSent.Store(false)
		if h.request() {
			if stop := c.request(f, &h); stop {
				return errors.New("peer asked to disconnect")
			}
			continue
		}
		c.answer(f, &h)
	}
}

// answer hands an answer to the request waiting for it.
func (c *Conn) answer(f []byte, h *header) {
	switch h.cmd {
	case CmdDeviceWatchdog:
		return // lastRecv is all it was for
	case CmdDisconnectPeer:
		select {
		case c.dpa <- struct{}{}:
		default:
		}
		return
	case CmdCapabilitiesExchange:
		return
	}
	c.mu.Lock()
	ch := c.pending[h.hopByHop]
	if ch != nil {
		delete(c.pending, h.hopByHop)
	}
	c.mu.Unlock()
	if ch == nil {
		c.node.Stats.Unmatched.Add(1)
		return
	}
	c.node.Stats.Answers.Add(1)
	ch <- f
}

// request handles a request from the peer; it reports whether the
// connection is to end (a DPR was answered).
func (c *Conn) request(f []byte, h *header) bool {
	n := c.node
	if h.app == 0 {
		switch h.cmd {
		case CmdDeviceWatchdog:
			c.baseAnswer(f, h, ResultSuccess, true)
			return false
		case CmdDisconnectPeer:
			n.Stats.DisconnectsRequested.Add(1)
			cause := uint32(disconnectRebooting)
			if m, err := c.decode(f); err == nil {
				if a := findAVP(m.AVP, avpDisconnectCause, 0); a != nil {
					if v, ok := a.Data.(datatype.Enumerated); ok {
						cause = uint32(v)
					}
				}
			}
			c.peerDPR.Store(cause + 1)
			c.baseAnswer(f, h, ResultSuccess, false)
			return true
		case CmdCapabilitiesExchange:
			// Capabilities are exchanged once, before anything else.
			c.baseAnswer(f, h, ResultUnableToComply, false)
			return false
		}
	}
	hd := n.handlers[h.app]
	if h.app != 0 && !c.serves(h.app) {
		hd = nil // served by this node, but not on this connection
	}
	_, err := n.dict.FindCommand(h.app, h.cmd)
	switch {
	case err != nil || (hd == nil && (h.app == 0 || c.serves(h.app))):
		// A command no dictionary here knows (go-diameter would drop
		// the connection), or one of ours nobody handles.
		n.Stats.UnknownCommand.Add(1)
		c.baseAnswer(f, h, ResultCommandUnsupported, false)
		return false
	case hd == nil:
		n.Stats.UnsupportedApp.Add(1)
		c.baseAnswer(f, h, ResultApplicationUnsupported, false)
		return false
	}
	// A handler slot of the connection's and one of the node's: a peer
	// that reconnects does not get a fresh allowance while its old
	// handlers run.
	select {
	case c.handlers <- struct{}{}:
	default:
		n.Stats.TooBusy.Add(1)
		c.baseAnswer(f, h, ResultTooBusy, false)
		return false
	}
	select {
	case n.handlerSlots <- struct{}{}:
	default:
		<-c.handlers
		n.Stats.TooBusy.Add(1)
		c.baseAnswer(f, h, ResultTooBusy, false)
		return false
	}
	c.running.Add(1)
	go c.handle(hd, f, *h)
	return false
}

// handle runs a handler for one request and sends its answer.
func (c *Conn) handle(hd Handler, f []byte, h header) {
	defer func() {
		<-c.node.handlerSlots
		<-c.handlers
		c.running.Done()
	}()
	defer func() {
		// A fault in one request's handling ends that request, not the
		// process; it gets DIAMETER_UNABLE_TO_COMPLY. Nothing of the
		// message is logged (it may hold keys).
		if r := recover(); r != nil {
			c.node.Stats.Panics.Add(1)
			c.node.log.Error("diameter handler panicked", zap.String("peer", c.host),
				zap.Uint32("command", h.cmd), zap.Uint32("application", h.app))
			c.baseAnswer(f, &h, ResultUnableToComply, false)
		}
	}()
	m, err := c.decode(f)
	if err != nil {
		c.baseAnswer(f, &h, ResultInvalidAVPLength, false)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, handlerTimeout)
	ctx = context.WithValue(ctx, peerKey{}, Peer{Host: c.host, Realm: c.realm, Relay: c.relay})
	ans := hd.ServeDiameter(ctx, m)
	cancel()
	if ans == nil {
		return
	}
	ans.Header.CommandFlags &^= flagRequest | flagRetransmitted
	ans.Header.HopByHopID, ans.Header.EndToEndID = h.hopByHop, h.endToEnd
	if err := c.writeMsg(ans); err != nil && !errors.Is(err, errConnClosed) {
		c.node.log.Warn("diameter answer not sent", zap.String("peer", c.host), zap.Error(err))
	}
}

// handlerTimeout bounds a handler; its context ends then.
const handlerTimeout = 10 * time.Second

// baseAnswer answers a request from its raw frame (its command may be one
// the dictionary lacks): Session-Id when it has one, Result-Code,
// Origin-Host, Origin-Realm; with withState, Origin-State-Id (DWA).
func (c *Conn) baseAnswer(f []byte, h *header, code uint32, withState bool) {
	n := c.node
	flags := h.flags &^ (flagRequest | flagRetransmitted | flagError)
	if code >= 3000 && code < 4000 {
		flags |= flagError
	}
	m := diam.NewMessage(h.cmd, flags, h.app, h.hopByHop, h.endToEnd, n.dict)
	m.Header.HopByHopID, m.Header.EndToEndID = h.hopByHop, h.endToEnd // zeros too
	if sid := rawSessionID(f); sid != nil {
		m.NewAVP(avpSessionID, avpFlagM, 0, datatype.UTF8String(sid))
	}
	m.NewAVP(avpResultCode, avpFlagM, 0, datatype.Unsigned32(code))
	m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginHost))
	m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginRealm))
	if withState {
		m.NewAVP(avpOriginStateID, avpFlagM, 0, datatype.Unsigned32(n.stateID))
	}
	c.writeMsg(m)
}

// watchdog sends DWR on a connection quiet for Tw and ends one that stays
// quiet for another Tw (RFC 3539 3.4).
func (c *Conn) watchdog() {
	tw := c.node.cfg.Watchdog
	t := time.NewTimer(jitter(tw))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		quiet := time.Duration(time.Now().UnixNano() - c.lastRecv.Load())
		switch {
		case quiet < tw:
			t.Reset(jitter(tw - quiet))
			continue
		case c.dwrSent.Load():
			c.node.Stats.WatchdogTimeouts.Add(1)
			c.close(errors.New("watchdog: no answer to DWR"))
			return
		}
		m := diam.NewMessage(CmdDeviceWatchdog, flagRequest, 0, c.hbh.Add(1), c.node.e2e.Add(1), c.node.dict)
		m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(c.node.cfg.OriginHost))
		m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(c.node.cfg.OriginRealm))
		m.NewAVP(avpOriginStateID, avpFlagM, 0, datatype.Unsigned32(c.node.stateID))
		c.dwrSent.Store(true)
		c.writeMsg(m)
		t.Reset(jitter(tw))
	}
}

// disconnect sends DPR and waits for the DPA (or ctx), then closes.
func (c *Conn) disconnect(ctx context.Context, cause uint32) {
	m := diam.NewMessage(CmdDisconnectPeer, flagRequest, 0, c.hbh.Add(1), c.node.e2e.Add(1), c.node.dict)
	m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(c.node.cfg.OriginHost))
	m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(c.node.cfg.OriginRealm))
	m.NewAVP(avpDisconnectCause, avpFlagM, 0, datatype.Enumerated(cause))
	if c.writeMsg(m) == nil {
		select {
		case <-c.dpa:
		case <-c.done:
		case <-ctx.Done():
		}
	}
	// The requests in progress finish and are answered, while ctx lasts.
	drained := make(chan struct{})
	go func() { c.running.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-c.done:
	case <-ctx.Done():
	}
	c.close(errors.New("disconnected (DPR sent)"))
}

// Peer is the peer a request came from, in its handler's context.
type Peer struct {
	Host, Realm string
	Relay       bool // it advertised the relay application: Origin-Host is not its own
}

type peerKey struct{}

// PeerFromContext returns the peer whose connection a handler's request
// came on.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
