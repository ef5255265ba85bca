package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/privacy"
	"github.com/aaa-project/aaa/radius"
	"github.com/aaa-project/aaa/store/redisstore"
)

// Config is the whole configuration file. Each section validates itself and
// names the YAML key at fault.
type Config struct {
	Log           LogConfig          `yaml:"log"`
	RADIUS        radius.Config      `yaml:"radius"`
	EAP           EAPConfig          `yaml:"eap"`
	HSS           HSSConfig          `yaml:"hss"`
	Diameter      diameter.Config    `yaml:"diameter"`
	DiameterEAP   *DiameterEAPConfig `yaml:"diameter_eap"`
	Store         StoreConfig        `yaml:"store"`
	Admin         AdminConfig        `yaml:"admin"`
	ShutdownGrace time.Duration      `yaml:"shutdown_grace"`

	// hasRADIUS: the file has a radius section. A node without one that
	// serves SWx (an HSS node) runs no RADIUS listener (runsRADIUS).
	hasRADIUS bool
	// hasDiameter: the file has a diameter section.
	hasDiameter bool
}

// HSSConfig is the hss section: where vectors come from (hss.Config), the
// remote HSS over SWx when hss.backend is swx, and the SWx server through
// which this node's built-in HSS serves other AAA nodes.
type HSSConfig struct {
	hss.Config `yaml:",inline"`
	SWx        SWxConfig        `yaml:"swx"`
	SWxServer  *SWxServerConfig `yaml:"swx_server"`
}

// SWxConfig is hss.swx: the HSS peers and how vectors and registrations
// are asked for (TS 29.273 8).
type SWxConfig struct {
	// DestinationRealm is the HSS's realm (Destination-Realm of every
	// request); DestinationHost, when set, names the HSS itself.
	DestinationRealm string `yaml:"destination_realm"`
	DestinationHost  string `yaml:"destination_host"`
	// Peers are the HSSs (or relay agents) to connect to, the first
	// preferred: requests fail over down the list.
	Peers []diameter.PeerConfig `yaml:"peers"`
	// VectorsPerRequest is SIP-Number-Auth-Items: the spares wait for
	// the subscriber's next authentications.
	VectorsPerRequest int `yaml:"vectors_per_request"`
	// SpareLifetime is how long a spare vector may wait.
	SpareLifetime time.Duration `yaml:"spare_lifetime"`
	// RegistrationTTL is how long a registration (SAR) and the profile it
	// brought are trusted before a successful authentication registers
	// again; 0 registers on every authentication. The HSS pushes profile
	// changes (PPR) and deregistrations (RTR) in between.
	RegistrationTTL *time.Duration `yaml:"registration_ttl"`
	// MaxSubscribers bounds the subscribers whose spares and
	// registrations are kept.
	MaxSubscribers int `yaml:"max_subscribers"`
}

// DiameterEAPConfig is diameter_eap: the Diameter EAP front end (RFC 4072)
// for trusted WLAN gateways (STa) and ePDGs (SWm).
type DiameterEAPConfig struct {
	diameter.ListenConfig `yaml:",inline"`
	// SessionLifetime is how long a session that authenticated is kept
	// (for STR, ASR and SWm's AAR), sent as Session-Timeout.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// NetworkNames are the access network names (ANID) gateways may
	// claim: the name is bound into the EAP-AKA' keys (TS 33.402 6.2).
	// Default: eap.network_name.
	NetworkNames []string `yaml:"network_names"`
}

// SWxServerConfig is hss.swx_server: the built-in HSS served over SWx.
type SWxServerConfig struct {
	diameter.ListenConfig `yaml:",inline"`
	// MaxVectors caps the SIP-Number-Auth-Items a MAR is given.
	MaxVectors int `yaml:"max_vectors"`
}

