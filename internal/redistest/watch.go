package redistest

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// logWatch reads a redis-server's output to its end, keeping the lines up
// to the first that contains the ready text (compared in lower case), and
// says on ready whether that line came before the output ended.
type logWatch struct {
	mu     sync.Mutex
	logged []string
	ready  chan bool
	exited chan struct{} // closed once the output is read to its end
}

func watchLog(out io.Reader, readyText string) *logWatch {
	w := &logWatch{ready: make(chan bool, 1), exited: make(chan struct{})}
	go func() {
		defer close(w.exited)
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if sent {
				continue
			}
			w.mu.Lock()
			w.logged = append(w.logged, line)
			w.mu.Unlock()
			if strings.Contains(strings.ToLower(line), readyText) {
				w.ready <- true
				sent = true
			}
		}
		if !sent {
			w.ready <- false
		}
	}()
	return w
}

// text is what was logged up to the ready line.
func (w *logWatch) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.logged, "\n")
}
