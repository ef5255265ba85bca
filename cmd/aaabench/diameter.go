package main

import (
	"context"
	crand "crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/diameter/eapfront"
)

// The Diameter load (--diameter): aaabench is a trusted WLAN access
// gateway (TWAG) speaking Diameter EAP to the AAA server over STa (TS
// 29.273 5), SWm or plain RFC 4072, on one TCP connection of the
// diameter package's Node, which matches answers to requests by
// hop-by-hop identifier. The simulated phones are the RADIUS load's
// (peer.go): one authentication is one Diameter session, each round one
// DER/DEA.
//
// Node.Request blocks until its answer, so each conversation slot is a
// goroutine of its own (a dconv, for the whole run, not one per round)
// that claims starts as the RADIUS conversations do: at once in closed
// loop, at their scheduled time in open loop (a start that finds every
// slot busy begins late and its latency counts from the schedule).

// Diameter header flags (RFC 6733 3).
const (
	dFlagRequest       = 0x80
	dFlagProxiable     = 0x40
	dFlagRetransmitted = 0x10

	avpFlagM = 0x40
	avpFlagV = 0x80

	avpResultCode           = 268
	avpExperimentalResult   = 297
	avpExperimentalResultCd = 298
	avpVendorID             = 266

	ratTypeWLAN = 0 // TS 29.212 5.3.31

	resultSuccess                = 2001
	resultAuthenticationRejected = 4001
)

// checkDiameterFlags checks the flags of the Diameter load and sets what
// follows from them (the application, the default retries).
func checkDiameterFlags(cfg *config, set map[string]bool, bad func(string, ...any)) {
	if set["server"] || set["secret"] {
		bad("--server and --secret are RADIUS: give them or --diameter, not both")
	}
	for _, f := range []string{"sockets", "bind", "retransmit-final"} {
		if set[f] {
			bad("--%s is for RADIUS only", f)
		}
	}
	if _, port, err := net.SplitHostPort(cfg.diameter); err != nil || port == "" {
		bad("--diameter: want host:port")
	}
	switch cfg.appName {
	case "sta":
		cfg.appID, cfg.appVendor = eapfront.AppSTa, eapfront.Vendor3GPP
	case "swm":
		cfg.appID, cfg.appVendor = eapfront.AppSWm, eapfront.Vendor3GPP
	case "eap":
		cfg.appID, cfg.appVendor = eapfront.AppDiameterEAP, 0
	default:
		bad("--app: %q: want sta, eap or swm", cfg.appName)
	}
	for _, f := range []struct {
		name, value string
		optional    bool
	}{
		{"peer-host", cfg.peerHost, false},
		{"origin-host", cfg.originHost, false},
		{"origin-realm", cfg.originRealm, false},
		{"destination-realm", cfg.destRealm, false},
		{"destination-host", cfg.destHost, true},
	} {
		if f.optional && f.value == "" {
			continue
		}
		if !diameterIdentityOK(f.value) {
			bad("--%s: want a DiameterIdentity (letters, digits, '-' and '.')", f.name)
		}
	}
	if cfg.anid == "" || len(cfg.anid) > 253 {
		bad("--anid: want 1 to 253 octets (WLAN for Wi-Fi)")
	}
	if cfg.connectTimeout <= 0 {
		bad("--connect-timeout must be positive")
	}
	if !set["retries"] {
		cfg.retries = 3
	}
}

// diameterIdentityOK accepts what the diameter package's configuration
// accepts as an Origin-Host or realm.
func diameterIdentityOK(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.':
			if label == 0 {
				return false
			}
			label = 0
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			label++
		default:
			return false
		}
	}
	return label > 0
}

// derTemplate is what every DER of a run carries besides its session's
// routing AVPs and its EAP message: built once, shared read-only by all
// conversations (go-diameter only reads an AVP to serialize it).
type derTemplate struct {
	app     uint32
	authApp *diam.AVP // Auth-Application-Id
	authReq *diam.AVP // Auth-Request-Type AUTHORIZE_AUTHENTICATE
	rat     *diam.AVP // RAT-Type WLAN (3GPP, V bit, no M bit)
	anid    *diam.AVP // ANID (3GPP, M and V bits)
}

