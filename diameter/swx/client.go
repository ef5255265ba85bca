package swx

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"

	"github.com/aaa-project/aaa/aka"
)

// SessionEnder ends a user's access sessions (the session package does,
// with Disconnect-Requests to the access points). It returns how many it
// ended.
type SessionEnder interface {
	EndSessions(ctx context.Context, imsi string) int
}

// ClientConfig configures the AAA server's side of SWx.
type ClientConfig struct {
	// DestinationRealm is the HSS's realm (required).
	DestinationRealm string
	// DestinationHost is the HSS's host, when requests must go to one.
	DestinationHost string
	// VectorsPerRequest is SIP-Number-Auth-Items in an MAR: 4 when 0,
	// at most 32. The vectors beyond the first wait for the subscriber's
	// next authentications.
	VectorsPerRequest int
	// SpareLifetime is how long a spare vector may wait: 5 minutes when 0.
	SpareLifetime time.Duration
	// MaxSpareSubscribers bounds the subscribers whose spares and
	// registrations are kept: 100000 when 0. Past it the least recently
	// used is forgotten.
	MaxSpareSubscribers int
	// RegistrationTTL is how long a registration and its profile are
	// used before a successful authentication registers again (SAR);
	// 0 registers on every authentication.
	RegistrationTTL time.Duration
	// RequestTimeout bounds each MAR and SAR: 2 seconds when 0.
	RequestTimeout time.Duration
	// Sessions ends the user's access sessions when the HSS deregisters
	// the user or bars its access; may be nil.
	Sessions SessionEnder
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger; zap.NewNop when nil. IMSIs are masked at info and above;
	// vectors and keys are never logged.
	Logger *zap.Logger
}

// Bounds of the background work RTR and PPR start.
const (
	maxPendingEnds     = 4096
	maxConcurrentEnds  = 32
	endSessionsTimeout = 30 * time.Second
	maxSpareSets       = 4 // network names with spares, per subscriber
)

// Client is the 3GPP AAA server's side of SWx. It implements the EAP
// layer's VectorSource (Vector, Resync) and Registrar (Register), and
// serves the HSS's RTR and PPR (ServeDiameter).
type Client struct {
	t   Transport
	cfg ClientConfig
	log *zap.Logger

	mu        sync.Mutex
	subs      map[string]*record
	lru       *list.List // of *record, least recently used first
	lastSweep time.Time
	seq       uint64 // stamps resynchronisations, under mu

	endMu   sync.Mutex
	pending map[string]struct{}
	closed  bool
	sem     chan struct{}
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

	stats clientCounters
}

// record is what the client keeps of one subscriber.
type record struct {
	imsi   string
	elem   *list.Element
	spares map[string][]spare // by network name ("" for EAP-AKA)
	reg    *registration      // nil: not registered from here
	resync uint64             // Client.seq at its last resynchronisation
}

type spare struct {
	v  aka.Vector
	at time.Time
}

type registration struct {
	profile Profile
	at      time.Time
	fresh   bool // false after an HSS reset: register again
}

// NewClient returns the SWx client over t.
func NewClient(t Transport, cfg ClientConfig) (*Client, error) {
	if t == nil {
		return nil, errors.New("swx: no transport")
	}
	if cfg.DestinationRealm == "" {
		return nil, errors.New("swx: no destination realm")
	}
	switch {
	case cfg.VectorsPerRequest == 0:
		cfg.VectorsPerRequest = 4
	case cfg.VectorsPerRequest < 0 || cfg.VectorsPerRequest > maxAuthItems:
		return nil, fmt.Errorf("swx: vectors per request must be 1 to %d", maxAuthItems)
	}
	if cfg.SpareLifetime < 0 || cfg.MaxSpareSubscribers < 0 || cfg.RegistrationTTL < 0 || cfg.RequestTimeout < 0 {
		return nil, errors.New("swx: negative duration or bound")
	}
	if cfg.SpareLifetime == 0 {
		cfg.SpareLifetime = 5 * time.Minute
	}
	if cfg.MaxSpareSubscribers == 0 {
		cfg.MaxSpareSubscribers = 100000
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		t: t, cfg: cfg, log: cfg.Logger,
		subs:      make(map[string]*record),
		lru:       list.New(),
		lastSweep: cfg.Now(),
		pending:   make(map[string]struct{}),
		sem:       make(chan struct{}, maxConcurrentEnds),
		ctx:       ctx, cancel: cancel,
	}, nil
}

