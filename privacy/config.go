package privacy

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config is the YAML section (the server puts it under
// eap.identity_privacy). No keys: identity privacy is off.
type Config struct {
	Keys []KeyConfig `yaml:"keys"`
}

// KeyConfig is one private key: the identifier phones send for it (the
// value after "CertificateSerialNumber=", exactly as in the carrier's
// key-identifier; "" for the default key) and the PEM file holding it.
type KeyConfig struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"`
}

// Enabled reports whether any key is configured.
func (c *Config) Enabled() bool { return len(c.Keys) > 0 }

// Validate checks c without reading files; errors name the key under prefix,
// e.g. "eap.identity_privacy.keys[1].file: empty".
func (c *Config) Validate(prefix string) error {
	var errs []error
	for i, k := range c.Keys {
		at := fmt.Sprintf("%s.keys[%d]", prefix, i)
		if k.File == "" {
			errs = append(errs, fmt.Errorf("%s.file: empty", at))
		}
		if checkID(k.ID) != nil {
			errs = append(errs, fmt.Errorf("%s.id: %q: want at most %d octets of printable ASCII without spaces, ',' or '@'", at, k.ID, maxIDLen))
			continue
		}
		for j := range i {
			if strings.EqualFold(c.Keys[j].ID, k.ID) {
				what := fmt.Sprintf("%q", k.ID)
				if k.ID == "" {
					what = `"" (the default key)`
				}
				errs = append(errs, fmt.Errorf("%s.id: %s already used by keys[%d] (ids compare case-insensitively)", at, what, j))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Load validates c, reads every key file and returns the Decrypter; nil and
// no error when no key is configured. Errors name the key under prefix and
// the file, never its contents.
func (c *Config) Load(prefix string) (*Decrypter, error) {
	if err := c.Validate(prefix); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, nil
	}
	keys := make([]Key, 0, len(c.Keys))
	for i, kc := range c.Keys {
		data, err := os.ReadFile(kc.File)
		if err != nil {
			return nil, fmt.Errorf("%s.keys[%d].file: %w", prefix, i, err)
		}
		k, err := LoadKey(kc.ID, data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("%s.keys[%d].file: %s: %w", prefix, i, kc.File, err)
		}
		keys = append(keys, k)
	}
	return NewDecrypter(keys)
}
