// Package swx is the SWx application (3GPP TS 29.273 clause 8) on both of
// its sides: the Client is the 3GPP AAA server's (Multimedia-Auth and
// Server-Assignment requests to the HSS; Registration-Termination and
// Push-Profile requests from it), the Server is the built-in HSS's (it
// answers MAR and SAR over an AuC such as hss.Local, and sends RTR).
//
// The package does not know the Diameter base: it declares what it needs
// of it (Transport) and serves the requests the base hands it
// (ServeDiameter), so that cmd/aaad wires the two. Nor does it import eap
// or hss: Client implements the EAP layer's VectorSource and Registrar with
// aka types only, and Server takes any AuC with hss.Local's methods.
//
// Choices where TS 29.273 leaves room, or where this package departs from a
// full HSS:
//
//   - A resynchronisation whose AUTS does not verify: TS 29.273 8.1.2.1
//     defers to TS 33.102 6.3.5, where the HE/AuC that cannot verify MAC-S
//     does not reset its SQN and still sends a new batch of vectors (steps
//     4 to 6). There is no result code for it, so the Client cannot tell
//     such an answer apart (aka.ErrAUTSInvalid never comes from SWx), and
//     the Server does the same: it answers DIAMETER_SUCCESS with a fresh
//     vector drawn without the resynchronisation. The USIM then refuses
//     that challenge too, and the EAP layer's one-resynchronisation rule
//     ends the conversation.
//   - The Server registers (SAR REGISTRATION) only subscribers it knows:
//     through ServerConfig.Profiles when set, otherwise only an IMSI for
//     which one of its MAAs carried vectors, so its registrations are
//     bounded by the subscriber count.
//   - The Client answers every RTR for a User-Name with DIAMETER_SUCCESS,
//     registered here or not (the registration may have been evicted, and
//     the user's sessions must end all the same), and a PPR for an IMSI
//     that is not registered here with DIAMETER_ERROR_USER_UNKNOWN (when
//     that PPR bars the user, its sessions are ended all the same).
//   - Messages carry keys as go-diameter values: an MAA the Server builds
//     prints CK, IK and XRES redacted, but a decoded MAA holds them as
//     datatype.OctetString, which prints them: never log SWx messages.
package swx

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/session"
)

// Transport is what swx needs of the Diameter base (the base package's
// *Node satisfies it).
type Transport interface {
	// NewRequest returns a request with the Proxiable bit set and, in this
	// order: Session-Id (new), Origin-Host, Origin-Realm,
	// Destination-Realm, and Destination-Host when destHost != "".
	NewRequest(cmd, appID uint32, destRealm, destHost string) *diam.Message
	// Request sends req and returns its answer (matched by hop-by-hop
	// id); it fails over to another peer when a connection is lost; an
	// error when no peer is open or ctx ends.
	Request(ctx context.Context, req *diam.Message) (*diam.Message, error)
	// Answer returns the answer skeleton to req: same command,
	// application, hop-by-hop and end-to-end ids, Session-Id copied
	// first, Origin-Host, Origin-Realm, and Result-Code when
	// resultCode != 0.
	Answer(req *diam.Message, resultCode uint32) *diam.Message
	// Identity is this node's Origin-Host and Origin-Realm.
	Identity() (host, realm string)
}

// The SWx application (TS 29.273 8.2.1, 8.2.2).
const (
	AppID      uint32 = 16777265
	Vendor3GPP uint32 = 10415

	CmdServerAssignment        uint32 = 301 // SAR/SAA, TS 29.273 8.2.2.3
	CmdMultimediaAuth          uint32 = 303 // MAR/MAA, TS 29.273 8.2.2.1
	CmdRegistrationTermination uint32 = 304 // RTR/RTA, TS 29.273 8.2.2.4
	CmdPushProfile             uint32 = 305 // PPR/PPA, TS 29.273 8.2.2.2
)

