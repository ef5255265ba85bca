package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/privacy"
	"github.com/aaa-project/aaa/radius"
)

// Config is the whole configuration file. Each section validates itself and
// names the YAML key at fault.
type Config struct {
	Log           LogConfig     `yaml:"log"`
	RADIUS        radius.Config `yaml:"radius"`
	EAP           EAPConfig     `yaml:"eap"`
	HSS           hss.Config    `yaml:"hss"`
	Store         StoreConfig   `yaml:"store"`
	Admin         AdminConfig   `yaml:"admin"`
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
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
	Backend string `yaml:"backend"`
}

// AdminConfig is the admin section: counters (expvar) and, when asked,
// pprof, on a loopback listener.
type AdminConfig struct {
	Listen string `yaml:"listen"`
	PProf  bool   `yaml:"pprof"`
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
	if c.Store.Backend == "" {
		c.Store.Backend = "memory"
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 5 * time.Second
	}
}

func (c *Config) validate() error {
	var errs []error
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q: want json or console", c.Log.Format))
	}
	errs = append(errs, c.RADIUS.Validate("radius"), c.EAP.Validate("eap"),
		c.EAP.IdentityPrivacy.Validate("eap.identity_privacy"), c.HSS.Validate("hss"))
	if c.Store.Backend != "memory" {
		errs = append(errs, fmt.Errorf("store.backend: %q: want memory", c.Store.Backend))
	}
	if c.Admin.Listen != "" {
		ap, err := netip.ParseAddrPort(c.Admin.Listen)
		if err != nil {
			errs = append(errs, errors.New("admin.listen: want ip:port"))
		} else if !ap.Addr().IsLoopback() {
			// Counters and profiles are for operators on the box; they
			// are not authenticated.
			errs = append(errs, errors.New("admin.listen: must be a loopback address"))
		}
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("shutdown_grace: negative"))
	}
	return errors.Join(errs...)
}

// loadConfig reads and validates a configuration. Unknown keys are refused
// with their full path, so a typo does not silently fall back to a default.
func loadConfig(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s", redactYAMLError(err))
	}
	var cfg Config
	if len(root.Content) > 0 {
		if err := errors.Join(unknownKeys(root.Content[0], reflect.TypeOf(cfg), "")...); err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %s", redactYAMLError(err))
		}
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// yamlScalar matches the value yaml.v3 quotes in a type error
// ("cannot unmarshal !!str `s3cret` into int"): a secret in the wrong field
// must not be printed.
var yamlScalar = regexp.MustCompile("`[^`]*`")

func redactYAMLError(err error) string {
	return yamlScalar.ReplaceAllString(err.Error(), "(value)")
}

// unknownKeys walks a YAML mapping against the struct it decodes into and
// reports every key that has no field, as "radius.clients[0].secet".
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs []error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := key
			if path != "" {
				p = path + "." + key
			}
			f, ok := fieldByTag(t, key)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown key (line %d)", p, n.Content[i].Line))
				continue
			}
			errs = append(errs, unknownKeys(n.Content[i+1], f.Type, p)...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			errs = append(errs, unknownKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
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
		if name == key {
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
