package eapfront

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/latency"
	"github.com/aaa-project/aaa/session"
)

// FrontEnd names this front end in the session table.
const FrontEnd = "diameter"

// Result codes this front end answers with (RFC 6733, RFC 4072).
const (
	resultSuccess          = 2001
	resultCommandUnsupp    = 3001
	resultTooBusy          = 3004
	resultAuthRejected     = 4001
	resultMissingAVP       = 5005
	resultUnknownSessionID = 5002
	resultAuthorizationRej = 5003
	resultInvalidAVPValue  = 5004
	resultUnableToComply   = 5012

	// Bounds on what a gateway names: longer is refused before anything
	// is kept (a Session-Id is copied into every answer and the
	// duplicate cache).
	maxSessionID = 512
	maxIdentity  = 255
	// maxDupBytes bounds the answers kept for retransmissions.
	maxDupBytes             = 32 << 20
	terminationCauseAdmin   = 4 // DIAMETER_ADMINISTRATIVE (ASR has none; STR's)
	authSessionStateNoState = 1
)

// Transport is what the front end needs of the Diameter base (the base's
// *diameter.Node satisfies it).
type Transport interface {
	// NewRequestInSession returns a request in the session sessionID,
	// with Origin-Host/Realm and Destination-Realm/Host.
	NewRequestInSession(cmd, app uint32, sessionID, destRealm, destHost string) *diam.Message
	// Request sends req and returns its answer.
	Request(ctx context.Context, req *diam.Message) (*diam.Message, error)
	// Answer returns the answer skeleton to req: Session-Id first,
	// Result-Code, Origin-Host, Origin-Realm.
	Answer(req *diam.Message, resultCode uint32) *diam.Message
}

// Profile is what the front end tells a gateway of the subscriber's
// non-3GPP profile (from the HSS's SAA over SWx).
type Profile struct {
	APNs         []string // Service-Selection
	APNsDisabled bool     // Non-3GPP-IP-Access-APN DISABLE
}

// Profiles gives a subscriber's profile, when one is known.
type Profiles interface {
	Profile(imsi string) (Profile, bool)
}

// Config configures the front end.
type Config struct {
	// Sessions records the sessions that succeed, and is where STR, AAR
	// and ASR find them by Session-Id; nil: a table of the front end's
	// own.
	Sessions *session.Table
	// Profiles, when set, adds the subscriber's APNs to the DEA.
	Profiles Profiles
	// ConversationTimeout is how long a Session-Id keeps its EAP
	// conversation between two DERs (eap.conversation_timeout).
	ConversationTimeout time.Duration
	// SessionLifetime is how long a session that succeeded stays in the
	// session table (for STR, ASR and AAR) and is sent as Session-Timeout.
	SessionLifetime time.Duration
	// MaxSessions bounds the Session-Ids whose EAP conversation is in
	// progress. Past it a new one is refused (3004). Sessions that
	// succeeded are the session table's, under its own bounds.
	MaxSessions int
	// DuplicateTTL is how long an answer is kept for a retransmission of
	// its request (same Origin-Host and End-to-End-Id); DuplicateMax
	// bounds them.
	DuplicateTTL time.Duration
	DuplicateMax int
	// RequestTimeout bounds an ASR.
	RequestTimeout time.Duration
	// PeerShare is each gateway's (Origin-Host's) share of the EAP
	// conversations (eap.Peer.MaxConversations): one that floods fills
	// only its own. 0: only the store's bound.
	PeerShare int
	// NetworkNames, when set, are the access network names (ANID) a
	// gateway may claim (TS 33.402 6.2: the name is bound into the keys,
	// and the AAA server checks the access network may use it); a DER
	// with another gets DIAMETER_INVALID_AVP_VALUE.
	NetworkNames []string
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *zap.Logger
}