// AVP codes. Base and IETF AVPs (vendor 0) carry the M bit only; the 3GPP
// ones (vendor 10415) carry V, and M where TS 29.273 table 8.2.3.0/1, TS
// 29.229 table 6.3.1 or TS 29.272 table 7.3.1/1 say "must".
const (
	AVPUserName                    uint32 = 1   // RFC 6733, UTF8String, M
	AVPSessionTimeout              uint32 = 27  // RFC 6733, Unsigned32, M
	AVPAuthApplicationID           uint32 = 258 // RFC 6733, Unsigned32, M
	AVPVendorSpecificApplicationID uint32 = 260 // RFC 6733, Grouped, M
	AVPVendorID                    uint32 = 266 // RFC 6733, Unsigned32, M
	AVPResultCode                  uint32 = 268 // RFC 6733, Unsigned32, M
	AVPAuthSessionState            uint32 = 277 // RFC 6733, Enumerated, M
	AVPFailedAVP                   uint32 = 279 // RFC 6733, Grouped, M
	AVPExperimentalResult          uint32 = 297 // RFC 6733, Grouped, M
	AVPExperimentalResultCode      uint32 = 298 // RFC 6733, Unsigned32, M
	AVPSubscriptionID              uint32 = 443 // RFC 4006, Grouped, M
	AVPSubscriptionIDData          uint32 = 444 // RFC 4006, UTF8String, M
	AVPSubscriptionIDType          uint32 = 450 // RFC 4006, Enumerated, M
	AVPServiceSelection            uint32 = 493 // RFC 5778, UTF8String, M

	AVP3GPPAAAServerName  uint32 = 318  // TS 29.273 8.2.3.24, DiameterIdentity, M,V
	AVPSIPNumberAuthItems uint32 = 607  // TS 29.229 6.3.8, Unsigned32, M,V
	AVPSIPAuthScheme      uint32 = 608  // TS 29.229 6.3.9, UTF8String, M,V
	AVPSIPAuthenticate    uint32 = 609  // TS 29.229 6.3.10, OctetString, M,V
	AVPSIPAuthorization   uint32 = 610  // TS 29.229 6.3.11, OctetString, M,V
	AVPSIPAuthDataItem    uint32 = 612  // TS 29.229 6.3.13, Grouped, M,V
	AVPSIPItemNumber      uint32 = 613  // TS 29.229 6.3.14, Unsigned32, M,V
	AVPServerAssignType   uint32 = 614  // TS 29.229 6.3.15, Enumerated, M,V
	AVPDeregReason        uint32 = 615  // TS 29.229 6.3.16, Grouped, M,V
	AVPReasonCode         uint32 = 616  // TS 29.229 6.3.17, Enumerated, M,V
	AVPReasonInfo         uint32 = 617  // TS 29.229 6.3.18, UTF8String, M,V
	AVPConfidentialityKey uint32 = 625  // TS 29.229 6.3.27, OctetString, M,V
	AVPIntegrityKey       uint32 = 626  // TS 29.229 6.3.28, OctetString, M,V
	AVPRATType            uint32 = 1032 // TS 29.212 5.3.31, Enumerated, V (must not M)
	AVPContextIdentifier  uint32 = 1423 // TS 29.272 7.3.27, Unsigned32, M,V
	AVPAPNConfiguration   uint32 = 1430 // TS 29.272 7.3.35, Grouped, M,V
	AVPPDNType            uint32 = 1456 // TS 29.272 7.3.62, Enumerated, M,V
	AVPNon3GPPUserData    uint32 = 1500 // TS 29.273 8.2.3.1, Grouped, M,V
	AVPNon3GPPIPAccess    uint32 = 1501 // TS 29.273 8.2.3.3, Enumerated, M,V
	AVPNon3GPPIPAccessAPN uint32 = 1502 // TS 29.273 8.2.3.4, Enumerated, M,V
	AVPANID               uint32 = 1504 // TS 29.273 5.2.3.7, UTF8String, M,V
	AVPPPRFlags           uint32 = 1508 // TS 29.273 8.2.3.17, Unsigned32, V (must not M)
)

// mv is the M and V bits, for the 3GPP AVPs that must have both. The V bit
// is given, not left to diam.NewAVP to add: an AVP whose V bit NewAVP adds
// keeps a Length without the Vendor-Id, which u32 would refuse.
const mv = avp.Mbit | avp.Vbit

