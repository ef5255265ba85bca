package redisstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/internal/redistest"
)

// The helper process: TestSQNHelperProcess does its work only when this
// variable is 1, in a copy of the test binary started by
// testSQNTwoProcesses.
const (
	sqnHelperEnv   = "AAA_REDISSTORE_SQN_HELPER"
	sqnAddrsEnv    = "AAA_REDISSTORE_SQN_ADDRS" // comma-separated
	sqnIMSIEnv     = "AAA_REDISSTORE_SQN_IMSI"
	sqnCountEnv    = "AAA_REDISSTORE_SQN_COUNT"
	sqnPerProcess  = 500
	sqnProcesses   = 2
	sqnProcTimeout = 60 * time.Second
)

// Two processes (two aaad nodes, as far as Redis can tell) drawing 500
// SQNs each, all at once, for one subscriber from one redis-server.
func TestRedis_SQNTwoProcesses(t *testing.T) {
	srv := redistest.Start(t)
	testSQNTwoProcesses(t, []string{srv.Socket})
}

// testSQNTwoProcesses provisions a subscriber at a known SQN, starts the
// test binary twice as helper processes that each draw sqnPerProcess SQNs
// concurrently, lets them go at the same moment, and checks the 1000 SQNs:
// distinct, all above the start, and exactly the next 1000 of the
// sequence (none skipped, none twice), with the stored SQN the last.
func testSQNTwoProcesses(t *testing.T, addrs []string) {
	ctx := context.Background()
	cfg := Config{Addrs: addrs, Timeout: 2 * time.Second}
	cfg.SetDefaults()
	rdb := NewClient(cfg)
	t.Cleanup(func() { rdb.Close() })
	s := NewSubscriberStore(rdb, "")
	const indBits = aka.DefaultINDBits
	imsi := fmt.Sprintf("00197%010d", time.Now().UnixNano()%10_000_000_000)
	start := aka.MakeSQN(123_456, 17, indBits)
	var sub hss.Subscriber
	sealer := hss.NewEphemeralSealer()
	if err := s.Put(ctx, imsi, hss.Record{Sealed: sealer.Seal(imsi, &sub.K, &sub.OPc), AMF: 0x8000}, start, indBits); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	type child struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stderr bytes.Buffer
		sqns   []aka.SQN
		bad    []string
		done   chan struct{}
	}
	// Each child says once whether it got ready (READY) or not (its
	// output ended first).
	ready := make(chan bool, sqnProcesses)
	pctx, cancel := context.WithTimeout(ctx, sqnProcTimeout)
	defer cancel()
	children := make([]*child, sqnProcesses)
	for i := range children {
		c := &child{done: make(chan struct{})}
		children[i] = c
		c.cmd = exec.CommandContext(pctx, os.Args[0], "-test.run=^TestSQNHelperProcess$", "-test.count=1")
		c.cmd.Env = append(os.Environ(),
			sqnHelperEnv+"=1",
			sqnAddrsEnv+"="+strings.Join(addrs, ","),
			sqnIMSIEnv+"="+imsi,
			sqnCountEnv+"="+strconv.Itoa(sqnPerProcess))
		c.cmd.Stderr = &c.stderr
		c.cmd.WaitDelay = 5 * time.Second
		var err error
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatalf("start helper process: %v", err)
		}
		go func() {
			defer close(c.done)
			said := false
			defer func() {
				if !said {
					ready <- false
				}
			}()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case line == "READY" && !said:
					ready <- true
					said = true
				case strings.HasPrefix(line, "SQN "):
					v, err := strconv.ParseUint(strings.TrimPrefix(line, "SQN "), 10, 64)
					if err != nil {
						c.bad = append(c.bad, line)
						continue
					}
					c.sqns = append(c.sqns, aka.SQN(v))
				default:
					c.bad = append(c.bad, line) // the test framework's PASS/ok, or a failure
				}
			}
		}()
	}
	defer func() {
		for _, c := range children {
			if c.cmd.ProcessState == nil {
				cancel()
				c.cmd.Wait()
			}
		}
	}()

	// Both connected and holding their 500 goroutines: let them go.
	deadline := time.NewTimer(sqnProcTimeout)
	defer deadline.Stop()
	for range sqnProcesses {
		select {
		case ok := <-ready:
			if !ok {
				for i, c := range children {
					select {
					case <-c.done:
						err := c.cmd.Wait()
						t.Fatalf("helper process %d ended before it was ready: %v\nstdout: %s\nstderr: %s", i, err, strings.Join(c.bad, "\n"), c.stderr.String())
					default:
					}
				}
				t.Fatal("a helper process ended before it was ready")
			}
		case <-deadline.C:
			t.Fatalf("the helper processes did not get ready within %s", sqnProcTimeout)
		}
	}
	for _, c := range children {
		if _, err := io.WriteString(c.stdin, "GO\n"); err != nil {
			t.Fatalf("start signal: %v", err)
		}
		c.stdin.Close()
	}
	var all []aka.SQN
	for i, c := range children {
		<-c.done
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("helper process %d: %v\nstdout (not SQNs): %s\nstderr: %s", i, err, strings.Join(c.bad, "\n"), c.stderr.String())
		}
		if len(c.sqns) != sqnPerProcess {
			t.Fatalf("helper process %d printed %d SQNs, want %d\nother output: %s", i, len(c.sqns), sqnPerProcess, strings.Join(c.bad, "\n"))
		}
		all = append(all, c.sqns...)
	}
	t.Logf("%d SQNs from %d processes in %s", len(all), sqnProcesses, time.Since(began).Round(time.Millisecond))

	// 1000 distinct SQNs, all above the start: exactly the next 1000 of
	// the sequence, SEQ start+1 ... start+1000 with IND one further each.
	n := uint64(sqnProcesses * sqnPerProcess)
	seen := map[aka.SQN]bool{}
	first, span := start.SEQ(indBits), uint64(1)<<indBits
	for _, q := range all {
		if seen[q] {
			t.Fatalf("SQN SEQ %d IND %d issued twice", q.SEQ(indBits), q.IND(indBits))
		}
		seen[q] = true
		if q <= start {
			t.Fatalf("SQN %d (SEQ %d) not above the start %d (SEQ %d)", q, q.SEQ(indBits), start, first)
		}
		k := q.SEQ(indBits) - first
		if k < 1 || k > n || q.IND(indBits) != (start.IND(indBits)+k)%span {
			t.Fatalf("SQN SEQ %d IND %d is not one of the next %d after SEQ %d IND %d", q.SEQ(indBits), q.IND(indBits), n, first, start.IND(indBits))
		}
	}
	if uint64(len(seen)) != n {
		t.Fatalf("%d distinct SQNs, want %d", len(seen), n)
	}
	last, err := s.SQN(ctx, imsi, indBits)
	if err != nil {
		t.Fatal(err)
	}
	if last.SEQ(indBits) != first+n {
		t.Fatalf("stored SEQ %d after %d steps from %d, want %d", last.SEQ(indBits), n, first, first+n)
	}
}

