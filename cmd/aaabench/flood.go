package main

import (
	"bytes"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
)

// `aaabench flood` is a hostile access point: a RADIUS client that holds a
// valid shared secret and floods the server with well-formed
// Access-Requests (Message-Authenticator first and valid, an EAP-Message
// with an EAP-Response/Identity, a fresh Identifier and Request
// Authenticator each), each of which opens an EAP conversation that is
// never finished. It shows what one client's flood costs the others (run
// them at the same time from another source address: scripts/flood.sh,
// test/flood_test.go).
//
// It does not wait for answers, but reads and counts them by code (it does
// not verify them: it is a flood, not a checker), so that its sockets never
// fill. Senders own disjoint sets of sockets and rotate over them, one
// request per socket in turn; every socket has a reader goroutine.
//
// Modes:
//
//   - anonymous: identity anonymous@realm: a new conversation each time, which
//     the server keeps, having asked AKA-Identity, until it times out.
//   - halfopen: permanent identities of valid subscribers (--subscribers),
//     round robin: each fetches a vector (advancing the SQN) and leaves an
//     AKA-Challenge that is never answered.
//   - ports: anonymous, from --sockets source ports (default 1200), each using
//     all 256 Identifiers: fills a duplicate cache keyed by source address,
//     port and Identifier.
//   - fat: an "encrypted identity" shape, a NUL octet and 1000 printable
//     octets, which the server may keep with the conversation.
//     --fat-answer instead sends the 1000 octets without the NUL (too long
//     for an NAI: nothing to keep, the server asks for any identity) and
//     answers that AKA-Identity request with the NUL-led 1000 octets in
//     AT_IDENTITY, which the server keeps together with the AKA-Identity
//     messages; the request for the permanent identity that follows is not
//     answered.
//
// Safety: the server and --bind must be loopback addresses, and it stops by
// itself after --duration.

type floodMode uint8

const (
	floodAnonymous floodMode = iota + 1
	floodHalfOpen
	floodPorts
	floodFat
)

var floodModeNames = map[string]floodMode{
	"anonymous": floodAnonymous,
	"halfopen":  floodHalfOpen,
	"ports":     floodPorts,
	"fat":       floodFat,
}

func (m floodMode) String() string {
	for k, v := range floodModeNames {
		if v == m {
			return k
		}
	}
	return "unknown"
}

const (
	// fatJunkLen is the printable part of a fat identity: with the NUL
	// it is 1001 octets, within what a server accepts as an encrypted
	// identity (1024) and within AT_IDENTITY's 1016.
	fatJunkLen = 1000
	// junkPoolLen is the printable junk fat identities are cut from.
	junkPoolLen = 4096
	// defaultPortsSockets fills a duplicate cache of 2^18 entries keyed by
	// (source address and port, Identifier): 1200 × 256 > 262144.
	defaultPortsSockets = 1200
)

type floodConfig struct {
	server      string
	secret      string
	bindName    string
	bind        netip.Addr
	modeName    string
	mode        floodMode
	duration    time.Duration
	rate        float64
	sockets     int
	senders     int
	subscribers string
	methodName  string
	method      eap.Type
	realm       string
	fatAnswer   bool
	wait        time.Duration
	procs       int
	json        bool
	quiet       bool
}

// floodMain is `aaabench flood`. stop, when not nil, ends the flood early
// like SIGINT (tests).
func floodMain(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	cfg, code := parseFloodFlags(args, stderr)
	if cfg == nil {
		return code
	}
	return runFlood(cfg, stdout, stderr, stop)
}

