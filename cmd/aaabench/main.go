// Command aaabench is the load generator of aaad: simulated USIMs
// (Milenage, SQN freshness, fast re-authentication, pseudonyms) behind
// simulated access points speaking RADIUS, or behind a trusted WLAN
// access gateway speaking Diameter EAP (STa, SWm or RFC 4072; --diameter,
// diameter.go), running EAP-AKA' or EAP-AKA against a server and checking
// every answer and every key.
//
//	aaabench --subscribers FILE [flags]          run the load
//	aaabench subscribers --count N [--out FILE]  write a subscribers CSV
//	aaabench flood --mode MODE [flags]           be a hostile access point (flood.go)
//
// Every Access-Request carries Message-Authenticator; every answer's
// Response Authenticator and Message-Authenticator are verified, and every
// Access-Accept's MS-MPPE keys must equal the MSK the peer derived (over
// Diameter: every DEA's EAP-Master-Session-Key). Failures
// are counted by reason. One line a second goes to stderr, a summary to
// stdout at the end (--json: one JSON object). Exit status: 0 without
// failures, 1 with any, 2 on usage errors.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/milenage"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	server      string
	secret      string
	subscribers string
	methodName  string
	method      eap.Type
	concurrency int
	count       int64
	duration    time.Duration
	rate        float64
	timeout     time.Duration
	retries     int
	reauth      float64
	anonymous   float64
	realm       string
	json        bool
	quiet       bool
	sockets     int
	cpuprofile  string
	procs       int
	bindName    string
	bind        netip.Addr // source address of the sockets; zero: the kernel's choice
	// retransmitFinal: after each Access-Accept, send the final
	// Access-Request again and require the same Accept back.
	retransmitFinal bool

	// Diameter EAP (--diameter): aaabench is a trusted WLAN access
	// gateway (diameter.go).
	diameter       string // peer host:port; empty: RADIUS
	peerHost       string // the peer's Origin-Host, checked in its CEA
	originHost     string
	originRealm    string
	destRealm      string
	destHost       string
	appName        string // sta, eap or swm
	appID          uint32
	appVendor      uint32 // 10415 for STa and SWm, 0 for Diameter EAP
	anid           string // ANID AVP and the AKA' network name the USIMs expect
	connectTimeout time.Duration
}

func (c *config) isDiameter() bool { return c.diameter != "" }

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "subscribers" {
		return subscribersMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "flood" {
		return floodMain(args[1:], stdout, stderr, nil)
	}
	cfg, code := parseFlags(args, stderr)
	if cfg == nil {
		return code
	}
	return run(cfg, stdout, stderr, nil)
}

