package swx

import (
	"context"
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

	"github.com/aaa-project/aaa/aka"
)

// AuC makes vectors; hss.Local is one. For EAP-AKA' (networkName set) the
// vector it returns holds CK'/IK' (Prime), with the AMF separation bit.
type AuC interface {
	Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error)
	Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error)
}

// ProfileSource gives a subscriber's non-3GPP profile; for an IMSI it does
// not know it returns aka.ErrUnknownSubscriber.
type ProfileSource interface {
	Profile(ctx context.Context, imsi string) (Profile, error)
}

// ServerConfig configures the built-in HSS's side of SWx.
type ServerConfig struct {
	// AuC makes the vectors (required).
	AuC AuC
	// Profiles gives each subscriber's profile; nil allows every
	// subscriber the AuC knows, with the zero Profile.
	Profiles ProfileSource
	// MaxVectors caps the SIP-Number-Auth-Items honoured: 5 when 0.
	MaxVectors int
	// RequestTimeout bounds each RTR: 2 seconds when 0.
	RequestTimeout time.Duration
	// Logger; zap.NewNop when nil.
	Logger *zap.Logger
	// PeerOf, when set, names the peer a request came from (its
	// connection's Origin-Host, and whether it relays): a SAR from a
	// peer that does not relay must carry that peer's own Origin-Host,
	// so that one AAA node cannot register or deregister users for
	// another.
	PeerOf func(ctx context.Context) (host string, relay, ok bool)
}

// Server is the HSS's side of SWx: it answers MAR with vectors from the
// AuC and SAR with the subscriber's profile, keeps which AAA server
// registered each subscriber, and deregisters them (RTR).
type Server struct {
	t        Transport
	auc      AuC
	profiles ProfileSource
	peerOf   func(ctx context.Context) (host string, relay, ok bool)
	max      int
	timeout  time.Duration
	log      *zap.Logger

	mu   sync.Mutex
	subs map[string]*hssSub

	stats serverCounters
}

// hssSub is what the server keeps of a subscriber: entries exist only for
// subscribers an MAA carried vectors for or the profile source knows.
type hssSub struct {
	authenticated bool   // an MAA carried vectors for it
	host, realm   string // the AAA server registered; "" when none
}

// DeregisterResult is the outcome of an RTR.
type DeregisterResult struct {
	// Peer is the AAA server the RTR went to (its Origin-Host in the
	// SAR that registered it).
	Peer string
	// ResultCode is the RTA's Result-Code, or its Experimental-Result-Code.
	ResultCode uint32
}

