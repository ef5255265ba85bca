//go:build !linux

package main

import (
	"net"
	"net/netip"
)

// rawIO is the portable form of rawio_linux.go: plain UDPConn calls.
// Writes are serialised by the caller (sock.mu), as on Linux.
type rawIO struct {
	c *net.UDPConn
}

func newRawIO(c *net.UDPConn) (*rawIO, error) { return &rawIO{c: c}, nil }

func (r *rawIO) write(b []byte) error {
	_, err := r.c.Write(b)
	return err
}

func (r *rawIO) read(b []byte) (int, netip.AddrPort, error) {
	n, from, err := r.c.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
}