// Enumerated values and flags.
const (
	AuthSessionStateNoStateMaintained = 1 // RFC 6733 8.11

	RATTypeWLAN = 0 // TS 29.212 5.3.31

	ServerAssignmentRegistration              = 1      // TS 29.229 6.3.15
	ServerAssignmentUserDeregistration        = 5      // TS 29.229 6.3.15
	ServerAssignmentAAAUserDataRequest        = 12     // TS 29.229 6.3.15 (SWx)
	ReasonCodePermanentTermination            = 0      // TS 29.229 6.3.17
	Non3GPPSubscriptionAllowed                = 0      // TS 29.273 8.2.3.3
	Non3GPPSubscriptionBarred                 = 1      // TS 29.273 8.2.3.3
	Non3GPPAPNsEnable                         = 0      // TS 29.273 8.2.3.4
	Non3GPPAPNsDisable                        = 1      // TS 29.273 8.2.3.4
	SubscriptionIDTypeE164                    = 0      // RFC 4006 8.47
	PDNTypeIPv4v6                             = 2      // TS 29.272 7.3.62
	PPRFlagResetIndication             uint32 = 1 << 0 // TS 29.273 8.2.3.17 bit 0
)

// SIP-Authentication-Scheme values on SWx (TS 29.273 8.1.2.1).
const (
	SchemeEAPAKA      = "EAP-AKA"
	SchemeEAPAKAPrime = "EAP-AKA'"
)

// Result-Code values (RFC 6733 7.1).
const (
	ResultSuccess               uint32 = 2001
	ResultCommandUnsupported    uint32 = 3001 // protocol error: E bit
	ResultAuthorizationRejected uint32 = 5003
	ResultInvalidAVPValue       uint32 = 5004
	ResultMissingAVP            uint32 = 5005
	ResultUnableToComply        uint32 = 5012
	ResultTooBusy               uint32 = 3004
)

// Experimental-Result-Code values, vendor 10415.
const (
	ExpUserUnknown                   uint32 = 5001 // TS 29.229 6.2.2.1
	ExpIdentityNotRegistered         uint32 = 5003 // TS 29.229 6.2.2.3
	ExpRoamingNotAllowed             uint32 = 5004 // TS 29.229 6.2.2.4
	ExpAuthSchemeNotSupported        uint32 = 5006 // TS 29.229 6.2.2.6
	ExpInAssignmentType              uint32 = 5007 // TS 29.229 6.2.2.7
	ExpRATNotAllowed                 uint32 = 5421 // TS 29.272 7.4.3 (S6a; seen on SWx)
	ExpUserNoNon3GPPSubscription     uint32 = 5450 // TS 29.273 10.3
	ExpRATTypeNotAllowed             uint32 = 5452 // TS 29.273 10.3
	ExpAuthenticationDataUnavailable uint32 = 4181 // TS 29.272 7.4.4 (transient)
)

// ErrNotRegistered: Server.Deregister was asked for an IMSI that no AAA
// server has registered.
var ErrNotRegistered = errors.New("swx: no AAA server registered for the IMSI")

//go:embed dict.xml
var dictXML []byte

var dictMu sync.Mutex

// LoadDictionary adds to p what its SWx application lacks (the default
// dictionary has no Push-Profile command nor PPR-Flags). It may be called
// more than once: a parser that already knows PPR is left alone. Like
// every dict.Parser load it must not run while p decodes messages: call it
// before the Diameter node starts.
func LoadDictionary(p *dict.Parser) error {
	if p == nil {
		return errors.New("swx: no dictionary")
	}
	dictMu.Lock()
	defer dictMu.Unlock()
	if _, err := p.FindCommand(AppID, CmdPushProfile); err == nil {
		return nil
	}
	if err := p.Load(bytes.NewReader(dictXML)); err != nil {
		return fmt.Errorf("swx: dictionary: %w", err)
	}
	return nil
}

// Profile is what the AAA server keeps of a subscriber's non-3GPP profile
// (Non-3GPP-User-Data, TS 29.273 8.2.3.1). The zero Profile allows access.
type Profile struct {
	// Barred: Non-3GPP-IP-Access is NON_3GPP_SUBSCRIPTION_BARRED.
	Barred bool
	// APNsDisabled: Non-3GPP-IP-Access-APN is NON_3GPP_APNS_DISABLE.
	APNsDisabled bool
	// APNs are the Service-Selection of each APN-Configuration.
	APNs []string
	// MSISDN is the Subscription-Id of type END_USER_E164, if any.
	MSISDN string
}

