package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	eapstoretest "github.com/aaa-project/aaa/eap/storetest"
	"github.com/aaa-project/aaa/hss"
	hssstoretest "github.com/aaa-project/aaa/hss/storetest"
	"github.com/aaa-project/aaa/internal/redistest"
)

// newClusterClient is the client aaad makes for store.redis.addrs naming
// the cluster's seeds (NewClient), with a timeout that a loaded 2-core
// machine keeps.
func newClusterClient(t testing.TB, seeds []string) redis.UniversalClient {
	t.Helper()
	cfg := Config{Addrs: seeds, Timeout: 2 * time.Second}
	cfg.SetDefaults()
	if err := cfg.Validate("store.redis"); err != nil {
		t.Fatal(err)
	}
	rdb := NewClient(cfg)
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("NewClient with %d seeds made a %T, want a *redis.ClusterClient", len(seeds), rdb)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// The Redis stores keep their contracts on a Redis Cluster of three
// masters, through the client aaad makes for cluster seeds: every script
// names its keys in KEYS and the keys of one script or transaction share
// a slot (Cluster refuses anything else: CROSSSLOT, or a script touching
// a key of another node), every script of the package runs, and no
// command is sent to a node that does not hold its slot. Two processes
// draw SQNs for one subscriber from the cluster at once.
func TestCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	rec := newScriptRecorder()
	rdb := newClusterClient(t, cluster.Addrs)
	rdb.AddHook(rec)

	t.Run("EAPStoreContract", func(t *testing.T) {
		eapstoretest.Run(t, func(t *testing.T, cfg eapstoretest.Config) eap.Store {
			return NewEAPStore(rdb, EAPConfig{Now: cfg.Now})
		}, eapstoretest.Options{KeepsFinished: true, PeerShares: true, Settle: func(t *testing.T, s eap.Store) {
			// As TestEAPStore_Contract: replaced records go with the
			// next pipeline, or Flush.
			if err := s.(*EAPStore).Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}})
	})
	t.Run("SubscriberStoreContract", func(t *testing.T) {
		hssstoretest.Run(t, func(t *testing.T, subs []hss.Subscriber, sealer *hss.Sealer) hss.Store {
			s := NewSubscriberStore(rdb, "")
			for i := range subs {
				rec := hss.Record{Sealed: sealer.Seal(subs[i].IMSI, &subs[i].K, &subs[i].OPc), AMF: subs[i].AMF}
				if err := s.Put(context.Background(), subs[i].IMSI, rec, subs[i].SQN, aka.DefaultINDBits); err != nil {
					t.Fatal(err)
				}
			}
			return s
		})
	})
	t.Run("ScriptsRanWithKeys", func(t *testing.T) { rec.check(t) })
	t.Run("KeysOnEveryNode", func(t *testing.T) {
		// The suites' keys landed on every master: the runs above
		// crossed nodes, they did not happen to stay on one.
		ctx := context.Background()
		for _, addr := range cluster.Addrs {
			node := redis.NewClient(&redis.Options{Addr: addr})
			n, err := node.DBSize(ctx).Result()
			node.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("master %s holds no key", addr)
			}
		}
	})
	t.Run("NoRedirects", func(t *testing.T) {
		// Every command went to the node that holds its slot: no MOVED
		// (or ASK) answered (Redis counts error replies by prefix in
		// INFO errorstats). A script run without its keys, or a command
		// whose key go-redis cannot find, would be sent to any node and
		// cost a redirect each time.
		ctx := context.Background()
		for _, addr := range cluster.Addrs {
			node := redis.NewClient(&redis.Options{Addr: addr})
			info, err := node.Info(ctx, "errorstats").Result()
			node.Close()
			if err != nil {
				t.Fatal(err)
			}
			stats := errorStats(info)
			t.Logf("master %s error replies: %v", addr, stats)
			for _, e := range []string{"MOVED", "ASK", "CROSSSLOT"} {
				if stats[e] != 0 {
					t.Errorf("master %s answered %s %d times", addr, e, stats[e])
				}
			}
		}
	})
	t.Run("SQNTwoProcesses", func(t *testing.T) { testSQNTwoProcesses(t, cluster.Addrs) })
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
