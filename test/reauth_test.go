package test

import "testing"

// eapol_test output (wpa 2.10 src/eap_peer/eap_aka.c).
const (
	akaChallengeSeen    = "EAP-AKA: subtype Challenge"        // eap_aka.c:942
	akaReauthSeen       = "EAP-AKA: subtype Reauthentication" // eap_aka.c:1237
	akaNotificationSeen = "EAP-AKA: subtype Notification"     // eap_aka.c:1198
)

const authSucceeded = "eap authentication succeeded" // aaad's log line

// fastReauths returns, for each successful authentication the server
// logged, whether it was a fast re-authentication and the kind of identity
// the keys came from.
func successes(t *testing.T, s *server, n int) (fast []bool, kinds []string) {
	t.Helper()
	for _, e := range s.waitLogEntries(t, authSucceeded, n) {
		f, _ := e["fast_reauth"].(bool)
		k, _ := e["identity_kind"].(string)
		fast = append(fast, f)
		kinds = append(kinds, k)
	}
	return fast, kinds
}

// With -r 2 eapol_test authenticates three times in one run: a full
// authentication, then two fast re-authentications with the identities the
// server handed out (RFC 4187 5, RFC 9048 3.3).
func TestFastReauth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, method, identity string }{
		{"AKA'", "AKA'", akaPrimeIdentity("001010000000011")},
		{"AKA", "AKA", akaIdentity("001010000000011")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber("001010000000011", "000000000000")}})
			r := s.eapolTest(t, peerConfig{
				Method:   tc.method,
				Identity: tc.identity,
				Password: usimPassword(ts1K, ts1OPc, "000000000000"),
				Reauths:  2,
			})
			requireSuccess(t, r, 3)
			if got := r.Count(akaReauthSeen); got != 2 {
				t.Fatalf("%s; peer saw %d AKA-Reauthentication requests, want 2\n--- eapol_test output:\n%s", r.summary(), got, r.Output)
			}
			if got := r.Count(akaChallengeSeen); got != 1 {
				t.Fatalf("peer saw %d AKA-Challenges, want 1", got)
			}
			fast, kinds := successes(t, s, 3)
			if fast[0] || !fast[1] || !fast[2] {
				t.Fatalf("server says fast_reauth %v, want [false true true]", fast)
			}
			if kinds[1] != "reauth" || kinds[2] != "reauth" {
				t.Fatalf("identity kinds %v", kinds)
			}
		})
	}
}

// With fast re-authentication off the same run does three full
// authentications, and the later two use the pseudonym the server handed
// out instead of the IMSI.
func TestFastReauthDisabledUsesPseudonyms(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000012"
	s := startServer(t, serverConfig{
		Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")},
		EAPExtra:    []string{"fast_reauth: {enabled: false}"},
	})
	r := s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
		Reauths:  2,
	})
	requireSuccess(t, r, 3)
	if r.Contains(akaReauthSeen) || r.Count(akaChallengeSeen) != 3 {
		t.Fatalf("%s; want 3 full authentications and no re-authentication\n--- eapol_test output:\n%s", r.summary(), r.Output)
	}
	fast, kinds := successes(t, s, 3)
	want := []string{"permanent", "pseudonym", "pseudonym"}
	for i := range want {
		if fast[i] || kinds[i] != want[i] {
			t.Fatalf("server: fast_reauth %v identity kinds %v, want no fast re-auth and %v", fast, kinds, want)
		}
	}
}

// The peer that hides its IMSI behind an anonymous outer identity gets its
// identity asked once, then re-authenticates fast.
func TestAnonymousThenFastReauth(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000013"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	r := s.eapolTest(t, peerConfig{
		Method:            "AKA'",
		Identity:          akaPrimeIdentity(imsi),
		AnonymousIdentity: "anonymous@" + realm,
		Password:          usimPassword(ts1K, ts1OPc, "000000000000"),
		Reauths:           1,
	})
	requireSuccess(t, r, 2)
	if r.Count(akaReauthSeen) != 1 {
		t.Fatalf("%s; no fast re-authentication after the anonymous start\n--- eapol_test output:\n%s", r.summary(), r.Output)
	}
}

// Protected result indications (RFC 4187 6.2): the peer asks with
// AT_RESULT_IND and gets AKA-Notification "Success" before EAP-Success, on
// the full authentication and on the re-authentication.
func TestResultIndication(t *testing.T) {
	t.Parallel()
	const imsi = "001010000000014"
	s := startServer(t, serverConfig{Subscribers: []subscriber{ts1Subscriber(imsi, "000000000000")}})
	r := s.eapolTest(t, peerConfig{
		Method:   "AKA'",
		Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"),
		Phase1:   "result_ind=1",
		Reauths:  1,
	})
	requireSuccess(t, r, 2)
	if got := r.Count(akaNotificationSeen); got != 2 {
		t.Fatalf("%s; peer saw %d notifications, want 2 (one per authentication)\n--- eapol_test output:\n%s", r.summary(), got, r.Output)
	}
}
