package main

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// How the load runs, without a goroutine per packet or per conversation:
//
//   - A sock is one UDP socket, a simulated access point. Its reader
//     goroutine reads answers, matches them to the outstanding request by
//     Identifier (and source address and Response Authenticator), and runs
//     the conversation's next step right there: the peer's answer goes out
//     on the same socket from the same goroutine. Up to 256 requests are
//     outstanding per socket; an Identifier is not reused while its request
//     is outstanding (a per-socket free list, first in first out).
//   - A conv is one simulated phone conversation slot, bound to one sock and
//     owning a fixed share of the subscribers, which it uses in turn: no
//     USIM ever runs two conversations at once and no lock is shared by all
//     conversations. Closed loop, a conv starts its next authentication as
//     soon as one ends; open loop, it takes the next start that is due, or
//     waits in a pool for the scheduler.
//   - One sweeper goroutine retransmits the same bytes after --timeout (at
//     most --retries times) and then fails the conversation as a timeout.
//   - Open loop, a scheduler goroutine starts authentications at their
//     scheduled times; while answers keep the readers awake, the readers
//     start the due ones themselves and the scheduler is only the fallback.
//
// Whoever takes a request's slot out of its sock (under the sock's lock)
// owns the conversation until it sends the next request: the reader for an
// answer, the sweeper for a timeout. An idle open-loop conversation belongs
// to whoever takes it from the pool. All writes on a socket happen under
// its lock, so that a retransmission never races the next request.

// maxRounds bounds the round trips of one authentication (a full one with
// an anonymous identity, a Nak and a resynchronisation takes 5).
const maxRounds = 8

// engine is the RADIUS load: its sockets and conversations over the
// shared bookkeeping of a run (loadCore).
type engine struct {
	loadCore
	server  netip.AddrPort
	secret  []byte
	anonID  []byte // "anonymous@realm"
	socks   []*sock
	convs   []*conv
	timeout int64 // per round trip, ns

	// Open loop: e.now() of the last answer a reader handled. While the
	// readers are busy they start due authentications themselves and the
	// scheduler's timer is only the fallback, which saves a wakeup per
	// start.
	lastActive atomic.Int64

	pool chan *conv // open loop: idle conversations
}

// newEngine opens the sockets and sets up the conversations; it sends
// nothing.
func newEngine(cfg *config, server netip.AddrPort, subs []*usim) (*engine, error) {
	e := &engine{
		server:  server,
		secret:  []byte(cfg.secret),
		anonID:  []byte("anonymous@" + cfg.realm),
		timeout: int64(cfg.timeout),
	}
	e.initCore(cfg)
	network, laddr, raddr := udpEndpoints(server, cfg.bind)
	for range cfg.sockets {
		// Connected: the kernel keeps the route and drops datagrams
		// from any other source (read checks the source too).
		conn, err := net.DialUDP(network, laddr, raddr)
		if err != nil {
			e.close()
			return nil, err
		}
		conn.SetReadBuffer(4 << 20)
		conn.SetWriteBuffer(4 << 20)
		rio, err := newRawIO(conn)
		if err != nil {
			conn.Close()
			e.close()
			return nil, err
		}
		s := &sock{e: e, conn: conn, io: rio, rx: make([]byte, maxRadiusLen+1), hs: newHasher(e.secret)}
		for i := range s.free {
			s.free[i] = uint8(i)
		}
		s.nfree = len(s.free)
		e.socks = append(e.socks, s)
	}
	for j := range cfg.concurrency {
		var seed [32]byte
		crand.Read(seed[:])
		c := &conv{
			e:     e,
			s:     e.socks[j%len(e.socks)],
			rng:   rand.NewChaCha8(seed),
			hs:    newHasher(e.secret),
			tx:    make([]byte, 0, maxRadiusLen),
			eapTx: make([]byte, 0, 1024),
			eapRx: make([]byte, 0, maxRadiusLen),
			state: make([]byte, 0, 64),
			vsas:  make([][]byte, 0, 4),
		}
		c.p.method = cfg.method
		c.p.rng = c.rng
		for k := j; k < len(subs); k += cfg.concurrency {
			c.subs = append(c.subs, subs[k])
		}
		e.convs = append(e.convs, c)
	}
	e.slots, e.sockets = len(e.convs), len(e.socks)
	if e.open {
		e.pool = make(chan *conv, len(e.convs))
		for _, c := range e.convs {
			e.pool <- c
		}
	}
	return e, nil
}

