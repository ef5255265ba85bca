package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"

	"github.com/aaa-project/aaa/diameter"
	"github.com/aaa-project/aaa/diameter/eapfront"
	"github.com/aaa-project/aaa/diameter/swx"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/session"
)

// newDiameter builds the Diameter node and the SWx side this node plays:
// the client of a remote HSS (hss.backend swx) or the server of the
// built-in one (hss.swx_server). Nothing is started.
func (a *app) newDiameter(local *hss.Local) error {
	cfg := a.cfg
	useSWx := cfg.HSS.Backend == "swx" || cfg.HSS.SWxServer != nil
	if !useSWx && cfg.DiameterEAP == nil {
		return nil
	}
	// go-diameter's default dictionary lacks SWx's PPR/PPA and Diameter
	// EAP, STa and SWm: loaded now, before any traffic.
	if err := swx.LoadDictionary(dict.Default); err != nil {
		return fmt.Errorf("diameter dictionary: %w", err)
	}
	if err := eapfront.LoadDictionary(dict.Default); err != nil {
		return fmt.Errorf("diameter dictionary: %w", err)
	}
	var apps []diameter.App
	if useSWx {
		apps = append(apps, swxApps...)
	}
	if cfg.DiameterEAP != nil {
		apps = append(apps, eapApps...)
	}
	node, err := diameter.NewNode(cfg.Diameter, apps, dict.Default, a.log.Named("diameter"))
	if err != nil {
		return err
	}
	a.node = node
	if !useSWx {
		return nil
	}
	if cfg.HSS.Backend == "swx" {
		sw := cfg.HSS.SWx
		a.swxClient, err = swx.NewClient(node, swx.ClientConfig{
			DestinationRealm:    sw.DestinationRealm,
			DestinationHost:     sw.DestinationHost,
			VectorsPerRequest:   sw.VectorsPerRequest,
			SpareLifetime:       sw.SpareLifetime,
			MaxSpareSubscribers: sw.MaxSubscribers,
			RegistrationTTL:     *sw.RegistrationTTL,
			// One attempt per peer: a peer that leaves an attempt
			// unanswered for diameter.request_timeout is failed over
			// (the RADIUS request's deadline bounds it all).
			RequestTimeout: cfg.Diameter.RequestTimeout * time.Duration(len(sw.Peers)),
			Sessions:       sessionEnder{t: a.sessions, log: a.log.Named("sessions")},
			Logger:         a.log.Named("swx"),
		})
		if err != nil {
			return fmt.Errorf("hss.swx: %w", err)
		}
		node.Handle(swx.AppID, a.swxClient)
		return nil
	}
	a.swxServer, err = swx.NewServer(node, swx.ServerConfig{
		AuC: local,
		// Registrations for the subscribers of the store, whichever
		// HSS node or process gave their vectors.
		Profiles:       localProfiles{local},
		MaxVectors:     cfg.HSS.SWxServer.MaxVectors,
		RequestTimeout: cfg.Diameter.RequestTimeout,
		Logger:         a.log.Named("swx"),
		PeerOf: func(ctx context.Context) (string, bool, bool) {
			p, ok := diameter.PeerFromContext(ctx)
			return p.Host, p.Relay, ok
		},
	})
	if err != nil {
		return fmt.Errorf("hss.swx_server: %w", err)
	}
	node.Handle(swx.AppID, a.swxServer)
	return nil
}

// newDiameterEAP builds the Diameter EAP front end (diameter_eap) over
// the EAP server, on the node newDiameter built.
func (a *app) newDiameterEAP(e *eap.Server) error {
	c := a.cfg.DiameterEAP
	if c == nil {
		return nil
	}
	var profiles eapfront.Profiles
	if a.swxClient != nil {
		profiles = swxProfiles{a.swxClient}
	}
	var err error
	a.eapFront, err = eapfront.New(a.node, e, eapfront.Config{
		Sessions:            a.sessions,
		Profiles:            profiles,
		ConversationTimeout: a.cfg.EAP.ConversationTimeout,
		SessionLifetime:     c.SessionLifetime,
		MaxSessions:         a.cfg.EAP.MaxConversations,
		RequestTimeout:      a.cfg.Diameter.RequestTimeout,
		// Each gateway (or relay's gateway) its share, as RADIUS
		// clients have theirs.
		PeerShare:    a.cfg.EAP.MaxConversations / max(len(c.Peers), 1),
		NetworkNames: c.NetworkNames,
		Logger:       a.log.Named("diameter_eap"),
	})
	if err != nil {
		return fmt.Errorf("diameter_eap: %w", err)
	}
	for _, app := range []uint32{eapfront.AppSTa, eapfront.AppSWm, eapfront.AppDiameterEAP} {
		a.node.Handle(app, a.eapFront)
	}
	a.sessions.RegisterTerminator(eapfront.FrontEnd, a.eapFront)
	return nil
}

// swxProfiles gives the Diameter EAP front end the profiles the SWx
// client keeps from its SAAs.
type swxProfiles struct{ c *swx.Client }

func (p swxProfiles) Profile(imsi string) (eapfront.Profile, bool) {
	pr, ok := p.c.Profile(imsi)
	if !ok {
		return eapfront.Profile{}, false
	}
	return eapfront.Profile{APNs: pr.APNs, APNsDisabled: pr.APNsDisabled}, true
}

