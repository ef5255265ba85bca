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
	}, storetest.Options{KeepsFinished: true, Settle: func(t *testing.T, s eap.Store) {
		if err := s.(*EAPStore).Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}})
}