// start launches the readers, the sweeper and the first conversations (the
// scheduler, open loop). The run ends when done is closed or stop is
// called.
func (e *engine) start(quit <-chan struct{}) {
	e.base = time.Now()
	for _, s := range e.socks {
		go s.read()
	}
	go e.sweep(quit)
	if e.open {
		go e.schedule()
		return
	}
	for _, c := range e.convs {
		if e.limit > 0 && e.next.Add(1) > e.limit {
			e.setNoMore()
			break
		}
		c.begin(e.now())
	}
}

// close closes the sockets, which ends the readers.
func (e *engine) close() {
	for _, s := range e.socks {
		s.conn.Close()
	}
}

// schedule starts open-loop authentications on their fixed schedule. A
// start that finds no idle conversation waits for one (it is then late,
// and its latency counts from the scheduled time: no coordinated
// omission); conversations that end pick up due starts themselves.
func (e *engine) schedule() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if e.stopping.Load() {
			return
		}
		i := e.next.Load()
		if i >= e.limit {
			e.setNoMore()
			return
		}
		t := e.scheduled(i)
		now := e.now()
		if wait := t - now; wait > 0 {
			if now-e.lastActive.Load() < int64(2*e.interval) {
				wait += int64(e.interval) // a reader will likely start it first
			}
			timer.Reset(time.Duration(wait))
			select {
			case <-timer.C:
			case <-e.stopCh:
				timer.Stop()
			}
			continue
		}
		select {
		case c := <-e.pool:
			if e.next.CompareAndSwap(i, i+1) {
				c.begin(t)
			} else {
				e.pool <- c // a finishing conversation took start i
			}
		case <-e.stopCh:
		}
	}
}

// startDue starts the open-loop authentications that are due, while idle
// conversations last. Readers call it after each answer.
func (e *engine) startDue(now int64) {
	for !e.stopping.Load() {
		i := e.next.Load()
		if i >= e.limit || e.scheduled(i) > now {
			return
		}
		var c *conv
		select {
		case c = <-e.pool:
		default:
			return
		}
		if e.next.CompareAndSwap(i, i+1) {
			c.begin(e.scheduled(i))
		} else {
			e.pool <- c
		}
	}
}

// afterEnd is called by whoever ended c's authentication: c starts the
// next one (closed loop), takes a due start (open loop), or goes idle.
func (e *engine) afterEnd(c *conv, now int64) {
	e.lastEnd.Store(now)
	if !e.stopping.Load() {
		if !e.open {
			if e.limit == 0 || e.next.Add(1) <= e.limit {
				c.begin(now)
			} else {
				e.setNoMore()
			}
		} else {
			started := false
			for {
				i := e.next.Load()
				if i >= e.limit {
					e.setNoMore()
					break
				}
				t := e.scheduled(i)
				if t > now {
					break
				}
				if e.next.CompareAndSwap(i, i+1) {
					c.begin(t)
					started = true
					break
				}
			}
			if !started {
				e.pool <- c // never blocks: room for every conversation
			}
		}
	}
	e.ended()
}

// drainTime is how long the run waits for the authentications in flight
// once no more start: long enough for a request sent just before the end
// to be answered or time out (the sweeper looks every sweepPeriod).
func (e *engine) drainTime() time.Duration {
	return time.Duration(e.timeout)*time.Duration(e.cfg.retries+1) + e.sweepPeriod()
}

// sweepPeriod is how often the sweeper looks for requests past their
// deadline: a twentieth of the timeout, within 1 ms..100 ms.
func (e *engine) sweepPeriod() time.Duration {
	return min(max(time.Duration(e.timeout)/20, time.Millisecond), 100*time.Millisecond)
}