// Close stops the sessions being ended in the background and waits for
// them, then clears every spare vector. The client answers nothing after.
func (c *Client) Close() {
	c.endMu.Lock()
	c.closed = true
	c.endMu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	for _, r := range c.subs {
		c.dropSparesLocked(r)
	}
	c.subs = make(map[string]*record)
	c.lru.Init()
	c.mu.Unlock()
}

// Vector returns a vector for imsi: a spare from an earlier MAR for the
// same network name when one is fresh, else the first of a new MAR's. For
// EAP-AKA' (networkName set) it holds CK'/IK' as the HSS derived them
// (Prime).
func (c *Client) Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error) {
	if imsi == "" || len(imsi) > maxUserName {
		return aka.Vector{}, errors.New("swx: bad IMSI")
	}
	if v, ok := c.takeSpare(imsi, networkName); ok {
		c.stats.sparesUsed.Add(1)
		return v, nil
	}
	c.mu.Lock()
	started := c.seq
	c.mu.Unlock()
	vs, err := c.mar(ctx, imsi, networkName, c.cfg.VectorsPerRequest, nil)
	if err != nil {
		return aka.Vector{}, err
	}
	v := vs[0]
	vs[0].Clear()
	if len(vs) > 1 {
		c.putSpares(imsi, networkName, vs[1:], started)
	}
	return v, nil
}

// Resync sends the HSS the USIM's AUTS for rand in an MAR (SIP-
// Authorization = RAND || AUTS, TS 29.273 8.1.2.1) and returns the vector
// the HSS answers with. The subscriber's spares are dropped first: they
// carry SQNs the USIM has passed.
func (c *Client) Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error) {
	if imsi == "" || len(imsi) > maxUserName || rand == nil || auts == nil {
		return aka.Vector{}, errors.New("swx: bad resynchronisation request")
	}
	c.mu.Lock()
	c.seq++
	r := c.recordLocked(imsi, c.cfg.Now())
	c.dropSparesLocked(r)
	r.resync = c.seq // spares from an MAR sent before now are refused
	c.mu.Unlock()
	syncData := make([]byte, 0, aka.RANDLen+aka.AUTSLen)
	syncData = append(append(syncData, rand[:]...), auts[:]...)
	vs, err := c.mar(ctx, imsi, networkName, 1, syncData)
	if err != nil {
		return aka.Vector{}, err
	}
	v := vs[0]
	for i := range vs {
		vs[i].Clear()
	}
	return v, nil
}

// Register registers this AAA server with the HSS for imsi and fetches its
// profile (SAR REGISTRATION, TS 29.273 8.1.2.2.2), unless a registration
// younger than RegistrationTTL is kept: then the kept profile decides. A
// barred profile gives aka.ErrNotAuthorized, an unknown user
// aka.ErrUnknownSubscriber.
func (c *Client) Register(ctx context.Context, imsi string) error {
	if imsi == "" || len(imsi) > maxUserName {
		return errors.New("swx: bad IMSI")
	}
	now := c.cfg.Now()
	if c.cfg.RegistrationTTL > 0 {
		c.mu.Lock()
		if r := c.subs[imsi]; r != nil && r.reg != nil && r.reg.fresh && now.Sub(r.reg.at) < c.cfg.RegistrationTTL && !now.Before(r.reg.at) {
			barred := r.reg.profile.Barred
			c.lru.MoveToBack(r.elem)
			c.mu.Unlock()
			c.stats.registrationsReused.Add(1)
			if barred {
				return fmt.Errorf("swx: non-3GPP access barred: %w", aka.ErrNotAuthorized)
			}
			return nil
		}
		c.mu.Unlock()
	}

	ans, code, vendor, err := c.sar(ctx, imsi, ServerAssignmentRegistration)
	if err != nil {
		return err
	}
	if !isSuccess(code) {
		err := resultError("SAA", code, vendor)
		switch {
		case errors.Is(err, aka.ErrUnknownSubscriber):
			c.stats.saaUnknown.Add(1)
			c.dropRegistration(imsi)
		case errors.Is(err, aka.ErrNotAuthorized):
			c.stats.saaNotAuthorized.Add(1)
		default:
			c.stats.saaOther.Add(1)
		}
		return err
	}
	var p Profile
	if a := find(ans.AVP, AVPNon3GPPUserData, Vendor3GPP); a != nil {
		u, err := decodeProfile(a)
		if err != nil {
			c.stats.saaMalformed.Add(1)
			return fmt.Errorf("swx: SAA: %v", err)
		}
		u.apply(&p)
	}
	c.mu.Lock()
	r := c.recordLocked(imsi, now)
	r.reg = &registration{profile: p, at: now, fresh: true}
	c.mu.Unlock()
	if p.Barred {
		c.stats.saaBarred.Add(1)
		return fmt.Errorf("swx: non-3GPP access barred: %w", aka.ErrNotAuthorized)
	}
	c.stats.saaSuccess.Add(1)
	return nil
}

