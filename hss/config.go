package hss

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"github.com/aaa-project/aaa/aka"
)

// Config is the hss section of the configuration file.
type Config struct {
	// Backend is where vectors come from: "local" (Milenage here, over
	// the subscriber store) or "swx" (a remote HSS over Diameter SWx,
	// configured in the hss.swx section the program adds).
	Backend string `yaml:"backend"`
	// Subscribers is the CSV file of subscriber records (header
	// imsi,k,opc,amf,sqn): the memory store holds it; with Redis it is
	// imported at start (never lowering a stored SQN) and may be left
	// out.
	Subscribers string `yaml:"subscribers"`
	// KeyFile holds the key-encryption keys that seal subscriber keys at
	// rest, one "ID HEX64" line each; the first seals. Unset (and no
	// KeyEnv), the memory store seals under a key that lives as long as
	// the process.
	KeyFile string `yaml:"key_file"`
	// KeyEnv names an environment variable that holds the same keys
	// instead of a file: "ID HEX64" entries separated by newlines or ';'
	// (ParseKEKs), for deployments that hand secrets over in the
	// environment (a Kubernetes Secret mapped to a variable, an env file
	// of a container runtime, where a value is one line). At most one of
	// KeyFile and KeyEnv.
	KeyEnv string `yaml:"key_env"`
	// INDBits is the length of IND in SQN = SEQ || IND (TS 33.102 C.3.2).
	INDBits *uint `yaml:"ind_bits"`
	// VectorRate and VectorBurst bound how fast one subscriber's SQN can
	// be advanced: at most VectorBurst vectors at once, refilled at
	// VectorRate a second. A USIM may refuse an SQN that jumped too far
	// (TS 33.102 C.2.2), so half-open challenges must not run it up.
	VectorRate  float64 `yaml:"vector_rate"`
	VectorBurst int     `yaml:"vector_burst"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Backend == "" {
		c.Backend = "local"
	}
	if c.INDBits == nil {
		n := uint(aka.DefaultINDBits)
		c.INDBits = &n
	}
	if c.VectorRate == 0 {
		c.VectorRate = 1
	}
	if c.VectorBurst == 0 {
		c.VectorBurst = 10
	}
}

// Validate checks c; errors name the key under prefix, never its value.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	switch c.Backend {
	case "local", "swx":
	default:
		bad("backend", "unknown backend, want local or swx")
	}
	if c.VectorRate < 0 || math.IsNaN(c.VectorRate) || math.IsInf(c.VectorRate, 0) {
		bad("vector_rate", "want a finite number, not negative")
	}
	if c.VectorBurst < 1 {
		bad("vector_burst", "must be positive")
	}
	if c.INDBits != nil && *c.INDBits > 10 {
		bad("ind_bits", "at most 10")
	}
	if c.KeyFile != "" && c.KeyEnv != "" {
		bad("key_env", "give key_file or key_env, not both")
	}
	if c.KeyEnv != "" && !envName(c.KeyEnv) {
		// Most likely the keys themselves, pasted where their
		// variable's name belongs: never printed.
		bad("key_env", "want the name of an environment variable (letters, digits and _, not starting with a digit), not the keys")
	}
	return errors.Join(errs...)
}

// envName reports whether s is a portable environment variable name.
func envName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// KEKs reads the key-encryption keys that key_file or key_env names, for
// a validated c; nil and no error when neither is set. Errors name the
// key under prefix ("hss.key_file: line 2: ..."), never a path, a
// variable's name or a key. The caller wipes the keys.
func (c *Config) KEKs(prefix string) ([]KEK, error) {
	switch {
	case c.KeyFile != "":
		key := prefix + ".key_file"
		data, err := os.ReadFile(c.KeyFile)
		defer clear(data)
		if err != nil {
			// The path is the operator's own; the reason is enough.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%s: cannot read the file: %w", key, err)
		}
		keks, err := ReadKEKs(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return keks, nil
	case c.KeyEnv != "":
		key := prefix + ".key_env"
		v, ok := os.LookupEnv(c.KeyEnv)
		if !ok {
			return nil, fmt.Errorf("%s: the environment variable is not set", key)
		}
		text := []byte(v)
		defer clear(text)
		keks, err := ParseKEKs(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return keks, nil
	}
	return nil, nil
}

// Sealer returns the sealer under the keys of key_file or key_env (the
// first seals, all open), or nil and no error when neither is set: the
// caller decides whether a key of the process's own will do.
func (c *Config) Sealer(prefix string) (*Sealer, error) {
	keks, err := c.KEKs(prefix)
	if err != nil || keks == nil {
		return nil, err
	}
	defer func() {
		for i := range keks {
			clear(keks[i].Key[:])
		}
	}()
	s, err := NewSealer(keks)
	if err != nil {
		key := prefix + ".key_file"
		if c.KeyFile == "" {
			key = prefix + ".key_env"
		}
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}