func (c *Config) setDefaults() {
	if c.ConversationTimeout <= 0 {
		c.ConversationTimeout = time.Minute
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 24 * time.Hour
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 100000
	}
	if c.DuplicateTTL <= 0 {
		c.DuplicateTTL = 30 * time.Second
	}
	if c.DuplicateMax <= 0 {
		c.DuplicateMax = 65536
	}
	if c.Sessions == nil {
		c.Sessions = session.NewTable(session.Config{})
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Server is the Diameter EAP front end: it answers DER (multi-round),
// STR and, for SWm, AAR, and ends sessions with ASR (a session.Terminator).
type Server struct {
	t   Transport
	eap *eap.Server
	cfg Config
	log *zap.Logger

	mu       sync.Mutex
	sessions map[string]*entry // by Session-Id
	dups     map[dupKey]*dup
	dupOrder []dupKey // in insertion order, for expiry and the bound
	dupHead  int      // dupOrder[:dupHead] are gone
	dupBytes int      // of the answers kept
	swept    time.Time

	Stats Stats
}

// entry is the EAP conversation of a Session-Id while it runs, and the
// gateway (Origin-Host) that opened it: no other continues or ends it.
type entry struct {
	state   eap.ConversationID
	owner   string
	expires time.Time
}

// dupKey names a request for duplicate detection (RFC 6733 6.1.4:
// Origin-Host and End-to-End-Id), on the connection it came on.
type dupKey struct {
	peer, origin string
	e2e          uint32
}

// dup is an answer kept for retransmissions, serialized (a few hundred
// octets, where the decoded message is many objects); nil: in progress.
// It is given again only to the same request: same Session-Id and EAP
// payload.
type dup struct {
	answer  []byte
	request [32]byte // SHA-256 of Session-Id and EAP-Payload
	expires time.Time
}

// Stats counts what the front end did.
type Stats struct {
	DER, DEAContinue, DEASuccess, DEAFailure, Discarded atomic.Uint64
	Duplicates, DuplicatesInProgress                    atomic.Uint64
	STR, ASRSent, ASRAcked, AAR                         atomic.Uint64
	Refused                                             atomic.Uint64 // missing or bad AVPs
	SessionsFull, EAPErrors                             atomic.Uint64
	IdentityRounds                                      atomic.Uint64 // AKA-Identity requests sent
	// Auths counts DEAs that ended an authentication, by method.
	Auths eap.Tally
	// Latency is how long DERs took to answer.
	Latency latency.Histogram
}

// Snapshot returns the counters by name.
func (s *Stats) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"der": s.DER.Load(), "dea_multi_round": s.DEAContinue.Load(), "dea_success": s.DEASuccess.Load(),
		"dea_failure": s.DEAFailure.Load(), "discarded": s.Discarded.Load(),
		"duplicates_answered": s.Duplicates.Load(), "duplicates_in_progress": s.DuplicatesInProgress.Load(),
		"str": s.STR.Load(), "asr_sent": s.ASRSent.Load(), "asr_acked": s.ASRAcked.Load(), "aar": s.AAR.Load(),
		"refused": s.Refused.Load(), "sessions_full": s.SessionsFull.Load(), "eap_errors": s.EAPErrors.Load(),
		"identity_rounds": s.IdentityRounds.Load(),
	}
}

// New returns the front end over t, driving e.
func New(t Transport, e *eap.Server, cfg Config) (*Server, error) {
	if t == nil || e == nil {
		return nil, errors.New("eapfront: transport and EAP server are required")
	}
	cfg.setDefaults()
	return &Server{
		t: t, eap: e, cfg: cfg, log: cfg.Logger,
		sessions: make(map[string]*entry),
		dups:     make(map[dupKey]*dup),
	}, nil
}

