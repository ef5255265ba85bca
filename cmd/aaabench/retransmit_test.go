package main

import (
	"sync"
	"testing"
)

// acceptCopies counts the Access-Accepts the relay passes per request
// (Request Authenticator): the first answers the final request, the second
// its retransmission by --retransmit-final.
type acceptCopies struct {
	mu sync.Mutex
	n  map[[16]byte]int
}

func (a *acceptCopies) next(resp, reqAuth []byte) int {
	if resp[0] != codeAccessAccept {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[[16]byte]int{}
	}
	k := [16]byte(reqAuth)
	a.n[k]++
	return a.n[k]
}

// --retransmit-final: every final request is sent again and the server's
// duplicate cache answers with the same Accept.
func TestRun_RetransmitFinal(t *testing.T) {
	subs := testSubscribers(20)
	csv := writeCSV(t, subs)
	server := startRADIUS(t, subs)
	for _, args := range [][]string{
		{"--reauth", "0.5", "--anonymous", "0.3"},
		{"--rate", "2000"},
	} {
		code, s, stderr := runBench(t, nil, append([]string{"--server", server.String(), "--subscribers", csv, "--count", "200",
			"--concurrency", "8", "--retransmit-final"}, args...)...)
		if code != 0 || s.OK != 200 || s.FailuresTotal != 0 || !s.RetransmitFinal || s.RetransmitChecks != 200 || s.Abandoned != 0 {
			t.Fatalf("%v: exit %d ok %d failures %v retransmit checks %d\n%s", args, code, s.OK, s.Failures, s.RetransmitChecks, stderr)
		}
		if s.Retransmissions != 0 || s.StrayAnswers != 0 {
			t.Fatalf("%v: retransmissions %d stray answers %d", args, s.Retransmissions, s.StrayAnswers)
		}
	}
	// Without the flag nothing is sent again.
	code, s, _ := runBench(t, nil, "--server", server.String(), "--subscribers", csv, "--count", "50", "--concurrency", "4")
	if code != 0 || s.RetransmitFinal || s.RetransmitChecks != 0 {
		t.Fatalf("exit %d retransmit final %v checks %d", code, s.RetransmitFinal, s.RetransmitChecks)
	}
}

// The answer to the retransmission differs from the first Accept, or does
// not come: each is a failure under its own reason.
func TestRun_RetransmitFinalDetectsBadReplays(t *testing.T) {
	subs := testSubscribers(10)
	csv := writeCSV(t, subs)
	server := startRADIUS(t, subs)
	secret := []byte(testSecret)
	for _, tc := range []struct {
		name      string
		configure func(r *relay, a *acceptCopies)
		want      reason
	}{
		{"answer differs", func(r *relay, a *acceptCopies) {
			r.tamper = func(b, reqAuth []byte) {
				if a.next(b, reqAuth) == 2 {
					b[len(b)-1] ^= 1 // still a valid answer, but not the same
					resign(b, reqAuth, secret)
				}
			}
		}, reasonRetransmitDiffers},
		{"unanswered", func(r *relay, a *acceptCopies) {
			r.drop = func(b, reqAuth []byte) bool { return a.next(b, reqAuth) >= 2 }
		}, reasonRetransmitUnanswered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var copies acceptCopies
			r := startRelay(t, server, func(r *relay) { tc.configure(r, &copies) })
			code, s, stderr := runBench(t, nil, "--server", r.addr(), "--subscribers", csv, "--count", "20", "--concurrency", "4",
				"--retransmit-final", "--timeout", "50ms", "--retries", "1")
			if code != 1 || s.OK != 0 || s.Failures[tc.want.String()] != 20 || s.FailuresTotal != 20 {
				t.Fatalf("exit %d ok %d failures %v, want 20 %s\n%s", code, s.OK, s.Failures, tc.want, stderr)
			}
			if tc.want == reasonRetransmitUnanswered && s.Retransmissions != 20 {
				t.Fatalf("retransmissions %d, want one per check (--retries 1)", s.Retransmissions)
			}
		})
	}
}
