package test

import (
	"fmt"
	"strings"
	"testing"

	"layeh.com/radius"
)

const (
	otherClientIP     = "127.0.0.2"
	otherClientSecret = "another-secret-0123"
)

// A conversation is bound to the access point (RADIUS client) that opened it.
// Another client, even one with a valid shared secret of its own, that sends
// a response carrying the conversation's State gets the answer a State the
// server never handed out gets, and changes nothing: the first client can
// still take the conversation to its end. Before, any client could continue
// (or end) any conversation whose State it had seen.
//
// Client "lab" is 127.0.0.0/8 with testing123; client "other" is
// 127.0.0.2/32 with its own secret, more specific, so it is the client for
// that address.
func TestBindingStateToClient(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		imsi string
		// foreign is the EAP response client "other" sends for the
		// outstanding AKA' challenge with EAP Identifier id.
		foreign func(id byte) []byte
		// processedReason is the reason aaad logs when it acts on
		// foreign for the conversation ("" when it answers with
		// something other than a failure).
		processedReason string
	}{
		{
			// Acted upon, a Client-Error ends the conversation with
			// EAP-Failure: the same answer an unknown State gets, so
			// only its effect tells them apart.
			name:            "Client-Error",
			imsi:            "001010000000041",
			foreign:         func(id byte) []byte { return akaClientError(eapTypeAKAPrime, id) },
			processedReason: "client_error",
		},
		{
			// Acted upon, a challenge response with a wrong AT_MAC
			// gets AKA-Notification "General failure" and moves the
			// conversation on.
			name:    "wrong challenge response",
			imsi:    "001010000000042",
			foreign: func(id byte) []byte { return akaChallengeResponseBadMAC(eapTypeAKAPrime, id) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverConfig{
				Subscribers: []subscriber{ts1Subscriber(tc.imsi, "000000000000")},
				Clients:     []clientEntry{{Name: "other", Address: otherClientIP + "/32", Secret: otherClientSecret}},
			})
			lab := dialRADIUS(t, s, "127.0.0.1", s.Secret)
			other := dialRADIUS(t, s, otherClientIP, otherClientSecret)
			identity := akaPrimeIdentity(tc.imsi)

			// Client lab opens the conversation: an EAP-AKA' challenge.
			ch := lab.exchange(t, identity, eapIdentityResponse(1, identity), nil)
			if ch == nil || ch.Code != radius.CodeAccessChallenge || len(ch.State) == 0 {
				t.Fatalf("identity response via lab: got %s, want Access-Challenge with State", ch)
			}
			chm := ch.eap(t)
			if chm.Code != eapRequest || chm.Type != eapTypeAKAPrime || chm.Subtype != akaSubtypeChallenge {
				t.Fatalf("identity response via lab: got %s, want an EAP-AKA' AKA-Challenge", chm)
			}
			foreign := tc.foreign(chm.ID)

			// What client other gets for a State aaad never handed out...
			unknown := other.exchange(t, identity, foreign, randomState(t))
			// ...is what it must get for lab's State.
			got := other.exchange(t, identity, foreign, ch.State)
			if !sameAnswer(got, unknown) {
				t.Fatalf("%s with lab's State via client other: got %s, want %s (the answer to an unknown State): "+
					"aaad acted on another client's conversation", tc.name, got, unknown)
			}

			// The conversation is intact: lab's own wrong challenge
			// response gets AKA-Notification "General failure", which
			// only a conversation waiting for a challenge response
			// answers (an unknown State gets EAP-Failure)...
			n := lab.exchange(t, identity, akaChallengeResponseBadMAC(eapTypeAKAPrime, chm.ID), ch.State)
			if n == nil || n.Code != radius.CodeAccessChallenge {
				t.Fatalf("wrong challenge response via lab after the %s via other: got %s, want Access-Challenge with AKA-Notification: "+
					"the message through client other changed or ended lab's conversation\n%s",
					tc.name, n, logReasons(t, s, n))
			}
			nm := n.eap(t)
			if nm.Code != eapRequest || nm.Type != eapTypeAKAPrime || nm.Subtype != akaSubtypeNotification ||
				string(nm.Attrs[atNotification]) != string([]byte{notificationGeneralFailure >> 8, 0}) {
				t.Fatalf("wrong challenge response via lab: got %s (attributes %x), want AKA-Notification General failure (16384)", nm, nm.Attrs)
			}
			// ...and ends as it should: its acknowledgement gets
			// Access-Reject with EAP-Failure.
			end := lab.exchange(t, identity, akaNotificationAck(eapTypeAKAPrime, nm.ID), n.State)
			if end == nil || end.Code != radius.CodeAccessReject {
				t.Fatalf("notification acknowledgement via lab: got %s, want Access-Reject", end)
			}
			if em := end.eap(t); em.Code != eapFailure || em.ID != nm.ID {
				t.Fatalf("notification acknowledgement via lab: Access-Reject with %s, want EAP-Failure id=%d", em, nm.ID)
			}

			// aaad's log: lab's conversation failed on the wrong
			// response (logged last, so the lines before it are all in),
			// and what other sent was not acted on.
			s.waitEntry(t, fmt.Sprintf("%q from lab with reason mac_mismatch", authFailed), authFailed, func(e map[string]any) bool {
				return e["client"] == "lab" && e["reason"] == "mac_mismatch"
			})
			fromOther := failedFrom(logEntries(strings.Split(s.log.String(), "\n"), authFailed), "other")
			if len(fromOther) != 2 {
				t.Fatalf("aaad logged %d failures from client other, want 2 (unknown State, lab's State): %v", len(fromOther), fromOther)
			}
			t.Logf("aaad's reasons for client other: unknown State %v, lab's State %v", fromOther[0]["reason"], fromOther[1]["reason"])
			if tc.processedReason != "" && fromOther[1]["reason"] == tc.processedReason {
				t.Errorf("aaad logged reason %s for lab's State via client other: it acted on the conversation: %v", tc.processedReason, fromOther[1])
			}
			if m, _ := fromOther[1]["method"].(string); m != "" {
				t.Errorf("aaad logged the failure via client other under method %s, as for the conversation's own failure: %v", m, fromOther[1])
			}
		})
	}
}

// logReasons returns the failures aaad logged, for a failure message. When
// the last answer was a failure, it first waits for its log line (the lines
// before it are then all in).
func logReasons(t *testing.T, s *server, last *radiusAnswer) string {
	t.Helper()
	lines := strings.Split(s.log.String(), "\n")
	if last != nil && last.Code == radius.CodeAccessReject {
		lines = s.log.waitFor(t, fmt.Sprintf("%q from lab", authFailed), answerTimeout, func(ls []string) bool {
			return len(failedFrom(logEntries(ls, authFailed), "lab")) > 0
		})
	}
	var b strings.Builder
	b.WriteString("aaad's failure log lines:")
	for _, e := range logEntries(lines, authFailed) {
		fmt.Fprintf(&b, "\n  client=%v method=%v reason=%v", e["client"], e["method"], e["reason"])
	}
	return b.String()
}
