package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/diameter/eapfront"
	"github.com/aaa-project/aaa/diameter/swx"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/radius"
	"github.com/aaa-project/aaa/session"
	"github.com/aaa-project/aaa/store/memory"
	"github.com/aaa-project/aaa/store/redisstore"
)

// app is aaad wired from a validated configuration. newApp starts nothing,
// so --check-config exercises everything but the listeners.
type app struct {
	cfg    *Config
	log    *zap.Logger
	level  zap.AtomicLevel  // log.level, changed by a reload
	convs  *memory.EAPStore // the memory store; nil with Redis
	radius *radius.Server
	// With store.backend redis: the client, the subscriber store, and
	// what hss.subscribers holds, to import at start.
	rdb         redis.UniversalClient
	subscribers *redisstore.SubscriberStore
	imports     []subscriberImport
	// source reads the configuration again for a reload: the file named
	// by --config, or the built-in defaults.
	source func() ([]byte, error)
	// rl is what a reload swaps at run time (reload.go).
	rl reloadable

	// sessions is the table of live access sessions: filled from
	// Access-Accepts, ended by the HSS's RTR through the terminators.
	sessions *session.Table
	// The Diameter node and the SWx side it plays (one or neither).
	node          *diameter.Node
	swxClient     *swx.Client
	swxServer     *swx.Server
	eapFront      *eapfront.Server
	vectors       *timedVectors // eap's vector source, timed for the metrics
	store         *timedStore   // eap's store, the same
	deregs        chan struct{} // SAR deregistrations in flight
	deregsDropped atomic.Uint64
	listening     atomic.Bool // every listener is up and not shutting down (set by run; /readyz)
}

func zapError(err error) zap.Field { return zap.Error(err) }

