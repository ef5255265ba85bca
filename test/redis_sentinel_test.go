package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/internal/redistest"
)

// sentinelFollowDeadline bounds how long after the Sentinel switched the
// master aaad may take to authenticate on the new one.
const sentinelFollowDeadline = 10 * time.Second

// aaad on a Sentinel (store.redis.addrs the Sentinel, master_name set)
// follows a failover by itself: after SENTINEL FAILOVER promotes the
// replica, which had the SQN of the last authentication (WAIT), eapol_test's
// USIM, holding that SQN, authenticates again without a resynchronisation,
// and the SQN advances on the new master, not on the old one.
func TestRedisSentinel_FailoverKeepsSQNs(t *testing.T) {
	t.Parallel()
	sen := redistest.StartSentinel(t)
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("2026 "+strings.Repeat("6b", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const imsi = "001010000000096"
	s := startServer(t, serverConfig{
		Subscribers:     []subscriber{ts1Subscriber(imsi, "000000000000")},
		Methods:         []string{"aka-prime"},
		RedisAddr:       sen.Addr,
		RedisMasterName: sen.MasterName,
		KeyFile:         kek,
	})
	indBits := uint(aka.DefaultINDBits)

	requireSuccess(t, s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi),
		Password: usimPassword(ts1K, ts1OPc, "000000000000"), Timeout: 5}), 1)
	sqnBefore := redisSQN(t, sen.Master, imsi, indBits)
	if sqnBefore == 0 {
		t.Fatalf("SQN of %s on the master %s is still 0 after an authentication: aaad did not write there", imsi, sen.Master)
	}
	// Replication is asynchronous: the replica must have the SQN before
	// it is promoted, or the test would measure a lost write, not aaad.
	master := redis.NewClient(&redis.Options{Addr: sen.Master})
	defer master.Close()
	if n, err := master.Wait(context.Background(), 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 1000 on the master: %d replicas acknowledged (%v), want 1", n, err)
	}
	if got := redisSQN(t, sen.Replica, imsi, indBits); got != sqnBefore {
		t.Fatalf("SQN of %s on the replica %012x, on the master %012x after WAIT", imsi, uint64(got), uint64(sqnBefore))
	}

	start := time.Now()
	newMaster := sen.Failover()
	switched := time.Now()
	logged := len(strings.Split(s.log.String(), "\n"))
	t.Logf("SENTINEL FAILOVER: %s is the master after %s", newMaster, switched.Sub(start).Round(time.Millisecond))

	// The USIM holds the SQN of the last authentication: it accepts the
	// next challenge only if its SQN is above (else it resynchronises).
	// Retried while aaad has not followed yet (no answer, a failure);
	// a resynchronisation ends the test at once.
	var r eapolResult
	for attempt := 1; ; attempt++ {
		r = s.eapolTest(t, peerConfig{Method: "AKA'", Identity: akaPrimeIdentity(imsi),
			Password: usimPassword(ts1K, ts1OPc, fmt.Sprintf("%012x", uint64(sqnBefore))), Timeout: 3})
		if r.Contains(syncFailureSent) || r.Contains(syncFailureAUTN) {
			t.Fatalf("attempt %d after the failover: the USIM holding SQN %012x saw an SQN not above it (it resynchronised): the new master lacked the last SQN\n%s",
				attempt, uint64(sqnBefore), r.Output)
		}
		if r.Success() {
			t.Logf("authenticated on attempt %d, %s after the switch", attempt, time.Since(switched).Round(time.Millisecond))
			break
		}
		if time.Since(switched) > sentinelFollowDeadline {
			t.Fatalf("aaad did not authenticate within %s of the failover (%d attempts); last: %s\n%s",
				sentinelFollowDeadline, attempt, r.summary(), r.Output)
		}
		t.Logf("attempt %d after the failover failed: %s", attempt, r.summary())
	}
	requireSuccess(t, r, 1)
	for _, l := range strings.Split(s.log.String(), "\n")[logged:] {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) || strings.Contains(l, "redis: ") {
			t.Logf("aaad after the failover: %s", l)
		}
	}

	sqnAfter := redisSQN(t, newMaster, imsi, indBits)
	if sqnAfter <= sqnBefore {
		t.Fatalf("SQN of %s on the new master %012x after an authentication; want above %012x", imsi, uint64(sqnAfter), uint64(sqnBefore))
	}
	// The old master is still up (the Sentinel turns it into a replica
	// some seconds later): aaad must not have written there. Once turned,
	// it holds the new master's data.
	if old := redisSQN(t, sen.Master, imsi, indBits); old != sqnBefore && old != sqnAfter {
		t.Fatalf("SQN of %s on the old master %012x, before the failover %012x, on the new master %012x: aaad wrote to the old master after the switch",
			imsi, uint64(old), uint64(sqnBefore), uint64(sqnAfter))
	}
}
