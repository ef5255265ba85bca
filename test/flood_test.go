package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A hostile access point: a RADIUS client with a valid secret (flood,
// 127.0.0.2) floods aaad with well-formed Access-Requests that open EAP
// conversations and never finish them (`aaabench flood`). Meanwhile a
// well-behaved client (lab, 127.0.0.1) must still authenticate: one client's
// flood may fill only its own share of the server's conversations and
// duplicate cache. The lab client runs an eapol_test login and a few
// aaabench authentications that send their final request again
// (--retransmit-final), which only the duplicate cache answers right.
//
// The flood goes as fast as aaabench sends (hundreds of thousands of
// requests a second here, far more than aaad reads): the kernel drops what
// overflows, and only from the flooding client's own socket, since aaad
// steers each client's datagrams to a socket of its own. The server's
// limits are small so that the flood fills its shares within its first
// second. Each mode gets a fresh server; the login runs once the flood has
// had at least its even share of the conversations answered, and the flood
// is stopped only after the login, so the login happens during the flood.

const (
	floodSecret = "flood-secret-0123456789"
	floodBind   = "127.0.0.2"
	// floodMaxConversations is eap.max_conversations of the test server.
	floodMaxConversations = 2000
	// floodRate is the flood's requests a second: 0, as fast as it goes.
	floodRate = "0"
	// floodLoaded is how many answers the flood must have had before the
	// login, unless the server stopped answering it before: its even
	// share of the conversations (two clients). So the login meets a
	// server the flood has loaded as far as it can, even on a busy
	// machine.
	floodLoaded = floodMaxConversations / 2
)

// floodRun is a running `aaabench flood`.
type floodRun struct {
	cmd     *exec.Cmd
	args    []string
	stdout  bytes.Buffer
	mu      sync.Mutex
	stderr  []string
	running chan struct{} // closed once a per-second line shows the server loaded
	done    chan struct{} // closed once the process exited and stderr is read
	werr    error
}

// aaabench flood's per-second line:
// "     1s      5000 sent/s      2000 answered/s  sent 5000  answered 2000 (challenge 2000, reject 0)".
var floodProgressRE = regexp.MustCompile(`^\s*\d+s\s+\d+ sent/s\s+(\d+) answered/s  sent \d+  answered (\d+) \(`)

// startFlood starts aaabench flood against s. It returns once the flood has
// loaded the server, per its per-second lines: it had floodLoaded answers,
// or it had some and then none for a second (the server took all of it
// would). It fails the test, naming the tool, if the flood exits first or
// does not get there.
func startFlood(t *testing.T, bin string, s *server, args ...string) *floodRun {
	t.Helper()
	f := &floodRun{running: make(chan struct{}), done: make(chan struct{})}
	// --duration is only a bound: the test stops the flood after the login.
	f.args = append([]string{"flood", "--server", s.Addr, "--secret", floodSecret, "--bind", floodBind,
		"--duration", "30s", "--wait", "200ms", "--json"}, args...)
	f.cmd = exec.Command(bin, f.args...)
	f.cmd.Stdout = &f.stdout
	stderr, err := f.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start aaabench flood: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			f.mu.Lock()
			f.stderr = append(f.stderr, line)
			f.mu.Unlock()
			if m := floodProgressRE.FindStringSubmatch(line); !signalled && m != nil {
				perS, _ := strconv.Atoi(m[1])
				n, _ := strconv.Atoi(m[2])
				if n >= floodLoaded || (n > 0 && perS == 0) {
					close(f.running)
					signalled = true
				}
			}
		}
		f.werr = f.cmd.Wait()
		close(f.done)
	}()
	t.Cleanup(func() {
		select {
		case <-f.done:
		default:
			f.cmd.Process.Kill()
			<-f.done
		}
	})
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-f.running:
	case <-f.done:
		t.Fatalf("the flood tool exited before it flooded (%v): aaabench %s\n%s", f.werr, strings.Join(f.args, " "), f.stderrText())
	case <-timer.C:
		t.Fatalf("the flood had neither %d answers nor a second without after 20s: aaabench %s\n%s", floodLoaded, strings.Join(f.args, " "), f.stderrText())
	}
	return f
}

func (f *floodRun) stderrText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.stderr, "\n")
}

type floodResult struct {
	Mode        string            `json:"mode"`
	Sent        uint64            `json:"sent"`
	SentPerS    float64           `json:"sent_per_s"`
	SendErrors  uint64            `json:"send_errors"`
	Answered    uint64            `json:"answered"`
	Answers     map[string]uint64 `json:"answers"`
	Unanswered  uint64            `json:"unanswered"`
	Interrupted bool              `json:"interrupted"`
}

