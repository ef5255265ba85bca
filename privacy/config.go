package privacy

import (
	"errors"
	"fmt"
	"io/fs"
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
			errs = append(errs, fmt.Errorf("%s.id: want at most %d octets of printable ASCII without spaces, ',' or '@'", at, maxIDLen))
			continue
		}
		for j := range i {
			if strings.EqualFold(c.Keys[j].ID, k.ID) {
				what := "the same id as"
				if k.ID == "" {
					what = `"" (the default key), as`
				}
				errs = append(errs, fmt.Errorf("%s.id: %s keys[%d].id (ids compare case-insensitively)", at, what, j))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Load validates c, reads every key file and returns the Decrypter; nil and
// no error when no key is configured. Errors name the key under prefix,
// never the file's contents nor the value of the key (a secret typed into
// the wrong field must not be printed): the operator knows the path.
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
			return nil, fmt.Errorf("%s.keys[%d].file: cannot read it: %w", prefix, i, withoutPath(err))
		}
		k, err := LoadKey(kc.ID, data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("%s.keys[%d].file: %w", prefix, i, err)
		}
		keys = append(keys, k)
	}
	return NewDecrypter(keys)
}

// withoutPath is err without the path an *fs.PathError carries.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