// Clone returns a copy that shares nothing with p.
func (p Profile) Clone() Profile {
	p.APNs = append([]string(nil), p.APNs...)
	return p
}

// Bounds on what a peer may make us keep.
const (
	maxAPNs      = 64
	maxNameLen   = 255 // APN names, MSISDN
	maxUserName  = 128
	maxAuthItems = 32
)

// profileUpdate is a decoded Non-3GPP-User-Data: which fields it carried.
type profileUpdate struct {
	p                          Profile
	hasAccess, hasAPN, hasAPNs bool
	hasMSISDN                  bool
}

// apply merges u into p: the fields u carries replace p's.
func (u *profileUpdate) apply(p *Profile) {
	if u.hasAccess {
		p.Barred = u.p.Barred
	}
	if u.hasAPN {
		p.APNsDisabled = u.p.APNsDisabled
	}
	if u.hasAPNs {
		p.APNs = append([]string(nil), u.p.APNs...)
	}
	if u.hasMSISDN {
		p.MSISDN = u.p.MSISDN
	}
}

// decodeProfile reads a Non-3GPP-User-Data AVP.
func decodeProfile(a *diam.AVP) (profileUpdate, error) {
	var u profileUpdate
	g, ok := grouped(a)
	if !ok {
		return u, errors.New("Non-3GPP-User-Data is not grouped")
	}
	for _, in := range g.AVP {
		if in == nil {
			continue
		}
		switch {
		case in.Code == AVPNon3GPPIPAccess && in.VendorID == Vendor3GPP:
			v, ok := u32(in)
			if !ok || u.hasAccess {
				return u, errors.New("bad Non-3GPP-IP-Access")
			}
			// Any value but ALLOWED bars: a value we do not know must
			// not open access.
			u.p.Barred, u.hasAccess = v != Non3GPPSubscriptionAllowed, true
		case in.Code == AVPNon3GPPIPAccessAPN && in.VendorID == Vendor3GPP:
			v, ok := u32(in)
			if !ok || u.hasAPN {
				return u, errors.New("bad Non-3GPP-IP-Access-APN")
			}
			u.p.APNsDisabled, u.hasAPN = v != Non3GPPAPNsEnable, true
		case in.Code == AVPSubscriptionID && in.VendorID == 0:
			sg, ok := grouped(in)
			if !ok {
				return u, errors.New("bad Subscription-Id")
			}
			typ, data := int64(-1), ""
			for _, s := range sg.AVP {
				if s == nil || s.VendorID != 0 {
					continue
				}
				switch s.Code {
				case AVPSubscriptionIDType:
					if v, ok := u32(s); ok {
						typ = int64(v)
					}
				case AVPSubscriptionIDData:
					b, ok := octets(s)
					if !ok || len(b) > maxNameLen {
						return u, errors.New("bad Subscription-Id-Data")
					}
					data = string(b)
				}
			}
			if typ == SubscriptionIDTypeE164 && data != "" {
				u.p.MSISDN, u.hasMSISDN = data, true
			}
		case in.Code == AVPAPNConfiguration && in.VendorID == Vendor3GPP:
			ag, ok := grouped(in)
			if !ok {
				return u, errors.New("bad APN-Configuration")
			}
			u.hasAPNs = true
			for _, s := range ag.AVP {
				if s == nil || s.Code != AVPServiceSelection || s.VendorID != 0 {
					continue
				}
				b, ok := octets(s)
				if !ok || len(b) > maxNameLen {
					return u, errors.New("bad Service-Selection")
				}
				if len(u.p.APNs) < maxAPNs {
					u.p.APNs = append(u.p.APNs, string(b))
				}
			}
		}
	}
	return u, nil
}

