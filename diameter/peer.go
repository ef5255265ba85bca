package diameter

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"
)

func randRead(b []byte) { rand.Read(b) }

// handshakeTimeout bounds the capabilities exchange (and the TLS
// handshake before it): a connection that says nothing is dropped.
const handshakeTimeout = 5 * time.Second

// maxHandshakes bounds the connections accepted but not yet through their
// capabilities exchange; maxHandshakesPerIP those from one address, so
// that one host opening idle connections cannot keep the peers out.
const (
	maxHandshakes      = 256
	maxHandshakesPerIP = 4
)

// productName is this implementation in CER and CEA.
const productName = "aaad"

// Connect keeps a connection open to each peer, the first the most
// preferred for requests: it connects, exchanges capabilities, and
// reconnects with backoff whenever the connection ends.
func (n *Node) Connect(peers []PeerConfig) error {
	for i := range peers {
		p := peers[i]
		var tc *tls.Config
		if p.TLS != nil {
			var err error
			if tc, err = p.TLS.Build(p.Host, false); err != nil {
				return fmt.Errorf("diameter peer %s: tls: %w", p.Host, err)
			}
		}
		n.mu.Lock()
		if slices.Contains(n.order, p.Host) {
			n.mu.Unlock()
			return fmt.Errorf("diameter peer %s: listed twice", p.Host)
		}
		n.order = append(n.order, p.Host)
		n.mu.Unlock()
		n.wg.Add(1)
		go n.keepConnected(p, tc)
	}
	return nil
}

func (n *Node) keepConnected(p PeerConfig, tc *tls.Config) {
	defer n.wg.Done()
	backoff := n.cfg.ReconnectMin
	for n.ctx.Err() == nil {
		c, err := n.dial(p, tc)
		if err != nil {
			n.Stats.ConnectFailures.Add(1)
			n.log.Warn("diameter peer unreachable", zap.String("peer", p.Host),
				zap.String("addr", p.Address), zap.Error(err), zap.Duration("retry_in", backoff))
			if !n.sleep(jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, n.cfg.ReconnectMax)
			continue
		}
		backoff = n.cfg.ReconnectMin
		if n.register(c) {
			c.serve()
		} else {
			c.close(errors.New("node closing"))
		}
		wait := n.cfg.ReconnectMin
		if cause := c.peerDPR.Load(); cause == disconnectDontWant+1 {
			wait = n.cfg.ReconnectMax // it does not want to talk to us
		}
		if !n.sleep(jitter(wait)) {
			return
		}
	}
}

// sleep waits d or until the node closes; false when it closed.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// dial connects to p and exchanges capabilities.
func (n *Node) dial(p PeerConfig, tc *tls.Config) (*Conn, error) {
	ctx, cancel := context.WithTimeout(n.ctx, handshakeTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		nc = tlsConn
	}
	c := newConn(n, nc, bufio.NewReaderSize(nc, 16<<10))
	c.served = n.appsOr(p.Apps)
	opened := false
	defer func() {
		if !opened {
			c.cancel()
		}
	}()
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	cer := n.capabilities(diam.NewMessage(CmdCapabilitiesExchange, flagRequest, 0, c.hbh.Add(1), n.e2e.Add(1), n.dict), nc, c.served)
	if err := c.writeMsg(cer); err != nil {
		nc.Close()
		return nil, err
	}
	f, h, err := readFrame(c.br, n.cfg.MaxMessage)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("no CEA: %w", err)
	}
	if h.request() || h.cmd != CmdCapabilitiesExchange {
		nc.Close()
		return nil, errors.New("the peer answered the CER with something else than a CEA")
	}
	cea, err := c.decode(f)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("CEA: %w", err)
	}
	if rc, _ := ResultCode(cea); rc != ResultSuccess {
		nc.Close()
		return nil, fmt.Errorf("CEA Result-Code %d", rc)
	}
	host := identityOf(findAVP(cea.AVP, avpOriginHost, 0))
	if host != p.Host {
		nc.Close()
		return nil, fmt.Errorf("the peer at that address is %q, not the configured host", host)
	}
	c.host, c.realm = host, identityOf(findAVP(cea.AVP, avpOriginRealm, 0))
	c.apps, c.relay = peerApps(cea)
	if !c.relay && !n.common(c) {
		nc.Close()
		return nil, errors.New("the peer serves none of our applications")
	}
	nc.SetDeadline(time.Time{})
	opened = true
	return c, nil
}