// sweep retransmits and times out requests.
func (e *engine) sweep(quit <-chan struct{}) {
	t := time.NewTicker(e.sweepPeriod())
	defer t.Stop()
	var expired []*conv
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		now := e.now()
		for _, s := range e.socks {
			expired = s.expire(now, expired[:0])
			for i, c := range expired {
				c.finish(reasonTimeout)
				expired[i] = nil
			}
		}
	}
}

// slot is one RADIUS Identifier of a sock.
type slot struct {
	c        *conv // the conversation whose request is outstanding, nil if free
	deadline int64
	tries    int
	// Request Authenticators of the last two requests that used this
	// Identifier, to tell a late answer to one of them (a retransmission
	// answered twice, an answer after a timeout) from a forged or broken
	// answer to the current one.
	prev  [2][16]byte
	nprev int
}

type sock struct {
	e    *engine
	conn *net.UDPConn
	io   *rawIO // writes under mu, reads by the reader

	mu    sync.Mutex
	slots [256]slot
	free  [256]uint8 // ring of free Identifiers, oldest first
	head  int
	nfree int
	busy  int
	hs    *hasher // Response Authenticator checks, under mu

	rx []byte // reader only
}

// alloc takes the oldest free Identifier for c. Called with s.mu held; a
// sock never has more conversations than Identifiers.
func (s *sock) alloc(c *conv, deadline int64) uint8 {
	if s.nfree == 0 {
		panic("aaabench: no free RADIUS Identifier") // newEngine sizes sockets so this cannot happen
	}
	id := s.free[s.head]
	s.head = (s.head + 1) & 255
	s.nfree--
	s.busy++
	sl := &s.slots[id]
	sl.c, sl.deadline, sl.tries = c, deadline, 0
	return id
}

// release frees Identifier id. Called with s.mu held.
func (s *sock) release(id uint8) {
	sl := &s.slots[id]
	sl.prev[1] = sl.prev[0]
	copy(sl.prev[0][:], sl.c.tx[4:20])
	sl.nprev = min(sl.nprev+1, 2)
	sl.c = nil
	s.free[(s.head+s.nfree)&255] = id
	s.nfree++
	s.busy--
}

// stale reports whether resp answers an earlier request that used its
// Identifier. Called with s.mu held.
func (s *sock) stale(sl *slot, resp []byte) bool {
	for i := range sl.nprev {
		if responseAuthenticatorOK(s.hs, resp, sl.prev[i][:], s.e.secret) {
			return true
		}
	}
	return false
}

// expire retransmits the requests past their deadline that have retries
// left and returns the conversations of those that have none, their slots
// freed.
func (s *sock) expire(now int64, out []*conv) []*conv {
	e := s.e
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy == 0 {
		return out
	}
	for id := range s.slots {
		sl := &s.slots[id]
		if sl.c == nil || sl.deadline > now {
			continue
		}
		if sl.tries < e.cfg.retries {
			// The same bytes, as a NAS retransmits: the server answers
			// from its duplicate cache. Under the lock, so that the
			// conversation cannot rewrite them meanwhile.
			sl.tries++
			sl.deadline = now + e.timeout
			e.st.retransmissions.Add(1)
			if err := s.io.write(sl.c.tx); err != nil {
				e.st.sendErrors.Add(1)
			}
			continue
		}
		out = append(out, sl.c)
		s.release(uint8(id))
	}
	return out
}

