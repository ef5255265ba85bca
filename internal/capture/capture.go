// Package capture records the Diameter a test exchanges on loopback with
// dumpcap and has Wireshark's own dissector (tshark) decode every message,
// for tests only: a message Wireshark calls malformed, or an AVP, vendor,
// command or application it does not know, is an encoding problem of ours
// (or a gap in Wireshark's dictionary, which is then documented in Check).
//
//	c := capture.Start(t, hssPort, aaaPort) // returns once dumpcap captures
//	... exchange Diameter on those ports ...
//	pcap := c.Stop(t)                       // everything exchanged is in pcap
//	msgs := capture.Diameter(t, pcap, hssPort, aaaPort)
//	capture.Check(t, msgs)
//
// dumpcap and tshark come from Debian's wireshark-common and tshark
// (scripts/install-test-deps.sh installs both); a missing one fails the
// test, never skips it. Capturing needs root or CAP_NET_RAW.
//
// Start runs
//
//	dumpcap -i lo -f "tcp port A or tcp port B or udp port M" -B 16 -w DIR/capture.pcapng
//
// where M is a UDP port of the capture's own (the end marker, see Stop), and
// Diameter runs
//
//	tshark -n -r PCAP -o diameter.desegment:TRUE -o tcp.desegment_tcp_streams:TRUE
//	       -d tcp.port==A,diameter -d tcp.port==B,diameter -T pdml
//
// and then, as a cross-check of its reading of the PDML, the same with
// "-q -z expert" (tshark's expert tap) instead of "-T pdml", both with
// WIRESHARK_CONFIG_DIR set to an empty directory, so that no personal
// preference or decode-as of the machine changes what is decoded.
//
// What Wireshark 4.0's Diameter dissector checks, and so what Check can
// catch: lengths (message, AVP, and per type: an Unsigned32 of 3 octets),
// padding, reserved flag bits, the header's version, and that each
// (AVP code, vendor) pair, command and application is in its dictionary (a
// 3GPP AVP sent without its V bit or with another vendor is an "Unknown
// AVP"). What it does not check: the M and P bits against the dictionary,
// and a command's grammar (a missing or repeated AVP).
package capture

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for dumpcap's "File: " line.
	startTimeout = 20 * time.Second
	// flushTimeout bounds the wait for the end marker to be in the file:
	// dumpcap writes out what the kernel handed it at least every
	// DUMPCAP_UPD_TIME (500 ms) after libpcap's read timeout (250 ms).
	flushTimeout = 15 * time.Second
	// exitTimeout bounds the wait for dumpcap to exit after SIGINT.
	exitTimeout = 10 * time.Second
	// bufferMiB is dumpcap's kernel buffer (-B): large enough that a
	// test's Diameter never overflows it (Stop fails if it did).
	bufferMiB = 16
)

// Tool locations tried after $PATH (dumpcap is in /usr/bin on Debian, in
// /usr/sbin or a libexec directory elsewhere).
var toolDirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/lib/wireshark", "/usr/libexec/wireshark"}

// findTool returns the path of a Wireshark tool, or "".
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range toolDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Capture is a running dumpcap writing the traffic of some TCP ports on
// the loopback interface into a file.
type Capture struct {
	// Path is the capture file (pcapng), in a t.TempDir().
	Path string
	// Ports are the TCP ports captured.
	Ports []int

	cmd    *exec.Cmd
	stderr *output
	done   chan struct{} // closed once dumpcap exited and stderr is drained
	werr   error         // cmd.Wait's result; read after done is closed

	marker    []byte       // the end marker's payload: random, unique
	markerSrc *net.UDPConn // sends the marker to itself, on loopback

	mu      sync.Mutex
	stopped bool
}