// Deregister tells the HSS that this AAA server no longer serves imsi (SAR
// USER_DEREGISTRATION) when it registered it, and forgets its
// registration and spares: for when the user's last session ends.
func (c *Client) Deregister(ctx context.Context, imsi string) error {
	c.mu.Lock()
	r := c.subs[imsi]
	registered := r != nil && r.reg != nil
	if r != nil {
		c.removeLocked(r)
	}
	c.mu.Unlock()
	if !registered {
		return nil
	}
	c.stats.deregistrations.Add(1)
	_, code, vendor, err := c.sar(ctx, imsi, ServerAssignmentUserDeregistration)
	if err != nil {
		return err
	}
	if !isSuccess(code) {
		c.stats.saaOther.Add(1)
		return resultError("SAA", code, vendor)
	}
	return nil
}

// sar sends a Server-Assignment-Request of typ for imsi and returns the
// answer with its result; an error when none came or it has no result.
func (c *Client) sar(ctx context.Context, imsi string, typ uint32) (ans *diam.Message, code, vendor uint32, err error) {
	req := c.request(CmdServerAssignment)
	if req == nil {
		return nil, 0, 0, errors.New("swx: SAR: transport built no request")
	}
	req.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	req.AddAVP(diam.NewAVP(AVPServerAssignType, mv, Vendor3GPP, datatype.Enumerated(typ)))
	c.stats.sarSent.Add(1)
	if ans, err = c.send(ctx, req); err != nil {
		c.stats.sarFailed.Add(1)
		return nil, 0, 0, fmt.Errorf("swx: SAR: %w", err)
	}
	code, vendor, ok := result(ans)
	if !ok {
		c.stats.saaMalformed.Add(1)
		return nil, 0, 0, errors.New("swx: SAA without a result")
	}
	return ans, code, vendor, nil
}

// Profile returns the profile kept for imsi, if it is registered from here.
func (c *Client) Profile(imsi string) (Profile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.subs[imsi]; r != nil && r.reg != nil {
		return r.reg.profile.Clone(), true
	}
	return Profile{}, false
}

// Registered reports whether imsi is registered from here.
func (c *Client) Registered(imsi string) bool {
	_, ok := c.Profile(imsi)
	return ok
}

// ServeDiameter answers the HSS's requests: RTR and PPR. Anything else is
// DIAMETER_COMMAND_UNSUPPORTED. An answer that reaches it gets nothing.
func (c *Client) ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message {
	if !isRequest(req) {
		return nil
	}
	switch req.Header.CommandCode {
	case CmdRegistrationTermination, CmdPushProfile:
		if !c.fromHSS(req) {
			// Only the HSS may end registrations and sessions or change
			// profiles: behind a relay any node of the realm's
			// neighbours could otherwise send an RTR.
			c.stats.refusedOrigin.Add(1)
			return answer(c.t, req, ResultAuthorizationRejected)
		}
		if req.Header.CommandCode == CmdRegistrationTermination {
			return c.serveRTR(req)
		}
		return c.servePPR(req)
	}
	return answer(c.t, req, ResultCommandUnsupported)
}

