package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// SentinelMasterName is the name the Sentinel monitors the master
	// under: store.redis.master_name.
	SentinelMasterName = "mymaster"
	// sentinelTimeout bounds each wait: a process's start, the replica's
	// first sync, the Sentinel learning the replica, a failover.
	sentinelTimeout = 20 * time.Second
	// sentinelPoll is how often INFO or SENTINEL is asked while waiting.
	sentinelPoll = 20 * time.Millisecond
)

// Sentinel is a master redis-server, one replica of it, and one Sentinel
// that monitors them (quorum 1), all on loopback TCP, without persistence.
type Sentinel struct {
	// Addr is the Sentinel's 127.0.0.1:PORT: what store.redis.addrs
	// takes with store.redis.master_name MasterName.
	Addr string
	// MasterName is the monitored master's name (SentinelMasterName).
	MasterName string
	// Master is the master's address at the start; Replica its replica's,
	// which Failover promotes.
	Master, Replica string

	t   testing.TB
	sen *redis.SentinelClient
}

// StartSentinel starts a master, a replica of it (--replicaof) and a
// Sentinel monitoring the master (down-after 1 s, failover-timeout 5 s),
// each in a directory of its own on a free loopback port, and returns once
// the replica's link is up (the master lists it online) and the Sentinel
// reports the master and knows the replica with its link up. No sleep:
// every wait polls a condition up to a deadline. Everything is killed
// when the test ends. A missing redis-server fails the test
// (scripts/install-test-deps.sh installs it; the Sentinel is the same
// binary with --sentinel).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): run scripts/install-test-deps.sh (make test does)", err)
	}
	s := &Sentinel{MasterName: SentinelMasterName, t: t}
	dataArgs := func(dir string, port int) []string {
		return []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", "", "--daemonize", "no"}
	}
	s.Master = startProc(t, bin, "master", readyLine, func(dir string, port int) []string {
		// The replica's full sync starts at once, not after the
		// default 5 s wait for more replicas to share it.
		return append(dataArgs(dir, port), "--repl-diskless-sync-delay", "0")
	})
	_, masterPort, _ := net.SplitHostPort(s.Master)
	s.Replica = startProc(t, bin, "replica", readyLine, func(dir string, port int) []string {
		return append(dataArgs(dir, port), "--replicaof", "127.0.0.1", masterPort)
	})

	ctx, cancel := context.WithTimeout(context.Background(), sentinelTimeout)
	defer cancel()
	master := redis.NewClient(&redis.Options{Addr: s.Master, MaxRetries: -1})
	defer master.Close()
	_, replicaPort, _ := net.SplitHostPort(s.Replica)
	poll(t, ctx, "the master to list its replica online", func() error {
		info, err := master.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "ip=127.0.0.1,port="+replicaPort+",state=online") {
			return fmt.Errorf("INFO replication:\n%s", info)
		}
		return nil
	})

	s.Addr = startProc(t, bin, "sentinel", sentinelReadyLine, func(dir string, port int) []string {
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %s 1\n"+
			"sentinel down-after-milliseconds %[3]s 1000\n"+
			"sentinel failover-timeout %[3]s 5000\n",
			port, strconv.Quote(dir), s.MasterName, masterPort)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{conf, "--sentinel", "--logfile", "", "--daemonize", "no"}
	})
	s.sen = redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { s.sen.Close() })
	poll(t, ctx, "the sentinel to know the master and its replica", func() error {
		if err := s.reports(ctx, s.Master); err != nil {
			return err
		}
		return s.knowsReplica(ctx, s.Replica)
	})
	return s
}

// reports says why the Sentinel does not report addr as the master, or nil.
func (s *Sentinel) reports(ctx context.Context, addr string) error {
	got, err := s.MasterAddr(ctx)
	if err != nil {
		return err
	}
	if got != addr {
		return fmt.Errorf("SENTINEL get-master-addr-by-name %s: %s, want %s", s.MasterName, got, addr)
	}
	return nil
}

// knowsReplica says why the Sentinel does not list addr as a healthy
// replica (flags just "slave", master link ok), or nil.
func (s *Sentinel) knowsReplica(ctx context.Context, addr string) error {
	replicas, err := s.sen.Replicas(ctx, s.MasterName).Result()
	if err != nil {
		return err
	}
	for _, r := range replicas {
		if net.JoinHostPort(r["ip"], r["port"]) == addr {
			if r["flags"] != "slave" || r["master-link-status"] != "ok" {
				return fmt.Errorf("replica %s: flags %q, master-link-status %q", addr, r["flags"], r["master-link-status"])
			}
			return nil
		}
	}
	return fmt.Errorf("SENTINEL REPLICAS %s: %v, want %s among them", s.MasterName, replicas, addr)
}

