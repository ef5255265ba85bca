package test

import "testing"

// goodRun authenticates a known-good subscriber (TS 35.208 set 1, fresh USIM)
// with EAP-AKA', to show the server still works after a failure.
func goodRun(t *testing.T, s *server, imsi string) {
	t.Helper()
	r := s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
	})
	requireSuccess(t, r, 1)
}

func TestEAPAKAPrime(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000001"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	r := s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
	})
	requireSuccess(t, r, 1)
}

func TestEAPAKA(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000001"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	r := s.eapolTest(t, peerConfig{
		Method:   "AKA",
		Identity: akaIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
	})
	requireSuccess(t, r, 1)
}

// The peer sends the anonymous identity in EAP-Response/Identity; the server
// must ask for the permanent identity with AKA-Identity to authenticate it.
func TestAnonymousIdentity(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000003"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	for _, tc := range []struct{ name, method, identity string }{
		{"AKA'", "AKA'", akaPrimeIdentity(imsi)},
		{"AKA", "AKA", akaIdentity(imsi)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.eapolTest(t, peerConfig{
				Method:            tc.method,
				Identity:          tc.identity,
				AnonymousIdentity: "anonymous@" + realm,
				Password:          usimPassword(ts1K, ts1OPc, "000000000000"),
			})
			requireSuccess(t, r, 1)
			for _, want := range []string{eapAnonymousIdentity, akaIdentityRequest, akaIdentityResponse} {
				if !r.Contains(want) {
					t.Fatalf("%s; no %q in the output: no AKA-Identity round?\n--- eapol_test output:\n%s", r.summary(), want, r.Output)
				}
			}
		})
	}
}

// The USIM's SQN is ahead of the HSS's: the peer answers the first challenge
// with Synchronization-Failure (AT_AUTS), the server resynchronises and sends a
// fresh challenge that the USIM accepts.
func TestResync(t *testing.T) {
	t.Parallel()
	const (
		imsi     = "001010000000004"
		goodIMSI = "001010000000005"
		usimSQN  = "000000001000"
	)
	s := startServer(t, serverConfig{Subscribers: []subscriber{
		ts1Subscriber(imsi, "000000000000"),
		ts1Subscriber(goodIMSI, "000000000000"),
	}})
	peer := peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, usimSQN),
	}
	t.Run("resync", func(t *testing.T) {
		r := s.eapolTest(t, peer)
		requireSuccess(t, r, 1)
		for _, want := range []string{syncFailureAUTN, syncFailureSent} {
			if !r.Contains(want) {
				t.Fatalf("%s; no %q in the output: no Synchronization-Failure happened\n--- eapol_test output:\n%s", r.summary(), want, r.Output)
			}
		}
	})
	// The HSS took SQN_MS from AUTS: the same USIM needs no second resync.
	t.Run("no second resync", func(t *testing.T) {
		r := s.eapolTest(t, peer)
		requireSuccess(t, r, 1)
		if r.Contains(syncFailureSent) {
			t.Fatalf("%s; a second Synchronization-Failure: the HSS did not keep the SQN from AUTS\n--- eapol_test output:\n%s", r.summary(), r.Output)
		}
	})
	t.Run("good subscriber after", func(t *testing.T) { goodRun(t, s, goodIMSI) })
}

// The USIM has another K: AUTN's MAC fails, the peer sends
// Authentication-Reject and the server must answer Access-Reject/EAP-Failure.
func TestWrongK(t *testing.T) {
	t.Parallel()
	const (
		imsi     = "001010000000006"
		goodIMSI = "001010000000007"
		wrongK   = "000102030405060708090a0b0c0d0e0f"
	)
	s := startServer(t, serverConfig{Subscribers: []subscriber{
		ts1Subscriber(imsi, "000000000000"),
		ts1Subscriber(goodIMSI, "000000000000"),
	}})
	for _, method := range []string{"AKA'", "AKA"} {
		t.Run("wrong K "+method, func(t *testing.T) {
			identity := akaPrimeIdentity(imsi)
			if method == "AKA" {
				identity = akaIdentity(imsi)
			}
			r := s.eapolTest(t, peerConfig{
				Method:   method,
				Identity: identity,
				Password: usimPassword(wrongK, ts1OPc, "000000000000"),
			})
			requireReject(t, r)
			for _, want := range []string{milenageMACMismatch, authRejectSent} {
				if !r.Contains(want) {
					t.Fatalf("%s; no %q in the output\n--- eapol_test output:\n%s", r.summary(), want, r.Output)
				}
			}
		})
		t.Run("good subscriber after wrong K "+method, func(t *testing.T) { goodRun(t, s, goodIMSI) })
	}
	// The subscriber with the wrong-K attempts is not locked out.
	t.Run("right K after wrong K", func(t *testing.T) { goodRun(t, s, imsi) })
}

// An IMSI that is not in the subscriber database gets Access-Reject.
func TestUnknownIMSI(t *testing.T) {
	t.Parallel()
	const (
		goodIMSI    = "001010000000008"
		unknownIMSI = "001010000000009"
	)
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(goodIMSI, "000000000000")}})
	for _, tc := range []struct{ name, method, identity, anonymous string }{
		{"AKA'", "AKA'", akaPrimeIdentity(unknownIMSI), ""},
		{"AKA", "AKA", akaIdentity(unknownIMSI), ""},
		{"AKA' anonymous", "AKA'", akaPrimeIdentity(unknownIMSI), "anonymous@" + realm},
	} {
		t.Run("unknown "+tc.name, func(t *testing.T) {
			r := s.eapolTest(t, peerConfig{
				Method:            tc.method,
				Identity:          tc.identity,
				AnonymousIdentity: tc.anonymous,
				Password:          usimPassword(ts1K, ts1OPc, "000000000000"),
			})
			requireReject(t, r)
			if r.Contains(accessAcceptDump) {
				t.Fatalf("%s; an Access-Accept for an unknown IMSI\n--- eapol_test output:\n%s", r.summary(), r.Output)
			}
		})
		t.Run("good subscriber after unknown "+tc.name, func(t *testing.T) { goodRun(t, s, goodIMSI) })
	}
}