// capabilities fills a CER or CEA with this node's identity and
// applications, only those it serves (a relay routes by them).
func (n *Node) capabilities(m *diam.Message, nc net.Conn, apps []App) *diam.Message {
	m.NewAVP(avpOriginHost, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginHost))
	m.NewAVP(avpOriginRealm, avpFlagM, 0, datatype.DiameterIdentity(n.cfg.OriginRealm))
	ip := net.IPv4(127, 0, 0, 1)
	if ap, err := netip.ParseAddrPort(nc.LocalAddr().String()); err == nil {
		ip = net.IP(ap.Addr().Unmap().AsSlice())
	}
	m.NewAVP(avpHostIPAddress, avpFlagM, 0, datatype.Address(ip))
	m.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(0))
	m.NewAVP(avpProductName, 0, 0, datatype.UTF8String(productName))
	m.NewAVP(avpOriginStateID, avpFlagM, 0, datatype.Unsigned32(n.stateID))
	var vendors []uint32
	for _, a := range apps {
		if a.Vendor != 0 && !slices.Contains(vendors, a.Vendor) {
			vendors = append(vendors, a.Vendor)
			m.NewAVP(avpSupportedVendorID, avpFlagM, 0, datatype.Unsigned32(a.Vendor))
		}
	}
	for _, a := range apps {
		if a.Vendor == 0 {
			m.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(a.ID))
			continue
		}
		m.NewAVP(avpVendorSpecificAppID, avpFlagM, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(avpVendorID, avpFlagM, 0, datatype.Unsigned32(a.Vendor)),
			diam.NewAVP(avpAuthApplicationID, avpFlagM, 0, datatype.Unsigned32(a.ID)),
		}})
	}
	return m
}

// peerApps returns the applications a CER or CEA advertises, and whether
// the peer is a relay.
func peerApps(m *diam.Message) (apps []uint32, relay bool) {
	add := func(a *diam.AVP) {
		if v, ok := a.Data.(datatype.Unsigned32); ok {
			if uint32(v) == RelayApp {
				relay = true
			}
			apps = append(apps, uint32(v))
		}
	}
	for _, a := range m.AVP {
		switch a.Code {
		case avpAuthApplicationID, avpAcctApplicationID:
			add(a)
		case avpVendorSpecificAppID:
			if g, ok := a.Data.(*diam.GroupedAVP); ok {
				for _, in := range g.AVP {
					if in.Code == avpAuthApplicationID || in.Code == avpAcctApplicationID {
						add(in)
					}
				}
			}
		}
	}
	return apps, relay
}

func (n *Node) common(c *Conn) bool {
	for _, a := range c.served {
		if c.supports(a.ID) {
			return true
		}
	}
	return false
}

// Listen accepts peers on l.Listen: only the Origin-Hosts l.Peers names,
// only with an application in common. It returns the address it listens
// on.
func (n *Node) Listen(l ListenConfig) (net.Addr, error) {
	var tc *tls.Config
	if l.TLS != nil {
		var err error
		if tc, err = l.TLS.Build("", true); err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
	}
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		ln.Close()
		return nil, errors.New("diameter: node closed")
	}
	n.listeners = append(n.listeners, ln)
	n.mu.Unlock()
	allowed := slices.Clone(l.Peers)
	var sources []netip.Prefix
	for _, src := range l.Sources {
		p, err := parsePrefix(src)
		if err != nil {
			ln.Close()
			return nil, err
		}
		sources = append(sources, p)
	}
	n.wg.Add(1)
	go n.accept(ln, allowed, n.appsOr(l.Apps), sources, tc)
	n.log.Info("diameter listening", zap.String("addr", ln.Addr().String()), zap.Strings("peers", allowed))
	return ln.Addr(), nil
}

func (n *Node) accept(ln net.Listener, allowed []string, apps []App, sources []netip.Prefix, tc *tls.Config) {
	defer n.wg.Done()
	slots := make(chan struct{}, maxHandshakes)
	var perIPMu sync.Mutex
	perIP := make(map[netip.Addr]int) // handshakes in progress by address
	for {
		nc, err := ln.Accept()
		if err != nil {
			if n.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			n.log.Warn("diameter accept", zap.Error(err))
			if !n.sleep(100 * time.Millisecond) {
				return
			}
			continue
		}
		ip := remoteIP(nc)
		if len(sources) > 0 && !slices.ContainsFunc(sources, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			n.Stats.RefusedPeers.Add(1)
			nc.Close()
			continue
		}
		if ip.Is6() {
			// One host may hold a whole /64.
			ip = netip.PrefixFrom(ip, 64).Masked().Addr()
		}
		perIPMu.Lock()
		full := perIP[ip] >= maxHandshakesPerIP
		if !full {
			select {
			case slots <- struct{}{}:
				perIP[ip]++
			default:
				full = true
			}
		}
		perIPMu.Unlock()
		if full {
			// Too many connections in their handshake, from this
			// address or from all: a flood of idle connections
			// must not take memory or the peers' places.
			n.Stats.HandshakesShed.Add(1)
			nc.Close()
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			c, err := n.handshake(nc, allowed, apps, tc)
			perIPMu.Lock()
			if perIP[ip]--; perIP[ip] == 0 {
				delete(perIP, ip)
			}
			perIPMu.Unlock()
			<-slots
			if err != nil {
				n.Stats.HandshakeFailures.Add(1)
				n.log.Info("diameter peer refused", zap.String("addr", nc.RemoteAddr().String()), zap.Error(err))
				nc.Close()
				return
			}
			if n.register(c) {
				c.serve()
			} else {
				c.close(errors.New("node closing"))
			}
		}()
	}
}

