//go:build !linux

package radius

import (
	"net"
	"net/netip"
)

// listen opens one socket: steering datagrams to per-client sockets needs
// Linux's SO_ATTACH_REUSEPORT_CBPF.
func listen(addr netip.AddrPort, _, readBuffer int, _ clientTable) (*Listener, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	if readBuffer > 0 {
		if err := conn.SetReadBuffer(readBuffer); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return &Listener{conns: []*net.UDPConn{conn}}, nil
}

func (l *Listener) steer(clientTable) error { return nil }

func (l *Listener) unsteer() error { return nil }