// NewServer returns the SWx server over t.
func NewServer(t Transport, cfg ServerConfig) (*Server, error) {
	if t == nil {
		return nil, errors.New("swx: no transport")
	}
	if cfg.AuC == nil {
		return nil, errors.New("swx: no AuC")
	}
	if cfg.MaxVectors < 0 || cfg.MaxVectors > maxAuthItems {
		return nil, fmt.Errorf("swx: max vectors must be 1 to %d", maxAuthItems)
	}
	if cfg.MaxVectors == 0 {
		cfg.MaxVectors = 5
	}
	if cfg.RequestTimeout < 0 {
		return nil, errors.New("swx: negative request timeout")
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Server{
		t: t, auc: cfg.AuC, profiles: cfg.Profiles, max: cfg.MaxVectors, peerOf: cfg.PeerOf,
		timeout: cfg.RequestTimeout, log: cfg.Logger,
		subs: make(map[string]*hssSub),
	}, nil
}

// ServeDiameter answers MAR and SAR; anything else is
// DIAMETER_COMMAND_UNSUPPORTED. An answer that reaches it gets nothing.
func (s *Server) ServeDiameter(ctx context.Context, req *diam.Message) *diam.Message {
	if !isRequest(req) {
		return nil
	}
	switch req.Header.CommandCode {
	case CmdMultimediaAuth:
		return s.serveMAR(ctx, req)
	case CmdServerAssignment:
		return s.serveSAR(ctx, req)
	}
	return answer(s.t, req, ResultCommandUnsupported)
}

// serveMAR answers an authentication request (TS 29.273 8.1.2.1,
// 8.2.2.1).
func (s *Server) serveMAR(ctx context.Context, req *diam.Message) *diam.Message {
	s.stats.marReceived.Add(1)
	imsi := userName(req)
	if imsi == "" {
		return missing(s.t, req, diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("")))
	}
	itemAVP := find(req.AVP, AVPSIPAuthDataItem, Vendor3GPP)
	item, ok := grouped(itemAVP)
	if !ok {
		return missing(s.t, req, diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(SchemeEAPAKAPrime)),
		}}))
	}
	scheme, ok := str(find(item.AVP, AVPSIPAuthScheme, Vendor3GPP))
	if !ok {
		return missing(s.t, req, diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(SchemeEAPAKAPrime)),
		}}))
	}
	var networkName string
	switch {
	case strings.EqualFold(scheme, SchemeEAPAKAPrime):
		scheme = SchemeEAPAKAPrime
		// ANID is conditional: present for EAP-AKA' (TS 29.273
		// 8.1.2.1.1); a missing conditional AVP is DIAMETER_MISSING_AVP.
		anid, ok := str(find(req.AVP, AVPANID, Vendor3GPP))
		if !ok || anid == "" {
			return missing(s.t, req, diam.NewAVP(AVPANID, mv, Vendor3GPP, datatype.UTF8String("")))
		}
		networkName = anid
	case strings.EqualFold(scheme, SchemeEAPAKA):
		scheme = SchemeEAPAKA
	default:
		s.stats.maaFailed.Add(1)
		return experimental(s.t, req, ExpAuthSchemeNotSupported)
	}
	n := 1
	if a := find(req.AVP, AVPSIPNumberAuthItems, Vendor3GPP); a != nil {
		v, ok := u32(a)
		if !ok {
			return invalid(s.t, req, diam.NewAVP(AVPSIPNumberAuthItems, mv, Vendor3GPP, datatype.Unsigned32(0)))
		}
		n = int(min(max(v, 1), uint32(s.max)))
	}
	var resync []byte
	if a := find(item.AVP, AVPSIPAuthorization, Vendor3GPP); a != nil {
		b, ok := octets(a)
		if !ok || len(b) != aka.RANDLen+aka.AUTSLen {
			return invalid(s.t, req, diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
				diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, datatype.OctetString(b)),
			}}))
		}
		resync, n = b, 1
	}
	if s.profiles != nil {
		p, err := s.profiles.Profile(ctx, imsi)
		if err != nil {
			return s.aucFailure(req, imsi, err)
		}
		if p.Barred {
			s.stats.maaFailed.Add(1)
			return experimental(s.t, req, ExpUserNoNon3GPPSubscription)
		}
	}

	vs := make([]aka.Vector, 0, n)
	defer func() {
		for i := range vs {
			vs[i].Clear()
		}
	}()
	if resync != nil {
		var r [aka.RANDLen]byte
		var a [aka.AUTSLen]byte
		copy(r[:], resync[:aka.RANDLen])
		copy(a[:], resync[aka.RANDLen:])
		v, err := s.auc.Resync(ctx, imsi, networkName, &r, &a)
		if errors.Is(err, aka.ErrAUTSInvalid) {
			// TS 33.102 6.3.5: MAC-S does not verify, so SQN_HE is not
			// reset, and vectors are sent all the same.
			s.stats.autsInvalid.Add(1)
			v, err = s.auc.Vector(ctx, imsi, networkName)
		}
		if err != nil {
			v.Clear()
			return s.aucFailure(req, imsi, err)
		}
		vs = append(vs, v)
	} else {
		for len(vs) < n {
			v, err := s.auc.Vector(ctx, imsi, networkName)
			if err != nil {
				v.Clear()
				if len(vs) > 0 {
					break // answer with those we have
				}
				return s.aucFailure(req, imsi, err)
			}
			vs = append(vs, v)
		}
	}
	for i := range vs {
		switch {
		case networkName != "" && !vs[i].Prime:
			if err := vs[i].ToPrime([]byte(networkName)); err != nil {
				return s.aucFailure(req, imsi, err)
			}
		case networkName == "" && vs[i].Prime:
			return s.aucFailure(req, imsi, errors.New("AuC gave CK'/IK' for EAP-AKA"))
		}
	}

	s.mu.Lock()
	sub := s.subs[imsi]
	if sub == nil {
		sub = &hssSub{}
		s.subs[imsi] = sub
	}
	sub.authenticated = true
	s.mu.Unlock()

	ans := answer(s.t, req, ResultSuccess)
	if ans == nil {
		return nil
	}
	ans.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	ans.AddAVP(diam.NewAVP(AVPSIPNumberAuthItems, mv, Vendor3GPP, datatype.Unsigned32(len(vs))))
	for i := range vs {
		v := &vs[i]
		authenticate := make([]byte, 0, aka.RANDLen+aka.AUTNLen)
		authenticate = append(append(authenticate, v.RAND[:]...), v.AUTN[:]...)
		ans.AddAVP(diam.NewAVP(AVPSIPAuthDataItem, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPSIPItemNumber, mv, Vendor3GPP, datatype.Unsigned32(i+1)),
			diam.NewAVP(AVPSIPAuthScheme, mv, Vendor3GPP, datatype.UTF8String(scheme)),
			diam.NewAVP(AVPSIPAuthenticate, mv, Vendor3GPP, datatype.OctetString(authenticate)),
			diam.NewAVP(AVPSIPAuthorization, mv, Vendor3GPP, secret(append([]byte(nil), v.Res()...))),
			diam.NewAVP(AVPConfidentialityKey, mv, Vendor3GPP, secret(append([]byte(nil), v.CK[:]...))),
			diam.NewAVP(AVPIntegrityKey, mv, Vendor3GPP, secret(append([]byte(nil), v.IK[:]...))),
		}}))
	}
	s.stats.maaSuccess.Add(1)
	s.stats.vectorsSent.Add(uint64(len(vs)))
	return ans
}