// remoteIP is the address a connection comes from.
func remoteIP(nc net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// handshake reads a CER and answers it.
func (n *Node) handshake(nc net.Conn, allowed []string, apps []App, tc *tls.Config) (*Conn, error) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if tc != nil {
		tlsConn := tls.Server(nc, tc)
		ctx, cancel := context.WithTimeout(n.ctx, handshakeTimeout)
		err := tlsConn.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		nc = tlsConn
	}
	c := newConn(n, nc, bufio.NewReaderSize(nc, 16<<10))
	c.served = apps
	opened := false
	defer func() {
		if !opened {
			c.cancel()
		}
	}()
	f, h, err := readFrame(c.br, n.cfg.MaxMessage)
	if err != nil {
		return nil, fmt.Errorf("no CER: %w", err)
	}
	if !h.request() || h.cmd != CmdCapabilitiesExchange || h.app != 0 {
		return nil, errors.New("first message is not a CER")
	}
	cer, err := c.decode(f)
	if err != nil {
		return nil, fmt.Errorf("CER: %w", err)
	}
	host := identityOf(findAVP(cer.AVP, avpOriginHost, 0))
	cea := func(code uint32) error {
		flags := uint8(0)
		if code >= 3000 && code < 4000 {
			flags = flagError
		}
		m := diam.NewMessage(CmdCapabilitiesExchange, flags, 0, h.hopByHop, h.endToEnd, n.dict)
		m.Header.HopByHopID, m.Header.EndToEndID = h.hopByHop, h.endToEnd
		m.NewAVP(avpResultCode, avpFlagM, 0, datatype.Unsigned32(code))
		return c.writeMsg(n.capabilities(m, nc, c.served))
	}
	if !slices.Contains(allowed, host) {
		n.Stats.RefusedPeers.Add(1)
		cea(ResultUnknownPeer)
		return nil, fmt.Errorf("Origin-Host %q is not among the allowed peers", host)
	}
	if tlsConn, ok := nc.(*tls.Conn); ok {
		// Over TLS the name a peer claims must be the one its
		// certificate was issued for.
		certs := tlsConn.ConnectionState().PeerCertificates
		if len(certs) > 0 && certs[0].VerifyHostname(host) != nil {
			n.Stats.RefusedPeers.Add(1)
			cea(ResultUnknownPeer)
			return nil, fmt.Errorf("Origin-Host %q is not a name of the peer's certificate", host)
		}
	}
	if old := n.open(host); old != nil && old.healthy() && remoteIP(old.nc) != remoteIP(nc) {
		// The host is connected and alive from another address: a
		// second connection claiming its name is an impostor or a
		// misconfiguration, and must not cut the first off. (From the
		// same address it is the peer come back: it replaces the old.)
		n.Stats.RefusedPeers.Add(1)
		cea(ResultUnableToComply)
		return nil, fmt.Errorf("%s is already connected from another address", host)
	}
	c.host, c.realm = host, identityOf(findAVP(cer.AVP, avpOriginRealm, 0))
	c.apps, c.relay = peerApps(cer)
	if !c.relay && !n.common(c) {
		n.Stats.RefusedPeers.Add(1)
		cea(ResultNoCommonApplication)
		c.host = ""
		return nil, fmt.Errorf("%s serves none of our applications", host)
	}
	if err := cea(ResultSuccess); err != nil {
		c.host = ""
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	opened = true
	return c, nil
}

// appsOr returns apps, or the node's when it is empty.
func (n *Node) appsOr(apps []App) []App {
	if len(apps) == 0 {
		return n.apps
	}
	return slices.Clone(apps)
}

// parsePrefix reads a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p != p.Masked() {
			return netip.Prefix{}, errors.New("a prefix with host bits set")
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("want an address or a CIDR prefix")
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
