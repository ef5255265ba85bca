package main

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// rawIO sends and receives on a connected UDP socket with non-blocking raw
// system calls run through syscall.RawConn: the poller still parks the
// goroutine when there is nothing to read (or no room to write), but a call
// that does not block skips the runtime's entersyscall/exitsyscall, which
// under load keeps sysmon waking up to retake Ps. The descriptor is
// non-blocking (package net sets it), so RawSyscall never blocks the
// thread. Writes must be serialised by the caller (sock.mu); reads belong to
// the socket's reader goroutine.
type rawIO struct {
	rc syscall.RawConn

	// Arguments and results of the callbacks, which are made once so that
	// a call allocates nothing.
	wbuf    []byte
	werr    syscall.Errno
	rbuf    []byte
	rn      int
	rerr    syscall.Errno
	from    syscall.RawSockaddrAny
	fromLen uint32
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
}

func newRawIO(c *net.UDPConn) (*rawIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rawIO{rc: rc}
	r.readFn = func(fd uintptr) bool {
		r.fromLen = uint32(unsafe.Sizeof(r.from))
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(r.rbuf))), uintptr(len(r.rbuf)), 0,
			uintptr(unsafe.Pointer(&r.from)), uintptr(unsafe.Pointer(&r.fromLen)))
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return false // wait for the poller
		}
		r.rn, r.rerr = int(n), e
		return true
	}
	r.writeFn = func(fd uintptr) bool {
		_, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(r.wbuf))), uintptr(len(r.wbuf)))
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return false
		}
		r.werr = e
		return true
	}
	return r, nil
}

// write sends b as one datagram. Callers serialise writes.
func (r *rawIO) write(b []byte) error {
	r.wbuf, r.werr = b, 0
	err := r.rc.Write(r.writeFn)
	r.wbuf = nil
	if err != nil {
		return err
	}
	if r.werr != 0 {
		return r.werr
	}
	return nil
}

// read receives one datagram into b and returns its length and source.
func (r *rawIO) read(b []byte) (int, netip.AddrPort, error) {
	r.rbuf, r.rerr = b, 0
	err := r.rc.Read(r.readFn)
	r.rbuf = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.rerr != 0 {
		return 0, netip.AddrPort{}, r.rerr
	}
	return r.rn, sockaddrAddrPort(&r.from), nil
}

func sockaddrAddrPort(sa *syscall.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		p := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := p.Port<<8 | p.Port>>8 // network byte order
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port)
	case syscall.AF_INET6:
		p := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := p.Port<<8 | p.Port>>8
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
