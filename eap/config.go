package eap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Config is the eap section of the configuration file.
type Config struct {
	// Methods are the enabled methods, most preferred first: "aka-prime",
	// "aka".
	Methods []string `yaml:"methods"`
	// NetworkName is the EAP-AKA' access network name (AT_KDF_INPUT).
	NetworkName string `yaml:"network_name"`
	// ConversationTimeout is how long the server waits for the peer's next
	// message before it forgets the conversation.
	ConversationTimeout time.Duration `yaml:"conversation_timeout"`
	// MaxConversations bounds conversations held at once.
	MaxConversations int `yaml:"max_conversations"`
	// MaxConversationMiB bounds the memory conversations hold, in MiB
	// (what they store, estimated, not the Go heap around it).
	MaxConversationMiB int `yaml:"max_conversation_mib"`
	// ResultIndications offers protected result indications
	// (AT_RESULT_IND, RFC 4187 6.2).
	ResultIndications *bool            `yaml:"result_indications"`
	Pseudonyms        PseudonymsConfig `yaml:"pseudonyms"`
	FastReauth        FastReauthConfig `yaml:"fast_reauth"`
}

// PseudonymsConfig is eap.pseudonyms.
type PseudonymsConfig struct {
	Enabled  *bool         `yaml:"enabled"`
	Lifetime time.Duration `yaml:"lifetime"`
	// Stateless seals the IMSI into the pseudonym under Keys instead of
	// storing it; every node needs the same keys.
	Stateless bool                 `yaml:"stateless"`
	Keys      []PseudonymKeyConfig `yaml:"keys"`
}

// PseudonymKeyConfig is one stateless pseudonym key: the first one seals,
// all of them open (rotation).
type PseudonymKeyConfig struct {
	ID  uint8  `yaml:"id"`
	Key string `yaml:"key"` // 32 or 64 hex digits
}

// String keeps the key out of logs.
func (k PseudonymKeyConfig) String() string { return fmt.Sprintf("{%d REDACTED}", k.ID) }