func newDERTemplate(app uint32, anid string) *derTemplate {
	return &derTemplate{
		app:     app,
		authApp: diam.NewAVP(eapfront.AVPAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(app)),
		authReq: diam.NewAVP(eapfront.AVPAuthRequestType, avpFlagM, 0, datatype.Enumerated(eapfront.AuthRequestAuthorizeAuthenticate)),
		rat:     diam.NewAVP(eapfront.AVPRATType, avpFlagV, eapfront.Vendor3GPP, datatype.Enumerated(ratTypeWLAN)),
		anid:    diam.NewAVP(eapfront.AVPANID, avpFlagM|avpFlagV, eapfront.Vendor3GPP, datatype.UTF8String(anid)),
	}
}

// appendBody adds to m, whose Session-Id and routing AVPs are in, the rest
// of a DER: Auth-Application-Id, Auth-Request-Type, User-Name (the EAP
// identity), EAP-Payload, State when the last DEA carried one (RFC 4072
// 4.1.1: echoed unchanged), RAT-Type and ANID.
func (t *derTemplate) appendBody(m *diam.Message, user, eapMsg, state []byte) {
	m.AddAVP(t.authApp)
	m.AddAVP(t.authReq)
	if len(user) > 0 {
		m.NewAVP(eapfront.AVPUserName, avpFlagM, 0, datatype.UTF8String(user))
	}
	m.NewAVP(eapfront.AVPEAPPayload, avpFlagM, 0, datatype.OctetString(eapMsg))
	if len(state) > 0 {
		m.NewAVP(eapfront.AVPState, avpFlagM, 0, datatype.OctetString(state))
	}
	m.AddAVP(t.rat)
	m.AddAVP(t.anid)
}

// follow starts a later DER of the session whose first DER began with
// hdr (Session-Id, Origin-Host, Origin-Realm, Destination-Realm and
// Destination-Host, as Node.NewRequest made them): the same AVPs, so the
// same Session-Id, under a new End-to-End identifier.
func (t *derTemplate) follow(hdr []*diam.AVP, e2e uint32) *diam.Message {
	m := diam.NewMessage(eapfront.CmdDiameterEAP, dFlagRequest|dFlagProxiable, t.app, 0, e2e, dict.Default)
	for _, a := range hdr {
		m.AddAVP(a)
	}
	return m
}

// dea is what a Diameter-EAP-Answer says, as far as the gateway cares.
type dea struct {
	result       uint32 // Result-Code, else Experimental-Result-Code
	vendor       uint32 // of the Experimental-Result
	experimental bool
	hasResult    bool
	sessionID    string
	eap          string // EAP-Payload
	state        string
	msk          string // EAP-Master-Session-Key
	hasMSK       bool
	keyName      bool // EAP-Key-Name present
}

var errMalformedDEA = errors.New("aaabench: malformed DEA")

// parseDEA reads the AVPs of a DEA the gateway needs. An answer without
// Result-Code or Experimental-Result, or with an AVP of the wrong type, is
// malformed.
func parseDEA(m *diam.Message, a *dea) error {
	*a = dea{}
	if m == nil || m.Header == nil || m.Header.CommandCode != eapfront.CmdDiameterEAP || m.Header.CommandFlags&dFlagRequest != 0 {
		return errMalformedDEA
	}
	for _, x := range m.AVP {
		if x == nil || x.VendorID != 0 {
			continue
		}
		ok := true
		switch x.Code {
		case eapfront.AVPSessionID:
			var v datatype.UTF8String
			v, ok = x.Data.(datatype.UTF8String)
			a.sessionID = string(v)
		case avpResultCode:
			var v datatype.Unsigned32
			v, ok = x.Data.(datatype.Unsigned32)
			// Result-Code wins over an Experimental-Result.
			a.result, a.vendor, a.experimental, a.hasResult = uint32(v), 0, false, true
		case avpExperimentalResult:
			var g *diam.GroupedAVP
			g, ok = x.Data.(*diam.GroupedAVP)
			if !ok || a.hasResult {
				break
			}
			for _, in := range g.AVP {
				v, isU32 := in.Data.(datatype.Unsigned32)
				switch {
				case in.Code == avpVendorID && isU32:
					a.vendor = uint32(v)
				case in.Code == avpExperimentalResultCd && isU32:
					a.result, a.experimental, a.hasResult = uint32(v), true, true
				}
			}
		case eapfront.AVPEAPPayload:
			var v datatype.OctetString
			v, ok = x.Data.(datatype.OctetString)
			a.eap = string(v)
		case eapfront.AVPState:
			var v datatype.OctetString
			v, ok = x.Data.(datatype.OctetString)
			a.state = string(v)
		case eapfront.AVPEAPMasterSessionKey:
			var v datatype.OctetString
			v, ok = x.Data.(datatype.OctetString)
			a.msk, a.hasMSK = string(v), true
		case eapfront.AVPEAPKeyName:
			a.keyName = true
		}
		if !ok {
			return errMalformedDEA
		}
	}
	if !a.hasResult {
		return errMalformedDEA
	}
	return nil
}

