package redisstore

import (
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
	// Timeout bounds every operation, dial included: a dead Redis costs
	// this, not go-redis's 5 s defaults (which also ignore deadlines
	// unless told not to).
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
		// One retry at most, and soon: a request that cannot be
		// answered correctly gets no answer, and the access point
		// retries on its own schedule.
		MaxRetries:      1,
		MinRetryBackoff: 5 * time.Millisecond,
		MaxRetryBackoff: 20 * time.Millisecond,
	}
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return redis.NewUniversalClient(o)
}
