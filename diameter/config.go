package diameter

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Config is the diameter section of the configuration file: this node's
// identity and the timers of its peer connections (RFC 6733).
type Config struct {
	// OriginHost and OriginRealm name this node in every message
	// (DiameterIdentity, RFC 6733 4.3.1).
	OriginHost  string `yaml:"origin_host"`
	OriginRealm string `yaml:"origin_realm"`
	// Watchdog is Tw (RFC 3539 3.4.1): a connection quiet that long gets a
	// Device-Watchdog-Request; one quiet for twice that is given up and
	// its requests fail over.
	Watchdog time.Duration `yaml:"watchdog"`
	// RequestTimeout bounds one attempt of a request on one peer; past it
	// the request fails over to the next peer, while the caller's own
	// deadline lasts.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between attempts to
	// reach a configured peer (doubled after each failure, with jitter).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// MaxMessage bounds a message read from a peer, in octets; a longer
	// one ends the connection (its framing can no longer be trusted).
	MaxMessage int `yaml:"max_message"`
	// MaxInFlight bounds the requests from one connection being handled
	// at once; past it a peer gets DIAMETER_TOO_BUSY, so that one peer
	// cannot take the service from the others.
	MaxInFlight int `yaml:"max_in_flight"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Watchdog == 0 {
		c.Watchdog = 30 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 500 * time.Millisecond
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 30 * time.Second
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = 64 << 10
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
}

// Validate checks the section; prefix names it in messages.
func (c *Config) Validate(prefix string) error {
	var errs []error
	if err := checkIdentity(c.OriginHost); err != nil {
		errs = append(errs, fmt.Errorf("%s.origin_host: %w", prefix, err))
	}
	if err := checkIdentity(c.OriginRealm); err != nil {
		errs = append(errs, fmt.Errorf("%s.origin_realm: %w", prefix, err))
	}
	if c.Watchdog < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("%s.watchdog: at least 100ms (RFC 3539 suggests 30s)", prefix))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.request_timeout: must be positive", prefix))
	}
	if c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("%s.reconnect_min, reconnect_max: want 0 < min <= max", prefix))
	}
	if c.MaxMessage < 4096 || c.MaxMessage > 1<<20 {
		// SWx and Diameter EAP messages take a few KiB; the bound times
		// the handlers in flight is the memory a peer can fill.
		errs = append(errs, fmt.Errorf("%s.max_message: between 4096 and 1048576 octets", prefix))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("%s.max_in_flight: at least 1", prefix))
	}
	return errors.Join(errs...)
}

// checkIdentity accepts a DiameterIdentity: an FQDN-like name of letters,
// digits, '-' and '.'.
func checkIdentity(s string) error {
	if s == "" {
		return errors.New("required")
	}
	if len(s) > 255 {
		return errors.New("longer than 255 characters")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return errors.New("want letters, digits, '-' and '.' only")
			}
		}
	}
	return nil
}

// PeerConfig is a peer this node connects to.
type PeerConfig struct {
	// Host is the peer's Origin-Host, checked against its CEA.
	Host string `yaml:"host"`
	// Address is host:port to connect to.
	Address string     `yaml:"address"`
	TLS     *TLSConfig `yaml:"tls"`
	// Apps are the applications served to this peer, advertised in the
	// CER; empty: all the node's. Set by the program, not the file.
	Apps []App `yaml:"-"`
}

// Validate checks p; key names it in messages.
func (p *PeerConfig) Validate(key string) error {
	var errs []error
	if err := checkIdentity(p.Host); err != nil {
		errs = append(errs, fmt.Errorf("%s.host: %w", key, err))
	}
	if _, _, err := net.SplitHostPort(p.Address); err != nil {
		errs = append(errs, fmt.Errorf("%s.address: want host:port", key))
	}
	if p.TLS != nil {
		errs = append(errs, p.TLS.validate(key+".tls", false))
	}
	return errors.Join(errs...)
}

// ListenConfig is a listener for peers that connect to this node.
type ListenConfig struct {
	// Listen is host:port.
	Listen string `yaml:"listen"`
	// Peers are the Origin-Hosts allowed to connect; any other gets
	// DIAMETER_UNKNOWN_PEER in its CEA and the connection ends. A name
	// is only a claim: without TLS, Sources (or a firewall) must say who
	// may connect at all; with TLS and a CA file, the name must be one
	// of the peer's certificate.
	Peers []string `yaml:"peers"`
	// Sources, when set, are the addresses (CIDR prefixes or single
	// addresses) connections are taken from; any other is closed unread.
	Sources []string   `yaml:"sources"`
	TLS     *TLSConfig `yaml:"tls"`
	// Apps are the applications served on this listener, advertised in
	// its CEAs: a request of another gets DIAMETER_APPLICATION_UNSUPPORTED
	// even if the node serves it elsewhere (an HSS's SWx is not for the
	// gateways of its Diameter EAP listener). Empty: all the node's. Set
	// by the program, not the file.
	Apps []App `yaml:"-"`
}

// Validate checks l; key names it in messages.
func (l *ListenConfig) Validate(key string) error {
	var errs []error
	if _, _, err := net.SplitHostPort(l.Listen); err != nil {
		errs = append(errs, fmt.Errorf("%s.listen: want host:port", key))
	}
	if len(l.Peers) == 0 {
		errs = append(errs, fmt.Errorf("%s.peers: at least one Origin-Host allowed to connect", key))
	}
	for i, p := range l.Peers {
		if err := checkIdentity(p); err != nil {
			errs = append(errs, fmt.Errorf("%s.peers[%d]: %w", key, i, err))
		}
	}
	for i, src := range l.Sources {
		if _, err := parsePrefix(src); err != nil {
			errs = append(errs, fmt.Errorf("%s.sources[%d]: %w", key, i, err))
		}
	}
	if l.TLS != nil {
		errs = append(errs, l.TLS.validate(key+".tls", true))
	}
	return errors.Join(errs...)
}

// TLSConfig is TLS on a peer connection (RFC 6733 13: TLS from the first
// octet, as on port 5658).
type TLSConfig struct {
	// CertFile and KeyFile are this node's certificate chain and key
	// (PEM); required to listen, optional to connect.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// CAFile holds the CAs that sign the peers' certificates (PEM); the
	// system's pool when empty. A listener with a CA file requires and
	// checks client certificates.
	CAFile string `yaml:"ca_file"`
	// ServerName checks the peer's certificate when connecting; the
	// peer's host when empty.
	ServerName string `yaml:"server_name"`
}

func (t *TLSConfig) validate(key string, server bool) error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%s: cert_file and key_file go together", key)
	}
	if server && t.CertFile == "" {
		return fmt.Errorf("%s.cert_file: required to listen with TLS", key)
	}
	return nil
}

// Build returns the crypto/tls configuration: for a server when server,
// else for a client of host.
func (t *TLSConfig) Build(host string, server bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	var pool *x509.CertPool
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_file: no certificate in it")
		}
	}
	if server {
		if pool != nil {
			c.ClientCAs = pool
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	c.RootCAs = pool
	c.ServerName = t.ServerName
	if c.ServerName == "" {
		c.ServerName = host
	}
	return c, nil
}