// EAPConfig is the eap section: the EAP server's own keys, and the keys that
// decrypt privacy-protected identities (which stay out of package eap).
type EAPConfig struct {
	eap.Config      `yaml:",inline"`
	IdentityPrivacy privacy.Config `yaml:"identity_privacy"`
}

// LogConfig is the log section.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// StoreConfig is the store section: where conversation state lives.
type StoreConfig struct {
	// Backend is where conversations, pseudonyms, re-authentication
	// contexts and subscribers live: "memory" (this process) or "redis"
	// (shared by every node that names the same Redis).
	Backend string            `yaml:"backend"`
	Redis   redisstore.Config `yaml:"redis"`
}

// AdminConfig is the admin section: the admin endpoint (admin.go), on a
// loopback address or a unix socket. It serves the counters (expvar) and,
// when asked, pprof, and takes the runtime commands (POST /v1/...).
type AdminConfig struct {
	// Listen is a loopback ip:port, or unix:/absolute/path for a unix
	// socket (mode 0600).
	Listen string `yaml:"listen"`
	PProf  bool   `yaml:"pprof"`
	// TokenFile names a file holding the bearer token that commands over
	// TCP need (read at start). Without it, commands are refused over
	// TCP; over a unix socket the socket's file mode is the control.
	TokenFile string `yaml:"token_file"`
}

// adminUnixPrefix starts an admin.listen that names a unix socket.
const adminUnixPrefix = "unix:"

// maxUnixPath is the longest path a unix socket may have: sun_path holds
// 108 bytes on Linux, the last for the NUL.
const maxUnixPath = 107

// adminListenAddr splits an admin.listen into a network ("tcp" or "unix")
// and an address. Its errors name the key, never the value.
func adminListenAddr(listen string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(listen, adminUnixPrefix); ok {
		switch {
		case path == "":
			return "", "", errors.New("admin.listen: unix: wants a path (unix:/run/aaad/admin.sock)")
		case strings.ContainsRune(path, 0) || !filepath.IsAbs(path):
			return "", "", errors.New("admin.listen: the unix socket wants an absolute path (unix:/run/aaad/admin.sock)")
		case strings.HasSuffix(path, "/"):
			return "", "", errors.New("admin.listen: the unix socket path names a directory; want a file name in it")
		case len(path) > maxUnixPath:
			return "", "", fmt.Errorf("admin.listen: the unix socket path is too long (at most %d bytes)", maxUnixPath)
		}
		return "unix", filepath.Clean(path), nil
	}
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return "", "", errors.New("admin.listen: want a loopback ip:port or unix:/path")
	}
	if !ap.Addr().IsLoopback() {
		// Counters and profiles are for operators on the box; they
		// are not authenticated.
		return "", "", errors.New("admin.listen: must be a loopback address (or unix:/path): the admin endpoint is for operators on this host")
	}
	return "tcp", listen, nil
}

func (c *AdminConfig) validate() error {
	var errs []error
	if c.Listen != "" {
		if _, _, err := adminListenAddr(c.Listen); err != nil {
			errs = append(errs, err)
		}
	}
	if c.TokenFile != "" && c.Listen == "" {
		errs = append(errs, errors.New("admin.token_file: set without admin.listen: there is no admin endpoint to guard"))
	}
	return errors.Join(errs...)
}

