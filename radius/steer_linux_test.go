//go:build linux

package radius

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// The kernel delivers each client's datagrams to that client's socket and
// everything else to socket 0, also after a reload changes the clients; a
// socket nobody reads (a client that floods) does not hold up the others'.
func TestListener_SteersByClient(t *testing.T) {
	h := &scriptedEAP{}
	s, err := New(Config{
		Listen: "127.0.0.1:0",
		Clients: []ClientConfig{
			{Name: "lab", Address: "127.0.0.0/8", Secret: secret},
			{Name: "flood", Address: "127.0.0.2", Secret: "flood-secret"},
			{Name: "ap3", Address: "127.0.0.3", Secret: "ap3-secret-123"},
		},
	}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(l.conns) != 4 || !l.steered {
		t.Fatalf("%d sockets, steered %v; want 4 (three clients and the rest), steered", len(l.conns), l.steered)
	}
	to := l.LocalAddr().(*net.UDPAddr)
	send := func(from string, n int) {
		t.Helper()
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, to)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range n {
			if _, err := c.Write([]byte(from)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Which socket gets what, by the order of the configuration: lab 1,
	// flood 2, ap3 3, anything else 0.
	expect := func(sock int, from string) {
		t.Helper()
		buf := make([]byte, 64)
		l.conns[sock].SetReadDeadline(time.Now().Add(2 * time.Second))
		n, addr, err := l.conns[sock].ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("socket %d: nothing from %s: %v", sock, from, err)
		}
		if got := addr.Addr(); got != netip.MustParseAddr(from) || string(buf[:n]) != from {
			t.Fatalf("socket %d got %q from %s, want the datagram of %s", sock, buf[:n], got, from)
		}
	}
	// A flood nobody reads fills socket 2 only.
	send("127.0.0.2", 5000)
	for _, tc := range []struct {
		from string
		sock int
	}{{"127.0.0.1", 1}, {"127.0.0.3", 3}, {"127.0.0.9", 1}} {
		send(tc.from, 1)
		expect(tc.sock, tc.from)
	}
	expect(2, "127.0.0.2")

	// A reload (before Serve, as a SIGHUP at start can come): ap3 goes,
	// lab moves to 127.0.0.1/32; 127.0.0.9 is no client now and goes to
	// socket 0.
	err = s.SetClients(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{
		{Name: "lab", Address: "127.0.0.1", Secret: secret},
		{Name: "flood", Address: "127.0.0.2", Secret: "flood-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	send("127.0.0.9", 1)
	expect(0, "127.0.0.9")
	send("127.0.0.1", 1)
	expect(1, "127.0.0.1")
}

// The program tests IPv6 prefixes word by word; an IPv4 source never
// matches an IPv6 client.
func TestSteeringProgram_IPv6(t *testing.T) {
	s, err := New(Config{
		Listen: "[::1]:0",
		Clients: []ClientConfig{
			{Name: "v6", Address: "::1", Secret: secret},
			{Name: "v4", Address: "127.0.0.1", Secret: secret},
		},
	}, &scriptedEAP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Listen()
	if err != nil {
		t.Fatalf("IPv6 loopback: %v", err)
	}
	defer l.Close()
	c, err := net.DialUDP("udp", nil, l.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	buf := make([]byte, 8)
	l.conns[1].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := l.conns[1].ReadFromUDPAddrPort(buf); err != nil {
		t.Fatalf("the IPv6 client's socket got nothing: %v", err)
	}
}

// When the program cannot be had (here: more clients than it can test),
// aaad serves on one socket rather than not at all, and says why.
func TestListener_FallsBackToOneSocket(t *testing.T) {
	var cs []ClientConfig
	for i := range 1100 {
		cs = append(cs, ClientConfig{Name: fmt.Sprint("ap", i), Address: fmt.Sprintf("10.%d.%d.1", i/250, i%250), Secret: secret})
	}
	s, err := New(Config{Listen: "127.0.0.1:0", Clients: cs}, &scriptedEAP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(l.conns) != 1 || l.steered || l.steerErr == nil {
		t.Fatalf("%d sockets, steered %v, reason %v; want one socket and the reason", len(l.conns), l.steered, l.steerErr)
	}
}

// A reload to more clients than the program can test leaves the kernel to
// spread datagrams over the sockets, as at start, and takes the clients.
func TestSetClients_TooManyToSteer(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{
		{Name: "lab", Address: "127.0.0.1", Secret: secret},
		{Name: "flood", Address: "127.0.0.2", Secret: "flood-secret"},
	}}, &scriptedEAP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var cs []ClientConfig
	for i := range 1100 {
		cs = append(cs, ClientConfig{Name: fmt.Sprint("ap", i), Address: fmt.Sprintf("10.%d.%d.1", i/250, i%250), Secret: secret})
	}
	if err := s.SetClients(Config{Listen: "127.0.0.1:0", Clients: cs}); err != nil {
		t.Fatal(err)
	}
	if l.steered || s.Client("ap1099") == nil {
		t.Fatalf("steered %v, new clients taken %v", l.steered, s.Client("ap1099") != nil)
	}
}