// dengine is the Diameter load.
type dengine struct {
	loadCore
	node    *diameter.Node
	ctx     context.Context // of every request: ends when the run is closed
	cancel  context.CancelFunc
	tmpl    *derTemplate
	anonID  []byte
	timeout time.Duration
	e2e     atomic.Uint32
	convs   []*dconv
	wg      sync.WaitGroup
}

// newDiameterEngine connects to the peer (capabilities exchange included)
// and sets up the conversations; it sends no DER.
func newDiameterEngine(cfg *config, subs []*usim, stderr io.Writer) (*dengine, error) {
	if err := eapfront.LoadDictionary(dict.Default); err != nil {
		return nil, err
	}
	// Connection trouble (a refused CEA, an unreachable peer, a lost
	// connection) is worth a line on stderr; the rest is not.
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.Lock(zapcore.AddSync(stderr)), zap.WarnLevel))
	node, err := diameter.NewNode(diameter.Config{
		OriginHost:  cfg.originHost,
		OriginRealm: cfg.originRealm,
		// Our own deadline (--timeout) ends an attempt; the node's
		// failover timer must not come first.
		RequestTimeout: cfg.timeout + time.Second,
	}, []diameter.App{{ID: cfg.appID, Vendor: cfg.appVendor}}, dict.Default, log)
	if err != nil {
		return nil, err
	}
	if err := node.Connect([]diameter.PeerConfig{{Host: cfg.peerHost, Address: cfg.diameter}}); err != nil {
		closeNode(node)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.connectTimeout)
	err = node.WaitOpen(ctx, cfg.peerHost)
	cancel()
	if err != nil {
		closeNode(node)
		return nil, fmt.Errorf("--diameter: no connection to %s at %s within %s (is it listening, does it accept Origin-Host %s, and is its Origin-Host %s?)",
			cfg.peerHost, cfg.diameter, cfg.connectTimeout, cfg.originHost, cfg.peerHost)
	}
	d := &dengine{
		node:    node,
		tmpl:    newDERTemplate(cfg.appID, cfg.anid),
		anonID:  []byte("anonymous@" + cfg.realm),
		timeout: cfg.timeout,
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.initCore(cfg)
	// End-to-End identifiers of our own for every DER, half the space
	// away from the node's counter (same layout, RFC 6733 3: the start
	// time's low 12 bits, then a counter), so that the two never meet.
	var r [4]byte
	crand.Read(r[:])
	d.e2e.Store((uint32(time.Now().Unix())<<20 | binary.BigEndian.Uint32(r[:])&0xfffff) ^ 0x80000000)
	anid := []byte(cfg.anid)
	for j := range cfg.concurrency {
		var seed [32]byte
		crand.Read(seed[:])
		w := &dconv{
			d:     d,
			rng:   rand.NewChaCha8(seed),
			eapTx: make([]byte, 0, 1024),
			eapRx: make([]byte, 0, 1024),
			state: make([]byte, 0, 64),
			timer: time.NewTimer(time.Hour),
		}
		w.timer.Stop()
		w.p.method = cfg.method
		w.p.rng = w.rng
		w.p.networkName = anid
		for k := j; k < len(subs); k += cfg.concurrency {
			w.subs = append(w.subs, subs[k])
		}
		d.convs = append(d.convs, w)
	}
	d.slots, d.sockets = len(d.convs), 1
	return d, nil
}

func closeNode(n *diameter.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n.Close(ctx)
}

func (d *dengine) start(quit <-chan struct{}) {
	d.base = time.Now()
	for _, w := range d.convs {
		d.wg.Add(1)
		go w.loop()
	}
}

// drainTime: every attempt of a request lasts at most --timeout.
func (d *dengine) drainTime() time.Duration {
	return d.timeout*time.Duration(d.cfg.retries+1) + 50*time.Millisecond
}