func parseFloodFlags(args []string, stderr io.Writer) (*floodConfig, int) {
	cfg := &floodConfig{}
	fs := flag.NewFlagSet("aaabench flood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.server, "server", "127.0.0.1:1812", "RADIUS server host:port (loopback only)")
	fs.StringVar(&cfg.secret, "secret", "testing123", "RADIUS shared secret of the client at --bind")
	fs.StringVar(&cfg.bindName, "bind", "", "source IP address (loopback), e.g. 127.0.0.2; default the kernel's choice")
	fs.StringVar(&cfg.modeName, "mode", "", "anonymous, halfopen, ports or fat (required)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "flood this long, then stop")
	fs.Float64Var(&cfg.rate, "rate", 0, "Access-Requests a second in all; 0: as fast as possible")
	fs.IntVar(&cfg.sockets, "sockets", 0, "UDP sockets (source ports); default 1200 for ports, else 2 per sender")
	fs.IntVar(&cfg.senders, "senders", 0, "sending goroutines; default the number of CPUs")
	fs.StringVar(&cfg.subscribers, "subscribers", "", "subscribers CSV (imsi,k,opc,amf,sqn): the identities of halfopen")
	fs.StringVar(&cfg.methodName, "method", "aka-prime", "aka-prime or aka: the prefix of halfopen's identities (6 or 0)")
	fs.StringVar(&cfg.realm, "realm", "wlan.mnc001.mcc001.3gppnetwork.org", "NAI realm of the identities")
	fs.BoolVar(&cfg.fatAnswer, "fat-answer", false, "fat: answer the AKA-Identity request with a 1000-octet AT_IDENTITY (see the README)")
	fs.DurationVar(&cfg.wait, "wait", time.Second, "after the flood, wait at most this long for the answers still due")
	fs.IntVar(&cfg.procs, "procs", 0, "Go Ps (GOMAXPROCS) for the flood; default $GOMAXPROCS, else all CPUs")
	fs.BoolVar(&cfg.json, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no per-second lines on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aaabench flood --mode anonymous|halfopen|ports|fat --server ADDR --secret S --bind ADDR [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if fs.NArg() > 0 {
		bad("unexpected argument %q", fs.Arg(0))
	}
	var ok bool
	if cfg.mode, ok = floodModeNames[cfg.modeName]; !ok {
		bad("--mode: %q: want anonymous, halfopen, ports or fat", cfg.modeName)
	}
	switch cfg.methodName {
	case "aka-prime":
		cfg.method = eap.TypeAKAPrime
	case "aka":
		cfg.method = eap.TypeAKA
	default:
		bad("--method: %q: want aka-prime or aka", cfg.methodName)
	}
	if cfg.mode == floodHalfOpen && cfg.subscribers == "" {
		bad("--mode halfopen needs --subscribers")
	}
	if cfg.fatAnswer && cfg.mode != floodFat {
		bad("--fat-answer is for --mode fat")
	}
	if cfg.duration <= 0 {
		bad("--duration must be positive")
	}
	if cfg.rate < 0 {
		bad("--rate must not be negative")
	}
	if cfg.sockets < 0 || cfg.sockets > 20000 {
		bad("--sockets: want 1 to 20000")
	}
	if cfg.senders < 0 || cfg.senders > 256 {
		bad("--senders: want 1 to 256")
	}
	if cfg.procs < 0 {
		bad("--procs must not be negative")
	}
	if cfg.wait < 0 {
		bad("--wait must not be negative")
	}
	cfg.bind = checkPeerFlags(bad, cfg.secret, cfg.realm, cfg.bindName, true)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "aaabench flood:", p)
		}
		fmt.Fprintln(stderr, "run aaabench flood -h for the flags")
		return nil, 2
	}
	return cfg, 0
}

// floodCounters are one sender's counters, on their own cache lines.
type floodCounters struct {
	sent       atomic.Uint64
	sendErrors atomic.Uint64
	bytes      atomic.Uint64
	_          [128 - 24]byte
}

// Answer kinds counted.
const (
	ansChallenge = iota
	ansAccept
	ansReject
	ansOther
	numAnswerKinds
)

type flooder struct {
	cfg      *floodConfig
	server   netip.AddrPort
	secret   []byte
	socks    []*floodSock
	ids      [][]byte // halfopen: the permanent identities
	junk     []byte   // printable junk, fat identities are cut from it
	counters []*floodCounters
	stopping atomic.Bool

	answers    [numAnswerKinds]atomic.Uint64
	followups  atomic.Uint64 // --fat-answer: AKA-Identity responses sent
	recvErrors atomic.Uint64 // e.g. ECONNREFUSED: nobody listening
}

// floodSock is one UDP socket (one source port). Its sender owns tx and
// the Identifier counter; its reader owns rx and, with --fat-answer, the
// follow-up requests it sends.
type floodSock struct {
	conn   *net.UDPConn
	tx, rx *rawIO
	nextID uint8
	reply  *floodBuilder // --fat-answer only
}

func (f *flooder) answered() uint64 {
	var n uint64
	for i := range f.answers {
		n += f.answers[i].Load()
	}
	return n
}

func (f *flooder) totals() (sent, errs, byteCount uint64) {
	for _, c := range f.counters {
		sent += c.sent.Load()
		errs += c.sendErrors.Load()
		byteCount += c.bytes.Load()
	}
	return
}

// floodBuilder builds the Access-Requests of one sender (or the follow-ups
// of one reader) into a reused buffer.
type floodBuilder struct {
	mode     floodMode
	method   eap.Type
	secret   []byte
	hs       *hasher
	rng      *rand.ChaCha8
	anon     []byte   // anonymous@realm
	ids      [][]byte // halfopen identities
	next     int      // halfopen: the next identity
	junk     []byte
	fatNUL   bool // fat: the first identity starts with NUL (not --fat-answer)
	tx       []byte
	eapBuf   []byte
	identBuf []byte
	count    uint64
	template bool // tx holds a request that only needs a new Identifier and authenticators
}

func newFloodBuilder(f *flooder, start int) *floodBuilder {
	var seed [32]byte
	crand.Read(seed[:])
	b := &floodBuilder{
		mode:     f.cfg.mode,
		method:   f.cfg.method,
		secret:   f.secret,
		hs:       newHasher(f.secret),
		rng:      rand.NewChaCha8(seed),
		anon:     []byte("anonymous@" + f.cfg.realm),
		ids:      f.ids,
		junk:     f.junk,
		fatNUL:   !f.cfg.fatAnswer,
		tx:       make([]byte, 0, maxRadiusLen),
		eapBuf:   make([]byte, 0, 1100),
		identBuf: make([]byte, 0, fatJunkLen+1),
	}
	if len(b.ids) > 0 {
		b.next = start % len(b.ids)
	}
	return b
}

// fatIdentity returns 1000 printable octets, led by a NUL octet when nul:
// a window of the junk pool at a random offset with a counter written
// into it, so that no two are alike.
func (b *floodBuilder) fatIdentity(nul bool) []byte {
	id := b.identBuf[:0]
	if nul {
		id = append(id, 0)
	}
	off := int(b.rng.Uint64() % uint64(len(b.junk)-fatJunkLen+1))
	id = append(id, b.junk[off:off+fatJunkLen]...)
	b.count++
	n := b.count
	for i := len(id) - 1; i >= len(id)-12 && n > 0; i-- {
		id[i] = junkAlphabet[n%uint64(len(junkAlphabet))]
		n /= uint64(len(junkAlphabet))
	}
	b.identBuf = id
	return id
}

// build returns the next Access-Request, Identifier id. The slice is
// valid until the next call.
func (b *floodBuilder) build(id byte) []byte {
	if !b.template {
		var identity []byte
		switch b.mode {
		case floodAnonymous, floodPorts:
			identity = b.anon
			b.template = true // the same but for Identifier and authenticators
		case floodHalfOpen:
			identity = b.ids[b.next]
			b.next++
			if b.next == len(b.ids) {
				b.next = 0
			}
		case floodFat:
			identity = b.fatIdentity(b.fatNUL)
		}
		b.eapBuf = eap.AppendResponse(b.eapBuf[:0], 0, eap.TypeIdentity, identity)
		var auth [16]byte
		tx, err := appendAccessRequest(b.tx[:0], &auth, identity, b.eapBuf, nil)
		if err != nil {
			panic(err) // at most about 1.3 kB: cannot happen
		}
		b.tx = tx
	}
	b.rng.Read(b.tx[4:20]) // a fresh Request Authenticator
	signRequest(b.tx, id, b.hs)
	return b.tx
}

// buildIdentityResponse answers an Access-Challenge carrying an
// AKA-Identity request that does not ask for the permanent identity with
// an AT_IDENTITY of a NUL and 1000 printable octets. It returns nil when
// there is nothing to answer.
func (b *floodBuilder) buildIdentityResponse(resp []byte, id byte) []byte {
	var a answer
	if parseAnswer(resp, b.eapBuf, nil, &a) != nil || a.code != codeAccessChallenge || len(a.state) == 0 {
		return nil
	}
	b.eapBuf = a.eap[:0]
	pkt, err := eap.ParsePacket(a.eap)
	if err != nil || pkt.Code != eap.CodeRequest || (pkt.Type != eap.TypeAKA && pkt.Type != eap.TypeAKAPrime) {
		return nil
	}
	m, err := eap.ParseAKA(a.eap[:5+len(pkt.Data)])
	if err != nil || m.Subtype != eap.SubtypeIdentity || m.Attrs.Has(eap.AttrPermanentIDReq) {
		return nil
	}
	identity := b.fatIdentity(true)
	var msg [fatJunkLen + 64]byte
	eb := eap.NewBuilder(msg[:0], eap.CodeResponse, pkt.Identifier, pkt.Type, eap.SubtypeIdentity)
	eb.AddIdentityLike(eap.AttrIdentity, identity)
	out, _, err := eb.Finish()
	if err != nil {
		return nil
	}
	var auth [16]byte
	b.rng.Read(auth[:])
	// The outer identity stays what a NAS saw first: anonymous.
	tx, err := appendAccessRequest(b.tx[:0], &auth, b.anon, out, a.state)
	if err != nil {
		return nil
	}
	b.tx = tx
	signRequest(b.tx, id, b.hs)
	return b.tx
}

// junkAlphabet is base64's: an encrypted identity is base64 of a ciphertext.
const junkAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func newJunk() []byte {
	j := make([]byte, junkPoolLen)
	crand.Read(j)
	for i, c := range j {
		j[i] = junkAlphabet[c&63]
	}
	return j
}

// loadIdentities reads the permanent identities of halfopen from the
// subscribers CSV.
func loadIdentities(cfg *floodConfig) ([][]byte, error) {
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
		return nil, errors.New("no subscriber in the file")
	}
	prefix := "6"
	if cfg.method == eap.TypeAKA {
		prefix = "0"
	}
	ids := make([][]byte, len(subs))
	for i := range subs {
		ids[i] = []byte(prefix + subs[i].IMSI + "@" + cfg.realm)
		clear(subs[i].K[:])
		clear(subs[i].OPc[:])
	}
	return ids, nil
}

