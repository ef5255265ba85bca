package hss

import (
	"errors"
	"fmt"
	"math"

	"github.com/aaa-project/aaa/aka"
)

// Config is the hss section of the configuration file.
type Config struct {
	// Backend is where vectors come from: "local" (Milenage here).
	Backend string `yaml:"backend"`
	// Subscribers is the CSV file of subscriber records (header
	// imsi,k,opc,amf,sqn): the memory store holds it; with Redis it is
	// imported at start (never lowering a stored SQN) and may be left
	// out.
	Subscribers string `yaml:"subscribers"`
	// KeyFile holds the key-encryption keys that seal subscriber keys at
	// rest, one "ID HEX64" line each; the first seals. Unset, the memory
	// store seals under a key that lives as long as the process.
	KeyFile string `yaml:"key_file"`
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
	case "local":
	default:
		bad("backend", "unknown backend, want local")
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
	return errors.Join(errs...)
}
