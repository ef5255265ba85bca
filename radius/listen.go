package radius

import (
	"errors"
	"net"
)

// Listener is the server's UDP sockets, all on one address. Where the
// system allows (Linux), there is one socket per client (up to
// radius.sockets) and one for sources that are no client, in one
// SO_REUSEPORT group, and a classic BPF program steers every datagram to
// the socket of the client it comes from (steer_linux.go). A client that
// floods then fills its own socket's receive buffer: past what aaad reads,
// the kernel drops its datagrams, not its neighbours'. Elsewhere it is one
// socket.
type Listener struct {
	conns []*net.UDPConn
	// steered: datagrams reach the socket of their client (sock of
	// Client); otherwise any socket may carry any client.
	steered bool
	// steerErr is why steering was asked for and could not be had.
	steerErr error
}

// LocalAddr is the address the sockets share.
func (l *Listener) LocalAddr() net.Addr { return l.conns[0].LocalAddr() }

// Close closes every socket.
func (l *Listener) Close() error {
	var errs []error
	for _, c := range l.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// socketCount is how many sockets to open for n clients: one for sources
// that are no client and one per client, at most max.
func socketCount(clients, max int) int {
	return min(clients+1, max)
}

// clientSocket is the socket a client's datagrams go to: sockets 1..n-1
// hold the clients in the order of the configuration, sharing when there
// are more clients than sockets; socket 0 takes everything else.
func clientSocket(i, sockets int) int {
	if sockets < 2 {
		return 0
	}
	return 1 + i%(sockets-1)
}

// workersFor splits the configured workers between the sockets: the
// socket of unknown sources gets a few (what comes there is dropped at
// once), the client sockets share the rest, each at least 8.
func workersFor(socket, sockets, workers int) int {
	if sockets < 2 {
		return workers
	}
	if socket == 0 {
		return max(2, workers/16)
	}
	return max(8, workers/(sockets-1))
}
