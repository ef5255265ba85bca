package main

import (
	"bytes"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"
)

// reload reads the configuration again and applies what can change while
// serving: the RADIUS clients and their secrets and shares, and the log
// level. Conversations, SQNs, pseudonyms and re-authentication contexts
// stay as they are. A configuration that does not validate is refused
// whole, with the reason, and the running one keeps serving; keys that
// changed but need a restart are named.
func (a *app) reload() {
	if a.source == nil {
		a.log.Warn("reload: no configuration source; nothing reloaded")
		return
	}
	data, err := a.source()
	if err != nil {
		a.log.Error("reload refused: cannot read the configuration; the running one stays", zap.Error(err))
		return
	}
	cfg, err := loadConfig(data)
	if err != nil {
		a.log.Error("reload refused: invalid configuration; the running one stays", zap.Error(err))
		return
	}
	// The store is not rebuilt: shares come from the bound it runs with.
	next := *cfg
	next.EAP.MaxConversations = a.cfg.EAP.MaxConversations
	if a.radius == nil {
		// An HSS node: nothing here reloads but the log level.
	} else if err := a.radius.SetClients(radiusConfig(&next)); err != nil {
		a.log.Error("reload refused: radius clients; the running ones stay", zap.Error(err))
		return
	}
	lvl, _ := zapcore.ParseLevel(cfg.Log.Level) // validated
	a.level.SetLevel(lvl)
	for _, w := range cfg.Warnings() {
		a.log.Warn("configuration is risky", zap.String("warning", w))
	}
	restart := needsRestart(a.cfg, cfg)
	a.cfg.RADIUS.Clients = cfg.RADIUS.Clients
	a.cfg.Log.Level = cfg.Log.Level
	reloaded := []string{"radius.clients", "log.level"}
	if a.radius == nil {
		reloaded = reloaded[1:]
	}
	a.log.Info("configuration reloaded",
		zap.Strings("reloaded", reloaded),
		zap.Int("clients", len(cfg.RADIUS.Clients)),
		zap.String("log_level", cfg.Log.Level))
	if len(restart) > 0 {
		a.log.Warn("configuration changes that take effect only after a restart", zap.Strings("keys", restart))
	}
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