// fromHSS: the request's Origin-Realm is the HSS's realm, and its
// Origin-Host the HSS when one is configured.
func (c *Client) fromHSS(req *diam.Message) bool {
	realm, _ := str(find(req.AVP, avp.OriginRealm, 0))
	if realm != c.cfg.DestinationRealm {
		return false
	}
	if c.cfg.DestinationHost != "" {
		host, _ := str(find(req.AVP, avp.OriginHost, 0))
		return host == c.cfg.DestinationHost
	}
	return true
}

// serveRTR: the HSS deregisters the user (TS 29.273 8.1.2.2.3 and
// 8.2.2.4). Its registration, profile and spares go; its sessions are
// ended in the background, so that the RTA does not wait for access
// points.
func (c *Client) serveRTR(req *diam.Message) *diam.Message {
	c.stats.rtrReceived.Add(1)
	imsi := userName(req)
	if imsi == "" {
		return missing(c.t, req, diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("")))
	}
	if _, ok := grouped(find(req.AVP, AVPDeregReason, Vendor3GPP)); !ok {
		return missing(c.t, req, diam.NewAVP(AVPDeregReason, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPReasonCode, mv, Vendor3GPP, datatype.Enumerated(ReasonCodePermanentTermination)),
		}}))
	}
	c.mu.Lock()
	if r := c.subs[imsi]; r != nil {
		c.removeLocked(r)
	}
	c.mu.Unlock()
	c.log.Info("swx: HSS deregistered the user", zap.String("imsi", MaskIMSI(imsi)))
	c.endSessions(imsi)
	return answer(c.t, req, ResultSuccess)
}

// servePPR: the HSS pushes a changed profile (TS 29.273 8.1.2.3 and
// 8.2.2.2). The kept profile takes the fields the PPR carries; a profile
// now barred drops the registration and ends the sessions.
func (c *Client) servePPR(req *diam.Message) *diam.Message {
	c.stats.pprReceived.Add(1)
	imsi := userName(req)
	if imsi == "" {
		return missing(c.t, req, diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("")))
	}
	var (
		u   profileUpdate
		has bool
	)
	if a := find(req.AVP, AVPNon3GPPUserData, Vendor3GPP); a != nil {
		var err error
		if u, err = decodeProfile(a); err != nil {
			return invalid(c.t, req, diam.NewAVP(AVPNon3GPPUserData, mv, Vendor3GPP, &diam.GroupedAVP{}))
		}
		has = true
	}
	var flags uint32
	if a := find(req.AVP, AVPPPRFlags, Vendor3GPP); a != nil {
		flags, _ = u32(a)
	}

	c.mu.Lock()
	r := c.subs[imsi]
	if r == nil || r.reg == nil {
		c.mu.Unlock()
		if has && u.hasAccess && u.p.Barred {
			// Not registered here, but barred: sessions it may still
			// have must end all the same.
			c.endSessions(imsi)
		}
		return experimental(c.t, req, ExpUserUnknown)
	}
	if flags&PPRFlagResetIndication != 0 {
		// The HSS restarted: register again at the next authentication
		// (TS 29.273 8.1.2.4).
		r.reg.fresh = false
	}
	if has {
		u.apply(&r.reg.profile)
	}
	barred := r.reg.profile.Barred
	if barred {
		c.removeLocked(r)
	}
	c.mu.Unlock()
	if barred {
		c.log.Info("swx: HSS barred the user's non-3GPP access", zap.String("imsi", MaskIMSI(imsi)))
		c.endSessions(imsi)
	}
	return answer(c.t, req, ResultSuccess)
}