func parseFlags(args []string, stderr io.Writer) (*config, int) {
	cfg := &config{}
	fs := flag.NewFlagSet("aaabench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.server, "server", "127.0.0.1:1812", "RADIUS server host:port")
	fs.StringVar(&cfg.secret, "secret", "testing123", "RADIUS shared secret")
	fs.StringVar(&cfg.subscribers, "subscribers", "", "subscribers CSV, the server's format imsi,k,opc,amf,sqn (required)")
	fs.StringVar(&cfg.methodName, "method", "aka-prime", "aka-prime or aka")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "authentications in flight")
	fs.Int64Var(&cfg.count, "count", 0, "stop after this many authentications (instead of --duration)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "run this long (instead of --count)")
	fs.Float64Var(&cfg.rate, "rate", 0, "open loop: start this many authentications a second on a fixed schedule (0: closed loop)")
	fs.DurationVar(&cfg.timeout, "timeout", time.Second, "per round trip (RADIUS request or DER)")
	fs.IntVar(&cfg.retries, "retries", 2, "retransmissions of a request before it times out (default 3 with --diameter)")
	fs.Float64Var(&cfg.reauth, "reauth", 0, "share (0..1) of authentications that use a re-authentication identity when the USIM has one")
	fs.Float64Var(&cfg.anonymous, "anonymous", 0, "share (0..1) of authentications with the outer identity anonymous@realm")
	fs.StringVar(&cfg.realm, "realm", "wlan.mnc001.mcc001.3gppnetwork.org", "NAI realm of the identities")
	fs.BoolVar(&cfg.json, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no per-second lines on stderr")
	fs.IntVar(&cfg.sockets, "sockets", 0, "UDP sockets (simulated access points); default min(concurrency, 64)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of aaabench itself to this file")
	fs.IntVar(&cfg.procs, "procs", 0, "Go Ps (GOMAXPROCS) for aaabench; default $GOMAXPROCS, else 3/8 of the CPUs (at least 1), leaving the rest to a server on the same machine")
	fs.StringVar(&cfg.bindName, "bind", "", "source IP address of the sockets (e.g. 127.0.0.2: another RADIUS client); default the kernel's choice")
	fs.BoolVar(&cfg.retransmitFinal, "retransmit-final", false, "after each Access-Accept, send the final Access-Request again (same bytes) and require the same Accept back")
	fs.StringVar(&cfg.diameter, "diameter", "", "Diameter EAP peer host:port: be a trusted WLAN access gateway (DER/DEA over TCP) instead of a RADIUS access point")
	fs.StringVar(&cfg.peerHost, "peer-host", "aaa.test", "--diameter: the peer's Origin-Host (checked in its CEA)")
	fs.StringVar(&cfg.originHost, "origin-host", "twag.test", "--diameter: our Origin-Host")
	fs.StringVar(&cfg.originRealm, "origin-realm", "test", "--diameter: our Origin-Realm")
	fs.StringVar(&cfg.destRealm, "destination-realm", "test", "--diameter: Destination-Realm of the DERs")
	fs.StringVar(&cfg.destHost, "destination-host", "", "--diameter: Destination-Host of the DERs (default none)")
	fs.StringVar(&cfg.appName, "app", "sta", "--diameter: sta (16777250), eap (5, RFC 4072) or swm (16777264)")
	fs.StringVar(&cfg.anid, "anid", "WLAN", "--diameter: the ANID AVP, and the access network name the USIMs expect for AKA'")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", 10*time.Second, "--diameter: wait this long for the connection to the peer to open")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aaabench --subscribers FILE [flags]                      (RADIUS, --server, --secret)")
		fmt.Fprintln(stderr, "       aaabench --diameter HOST:PORT --subscribers FILE [flags]  (Diameter EAP as a TWAG)")
		fmt.Fprintln(stderr, "       aaabench subscribers --count N [--imsi-base IMSI] [--out FILE]")
		fmt.Fprintln(stderr, "       aaabench flood --mode MODE --bind ADDR [flags]   (aaabench flood -h)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if fs.NArg() > 0 {
		bad("unexpected argument %q", fs.Arg(0))
	}
	if cfg.subscribers == "" {
		bad("--subscribers is required")
	}
	if cfg.isDiameter() {
		checkDiameterFlags(cfg, set, bad)
	} else {
		for _, f := range []string{"peer-host", "origin-host", "origin-realm", "destination-realm", "destination-host", "app", "anid", "connect-timeout"} {
			if set[f] {
				bad("--%s goes with --diameter", f)
			}
		}
	}
	switch cfg.methodName {
	case "aka-prime":
		cfg.method = eap.TypeAKAPrime
	case "aka":
		cfg.method = eap.TypeAKA
	default:
		bad("--method: %q: want aka-prime or aka", cfg.methodName)
	}
	if set["count"] && set["duration"] {
		bad("give --count or --duration, not both")
	}
	if set["count"] {
		if cfg.count <= 0 {
			bad("--count must be positive")
		}
		cfg.duration = 0
	} else if cfg.duration <= 0 {
		bad("--duration must be positive")
	}
	if cfg.concurrency < 1 {
		bad("--concurrency must be positive")
	}
	if cfg.rate < 0 {
		bad("--rate must not be negative")
	}
	if cfg.timeout <= 0 {
		bad("--timeout must be positive")
	}
	if cfg.retries < 0 {
		bad("--retries must not be negative")
	}
	if cfg.reauth < 0 || cfg.reauth > 1 {
		bad("--reauth: want 0..1")
	}
	if cfg.anonymous < 0 || cfg.anonymous > 1 {
		bad("--anonymous: want 0..1")
	}
	if cfg.sockets < 0 {
		bad("--sockets must not be negative")
	}
	if cfg.procs < 0 {
		bad("--procs must not be negative")
	}
	if cfg.isDiameter() {
		if cfg.realm == "" || strings.ContainsAny(cfg.realm, "@ ") {
			bad("--realm: want a realm such as wlan.mnc001.mcc001.3gppnetwork.org")
		}
	} else {
		cfg.bind = checkPeerFlags(bad, cfg.secret, cfg.realm, cfg.bindName, false)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "aaabench:", p)
		}
		fmt.Fprintln(stderr, "run aaabench -h for the flags")
		return nil, 2
	}
	return cfg, 0
}

