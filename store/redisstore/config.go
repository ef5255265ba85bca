package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the store.redis section: one server, Sentinel (MasterName) or
// Cluster seeds, all through go-redis's UniversalClient.
type Config struct {
	// Addrs: one host:port (or a Unix socket path) for one server; the
	// Sentinels with MasterName; the seed nodes of a Cluster (more than
	// one address and no MasterName).
	Addrs      []string `yaml:"addrs"`
	MasterName string   `yaml:"master_name"`
	Username   string   `yaml:"username"`
	Password   string   `yaml:"password"`
	DB         int      `yaml:"db"`
	TLS        bool     `yaml:"tls"`
	// Prefix starts every key ("aaa:").
	Prefix string `yaml:"prefix"`
	// Timeout bounds every operation as a whole, pool wait, dial and
	// retry included: a hung Redis costs this (twice, for a request
	// queued behind a pipeline already in flight), not go-redis's 5 s
	// defaults (which also ignore deadlines unless told not to); one
	// that refuses connections costs milliseconds.
	Timeout  time.Duration `yaml:"timeout"`
	PoolSize int           `yaml:"pool_size"`
}

// String keeps the password out of logs.
func (c Config) String() string {
	return fmt.Sprintf("redis{addrs:%v master:%q db:%d tls:%v REDACTED}", c.Addrs, c.MasterName, c.DB, c.TLS)
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Prefix == "" {
		c.Prefix = "aaa:"
	}
	if c.Timeout == 0 {
		c.Timeout = 250 * time.Millisecond
	}
}

// Validate checks c; errors name the key under prefix, never a value.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if len(c.Addrs) == 0 {
		bad("addrs", "at least one address is required")
	}
	for i, a := range c.Addrs {
		if strings.HasPrefix(a, "/") {
			continue // a Unix socket
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad(fmt.Sprintf("addrs[%d]", i), "want host:port or a socket path")
		}
	}
	if c.DB < 0 || c.DB > 15 {
		bad("db", "want 0 to 15")
	}
	if c.DB != 0 && len(c.Addrs) > 1 && c.MasterName == "" {
		bad("db", "a Cluster has only db 0")
	}
	if c.Timeout < 10*time.Millisecond || c.Timeout > 10*time.Second {
		bad("timeout", "want 10ms to 10s")
	}
	if c.PoolSize < 0 {
		bad("pool_size", "negative")
	}
	if strings.ContainsAny(c.Prefix, "{}") {
		bad("prefix", "must not hold { or }: they make Redis Cluster hash tags")
	}
	return errors.Join(errs...)
}

// NewClient returns the client for a validated c. It dials lazily: a Redis
// that is down at start is an error of the first operation, not of this.
func NewClient(c Config) redis.UniversalClient {
	o := &redis.UniversalOptions{
		Addrs:                 c.Addrs,
		MasterName:            c.MasterName,
		Username:              c.Username,
		Password:              c.Password,
		DB:                    c.DB,
		ContextTimeoutEnabled: true,
		DialTimeout:           c.Timeout,
		ReadTimeout:           c.Timeout,
		WriteTimeout:          c.Timeout,
		PoolTimeout:           c.Timeout,
		PoolSize:              c.PoolSize,
		// RESP2: with RESP3 (go-redis's default) every reply is preceded
		// by a peek for push notifications, a read syscall of its own,
		// and we subscribe to none.
		Protocol: 2,
		// One retry at most, and soon: a request that cannot be
		// answered correctly gets no answer, and the access point
		// retries on its own schedule.
		MaxRetries:      1,
		MinRetryBackoff: 5 * time.Millisecond,
		MaxRetryBackoff: 20 * time.Millisecond,
		// One dial attempt per connection. go-redis's default is 5
		// attempts 100 ms apart, inside each command attempt: a Redis
		// that refuses connections cost 400 ms a try, 0.65 s a request,
		// where one refused dial costs microseconds.
		DialerRetries: 1,
	}
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	rdb := redis.NewUniversalClient(o)
	rdb.AddHook(opBudget(c.Timeout))
	return rdb
}

// opBudget bounds each operation as a whole (pool wait, dial, write, read,
// its retry and the backoff before it) by Timeout: the per-step timeouts
// above bound each step, and a hung Redis (one that accepts connections
// and answers nothing) otherwise cost a read timeout, then a pool wait or
// a new connection's handshake for the retry: 0.5-0.8 s with a 250 ms
// timeout. A deadline ends an operation without a retry (go-redis retries
// no context error), so a retry happens only after a fast failure (a
// connection Redis closed when it restarted, a refused dial), which is
// when it helps.
type opBudget time.Duration

func (b opBudget) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b opBudget) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(b))
		defer cancel()
		return next(ctx, cmd)
	}
}

func (b opBudget) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(b))
		defer cancel()
		return next(ctx, cmds)
	}
}