// TestSQNHelperProcess is not a test of its own: testSQNTwoProcesses runs
// the test binary with it, and the environment says what to do. It
// connects, prints READY, waits for a line on stdin, then draws the SQNs
// with as many goroutines, all released at once, and prints them as
// "SQN <decimal>" lines.
func TestSQNHelperProcess(t *testing.T) {
	if os.Getenv(sqnHelperEnv) != "1" {
		return
	}
	addrs := strings.Split(os.Getenv(sqnAddrsEnv), ",")
	imsi := os.Getenv(sqnIMSIEnv)
	count, err := strconv.Atoi(os.Getenv(sqnCountEnv))
	if err != nil || count <= 0 || imsi == "" || len(addrs) == 0 {
		t.Fatalf("helper process: bad environment (%s=%q, %s=%q)", sqnIMSIEnv, imsi, sqnCountEnv, os.Getenv(sqnCountEnv))
	}
	ctx := context.Background()
	cfg := Config{Addrs: addrs, Timeout: 5 * time.Second, PoolSize: 32}
	cfg.SetDefaults()
	s := NewSubscriberStore(NewClient(cfg), "")
	const indBits = aka.DefaultINDBits
	if _, err := s.SQN(ctx, imsi, indBits); err != nil { // connected, and the subscriber is there
		t.Fatalf("helper process: %v", err)
	}
	go_ := make(chan struct{})
	var wg sync.WaitGroup
	sqns := make([]aka.SQN, count)
	errs := make([]error, count)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-go_
			_, sqns[i], errs[i] = s.AdvanceSQN(ctx, imsi, indBits)
		}()
	}
	fmt.Println("READY")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("helper process: waiting for the start: %v", err)
	}
	close(go_)
	wg.Wait()
	var out strings.Builder
	for i := range count {
		if errs[i] != nil {
			t.Errorf("AdvanceSQN: %v", errs[i])
			continue
		}
		fmt.Fprintf(&out, "SQN %d\n", uint64(sqns[i]))
	}
	os.Stdout.WriteString(out.String())
}
