package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartCluster returns a cluster that serves every slot at once: a
// ClusterClient seeded with its addresses writes keys that land on every
// node, and the cluster refuses a command whose keys are in two slots.
func TestStartCluster(t *testing.T) {
	start := time.Now()
	c := StartCluster(t, 3)
	t.Logf("3-node cluster up in %s", time.Since(start).Round(time.Millisecond))
	if len(c.Addrs) != 3 {
		t.Fatalf("%d addresses, want 3", len(c.Addrs))
	}
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer rdb.Close()
	for i := range 300 {
		if err := rdb.Set(ctx, fmt.Sprintf("k:{%d}", i), "v", 0).Err(); err != nil {
			t.Fatalf("set key %d: %v", i, err)
		}
	}
	total := int64(0)
	for _, a := range c.Addrs {
		node := redis.NewClient(&redis.Options{Addr: a})
		n, err := node.DBSize(ctx).Result()
		node.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("node %s holds no key: the slots are not spread", a)
		}
		total += n
	}
	if total != 300 {
		t.Fatalf("the nodes hold %d keys, want 300", total)
	}
	// One node, asked directly for two keys of two slots, refuses.
	node := redis.NewClient(&redis.Options{Addr: c.Addrs[0]})
	defer node.Close()
	err := node.MGet(ctx, "k:{1}", "k:{2}").Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("MGET across slots on one node: %v, want CROSSSLOT", err)
	}
}

func TestClusterInfoOK(t *testing.T) {
	ok := "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_known_nodes:3\r\ncluster_size:3\r\n"
	if err := clusterInfoOK(ok, 3); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		strings.Replace(ok, "state:ok", "state:fail", 1),
		strings.Replace(ok, "assigned:16384", "assigned:16000", 1),
		strings.Replace(ok, "slots_ok:16384", "slots_ok:10", 1),
		strings.Replace(ok, "known_nodes:3", "known_nodes:2", 1),
		"",
	} {
		if err := clusterInfoOK(bad, 3); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := clusterInfoOK(ok, 4); err == nil {
		t.Error("3 nodes accepted for 4")
	}
}

// A redis-server before 7 has no --cluster-port: its bus is at port+10000,
// which StartCluster then checks is free too. Both ways start a node whose
// bus listens where it should.
func TestClusterNodeBus(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): run scripts/install-test-deps.sh", err)
	}
	flag := hasClusterPortFlag(bin)
	t.Logf("redis-server takes --cluster-port: %v", flag)
	for _, busFlag := range []bool{false, flag} {
		addr := startClusterNode(t, bin, busFlag, 0)
		node := redis.NewClient(&redis.Options{Addr: addr})
		bus, err := node.ConfigGet(context.Background(), "cluster-port").Result()
		node.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, portText, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		busPort := port + 10000
		if b := bus["cluster-port"]; b != "" && b != "0" {
			busPort, _ = strconv.Atoi(b)
		}
		if !busFlag && busPort != port+10000 {
			t.Errorf("without --cluster-port the bus is at %d, want %d", busPort, port+10000)
		}
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(busPort)))
		if err != nil {
			t.Fatalf("node %s (--cluster-port used: %v): bus port %d: %v", addr, busFlag, busPort, err)
		}
		c.Close()
	}
}