// checkPeerFlags checks what the load and the flood share: the secret, the
// realm, and the source address (--bind, loopback only for the flood). It
// returns the parsed source address, zero when none was given or it is bad.
func checkPeerFlags(bad func(string, ...any), secret, realm, bindName string, loopbackOnly bool) netip.Addr {
	if secret == "" {
		bad("--secret must not be empty")
	}
	if realm == "" || strings.ContainsAny(realm, "@ ") {
		bad("--realm: want a realm such as wlan.mnc001.mcc001.3gppnetwork.org")
	}
	if bindName == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(bindName)
	switch {
	case err != nil || a.Zone() != "":
		bad("--bind: want an IP address")
	case loopbackOnly && !a.Unmap().IsLoopback():
		bad("--bind: %s is not a loopback address: the flood runs on loopback only", a)
	default:
		return a.Unmap()
	}
	return netip.Addr{}
}

// loadUSIMs reads the subscribers CSV with the HSS's own reader.
func loadUSIMs(cfg *config) ([]*usim, error) {
	data, err := os.ReadFile(cfg.subscribers)
	if err != nil {
		return nil, err
	}
	subs, err := hss.ReadSubscribersCSV(bytes.NewReader(data))
	clear(data)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, errors.New("subscribers: no subscriber in the file")
	}
	out := make([]*usim, len(subs))
	for i := range subs {
		s := &subs[i]
		out[i] = newUSIM(milenage.New(s.K, s.OPc), s.SQN, s.IMSI, cfg.method, cfg.realm)
		clear(s.K[:])
		clear(s.OPc[:])
	}
	return out, nil
}

// run runs the load and prints the summary. stop, when not nil, ends the
// run like SIGINT (tests).
func run(cfg *config, stdout, stderr io.Writer, stop <-chan struct{}) int {
	var server netip.AddrPort
	if !cfg.isDiameter() {
		ua, err := net.ResolveUDPAddr("udp", cfg.server)
		if err != nil {
			fmt.Fprintln(stderr, "aaabench: --server:", err)
			return 2
		}
		ap := ua.AddrPort()
		server = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	usims, err := loadUSIMs(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "aaabench: --subscribers:", err)
		return 2
	}
	if cfg.concurrency > len(usims) {
		fmt.Fprintf(stderr, "aaabench: concurrency capped at %d, the number of subscribers (a USIM runs one authentication at a time)\n", len(usims))
		cfg.concurrency = len(usims)
	}
	if cfg.count > 0 && int64(cfg.concurrency) > cfg.count {
		cfg.concurrency = int(cfg.count)
	}
	if !cfg.isDiameter() {
		if cfg.sockets == 0 {
			cfg.sockets = min(cfg.concurrency, 64)
		}
		if need := (cfg.concurrency + 255) / 256; cfg.sockets < need {
			fmt.Fprintf(stderr, "aaabench: %d sockets, as a socket has 256 RADIUS Identifiers\n", need)
			cfg.sockets = need
		}
		cfg.sockets = min(cfg.sockets, cfg.concurrency)
	}

	// Fewer Ps than CPUs: the bench needs about half the CPU time of the
	// server per authentication, and at moderate rates every idle P the
	// runtime wakes to look for work costs more than the work itself.
	switch {
	case cfg.procs > 0:
		runtime.GOMAXPROCS(cfg.procs)
	case os.Getenv("GOMAXPROCS") == "":
		runtime.GOMAXPROCS(max(1, (3*runtime.NumCPU()+7)/8))
	}
	cfg.procs = runtime.GOMAXPROCS(0)

	var g generator
	if cfg.isDiameter() {
		d, err := newDiameterEngine(cfg, usims, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "aaabench:", err)
			return 2
		}
		g = d
	} else {
		e, err := newEngine(cfg, server, usims)
		if err != nil {
			fmt.Fprintln(stderr, "aaabench:", err)
			return 2
		}
		g = e
	}
	return runLoad(g, cfg, stdout, stderr, stop)
}

