// Package redistest starts a real redis-server for a test: on a Unix socket
// in the test's own directory, with no persistence, stopped when the test
// ends. It waits for the server's readiness line, never a sleep. A missing
// redis-server fails the test (scripts/install-test-deps.sh installs it).
package redistest

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readyLine is what redis-server logs once it serves ("Ready to accept
// connections tcp", or "The server is now ready to accept connections at
// SOCKET" when it listens on a Unix socket only), compared in lower case.
const readyLine = "ready to accept connections"

// Server is a running redis-server.
type Server struct {
	// Socket is its Unix socket.
	Socket string
}

// Start starts redis-server for t and returns once it accepts connections.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): run scripts/install-test-deps.sh (make test does)", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", "")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	var logged []string
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				logged = append(logged, line)
				if strings.Contains(strings.ToLower(line), readyLine) {
					ready <- true
					sent = true
				}
			}
		}
		if !sent {
			ready <- false
		}
	}()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("redis-server exited before it was ready:\n%s", strings.Join(logged, "\n"))
		}
	case <-timer.C:
		t.Fatalf("redis-server not ready within 20s")
	}
	return &Server{Socket: sock}
}
