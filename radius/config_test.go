package radius

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const longSecret = "a-long-random-secret"

func validConfig() Config {
	c := Config{Listen: "127.0.0.1:1812", Clients: []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: longSecret}}}
	c.SetDefaults()
	return c
}

func client(name, address, secret string) ClientConfig {
	return ClientConfig{Name: name, Address: address, Secret: secret}
}

// What would silently do something else than written is refused, naming
// the key (and the other client, for a duplicate), never a value.
func TestConfig_ValidateRefusesHazards(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"host bits", func(c *Config) { c.Clients[0].Address = "10.1.2.3/8" },
			"radius.clients[0].address: host bits set; did you mean 10.0.0.0/8?"},
		{"host bits v6", func(c *Config) { c.Clients[0].Address = "2001:db8::1/32" },
			"radius.clients[0].address: host bits set; did you mean 2001:db8::/32?"},
		{"same prefix", func(c *Config) {
			c.Clients = append(c.Clients, client("b", "10.0.0.0/8", longSecret), client("c", "127.0.0.0/8", longSecret))
		}, "radius.clients[2].address: duplicate of clients[0].address (after masking)"},
		{"same host as address and /32", func(c *Config) {
			c.Clients = append(c.Clients, client("b", "10.0.0.1", longSecret), client("c", "10.0.0.1/32", longSecret))
		}, "radius.clients[2].address: duplicate of clients[1].address"},
		{"same v6 host", func(c *Config) {
			c.Clients = append(c.Clients, client("b", "2001:db8::1", longSecret), client("c", "2001:db8::1/128", longSecret))
		}, "radius.clients[2].address: duplicate of clients[1].address"},
		{"same name", func(c *Config) { c.Clients = append(c.Clients, client("lab", "10.0.0.1", longSecret)) },
			"radius.clients[1].name: duplicate of clients[0].name"},
		{"IPv4-mapped address", func(c *Config) { c.Clients[0].Address = "::ffff:10.0.0.1" },
			"radius.clients[0].address: an IPv4-mapped IPv6 address never matches"},
		{"IPv4-mapped prefix", func(c *Config) { c.Clients[0].Address = "::ffff:10.0.0.0/104" },
			"radius.clients[0].address: an IPv4-mapped IPv6 address never matches"},
		{"secret of 7", func(c *Config) { c.Clients[0].Secret = "abcdefg" },
			"radius.clients[0].secret: shorter than 8 characters"},
		{"negative conversation share", func(c *Config) { c.Clients[0].MaxConversations = -1 },
			"radius.clients[0].max_conversations: negative"},
		{"negative cache share", func(c *Config) { c.Clients[0].DuplicateCacheSize = -1 },
			"radius.clients[0].duplicate_cache_size: negative"},
		{"session timeout 500ms", func(c *Config) { c.SessionTimeout = 500 * time.Millisecond },
			"radius.session_timeout: below 1s"},
		{"session timeout 1ns", func(c *Config) { c.SessionTimeout = 1 },
			"radius.session_timeout: below 1s"},
		{"session timeout 1.5s", func(c *Config) { c.SessionTimeout = 1500 * time.Millisecond },
			"radius.session_timeout: not a whole number of seconds"},
		{"session timeout 2^32 s", func(c *Config) { c.SessionTimeout = (1 << 32) * time.Second },
			"radius.session_timeout: above 4294967295s"},
		{"session timeout negative", func(c *Config) { c.SessionTimeout = -time.Second },
			"radius.session_timeout: negative"},
		{"workers 4097", func(c *Config) { c.Workers = 4097 }, "radius.workers: want 1 to 4096"},
		{"workers 65536", func(c *Config) { c.Workers = 65536 }, "radius.workers: want 1 to 4096"},
		{"workers 0", func(c *Config) { c.Workers = 0 }, "radius.workers: want 1 to 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mod(&c)
			err := c.Validate("radius")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), longSecret) || strings.Contains(err.Error(), "abcdefg") {
				t.Errorf("error quotes a secret: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"secret of 8", func(c *Config) { c.Clients[0].Secret = "abcdefgh" }},
		{"a host and its neighbour prefix", func(c *Config) {
			c.Clients = append(c.Clients, client("b", "10.0.0.1", longSecret), client("c", "10.0.0.0/31", longSecret))
		}},
		{"the same prefix in v4 and v6", func(c *Config) {
			c.Clients = append(c.Clients, client("b", "0.0.0.0/0", longSecret), client("c", "::/0", longSecret))
		}},
		{"shares of 0", func(c *Config) { c.Clients[0].MaxConversations, c.Clients[0].DuplicateCacheSize = 0, 0 }},
		{"session timeout 1s", func(c *Config) { c.SessionTimeout = time.Second }},
		{"session timeout 2^32-1 s", func(c *Config) { c.SessionTimeout = (1<<32 - 1) * time.Second }},
		{"workers 4096", func(c *Config) { c.Workers = 4096 }},
	} {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mod(&c)
			if err := c.Validate("radius"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Allowed but risky settings are warned about, naming the key.
func TestConfig_Warnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"nothing to say", func(*Config) {}, nil},
		{"secret of 15", func(c *Config) { c.Clients[0].Secret = "abcdefghijklmno" },
			[]string{"radius.clients[0].secret: shorter than 16 characters"}},
		{"secret of 16", func(c *Config) { c.Clients[0].Secret = "abcdefghijklmnop" }, nil},
		{"any IPv4 source", func(c *Config) { c.Clients = append(c.Clients, client("any", "0.0.0.0/0", longSecret)) },
			[]string{"radius.clients[1].address: matches every source address"}},
		{"any IPv6 source", func(c *Config) { c.Clients[0].Address = "::/0" },
			[]string{"radius.clients[0].address: matches every source address"}},
		{"cache shares beyond the total", func(c *Config) {
			c.DuplicateCacheSize = 1000
			c.Clients[0].DuplicateCacheSize = 600
			c.Clients = append(c.Clients, ClientConfig{Name: "b", Address: "10.0.0.0/8", Secret: longSecret, DuplicateCacheSize: 401})
		}, []string{"radius.clients[].duplicate_cache_size: the clients' shares add up to more than radius.duplicate_cache_size"}},
		{"cache shares at the total", func(c *Config) {
			c.DuplicateCacheSize = 1000
			c.Clients[0].DuplicateCacheSize = 600
			c.Clients = append(c.Clients, ClientConfig{Name: "b", Address: "10.0.0.0/8", Secret: longSecret, DuplicateCacheSize: 400})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mod(&c)
			if err := c.Validate("radius"); err != nil {
				t.Fatal(err)
			}
			got := c.Warnings("radius")
			if len(got) != len(tc.want) {
				t.Fatalf("warnings = %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %d = %q, want it to start %q", i, got[i], w)
				}
			}
		})
	}
}