// The applications of each role: each listener and each peer is served
// only its own, so that a gateway cannot reach SWx, nor an HSS Diameter EAP.
var (
	swxApps = []diameter.App{{ID: swx.AppID, Vendor: swx.Vendor3GPP}}
	eapApps = []diameter.App{{ID: eapfront.AppSTa, Vendor: eapfront.Vendor3GPP},
		{ID: eapfront.AppSWm, Vendor: eapfront.Vendor3GPP}, {ID: eapfront.AppDiameterEAP}}
)

// withApps returns peers serving apps.
func withApps(peers []diameter.PeerConfig, apps []diameter.App) []diameter.PeerConfig {
	out := make([]diameter.PeerConfig, len(peers))
	for i, p := range peers {
		p.Apps = apps
		out[i] = p
	}
	return out
}

// startDiameter connects to the HSS peers, listens for the AAA nodes and
// for the gateways, as the node's roles say.
func (a *app) startDiameter(ctx context.Context) error {
	if a.node == nil {
		return nil
	}
	if a.swxClient != nil {
		if err := a.node.Connect(withApps(a.cfg.HSS.SWx.Peers, swxApps)); err != nil {
			return err
		}
	}
	if a.swxServer != nil {
		lc := a.cfg.HSS.SWxServer.ListenConfig
		lc.Apps = swxApps
		addr, err := a.node.Listen(lc)
		if err != nil {
			return fmt.Errorf("hss.swx_server.listen: %w", err)
		}
		a.log.Info("swx server listening", zap.String("addr", addr.String()))
	}
	if a.eapFront != nil {
		lc := a.cfg.DiameterEAP.ListenConfig
		lc.Apps = eapApps
		addr, err := a.node.Listen(lc)
		if err != nil {
			return fmt.Errorf("diameter_eap.listen: %w", err)
		}
		go a.eapFront.Run(ctx, 10*time.Second)
		a.log.Info("diameter eap listening", zap.String("addr", addr.String()))
	}
	return nil
}

// localProfiles is the built-in HSS's profile source: every subscriber of
// the store may use non-3GPP access (the store keeps no profile yet).
type localProfiles struct{ l *hss.Local }

func (p localProfiles) Profile(ctx context.Context, imsi string) (swx.Profile, error) {
	if err := p.l.Known(ctx, imsi); err != nil {
		return swx.Profile{}, err
	}
	return swx.Profile{}, nil
}

// sessionEnder ends a user's sessions for the SWx client (RTR, a barred
// profile), through the session table's terminators.
type sessionEnder struct {
	t   *session.Table
	log *zap.Logger
}

func (e sessionEnder) EndSessions(ctx context.Context, imsi string) int {
	results := e.t.End(ctx, imsi)
	for _, r := range results {
		e.log.Info("session ended", zap.Stringer("session", r.Session), zap.Bool("acked", r.Acked),
			zap.NamedError("reason", r.Err))
	}
	return len(results)
}

// deregisterOnLastEnd sends SAR USER_DEREGISTRATION when a user's last
// session ends, at most maxDeregistrations at once (the rest are
// dropped and counted: the registration then times out at the HSS's
// pace, or the next authentication replaces it).
func (a *app) deregisterOnLastEnd(imsi string) {
	if a.swxClient == nil {
		return
	}
	if len(a.sessions.Lookup(imsi)) > 0 {
		return // a new session came in meanwhile (the table allows it)
	}
	select {
	case a.deregs <- struct{}{}:
	default:
		a.deregsDropped.Add(1)
		return
	}
	go func() {
		defer func() { <-a.deregs }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.swxClient.Deregister(ctx, imsi); err != nil {
			a.log.Info("swx deregistration failed", zap.String("imsi", session.MaskIMSI(imsi)), zap.Error(err))
		}
	}()
}

const maxDeregistrations = 256

// swxCommands are the admin commands: on an HSS node, deregister sends the
// RTR; on an AAA node it ends the subscriber's sessions itself.
type swxCommands struct{ a *app }

func (c swxCommands) Deregister(ctx context.Context, imsi string) (DeregisterResult, error) {
	s := c.a.swxServer
	if s == nil {
		// An AAA node: the subscriber's sessions end here, at their
		// access points and gateways (Disconnect-Request, ASR), and
		// with SWx the HSS is told (SAR USER_DEREGISTRATION, when the
		// last one leaves the table).
		results := c.a.sessions.End(ctx, imsi)
		if len(results) == 0 {
			return DeregisterResult{}, errNotRegistered
		}
		for _, r := range results {
			c.a.log.Info("session ended", zap.Stringer("session", r.Session), zap.Bool("acked", r.Acked),
				zap.NamedError("reason", r.Err))
		}
		return DeregisterResult{Sessions: len(results)}, nil
	}
	r, err := s.Deregister(ctx, imsi)
	switch {
	case errors.Is(err, swx.ErrNotRegistered):
		return DeregisterResult{}, errNotRegistered
	case err != nil:
		return DeregisterResult{}, err
	}
	return DeregisterResult{Sent: true, Peer: r.Peer, ResultCode: r.ResultCode}, nil
}
