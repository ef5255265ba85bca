// Package eapfront is the Diameter EAP front end (RFC 4072): trusted WLAN
// access gateways (STa, TS 29.273 section 5) and ePDGs (SWm, section 7)
// send EAP in DER and get it back in DEA, with the MSK on success. It
// drives the same eap.Server the RADIUS front end does and has no EAP
// logic of its own.
package eapfront

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// Applications and commands.
const (
	AppDiameterEAP = 5        // RFC 4072
	AppSTa         = 16777250 // TS 29.273 5
	AppSWm         = 16777264 // TS 29.273 7
	Vendor3GPP     = 10415

	CmdDiameterEAP        = 268 // DER/DEA
	CmdAA                 = 265 // AAR/AAA (SWm authorization)
	CmdAbortSession       = 274 // ASR/ASA
	CmdSessionTermination = 275 // STR/STA
)

// AVP codes (RFC 6733, RFC 4072, RFC 5778/5779, TS 29.273, TS 29.212).
const (
	AVPUserName             = 1
	AVPState                = 24
	AVPSessionTimeout       = 27
	AVPEAPKeyName           = 102
	AVPSessionID            = 263
	AVPAuthApplicationID    = 258
	AVPMultiRoundTimeOut    = 272
	AVPAuthRequestType      = 274
	AVPAuthSessionState     = 277
	AVPTerminationCause     = 295
	AVPEAPPayload           = 462
	AVPEAPReissuedPayload   = 463
	AVPEAPMasterSessionKey  = 464
	AVPServiceSelection     = 493
	AVPMobileNodeIdentifier = 506
	AVPRATType              = 1032 // vendor 10415
	AVPNon3GPPIPAccess      = 1501 // vendor 10415
	AVPNon3GPPIPAccessAPN   = 1502 // vendor 10415
	AVPANTrusted            = 1503 // vendor 10415
	AVPANID                 = 1504 // vendor 10415

	AuthRequestAuthenticateOnly      = 1
	AuthRequestAuthorizeAuthenticate = 3
	AuthRequestAuthorizeOnly         = 2

	ResultMultiRoundAuth = 1001
)

//go:embed dict.xml
var dictXML []byte

var loadMu sync.Mutex

// LoadDictionary adds Diameter EAP, STa and SWm to p (once; later calls
// do nothing). Call it before any traffic.
func LoadDictionary(p *dict.Parser) error {
	loadMu.Lock()
	defer loadMu.Unlock()
	if _, err := p.FindCommand(AppSTa, CmdDiameterEAP); err == nil {
		if a, err := p.FindAVPByCode(AppSTa, AVPANID, Vendor3GPP); err == nil && a != nil {
			return nil
		}
	}
	if err := p.Load(bytes.NewReader(dictXML)); err != nil {
		return fmt.Errorf("eapfront: dictionary: %w", err)
	}
	return nil
}
