package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"

	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/privacy"
	"github.com/aaa-project/aaa/store/memory"
)

// reloadable is what a reload swaps in the running aaad, set by newApp.
type reloadable struct {
	mu sync.Mutex // one reload at a time: SIGHUP and POST /v1/reload
	// fsys is where files named in the configuration come from (nil:
	// disk); sealer seals subscriber keys as at start.
	fsys   fs.FS
	sealer *hss.Sealer
	// subs is the memory subscriber store with hss.backend local; nil
	// otherwise (Redis is provisioned with aaactl subscriber).
	subs *memory.SubscriberStore
	// identities holds the identity-privacy keys; nil when identity
	// privacy was off at start (turning it on takes a restart: the EAP
	// server treats encrypted identities otherwise without a decrypter).
	identities *identityHolder
}

// identityHolder is eap's IdentityDecrypter over a decrypter a reload
// swaps; a conversation uses whichever keys are there when its identity
// comes.
type identityHolder struct {
	d atomic.Pointer[privacy.Decrypter]
}

func (h *identityHolder) set(d *privacy.Decrypter) { h.d.Store(d) }

// Decrypt implements eap.IdentityDecrypter. Without keys (a reload that
// removed them all) every encrypted identity is one of an unknown key.
func (h *identityHolder) Decrypt(identity []byte) ([]byte, error) {
	return h.d.Load().Decrypt(identity) // nil-safe
}

// reloadSummary is what a reload did: the answer of POST /v1/reload.
type reloadSummary struct {
	// Reloaded names what was applied.
	Reloaded []string `json:"reloaded"`
	Clients  int      `json:"clients"`
	LogLevel string   `json:"log_level"`
	// Subscribers: with hss.subscribers reloaded, how many the store
	// holds, and how many were added and removed.
	Subscribers *subscribersReloaded `json:"subscribers,omitempty"`
	// IdentityPrivacyKeys: with eap.identity_privacy reloaded, how many
	// keys it has now.
	IdentityPrivacyKeys *int `json:"identity_privacy_keys,omitempty"`
	// Restart names what changed but takes effect only after a restart.
	Restart []string `json:"restart,omitempty"`
}

type subscribersReloaded struct {
	Count   int `json:"count"`
	Added   int `json:"added"`
	Removed int `json:"removed"`
}

// reloadError is a refused reload: nothing was applied. what is the
// part that failed; invalid means the new configuration (or a file it
// names) is at fault, not aaad.
type reloadError struct {
	what    string
	invalid bool
	err     error
}

func (e *reloadError) Error() string {
	if e.err == nil {
		return "reload refused: " + e.what
	}
	return "reload refused: " + e.what + ": " + e.err.Error()
}

func (e *reloadError) Unwrap() error { return e.err }

// reload reads the configuration again and applies what can change while
// serving: the RADIUS clients and their secrets and shares, the log level,
// the subscribers of hss.subscribers (memory store, hss.backend local) and
// the identity-privacy keys. Conversations, SQNs, pseudonyms and
// re-authentication contexts stay as they are. Every part is read and
// checked first and applied only when all are good: a configuration that
// does not validate is refused whole, with the reason, and the running
// one keeps serving. Keys that changed but need a restart are named. It
// logs what it did (or why not) and returns it.
func (a *app) reload() (*reloadSummary, error) {
	a.rl.mu.Lock()
	defer a.rl.mu.Unlock()
	sum, err := a.reloadLocked()
	if err != nil {
		var re *reloadError
		if !errors.As(err, &re) {
			re = &reloadError{what: "reload", err: err}
		}
		msg := "reload refused: " + re.what + "; the running one stays"
		if re.err == nil {
			a.log.Warn(msg)
		} else {
			a.log.Error(msg, zap.Error(re.err))
		}
		return nil, err
	}
	fields := []zap.Field{zap.Strings("reloaded", sum.Reloaded),
		zap.Int("clients", sum.Clients), zap.String("log_level", sum.LogLevel)}
	if s := sum.Subscribers; s != nil {
		fields = append(fields, zap.Int("subscribers", s.Count), zap.Int("subscribers_added", s.Added),
			zap.Int("subscribers_removed", s.Removed))
	}
	if n := sum.IdentityPrivacyKeys; n != nil {
		fields = append(fields, zap.Int("identity_privacy_keys", *n))
	}
	a.log.Info("configuration reloaded", fields...)
	if len(sum.Restart) > 0 {
		a.log.Warn("configuration changes that take effect only after a restart", zap.Strings("keys", sum.Restart))
	}
	return sum, nil
}