// encodeProfile builds Non-3GPP-User-Data for p: Subscription-Id when
// there is an MSISDN, Non-3GPP-IP-Access, Non-3GPP-IP-Access-APN and, per
// APN, a minimal APN-Configuration (Context-Identifier, PDN-Type IPv4v6,
// Service-Selection) with the first as the default context.
func encodeProfile(p Profile) *diam.AVP {
	g := &diam.GroupedAVP{}
	if p.MSISDN != "" {
		g.AddAVP(diam.NewAVP(AVPSubscriptionID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPSubscriptionIDType, avp.Mbit, 0, datatype.Enumerated(SubscriptionIDTypeE164)),
			diam.NewAVP(AVPSubscriptionIDData, avp.Mbit, 0, datatype.UTF8String(p.MSISDN)),
		}}))
	}
	access := datatype.Enumerated(Non3GPPSubscriptionAllowed)
	if p.Barred {
		access = Non3GPPSubscriptionBarred
	}
	g.AddAVP(diam.NewAVP(AVPNon3GPPIPAccess, mv, Vendor3GPP, access))
	apn := datatype.Enumerated(Non3GPPAPNsEnable)
	if p.APNsDisabled {
		apn = Non3GPPAPNsDisable
	}
	g.AddAVP(diam.NewAVP(AVPNon3GPPIPAccessAPN, mv, Vendor3GPP, apn))
	if len(p.APNs) > 0 {
		g.AddAVP(diam.NewAVP(AVPContextIdentifier, mv, Vendor3GPP, datatype.Unsigned32(1)))
	}
	for i, name := range p.APNs {
		if i == maxAPNs {
			break
		}
		g.AddAVP(diam.NewAVP(AVPAPNConfiguration, mv, Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(AVPContextIdentifier, mv, Vendor3GPP, datatype.Unsigned32(i+1)),
			diam.NewAVP(AVPPDNType, mv, Vendor3GPP, datatype.Enumerated(PDNTypeIPv4v6)),
			diam.NewAVP(AVPServiceSelection, avp.Mbit, 0, datatype.UTF8String(name)),
		}}))
	}
	return diam.NewAVP(AVPNon3GPPUserData, mv, Vendor3GPP, g)
}

// ResultError is an answer that did not succeed: its Result-Code, or its
// Experimental-Result-Code (Vendor set). Err, when set, is the aka sentinel
// the code means (aka.ErrUnknownSubscriber, aka.ErrNotAuthorized), so that
// errors.Is sees through it. Its text names the command and the code.
type ResultError struct {
	Command string // "MAA", "SAA", "RTA"
	Code    uint32
	Vendor  uint32 // 10415 for an Experimental-Result-Code, else 0
	Err     error
}

func (e *ResultError) Error() string {
	kind := "result-code"
	if e.Vendor != 0 {
		kind = "experimental-result"
	}
	if name := codeName(e.Code, e.Vendor != 0); name != "" {
		return fmt.Sprintf("swx: %s: %s %d (%s)", e.Command, kind, e.Code, name)
	}
	return fmt.Sprintf("swx: %s: %s %d", e.Command, kind, e.Code)
}

func (e *ResultError) Unwrap() error { return e.Err }

func codeName(code uint32, experimental bool) string {
	if experimental {
		switch code {
		case ExpUserUnknown:
			return "DIAMETER_ERROR_USER_UNKNOWN"
		case ExpIdentityNotRegistered:
			return "DIAMETER_ERROR_IDENTITY_NOT_REGISTERED"
		case ExpRoamingNotAllowed:
			return "DIAMETER_ERROR_ROAMING_NOT_ALLOWED"
		case ExpAuthSchemeNotSupported:
			return "DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED"
		case ExpInAssignmentType:
			return "DIAMETER_ERROR_IN_ASSIGNMENT_TYPE"
		case ExpRATNotAllowed:
			return "DIAMETER_ERROR_RAT_NOT_ALLOWED"
		case ExpUserNoNon3GPPSubscription:
			return "DIAMETER_ERROR_USER_NO_NON_3GPP_SUBSCRIPTION"
		case ExpRATTypeNotAllowed:
			return "DIAMETER_ERROR_RAT_TYPE_NOT_ALLOWED"
		case ExpAuthenticationDataUnavailable:
			return "DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE"
		}
		return ""
	}
	switch code {
	case ResultCommandUnsupported:
		return "DIAMETER_COMMAND_UNSUPPORTED"
	case 3002:
		return "DIAMETER_UNABLE_TO_DELIVER"
	case 3004:
		return "DIAMETER_TOO_BUSY"
	case ResultAuthorizationRejected:
		return "DIAMETER_AUTHORIZATION_REJECTED"
	case ResultInvalidAVPValue:
		return "DIAMETER_INVALID_AVP_VALUE"
	case ResultMissingAVP:
		return "DIAMETER_MISSING_AVP"
	case ResultUnableToComply:
		return "DIAMETER_UNABLE_TO_COMPLY"
	}
	return ""
}