func newFlooder(cfg *floodConfig, server netip.AddrPort) (*flooder, error) {
	f := &flooder{cfg: cfg, server: server, secret: []byte(cfg.secret), junk: newJunk()}
	if cfg.mode == floodHalfOpen {
		ids, err := loadIdentities(cfg)
		if err != nil {
			return nil, fmt.Errorf("--subscribers: %w", err)
		}
		f.ids = ids
	}
	network, laddr, raddr := udpEndpoints(server, cfg.bind)
	buf := 1 << 20
	if cfg.sockets > 64 {
		buf = 256 << 10
	}
	for range cfg.sockets {
		conn, err := net.DialUDP(network, laddr, raddr)
		if err != nil {
			f.close()
			return nil, err
		}
		conn.SetReadBuffer(buf)
		conn.SetWriteBuffer(buf)
		s := &floodSock{conn: conn}
		f.socks = append(f.socks, s)
		if s.tx, err = newRawIO(conn); err == nil {
			s.rx, err = newRawIO(conn)
		}
		if err != nil {
			f.close()
			return nil, err
		}
		if cfg.fatAnswer {
			s.reply = newFloodBuilder(f, 0)
		}
	}
	for range cfg.senders {
		f.counters = append(f.counters, &floodCounters{})
	}
	return f, nil
}