// ServeDiameter answers DER, STR and AAR; anything else is
// DIAMETER_COMMAND_UNSUPPORTED.
func (s *Server) ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message {
	if req.Header.CommandFlags&diam.RequestFlag == 0 {
		return nil
	}
	if bad := s.checkOrigin(ctx, req); bad != nil {
		s.Stats.Refused.Add(1)
		return bad
	}
	switch req.Header.CommandCode {
	case CmdDiameterEAP:
		return s.deduplicated(ctx, req, func() *diam.Message { return s.serveDER(ctx, req) })
	case CmdSessionTermination:
		return s.serveSTR(req)
	case CmdAA:
		if req.Header.ApplicationID == AppSWm {
			return s.serveAAR(req)
		}
	}
	return s.t.Answer(req, resultCommandUnsupp)
}

// checkOrigin refuses a request whose Session-Id or Origin-Host is
// longer than any real one, or whose Origin-Host is not the peer's own
// when the peer does not relay (a gateway speaks for itself only).
func (s *Server) checkOrigin(ctx context.Context, req *diam.Message) *diam.Message {
	sid, origin := str(req, avp.SessionID, 0), str(req, avp.OriginHost, 0)
	if len(sid) > maxSessionID || len(origin) > maxIdentity || len(str(req, AVPUserName, 0)) > maxIdentity {
		return s.t.Answer(req, resultInvalidAVPValue)
	}
	if p, ok := diameter.PeerFromContext(ctx); ok && !p.Relay && origin != p.Host {
		return s.t.Answer(req, resultUnableToComply)
	}
	return nil
}

