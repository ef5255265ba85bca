//go:build linux

package radius

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen opens the sockets on addr, in one SO_REUSEPORT group, and steers
// datagrams to their client's socket with a classic BPF program
// (SO_ATTACH_REUSEPORT_CBPF: the program's result is the index of the
// socket in the group, in the order they were bound).
func listen(addr netip.AddrPort, sockets, readBuffer int, t clientTable) (*Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	l := &Listener{}
	for i := range sockets {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
		if err != nil {
			l.Close()
			return nil, err
		}
		conn := pc.(*net.UDPConn)
		l.conns = append(l.conns, conn)
		if i == 0 && addr.Port() == 0 {
			// The others join the port the first one got.
			addr = netip.AddrPortFrom(addr.Addr(), conn.LocalAddr().(*net.UDPAddr).AddrPort().Port())
		}
		if readBuffer > 0 {
			if err := conn.SetReadBuffer(readBuffer); err != nil {
				l.Close()
				return nil, err
			}
		}
	}
	if sockets > 1 {
		err := l.steer(t)
		l.steered = err == nil
		if err != nil {
			// Serve on one socket rather than not at all: the kernel
			// (or a sandbox) refused the program. Listen logs it.
			for _, c := range l.conns[1:] {
				c.Close()
			}
			l.conns = l.conns[:1]
			l.steerErr = err
		}
	}
	return l, nil
}

// steer attaches (or replaces, after a reload) the program that sends each
// client's datagrams to its socket.
func (l *Listener) steer(t clientTable) error {
	prog, err := steeringProgram(t)
	if err != nil {
		return err
	}
	raw, err := l.conns[0].SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog)
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("radius: steer datagrams to their client's socket: %w", err)
	}
	return nil
}

// unsteer detaches the program: the kernel then spreads datagrams over the
// sockets by their addresses and ports.
func (l *Listener) unsteer() error {
	raw, err := l.conns[0].SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0)
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("radius: detach the steering program: %w", err)
	}
	l.steered = false
	return nil
}

// skfNetOff is SKF_NET_OFF: a load at this offset plus k reads the network
// (IP) header at k, where the program's own data starts past the UDP
// header.
const skfNetOff = 0xfff00000 // -0x100000

// maxSteeringInsns is BPF_MAXINSNS.
const maxSteeringInsns = 4096

func insn(code uint16, jt, jf uint8, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// steeringProgram maps a datagram's source address to its client's socket
// (Client.sock), testing the clients in the table's order (most specific
// prefix first, as lookup does); a source that is no client goes to
// socket 0.
//
//	ldb [net+0]; rsh 4; jeq 4 ? v4 : (ja v6)
//	v4: ld [net+12]; st M[0]; for each client: ld M[0]; and mask; jeq net ? ret sock
//	    ret 0
//	v6: jeq 6 ? : ret 0; M[0..3] = the source's four words;
//	    for each client: per word: ld M[w]; and mask; jne net ? next client; ret sock
//	    ret 0
func steeringProgram(t clientTable) ([]unix.SockFilter, error) {
	const (
		ldAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		ldAbsB = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		ldMem  = unix.BPF_LD | unix.BPF_MEM
		st     = unix.BPF_ST
		and    = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
		rsh    = unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K
		jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ja     = unix.BPF_JMP | unix.BPF_JA
		ret    = unix.BPF_RET | unix.BPF_K
	)
	var v4, v6 []unix.SockFilter
	for i := range t {
		p := t[i].Prefix
		sock := uint32(t[i].sock)
		if p.Addr().Is4() {
			a := p.Addr().As4()
			mask := ^uint32(0) << (32 - p.Bits())
			if p.Bits() == 0 {
				mask = 0
			}
			v4 = append(v4,
				insn(ldMem, 0, 0, 0),
				insn(and, 0, 0, mask),
				insn(jeq, 0, 1, binary.BigEndian.Uint32(a[:])&mask),
				insn(ret, 0, 0, sock))
			continue
		}
		a := p.Addr().As16()
		var words []unix.SockFilter
		for w := range 4 {
			bits := min(max(p.Bits()-32*w, 0), 32)
			if bits == 0 {
				break
			}
			mask := ^uint32(0) << (32 - bits)
			words = append(words,
				insn(ldMem, 0, 0, uint32(w)),
				insn(and, 0, 0, mask),
				insn(jeq, 0, 0, binary.BigEndian.Uint32(a[4*w:])&mask)) // jf set below
		}
		for j := 2; j < len(words); j += 3 {
			words[j].Jf = uint8(len(words) - j) // to the next client: past the rest and the ret
		}
		v6 = append(append(v6, words...), insn(ret, 0, 0, sock))
	}
	prog := []unix.SockFilter{
		insn(ldAbsB, 0, 0, skfNetOff+0),
		insn(rsh, 0, 0, 4),
		insn(jeq, 1, 0, 4),
	}
	v4Block := append([]unix.SockFilter{
		insn(ldAbsW, 0, 0, skfNetOff+12),
		insn(st, 0, 0, 0),
	}, v4...)
	v4Block = append(v4Block, insn(ret, 0, 0, 0))
	prog = append(prog, insn(ja, 0, 0, uint32(len(v4Block))))
	prog = append(prog, v4Block...)
	prog = append(prog,
		insn(jeq, 1, 0, 6),
		insn(ret, 0, 0, 0))
	for w := range 4 {
		prog = append(prog, insn(ldAbsW, 0, 0, skfNetOff+8+uint32(4*w)), insn(st, 0, 0, uint32(w)))
	}
	prog = append(append(prog, v6...), insn(ret, 0, 0, 0))
	if len(prog) > maxSteeringInsns {
		return nil, fmt.Errorf("radius: %d clients are too many to steer (the program would have %d instructions, at most %d)", len(t), len(prog), maxSteeringInsns)
	}
	return prog, nil
}