func (a *app) reloadLocked() (*reloadSummary, error) {
	if a.source == nil {
		return nil, &reloadError{what: "no configuration source; nothing reloaded"}
	}
	data, err := a.source()
	if err != nil {
		return nil, &reloadError{what: "cannot read the configuration", err: err}
	}
	cfg, err := loadConfig(data)
	if err != nil {
		return nil, &reloadError{what: "invalid configuration", invalid: true, err: err}
	}
	lvl, err := zapcore.ParseLevel(cfg.Log.Level)
	if err != nil { // validated by loadConfig
		return nil, &reloadError{what: "invalid configuration", invalid: true, err: fmt.Errorf("log.level: %w", err)}
	}

	// Read and check every part before applying any.
	var nextSubs *memory.SubscriberStore
	if a.rl.subs != nil && cfg.Store.Backend == "memory" && cfg.HSS.Backend == "local" && cfg.HSS.Subscribers != "" {
		if nextSubs, err = a.readSubscribers(cfg.HSS.Subscribers); err != nil {
			return nil, &reloadError{what: "invalid configuration", invalid: true, err: err}
		}
	}
	var (
		nextKeys   *privacy.Decrypter
		reloadKeys = a.rl.identities != nil
	)
	if reloadKeys {
		if nextKeys, err = cfg.EAP.IdentityPrivacy.Load("eap.identity_privacy"); err != nil {
			return nil, &reloadError{what: "invalid configuration", invalid: true, err: err}
		}
	}
	// The store is not rebuilt: shares come from the bound it runs with.
	next := *cfg
	next.EAP.MaxConversations = a.cfg.EAP.MaxConversations
	// The clients last: SetClients checks, then swaps them whole.
	if a.radius != nil {
		if err := a.radius.SetClients(radiusConfig(&next)); err != nil {
			return nil, &reloadError{what: "radius clients", invalid: true, err: err}
		}
	}

	// Apply: nothing below fails.
	sum := &reloadSummary{Clients: len(cfg.RADIUS.Clients), LogLevel: cfg.Log.Level}
	if a.radius != nil {
		sum.Reloaded = append(sum.Reloaded, "radius.clients")
	}
	a.level.SetLevel(lvl)
	sum.Reloaded = append(sum.Reloaded, "log.level")
	old := *a.cfg // for needsRestart: what was reloaded is not a difference
	if nextSubs != nil {
		st := a.rl.subs.Replace(nextSubs)
		sum.Subscribers = &subscribersReloaded{Count: st.Count, Added: st.Added, Removed: st.Removed}
		sum.Reloaded = append(sum.Reloaded, "hss.subscribers")
		a.cfg.HSS.Subscribers = cfg.HSS.Subscribers
		old.HSS.Subscribers = cfg.HSS.Subscribers
	}
	if reloadKeys {
		a.rl.identities.set(nextKeys)
		n := len(cfg.EAP.IdentityPrivacy.Keys)
		sum.IdentityPrivacyKeys = &n
		sum.Reloaded = append(sum.Reloaded, "eap.identity_privacy")
		a.cfg.EAP.IdentityPrivacy = cfg.EAP.IdentityPrivacy
		old.EAP.IdentityPrivacy = cfg.EAP.IdentityPrivacy
	}
	for _, w := range cfg.Warnings() {
		a.log.Warn("configuration is risky", zap.String("warning", w))
	}
	sum.Restart = needsRestart(&old, cfg)
	a.cfg.RADIUS.Clients = cfg.RADIUS.Clients
	a.cfg.Log.Level = cfg.Log.Level
	return sum, nil
}

// readSubscribers reads hss.subscribers into a new memory store, its keys
// sealed as at start, for Replace.
func (a *app) readSubscribers(name string) (*memory.SubscriberStore, error) {
	csv, err := readNamedFile(a.rl.fsys, "hss.subscribers", name)
	if err != nil {
		return nil, err
	}
	subs, err := hss.ReadSubscribersCSV(bytes.NewReader(csv))
	clear(csv)
	if err != nil {
		wipe(subs)
		return nil, fmt.Errorf("hss.subscribers: %w", err)
	}
	defer wipe(subs)
	s, err := memory.NewSubscriberStore(subs, a.rl.sealer)
	if err != nil {
		return nil, fmt.Errorf("hss.subscribers: %w", err)
	}
	return s, nil
}

// needsRestart names the sections (or keys) that differ between the
// running configuration and the new one, other than what reload applies.
func needsRestart(old, cur *Config) []string {
	var keys []string
	diff := func(key string, a, b any) {
		// Compared as YAML: the sections are plain data, and what
		// differs is named, never printed.
		ya, errA := yaml.Marshal(a)
		yb, errB := yaml.Marshal(b)
		if errA != nil || errB != nil || !bytes.Equal(ya, yb) {
			keys = append(keys, key)
		}
	}
	or, nr := old.RADIUS, cur.RADIUS
	or.Clients, nr.Clients = nil, nil
	diff("radius (other than clients)", or, nr)
	diff("log.format", old.Log.Format, cur.Log.Format)
	diff("eap", old.EAP, cur.EAP)
	diff("hss", old.HSS, cur.HSS)
	diff("diameter", old.Diameter, cur.Diameter)
	diff("diameter_eap", old.DiameterEAP, cur.DiameterEAP)
	diff("store", old.Store, cur.Store)
	diff("admin", old.Admin, cur.Admin)
	diff("shutdown_grace", old.ShutdownGrace, cur.ShutdownGrace)
	return keys
}
