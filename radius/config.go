package radius

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is the radius section of the configuration file.
type Config struct {
	// Listen is the UDP address to serve, host:port.
	Listen  string         `yaml:"listen"`
	Clients []ClientConfig `yaml:"clients"`
	// AccountingListen is the UDP address of RADIUS accounting (RFC
	// 2866), host:port. Unset: the host of Listen with port 1813 (port 0,
	// any free port, when Listen's port is 0); "off": no accounting.
	AccountingListen string `yaml:"accounting_listen"`
	// CUIKeyFile, when set, names a file whose content (at least 16
	// octets) keys the Chargeable-User-Identity (RFC 4372) sent to access
	// points that ask for it: HMAC-SHA256 of the IMSI, so the same
	// subscriber gets the same value on every node that shares the file.
	// Unset, a random key is drawn at start, and the values change on
	// every restart.
	CUIKeyFile string `yaml:"cui_key_file"`
	// SessionTimeout, when set, is sent in Access-Accept (RFC 2865 5.27).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// SessionLifetime is how long the session table (SetSessions) keeps a
	// session opened by an Access-Accept when SessionTimeout is not set
	// (with it, the session ends at the Session-Timeout the Accept sent).
	// Set it above the access points' own session lifetime: a session
	// forgotten early cannot be ended on an RTR.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
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
	// Sockets bounds the UDP sockets: one per client and one for sources
	// that are no client, each with its own receive buffer, so that a
	// client that floods fills only its own (Linux; elsewhere one socket).
	// Clients past it share sockets.
	Sockets int `yaml:"sockets"`
	// DropLogInterval is how often dropped requests are summarised in the
	// log, by source and reason (one line per packet would let a flood
	// fill the disk).
	DropLogInterval time.Duration `yaml:"drop_log_interval"`

	// ConversationCapacity is not read from the file: the program sets it
	// to the EAP store's bound (eap.max_conversations), which clients
	// without a max_conversations of their own share evenly.
	ConversationCapacity int `yaml:"-"`
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
	// DAS is where Disconnect-Requests (RFC 5176) for this client's
	// sessions go, an IP address or ip:port; unset, to the address the
	// session's Access-Request came from. DASPort is the port when DAS
	// names none; unset, 3799.
	DAS     string `yaml:"das"`
	DASPort int    `yaml:"das_port"`
}

// String keeps the secret out of logs.
func (c ClientConfig) String() string {
	s := "{" + c.Name + " " + c.Address + " REDACTED"
	if c.DAS != "" {
		s += " das=" + c.DAS
	}
	if c.DASPort != 0 {
		s += " das_port=" + strconv.Itoa(c.DASPort)
	}
	return s + "}"
}

// DefaultAccountingPort is the RADIUS accounting port (RFC 2866);
// AccountingOff, as radius.accounting_listen, turns accounting off.
const (
	DefaultAccountingPort = 1813
	AccountingOff         = "off"
)

// DefaultDASPort is the Disconnect-Request port of RFC 5176 3.
const DefaultDASPort = 3799

// parseDAS reads a client's das and das_port: the address (invalid when
// das is unset: the session's NAS address) and the port.
func parseDAS(das string, dasPort int) (netip.Addr, uint16, error) {
	port := uint16(DefaultDASPort)
	if dasPort != 0 {
		if dasPort < 1 || dasPort > 65535 {
			return netip.Addr{}, 0, errDASPort
		}
		port = uint16(dasPort)
	}
	if das == "" {
		return netip.Addr{}, port, nil
	}
	a, err := netip.ParseAddr(das)
	if err != nil {
		ap, err := netip.ParseAddrPort(das)
		if err != nil {
			return netip.Addr{}, 0, errDASSyntax
		}
		if dasPort != 0 {
			return netip.Addr{}, 0, errDASTwoPorts
		}
		if ap.Port() == 0 {
			return netip.Addr{}, 0, errDASPortZero
		}
		a, port = ap.Addr(), ap.Port()
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
		return netip.Addr{}, 0, errDASNotUnicast
	}
	return a, port, nil
}