// runLoad runs a load from start to summary: the duration or count, the
// interrupts, the drain of what is in flight, the output.
func runLoad(g generator, cfg *config, stdout, stderr io.Writer, stop <-chan struct{}) int {
	e := g.lc()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "aaabench: --cpuprofile:", err)
			g.close()
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "aaabench: --cpuprofile:", err)
			g.close()
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	quit := make(chan struct{})
	g.start(quit)
	if !cfg.quiet {
		go e.report(stderr, quit)
	}
	var durationC <-chan time.Time
	if cfg.duration > 0 {
		d := cfg.duration
		if e.open {
			// The schedule ends the run; this only bounds it, after the
			// last scheduled start has had its chance.
			d += time.Duration(2*e.interval) + 10*time.Millisecond
		}
		t := time.NewTimer(d)
		defer t.Stop()
		durationC = t.C
	}
	drainTime := g.drainTime()
	var drain <-chan time.Time
	interrupted := false
	beginDrain := func() {
		g.stop()
		if drain == nil {
			drain = time.After(drainTime)
		}
	}
wait:
	for {
		select {
		case <-e.done:
			break wait
		case <-durationC:
			beginDrain()
		case <-sig:
			if interrupted {
				break wait // a second ^C: do not wait
			}
			interrupted = true
			fmt.Fprintf(stderr, "aaabench: interrupted; waiting up to %s for the authentications in flight\n", drainTime)
			beginDrain()
		case <-stop:
			stop = nil
			interrupted = true
			beginDrain()
		case <-drain:
			break wait
		}
	}
	now := e.now()
	end := now
	abandoned := max(e.inflight.Load()-e.waiting.Load(), 0)
	if abandoned == 0 {
		end = max(e.lastEnd.Load(), 1)
	}
	backlog := e.backlog(now)
	close(quit)
	g.close()
	cpu := cpuTime() - cpu0

	sum := e.summary(time.Duration(end), cpu, abandoned, backlog, interrupted)
	if cfg.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		sum.print(stdout, cfg)
	}
	if sum.FailuresTotal > 0 {
		return 1
	}
	return 0
}

// summary is the result of a run; its JSON keys are stable.
type summary struct {
	OK                  uint64            `json:"ok"`
	Failures            map[string]uint64 `json:"failures"`
	FailuresTotal       uint64            `json:"failures_total"`
	DurationS           float64           `json:"duration_s"`
	AuthsPerS           float64           `json:"auths_per_s"`
	LatencyMS           latencyMS         `json:"latency_ms"`
	RoundsPerAuth       float64           `json:"rounds_per_auth"`
	FastReauths         uint64            `json:"fast_reauths"`
	FastReauthShare     float64           `json:"fast_reauth_share"`
	Resyncs             uint64            `json:"resyncs"`
	Retransmissions     uint64            `json:"retransmissions"`
	StrayAnswers        uint64            `json:"stray_answers"`
	SendErrors          uint64            `json:"send_errors"`
	RetransmitFinal     bool              `json:"retransmit_final"`
	RetransmitChecks    uint64            `json:"retransmit_checks"`
	Abandoned           int64             `json:"abandoned"`
	OpenLoopBacklog     int64             `json:"open_loop_backlog"`
	StartLagMS          *lagMS            `json:"start_lag_ms,omitempty"`
	ServiceMS           *latencyMS        `json:"service_ms,omitempty"`
	Interrupted         bool              `json:"interrupted"`
	ClientCPUUSPerAuth  float64           `json:"client_cpu_us_per_auth"`
	ClientCPUS          float64           `json:"client_cpu_s"`
	Method              string            `json:"method"`
	Concurrency         int               `json:"concurrency"`
	Sockets             int               `json:"sockets"`
	Procs               int               `json:"procs"`
	Rate                float64           `json:"rate"`
	ReauthShareAsked    float64           `json:"reauth"`
	AnonymousShareAsked float64           `json:"anonymous"`
	Transport           string            `json:"transport"` // "radius" or "diameter"
	// Diameter only: successes whose DEA carried EAP-Key-Name, and the
	// settings.
	EAPKeyNames *uint64           `json:"eap_key_names,omitempty"`
	Diameter    *diameterSettings `json:"diameter,omitempty"`
}