// requestDigest is what makes two DERs the same request.
func requestDigest(req *diam.Message) [32]byte {
	h := sha256.New()
	h.Write([]byte(str(req, avp.SessionID, 0)))
	h.Write([]byte{0})
	if a, err := req.FindAVP(AVPEAPPayload, 0); err == nil {
		if v, ok := a.Data.(datatype.OctetString); ok {
			h.Write([]byte(v))
		}
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// deduplicated answers a retransmission (same Origin-Host and
// End-to-End-Id, RFC 6733 6.1.4) with the answer the first copy got, and
// drops one that arrives while the first is still being handled.
func (s *Server) deduplicated(ctx context.Context, req *diam.Message, handle func() *diam.Message) *diam.Message {
	peer, _ := diameter.PeerFromContext(ctx)
	k := dupKey{peer.Host, str(req, avp.OriginHost, 0), req.Header.EndToEndID}
	digest := requestDigest(req)
	now := s.cfg.Now()
	s.mu.Lock()
	s.expireDupsLocked(now)
	if d := s.dups[k]; d != nil {
		kept, same := d.answer, d.request == digest
		s.mu.Unlock()
		if !same {
			// The identifiers of an answered request on another: not a
			// retransmission, and never given another's answer.
			s.Stats.Refused.Add(1)
			return s.t.Answer(req, resultUnableToComply)
		}
		if kept == nil {
			s.Stats.DuplicatesInProgress.Add(1)
			return nil
		}
		if ans := s.replayed(kept, req); ans != nil {
			s.Stats.Duplicates.Add(1)
			return ans
		}
		return nil
	}
	s.dups[k] = &dup{request: digest, expires: now.Add(s.cfg.DuplicateTTL)}
	s.dupOrder = append(s.dupOrder, k)
	s.mu.Unlock()
	var ans *diam.Message
	defer func() {
		// Kept for a retransmission; no answer (or a panic): forgotten,
		// so that a retransmission is decided again.
		var b []byte
		if ans != nil {
			b, _ = ans.Serialize()
		}
		s.mu.Lock()
		if d := s.dups[k]; d != nil && d.answer == nil {
			if b == nil {
				delete(s.dups, k)
			} else {
				d.answer = b
				s.dupBytes += len(b)
			}
		}
		s.mu.Unlock()
	}()
	ans = handle()
	return ans
}

// replayed decodes a kept answer for the retransmission req, with req's
// hop-by-hop id (a relay's may differ from the first copy's).
func (s *Server) replayed(b []byte, req *diam.Message) *diam.Message {
	m, err := diam.ReadMessage(bytes.NewReader(b), req.Dictionary())
	if err != nil {
		return nil
	}
	m.Header.HopByHopID, m.Header.EndToEndID = req.Header.HopByHopID, req.Header.EndToEndID
	return m
}

// expireDupsLocked drops the kept answers past their time, and the oldest
// beyond DuplicateMax-1, to make room for one more: from the front of
// dupOrder, which is compacted only once half of it is gone, so that each
// request costs a constant amount.
func (s *Server) expireDupsLocked(now time.Time) {
	for s.dupHead < len(s.dupOrder) {
		k := s.dupOrder[s.dupHead]
		d := s.dups[k]
		if d != nil && now.Before(d.expires) && len(s.dupOrder)-s.dupHead < s.cfg.DuplicateMax && s.dupBytes < maxDupBytes {
			break
		}
		if d != nil {
			s.dupBytes -= len(d.answer)
			clear(d.answer) // a success holds the MSK
			delete(s.dups, k)
		}
		s.dupOrder[s.dupHead] = dupKey{}
		s.dupHead++
	}
	if s.dupHead > len(s.dupOrder)/2 {
		n := copy(s.dupOrder, s.dupOrder[s.dupHead:])
		s.dupOrder = s.dupOrder[:n]
		s.dupHead = 0
	}
}

// der is what a DER says.
type der struct {
	sessionID, origin, realm, userName, anid string
	app, authRequestType                     uint32
	payload                                  []byte
}

func (s *Server) serveDER(ctx context.Context, req *diam.Message) *diam.Message {
	s.Stats.DER.Add(1)
	defer s.Stats.Latency.Since(time.Now())
	d, bad := s.parseDER(req)
	if bad != nil {
		s.Stats.Refused.Add(1)
		return bad
	}
	now := s.cfg.Now()
	s.mu.Lock()
	e := s.sessions[d.sessionID]
	if e != nil && !now.Before(e.expires) {
		delete(s.sessions, d.sessionID)
		e = nil
	}
	if e != nil && e.owner != d.origin {
		// Another gateway's session: it neither continues nor ends it.
		s.mu.Unlock()
		s.Stats.Refused.Add(1)
		return s.t.Answer(req, resultUnknownSessionID)
	}
	var state []byte
	var used eap.ConversationID
	if e != nil {
		used = e.state
		state = used[:]
	}
	if e == nil && len(s.sessions) >= s.cfg.MaxSessions {
		if now.Sub(s.swept) >= time.Second {
			s.sweepLocked(now)
			s.swept = now
		}
		if len(s.sessions) >= s.cfg.MaxSessions {
			s.mu.Unlock()
			s.Stats.SessionsFull.Add(1)
			return s.t.Answer(req, resultTooBusy)
		}
	}
	s.mu.Unlock()

	var buf [1500]byte
	var res eap.Result
	defer res.Clear()
	from := eap.Peer{Name: d.origin, NetworkName: d.anid, MaxConversations: s.cfg.PeerShare}
	if err := s.eap.Handle(ctx, from, state, d.payload, buf[:0], &res); err != nil {
		// A backend fault (vector source, store): no answer; the
		// gateway retransmits, and the retransmission is decided again.
		s.Stats.EAPErrors.Add(1)
		s.log.Warn("diameter eap: no answer", zap.Error(err))
		return nil
	}
	switch res.Outcome {
	case eap.OutcomeContinue:
		s.mu.Lock()
		s.sessions[d.sessionID] = &entry{state: res.Conversation, owner: d.origin, expires: now.Add(s.cfg.ConversationTimeout)}
		s.mu.Unlock()
		s.Stats.DEAContinue.Add(1)
		if res.IdentityRound {
			s.Stats.IdentityRounds.Add(1)
		}
		a := s.dea(req, &d, ResultMultiRoundAuth, res.Packet)
		return a
	case eap.OutcomeSuccess:
		s.Stats.DEASuccess.Add(1)
		s.Stats.Auths.Add(res.Method, true)
		return s.succeed(req, &d, &res, now)
	case eap.OutcomeFailure:
		s.forget(d.sessionID, used)
		s.Stats.DEAFailure.Add(1)
		s.Stats.Auths.Add(res.Method, false)
		return s.dea(req, &d, resultAuthRejected, res.Packet)
	}
	s.Stats.Discarded.Add(1)
	switch {
	case res.Reason == eap.ReasonStoreFull || res.Reason == eap.ReasonPeerFull:
		return s.t.Answer(req, resultTooBusy)
	case e == nil && res.Reason == eap.ReasonUnexpected:
		// No conversation under this Session-Id (expired, or never)
		// and no EAP-Response/Identity to start one.
		return s.t.Answer(req, resultUnknownSessionID)
	}
	return nil
}

// forget drops the conversation of sid if it is still the one used.
func (s *Server) forget(sid string, used eap.ConversationID) {
	s.mu.Lock()
	if e := s.sessions[sid]; e != nil && e.state == used {
		delete(s.sessions, sid)
	}
	s.mu.Unlock()
}

// parseDER reads a DER; a missing or malformed AVP gets its answer.
func (s *Server) parseDER(req *diam.Message) (der, *diam.Message) {
	d := der{
		sessionID: str(req, avp.SessionID, 0),
		origin:    str(req, avp.OriginHost, 0),
		realm:     str(req, avp.OriginRealm, 0),
		userName:  str(req, AVPUserName, 0),
		anid:      str(req, AVPANID, Vendor3GPP),
		app:       req.Header.ApplicationID,
	}
	missing := func(code, vendor uint32, data datatype.Type) *diam.Message {
		a := s.t.Answer(req, resultMissingAVP)
		flags := uint8(avp.Mbit)
		if vendor != 0 {
			flags |= avp.Vbit
		}
		a.AddAVP(diam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{diam.NewAVP(code, flags, vendor, data)}}))
		return a
	}
	if d.sessionID == "" {
		return d, missing(avp.SessionID, 0, datatype.UTF8String(""))
	}
	if d.origin == "" {
		return d, missing(avp.OriginHost, 0, datatype.DiameterIdentity(""))
	}
	if a, err := req.FindAVP(AVPEAPPayload, 0); err == nil {
		if v, ok := a.Data.(datatype.OctetString); ok {
			d.payload = []byte(v)
		}
	}
	if len(d.payload) == 0 {
		return d, missing(AVPEAPPayload, 0, datatype.OctetString(""))
	}
	a, err := req.FindAVP(AVPAuthRequestType, 0)
	if err != nil {
		return d, missing(AVPAuthRequestType, 0, datatype.Enumerated(AuthRequestAuthorizeAuthenticate))
	}
	v, ok := a.Data.(datatype.Enumerated)
	if !ok {
		return d, missing(AVPAuthRequestType, 0, datatype.Enumerated(AuthRequestAuthorizeAuthenticate))
	}
	d.authRequestType = uint32(v)
	if len(d.anid) > eap.MaxNetworkName || d.anid != "" && len(s.cfg.NetworkNames) > 0 && !contains(s.cfg.NetworkNames, d.anid) {
		a := s.t.Answer(req, resultInvalidAVPValue)
		a.AddAVP(diam.NewAVP(avp.FailedAVP, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPANID, avp.Mbit|avp.Vbit, Vendor3GPP, datatype.UTF8String(""))}}))
		return d, a
	}
	return d, nil
}