// read demultiplexes answers to conversations until the socket closes.
func (s *sock) read() {
	e := s.e
	for {
		n, from, err := s.io.read(s.rx)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if from.Addr().Unmap() != e.server.Addr() || from.Port() != e.server.Port() || n < radiusHeaderLen || n > maxRadiusLen {
			e.st.stray.Add(1)
			continue
		}
		pkt := s.rx[:n]
		l := int(pkt[2])<<8 | int(pkt[3])
		id := pkt[1]
		s.mu.Lock()
		sl := &s.slots[id]
		c := sl.c
		if c == nil {
			s.mu.Unlock()
			e.st.stray.Add(1)
			continue
		}
		r := reasonNone
		if l < radiusHeaderLen || l > n {
			r = reasonMalformed
		} else {
			pkt = pkt[:l] // octets beyond Length are padding (RFC 2865 3)
			if !responseAuthenticatorOK(s.hs, pkt, c.tx[4:20], e.secret) {
				if s.stale(sl, pkt) {
					s.mu.Unlock()
					e.st.stray.Add(1)
					continue
				}
				r = reasonBadResponseAuthenticator
			}
		}
		if r == reasonNone && e.cfg.retransmitFinal && !c.verifying && pkt[0] == codeAccessAccept {
			// --retransmit-final: keep the Identifier, the check
			// sends the same bytes on it again. The sweeper leaves
			// it alone until the conversation re-arms or frees it.
			sl.deadline = math.MaxInt64
			c.held, c.heldID = true, id
		} else {
			s.release(id)
		}
		s.mu.Unlock()
		switch {
		case r != reasonNone:
			c.finish(r)
		case c.verifying:
			c.onRetransmitAnswer(pkt)
		default:
			c.onAnswer(pkt)
		}
		if e.open {
			now := e.now()
			e.lastActive.Store(now)
			e.startDue(now)
		}
	}
}

// conv is one conversation slot: a simulated phone authenticating the
// subscribers it owns, one at a time.
type conv struct {
	e    *engine
	s    *sock
	subs []*usim
	next int
	p    peer
	rng  *rand.ChaCha8
	hs   *hasher // Message-Authenticator of requests and answers

	tx    []byte // the outstanding Access-Request, unchanged until answered
	eapTx []byte
	eapRx []byte
	state []byte
	user  []byte // User-Name: the outer identity
	vsas  [][]byte
	mppe  mppeScratch

	start  int64 // e.now() of the start (scheduled start, open loop)
	sent   int64 // open loop: e.now() when the first request went out
	rounds uint64

	// --retransmit-final: the Identifier of the final request, kept by
	// the reader while the conversation checks the Accept (held), and
	// the Accept that the same bytes sent again must get back
	// (verifying).
	held      bool
	heldID    uint8
	verifying bool
	final     []byte
	acceptAt  int64
}

// uniform returns a number in [0, 1).
func (c *conv) uniform() float64 { return float64(c.rng.Uint64()>>11) / (1 << 53) }

// begin starts an authentication for the next subscriber.
func (c *conv) begin(start int64) {
	e := c.e
	e.inflight.Add(1)
	u := c.subs[c.next]
	c.next++
	if c.next == len(c.subs) {
		c.next = 0
	}
	wantReauth := e.cfg.reauth > 0 && c.uniform() < e.cfg.reauth
	var anon []byte
	if e.cfg.anonymous > 0 && c.uniform() < e.cfg.anonymous {
		anon = e.anonID
	}
	c.eapTx = c.p.begin(u, wantReauth, anon, c.eapTx[:0])
	c.user = append(c.user[:0], c.p.identity...)
	c.state = c.state[:0]
	c.start = start
	c.rounds = 0
	if e.open {
		c.sent = e.now()
		e.st.startLag.record(c.sent - start)
	}
	c.send()
}

// send builds the Access-Request for c.eapTx, registers it under a free
// Identifier and sends it.
func (c *conv) send() {
	e, s := c.e, c.s
	var auth [16]byte
	c.rng.Read(auth[:])
	tx, err := appendAccessRequest(c.tx[:0], &auth, c.user, c.eapTx, c.state)
	if err != nil {
		c.finish(reasonMalformed)
		return
	}
	c.tx = tx
	c.rounds++
	s.mu.Lock()
	id := s.alloc(c, e.now()+e.timeout)
	signRequest(c.tx, id, c.hs)
	// A failed send is a lost packet: the sweeper retransmits.
	if err := s.io.write(c.tx); err != nil {
		e.st.sendErrors.Add(1)
	}
	s.mu.Unlock()
}