// stop interrupts the flood and returns its summary. It reports whether
// the flood was still running, i.e. the login happened during it.
func (f *floodRun) stop(t *testing.T) (floodResult, bool) {
	t.Helper()
	stillRunning := true
	select {
	case <-f.done:
		stillRunning = false
	default:
		f.cmd.Process.Signal(syscall.SIGINT)
	}
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		t.Fatalf("the flood tool did not stop within 15s of SIGINT\n%s", f.stderrText())
	}
	var r floodResult
	if err := json.Unmarshal(f.stdout.Bytes(), &r); err != nil {
		t.Fatalf("the flood tool's summary %q: %v (exit %v)\n%s", f.stdout.String(), err, f.werr, f.stderrText())
	}
	return r, stillRunning && r.Interrupted
}

func TestFlood_OtherClientStillAuthenticates(t *testing.T) {
	bin := buildAAABench(t)
	// Apart from the TS 35.208 IMSIs (001010000000001...) eapol_test uses.
	floodCSV, floodSubs := benchSubscribers(t, bin, "200", "--imsi-base", "001019000000000") // the flood's halfopen identities
	labCSV, labSubs := benchSubscribers(t, bin, "8", "--imsi-base", "001018000000000")       // aaabench's USIMs behind the lab client
	for i, tc := range []struct {
		mode string
		args []string
		// radius.duplicate_cache_size: the flood fills its share of
		// the conversations first (1000 of 2000), except for ports,
		// which fills its share of the duplicate cache first (512
		// of 1024: 64 sockets × 256 Identifiers are new keys).
		dupCache int
	}{
		{"anonymous", nil, 4096},
		{"halfopen", []string{"--subscribers", floodCSV}, 4096},
		{"ports", []string{"--sockets", "64"}, 1024},
		{"fat", nil, 4096},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			// A USIM of its own per mode: TS 35.208 set 1, IMSI ...01 to ...04.
			imsi := fmt.Sprintf("00101000000000%d", i+1)
			s := startServer(t, serverConfig{
				Subscribers: append(append([]subscriber{ts1Subscriber(imsi, "000000000000")}, labSubs...), floodSubs...),
				Methods:     []string{"aka-prime"},
				LogLevel:    "info",
				Clients:     []clientEntry{{"flood", floodBind + "/32", floodSecret}},
				EAPExtra:    []string{fmt.Sprintf("max_conversations: %d", floodMaxConversations)},
				RADIUSExtra: []string{fmt.Sprintf("duplicate_cache_size: %d", tc.dupCache)},
			})
			f := startFlood(t, bin, s, append([]string{"--mode", tc.mode, "--rate", floodRate}, tc.args...)...)

			r := s.eapolTest(t, peerConfig{
				Method:   "AKA'",
				Identity: akaPrimeIdentity(imsi),
				Password: usimPassword(ts1K, ts1OPc, "000000000000"),
				ClientIP: "127.0.0.1", // the lab client; the flood is 127.0.0.2
				Timeout:  5,
			})
			// And a few authentications whose final request is sent
			// again: the lab client's duplicate cache share must replay
			// the Accept.
			benchCode, bench := runBench(t, bin, s, "--subscribers", labCSV, "--bind", "127.0.0.1", "--count", "8",
				"--concurrency", "8", "--timeout", "500ms", "--retries", "2", "--retransmit-final")

			res, during := f.stop(t)
			t.Logf("flood %s: sent %d (%.0f/s), answered %d %v, unanswered %d, send errors %d",
				res.Mode, res.Sent, res.SentPerS, res.Answered, res.Answers, res.Unanswered, res.SendErrors)
			// The flood itself must have worked, or a success proves nothing.
			if !during {
				t.Errorf("the flood ended before the login did (exit %v); aaabench %s", f.werr, strings.Join(f.args, " "))
			}
			if res.Sent == 0 || res.Answered == 0 {
				t.Errorf("the flood tool sent %d requests and got %d answers: it did not reach the server as an authenticated client",
					res.Sent, res.Answered)
			}
			// What this test is about: the lab client is not hurt.
			requireSuccess(t, r, 1)
			if benchCode != 0 || bench.OK != 8 {
				t.Fatalf("aaabench through the lab client with --retransmit-final: exit %d, ok %d, failures %v; want 8 ok",
					benchCode, bench.OK, bench.Failures)
			}
		})
	}
}