// dea builds a DEA: result, EAP-Payload, Auth-Application-Id,
// Auth-Request-Type.
func (s *Server) dea(req *diam.Message, d *der, code uint32, payload []byte) *diam.Message {
	a := s.t.Answer(req, code)
	a.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(d.app))
	a.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(d.authRequestType))
	a.NewAVP(AVPEAPPayload, avp.Mbit, 0, datatype.OctetString(payload))
	return a
}

// succeed answers DIAMETER_SUCCESS with EAP-Success and the keys, and
// records the session.
func (s *Server) succeed(req *diam.Message, d *der, res *eap.Result, now time.Time) *diam.Message {
	a := s.dea(req, d, resultSuccess, res.Packet)
	msk := make([]byte, len(res.MSK))
	copy(msk, res.MSK[:])
	a.NewAVP(AVPEAPMasterSessionKey, avp.Mbit, 0, secretOctets(msk))
	if len(res.KeyName) > 0 {
		a.NewAVP(AVPEAPKeyName, avp.Mbit, 0, datatype.OctetString(res.KeyName))
	}
	if d.userName != "" {
		a.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(d.userName))
	}
	a.NewAVP(AVPSessionTimeout, avp.Mbit, 0, datatype.Unsigned32(uint32(s.cfg.SessionLifetime/time.Second)))
	if d.app != AppDiameterEAP && res.IMSI != "" {
		// The permanent identity of the user, as the gateway passes it
		// on (TS 29.273 5.2.3.1 Mobile-Node-Identifier).
		a.NewAVP(AVPMobileNodeIdentifier, avp.Mbit, 0, datatype.DiameterIdentity(permanentNAI(res)))
	}
	if s.cfg.Profiles != nil && res.IMSI != "" {
		if p, ok := s.cfg.Profiles.Profile(res.IMSI); ok {
			access := uint32(0)
			if p.APNsDisabled {
				access = 1
			}
			a.NewAVP(AVPNon3GPPIPAccessAPN, avp.Mbit|avp.Vbit, Vendor3GPP, datatype.Enumerated(access))
			if !p.APNsDisabled {
				for _, apn := range p.APNs {
					a.NewAVP(AVPServiceSelection, avp.Mbit, 0, datatype.UTF8String(apn))
				}
			}
		}
	}
	s.mu.Lock()
	if e := s.sessions[d.sessionID]; e != nil && e.owner == d.origin {
		delete(s.sessions, d.sessionID) // the conversation is over
	}
	s.mu.Unlock()
	s.cfg.Sessions.Add(session.Session{
		IMSI: res.IMSI, FrontEnd: FrontEnd, Client: d.origin, Realm: d.realm,
		UserName: d.userName, SessionID: d.sessionID, Application: d.app,
		Started: now, Expires: now.Add(s.cfg.SessionLifetime),
	})
	return a
}