// diameterSettings are the Diameter settings of a run, in its summary.
type diameterSettings struct {
	Peer             string `json:"peer"`
	PeerHost         string `json:"peer_host"`
	OriginHost       string `json:"origin_host"`
	DestinationRealm string `json:"destination_realm"`
	DestinationHost  string `json:"destination_host,omitempty"`
	App              string `json:"app"`
	AppID            uint32 `json:"app_id"`
	ANID             string `json:"anid"`
}

// lagMS is how late the open-loop starts were sent, after their scheduled
// time: the generator's own share of the latencies.
type lagMS struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type latencyMS struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func ms(ns uint64) float64 { return float64(ns/1000) / 1000 }

func latencies(h *histSnapshot) latencyMS {
	return latencyMS{
		P50:  ms(h.percentile(0.50)),
		P90:  ms(h.percentile(0.90)),
		P99:  ms(h.percentile(0.99)),
		P999: ms(h.percentile(0.999)),
		Max:  ms(h.max),
	}
}

func (e *loadCore) summary(d, cpu time.Duration, abandoned, backlog int64, interrupted bool) *summary {
	st := &e.st
	s := &summary{
		OK:                  st.ok.Load(),
		Transport:           "radius",
		DurationS:           d.Seconds(),
		FastReauths:         st.fastReauths.Load(),
		Resyncs:             st.resyncs.Load(),
		Retransmissions:     st.retransmissions.Load(),
		StrayAnswers:        st.stray.Load(),
		SendErrors:          st.sendErrors.Load(),
		RetransmitFinal:     e.cfg.retransmitFinal,
		RetransmitChecks:    st.retransmitFinal.Load(),
		Abandoned:           abandoned,
		OpenLoopBacklog:     backlog,
		Interrupted:         interrupted,
		ClientCPUS:          cpu.Seconds(),
		Method:              e.cfg.methodName,
		Concurrency:         e.cfg.concurrency,
		Sockets:             e.sockets,
		Procs:               e.cfg.procs,
		Rate:                e.cfg.rate,
		ReauthShareAsked:    e.cfg.reauth,
		AnonymousShareAsked: e.cfg.anonymous,
	}
	s.Failures = st.failureCounts()
	_, _, s.FailuresTotal = topFailure(s.Failures)
	if e.cfg.isDiameter() {
		s.Transport = "diameter"
		kn := st.keyNames.Load()
		s.EAPKeyNames = &kn
		s.Diameter = &diameterSettings{
			Peer: e.cfg.diameter, PeerHost: e.cfg.peerHost, OriginHost: e.cfg.originHost,
			DestinationRealm: e.cfg.destRealm, DestinationHost: e.cfg.destHost,
			App: e.cfg.appName, AppID: e.cfg.appID, ANID: e.cfg.anid,
		}
	}
	if s.DurationS > 0 {
		s.AuthsPerS = float64(s.OK) / s.DurationS
	}
	var h histSnapshot
	st.latency.snapshot(&h)
	s.LatencyMS = latencies(&h)
	if e.open {
		st.startLag.snapshot(&h)
		s.StartLagMS = &lagMS{P50: ms(h.percentile(0.5)), P90: ms(h.percentile(0.9)), P99: ms(h.percentile(0.99)), Max: ms(h.max)}
		st.service.snapshot(&h)
		svc := latencies(&h)
		s.ServiceMS = &svc
	}
	if s.OK > 0 {
		s.RoundsPerAuth = float64(st.rounds.Load()) / float64(s.OK)
		s.FastReauthShare = float64(s.FastReauths) / float64(s.OK)
		s.ClientCPUUSPerAuth = float64(cpu.Microseconds()) / float64(s.OK)
	}
	return s
}