// resultError maps an unsuccessful answer to an error: the codes that
// refuse the subscriber wrap the aka sentinels, everything else (among
// them DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE) is a plain error, which
// the EAP layer answers with silence.
func resultError(cmd string, code, vendor uint32) error {
	e := &ResultError{Command: cmd, Code: code, Vendor: vendor}
	if vendor != 0 {
		switch code {
		case ExpUserUnknown:
			e.Err = aka.ErrUnknownSubscriber
		case ExpUserNoNon3GPPSubscription, ExpRoamingNotAllowed, ExpAuthSchemeNotSupported,
			ExpRATTypeNotAllowed, ExpRATNotAllowed:
			e.Err = aka.ErrNotAuthorized
		}
	} else if code == ResultAuthorizationRejected {
		e.Err = aka.ErrNotAuthorized
	}
	return e
}

// result reads an answer's outcome: Result-Code (vendor 0) or
// Experimental-Result-Code with its Vendor-Id. ok is false when it has
// neither.
func result(m *diam.Message) (code, vendor uint32, ok bool) {
	if a := find(m.AVP, AVPResultCode, 0); a != nil {
		code, ok = u32(a)
		return code, 0, ok
	}
	g, isG := grouped(find(m.AVP, AVPExperimentalResult, 0))
	if !isG {
		return 0, 0, false
	}
	var haveCode bool
	for _, in := range g.AVP {
		if in == nil || in.VendorID != 0 {
			continue
		}
		switch in.Code {
		case AVPVendorID:
			vendor, _ = u32(in)
		case AVPExperimentalResultCode:
			code, haveCode = u32(in)
		}
	}
	if !haveCode {
		return 0, 0, false
	}
	if vendor == 0 {
		vendor = Vendor3GPP // a Vendor-Id of 0 would make it a Result-Code
	}
	return code, vendor, true
}

func isSuccess(code uint32) bool { return code >= 2000 && code < 3000 }

// find returns the first AVP of avps with code and vendor.
func find(avps []*diam.AVP, code, vendor uint32) *diam.AVP {
	for _, a := range avps {
		if a != nil && a.Code == code && a.VendorID == vendor {
			return a
		}
	}
	return nil
}

// count returns how many AVPs of avps have code and vendor.
func count(avps []*diam.AVP, code, vendor uint32) int {
	n := 0
	for _, a := range avps {
		if a != nil && a.Code == code && a.VendorID == vendor {
			n++
		}
	}
	return n
}

func grouped(a *diam.AVP) (*diam.GroupedAVP, bool) {
	if a == nil || a.Data == nil {
		return nil, false
	}
	g, ok := a.Data.(*diam.GroupedAVP)
	return g, ok && g != nil
}

// payloadLen is the length of a's value on the wire, when it was decoded
// (a.Length is the header and the value, without padding), or -1.
func payloadLen(a *diam.AVP) int {
	if a.Length <= 0 {
		return -1
	}
	h := 8
	if a.Flags&avp.Vbit != 0 {
		h = 12
	}
	return a.Length - h
}

// u32 reads an Unsigned32, Enumerated or Integer32 value. go-diameter
// decodes a 4-octet type of another length as 0; that would read a
// malformed Non-3GPP-IP-Access as ALLOWED, so the wire length is checked.
func u32(a *diam.AVP) (uint32, bool) {
	if a == nil || a.Data == nil {
		return 0, false
	}
	if n := payloadLen(a); n >= 0 && n != 4 {
		return 0, false
	}
	switch v := a.Data.(type) {
	case datatype.Unsigned32:
		return uint32(v), true
	case datatype.Enumerated:
		return uint32(v), true
	case datatype.Integer32:
		return uint32(v), true
	case datatype.Unknown:
		if len(v) == 4 {
			return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3]), true
		}
	}
	return 0, false
}

// octets reads an OctetString, UTF8String, DiameterIdentity or unknown
// value.
func octets(a *diam.AVP) ([]byte, bool) {
	if a == nil || a.Data == nil {
		return nil, false
	}
	switch v := a.Data.(type) {
	case datatype.OctetString:
		return []byte(v), true
	case datatype.UTF8String:
		return []byte(v), true
	case datatype.DiameterIdentity:
		return []byte(v), true
	case datatype.Unknown:
		return []byte(v), true
	case secret:
		return []byte(v), true
	}
	return nil, false
}