func (f *flooder) close() {
	for _, s := range f.socks {
		s.conn.Close()
	}
}

// read counts the answers on s until it is closed, and with --fat-answer
// answers AKA-Identity requests.
func (f *flooder) read(s *floodSock) {
	buf := make([]byte, maxRadiusLen+1)
	replyID := uint8(128) // follow-ups count down from the other side of the Identifier space
	for {
		n, _, err := s.rx.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			f.recvErrors.Add(1)
			continue
		}
		if n < radiusHeaderLen {
			f.answers[ansOther].Add(1)
			continue
		}
		switch buf[0] {
		case codeAccessChallenge:
			f.answers[ansChallenge].Add(1)
			if s.reply != nil && !f.stopping.Load() {
				l := int(buf[2])<<8 | int(buf[3])
				if l >= radiusHeaderLen && l <= n {
					if pkt := s.reply.buildIdentityResponse(buf[:l], replyID); pkt != nil {
						replyID--
						// The reader's own rawIO: it never races the sender's.
						if s.rx.write(pkt) == nil {
							f.followups.Add(1)
						}
					}
				}
			}
		case codeAccessAccept:
			f.answers[ansAccept].Add(1)
		case codeAccessReject:
			f.answers[ansReject].Add(1)
		default:
			f.answers[ansOther].Add(1)
		}
	}
}

