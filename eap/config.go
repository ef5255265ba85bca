package eap

import (
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

// Validate checks c; errors name the key under prefix.
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, msg)) }
	if len(c.Methods) == 0 {
		bad("methods", "at least one method is required")
	}
	seen := map[string]bool{}
	for i, m := range c.Methods {
		if _, err := ParseMethod(m); err != nil {
			bad(fmt.Sprintf("methods[%d]", i), fmt.Sprintf("%q: %v", m, err))
		} else if seen[m] {
			bad(fmt.Sprintf("methods[%d]", i), m+" listed twice")
		}
		seen[m] = true
	}
	if seen["aka-prime"] && c.NetworkName == "" {
		bad("network_name", "required for aka-prime")
	}
	if len(c.NetworkName) > 253 {
		bad("network_name", "longer than 253 octets")
	}
	if c.ConversationTimeout <= 0 {
		bad("conversation_timeout", "must be positive")
	}
	if c.MaxConversations < 1 {
		bad("max_conversations", "must be positive")
	}
	return errors.Join(errs...)
}

// ServerConfig turns a validated Config into the server's.
func (c *Config) ServerConfig() ServerConfig {
	sc := ServerConfig{NetworkName: c.NetworkName, Timeout: c.ConversationTimeout}
	for _, m := range c.Methods {
		t, _ := ParseMethod(m)
		sc.Methods = append(sc.Methods, t)
	}
	return sc
}
