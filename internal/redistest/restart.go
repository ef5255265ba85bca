package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configures StartWith: a redis-server that can be killed and
// started again on the same data and the same address.
type Options struct {
	// Dir is the working directory (AOF and RDB files); kept across
	// restarts. Empty: a directory of the test's own.
	Dir string
	// AOF turns on the append-only file with appendfsync always: every
	// write Redis acknowledged is on disk, so a SIGKILL loses none.
	// Without it nothing is persisted: a restart starts empty.
	AOF bool
	// Socket, when set, is a Unix socket path to listen on (no TCP).
	Socket string
	// Port is the TCP port on 127.0.0.1 when Socket is empty; 0 picks a
	// free one at the first start (kept by every restart).
	Port int
}

// Instance is a redis-server that a test can kill and restart.
type Instance struct {
	// Addr is what store.redis.addrs takes: 127.0.0.1:PORT, or the socket
	// path. It does not change across restarts.
	Addr string
	// Dir is the data directory, kept across restarts.
	Dir string

	t    testing.TB
	opts Options
	bin  string

	mu   sync.Mutex
	proc *process // nil while killed
}

// process is one run of redis-server.
type process struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed once it exited and its output is read
	mu     sync.Mutex
	logged []string // every line it printed
}

// StartWith starts redis-server with o and returns once it accepts
// connections (its readiness log line, no sleep). It is killed when the
// test ends.
func StartWith(t testing.TB, o Options) *Instance {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): run scripts/install-test-deps.sh (make test does)", err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	r := &Instance{Dir: o.Dir, t: t, opts: o, bin: bin}
	t.Cleanup(func() {
		r.mu.Lock()
		p := r.proc
		r.proc = nil
		r.mu.Unlock()
		if p != nil {
			p.kill()
		}
	})
	if o.Socket != "" {
		r.Addr = o.Socket
		r.mustStart()
		return r
	}
	if o.Port != 0 {
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port))
		r.mustStart()
		return r
	}
	// A free port: the kernel's pick, which another process may take
	// before redis-server binds it; then another pick.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		r.opts.Port = port
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (r *Instance) args() []string {
	a := []string{"--dir", r.Dir, "--save", "", "--logfile", "", "--daemonize", "no"}
	if r.opts.Socket != "" {
		a = append(a, "--port", "0", "--unixsocket", r.opts.Socket, "--unixsocketperm", "700")
	} else {
		a = append(a, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.opts.Port))
	}
	if r.opts.AOF {
		// No rewrite: it forks a child, which would outlive a SIGKILL
		// of the server and hold its output open.
		a = append(a, "--appendonly", "yes", "--appendfsync", "always",
			"--auto-aof-rewrite-percentage", "0")
	} else {
		a = append(a, "--appendonly", "no")
	}
	return a
}

func (r *Instance) mustStart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
}

// start runs redis-server and waits for its readiness line.
func (r *Instance) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return fmt.Errorf("already running (pid %d)", r.proc.cmd.Process.Pid)
	}
	p := &process{cmd: exec.Command(r.bin, r.args()...), done: make(chan struct{})}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.cmd.Stderr = p.cmd.Stdout // the same pipe
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logged = append(p.logged, line)
			p.mu.Unlock()
			if !sent && strings.Contains(strings.ToLower(line), readyLine) {
				ready <- true
				sent = true
			}
		}
		p.cmd.Wait() // after every read from the pipe
		if !sent {
			ready <- false
		}
		close(p.done)
	}()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if !ok {
			return fmt.Errorf("exited before it was ready (%v):\n%s", p.cmd.ProcessState, p.log())
		}
	case <-timer.C:
		p.kill()
		return fmt.Errorf("not ready within 20s:\n%s", p.log())
	}
	r.proc = p
	return nil
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logged, "\n")
}

// kill sends SIGKILL (SIGCONT first, for a paused one: a stopped process
// dies of SIGKILL too, but its exit is reported only once it runs) and
// waits until it is gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Process.Signal(syscall.SIGCONT)
	<-p.done
}

// Kill stops redis-server with SIGKILL, as a crash or the OOM killer
// would: no shutdown, no final save. It returns once the process is gone
// and its address refuses connections.
func (r *Instance) Kill() {
	r.t.Helper()
	r.mu.Lock()
	p := r.proc
	r.proc = nil
	r.mu.Unlock()
	if p == nil {
		r.t.Fatal("redistest: Kill of a server that is not running")
	}
	p.kill()
}

// Restart starts redis-server again, on the same directory and address,
// and returns once it accepts connections (with AOF, once it has loaded
// the file).
func (r *Instance) Restart() {
	r.t.Helper()
	r.mustStart()
}

// Pause stops redis-server with SIGSTOP: the kernel still accepts
// connections on its address (up to the listen backlog), but nothing is
// read or answered: a hung or overloaded Redis. It returns once the
// process is stopped (on Linux, where /proc tells). Resume undoes it.
func (r *Instance) Pause() {
	r.t.Helper()
	pid := r.signal(syscall.SIGSTOP)
	r.waitState(pid, true)
}

// Resume continues a paused redis-server (SIGCONT) and returns once it
// runs.
func (r *Instance) Resume() {
	r.t.Helper()
	pid := r.signal(syscall.SIGCONT)
	r.waitState(pid, false)
}

func (r *Instance) signal(sig syscall.Signal) int {
	r.t.Helper()
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		r.t.Fatalf("redistest: %v to a server that is not running", sig)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("redistest: %v: %v", sig, err)
	}
	return p.cmd.Process.Pid
}

// waitState waits until /proc says pid is stopped (state T), or not.
// Signals are delivered asynchronously: without this, a test could
// measure a Redis that still answered. Polled: the kernel offers no
// notification of a stop to anyone but the parent's wait, which
// cmd.Wait owns.
func (r *Instance) waitState(pid int, stopped bool) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // no /proc: the signal will do
		}
		// "pid (comm) S ...": the state follows the last ')'.
		st := ""
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
			st = string(b[i+2])
		}
		if (st == "T") == stopped {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redistest: redis-server (pid %d) in state %q 5s after the signal", pid, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// Pid is the running server's process id (0 while killed).
func (r *Instance) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.cmd.Process.Pid
}

// Log returns what the running server has printed so far.
func (r *Instance) Log() string {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return ""
	}
	return p.log()
}