func (s *summary) print(w io.Writer, cfg *config) {
	loop := "closed loop"
	if cfg.rate > 0 {
		loop = fmt.Sprintf("open loop at %g/s", cfg.rate)
	}
	if d := s.Diameter; d != nil {
		fmt.Fprintf(w, "aaabench: %s over Diameter %s (application %d) as %s to %s at %s, concurrency %d on one connection, %s, %d Ps\n",
			cfg.methodName, d.App, d.AppID, d.OriginHost, d.PeerHost, d.Peer, s.Concurrency, loop, s.Procs)
	} else {
		fmt.Fprintf(w, "aaabench: %s against %s, concurrency %d on %d sockets, %s, %d Ps\n", cfg.methodName, cfg.server, s.Concurrency, s.Sockets, loop, s.Procs)
	}
	fmt.Fprintf(w, "  ok                %d\n", s.OK)
	fmt.Fprintf(w, "  failures          %d\n", s.FailuresTotal)
	names := make([]string, 0, len(s.Failures))
	for k := range s.Failures {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return s.Failures[names[i]] > s.Failures[names[j]] })
	for _, k := range names {
		fmt.Fprintf(w, "    %-26s %d\n", k, s.Failures[k])
	}
	fmt.Fprintf(w, "  duration          %.2f s\n", s.DurationS)
	fmt.Fprintf(w, "  auths/s           %.1f\n", s.AuthsPerS)
	l := s.LatencyMS
	fmt.Fprintf(w, "  latency (ok)      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(w, "  rounds/auth       %.2f\n", s.RoundsPerAuth)
	fmt.Fprintf(w, "  fast re-auths     %d (%.1f%% of ok)\n", s.FastReauths, 100*s.FastReauthShare)
	fmt.Fprintf(w, "  resyncs           %d\n", s.Resyncs)
	fmt.Fprintf(w, "  retransmissions   %d\n", s.Retransmissions)
	if s.EAPKeyNames != nil {
		fmt.Fprintf(w, "  EAP-Key-Name      %d of %d successes\n", *s.EAPKeyNames, s.OK)
	}
	if s.RetransmitFinal {
		fmt.Fprintf(w, "  final retransmits %d (--retransmit-final: the same Accept must come back)\n", s.RetransmitChecks)
	}
	if s.StrayAnswers > 0 || s.SendErrors > 0 {
		fmt.Fprintf(w, "  stray answers     %d, send errors %d\n", s.StrayAnswers, s.SendErrors)
	}
	if s.Abandoned > 0 {
		fmt.Fprintf(w, "  abandoned         %d (still in flight at the end)\n", s.Abandoned)
	}
	if s.StartLagMS != nil {
		fmt.Fprintf(w, "  start lag         p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms (open loop: sent after the scheduled time; counted in the latency)\n", s.StartLagMS.P50, s.StartLagMS.P90, s.StartLagMS.P99, s.StartLagMS.Max)
	}
	if v := s.ServiceMS; v != nil {
		fmt.Fprintf(w, "  from first send   p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms (open loop: the latency without the start lag; for diagnosis)\n", v.P50, v.P90, v.P99, v.P999, v.Max)
	}
	if s.OpenLoopBacklog > 0 {
		fmt.Fprintf(w, "  not started       %d (open loop: due but no idle conversation; raise --concurrency)\n", s.OpenLoopBacklog)
	}
	fmt.Fprintf(w, "  client CPU        %.1f µs/auth (%.2f s)\n", s.ClientCPUUSPerAuth, s.ClientCPUS)
}

// report prints one line a second: elapsed, successes in the last second,
// in flight, totals, the top failure reason, and the last second's p50/p99.
func (e *loadCore) report(w io.Writer, quit <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var cur, prev, delta histSnapshot
	var prevOK uint64
	last := time.Now()
	lastCPU := cpuTime()
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			e.st.latency.snapshot(&cur)
			delta.diff(&cur, &prev)
			prev = cur
			ok := e.st.ok.Load()
			wall := now.Sub(last).Seconds()
			rate := float64(ok-prevOK) / wall
			cpu := cpuTime()
			busy := (cpu - lastCPU).Seconds() / wall // CPUs used by aaabench
			prevOK, last, lastCPU = ok, now, cpu
			top, topN, failed := topFailure(e.st.failureCounts())
			line := fmt.Sprintf("%6.0fs %9.0f auths/s  in flight %5d  ok %9d  failures %d",
				time.Duration(e.now()).Seconds(), rate, e.inFlight(), ok, failed)
			if failed > 0 {
				line += fmt.Sprintf(" (%s %d)", top, topN)
			}
			line += fmt.Sprintf("  p50 %.2f ms  p99 %.2f ms", ms(delta.percentile(0.5)), ms(delta.percentile(0.99)))
			if e.open {
				if b := e.backlog(e.now()); b > 0 {
					line += fmt.Sprintf("  late starts %d", b)
				}
			}
			if busy > 0.9*float64(e.cfg.procs) {
				line += fmt.Sprintf("  aaabench is CPU-bound (%.2f CPUs; raise --procs)", busy)
			}
			fmt.Fprintln(w, line)
		}
	}
}