// FastReauthConfig is eap.fast_reauth.
type FastReauthConfig struct {
	Enabled *bool `yaml:"enabled"`
	// Lifetime of an unused re-authentication identity.
	Lifetime time.Duration `yaml:"lifetime"`
	// MaxCount fast re-authentications after one full authentication.
	MaxCount int `yaml:"max_count"`
	// MaxAge since the full authentication, after which a full one is
	// forced.
	MaxAge time.Duration `yaml:"max_age"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if len(c.Methods) == 0 {
		c.Methods = []string{"aka-prime", "aka"}
	}
	if c.NetworkName == "" {
		c.NetworkName = "WLAN"
	}
	if c.ConversationTimeout == 0 {
		c.ConversationTimeout = 60 * time.Second
	}
	if c.MaxConversations == 0 {
		c.MaxConversations = 100000
	}
	if c.MaxConversationMiB == 0 {
		c.MaxConversationMiB = 256
	}
	on := func(b **bool) {
		if *b == nil {
			t := true
			*b = &t
		}
	}
	on(&c.ResultIndications)
	on(&c.Pseudonyms.Enabled)
	on(&c.FastReauth.Enabled)
	if c.Pseudonyms.Lifetime == 0 {
		c.Pseudonyms.Lifetime = 24 * time.Hour
	}
	if c.FastReauth.Lifetime == 0 {
		c.FastReauth.Lifetime = 24 * time.Hour
	}
	if c.FastReauth.MaxCount == 0 {
		c.FastReauth.MaxCount = 16
	}
	if c.FastReauth.MaxAge == 0 {
		c.FastReauth.MaxAge = 24 * time.Hour
	}
}

// ParseMethod maps a configured method name to its EAP type.
func ParseMethod(s string) (Type, error) {
	switch s {
	case "aka-prime":
		return TypeAKAPrime, nil
	case "aka":
		return TypeAKA, nil
	}
	return 0, errors.New("unknown method, want aka-prime or aka")
}

// Validate checks c; errors name the key under prefix, never its value.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if len(c.Methods) == 0 {
		bad("methods", "at least one method is required")
	}
	seen := map[string]int{}
	for i, m := range c.Methods {
		if _, err := ParseMethod(m); err != nil {
			bad(fmt.Sprintf("methods[%d]", i), err.Error())
		} else if j, dup := seen[m]; dup {
			bad(fmt.Sprintf("methods[%d]", i), fmt.Sprintf("duplicate of methods[%d]", j))
		} else {
			seen[m] = i
		}
	}
	if _, prime := seen["aka-prime"]; prime && c.NetworkName == "" {
		bad("network_name", "required for aka-prime")
	}
	if len(c.NetworkName) > 253 {
		bad("network_name", "longer than 253 octets")
	}
	if c.ConversationTimeout < time.Second {
		bad("conversation_timeout", "below 1s: no peer answers in time")
	}
	if c.MaxConversations < 1 || c.MaxConversations > 10_000_000 {
		bad("max_conversations", "want 1 to 10000000")
	}
	if c.MaxConversationMiB < 1 || c.MaxConversationMiB > 1<<20 {
		bad("max_conversation_mib", "want 1 to 1048576 (1 TiB)")
	}
	if c.Pseudonyms.Lifetime <= 0 {
		bad("pseudonyms.lifetime", "must be positive")
	}
	if c.Pseudonyms.Stateless && len(c.Pseudonyms.Keys) == 0 {
		bad("pseudonyms.keys", "stateless pseudonyms need at least one key")
	}
	ids := map[uint8]bool{}
	for i, k := range c.Pseudonyms.Keys {
		key := fmt.Sprintf("pseudonyms.keys[%d]", i)
		if ids[k.ID] {
			bad(key+".id", "used twice")
		}
		ids[k.ID] = true
		if b, err := hex.DecodeString(k.Key); err != nil || (len(b) != 16 && len(b) != 32) {
			bad(key+".key", "want 32 or 64 hex digits")
		}
	}
	if c.FastReauth.Lifetime <= 0 {
		bad("fast_reauth.lifetime", "must be positive")
	}
	if c.FastReauth.MaxAge <= 0 {
		bad("fast_reauth.max_age", "must be positive")
	}
	if c.FastReauth.MaxCount < 1 || c.FastReauth.MaxCount > 65535 {
		bad("fast_reauth.max_count", "want 1 to 65535")
	}
	return errors.Join(errs...)
}

// Warnings returns what is allowed but risky in a valid c, each naming its
// key under prefix and never a value.
func (c *Config) Warnings(prefix string) []string {
	var ws []string
	if c.ConversationTimeout >= time.Second && c.ConversationTimeout < 10*time.Second {
		ws = append(ws, prefix+".conversation_timeout: below 10s: a peer or access point that retransmits, or a slow vector source, will find its conversation gone (60s is the default)")
	}
	return ws
}

// ServerConfig turns a validated Config (defaults set) into the server's.
func (c *Config) ServerConfig() (ServerConfig, error) {
	sc := ServerConfig{
		NetworkName:       c.NetworkName,
		Timeout:           c.ConversationTimeout,
		ResultIndications: *c.ResultIndications,
		Pseudonyms: PseudonymPolicy{
			Enabled:  *c.Pseudonyms.Enabled,
			Lifetime: c.Pseudonyms.Lifetime,
		},
		FastReauth: ReauthPolicy{
			Enabled:  *c.FastReauth.Enabled,
			Lifetime: c.FastReauth.Lifetime,
			MaxAge:   c.FastReauth.MaxAge,
			MaxCount: uint16(c.FastReauth.MaxCount),
		},
	}
	for _, m := range c.Methods {
		t, _ := ParseMethod(m)
		sc.Methods = append(sc.Methods, t)
	}
	if c.Pseudonyms.Stateless {
		keys := make([]PseudonymKey, len(c.Pseudonyms.Keys))
		for i, k := range c.Pseudonyms.Keys {
			b, err := hex.DecodeString(k.Key)
			if err != nil {
				return sc, fmt.Errorf("eap.pseudonyms.keys[%d].key: not hex", i)
			}
			keys[i] = PseudonymKey{ID: k.ID, Key: b}
		}
		sealed, err := NewSealedPseudonyms(keys)
		if err != nil {
			return sc, fmt.Errorf("eap.pseudonyms.keys: %w", err)
		}
		sc.Pseudonyms.Sealed = sealed
	}
	return sc, nil
}