// close abandons what is in flight, waits for the conversations to
// return, and disconnects (DPR).
func (d *dengine) close() {
	d.stop()
	d.cancel()
	d.wg.Wait()
	closeNode(d.node)
	d.st.stray.Store(d.node.Stats.Unmatched.Load())
}

// claim takes the next start for a conversation that is free: now in
// closed loop, else the next scheduled start, after waiting for its time.
// false: no more starts.
func (d *dengine) claim(w *dconv) (start int64, ok bool) {
	// In flight from the claim on, so that the run cannot be seen over
	// between a claim and its start.
	d.inflight.Add(1)
	if d.stopping.Load() {
		d.ended()
		return 0, false
	}
	if !d.open {
		if d.limit > 0 && d.next.Add(1) > d.limit {
			d.setNoMore()
			d.ended()
			return 0, false
		}
		return d.now(), true
	}
	i := d.next.Add(1) - 1
	if i >= d.limit {
		d.setNoMore()
		d.ended()
		return 0, false
	}
	t := d.scheduled(i)
	if wait := t - d.now(); wait > 0 {
		d.waiting.Add(1)
		w.timer.Reset(time.Duration(wait))
		stopped := false
		select {
		case <-w.timer.C:
		case <-d.stopCh:
			w.timer.Stop()
			stopped = true
		}
		d.waiting.Add(-1)
		if stopped {
			d.ended()
			return 0, false
		}
	}
	return t, true
}

// dconv is one conversation slot of the Diameter load: a goroutine that
// authenticates the subscribers it owns, one at a time.
type dconv struct {
	d     *dengine
	subs  []*usim
	next  int
	p     peer
	rng   *rand.ChaCha8
	timer *time.Timer // open loop: the wait for a scheduled start

	eapTx []byte      // the EAP-Response of the DER in flight
	eapRx []byte      // the EAP-Request of the last DEA
	state []byte      // State of the last DEA, echoed
	user  []byte      // User-Name: the identity of the EAP-Response/Identity
	hdr   []*diam.AVP // the session's Session-Id and routing AVPs
	sid   string
	ans   dea

	start  int64 // now() of the (scheduled) start
	sent   int64 // open loop: now() when the first DER went out
	rounds uint64
}

func (w *dconv) uniform() float64 { return float64(w.rng.Uint64()>>11) / (1 << 53) }

func (w *dconv) loop() {
	defer w.d.wg.Done()
	for {
		start, ok := w.d.claim(w)
		if !ok {
			return
		}
		w.authenticate(start)
	}
}

// authenticate runs one authentication, one Diameter session, to its
// end, and counts it.
func (w *dconv) authenticate(start int64) {
	d := w.d
	u := w.subs[w.next]
	w.next++
	if w.next == len(w.subs) {
		w.next = 0
	}
	wantReauth := d.cfg.reauth > 0 && w.uniform() < d.cfg.reauth
	var anon []byte
	if d.cfg.anonymous > 0 && w.uniform() < d.cfg.anonymous {
		anon = d.anonID
	}
	w.eapTx = w.p.begin(u, wantReauth, anon, w.eapTx[:0])
	w.user = append(w.user[:0], w.p.identity...)
	w.state = w.state[:0]
	w.start = start
	w.rounds = 0
	if d.open {
		w.sent = d.now()
		d.st.startLag.record(w.sent - start)
	}
	for {
		req := w.der()
		w.rounds++
		ans, r, abandoned := w.exchange(req)
		if abandoned {
			d.ended() // the run is over: counted as abandoned, nothing else
			return
		}
		if r != reasonNone {
			w.fail(r, 0)
			return
		}
		if done := w.onDEA(ans); done {
			return
		}
	}
}

// der builds the DER for w.eapTx: the session's first with a new
// Session-Id, the later ones with the same (RFC 4072 2: one session per
// authentication), each with its own End-to-End identifier.
func (w *dconv) der() *diam.Message {
	d := w.d
	var m *diam.Message
	if w.rounds == 0 {
		m = d.node.NewRequest(eapfront.CmdDiameterEAP, d.cfg.appID, d.cfg.destRealm, d.cfg.destHost)
		m.Header.EndToEndID = d.e2e.Add(1)
		w.hdr = append(w.hdr[:0], m.AVP...)
		w.sid = ""
		if v, ok := m.AVP[0].Data.(datatype.UTF8String); ok {
			w.sid = string(v)
		}
	} else {
		m = d.tmpl.follow(w.hdr, d.e2e.Add(1))
	}
	d.tmpl.appendBody(m, w.user, w.eapTx, w.state)
	return m
}

