package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Ready is the node's readiness (GET /readyz), the checks that apply to
// its configuration:
//
//   - radius, diameter_eap, swx_server: the listener is up (run set them
//     all up, and has not begun to shut down);
//   - store: with Redis, a PING answered within ctx (on every master of a
//     Cluster); the memory store is always reachable;
//   - hss: with hss.backend swx, a connection to at least one of the
//     configured HSS peers (or relays) is open; the built-in HSS is the
//     store's.
//
// Details are short reasons: no address, no URL, no credential.
func (c swxCommands) Ready(ctx context.Context) []Check {
	a := c.a
	var checks []Check
	listening := func(name string) {
		ch := Check{Name: name, OK: a.listening.Load()}
		if !ch.OK {
			ch.Detail = "not listening (starting or shutting down)"
		}
		checks = append(checks, ch)
	}
	if a.radius != nil {
		listening("radius")
	}
	if a.eapFront != nil {
		listening("diameter_eap")
	}
	if a.swxServer != nil {
		listening("swx_server")
	}
	checks = append(checks, c.storeCheck(ctx))
	checks = append(checks, c.hssCheck())
	return checks
}

// storeCheck is the "store" check.
func (c swxCommands) storeCheck(ctx context.Context) Check {
	a := c.a
	ch := Check{Name: "store"}
	if a.rdb == nil {
		ch.OK, ch.Detail = true, "memory"
		return ch
	}
	ping := func(ctx context.Context, rc redis.UniversalClient) error { return rc.Ping(ctx).Err() }
	var err error
	if cc, ok := a.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, rc *redis.Client) error { return ping(ctx, rc) })
	} else {
		err = ping(ctx, a.rdb)
	}
	if err != nil {
		ch.Detail = "redis: " + healthRedisReason(ctx, err)
		return ch
	}
	ch.OK, ch.Detail = true, "redis"
	return ch
}

// healthRedisReason is a short reason for a Redis error, for /readyz: a go-redis
// error may name an address, so only its kind is told. A reply of the
// server (LOADING, NOAUTH, MASTERDOWN) is told by its code.
func healthRedisReason(ctx context.Context, err error) string {
	var re redis.Error
	var ne net.Error
	switch {
	case errors.As(err, &re):
		code, _, _ := strings.Cut(re.Error(), " ")
		if code == "" || len(code) > 32 || strings.ToUpper(code) != code {
			return "error reply"
		}
		return code
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, redis.ErrPoolTimeout), errors.As(err, &ne) && ne.Timeout():
		if ctx.Err() != nil {
			return "no answer within the deadline"
		}
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EPIPE):
		return "connection lost"
	case errors.Is(err, redis.ErrClosed):
		return "client closed (shutting down)"
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.As(err, &ne):
		return "network error"
	}
	return "error"
}

// hssCheck is the "hss" check: where the vectors come from.
func (c swxCommands) hssCheck() Check {
	a := c.a
	ch := Check{Name: "hss"}
	if a.swxClient == nil {
		// The built-in HSS: its subscribers are the store's.
		ch.OK, ch.Detail = true, "local"
		return ch
	}
	peers := a.cfg.HSS.SWx.Peers
	n := 0
	if a.node != nil {
		open := a.node.OpenPeers()
		for _, p := range peers {
			if slices.Contains(open, p.Host) {
				n++
			}
		}
	}
	ch.OK = n > 0
	ch.Detail = fmt.Sprintf("%d of %d peers open", n, len(peers))
	return ch
}