var (
	errDASPort       = errors.New("want 1 to 65535 (0 or unset: 3799)")
	errDASSyntax     = errors.New("want an IP address or ip:port")
	errDASTwoPorts   = errors.New("names a port and das_port is set too; give the port in one of them")
	errDASPortZero   = errors.New("port 0")
	errDASNotUnicast = errors.New("not a unicast address")
)

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:1812"
	}
	if c.AccountingListen == "" {
		if ap, err := netip.ParseAddrPort(c.Listen); err == nil {
			port := uint16(DefaultAccountingPort)
			if ap.Port() == 0 {
				port = 0
			}
			c.AccountingListen = netip.AddrPortFrom(ap.Addr(), port).String()
		}
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
	if c.Sockets == 0 {
		c.Sockets = 16
	}
	if c.DropLogInterval == 0 {
		c.DropLogInterval = 10 * time.Second
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 24 * time.Hour
	}
	if c.DuplicateCacheSize == 0 {
		// 1024 access points using all 256 Identifiers; about 0.4 KiB
		// an entry when full.
		c.DuplicateCacheSize = 1 << 18
	}
}

// Validate checks c; errors name the key at fault under prefix (e.g.
// "radius"), never its value: a secret typed into the wrong field must not
// reach a log.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		bad("listen", "want ip:port")
	}
	if c.AccountingListen != "" && c.AccountingListen != AccountingOff {
		if _, err := netip.ParseAddrPort(c.AccountingListen); err != nil {
			bad("accounting_listen", `want ip:port, or "off"`)
		} else if c.AccountingListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			bad("accounting_listen", "the same address as radius.listen")
		}
	}
	if len(c.Clients) == 0 {
		bad("clients", "at least one client is required")
	}
	names := map[string]int{}
	prefixes := map[netip.Prefix]int{}
	for i, cl := range c.Clients {
		key := fmt.Sprintf("clients[%d]", i)
		if cl.Name == "" {
			bad(key+".name", "empty")
		} else if j, dup := names[cl.Name]; dup {
			bad(key+".name", fmt.Sprintf("duplicate of clients[%d].name", j))
		} else {
			names[cl.Name] = i
		}
		if p, err := parsePrefix(cl.Address); err != nil {
			bad(key+".address", "want a CIDR prefix or an IP address")
		} else if p.Addr().Is4In6() {
			// Sources are matched unmapped: this would never match.
			bad(key+".address", "an IPv4-mapped IPv6 address never matches; write the IPv4 address or prefix")
		} else if raw, err := netip.ParsePrefix(cl.Address); err == nil && raw != p {
			bad(key+".address", fmt.Sprintf("host bits set; did you mean %s?", p))
		} else if j, dup := prefixes[p]; dup {
			bad(key+".address", fmt.Sprintf("duplicate of clients[%d].address (after masking): only one of the two secrets would ever be used", j))
		} else {
			prefixes[p] = i
		}
		switch {
		case cl.Secret == "":
			bad(key+".secret", "empty")
		case strings.TrimSpace(cl.Secret) != cl.Secret:
			bad(key+".secret", "has leading or trailing white space")
		case len(cl.Secret) < minSecretLen:
			bad(key+".secret", fmt.Sprintf("shorter than %d characters; use a long random secret (%d or more)", minSecretLen, goodSecretLen))
		}
		if cl.MaxConversations < 0 {
			bad(key+".max_conversations", "negative (0 or unset: an even share of eap.max_conversations)")
		}
		if cl.DuplicateCacheSize < 0 {
			bad(key+".duplicate_cache_size", "negative (0 or unset: an even share of radius.duplicate_cache_size)")
		}
		if _, _, err := parseDAS(cl.DAS, cl.DASPort); err != nil {
			if errors.Is(err, errDASPort) {
				bad(key+".das_port", err.Error())
			} else {
				bad(key+".das", err.Error())
			}
		}
	}
	if c.SessionLifetime <= 0 {
		bad("session_lifetime", "must be positive")
	}
	switch st := c.SessionTimeout; {
	case st < 0:
		bad("session_timeout", "negative")
	case st == 0:
		// Not sent.
	case st < time.Second:
		bad("session_timeout", "below 1s (it would be sent as 0 seconds); want 0 (not sent) or at least 1s")
	case st%time.Second != 0:
		bad("session_timeout", "not a whole number of seconds (Session-Timeout carries seconds)")
	case st/time.Second > math.MaxUint32:
		bad("session_timeout", "above 4294967295s, the largest Session-Timeout")
	}
	if c.ReadBuffer < 0 {
		bad("read_buffer", "negative")
	}
	if c.Workers < 1 || c.Workers > maxWorkers {
		bad("workers", fmt.Sprintf("want 1 to %d", maxWorkers))
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
	if c.Sockets < 1 || c.Sockets > 64 {
		bad("sockets", "want 1 to 64")
	}
	if c.DropLogInterval < time.Second {
		bad("drop_log_interval", "at least 1s")
	}
	return errors.Join(errs...)
}