// endSessions ends imsi's sessions on a goroutine of its own: at most
// maxConcurrentEnds at once, at most maxPendingEnds waiting (one per
// IMSI); past that it is shed and counted.
func (c *Client) endSessions(imsi string) {
	if c.cfg.Sessions == nil {
		return
	}
	c.endMu.Lock()
	if c.closed {
		c.endMu.Unlock()
		return
	}
	if _, dup := c.pending[imsi]; dup {
		c.endMu.Unlock()
		return
	}
	if len(c.pending) >= maxPendingEnds {
		c.endMu.Unlock()
		c.stats.endSessionsShed.Add(1)
		c.log.Warn("swx: too many session ends pending; one shed", zap.String("imsi", MaskIMSI(imsi)))
		return
	}
	c.pending[imsi] = struct{}{}
	c.wg.Add(1)
	c.endMu.Unlock()
	go func() {
		defer c.wg.Done()
		select {
		case c.sem <- struct{}{}:
		case <-c.ctx.Done():
			c.endMu.Lock()
			delete(c.pending, imsi)
			c.endMu.Unlock()
			return
		}
		defer func() { <-c.sem }()
		// Off the pending set before the call: an RTR that comes while
		// it runs schedules another.
		c.endMu.Lock()
		delete(c.pending, imsi)
		c.endMu.Unlock()
		ctx, cancel := context.WithTimeout(c.ctx, endSessionsTimeout)
		n := c.cfg.Sessions.EndSessions(ctx, imsi)
		cancel()
		c.stats.sessionsEnded.Add(uint64(max(n, 0)))
		c.log.Info("swx: sessions ended", zap.String("imsi", MaskIMSI(imsi)), zap.Int("sessions", n))
	}()
}

// request returns a new SWx request of cmd for the HSS.
func (c *Client) request(cmd uint32) *diam.Message {
	req := c.t.NewRequest(cmd, AppID, c.cfg.DestinationRealm, c.cfg.DestinationHost)
	if req == nil || req.Header == nil {
		return nil
	}
	appAVPs(req)
	return req
}

// send sends req within RequestTimeout and checks that the answer is one.
func (c *Client) send(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ans, err := c.t.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	if ans == nil || ans.Header == nil || ans.Header.CommandFlags&diam.RequestFlag != 0 ||
		ans.Header.CommandCode != req.Header.CommandCode {
		return nil, errors.New("not an answer to the request")
	}
	return ans, nil
}

// mar sends an MAR for n vectors (with the resynchronisation data when
// sync is set) and returns the answer's vectors, at least one, in
// SIP-Item-Number order. The caller clears them.
func (c *Client) mar(ctx context.Context, imsi, networkName string, n int, sync []byte) ([]aka.Vector, error) {
	scheme := SchemeEAPAKA
	if networkName != "" {
		scheme = SchemeEAPAKAPrime
	}
	req := c.request(CmdMultimediaAuth)
	if req == nil {
		return nil, errors.New("swx: MAR: transport built no request")
	}
	req.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	req.AddAVP(diam.NewAVP(AVPRATType, avp.Vbit, Vendor3GPP, datatype.Enumerated(RATTypeWLAN)))
	if networkName != "" {
		req.AddAVP(diam.NewAVP(AVPANID, mv, Vendor3GPP, datatype.UTF8String(networkName)))
	}
	item := &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(scheme)),
	}}
	if sync != nil {
		item.AddAVP(diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, datatype.OctetString(sync)))
	}
	req.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, item))
	req.AddAVP(diam.NewAVP(AVPSIPNumberAuthItems, mv, Vendor3GPP, datatype.Unsigned32(n)))

	c.stats.marSent.Add(1)
	ans, err := c.send(ctx, req)
	if err != nil {
		c.stats.marFailed.Add(1)
		return nil, fmt.Errorf("swx: MAR: %w", err)
	}
	code, vendor, ok := result(ans)
	if !ok {
		c.stats.maaMalformed.Add(1)
		return nil, errors.New("swx: MAA without a result")
	}
	if !isSuccess(code) {
		err := resultError("MAA", code, vendor)
		switch {
		case errors.Is(err, aka.ErrUnknownSubscriber):
			c.stats.maaUnknown.Add(1)
		case errors.Is(err, aka.ErrNotAuthorized):
			c.stats.maaNotAuthorized.Add(1)
		default:
			c.stats.maaOther.Add(1)
		}
		return nil, err
	}
	if u, ok := str(find(ans.AVP, AVPUserName, 0)); ok && u != imsi {
		c.stats.maaMalformed.Add(1)
		return nil, errors.New("swx: MAA for another User-Name")
	}
	vs, err := parseItems(ans, scheme, networkName != "", n)
	if err != nil {
		c.stats.maaMalformed.Add(1)
		return nil, fmt.Errorf("swx: MAA: %w", err)
	}
	c.stats.maaSuccess.Add(1)
	c.stats.vectorsReceived.Add(uint64(len(vs)))
	return vs, nil
}