// send floods from sender k's sockets until stopping, paced when perSec > 0.
func (f *flooder) send(k int, perSec float64, start time.Time) {
	var socks []*floodSock
	for i := k; i < len(f.socks); i += f.cfg.senders {
		socks = append(socks, f.socks[i])
	}
	b := newFloodBuilder(f, k*len(f.ids)/max(f.cfg.senders, 1))
	ctr := f.counters[k]
	var sent, errs, byteCount uint64
	flush := func() {
		ctr.sent.Store(sent)
		ctr.sendErrors.Store(errs)
		ctr.bytes.Store(byteCount)
	}
	defer flush()
	i := 0
	for n := uint64(0); ; n++ {
		if n&15 == 0 {
			if f.stopping.Load() {
				return
			}
			flush()
		}
		if perSec > 0 {
			due := uint64(time.Since(start).Seconds()*perSec) + 1
			if sent+errs >= due {
				next := start.Add(time.Duration(float64(sent+errs) / perSec * 1e9))
				time.Sleep(max(time.Until(next), 50*time.Microsecond))
				continue
			}
		}
		s := socks[i]
		if i++; i == len(socks) {
			i = 0
		}
		pkt := b.build(s.nextID)
		s.nextID++
		if err := s.tx.write(pkt); err != nil {
			errs++
		} else {
			sent++
			byteCount += uint64(len(pkt))
		}
	}
}

// floodSummary is the result of a flood; its JSON keys are stable.
type floodSummary struct {
	Mode       string            `json:"mode"`
	Server     string            `json:"server"`
	Bind       string            `json:"bind"`
	Sockets    int               `json:"sockets"`
	Senders    int               `json:"senders"`
	Procs      int               `json:"procs"`
	Rate       float64           `json:"rate"`
	FatAnswer  bool              `json:"fat_answer,omitempty"`
	DurationS  float64           `json:"duration_s"`
	Sent       uint64            `json:"sent"`
	SentPerS   float64           `json:"sent_per_s"`
	SendErrors uint64            `json:"send_errors"`
	BytesSent  uint64            `json:"bytes_sent"`
	Followups  uint64            `json:"followups_sent"`
	Answered   uint64            `json:"answered"`
	AnsPerS    float64           `json:"answered_per_s"`
	Answers    map[string]uint64 `json:"answers"`
	Unanswered uint64            `json:"unanswered"`
	RecvErrors uint64            `json:"receive_errors"`
	ClientCPUS float64           `json:"client_cpu_s"`
	Interrupt  bool              `json:"interrupted"`
}

func runFlood(cfg *floodConfig, stdout, stderr io.Writer, stop <-chan struct{}) int {
	ua, err := net.ResolveUDPAddr("udp", cfg.server)
	if err != nil {
		fmt.Fprintln(stderr, "aaabench flood: --server:", err)
		return 2
	}
	ap := ua.AddrPort()
	server := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !server.Addr().IsLoopback() {
		fmt.Fprintf(stderr, "aaabench flood: --server: %s is not a loopback address: the flood runs on loopback only\n", server.Addr())
		return 2
	}
	if cfg.procs > 0 {
		runtime.GOMAXPROCS(cfg.procs)
	}
	cfg.procs = runtime.GOMAXPROCS(0)
	if cfg.senders == 0 {
		cfg.senders = runtime.NumCPU()
	}
	if cfg.sockets == 0 {
		cfg.sockets = 2 * cfg.senders
		if cfg.mode == floodPorts {
			cfg.sockets = defaultPortsSockets
		}
	}
	cfg.senders = min(cfg.senders, cfg.sockets)

	f, err := newFlooder(cfg, server)
	if err != nil {
		fmt.Fprintln(stderr, "aaabench flood:", err)
		return 2
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	for _, s := range f.socks {
		go f.read(s)
	}
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for k := range cfg.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.send(k, cfg.rate/float64(cfg.senders), start)
		}()
	}
	quit := make(chan struct{})
	if !cfg.quiet {
		go f.report(stderr, start, quit)
	}
	timer := time.NewTimer(cfg.duration)
	interrupted := false
	select {
	case <-timer.C:
	case <-sig:
		interrupted = true
	case <-stop:
		interrupted = true
	}
	timer.Stop()
	f.stopping.Store(true)
	wg.Wait()
	sendTime := time.Since(start)
	// The answers still due: until every request is answered, or --wait.
	sent, _, _ := f.totals()
	deadline := time.Now().Add(cfg.wait)
	for f.answered() < sent+f.followups.Load() && time.Now().Before(deadline) {
		select {
		case <-sig:
			deadline = time.Now()
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(quit)
	f.close()
	cpu := cpuTime() - cpu0

	sum := f.summary(sendTime, cpu, interrupted)
	if cfg.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		sum.print(stdout)
	}
	if sum.Sent == 0 {
		fmt.Fprintln(stderr, "aaabench flood: nothing was sent")
		return 1
	}
	return 0
}