// permanentNAI is the user's permanent identity as an NAI: the method's
// prefix, the IMSI, and the realm of the identity it authenticated with.
func permanentNAI(res *eap.Result) string {
	prefix := "0"
	if res.Method == eap.TypeAKAPrime {
		prefix = "6"
	}
	realm := "nai.epc"
	if i := strings.IndexByte(string(res.Identity), '@'); i >= 0 && i+1 < len(res.Identity) {
		realm = string(res.Identity[i+1:])
	}
	return prefix + res.IMSI + "@" + realm
}

// serveSTR: the gateway ends a session (RFC 6733 8.4).
func (s *Server) serveSTR(req *diam.Message) *diam.Message {
	s.Stats.STR.Add(1)
	sid, origin := str(req, avp.SessionID, 0), str(req, avp.OriginHost, 0)
	s.mu.Lock()
	e := s.sessions[sid]
	inProgress := e != nil && e.owner == origin
	if inProgress {
		delete(s.sessions, sid)
	}
	s.mu.Unlock()
	live, ok := s.cfg.Sessions.FindSession(origin, sid)
	if ok && live.FrontEnd == FrontEnd {
		s.cfg.Sessions.Remove(live)
	} else if !inProgress {
		return s.t.Answer(req, resultUnknownSessionID)
	}
	return s.t.Answer(req, resultSuccess)
}

