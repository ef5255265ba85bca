package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The load generator against the real server: aaabench's USIMs and RADIUS
// checks must find nothing wrong with aaad, and must find it when the keys
// do not match.

// buildAAABench builds cmd/aaabench into the test's directory, as TestMain
// builds aaad.
func buildAAABench(t *testing.T) string {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("cannot build: %v", setupErr)
	}
	bin := filepath.Join(t.TempDir(), "aaabench")
	cmd := exec.Command(goTool(), "build", "-o", bin, "github.com/aaa-project/aaa/cmd/aaabench")
	cmd.Dir = moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build github.com/aaa-project/aaa/cmd/aaabench: %v\n%s", err, out)
	}
	return bin
}

// benchSubscribers has aaabench write n subscribers with random keys
// (more flags of `aaabench subscribers` in extra, e.g. --imsi-base) and
// returns the file and its rows.
func benchSubscribers(t *testing.T, bin string, n string, extra ...string) (string, []subscriber) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "subscribers.csv")
	args := append([]string{"subscribers", "--count", n, "--out", path}, extra...)
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("aaabench subscribers: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "imsi,k,opc,amf,sqn" {
		t.Fatalf("header %q", lines[0])
	}
	var subs []subscriber
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 5 {
			t.Fatalf("row %q", l)
		}
		subs = append(subs, subscriber{IMSI: f[0], K: f[1], OPc: f[2], AMF: f[3], SQN: f[4]})
	}
	return path, subs
}

type benchSummary struct {
	OK              int                `json:"ok"`
	Failures        map[string]int     `json:"failures"`
	DurationS       float64            `json:"duration_s"`
	AuthsPerS       float64            `json:"auths_per_s"`
	LatencyMS       map[string]float64 `json:"latency_ms"`
	RoundsPerAuth   float64            `json:"rounds_per_auth"`
	FastReauths     int                `json:"fast_reauths"`
	Retransmissions int                `json:"retransmissions"`
	ClientCPU       float64            `json:"client_cpu_us_per_auth"`
}

// runBench runs aaabench --json and returns its exit code and summary.
func runBench(t *testing.T, bin string, s *server, args ...string) (int, benchSummary) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{"--server", s.Addr, "--secret", s.Secret, "--json", "--quiet"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("aaabench %v: %v", args, err)
	}
	var sum benchSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("aaabench %v: exit %d, summary %q: %v\nstderr: %s", args, code, stdout.String(), err, stderr.String())
	}
	t.Logf("aaabench %s: exit %d: %s", strings.Join(args[4:], " "), code, strings.TrimSpace(stdout.String()))
	return code, sum
}

func TestBench_AgainstAAAD(t *testing.T) {
	t.Parallel()
	bin := buildAAABench(t)
	csv, subs := benchSubscribers(t, bin, "64")
	s := startServer(t, serverConfig{Subscribers: subs, LogLevel: "info"})

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"AKA'", []string{"--method", "aka-prime"}},
		{"AKA' with fast re-authentication and anonymous identities", []string{"--method", "aka-prime", "--reauth", "0.5", "--anonymous", "0.3"}},
		{"AKA", []string{"--method", "aka"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--subscribers", csv, "--count", "300", "--concurrency", "16"}, tc.args...)
			code, sum := runBench(t, bin, s, args...)
			if code != 0 || sum.OK != 300 || len(sum.Failures) != 0 {
				t.Fatalf("exit %d ok %d failures %v; want 0, 300 and none", code, sum.OK, sum.Failures)
			}
			if sum.RoundsPerAuth < 2 || sum.LatencyMS["p50"] <= 0 || sum.LatencyMS["max"] < sum.LatencyMS["p99"] {
				t.Fatalf("rounds/auth %.2f latency %v", sum.RoundsPerAuth, sum.LatencyMS)
			}
			if strings.Contains(tc.name, "re-auth") && sum.FastReauths == 0 {
				t.Fatal("no fast re-authentication in a run with --reauth 0.5")
			}
		})
	}

	// The same IMSIs with other keys: every AUTN fails on the USIM, which
	// refuses (Authentication-Reject), and aaad rejects. The checks can fail.
	t.Run("wrong keys", func(t *testing.T) {
		wrong, _ := benchSubscribers(t, bin, "64")
		code, sum := runBench(t, bin, s, "--subscribers", wrong, "--count", "50", "--concurrency", "8")
		failed := sum.Failures["autn_mac"] + sum.Failures["access_reject"]
		if code != 1 || sum.OK != 0 || failed != 50 {
			t.Fatalf("exit %d ok %d failures %v; want exit 1 and 50 autn_mac", code, sum.OK, sum.Failures)
		}
	})
}
