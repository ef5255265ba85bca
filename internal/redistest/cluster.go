package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// clusterReadyTimeout bounds each node's start and the wait for the
	// whole cluster to agree that it is up.
	clusterReadyTimeout = 20 * time.Second
	// clusterPoll is how often CLUSTER INFO is asked while waiting for
	// the cluster to come up.
	clusterPoll = 20 * time.Millisecond
	// bindAttempts: a free port picked here may be taken by another
	// process before redis-server binds it; the node is then started
	// again on other ports.
	bindAttempts = 5
)

// Cluster is a running Redis Cluster of masters only (no replicas): every
// node holds a share of the 16384 slots.
type Cluster struct {
	// Addrs are the nodes' client addresses, 127.0.0.1:PORT, each a
	// master and each usable as a seed.
	Addrs []string
}

// StartCluster starts n (at least 3) redis-server processes in cluster
// mode, each in a directory of its own on free loopback ports (client and
// cluster bus), without persistence, joins them with `redis-cli --cluster
// create`, and returns once every node reports cluster_state:ok with all
// 16384 slots assigned and served and every other node known. The
// processes are killed when the test ends. A missing redis-server or
// redis-cli fails the test (scripts/install-test-deps.sh installs both).
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 3 {
		t.Fatalf("redistest.StartCluster: a Redis Cluster of masters needs at least 3 nodes, not %d", n)
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): run scripts/install-test-deps.sh (make test does)", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found (%v): run scripts/install-test-deps.sh (make test does; Debian's redis-tools has it)", err)
	}
	busFlag := hasClusterPortFlag(server)
	c := &Cluster{}
	for i := range n {
		c.Addrs = append(c.Addrs, startClusterNode(t, server, busFlag, i))
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.waitOK(t, ctx)
	return c
}

// hasClusterPortFlag says whether redis-server takes --cluster-port
// (Redis 7 and later); older ones put the cluster bus at port+10000.
func hasClusterPortFlag(bin string) bool {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return false
	}
	// "Redis server v=7.0.15 sha=..."
	_, v, ok := strings.Cut(string(out), " v=")
	if !ok {
		return false
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 7
}

// startClusterNode starts node i and returns its address once it accepts
// connections; it tries other ports when the ones it picked were taken.
// With busFlag the cluster bus gets a free port of its own
// (--cluster-port), else port+10000, which must be free too.
func startClusterNode(t testing.TB, bin string, busFlag bool, i int) string {
	t.Helper()
	var lastLog string
	for range bindAttempts {
		var port, bus int
		if busFlag {
			ports, err := freePorts(2)
			if err != nil {
				t.Fatalf("redistest: no free loopback port: %v", err)
			}
			port, bus = ports[0], ports[1]
		} else {
			var err error
			if port, err = freePortWithBus(); err != nil {
				t.Fatalf("redistest: no free loopback port P with P+10000 free: %v", err)
			}
		}
		addr, log, err := tryClusterNode(t, bin, i, port, bus)
		if err == nil {
			return addr
		}
		if !errors.Is(err, errPortTaken) {
			t.Fatalf("redis-server (cluster node %d): %v:\n%s", i, err, log)
		}
		lastLog = log
	}
	t.Fatalf("redis-server (cluster node %d): its ports were taken %d times in a row:\n%s", i, bindAttempts, lastLog)
	return ""
}

var errPortTaken = errors.New("port taken")

// tryClusterNode starts one node on port (clients) and bus (cluster bus;
// 0: port+10000). It returns errPortTaken when redis-server could not bind
// them.
func tryClusterNode(t testing.TB, bin string, i, port, bus int) (string, string, error) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--cluster-enabled", "yes"}
	if bus != 0 {
		args = append(args, "--cluster-port", strconv.Itoa(bus))
	}
	cmd := exec.CommandContext(ctx, bin, append(args,
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		// Nodes ping each other at least every half node timeout:
		// at 1 s redis-cli --cluster create sees the cluster agree
		// in its first check (about 2 s in all), where the default
		// 15 s (or 5 s) takes 2 to 8 s. A node the others missed
		// for a second under load is flagged failed; without full
		// coverage required the others keep serving their slots
		// and it serves its own, so a slow moment is no outage.
		"--cluster-node-timeout", "1000",
		"--cluster-require-full-coverage", "no",
		"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", "")...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start redis-server (cluster node %d): %v", i, err)
	}
	watch := watchLog(out, readyLine)
	stop := func() {
		cancel()
		<-watch.exited // the pipe is read to its end before Wait closes it
		cmd.Wait()
	}
	logText := watch.text
	timer := time.NewTimer(clusterReadyTimeout)
	defer timer.Stop()
	select {
	case ok := <-watch.ready:
		if !ok {
			stop()
			log := logText()
			if strings.Contains(log, "Address already in use") {
				return "", log, errPortTaken
			}
			return "", log, errors.New("exited before it was ready")
		}
	case <-timer.C:
		stop()
		return "", logText(), fmt.Errorf("not ready within %s", clusterReadyTimeout)
	}
	t.Cleanup(stop)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "", nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago (all held open at once, so they differ).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// freePortWithBus returns a loopback TCP port P, free a moment ago, such
// that P+10000 (where Redis before 7 puts the cluster bus) was free too.
func freePortWithBus() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port, nil
	}
	return 0, errors.New("none found in 100 tries")
}

// waitOK polls every node's CLUSTER INFO until all agree that the cluster
// is up, or fails the test at ctx's deadline.
func (c *Cluster) waitOK(t testing.TB, ctx context.Context) {
	t.Helper()
	clients := make([]*redis.Client, len(c.Addrs))
	for i, a := range c.Addrs {
		clients[i] = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		defer clients[i].Close()
	}
	tick := time.NewTicker(clusterPoll)
	defer tick.Stop()
	var last string
	for {
		last = ""
		for i, cl := range clients {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil {
				err = clusterInfoOK(info, len(c.Addrs))
			}
			if err != nil {
				last = fmt.Sprintf("node %s: %v", c.Addrs[i], err)
				break
			}
		}
		if last == "" {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("redis cluster %v not up within %s: %s", c.Addrs, clusterReadyTimeout, last)
		}
	}
}

// clusterInfoOK says why the CLUSTER INFO text of one node does not show a
// whole cluster of n masters, or nil when it does.
func clusterInfoOK(info string, n int) error {
	fields := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": "16384",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    strconv.Itoa(n),
		"cluster_size":           strconv.Itoa(n),
	}
	for k, v := range want {
		if fields[k] != v {
			return fmt.Errorf("%s is %q, want %q", k, fields[k], v)
		}
	}
	return nil
}