// Secret lengths: shorter than minSecretLen is refused, shorter than
// goodSecretLen warned about. Message-Authenticator keeps BlastRADIUS
// (CVE-2024-3596) out, but an offline guess of the secret from one captured
// packet is only as hard as the secret: use long random ones.
const (
	minSecretLen  = 8
	goodSecretLen = 16
)

// maxWorkers bounds radius.workers: each worker holds its buffers from the
// start (65536 of them took 385 MB).
const maxWorkers = 4096

// Warnings returns what is allowed but risky in a valid c, each naming its
// key under prefix and never a value.
func (c *Config) Warnings(prefix string) []string {
	var ws []string
	warn := func(key, msg string) { ws = append(ws, fmt.Sprintf("%s.%s: %s", prefix, key, msg)) }
	sumDup := 0
	for i, cl := range c.Clients {
		key := fmt.Sprintf("clients[%d]", i)
		if p, err := parsePrefix(cl.Address); err == nil && p.Bits() == 0 {
			warn(key+".address", "matches every source address: anyone who learns the secret can use this server")
		}
		if n := len(cl.Secret); n >= minSecretLen && n < goodSecretLen {
			warn(key+".secret", fmt.Sprintf("shorter than %d characters; use a long random secret (BlastRADIUS guidance)", goodSecretLen))
		}
		if cl.DuplicateCacheSize > 0 {
			sumDup += cl.DuplicateCacheSize
		}
	}
	if sumDup > c.DuplicateCacheSize {
		warn("clients[].duplicate_cache_size", "the clients' shares add up to more than radius.duplicate_cache_size: a client can crowd out the others")
	}
	return ws
}

// clients turns the validated configuration into the client table. A
// client without shares of its own gets the global bounds divided evenly
// among the clients: then the shares add up to no more than the whole, and
// no client can fill what the others need.
func (c *Config) clients() ([]Client, error) {
	out := make([]Client, 0, len(c.Clients))
	n := max(1, len(c.Clients))
	for _, cl := range c.Clients {
		p, err := parsePrefix(cl.Address)
		if err != nil {
			return nil, err
		}
		conv, dedup := cl.MaxConversations, cl.DuplicateCacheSize
		if conv == 0 && c.ConversationCapacity > 0 {
			conv = max(1, c.ConversationCapacity/n)
		}
		if dedup == 0 {
			dedup = max(256, c.DuplicateCacheSize/n)
		}
		dasAddr, dasPort, err := parseDAS(cl.DAS, cl.DASPort)
		if err != nil {
			return nil, err
		}
		out = append(out, Client{Name: cl.Name, Prefix: p, Secret: Secret(cl.Secret),
			MaxConversations: conv, DuplicateCacheSize: dedup, DASAddr: dasAddr, DASPort: dasPort})
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