// warnings: a token file that a unix socket does not use.
func (c *AdminConfig) warnings() []string {
	if c.TokenFile != "" && strings.HasPrefix(c.Listen, adminUnixPrefix) {
		return []string{"admin.token_file: not used with a unix socket admin.listen: the socket's file mode (0600) is its access control"}
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	c.RADIUS.SetDefaults()
	c.EAP.SetDefaults()
	c.HSS.SetDefaults()
	c.Diameter.SetDefaults()
	if c.HSS.Backend == "swx" {
		sw := &c.HSS.SWx
		if sw.VectorsPerRequest == 0 {
			sw.VectorsPerRequest = 4
		}
		if sw.SpareLifetime == 0 {
			sw.SpareLifetime = 5 * time.Minute
		}
		if sw.RegistrationTTL == nil {
			d := time.Hour
			sw.RegistrationTTL = &d
		}
		if sw.MaxSubscribers == 0 {
			sw.MaxSubscribers = 100000
		}
	}
	if c.DiameterEAP != nil && c.DiameterEAP.SessionLifetime == 0 {
		c.DiameterEAP.SessionLifetime = 24 * time.Hour
	}
	if c.DiameterEAP != nil && len(c.DiameterEAP.NetworkNames) == 0 {
		c.DiameterEAP.NetworkNames = []string{c.EAP.NetworkName}
	}
	if c.HSS.SWxServer != nil && c.HSS.SWxServer.MaxVectors == 0 {
		c.HSS.SWxServer.MaxVectors = 5
	}
	if c.Store.Backend == "" {
		c.Store.Backend = "memory"
	}
	c.Store.Redis.SetDefaults()
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 5 * time.Second
	}
}

func (c *Config) validate() error {
	var errs []error
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("log.level: want debug, info, warn or error"))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, errors.New("log.format: want json or console"))
	}
	if c.runsRADIUS() {
		errs = append(errs, c.RADIUS.Validate("radius"))
	}
	errs = append(errs, c.EAP.Validate("eap"),
		c.EAP.IdentityPrivacy.Validate("eap.identity_privacy"), c.HSS.Validate("hss"))
	errs = append(errs, c.validateSWx())
	switch c.Store.Backend {
	case "memory":
		if c.HSS.Subscribers == "" && c.HSS.Backend == "local" {
			errs = append(errs, errors.New("hss.subscribers: required with store.backend memory"))
		}
	case "redis":
		errs = append(errs, c.Store.Redis.Validate("store.redis"))
		if c.HSS.KeyFile == "" && c.HSS.KeyEnv == "" {
			// An ephemeral key would seal records that no other node,
			// and no later start, could open.
			errs = append(errs, errors.New("hss.key_file or hss.key_env: one is required with store.backend redis: every node, now and after a restart, must open the keys sealed in Redis"))
		}
	default:
		errs = append(errs, errors.New("store.backend: want memory or redis"))
	}
	errs = append(errs, c.Admin.validate())
	if c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("shutdown_grace: negative"))
	}
	return errors.Join(errs...)
}

// runsRADIUS: a RADIUS listener runs unless the node serves Diameter (SWx
// or Diameter EAP) and its file has no radius section.
func (c *Config) runsRADIUS() bool {
	return c.hasRADIUS || c.HSS.SWxServer == nil && c.DiameterEAP == nil
}