// The Disconnect-Request destination and the session lifetime: what is
// wrong is refused naming the key, never quoting the value.
func TestConfig_DASAndSessionLifetime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		das     string
		dasPort int
		life    time.Duration
		want    string // "" : valid
	}{
		{"unset", "", 0, 0, ""},
		{"das address", "192.0.2.77", 0, 0, ""},
		{"das ip:port", "192.0.2.77:3800", 0, 0, ""},
		{"das IPv6 with port", "[2001:db8::77]:3799", 0, 0, ""},
		{"das IPv6", "2001:db8::77", 1700, 0, ""},
		{"das_port", "", 1700, 0, ""},
		{"lifetime 1h", "", 0, time.Hour, ""},
		{"das name", "nas.example.net", 0, 0, "radius.clients[0].das: want an IP address or ip:port"},
		{"das name:port", "nas.example.net:3799", 0, 0, "radius.clients[0].das: want an IP address or ip:port"},
		{"das CIDR", "192.0.2.0/24", 0, 0, "radius.clients[0].das: want an IP address or ip:port"},
		{"das port 0", "192.0.2.77:0", 0, 0, "radius.clients[0].das: port 0"},
		{"das port and das_port", "192.0.2.77:3800", 3800, 0, "radius.clients[0].das: names a port and das_port is set too"},
		{"das unspecified", "0.0.0.0", 0, 0, "radius.clients[0].das: not a unicast address"},
		{"das multicast", "[ff02::1]:3799", 0, 0, "radius.clients[0].das: not a unicast address"},
		{"das broadcast", "255.255.255.255", 0, 0, "radius.clients[0].das: not a unicast address"},
		{"das_port negative", "", -1, 0, "radius.clients[0].das_port: want 1 to 65535"},
		{"das_port too big", "192.0.2.77", 65536, 0, "radius.clients[0].das_port: want 1 to 65535"},
		{"lifetime negative", "", 0, -time.Hour, "radius.session_lifetime: must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.Clients[0].DAS, c.Clients[0].DASPort = tc.das, tc.dasPort
			if tc.life != 0 {
				c.SessionLifetime = tc.life
			}
			err := c.Validate("radius")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if tc.das != "" && strings.Contains(err.Error(), tc.das) {
				t.Errorf("error quotes the value: %v", err)
			}
		})
	}
	c := Config{}
	c.SetDefaults()
	if c.SessionLifetime != 24*time.Hour {
		t.Errorf("default session_lifetime %v", c.SessionLifetime)
	}
	cl := ClientConfig{Name: "ap", Address: "192.0.2.0/24", Secret: longSecret, DAS: "192.0.2.77", DASPort: 3800}
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if got := fmt.Sprintf(verb, cl); strings.Contains(got, longSecret) || !strings.Contains(got, "das=192.0.2.77") || !strings.Contains(got, "das_port=3800") {
			t.Errorf("%s: %q", verb, got)
		}
	}
}
