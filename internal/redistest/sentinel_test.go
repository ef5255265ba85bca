package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A FailoverClient on StartSentinel's Sentinel writes to the master; after
// Failover it writes to the promoted replica, which has what was written
// before (replicated, WAIT).
func TestStartSentinel(t *testing.T) {
	start := time.Now()
	s := StartSentinel(t)
	t.Logf("master %s, replica %s, sentinel %s up in %s", s.Master, s.Replica, s.Addr, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: []string{s.Addr}})
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	master := redis.NewClient(&redis.Options{Addr: s.Master})
	defer master.Close()
	if n, err := master.Wait(ctx, 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 1000 on the master: %d, %v", n, err)
	}
	start = time.Now()
	if got := s.Failover(); got != s.Replica {
		t.Fatalf("new master %s, want the replica %s", got, s.Replica)
	}
	t.Logf("failover in %s", time.Since(start).Round(time.Millisecond))
	if got, err := s.MasterAddr(ctx); err != nil || got != s.Replica {
		t.Fatalf("sentinel reports %q (%v), want %s", got, err, s.Replica)
	}
	promoted := redis.NewClient(&redis.Options{Addr: s.Replica})
	defer promoted.Close()
	if v, err := promoted.Get(ctx, "k").Result(); err != nil || v != "before" {
		t.Fatalf("k on the promoted replica: %q, %v", v, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := rdb.Set(ctx, "k", "after", 0).Err()
		v, _ := promoted.Get(ctx, "k").Result()
		if err == nil && v == "after" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the FailoverClient did not write to the new master within 5s: %v, k=%q there", err, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
