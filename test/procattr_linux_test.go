package test

import "syscall"

// serverProcAttr puts the server in its own process group (so that a stuck
// server can be killed with its children) and has the kernel kill it if the
// test binary dies first (go test -timeout, crash).
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
