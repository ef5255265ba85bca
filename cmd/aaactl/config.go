package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/store/redisstore"
)

// ctlConfig is what aaactl reads of aaad's configuration file: the hss
// and store sections, decoded into aaad's own types so that the keys mean
// the same, and the admin section's listen and token_file. Everything
// else (radius, eap, log...) is aaad's and is ignored, so aaactl takes
// aaad's whole file or a file with only the sections it uses. aaad
// refuses unknown keys; aaactl leaves that to `aaad --check-config` and
// checks only what it uses.
type ctlConfig struct {
	HSS   hss.Config     `yaml:"hss"`
	Store ctlStoreConfig `yaml:"store"`
	Admin ctlAdminConfig `yaml:"admin"`
}

// ctlAdminConfig is what aaactl uses of the admin section (aaad's
// AdminConfig): where aaad's admin endpoint listens, and the token that
// commands over TCP need. Checked by the commands that use it
// (adminEndpoint), not by parseCtlConfig: the subscriber commands do not.
type ctlAdminConfig struct {
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"token_file"`
}

// adminUnixPrefix starts an admin.listen that names a unix socket.
const adminUnixPrefix = "unix:"

// adminEndpoint is admin.listen as a network ("tcp" or "unix") and an
// address, checked as aaad checks it. Errors name the key, never the
// value.
func (c *ctlAdminConfig) adminEndpoint() (network, address string, err error) {
	if c.Listen == "" {
		return "", "", errors.New("admin.listen: not set: aaad serves no admin endpoint with this configuration")
	}
	if path, ok := strings.CutPrefix(c.Listen, adminUnixPrefix); ok {
		if !filepath.IsAbs(path) || strings.ContainsRune(path, 0) {
			return "", "", errors.New("admin.listen: the unix socket wants an absolute path (unix:/run/aaad/admin.sock)")
		}
		return "unix", filepath.Clean(path), nil
	}
	ap, err := netip.ParseAddrPort(c.Listen)
	if err != nil {
		return "", "", errors.New("admin.listen: want a loopback ip:port or unix:/path")
	}
	if !ap.Addr().IsLoopback() {
		return "", "", errors.New("admin.listen: must be a loopback address (or unix:/path)")
	}
	if ap.Port() == 0 {
		return "", "", errors.New("admin.listen: port 0: aaad picks a port of its own at each start; give it a fixed one")
	}
	return "tcp", c.Listen, nil
}

// ctlStoreConfig is the store section (as aaad's StoreConfig).
type ctlStoreConfig struct {
	Backend string            `yaml:"backend"`
	Redis   redisstore.Config `yaml:"redis"`
}

// errMemoryStore is the answer of every command that needs the store when
// the subscribers live in aaad's own memory.
var errMemoryStore = errors.New("subscriber commands need store.backend: redis; with the memory store the subscribers live inside aaad: edit the file hss.subscribers names and restart aaad (`subscriber provision --no-store` makes keys for it)")

// minCtlTimeout is the least aaactl waits for Redis, whatever
// store.redis.timeout says: that bounds one RADIUS request's step in
// aaad, while here one operation is a pipeline of a batch of subscribers
// and nobody is waiting on an access point.
const minCtlTimeout = 2 * time.Second

// loadCtlConfig reads and validates the file at path. No error quotes a
// value of the file (a secret typed in the wrong place must not reach a
// terminal).
func loadCtlConfig(path string) (*ctlConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err) // the operator's own path
	}
	return parseCtlConfig(data)
}

// parseCtlConfig is loadCtlConfig of the file's contents.
func parseCtlConfig(data []byte) (*ctlConfig, error) {
	var cfg ctlConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, redactYAML(err)
	}
	if cfg.Store.Backend == "" {
		cfg.Store.Backend = "memory"
	}
	cfg.HSS.SetDefaults()
	cfg.Store.Redis.SetDefaults()
	errs := []error{cfg.HSS.Validate("hss")}
	switch cfg.Store.Backend {
	case "memory":
		// Refused by the commands that need the store, not here:
		// provision --no-store needs neither.
	case "redis":
		errs = append(errs, cfg.Store.Redis.Validate("store.redis"))
		if cfg.HSS.KeyFile == "" && cfg.HSS.KeyEnv == "" {
			errs = append(errs, errors.New("hss.key_file or hss.key_env: one is required with store.backend redis: the subscriber keys in Redis are sealed under them"))
		}
	default:
		errs = append(errs, errors.New("store.backend: want memory or redis"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// redisConfig is store.redis as aaactl uses it: the same, but patient.
func (c *ctlConfig) redisConfig() redisstore.Config {
	rc := c.Store.Redis
	rc.Timeout = max(rc.Timeout, minCtlTimeout)
	return rc
}

// yamlLine finds the line numbers in a yaml.v3 message.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// redactYAML turns a yaml.v3 error into one that names only lines: its
// messages may quote a value ("cannot unmarshal !!str `s3cret` into
// int"), and aaad's careful rewriting of them is aaad's. For which key is
// at fault, `aaad --check-config` says more.
func redactYAML(err error) error {
	var lines []string
	for _, m := range yamlLine.FindAllStringSubmatch(err.Error(), -1) {
		lines = append(lines, m[1])
	}
	var te *yaml.TypeError
	what := "not valid YAML"
	if errors.As(err, &te) {
		what = "a value of the wrong type"
	}
	if len(lines) == 0 {
		return fmt.Errorf("config: %s (aaad --check-config says more)", what)
	}
	return fmt.Errorf("config: %s on line %s (aaad --check-config says more)", what, strings.Join(lines, ", "))
}
