package test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/internal/redistest"
)

// readsProcessed is redis-server's count of read events (requests read
// from a client; a pipeline is one), this INFO call's own included.
func readsProcessed(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_reads_processed:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO stats has no total_reads_processed")
	return 0
}

// A full EAP-AKA' authentication costs aaad three Redis round trips: the
// SQN step, the conversation the challenge leaves, and one pipeline that
// finishes it with the pseudonym and re-authentication context it handed
// out. One authentication at a time, so nothing shares a pipeline with
// another's commands; counted by redis-server itself.
func TestRedis_RoundTripsPerFullAuthentication(t *testing.T) {
	srv := redistest.Start(t)
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("1 "+strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	imsis := []string{"001010000000091", "001010000000092", "001010000000093"}
	cfg := serverConfig{RedisAddr: srv.Socket, KeyFile: kek}
	for _, imsi := range imsis {
		cfg.Subscribers = append(cfg.Subscribers, ts1Subscriber(imsi, "000000000000"))
	}
	s := startServer(t, cfg)
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket})
	t.Cleanup(func() { rdb.Close() })
	auth := func(imsi string, phase1 string) {
		t.Helper()
		requireSuccess(t, s.eapolTest(t, peerConfig{
			Method: "AKA'", Identity: akaPrimeIdentity(imsi), Phase1: phase1,
			Password: usimPassword(ts1K, ts1OPc, "000000000000"),
		}), 1)
	}
	// The first authentication opens aaad's connections and loads its
	// scripts: not counted.
	auth(imsis[0], "result_ind=1")
	for _, tc := range []struct {
		name, imsi, phase1 string
		want               int
	}{
		{"permanent identity", imsis[1], "", 3},
		// A protected success indication is one more request: the
		// conversation is stored once more before it finishes.
		{"with result indication", imsis[2], "result_ind=1", 4},
	} {
		before := readsProcessed(t, rdb)
		auth(tc.imsi, tc.phase1)
		got := readsProcessed(t, rdb) - before - 1 // this INFO's own read
		t.Logf("%s: %d Redis round trips", tc.name, got)
		if got > tc.want {
			t.Errorf("%s: %d Redis round trips, want at most %d", tc.name, got, tc.want)
		}
	}
}