func newLogger(c LogConfig) (*zap.Logger, zap.AtomicLevel, error) {
	zc := zap.NewProductionConfig() // JSON, sampling on (per message)
	if c.Format == "console" {
		zc.Encoding = "console"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	lvl, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, zap.AtomicLevel{}, err
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.DisableStacktrace = true
	log, err := zc.Build()
	return log, zc.Level, err
}

func newApp(cfg *Config, fsys fs.FS) (*app, error) {
	log, level, err := newLogger(cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration is risky", zap.String("warning", w))
	}
	sealer, err := newSealer(cfg.HSS.Config)
	if err != nil {
		return nil, err
	}
	var subs []hss.Subscriber
	if cfg.HSS.Subscribers != "" {
		csv, err := readNamedFile(fsys, "hss.subscribers", cfg.HSS.Subscribers)
		if err != nil {
			return nil, err
		}
		subs, err = hss.ReadSubscribersCSV(bytes.NewReader(csv))
		clear(csv)
		if err != nil {
			return nil, fmt.Errorf("hss.subscribers: %w", err)
		}
	}
	a := &app{cfg: cfg, log: log, level: level, deregs: make(chan struct{}, maxDeregistrations)}
	a.rl.fsys, a.rl.sealer = fsys, sealer
	a.sessions = session.NewTable(session.Config{OnLastEnd: a.deregisterOnLastEnd})
	var (
		store    hss.Store
		eapStore eap.Store
	)
	switch cfg.Store.Backend {
	case "redis":
		// go-redis's own notices (a Sentinel switch, a pool dial
		// failure) go to aaad's log, structured, not to stderr in text.
		redis.SetLogger(redisLogger{log.Named("redis")})
		a.rdb = redisstore.NewClient(cfg.Store.Redis)
		rs := redisstore.NewSubscriberStore(a.rdb, cfg.Store.Redis.Prefix)
		stateSealer, err := newStateSealer(cfg.HSS.Config)
		if err != nil {
			return nil, err
		}
		store, eapStore = rs, redisstore.NewEAPStore(a.rdb, redisstore.EAPConfig{
			Prefix: cfg.Store.Redis.Prefix,
			Sealer: stateSealer,
			// A conversation lives a timeout past its last request, and
			// takes a few (identity rounds, a resync, a notification).
			ShareWindow:     max(3*cfg.EAP.ConversationTimeout, time.Minute),
			SubscribersHere: true, // hss.backend local on the Redis store
		})
		// Sealed now, written to Redis when aaad starts (not by
		// --check-config).
		for i := range subs {
			a.imports = append(a.imports, subscriberImport{imsi: subs[i].IMSI, sqn: subs[i].SQN,
				rec: hss.Record{Sealed: sealer.Seal(subs[i].IMSI, &subs[i].K, &subs[i].OPc), AMF: subs[i].AMF}})
		}
		a.subscribers = rs
	default:
		mem, err := memory.NewSubscriberStore(subs, sealer)
		if err != nil {
			wipe(subs)
			return nil, fmt.Errorf("hss.subscribers: %w", err)
		}
		a.convs = memory.NewEAPStore(memory.EAPConfig{
			MaxConversations: cfg.EAP.MaxConversations,
			MaxBytes:         int64(cfg.EAP.MaxConversationMiB) << 20,
		})
		store, eapStore = mem, a.convs
		if cfg.HSS.Backend == "local" {
			log.Info("subscribers loaded", zap.Int("count", mem.Len()))
			a.rl.subs = mem
		}
	}
	wipe(subs)
	vectors, err := hss.NewLocal(store, hss.LocalConfig{
		Sealer:      sealer,
		INDBits:     *cfg.HSS.INDBits,
		VectorRate:  cfg.HSS.VectorRate,
		VectorBurst: cfg.HSS.VectorBurst,
	})
	if err != nil {
		return nil, fmt.Errorf("hss: %w", err)
	}
	sc, err := cfg.EAP.ServerConfig()
	if err != nil {
		return nil, err
	}
	if cfg.EAP.IdentityPrivacy.Enabled() {
		dec, err := cfg.EAP.IdentityPrivacy.Load("eap.identity_privacy")
		if err != nil {
			return nil, err
		}
		// Behind a holder that a reload swaps.
		a.rl.identities = &identityHolder{}
		a.rl.identities.set(dec)
		sc.Identities = a.rl.identities
	}
	if err := a.newDiameter(vectors); err != nil {
		return nil, err
	}
	a.vectors = &timedVectors{inner: vectors, backend: "local"}
	if a.swxClient != nil {
		// Vectors from the remote HSS; a proven subscriber is
		// registered there (SAR) before its EAP-Success.
		a.vectors = &timedVectors{inner: a.swxClient, backend: "swx"}
		sc.Registrar = a.swxClient
	}
	var source eap.VectorSource = a.vectors
	a.store = &timedStore{inner: eapStore, backend: cfg.Store.Backend}
	eapServer, err := eap.NewServer(sc, source, a.store)
	if err != nil {
		return nil, err
	}
	if err := a.newDiameterEAP(eapServer); err != nil {
		return nil, err
	}
	if cfg.runsRADIUS() {
		a.radius, err = radius.New(radiusConfig(cfg), eapServer, log.Named("radius"))
		if err != nil {
			return nil, err
		}
		a.radius.SetSessions(a.sessions)
		a.sessions.RegisterTerminator("radius", a.radius.Disconnector())
	}
	log.Info("eap configured",
		zap.String("store", cfg.Store.Backend),
		zap.Strings("methods", cfg.EAP.Methods),
		zap.Bool("pseudonyms", sc.Pseudonyms.Enabled),
		zap.Bool("stateless_pseudonyms", sc.Pseudonyms.Sealed != nil),
		zap.Bool("fast_reauth", sc.FastReauth.Enabled),
		zap.Bool("result_indications", sc.ResultIndications),
		zap.Int("identity_privacy_keys", len(cfg.EAP.IdentityPrivacy.Keys)))
	return a, nil
}

// wipe clears the keys of subscribers read from a file.
func wipe(subs []hss.Subscriber) {
	for i := range subs {
		clear(subs[i].K[:])
		clear(subs[i].OPc[:])
	}
}

// subscriberImport is a subscriber of hss.subscribers to write into Redis
// at start, its keys sealed.
type subscriberImport struct {
	imsi string
	rec  hss.Record
	sqn  aka.SQN
}

// importSubscribers writes hss.subscribers into Redis. A stored SQN is
// never lowered, so restarting with the same file issues no SQN twice.
func (a *app) importSubscribers(ctx context.Context) error {
	if len(a.imports) == 0 {
		return nil
	}
	// Pipelined, a few hundred a round trip: 100,000 subscribers one
	// round trip each made a start take seconds.
	es := make([]redisstore.Entry, len(a.imports))
	for i, s := range a.imports {
		es[i] = redisstore.Entry{IMSI: s.imsi, Record: s.rec, SQN: s.sqn}
	}
	if stored, err := a.subscribers.PutMany(ctx, es, *a.cfg.HSS.INDBits); err != nil {
		return fmt.Errorf("hss.subscribers: into Redis (%d of %d stored): %w", len(stored), len(es), err)
	}
	a.log.Info("subscribers imported into redis", zap.Int("count", len(a.imports)))
	a.imports = nil
	return nil
}

// readNamedFile reads a file the configuration names under key. The error
// names the key, not the path: the operator knows it, and a value is never
// printed, whatever was typed into the field.
func readNamedFile(fsys fs.FS, key, name string) ([]byte, error) {
	data, err := readFile(fsys, name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read the file: %w", key, err)
	}
	return data, nil
}

// newSealer is the sealer of subscriber keys: under the keys of
// hss.key_file or hss.key_env, or under a key of this process's own.
func newSealer(c hss.Config) (*hss.Sealer, error) {
	sealer, err := c.Sealer("hss")
	if err != nil || sealer != nil {
		return sealer, err
	}
	return hss.NewEphemeralSealer(), nil
}

// radiusConfig is cfg's radius section with what it shares among the
// clients: the EAP store's bound.
func radiusConfig(cfg *Config) radius.Config {
	rc := cfg.RADIUS
	rc.ConversationCapacity = cfg.EAP.MaxConversations
	return rc
}

// run serves until ctx ends (SIGTERM, SIGINT), then drains requests in
// progress for at most shutdown_grace. A value on hup (SIGHUP) reloads the
// configuration.
func (a *app) run(ctx context.Context, hup <-chan os.Signal) error {
	defer a.log.Sync()
	if a.rdb != nil {
		defer a.rdb.Close()
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		err := a.importSubscribers(ictx)
		cancel()
		if err != nil {
			return err
		}
	}
	var (
		conn     *radius.Listener
		acctConn *net.UDPConn // nil: accounting off
		err      error
	)
	if a.radius != nil {
		conn, err = a.radius.Listen()
		if err != nil {
			return fmt.Errorf("radius.listen: %w", err)
		}
		if acctConn, err = a.radius.ListenAccounting(); err != nil {
			conn.Close()
			return fmt.Errorf("radius.accounting_listen: %w", err)
		}
		defer func() {
			if acctConn != nil {
				acctConn.Close() // also closed by Shutdown; twice is harmless
			}
		}()
	}

	serveCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if a.convs != nil {
		go a.convs.Run(serveCtx, a.cfg.EAP.ConversationTimeout/4+time.Second)
	}
	go a.sessions.Run(serveCtx, time.Minute)

	var admin *http.Server
	if a.cfg.Admin.Listen != "" {
		admin, err = a.startAdmin(a.adminCommands())
		if err != nil {
			if conn != nil {
				conn.Close()
			}
			return fmt.Errorf("admin.listen: %w", err)
		}
	}

	if err := a.startDiameter(serveCtx); err != nil {
		if conn != nil {
			conn.Close()
		}
		if admin != nil {
			admin.Close()
		}
		return err
	}

	serveErr := make(chan error, 1)
	if a.radius != nil {
		if acctConn != nil {
			a.log.Info("radius accounting listening", zap.String("addr", acctConn.LocalAddr().String()))
			go a.radius.ServeAccounting(serveCtx, acctConn)
		}
		// Logged once everything else is up too (the admin endpoint):
		// what waits for this line may use them all.
		a.log.Info("radius server listening", zap.String("addr", conn.LocalAddr().String()))
		go func() { serveErr <- a.radius.Serve(serveCtx, conn) }()
	}
	a.listening.Store(true)
wait:
	for {
		select {
		case <-ctx.Done():
			a.log.Info("shutting down", zap.Duration("grace", a.cfg.ShutdownGrace))
			a.listening.Store(false)
			break wait
		case err := <-serveErr:
			return err
		case <-hup:
			a.reload()
		}
	}
	grace, cancelGrace := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancelGrace()
	if a.radius != nil {
		err = a.radius.Shutdown(grace)
	}
	if a.node != nil {
		// DPR to every peer, after the requests in progress ended.
		a.node.Close(grace)
	}
	if a.swxClient != nil {
		a.swxClient.Close() // waits for session endings started by RTRs; wipes spares
	}
	if admin != nil {
		admin.Shutdown(grace)
	}
	fields := []zap.Field{}
	if a.radius != nil {
		fields = append(fields, zap.Any("counters", a.radius.Stats.Snapshot()))
	}
	if a.node != nil {
		fields = append(fields, zap.Any("diameter", a.node.Stats.Snapshot()))
	}
	if a.eapFront != nil {
		fields = append(fields, zap.Any("diameter_eap", a.eapFront.Stats.Snapshot()))
	}
	a.log.Info("stopped", fields...)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// newStateSealer seals the session keys the Redis store keeps, under keys
// derived from the key-encryption keys every node shares (hss.key_file or
// hss.key_env, required with Redis), so that any node opens what another
// sealed.
func newStateSealer(c hss.Config) (*redisstore.StateSealer, error) {
	keks, err := c.KEKs("hss")
	if err != nil {
		return nil, err
	}
	keys := make([]redisstore.StateKey, len(keks))
	for i := range keks {
		keys[i] = redisstore.StateKey{ID: keks[i].ID, Key: keks[i].Key}
		clear(keks[i].Key[:])
	}
	defer func() {
		for i := range keys {
			clear(keys[i].Key[:])
		}
	}()
	s, err := redisstore.NewStateSealer(keys)
	if err != nil {
		return nil, fmt.Errorf("hss key-encryption keys: %w", err)
	}
	return s, nil
}

// redisLogger is go-redis's logger (redis.SetLogger) on zap: its lines
// name addresses and master names, never a password.
type redisLogger struct{ log *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	if ce := l.log.Check(zap.WarnLevel, "go-redis"); ce != nil {
		ce.Write(zap.String("message", fmt.Sprintf(format, v...)))
	}
}