// MasterAddr is the master's address as the Sentinel reports it now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	hp, err := s.sen.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("SENTINEL get-master-addr-by-name %s: %v", s.MasterName, hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Failover has the Sentinel promote the replica (SENTINEL FAILOVER, which
// needs no agreement that the master is down) and returns the new master's
// address (Replica) once the Sentinel published +switch-master to it (what
// clients such as go-redis's FailoverClient listen for), reports it as the
// master, and the server itself says role:master. The old master is left
// running: the Sentinel turns it into a replica of the new one some
// seconds later. Call it once.
func (s *Sentinel) Failover() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sentinelTimeout)
	defer cancel()
	// Subscribed before the failover starts, so the message is not missed.
	sub := s.sen.Subscribe(ctx, "+switch-master")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		s.t.Fatalf("redistest: SUBSCRIBE +switch-master on the sentinel: %v", err)
	}
	// -NOGOODSLAVE while the Sentinel's view of the replica is not fresh
	// enough: asked again.
	poll(s.t, ctx, "SENTINEL FAILOVER to be accepted", func() error {
		return s.sen.Failover(ctx, s.MasterName).Err()
	})
	_, newPort, _ := net.SplitHostPort(s.Replica)
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			s.t.Fatalf("redistest: no +switch-master to %s within %s: %v", s.Replica, sentinelTimeout, err)
		}
		// "mymaster OLDIP OLDPORT NEWIP NEWPORT"
		f := strings.Fields(msg.Payload)
		if len(f) == 5 && f[0] == s.MasterName && f[4] == newPort {
			break
		}
	}
	promoted := redis.NewClient(&redis.Options{Addr: s.Replica, MaxRetries: -1})
	defer promoted.Close()
	poll(s.t, ctx, "the sentinel and the promoted replica to agree it is the master", func() error {
		if err := s.reports(ctx, s.Replica); err != nil {
			return err
		}
		info, err := promoted.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master") {
			return fmt.Errorf("%s INFO replication:\n%s", s.Replica, info)
		}
		return nil
	})
	return s.Replica
}

// poll calls cond every sentinelPoll until it returns nil, or fails the
// test with its last error at ctx's deadline.
func poll(t testing.TB, ctx context.Context, what string, cond func() error) {
	t.Helper()
	tick := time.NewTicker(sentinelPoll)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("redistest: waiting for %s: gave up at the deadline: %v", what, err)
		}
	}
}

// sentinelReadyLine is what a Sentinel logs once it listens (it logs no
// "ready to accept connections"), compared in lower case.
const sentinelReadyLine = "sentinel id is"

// startProc starts redis-server with args(dir, port) (dir a new directory
// of the test's own, port a free one) and returns 127.0.0.1:port once it
// logged ready (lower case); it tries other ports when the one it picked was
// taken. The process is killed when the test ends.
func startProc(t testing.TB, bin, what, ready string, args func(dir string, port int) []string) string {
	t.Helper()
	var lastLog string
	for range bindAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free loopback port: %v", err)
		}
		log, err := tryProc(t, bin, ready, args(t.TempDir(), port))
		if err == nil {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		if !errors.Is(err, errPortTaken) {
			t.Fatalf("redis-server (%s): %v:\n%s", what, err, log)
		}
		lastLog = log
	}
	t.Fatalf("redis-server (%s): its port was taken %d times in a row:\n%s", what, bindAttempts, lastLog)
	return ""
}

// tryProc runs redis-server with args until its readiness line; on success
// the test's cleanup kills it. It returns what it printed on failure, and
// errPortTaken when it could not bind its port.
func tryProc(t testing.TB, bin, readyText string, args []string) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // the same pipe
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start redis-server: %v", err)
	}
	watch := watchLog(out, readyText)
	stop := func() {
		cancel()
		<-watch.exited // the pipe is read to its end before Wait closes it
		cmd.Wait()
	}
	logText := watch.text
	timer := time.NewTimer(sentinelTimeout)
	defer timer.Stop()
	select {
	case ok := <-watch.ready:
		if !ok {
			stop()
			log := logText()
			if strings.Contains(log, "Address already in use") {
				return log, errPortTaken
			}
			return log, errors.New("exited before it was ready")
		}
	case <-timer.C:
		stop()
		return logText(), fmt.Errorf("not ready within %s", sentinelTimeout)
	}
	t.Cleanup(stop)
	return "", nil
}