func str(a *diam.AVP) (string, bool) {
	b, ok := octets(a)
	return string(b), ok
}

// userName returns the request's User-Name, "" when it has none or a
// useless one.
func userName(m *diam.Message) string {
	s, ok := str(find(m.AVP, AVPUserName, 0))
	if !ok || len(s) > maxUserName || strings.ContainsAny(s, "\x00") {
		return ""
	}
	return s
}

// secret is an OctetString value that prints redacted, for the keys and
// XRES an MAA carries: a message logged with %v must not show them.
type secret []byte

func (s secret) Serialize() []byte          { return s }
func (s secret) Len() int                   { return len(s) }
func (s secret) Padding() int               { return (4 - len(s)&3) & 3 }
func (s secret) Type() datatype.TypeID      { return datatype.OctetStringType }
func (s secret) String() string             { return "OctetString{REDACTED}" }
func (s secret) GoString() string           { return s.String() }
func (s secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// appAVPs adds what every SWx message carries: Vendor-Specific-
// Application-Id {Vendor-Id 10415, Auth-Application-Id 16777265} and
// Auth-Session-State NO_STATE_MAINTAINED.
func appAVPs(m *diam.Message) {
	m.AddAVP(diam.NewAVP(AVPVendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPVendorID, avp.Mbit, 0, datatype.Unsigned32(Vendor3GPP)),
		diam.NewAVP(AVPAuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(AppID)),
	}}))
	m.AddAVP(diam.NewAVP(AVPAuthSessionState, avp.Mbit, 0, datatype.Enumerated(AuthSessionStateNoStateMaintained)))
}

// answer returns the answer to req with resultCode (0: none yet) and the
// SWx AVPs; a protocol error (3xxx) carries the E bit.
func answer(t Transport, req *diam.Message, resultCode uint32) *diam.Message {
	a := t.Answer(req, resultCode)
	if a == nil || a.Header == nil {
		return nil
	}
	// diam.NewMessage draws a random id for an id of 0: an answer must
	// carry the request's, whatever they are.
	a.Header.HopByHopID, a.Header.EndToEndID = req.Header.HopByHopID, req.Header.EndToEndID
	if resultCode >= 3000 && resultCode < 4000 {
		a.Header.CommandFlags |= diam.ErrorFlag
	}
	appAVPs(a)
	return a
}

// experimental returns the answer to req with an Experimental-Result.
func experimental(t Transport, req *diam.Message, code uint32) *diam.Message {
	a := answer(t, req, 0)
	if a == nil {
		return nil
	}
	a.AddAVP(diam.NewAVP(AVPExperimentalResult, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(AVPVendorID, avp.Mbit, 0, datatype.Unsigned32(Vendor3GPP)),
		diam.NewAVP(AVPExperimentalResultCode, avp.Mbit, 0, datatype.Unsigned32(code)),
	}}))
	return a
}

// missing answers DIAMETER_MISSING_AVP with Failed-AVP holding an example
// of what was missing (RFC 6733 7.5).
func missing(t Transport, req *diam.Message, failed *diam.AVP) *diam.Message {
	return failedAVP(t, req, ResultMissingAVP, failed)
}

// invalid answers DIAMETER_INVALID_AVP_VALUE with Failed-AVP.
func invalid(t Transport, req *diam.Message, failed *diam.AVP) *diam.Message {
	return failedAVP(t, req, ResultInvalidAVPValue, failed)
}

func failedAVP(t Transport, req *diam.Message, code uint32, failed *diam.AVP) *diam.Message {
	a := answer(t, req, code)
	if a == nil {
		return nil
	}
	a.AddAVP(diam.NewAVP(AVPFailedAVP, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{failed}}))
	return a
}

// isRequest reports whether m is a request of the SWx application.
func isRequest(m *diam.Message) bool {
	return m != nil && m.Header != nil && m.Header.CommandFlags&diam.RequestFlag != 0
}

// MaskIMSI keeps an IMSI out of info logs: session.MaskIMSI, so that
// every package masks alike and lines about one user, read together,
// show no more digits.
func MaskIMSI(imsi string) string { return session.MaskIMSI(imsi) }
