package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
)

// eapol_test (wpa_supplicant 2.10) output about method selection and
// bidding down.
const (
	// src/eap_peer/eap.c eap_sm_buildNak(), via SM_STATE(EAP, GET_METHOD):
	// the server proposed a method the peer does not allow.
	nakToAKAPrime = "CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=50 -> NAK"
	nakToAKA      = "CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=23 -> NAK"
	// src/eap_peer/eap.c SM_STATE(EAP, GET_METHOD) (WPA_EVENT_EAP_METHOD).
	akaPrimeSelected = "CTRL-EVENT-EAP-METHOD EAP vendor 0 method 50 (AKA') selected"
	akaSelected      = "CTRL-EVENT-EAP-METHOD EAP vendor 0 method 23 (AKA) selected"
	// src/eap_peer/eap_aka.c eap_aka_process_challenge(): an EAP-AKA
	// challenge with AT_BIDDING D=1 to a peer that allows EAP-AKA'
	// (RFC 9048 4); it then sends Authentication-Reject.
	biddingDownDetected = "EAP-AKA: Bidding down from AKA' to AKA detected"
)

const authFailed = "eap authentication failed" // aaad's log line

// waitEntry waits until aaad has logged an entry with msg for which match is
// true, and returns it.
func (s *server) waitEntry(t *testing.T, what, msg string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	s.log.waitFor(t, what, 10*time.Second, func(lines []string) bool {
		for _, e := range logEntries(lines, msg) {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// maskedIMSI is an IMSI as aaad's info logs show it (radius.MaskIMSI).
func maskedIMSI(imsi string) string {
	return imsi[:5] + "xxxxxxxx"[:len(imsi)-7] + imsi[len(imsi)-2:]
}

// A peer's permanent identity with the EAP-AKA prefix `0` does not make the
// server run EAP-AKA when it prefers EAP-AKA' (methods [aka-prime, aka]): it
// proposes EAP-AKA' whatever the prefix (RFC 9048 4 puts the choice with
// the server), and a peer that only does EAP-AKA Naks to it. Before, the
// server started EAP-AKA for a `0` identity and sent AT_BIDDING D=1, and a
// peer that supports both methods rightly refused that as a bidding-down
// attack: it could never authenticate.
func TestBiddingAKAPrefixGetsAKAPrime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, peerMethods, imsi string
		wantMethod              string // aaad's "method" in its success log line
		wantSelected            string // the method eapol_test ran
		wantNak                 bool   // the peer Naks EAP-AKA' first
	}{
		{"AKA' and AKA peer", "AKA' AKA", "001010000000021", "aka-prime", akaPrimeSelected, false},
		{"AKA-only peer", "AKA", "001010000000022", "aka", akaSelected, true},
		{"AKA'-only peer", "AKA'", "001010000000023", "aka-prime", akaPrimeSelected, false},
	}
	var subs []subscriber
	for _, tc := range cases {
		subs = append(subs, ts1Subscriber(tc.imsi, "000000000000"))
	}
	s := startServer(t, serverConfig{Subscribers: subs}) // methods [aka-prime, aka]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.eapolTest(t, peerConfig{
				Method:   tc.peerMethods,
				Identity: akaIdentity(tc.imsi),
				Password: usimPassword(ts1K, ts1OPc, "000000000000"),
			})
			if r.Contains(biddingDownDetected) {
				t.Fatalf("%s; the server ran EAP-AKA with AT_BIDDING D=1 for the `0` identity of a peer that supports EAP-AKA': "+
					"the peer took it for a bidding-down attack (%q) and refused; the server must propose EAP-AKA' whatever the prefix\n--- eapol_test output:\n%s",
					r.summary(), biddingDownDetected, r.Output)
			}
			requireSuccess(t, r, 1)
			if !r.Contains(tc.wantSelected) {
				t.Errorf("%s; the peer did not run the method it should have: no %q in the output\n--- eapol_test output:\n%s", r.summary(), tc.wantSelected, r.Output)
			}
			switch {
			case tc.wantNak && !r.Contains(nakToAKAPrime):
				t.Errorf("%s; the EAP-AKA-only peer never Naked EAP-AKA' (no %q): the server did not propose EAP-AKA' for the `0` identity\n--- eapol_test output:\n%s",
					r.summary(), nakToAKAPrime, r.Output)
			case !tc.wantNak && (r.Contains(nakToAKAPrime) || r.Contains(nakToAKA)):
				t.Errorf("%s; the peer had to Nak: the server did not propose EAP-AKA' first for the `0` identity\n--- eapol_test output:\n%s", r.summary(), r.Output)
			}
			e := s.waitEntry(t, fmt.Sprintf("%q for %s", authSucceeded, tc.imsi), authSucceeded, func(e map[string]any) bool {
				return e["imsi"] == maskedIMSI(tc.imsi)
			})
			if e["method"] != tc.wantMethod {
				t.Errorf("aaad authenticated %s with method %v, want %s: %v", tc.imsi, e["method"], tc.wantMethod, e)
			}
		})
	}
}

