package radius

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is the radius section of the configuration file.
type Config struct {
	// Listen is the UDP address to serve, host:port.
	Listen  string         `yaml:"listen"`
	Clients []ClientConfig `yaml:"clients"`
	// SessionTimeout, when set, is sent in Access-Accept (RFC 2865 5.27).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// Workers is how many requests are processed at once; each reads its
	// own datagram. Each waits for its vector source, so a remote HSS needs
	// more of them than the built-in one. Datagrams beyond what they take
	// wait in the socket's receive buffer (ReadBuffer), past which the
	// kernel drops and counts them (netstat -su: receive buffer errors).
	Workers int `yaml:"workers"`
	// ReadBuffer, when set, is the socket receive buffer in bytes
	// (SO_RCVBUF; Linux caps it at net.core.rmem_max).
	ReadBuffer int `yaml:"read_buffer"`
	// RequestTimeout bounds the work on one request (vector fetch included).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// DuplicateCache is how long an answer is kept to replay to a
	// retransmission (RFC 5080 2.2.2): longer than the access points' whole
	// retransmission schedule. One answer is kept per source address and
	// Identifier, so DuplicateCacheSize needs 256 per active source port
	// (answers past it are not cached, counted as duplicate_cache_full).
	DuplicateCache     time.Duration `yaml:"duplicate_cache"`
	DuplicateCacheSize int           `yaml:"duplicate_cache_size"`
}

// ClientConfig is one entry of radius.clients.
type ClientConfig struct {
	Name string `yaml:"name"`
	// Address is a CIDR prefix or a single IP address.
	Address string `yaml:"address"`
	Secret  string `yaml:"secret"`
	// MaxConversations is this client's share of the EAP conversations
	// held at once; DuplicateCacheSize its share of the duplicate cache.
	// Unset, each is the global bound (eap.max_conversations,
	// radius.duplicate_cache_size) divided evenly among the clients, so
	// that a client that floods fills only its own share.
	MaxConversations   int `yaml:"max_conversations"`
	DuplicateCacheSize int `yaml:"duplicate_cache_size"`
}

// String keeps the secret out of logs.
func (c ClientConfig) String() string { return "{" + c.Name + " " + c.Address + " REDACTED}" }

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:1812"
	}
	if c.Workers == 0 {
		c.Workers = 256
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.DuplicateCache == 0 {
		c.DuplicateCache = 30 * time.Second
	}
	if c.DuplicateCacheSize == 0 {
		// 1024 access points using all 256 Identifiers; about 0.4 KiB
		// an entry when full.
		c.DuplicateCacheSize = 1 << 18
	}
}

// Validate checks c; errors name the key at fault under prefix (e.g.
// "radius"), never a secret.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		bad("listen", "want ip:port")
	}
	if len(c.Clients) == 0 {
		bad("clients", "at least one client is required")
	}
	names := map[string]bool{}
	for i, cl := range c.Clients {
		key := fmt.Sprintf("clients[%d]", i)
		if cl.Name == "" {
			bad(key+".name", "empty")
		} else if names[cl.Name] {
			bad(key+".name", "duplicate "+cl.Name)
		}
		names[cl.Name] = true
		if _, err := parsePrefix(cl.Address); err != nil {
			bad(key+".address", "want a CIDR prefix or an IP address")
		}
		if cl.Secret == "" {
			bad(key+".secret", "empty")
		} else if strings.TrimSpace(cl.Secret) != cl.Secret {
			bad(key+".secret", "has leading or trailing white space")
		}
	}
	if c.SessionTimeout < 0 {
		bad("session_timeout", "negative")
	}
	if c.ReadBuffer < 0 {
		bad("read_buffer", "negative")
	}
	if c.Workers < 1 || c.Workers > 65536 {
		bad("workers", "want 1 to 65536")
	}
	if c.RequestTimeout <= 0 {
		bad("request_timeout", "must be positive")
	}
	if c.DuplicateCache <= 0 {
		bad("duplicate_cache", "must be positive")
	}
	if c.DuplicateCacheSize < 1 {
		bad("duplicate_cache_size", "must be positive")
	}
	return errors.Join(errs...)
}

// clients turns the validated configuration into the client table.
func (c *Config) clients() ([]Client, error) {
	out := make([]Client, 0, len(c.Clients))
	for _, cl := range c.Clients {
		p, err := parsePrefix(cl.Address)
		if err != nil {
			return nil, err
		}
		out = append(out, Client{Name: cl.Name, Prefix: p, Secret: Secret(cl.Secret)})
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