// validateSWx checks the diameter, hss.swx and hss.swx_server sections.
func (c *Config) validateSWx() error {
	var errs []error
	swx := c.HSS.Backend == "swx"
	if d := c.DiameterEAP; d != nil {
		errs = append(errs, d.Validate("diameter_eap"))
		if d.SessionLifetime < 0 {
			errs = append(errs, errors.New("diameter_eap.session_lifetime: negative"))
		}
		for i, n := range d.NetworkNames {
			if n == "" || len(n) > 253 {
				errs = append(errs, fmt.Errorf("diameter_eap.network_names[%d]: 1 to 253 octets", i))
			}
		}
		if c.HSS.SWxServer != nil && d.Listen == c.HSS.SWxServer.Listen {
			errs = append(errs, errors.New("diameter_eap.listen: the same address as hss.swx_server.listen"))
		}
	}
	if swx || c.HSS.SWxServer != nil || c.DiameterEAP != nil {
		if !c.hasDiameter {
			errs = append(errs, errors.New("diameter: required with hss.backend swx, hss.swx_server or diameter_eap (origin_host, origin_realm)"))
		} else {
			errs = append(errs, c.Diameter.Validate("diameter"))
		}
	}
	if swx {
		sw := &c.HSS.SWx
		if err := checkName(sw.DestinationRealm); err != nil {
			errs = append(errs, fmt.Errorf("hss.swx.destination_realm: %w", err))
		}
		if sw.DestinationHost != "" {
			if err := checkName(sw.DestinationHost); err != nil {
				errs = append(errs, fmt.Errorf("hss.swx.destination_host: %w", err))
			}
		}
		if len(sw.Peers) == 0 {
			errs = append(errs, errors.New("hss.swx.peers: at least one HSS (or relay) to connect to"))
		}
		for i := range sw.Peers {
			errs = append(errs, sw.Peers[i].Validate(fmt.Sprintf("hss.swx.peers[%d]", i)))
		}
		if sw.VectorsPerRequest < 1 || sw.VectorsPerRequest > 32 {
			errs = append(errs, errors.New("hss.swx.vectors_per_request: between 1 and 32"))
		}
		if sw.SpareLifetime < 0 {
			errs = append(errs, errors.New("hss.swx.spare_lifetime: negative"))
		}
		if *sw.RegistrationTTL < 0 {
			errs = append(errs, errors.New("hss.swx.registration_ttl: negative"))
		}
		if sw.MaxSubscribers < 1 {
			errs = append(errs, errors.New("hss.swx.max_subscribers: at least 1"))
		}
		if c.HSS.SWxServer != nil {
			errs = append(errs, errors.New("hss.swx_server: serves the built-in HSS; with hss.backend swx there is none here"))
		}
		if c.HSS.Subscribers != "" {
			errs = append(errs, errors.New("hss.subscribers: with hss.backend swx the subscribers live in the remote HSS"))
		}
	}
	if s := c.HSS.SWxServer; s != nil {
		errs = append(errs, s.Validate("hss.swx_server"))
		if s.MaxVectors < 1 || s.MaxVectors > 32 {
			errs = append(errs, errors.New("hss.swx_server.max_vectors: between 1 and 32"))
		}
	}
	return errors.Join(errs...)
}

// checkName checks a DiameterIdentity the way the diameter section does.
func checkName(s string) error {
	c := diameter.Config{OriginHost: s, OriginRealm: s}
	c.SetDefaults()
	if err := c.Validate("x"); err != nil {
		return errors.New("want a DiameterIdentity (letters, digits, '-', '.')")
	}
	return nil
}

// Warnings returns what a valid configuration allows but is risky, one
// message each, naming the key and never its value. aaad logs each at warn
// level when it starts; --check-config prints them.
func (c *Config) Warnings() []string {
	ws := c.RADIUS.Warnings("radius")
	ws = append(ws, c.EAP.Warnings("eap")...)
	sum := 0
	for _, cl := range c.RADIUS.Clients {
		if cl.MaxConversations > 0 {
			sum += cl.MaxConversations
		}
	}
	if sw := c.HSS.SWx; c.HSS.Backend == "swx" && sw.DestinationHost != "" && len(sw.Peers) > 1 {
		ws = append(ws, "hss.swx.destination_host: with several hss.swx.peers, requests can fail over only through a peer that relays: the others are not that host")
	}
	if sum > c.EAP.MaxConversations {
		ws = append(ws, "radius.clients[].max_conversations: the clients' shares add up to more than eap.max_conversations: a client can crowd out the others")
	}
	ws = append(ws, c.Admin.warnings()...)
	return ws
}