// parseItems turns the MAA's SIP-Auth-Data-Items into vectors (TS 29.273
// 8.2.3.9): SIP-Authenticate = RAND || AUTN (32 octets), SIP-Authorization
// = XRES (4 to 16), Confidentiality-Key and Integrity-Key (16 each), CK'
// and IK' for EAP-AKA'. One malformed item refuses the whole answer. At
// most want vectors are returned, the lowest item numbers first.
func parseItems(ans *diam.Message, scheme string, prime bool, want int) ([]aka.Vector, error) {
	type item struct {
		num    uint32
		hasNum bool
		v      aka.Vector
	}
	var items []item
	clearAll := func() {
		for i := range items {
			items[i].v.Clear()
		}
	}
	for _, a := range ans.AVP {
		if a == nil || a.Code != AVPSIPAuthDataItem || a.VendorID != Vendor3GPP {
			continue
		}
		idx := len(items)
		if idx == maxAuthItems {
			break
		}
		g, ok := grouped(a)
		if !ok {
			clearAll()
			return nil, fmt.Errorf("SIP-Auth-Data-Item %d is not grouped", idx)
		}
		it, err := parseItem(g, scheme, prime)
		if err != nil {
			clearAll()
			return nil, fmt.Errorf("SIP-Auth-Data-Item %d: %v", idx, err)
		}
		num, hasNum := u32(find(g.AVP, AVPSIPItemNumber, Vendor3GPP))
		items = append(items, item{num: num, hasNum: hasNum, v: it})
		it.Clear()
	}
	if len(items) == 0 {
		return nil, errors.New("no SIP-Auth-Data-Item")
	}
	// By SIP-Item-Number; items without one after, in the order received.
	slices.SortStableFunc(items, func(x, y item) int {
		switch {
		case x.hasNum && y.hasNum:
			return cmpU32(x.num, y.num)
		case x.hasNum:
			return -1
		case y.hasNum:
			return 1
		}
		return 0
	})
	n := min(len(items), max(want, 1))
	vs := make([]aka.Vector, n)
	for i := range vs {
		vs[i] = items[i].v
	}
	clearAll()
	return vs, nil
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseItem(g *diam.GroupedAVP, scheme string, prime bool) (aka.Vector, error) {
	var v aka.Vector
	for _, code := range []uint32{AVPSIPAuthScheme, AVPSIPAuthenticate, AVPSIPAuthorization, AVPConfidentialityKey, AVPIntegrityKey, AVPSIPItemNumber} {
		if count(g.AVP, code, Vendor3GPP) > 1 {
			return v, fmt.Errorf("AVP %d repeated", code)
		}
	}
	if a := find(g.AVP, AVPSIPAuthScheme, Vendor3GPP); a != nil {
		if s, ok := str(a); !ok || !strings.EqualFold(s, scheme) {
			return v, errors.New("SIP-Authentication-Scheme is not the one asked for")
		}
	}
	auth, ok := octets(find(g.AVP, AVPSIPAuthenticate, Vendor3GPP))
	if !ok || len(auth) != aka.RANDLen+aka.AUTNLen {
		return v, fmt.Errorf("SIP-Authenticate is %d octets, want %d", len(auth), aka.RANDLen+aka.AUTNLen)
	}
	xres, ok := octets(find(g.AVP, AVPSIPAuthorization, Vendor3GPP))
	if !ok || len(xres) < 4 || len(xres) > aka.MaxRES {
		return v, fmt.Errorf("SIP-Authorization (XRES) is %d octets, want 4 to %d", len(xres), aka.MaxRES)
	}
	ck, ok := octets(find(g.AVP, AVPConfidentialityKey, Vendor3GPP))
	if !ok || len(ck) != aka.KeyLen {
		return v, fmt.Errorf("Confidentiality-Key is %d octets, want %d", len(ck), aka.KeyLen)
	}
	ik, ok := octets(find(g.AVP, AVPIntegrityKey, Vendor3GPP))
	if !ok || len(ik) != aka.KeyLen {
		return v, fmt.Errorf("Integrity-Key is %d octets, want %d", len(ik), aka.KeyLen)
	}
	copy(v.RAND[:], auth[:aka.RANDLen])
	copy(v.AUTN[:], auth[aka.RANDLen:])
	v.XRESLen = uint8(copy(v.XRES[:], xres))
	copy(v.CK[:], ck)
	copy(v.IK[:], ik)
	// For EAP-AKA' the HSS sends CK' and IK' (TS 29.273 8.1.2.1): never
	// derived again.
	v.Prime = prime
	return v, nil
}

// takeSpare hands out imsi's oldest fresh spare for networkName.
func (c *Client) takeSpare(imsi, networkName string) (aka.Vector, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.subs[imsi]
	if r == nil {
		return aka.Vector{}, false
	}
	list := r.spares[networkName]
	for len(list) > 0 {
		s := list[0]
		list[0].v.Clear()
		list = list[1:]
		if c.freshLocked(s.at, now) {
			c.setSparesLocked(r, networkName, list)
			c.lru.MoveToBack(r.elem)
			return s.v, true
		}
		c.stats.sparesExpired.Add(1)
		s.v.Clear()
	}
	c.setSparesLocked(r, networkName, nil)
	c.forgetIfEmptyLocked(r)
	return aka.Vector{}, false
}

func (c *Client) freshLocked(at, now time.Time) bool {
	return !now.Before(at) && now.Sub(at) < c.cfg.SpareLifetime
}

// putSpares keeps vs for imsi's next authentications, unless imsi was
// resynchronised since the MAR that brought them (started).
func (c *Client) putSpares(imsi, networkName string, vs []aka.Vector, started uint64) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		for i := range vs {
			vs[i].Clear()
		}
	}()
	c.sweepLocked(now)
	if r := c.subs[imsi]; r != nil && r.resync > started {
		c.stats.sparesDropped.Add(uint64(len(vs)))
		return
	}
	r := c.recordLocked(imsi, now)
	if _, ok := r.spares[networkName]; !ok && len(r.spares) >= maxSpareSets {
		c.stats.sparesDropped.Add(uint64(len(vs)))
		c.forgetIfEmptyLocked(r)
		return
	}
	if r.spares == nil {
		r.spares = make(map[string][]spare)
	}
	list := r.spares[networkName]
	for i := range vs {
		if len(list) >= maxAuthItems {
			c.stats.sparesDropped.Add(uint64(len(vs) - i))
			break
		}
		list = append(list, spare{v: vs[i], at: now})
	}
	r.spares[networkName] = list
}