// Start starts dumpcap on the loopback interface for the TCP ports given
// (both directions, any address), and returns once dumpcap has its capture
// socket bound with the filter installed and its output file open: every
// packet sent on those ports from then on is captured. It waits for
// dumpcap's "File: PATH" line, which dumpcap 4.0 prints only after
// pcap_activate, pcap_setfilter and the file's creation — not for its
// "Capturing on 'Loopback: lo'" line, which it prints before it opens
// anything. No sleep, no polling.
//
// A missing dumpcap fails the test. There is no fallback to tshark: tshark
// captures live only by running dumpcap, so without dumpcap it cannot
// capture either.
//
// If the test does not call Stop, its cleanup kills dumpcap.
func Start(t testing.TB, ports ...int) *Capture {
	t.Helper()
	if len(ports) == 0 {
		t.Fatal("capture.Start: no port to capture")
	}
	for _, p := range ports {
		if p <= 0 || p > 65535 {
			t.Fatalf("capture.Start: bad TCP port %d", p)
		}
	}
	bin := findTool("dumpcap")
	if bin == "" {
		t.Fatal("dumpcap not found (Debian's wireshark-common): run scripts/install-test-deps.sh; " +
			"tshark cannot stand in for it, it captures through dumpcap")
	}

	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("capture.Start: end-marker socket: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	go io.Copy(io.Discard, src) // the marker it sends itself: drained, ignored

	marker := make([]byte, 32)
	rand.Read(marker)
	copy(marker, "aaa-capture-end:")

	var filter []string
	for _, p := range ports {
		filter = append(filter, fmt.Sprintf("tcp port %d", p))
	}
	filter = append(filter, fmt.Sprintf("udp port %d", src.LocalAddr().(*net.UDPAddr).Port))

	c := &Capture{
		Path:      filepath.Join(t.TempDir(), "capture.pcapng"),
		Ports:     append([]int(nil), ports...),
		stderr:    newOutput(),
		done:      make(chan struct{}),
		marker:    marker,
		markerSrc: src,
	}
	// No -q: dumpcap then prints "\rPackets: N " each time it has flushed
	// packets to the file, which is what Stop waits on.
	c.cmd = exec.Command(bin, "-i", "lo", "-f", strings.Join(filter, " or "),
		"-B", strconv.Itoa(bufferMiB), "-w", c.Path)
	// Its own process group, and killed by the kernel if the test binary
	// dies first (go test -timeout, crash).
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.cmd.Stdout = c.stderr
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		io.Copy(c.stderr, stderr)
		c.werr = c.cmd.Wait() // after all reads from the pipe
		c.stderr.close()
		close(c.done)
	}()
	t.Cleanup(c.kill)

	if !c.stderr.wait(startTimeout, func(s string) bool { return fileLineRE.MatchString(s) }) {
		select {
		case <-c.done:
			t.Fatalf("dumpcap exited before it captured (%v): %s\n%s", c.werr, c.cmd, c.stderr)
		default:
			t.Fatalf("dumpcap printed no \"File: \" line within %v: %s\n%s", startTimeout, c.cmd, c.stderr)
		}
	}
	return c
}

// fileLineRE: what dumpcap prints (report_new_capture_file) once the
// capture is running and its file open.
var fileLineRE = regexp.MustCompile(`(?m)^File: .+\n`)

// dropsRE: dumpcap's last line, per interface (report_packet_drops).
var dropsRE = regexp.MustCompile(`Packets received/dropped on interface '[^']*': (\d+)/(\d+) \(pcap:(\d+)/dumpcap:(\d+)/flushed:(\d+)/ps_ifdrop:(\d+)\)`)