// loadConfig reads and validates a configuration. Unknown keys are refused
// with their path, so a typo does not silently fall back to a default; no
// error quotes a value from the file (a secret typed in the wrong place must
// not reach a terminal or a log).
func loadConfig(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s", redactYAMLError(err))
	}
	var cfg Config
	if len(root.Content) > 0 {
		chk := checker{lines: map[int][]string{}}
		chk.walk(root.Content[0], reflect.TypeOf(cfg), "")
		if err := errors.Join(chk.errs...); err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return nil, chk.decodeError(err)
		}
		var next yaml.Node
		switch err := dec.Decode(&next); {
		case errors.Is(err, io.EOF):
		case err != nil:
			return nil, fmt.Errorf("config: %s", redactYAMLError(err))
		default:
			return nil, fmt.Errorf("config: line %d: a second YAML document; aaad reads only one", next.Line)
		}
	}
	cfg.hasRADIUS, cfg.hasDiameter = hasKey(&root, "radius"), hasKey(&root, "diameter")
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// yaml.v3 quotes what it found in some messages: a value in a type error
// ("cannot unmarshal !!str `s3cret` into int"), an anchor name ("unknown
// anchor 's3cret' referenced": an unquoted secret that starts with '*'), a
// key ("mapping key \"s3cret\" already defined"), a custom tag. None of
// them may be printed. Each pattern is greedy: a value may hold quotes.
var yamlQuoted = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile("cannot unmarshal [^ ]+"), "cannot unmarshal a value"},
	{regexp.MustCompile("`.*`"), "(value)"},
	{regexp.MustCompile(`".*"`), "(value)"},
	{regexp.MustCompile(`anchor '.*'`), "anchor (name)"},
	{regexp.MustCompile(`field .* (not found|already set) in type`), "field (key) $1 in type"},
}

// redactYAMLError is the last line of defence for the yaml.v3 errors that
// loadConfig does not write itself (syntax errors, mostly).
func redactYAMLError(err error) string {
	msg := err.Error()
	for _, q := range yamlQuoted {
		msg = q.re.ReplaceAllString(msg, q.with)
	}
	// What is left quoted may only be one character of the syntax
	// ("did not find expected ',' or '}'"); past anything else, nothing
	// is printed.
	for i := 0; i < len(msg); i++ {
		switch msg[i] {
		case '\'':
			if i+2 < len(msg) && msg[i+2] == '\'' {
				i += 2
				continue
			}
		case '`', '"':
		default:
			continue
		}
		return msg[:i] + "(value)"
	}
	return msg
}

// checker walks the YAML tree against the type it decodes into before
// anything is decoded, and reports, by key path and line, every unknown or
// repeated key and every value of the wrong type, without quoting the file.
type checker struct {
	errs  []error
	lines map[int][]string // line -> paths of the values that start on it
	depth int
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// label is how a path is printed; the document itself has none.
func label(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func (c *checker) walk(n *yaml.Node, t reflect.Type, path string) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 64 { // aliases can nest; the decoder refuses the rest
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		c.lines[n.Line] = append(c.lines[n.Line], path)
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		c.mapping(n, t, path)
		return
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			c.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
		return
	}
	// A leaf, or a mapping or list where something else belongs: decode
	// it on its own to learn whether it fits.
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			c.fail("%s (line %d): cannot unmarshal %s into %s", label(path), n.Line, describeNode(n, t), describeType(t))
		} else {
			c.fail("%s (line %d): invalid value", label(path), n.Line)
		}
	}
}

func (c *checker) mapping(n *yaml.Node, t reflect.Type, path string) {
	known := yamlKeys(t)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := reflect.StructField{}, false
		if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
			f, ok = fieldByTag(t, k.Value)
		}
		if !ok {
			c.unknownKey(k, known, path)
			continue
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			c.fail("%s: set twice (lines %d and %d)", p, first, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		c.walk(v, f.Type, p)
	}
}