func (c *Client) setSparesLocked(r *record, networkName string, list []spare) {
	if len(list) == 0 {
		delete(r.spares, networkName)
		return
	}
	r.spares[networkName] = list
}

// recordLocked returns imsi's record, made if need be, as the most
// recently used; the least recently used goes past the bound.
func (c *Client) recordLocked(imsi string, now time.Time) *record {
	if r := c.subs[imsi]; r != nil {
		c.lru.MoveToBack(r.elem)
		return r
	}
	for len(c.subs) >= c.cfg.MaxSpareSubscribers {
		old := c.lru.Front().Value.(*record)
		if old.reg != nil {
			c.stats.registrationsEvicted.Add(1)
		}
		c.removeLocked(old)
	}
	r := &record{imsi: imsi}
	r.elem = c.lru.PushBack(r)
	c.subs[imsi] = r
	return r
}

// removeLocked forgets r: its spares are cleared, its registration goes.
func (c *Client) removeLocked(r *record) {
	c.dropSparesLocked(r)
	r.reg = nil
	if c.subs[r.imsi] == r {
		delete(c.subs, r.imsi)
		c.lru.Remove(r.elem)
	}
}

func (c *Client) dropSparesLocked(r *record) {
	for k, list := range r.spares {
		for i := range list {
			list[i].v.Clear()
		}
		c.stats.sparesDropped.Add(uint64(len(list)))
		delete(r.spares, k)
	}
}

// forgetIfEmptyLocked forgets r when it holds nothing. A record that was
// resynchronised stays (until the sweep) to refuse late spares.
func (c *Client) forgetIfEmptyLocked(r *record) {
	if len(r.spares) == 0 && r.reg == nil && r.resync == 0 {
		c.removeLocked(r)
	}
}