func (f *flooder) summary(d, cpu time.Duration, interrupted bool) *floodSummary {
	cfg := f.cfg
	sent, errs, byteCount := f.totals()
	s := &floodSummary{
		Mode:       cfg.mode.String(),
		Server:     f.server.String(),
		Bind:       cfg.bindName,
		Sockets:    len(f.socks),
		Senders:    cfg.senders,
		Procs:      cfg.procs,
		Rate:       cfg.rate,
		FatAnswer:  cfg.fatAnswer,
		DurationS:  d.Seconds(),
		Sent:       sent,
		SendErrors: errs,
		BytesSent:  byteCount,
		Followups:  f.followups.Load(),
		Answers: map[string]uint64{
			"access_challenge": f.answers[ansChallenge].Load(),
			"access_accept":    f.answers[ansAccept].Load(),
			"access_reject":    f.answers[ansReject].Load(),
			"other":            f.answers[ansOther].Load(),
		},
		RecvErrors: f.recvErrors.Load(),
		ClientCPUS: cpu.Seconds(),
		Interrupt:  interrupted,
	}
	if s.Bind == "" {
		s.Bind = "any"
	}
	for _, n := range s.Answers {
		s.Answered += n
	}
	if due := s.Sent + s.Followups; due > s.Answered {
		s.Unanswered = due - s.Answered
	}
	if s.DurationS > 0 {
		s.SentPerS = float64(s.Sent) / s.DurationS
		s.AnsPerS = float64(s.Answered) / s.DurationS
	}
	return s
}

func (s *floodSummary) print(w io.Writer) {
	fmt.Fprintf(w, "aaabench flood: mode %s against %s from %s, %d sockets, %d senders, %d Ps", s.Mode, s.Server, s.Bind, s.Sockets, s.Senders, s.Procs)
	if s.Rate > 0 {
		fmt.Fprintf(w, ", at most %g/s", s.Rate)
	}
	if s.FatAnswer {
		fmt.Fprint(w, ", answering AKA-Identity")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  sent              %d in %.2f s: %.0f/s (%.1f MB)\n", s.Sent, s.DurationS, s.SentPerS, float64(s.BytesSent)/1e6)
	if s.FatAnswer {
		fmt.Fprintf(w, "  follow-ups sent   %d (AKA-Identity responses)\n", s.Followups)
	}
	fmt.Fprintf(w, "  send errors       %d\n", s.SendErrors)
	fmt.Fprintf(w, "  answered          %d (%.0f/s): challenge %d, accept %d, reject %d, other %d\n", s.Answered, s.AnsPerS,
		s.Answers["access_challenge"], s.Answers["access_accept"], s.Answers["access_reject"], s.Answers["other"])
	fmt.Fprintf(w, "  unanswered        %d\n", s.Unanswered)
	if s.RecvErrors > 0 {
		fmt.Fprintf(w, "  receive errors    %d (ICMP: nobody listening?)\n", s.RecvErrors)
	}
	fmt.Fprintf(w, "  client CPU        %.2f s\n", s.ClientCPUS)
}

// report prints one line a second: requests sent and answers in the last
// second.
func (f *flooder) report(w io.Writer, start time.Time, quit <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var prevSent, prevAns uint64
	last := start
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			if f.stopping.Load() {
				return // the summary follows
			}
			sent, errs, _ := f.totals()
			ans := f.answered()
			wall := now.Sub(last).Seconds()
			line := fmt.Sprintf("%6.0fs %9.0f sent/s %9.0f answered/s  sent %d  answered %d (challenge %d, reject %d)",
				now.Sub(start).Seconds(), float64(sent-prevSent)/wall, float64(ans-prevAns)/wall, sent, ans,
				f.answers[ansChallenge].Load(), f.answers[ansReject].Load())
			if errs > 0 {
				line += fmt.Sprintf("  send errors %d", errs)
			}
			fmt.Fprintln(w, line)
			prevSent, prevAns, last = sent, ans, now
		}
	}
}
