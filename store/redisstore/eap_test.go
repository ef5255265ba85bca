package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/eap/storetest"
	"github.com/aaa-project/aaa/internal/redistest"
)

func newClient(t testing.TB, srv *redistest.Server) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{srv.Socket},
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// The Redis store keeps the contract every eap.Store keeps, against a real
// redis-server.
func TestEAPStore_Contract(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) eap.Store {
		return NewEAPStore(rdb, EAPConfig{Now: cfg.Now})
	}, storetest.Options{KeepsFinished: true, PeerShares: true, Settle: func(t *testing.T, s eap.Store) {
		if err := s.(*EAPStore).Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}})
}

// A Redis that lost its scripts (a restart, a failover, SCRIPT FLUSH)
// still gets every step, with the script sent once more.
func TestEAPStore_ScriptsFlushed(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	ctx := context.Background()
	s := NewEAPStore(rdb, EAPConfig{CacheSize: -1})
	c := eap.Conversation{State: eap.StateChallenge, Expires: time.Now().Add(time.Minute)}
	c.ID[0] = 1
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	for i, step := range []func() error{
		func() error { return s.Put(ctx, &c) },
		func() error {
			done := c
			done.State, done.Reply = eap.StateDone, []byte{3, 1, 0, 4}
			return s.Finish(ctx, &done, nil)
		},
	} {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := step(); err != nil {
			t.Fatalf("step %d after SCRIPT FLUSH: %v", i, err)
		}
	}
	var got eap.Conversation
	if err := s.GetFresh(ctx, c.ID, &got); err != nil || got.State != eap.StateDone {
		t.Fatalf("get: %v, state %v", err, got.State)
	}
}