func (c *Client) dropRegistration(imsi string) {
	c.mu.Lock()
	if r := c.subs[imsi]; r != nil {
		r.reg = nil
		c.forgetIfEmptyLocked(r)
	}
	c.mu.Unlock()
}

// sweepLocked clears the expired spares of every subscriber, at most once
// a SpareLifetime, so that key material does not outlive it by much.
func (c *Client) sweepLocked(now time.Time) {
	if now.Sub(c.lastSweep) < c.cfg.SpareLifetime && !now.Before(c.lastSweep) {
		return
	}
	c.lastSweep = now
	for _, r := range c.subs {
		for k, list := range r.spares {
			keep := list[:0]
			for _, s := range list {
				if c.freshLocked(s.at, now) {
					keep = append(keep, s)
				} else {
					c.stats.sparesExpired.Add(1)
				}
			}
			for i := len(keep); i < len(list); i++ {
				list[i].v.Clear()
			}
			c.setSparesLocked(r, k, keep)
		}
		if len(r.spares) == 0 && r.reg == nil {
			c.removeLocked(r)
		}
	}
}

// ClientStats counts what the client did.
type ClientStats struct {
	RefusedOrigin                               uint64 // RTRs and PPRs not from the HSS's realm (or host)
	MARSent, MARFailed                          uint64 // MARs, those without an answer
	MAASuccess, MAAUnknownSubscriber            uint64
	MAANotAuthorized, MAAOther, MAAMalformed    uint64
	VectorsReceived, SparesUsed                 uint64
	SparesExpired, SparesDropped                uint64 // dropped: resync, RTR, barring, eviction, bounds
	SARSent, SARFailed                          uint64
	SAASuccess, SAABarred, SAAUnknownSubscriber uint64
	SAANotAuthorized, SAAOther, SAAMalformed    uint64
	RegistrationsReused, RegistrationsEvicted   uint64
	RTRReceived, PPRReceived                    uint64
	Deregistrations                             uint64 // SAR USER_DEREGISTRATION sent
	SessionsEnded, EndSessionsShed              uint64
}

type clientCounters struct {
	marSent, marFailed, maaSuccess, maaUnknown, maaNotAuthorized, maaOther, maaMalformed atomic.Uint64
	vectorsReceived, sparesUsed, sparesExpired, sparesDropped                            atomic.Uint64
	sarSent, sarFailed, saaSuccess, saaBarred, saaUnknown, saaNotAuthorized, saaOther    atomic.Uint64
	saaMalformed, registrationsReused, registrationsEvicted                              atomic.Uint64
	rtrReceived, pprReceived, deregistrations, sessionsEnded, endSessionsShed            atomic.Uint64
	refusedOrigin                                                                        atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() ClientStats {
	s := &c.stats
	return ClientStats{
		RefusedOrigin: s.refusedOrigin.Load(),
		MARSent:       s.marSent.Load(), MARFailed: s.marFailed.Load(),
		MAASuccess: s.maaSuccess.Load(), MAAUnknownSubscriber: s.maaUnknown.Load(),
		MAANotAuthorized: s.maaNotAuthorized.Load(), MAAOther: s.maaOther.Load(), MAAMalformed: s.maaMalformed.Load(),
		VectorsReceived: s.vectorsReceived.Load(), SparesUsed: s.sparesUsed.Load(),
		SparesExpired: s.sparesExpired.Load(), SparesDropped: s.sparesDropped.Load(),
		SARSent: s.sarSent.Load(), SARFailed: s.sarFailed.Load(),
		SAASuccess: s.saaSuccess.Load(), SAABarred: s.saaBarred.Load(), SAAUnknownSubscriber: s.saaUnknown.Load(),
		SAANotAuthorized: s.saaNotAuthorized.Load(), SAAOther: s.saaOther.Load(), SAAMalformed: s.saaMalformed.Load(),
		RegistrationsReused: s.registrationsReused.Load(), RegistrationsEvicted: s.registrationsEvicted.Load(),
		RTRReceived: s.rtrReceived.Load(), PPRReceived: s.pprReceived.Load(),
		Deregistrations: s.deregistrations.Load(),
		SessionsEnded:   s.sessionsEnded.Load(), EndSessionsShed: s.endSessionsShed.Load(),
	}
}