// aucFailure answers an MAR or SAR the AuC or profile source refused.
func (s *Server) aucFailure(req *diam.Message, imsi string, err error) *diam.Message {
	s.stats.maaFailed.Add(1)
	switch {
	case errors.Is(err, aka.ErrUnknownSubscriber):
		return experimental(s.t, req, ExpUserUnknown)
	case errors.Is(err, aka.ErrVectorRate):
		return experimental(s.t, req, ExpAuthenticationDataUnavailable)
	case errors.Is(err, aka.ErrNotAuthorized):
		return experimental(s.t, req, ExpUserNoNon3GPPSubscription)
	case errors.Is(err, aka.ErrNetworkNameTooLong):
		return invalid(s.t, req, diam.NewAVP(AVPANID, mv, Vendor3GPP, datatype.UTF8String("")))
	}
	s.log.Warn("swx: AuC failed", zap.String("imsi", MaskIMSI(imsi)), zap.Error(err))
	// DIAMETER_TOO_BUSY: the AAA server tries another HSS (RFC 6733
	// 7.1.3) rather than taking a fault of this one's store for an
	// answer about the subscriber.
	return answer(s.t, req, ResultTooBusy)
}

// serveSAR answers a registration or deregistration (TS 29.273 8.1.2.2.2,
// 8.2.2.3).
func (s *Server) serveSAR(ctx context.Context, req *diam.Message) *diam.Message {
	s.stats.sarReceived.Add(1)
	imsi := userName(req)
	if imsi == "" {
		return missing(s.t, req, diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String("")))
	}
	typ, ok := u32(find(req.AVP, AVPServerAssignType, Vendor3GPP))
	if !ok {
		return missing(s.t, req, diam.NewAVP(AVPServerAssignType, mv, Vendor3GPP, datatype.Enumerated(ServerAssignmentRegistration)))
	}
	host, _ := str(find(req.AVP, avp.OriginHost, 0))
	realm, _ := str(find(req.AVP, avp.OriginRealm, 0))
	if host == "" || realm == "" {
		return missing(s.t, req, diam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("")))
	}
	if s.peerOf != nil {
		if peer, relay, ok := s.peerOf(ctx); ok && !relay && peer != host {
			// Not an answer about the subscriber: a node that claims
			// another's name is misconfigured or an impostor.
			s.stats.refusedOrigin.Add(1)
			s.log.Warn("swx: SAR naming another host than its peer", zap.String("peer", peer), zap.String("origin_host", host))
			return answer(s.t, req, ResultUnableToComply)
		}
	}

	// Is it a subscriber we know?
	var p Profile
	if s.profiles != nil {
		var err error
		if p, err = s.profiles.Profile(ctx, imsi); err != nil {
			return s.aucFailure(req, imsi, err)
		}
	} else {
		s.mu.Lock()
		sub := s.subs[imsi]
		known := sub != nil && sub.authenticated
		s.mu.Unlock()
		if !known {
			return experimental(s.t, req, ExpUserUnknown)
		}
	}

	switch typ {
	case ServerAssignmentRegistration, ServerAssignmentAAAUserDataRequest:
		if typ == ServerAssignmentRegistration {
			s.mu.Lock()
			sub := s.subs[imsi]
			if sub == nil {
				sub = &hssSub{}
				s.subs[imsi] = sub
			}
			if sub.host != "" && sub.host != host {
				s.log.Info("swx: another AAA server registers the user",
					zap.String("imsi", MaskIMSI(imsi)), zap.String("was", sub.host), zap.String("now", host))
			}
			sub.host, sub.realm = host, realm
			s.mu.Unlock()
			s.stats.registrations.Add(1)
		}
		ans := answer(s.t, req, ResultSuccess)
		if ans == nil {
			return nil
		}
		ans.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
		ans.AddAVP(encodeProfile(p))
		return ans
	case ServerAssignmentUserDeregistration, 4 /* TIMEOUT_DEREGISTRATION */, 8 /* ADMINISTRATIVE_DEREGISTRATION */ :
		s.mu.Lock()
		if sub := s.subs[imsi]; sub != nil && (sub.host == host || sub.host == "") {
			sub.host, sub.realm = "", ""
		}
		s.mu.Unlock()
		ans := answer(s.t, req, ResultSuccess)
		if ans != nil {
			ans.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
		}
		return ans
	}
	return experimental(s.t, req, ExpInAssignmentType)
}