// exchange sends req and returns its answer. An attempt left unanswered
// for --timeout (or that could not go out: no open connection, the
// connection lost) is sent again with the T bit and the same End-to-End
// identifier (RFC 6733 5.5.4), at most --retries times; then the reason
// of the last attempt. abandoned: the run was closed meanwhile.
func (w *dconv) exchange(req *diam.Message) (ans *diam.Message, r reason, abandoned bool) {
	d := w.d
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
		m, err := d.node.Request(ctx, req)
		if err == nil {
			cancel()
			return m, reasonNone, false
		}
		switch {
		case d.ctx.Err() != nil:
			cancel()
			return nil, reasonNone, true
		case errors.Is(err, context.DeadlineExceeded):
			r = reasonTimeout
		case errors.Is(err, diameter.ErrNoPeer):
			r = reasonNoPeer
		default:
			r = reasonTransport // the connection closed, an answer that did not decode
		}
		<-ctx.Done() // the attempt's time runs out before the next
		cancel()
		if d.ctx.Err() != nil {
			return nil, reasonNone, true
		}
		if try >= d.cfg.retries {
			return nil, r, false
		}
		req.Header.CommandFlags |= dFlagRetransmitted
		d.st.retransmissions.Add(1)
	}
}

// onDEA handles an answer; done when the authentication ended (and was
// counted).
func (w *dconv) onDEA(m *diam.Message) (done bool) {
	a := &w.ans
	if err := parseDEA(m, a); err != nil {
		w.fail(reasonMalformed, 0)
		return true
	}
	if a.sessionID != w.sid {
		w.fail(reasonSessionMismatch, 0)
		return true
	}
	switch {
	case a.experimental:
		w.fail(reasonNone, a.result)
	case a.result == eapfront.ResultMultiRoundAuth:
		if len(a.eap) == 0 {
			w.fail(reasonMalformed, 0)
			return true
		}
		if w.rounds >= maxRounds {
			w.fail(reasonTooManyRounds, 0)
			return true
		}
		w.state = append(w.state[:0], a.state...)
		w.eapRx = append(w.eapRx[:0], a.eap...)
		out, r := w.p.respond(w.eapRx, w.eapTx)
		if r != reasonNone {
			w.fail(r, 0)
			return true
		}
		w.eapTx = out
		return false
	case a.result == resultSuccess:
		w.eapRx = append(w.eapRx[:0], a.eap...)
		if r := w.p.success(w.eapRx); r != reasonNone {
			w.fail(r, 0)
			return true
		}
		// The MSK the gateway gets must be the one the phone derived
		// (RFC 4072 4.1.3: EAP-Master-Session-Key, 64 octets).
		if !a.hasMSK || len(a.msk) != len(w.p.keys.MSK) ||
			subtle.ConstantTimeCompare([]byte(a.msk), w.p.keys.MSK[:]) != 1 {
			w.fail(reasonMSKMismatch, 0)
			return true
		}
		if a.keyName {
			w.d.st.keyNames.Add(1)
		}
		w.p.commit()
		w.succeed()
	case a.result == resultAuthenticationRejected && w.p.pending != reasonNone:
		// The phone refused first (Authentication-Reject, Client-Error)
		// and the server answered with EAP-Failure: the phone's reason.
		w.fail(w.p.pending, 0)
	default:
		w.fail(reasonNone, a.result)
	}
	return true
}

func (w *dconv) succeed() {
	d := w.d
	now := d.now()
	d.st.latency.record(now - w.start)
	if d.open {
		d.st.service.record(now - w.sent)
	}
	d.st.ok.Add(1)
	d.st.rounds.Add(w.rounds)
	if w.p.fast {
		d.st.fastReauths.Add(1)
	}
	if w.p.syncFails > 0 {
		d.st.resyncs.Add(1)
	}
	d.lastEnd.Store(now)
	d.ended()
}

// fail counts a failure by r, or by a Diameter result code when code is
// set.
func (w *dconv) fail(r reason, code uint32) {
	d := w.d
	switch {
	case code != 0:
		d.st.failResult(code)
	case r == reasonNone: // a Result-Code of 0
		d.st.failures[reasonMalformed].Add(1)
	default:
		d.st.failures[r].Add(1)
	}
	d.lastEnd.Store(d.now())
	d.ended()
}
