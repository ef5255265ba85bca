package test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/aaa-project/aaa/internal/redistest"
)

// Two aaad nodes sharing a Redis Cluster of three masters (store.redis.addrs
// the three seeds) finish eapol_test's conversations while every packet
// goes to the other node than the one before, as on one Redis
// (TestRedis_TwoNodesAlternating). Every command went to the master that
// holds its slot (no MOVED, ASK or CROSSSLOT answered), and no key on any
// master holds a subscriber's K or OPc, or the KEK, in any encoding.
func TestRedisCluster_TwoNodesAlternating(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartCluster(t, 3)
	run := runTwoNodesAlternating(t, cluster.Addrs)
	masters := masterClients(t, cluster.Addrs)
	for name, rdb := range masters {
		info, err := rdb.Info(context.Background(), "errorstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		stats := errorStats(info)
		for _, e := range []string{"MOVED", "ASK", "CROSSSLOT"} {
			if stats[e] != 0 {
				t.Errorf("%s answered %s %d times: aaad sent commands to a node that does not hold their slot", name, e, stats[e])
			}
		}
	}
	run.requireNoSecrets(t, masters)
}

// errorStats parses INFO errorstats ("errorstat_MOVED:count=3") into counts
// by error prefix.
func errorStats(info string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "errorstat_") {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(rest, "count="))
		out[strings.TrimPrefix(name, "errorstat_")] = n
	}
	return out
}