// Registration returns the AAA server registered for imsi.
func (s *Server) Registration(imsi string) (host, realm string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[imsi]; sub != nil && sub.host != "" {
		return sub.host, sub.realm, true
	}
	return "", "", false
}

// Deregister deregisters imsi from the AAA server that registered it (RTR
// with Deregistration-Reason PERMANENT_TERMINATION, TS 29.273 8.1.2.2.3);
// the registration goes when the RTA succeeds. ErrNotRegistered when no
// AAA server registered imsi.
func (s *Server) Deregister(ctx context.Context, imsi string) (DeregisterResult, error) {
	host, realm, ok := s.Registration(imsi)
	if !ok {
		return DeregisterResult{}, ErrNotRegistered
	}
	res := DeregisterResult{Peer: host}
	req := s.t.NewRequest(CmdRegistrationTermination, AppID, realm, host)
	if req == nil || req.Header == nil {
		return res, errors.New("swx: RTR: transport built no request")
	}
	appAVPs(req)
	req.AddAVP(diam.NewAVP(AVPUserName, avp.Mbit, 0, datatype.UTF8String(imsi)))
	req.AddAVP(diam.NewAVP(AVPDeregReason, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPReasonCode, mv, Vendor3GPP, datatype.Enumerated(ReasonCodePermanentTermination)),
	}}))
	s.stats.rtrSent.Add(1)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ans, err := s.t.Request(ctx, req)
	if err != nil {
		return res, fmt.Errorf("swx: RTR: %w", err)
	}
	if ans == nil || ans.Header == nil || ans.Header.CommandFlags&diam.RequestFlag != 0 || ans.Header.CommandCode != CmdRegistrationTermination {
		return res, errors.New("swx: RTR: not an answer to the request")
	}
	code, _, ok := result(ans)
	if !ok {
		return res, errors.New("swx: RTA without a result")
	}
	res.ResultCode = code
	if code == ResultSuccess {
		s.stats.rtaSuccess.Add(1)
		s.mu.Lock()
		if sub := s.subs[imsi]; sub != nil && sub.host == host {
			sub.host, sub.realm = "", ""
		}
		s.mu.Unlock()
	}
	return res, nil
}

// ServerStats counts what the server did.
type ServerStats struct {
	MARReceived, MAASuccess, MAAFailed, VectorsSent, AUTSInvalid uint64
	SARReceived, Registrations                                   uint64
	RTRSent, RTASuccess                                          uint64
	RefusedOrigin                                                uint64 // SARs naming another host than their peer
}

type serverCounters struct {
	refusedOrigin                                                atomic.Uint64
	marReceived, maaSuccess, maaFailed, vectorsSent, autsInvalid atomic.Uint64
	sarReceived, registrations, rtrSent, rtaSuccess              atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() ServerStats {
	c := &s.stats
	return ServerStats{
		MARReceived: c.marReceived.Load(), MAASuccess: c.maaSuccess.Load(), MAAFailed: c.maaFailed.Load(),
		VectorsSent: c.vectorsSent.Load(), AUTSInvalid: c.autsInvalid.Load(),
		SARReceived: c.sarReceived.Load(), Registrations: c.registrations.Load(),
		RTRSent: c.rtrSent.Load(), RTASuccess: c.rtaSuccess.Load(),
		RefusedOrigin: c.refusedOrigin.Load(),
	}
}