// onAnswer handles an answer whose Response Authenticator verified.
func (c *conv) onAnswer(pkt []byte) {
	e := c.e
	var a answer
	if err := parseAnswer(pkt, c.eapRx, c.vsas, &a); err != nil {
		c.finish(reasonMalformed)
		return
	}
	c.eapRx, c.vsas = a.eap[:0], a.vsas[:0]
	reqAuth := c.tx[4:20]
	if a.maCount != 1 || !messageAuthenticatorOK(c.hs, pkt, a.maOff, reqAuth) {
		c.finish(reasonBadMessageAuthenticator)
		return
	}
	switch a.code {
	case codeAccessChallenge:
		if len(a.eap) == 0 || len(a.state) == 0 {
			c.finish(reasonMalformed)
			return
		}
		if c.rounds >= maxRounds {
			c.finish(reasonTooManyRounds)
			return
		}
		c.state = append(c.state[:0], a.state...)
		out, r := c.p.respond(a.eap, c.eapTx)
		if r != reasonNone {
			c.finish(r)
			return
		}
		c.eapTx = out
		c.send()
	case codeAccessAccept:
		if r := c.p.success(a.eap); r != reasonNone {
			c.finish(r)
			return
		}
		if !mppeKeysMatch(a.vsas, reqAuth, e.secret, &c.p.keys.MSK, &c.mppe) {
			c.finish(reasonMPPEMismatch)
			return
		}
		c.p.commit()
		if e.cfg.retransmitFinal {
			c.retransmitFinal(pkt)
			return
		}
		c.succeed()
	case codeAccessReject:
		r := c.p.pending
		if r == reasonNone {
			r = reasonAccessReject
		}
		c.finish(r)
	default:
		c.finish(reasonUnexpected)
	}
}

// retransmitFinal sends the final Access-Request, whose Access-Accept
// (pkt) passed every check, again: the same bytes on the same Identifier,
// as an access point does when the Accept was lost on the way. The server
// must answer from its duplicate cache with the very same Accept
// (onRetransmitAnswer); the sweeper retransmits and times the check out as
// for any request. Called by the reader that holds the Identifier.
func (c *conv) retransmitFinal(pkt []byte) {
	e, s := c.e, c.s
	now := e.now()
	c.acceptAt = now
	c.final = append(c.final[:0], pkt...)
	c.verifying = true
	s.mu.Lock()
	sl := &s.slots[c.heldID]
	sl.deadline, sl.tries = now+e.timeout, 0
	c.held = false
	e.st.retransmitFinal.Add(1)
	if err := s.io.write(c.tx); err != nil {
		e.st.sendErrors.Add(1)
	}
	s.mu.Unlock()
}

// onRetransmitAnswer checks the answer to the final request sent again: it
// must be byte for byte the Accept the first copy got.
func (c *conv) onRetransmitAnswer(pkt []byte) {
	if !bytes.Equal(pkt, c.final) {
		c.finish(reasonRetransmitDiffers)
		return
	}
	c.succeed()
}

func (c *conv) succeed() {
	e := c.e
	now := e.now()
	at := now
	if c.verifying {
		at = c.acceptAt // the authentication ended at the first Accept
		c.verifying = false
	}
	e.st.latency.record(at - c.start)
	if e.open {
		e.st.service.record(at - c.sent)
	}
	e.st.ok.Add(1)
	e.st.rounds.Add(c.rounds)
	if c.p.fast {
		e.st.fastReauths.Add(1)
	}
	if c.p.syncFails > 0 {
		e.st.resyncs.Add(1)
	}
	e.afterEnd(c, now)
}

func (c *conv) finish(r reason) {
	e := c.e
	if e.cfg.retransmitFinal {
		if c.held {
			// An Accept that failed a check: free its Identifier.
			s := c.s
			s.mu.Lock()
			s.release(c.heldID)
			s.mu.Unlock()
			c.held = false
		}
		if c.verifying {
			c.verifying = false
			if r == reasonTimeout {
				r = reasonRetransmitUnanswered
			}
		}
	}
	e.st.failures[r].Add(1)
	e.afterEnd(c, e.now())
}

// udpEndpoints is the network and addresses of the sockets the load and
// the flood open towards server, from bind when it is set.
func udpEndpoints(server netip.AddrPort, bind netip.Addr) (network string, laddr, raddr *net.UDPAddr) {
	network = "udp4"
	if server.Addr().Is6() {
		network = "udp6"
	}
	if bind.IsValid() {
		laddr = &net.UDPAddr{IP: bind.AsSlice()}
	}
	return network, laddr, net.UDPAddrFromAddrPort(server)
}