// serveAAR: an ePDG asks for authorization of a session that
// authenticated (TS 29.273 7.2.2.1.3).
func (s *Server) serveAAR(req *diam.Message) *diam.Message {
	s.Stats.AAR.Add(1)
	sid := str(req, avp.SessionID, 0)
	now := s.cfg.Now()
	live, ok := s.cfg.Sessions.FindSession(str(req, avp.OriginHost, 0), sid)
	if !ok || live.FrontEnd != FrontEnd || live.Application != AppSWm || !now.Before(live.Expires) {
		return s.t.Answer(req, resultUnknownSessionID)
	}
	apn := str(req, AVPServiceSelection, 0)
	if apn != "" && s.cfg.Profiles != nil {
		if p, known := s.cfg.Profiles.Profile(live.IMSI); known && (p.APNsDisabled || !contains(p.APNs, apn)) {
			return s.t.Answer(req, resultAuthorizationRej)
		}
	}
	a := s.t.Answer(req, resultSuccess)
	a.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppSWm))
	a.NewAVP(AVPAuthRequestType, avp.Mbit, 0, datatype.Enumerated(AuthRequestAuthorizeOnly))
	if apn != "" {
		a.NewAVP(AVPServiceSelection, avp.Mbit, 0, datatype.UTF8String(apn))
	}
	a.NewAVP(AVPSessionTimeout, avp.Mbit, 0, datatype.Unsigned32(uint32(live.Expires.Sub(now)/time.Second)))
	return a
}

// Terminate ends a session at its gateway with an Abort-Session-Request
// (RFC 6733 8.5): a session.Terminator for front end "diameter".
func (s *Server) Terminate(ctx context.Context, sess session.Session) (bool, error) {
	if sess.SessionID == "" || sess.Client == "" {
		return false, errors.New("eapfront: the session has no Session-Id or gateway")
	}
	app := sess.Application
	if app == 0 {
		app = AppSTa
	}
	req := s.t.NewRequestInSession(CmdAbortSession, app, sess.SessionID, sess.Realm, sess.Client)
	req.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app))
	if sess.UserName != "" {
		req.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(sess.UserName))
	}
	s.Stats.ASRSent.Add(1)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	ans, err := s.t.Request(ctx, req)
	if err != nil {
		return false, fmt.Errorf("eapfront: ASR to %s: %w", sess.Client, err)
	}
	a, err := ans.FindAVP(avp.ResultCode, 0)
	if err != nil {
		return false, fmt.Errorf("eapfront: ASA from %s without Result-Code", sess.Client)
	}
	code, _ := a.Data.(datatype.Unsigned32)
	if uint32(code) == resultSuccess {
		s.Stats.ASRAcked.Add(1)
		return true, nil
	}
	return false, nil
}

// sweepLocked drops expired Session-Ids.
func (s *Server) sweepLocked(now time.Time) {
	for k, e := range s.sessions {
		if !now.Before(e.expires) {
			delete(s.sessions, k)
		}
	}
}

// Sweep drops expired Session-Ids and kept answers; Run calls it.
func (s *Server) Sweep() {
	now := s.cfg.Now()
	s.mu.Lock()
	s.sweepLocked(now)
	s.expireDupsLocked(now)
	s.mu.Unlock()
}

// Run sweeps every period until ctx ends.
func (s *Server) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// str returns a string AVP's value.
func str(m *diam.Message, code, vendor uint32) string {
	a, err := m.FindAVP(code, vendor)
	if err != nil || a == nil {
		return ""
	}
	switch v := a.Data.(type) {
	case datatype.UTF8String:
		return string(v)
	case datatype.DiameterIdentity:
		return string(v)
	case datatype.OctetString:
		return string(v)
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// secretOctets is an OctetString that prints as REDACTED: the MSK in a DEA
// must not reach a log through a message's String.
type secretOctets []byte

func (s secretOctets) Serialize() []byte     { return datatype.OctetString(s).Serialize() }
func (s secretOctets) Len() int              { return len(s) }
func (s secretOctets) Padding() int          { return datatype.OctetString(s).Padding() }
func (s secretOctets) Type() datatype.TypeID { return datatype.OctetStringType }
func (s secretOctets) String() string        { return "REDACTED" }
func (s secretOctets) GoString() string      { return "REDACTED" }