// unknownKey reports a key that has no field. Its text is printed only when
// it is plainly a typo of a known key: a secret whose "secret:" was
// forgotten becomes a key, and must not be printed.
func (c *checker) unknownKey(k *yaml.Node, known []string, path string) {
	if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
		c.fail("%s: merge keys (<<) are not supported (line %d, column %d)", label(path), k.Line, k.Column)
		return
	}
	if k.Kind == yaml.ScalarNode {
		if s := typoOf(k.Value, known); s != "" {
			c.fail("%s: unknown key (line %d, column %d); did you mean %q?", join(path, k.Value), k.Line, k.Column, s)
			return
		}
	}
	c.fail("%s: unknown key (line %d, column %d); valid keys: %s", label(path), k.Line, k.Column, strings.Join(known, ", "))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// typoOf returns the known key that key is plainly a typo of, or "". Plainly:
// made of the characters keys are made of, and within a small edit
// distance (insertions, deletions, substitutions, transpositions) of a
// known key: 0 of keys under 4 characters (only letter case), 1 of keys
// under 8, 2 of longer ones. Anything else may be a value in the wrong
// place and is not printed.
func typoOf(key string, known []string) string {
	if len(key) == 0 || len(key) > 40 {
		return ""
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return ""
		}
	}
	lk := strings.ToLower(key)
	best, bestD := "", -1
	for _, k := range known {
		limit := 2
		switch {
		case len(k) < 4:
			limit = 0
		case len(k) < 8:
			limit = 1
		}
		if d := editDistance(lk, k); d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: Levenshtein with
// adjacent transpositions ("max_cuont" is 1 from "max_count").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var durationType = reflect.TypeOf(time.Duration(0))

// describeNode says what kind of value n is, from its tag, never its text.
func describeNode(n *yaml.Node, t reflect.Type) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		if isInteger(t) {
			return "an integer out of range"
		}
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a timestamp"
	case "!!binary":
		return "binary data"
	}
	return "a value of another type"
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != durationType
	}
	return false
}

// describeType names what a field wants.
func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration (like 30s or 5m)"
	case t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	}
	return t.String()
}

// yamlTypeLine is the start of each message of a yaml.TypeError.
var yamlTypeLine = regexp.MustCompile(`^line (\d+): `)

// decodeError rewrites an error of the decoder, which the walk should have
// caught first: each type error gets the key path of the value on its line
// and loses any quoted value.
func (c *checker) decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config: %s", redactYAMLError(err))
	}
	var errs []error
	for _, e := range te.Errors {
		m := yamlTypeLine.FindStringSubmatch(e)
		if m == nil {
			errs = append(errs, fmt.Errorf("config: %s", redactYAMLError(errors.New(e))))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		what := "invalid value"
		if strings.Contains(e, "cannot unmarshal ") {
			if i := strings.LastIndex(e, " into "); i >= 0 {
				what = "cannot unmarshal a value of another type into " + redactYAMLError(errors.New(e[i+len(" into "):]))
			}
		}
		if paths := c.lines[line]; len(paths) > 0 {
			errs = append(errs, fmt.Errorf("%s (line %d): %s", strings.Join(paths, " or "), line, what))
		} else {
			errs = append(errs, fmt.Errorf("config: line %d: %s", line, what))
		}
	}
	return errors.Join(errs...)
}

// yamlKeys lists the keys a struct accepts, in field order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			keys = append(keys, yamlKeys(f.Type)...)
			continue
		}
		if name = yamlName(f, name); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// yamlName is the key yaml.v3 uses for a field: its tag, else its name in
// lower case; "" when the field is not decoded.
func yamlName(f reflect.StructField, tag string) string {
	if !f.IsExported() || tag == "-" {
		return ""
	}
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			if g, ok := fieldByTag(f.Type, key); ok {
				return g, true
			}
			continue
		}
		if n := yamlName(f, name); n != "" && n == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// readFile reads a file named in the configuration: from disk, or from the
// built-in defaults when aaad runs without --config.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	if fsys != nil {
		return fs.ReadFile(fsys, strings.TrimPrefix(name, "configs/"))
	}
	return os.ReadFile(name)
}

// hasKey reports whether the document's top-level mapping has key.
func hasKey(root *yaml.Node, key string) bool {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return false
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}