// Stop ends the capture and returns the path of the complete capture file.
//
// What it guarantees: every packet on the captured ports that was received
// on loopback before Stop was called is in the file (a Diameter message the
// test saw answered, a log line of a peer about a message it got: all in).
// On loopback the kernel hands a copy of each packet to dumpcap's socket in
// the sender's transmit path, before the packet is delivered, and in order.
// But dumpcap does not write all it was handed when told to stop: after
// SIGINT it discards, as "flushed", whatever libpcap still returns, and
// libpcap returns a ring block only when it is full or after its 250 ms
// timeout. So Stop first sends a UDP datagram with a random payload to a
// port the filter captures, and waits until that payload is in the file
// (dumpcap flushes the file before each "Packets: N" it prints, and Stop
// reads it again at each); everything handed to dumpcap before the marker
// is then in the file too. Only then does it SIGINT dumpcap and wait for it
// to exit 0. It fails the test if the marker never reaches the file, or if
// dumpcap reports packets the kernel dropped (a full buffer): the file
// would then miss packets.
//
// What it does not: a packet still queued in a sender's socket (TCP data a
// peer wrote but the kernel has not transmitted) is not in the file; wait
// for its receipt before Stop. Calling Stop again returns the path.
func (c *Capture) Stop(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return c.Path
	}
	c.stopped = true

	if _, err := c.markerSrc.WriteToUDP(c.marker, c.markerSrc.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatalf("capture.Stop: send the end marker: %v", err)
	}
	deadline := time.Now().Add(flushTimeout)
	for {
		b, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatalf("capture.Stop: %v", err)
		}
		if bytes.Contains(b, c.marker) {
			break
		}
		seen := c.stderr.version()
		left := time.Until(deadline)
		if left <= 0 {
			c.kill()
			t.Fatalf("capture.Stop: dumpcap did not write the end marker within %v: the capture may be incomplete\n%s",
				flushTimeout, c.stderr)
		}
		// Wakes on dumpcap's next output (a "Packets: N" after a flush)
		// or its exit.
		c.stderr.waitChange(seen, left)
		select {
		case <-c.done:
			t.Fatalf("capture.Stop: dumpcap exited during the capture (%v):\n%s", c.werr, c.stderr)
		default:
		}
	}

	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("capture.Stop: SIGINT to dumpcap: %v", err)
	}
	timer := time.NewTimer(exitTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("capture.Stop: dumpcap did not exit within %v of SIGINT; killed\n%s", exitTimeout, c.stderr)
	}
	out := c.stderr.String()
	if c.werr != nil {
		t.Fatalf("capture.Stop: dumpcap exited with %v\n%s", c.werr, out)
	}
	m := dropsRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("capture.Stop: dumpcap reported no packet counts:\n%s", out)
	}
	// pcap: dropped by the kernel (buffer full); dumpcap: not written;
	// ps_ifdrop: dropped by the interface. flushed: read after SIGINT and
	// discarded, all after the marker, so of no concern.
	if m[3] != "0" || m[4] != "0" || m[6] != "0" {
		t.Fatalf("capture.Stop: dumpcap dropped packets (pcap:%s dumpcap:%s ps_ifdrop:%s): the capture is incomplete\n%s",
			m[3], m[4], m[6], out)
	}
	if dir := os.Getenv(KeepEnv); dir != "" {
		keep(t, c.Path, dir)
	}
	return c.Path
}

// KeepEnv names the environment variable that, when set to a directory,
// has Stop copy each capture file there (TestName.pcapng, subtests' slashes
// as underscores), to open in Wireshark after the test: t.TempDir() is
// removed when the test ends.
const KeepEnv = "AAA_CAPTURE_KEEP"

func keep(t testing.TB, path, dir string) {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_", "'", "").Replace(t.Name()) + ".pcapng"
	b, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err != nil {
		t.Errorf("capture: keeping the capture in %s=%s: %v", KeepEnv, dir, err)
		return
	}
	t.Logf("capture kept in %s", filepath.Join(dir, name))
}

// kill ends a dumpcap the test did not stop (its cleanup), or one that
// failed to.
func (c *Capture) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Kill()
	<-c.done
}

// output collects a process's output and wakes those waiting for it.
type output struct {
	mu      sync.Mutex
	buf     strings.Builder
	n       uint64        // bumped on every write
	changed chan struct{} // closed and replaced on every write
	closed  bool
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	o.n++
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	o.n++
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) version() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// waitChange returns once there was output after version seen, the output
// closed, or timeout passed.
func (o *output) waitChange(seen uint64, timeout time.Duration) {
	o.mu.Lock()
	if o.n != seen || o.closed {
		o.mu.Unlock()
		return
	}
	ch := o.changed
	o.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
	}
}

// wait returns true once match(all output) is true, false if the output
// closed or timeout passed first.
func (o *output) wait(timeout time.Duration, match func(string) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		o.mu.Lock()
		s, n, closed := o.buf.String(), o.n, o.closed
		o.mu.Unlock()
		if match(s) {
			return true
		}
		left := time.Until(deadline)
		if closed || left <= 0 {
			return false
		}
		o.waitChange(n, left)
	}
}