// Bidding-down protection (RFC 9048 4): a man in the middle keeps aaad's
// EAP-AKA' request from a peer that supports EAP-AKA' and EAP-AKA, and Naks
// it for the peer, asking for EAP-AKA. aaad obliges, and its EAP-AKA
// challenge carries AT_BIDDING with D=1 ("I support EAP-AKA'"), which the
// attacker cannot remove without breaking AT_MAC. The peer sees that it was
// bid down, refuses with Authentication-Reject, and aaad answers
// Access-Reject. No keys come out.
func TestBiddingDownDetected(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000031"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	p := startBiddingDownProxy(t, s)
	r := p.target(s).eapolTest(t, peerConfig{
		Method:   "AKA' AKA",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
	})
	p.stop() // the results below are final

	// The proxy did what this test says it does.
	switch {
	case len(p.errs) > 0:
		t.Fatalf("the proxy failed: %s\n--- eapol_test output:\n%s", p.report(), r.Output)
	case p.withheld == nil:
		t.Fatalf("the proxy never saw an Access-Challenge to withhold: %s\n--- eapol_test output:\n%s", p.report(), r.Output)
	case p.nakAnswer == nil || p.nakAnswer.Code != eapRequest || p.nakAnswer.Type != eapTypeAKA || p.nakAnswer.Subtype != akaSubtypeChallenge:
		t.Fatalf("aaad did not answer the Nak with an EAP-AKA AKA-Challenge: %s", p.report())
	case p.biddingFlags < 0:
		t.Fatalf("aaad's EAP-AKA challenge has no AT_BIDDING though it supports EAP-AKA': %s", p.report())
	case p.biddingFlags&biddingD == 0:
		t.Fatalf("aaad's EAP-AKA challenge has AT_BIDDING without the D bit (%#04x) though it prefers EAP-AKA': %s", p.biddingFlags, p.report())
	}

	// The peer refused.
	if r.Success() || r.Contains(accessAcceptDump) {
		t.Fatalf("%s; the peer accepted an EAP-AKA run that was bid down from EAP-AKA'\n%s\n--- eapol_test output:\n%s", r.summary(), p.report(), r.Output)
	}
	for _, want := range []string{akaSelected, biddingDownDetected, authRejectSent} {
		if !r.Contains(want) {
			t.Fatalf("%s; no %q in the output\n%s\n--- eapol_test output:\n%s", r.summary(), want, p.report(), r.Output)
		}
	}
	requireReject(t, r)

	// aaad answered the Authentication-Reject with Access-Reject.
	if n := len(p.upstreamAnswers); n == 0 || p.upstreamAnswers[n-1] != radius.CodeAccessReject {
		t.Fatalf("aaad's last answer is not Access-Reject: %s", p.report())
	}
	e := s.waitEntry(t, fmt.Sprintf("%q with reason authentication_reject", authFailed), authFailed, func(e map[string]any) bool {
		return e["reason"] == "authentication_reject"
	})
	if e["method"] != "aka" {
		t.Errorf("aaad logged the Authentication-Reject for method %v, want aka: %v", e["method"], e)
	}
	if got := logEntries(strings.Split(s.log.String(), "\n"), authSucceeded); len(got) > 0 {
		t.Errorf("aaad logged a success: %v", got)
	}
	t.Log(p.report())
}
