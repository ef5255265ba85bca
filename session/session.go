// Package session is the table of live access sessions, neutral between
// the front ends that open them (RADIUS today, Diameter later) and the
// parts that must end them (the SWx side, on a Registration-Termination-
// Request from the HSS). A front end adds a Session on every new
// authentication and registers a Terminator that ends one session at its
// access point; whoever must end a subscriber's sessions calls Table.End
// with the IMSI, without knowing which front end carried them.
//
// The table is bounded in sessions and in sessions per IMSI, so that no
// rate of authentications can grow it without limit.
package session

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one live access session, as its front end saw it open.
type Session struct {
	// IMSI is the subscriber. String masks it: it is personal data.
	IMSI string
	// FrontEnd names the front end that carried the authentication and
	// whose Terminator ends the session ("radius", "diameter").
	FrontEnd string
	// Client is the front end's name for the access point or gateway (the
	// RADIUS client name of the configuration).
	Client string
	// NAS is where the request that opened the session came from.
	NAS netip.AddrPort
	// UserName is the identity the access point knows the session by (it
	// may be a pseudonym or a fast re-authentication identity). Personal
	// data: never log it at info.
	UserName         string
	CallingStationID string
	AcctSessionID    string
	NASIdentifier    string
	NASIPAddress     netip.Addr
	// SessionID and Realm name a Diameter session (front end
	// "diameter"): its Session-Id, and the gateway's Origin-Realm, where
	// an Abort-Session-Request goes (Client is its Origin-Host).
	SessionID string
	Realm     string
	// Application is the Diameter application the session ran in (STa,
	// SWm, Diameter EAP), for its Abort-Session-Request.
	Application uint32
	// What accounting (RFC 2866) last reported: the framed address, the
	// octets in and out (gigawords included), the session time, and when
	// (zero: no accounting yet).
	FramedIPAddress netip.Addr
	InputOctets     uint64
	OutputOctets    uint64
	SessionTime     time.Duration
	Accounted       time.Time
	Started         time.Time
	// Expires is when the table forgets the session; zero: never (only
	// End, Remove or eviction take it out).
	Expires time.Time
}

// String describes s for logs: the IMSI masked but for its last 4 digits,
// no user name, no Calling-Station-Id.
func (s Session) String() string {
	str := fmt.Sprintf("{imsi=%s front_end=%s client=%s nas=%s", MaskIMSI(s.IMSI), s.FrontEnd, s.Client, s.NAS)
	if s.AcctSessionID != "" {
		str += " acct_session_id=" + s.AcctSessionID
	}
	str += " started=" + s.Started.UTC().Format(time.RFC3339)
	if !s.Expires.IsZero() {
		str += " expires=" + s.Expires.UTC().Format(time.RFC3339)
	}
	return str + "}"
}

// GoString is String, so that %#v does not print the IMSI either.
func (s Session) GoString() string { return s.String() }

// MaskIMSI keeps an IMSI out of info logs the way radius and swx do, so
// that lines about one user, read together, show no more: the MCC and MNC
// (5 digits) and the last two digits; nothing of one shorter than 8.
func MaskIMSI(imsi string) string {
	if len(imsi) < 8 {
		return ""
	}
	b := []byte(imsi)
	for i := 5; i < len(b)-2; i++ {
		b[i] = 'x'
	}
	return string(b)
}

// key is what makes two sessions of one IMSI the same: a re-authentication
// of the same device at the same access point replaces its session.
type key struct {
	frontEnd, client, callingStationID, acctSessionID, sessionID string
}

func keyOf(s *Session) key {
	return key{s.FrontEnd, s.Client, s.CallingStationID, s.AcctSessionID, s.SessionID}
}

// Terminator ends one session at its access point: a RADIUS
// Disconnect-Request (RFC 5176), later a Diameter Abort-Session-Request.
// acked is false with a nil error when the access point answered that it
// did not end the session (a Disconnect-NAK); an error means no answer or
// none that could be trusted.
type Terminator interface {
	Terminate(ctx context.Context, s Session) (acked bool, err error)
}

// EndResult is what ending one session came to.
type EndResult struct {
	Session Session
	Acked   bool
	Err     error
}

// ErrNoTerminator is the error of a session whose front end registered no
// Terminator.
var ErrNoTerminator = errors.New("session: no terminator for the front end")

// Config bounds and clocks a Table.
type Config struct {
	// MaxSessions bounds the table; 0: DefaultMaxSessions.
	MaxSessions int
	// MaxPerIMSI bounds the sessions of one IMSI; 0: DefaultMaxPerIMSI.
	MaxPerIMSI int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// OnLastEnd, when set, is called with an IMSI whose last session left
	// the table (End, Remove, expiry, or eviction for room), outside any
	// lock of the table. It is not called when a session is replaced by a
	// newer one with the same key. It may run concurrently with an Add
	// for the same IMSI: check Lookup if that matters.
	OnLastEnd func(imsi string)
}

// Defaults of Config.
const (
	DefaultMaxSessions = 1_000_000
	DefaultMaxPerIMSI  = 8
)

// A table has numShards shards, or fewer when MaxSessions is small, so
// that each shard's share of MaxSessions is at least minShardShare (a
// table under that has one shard).
const (
	numShards     = 64
	minShardShare = 1024
)

// Table holds the live sessions by IMSI. It is safe for concurrent use.
//
// It is sharded by IMSI; each shard holds at most its share of MaxSessions
// (MaxSessions divided by the number of shards), so the whole never holds
// more than MaxSessions. When an Add finds its shard full it evicts, from
// that shard, the session that expires first: sessions without expiry
// count as expiring last, and among equal expiries the oldest (Started,
// then order of Add) goes. The same order serves expiry, so Expire costs
// only the sessions it drops. When an IMSI already holds MaxPerIMSI
// sessions, its oldest (Started) goes.
type Table struct {
	now        func() time.Time
	onLastEnd  func(string)
	maxPerIMSI int
	shardMax   int
	seed       maphash.Seed
	shards     []shard
	count      atomic.Int64
	seq        atomic.Uint64
	evicted    atomic.Uint64

	termMu      sync.RWMutex
	terminators map[string]Terminator

	// byID finds a Diameter session's IMSI by its gateway and Session-Id
	// (FindSession): a Session-Id is the gateway's to choose, so another
	// gateway's of the same value is another session.
	idMu sync.Mutex
	byID map[sessionKey]string
	// byClass finds a session's IMSI by its client and the opaque Class
	// its Access-Accept carried (AddClass, FindClass), under idMu.
	byClass map[sessionKey]string
}

type sessionKey struct{ client, id string }

type shard struct {
	mu sync.Mutex
	// byIMSI is the newest entry of each IMSI; the others follow it in
	// next. An IMSI holds few sessions, so a list costs one allocation
	// per session and nothing per IMSI.
	byIMSI map[string]*entry
	// order is a min-heap on (expiry, started, seq): the next to expire,
	// and the next to evict.
	order []*entry
	_     [24]byte // keep shards' locks off each other's cache lines
}

type entry struct {
	s       Session
	class   string // AddClass
	expires int64  // unix ns; math.MaxInt64: never
	started int64
	seq     uint64
	idx     int // in shard.order
	next    *entry
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxPerIMSI <= 0 {
		cfg.MaxPerIMSI = DefaultMaxPerIMSI
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := numShards
	for n > 1 && cfg.MaxSessions/n < minShardShare {
		n /= 2
	}
	t := &Table{
		now:         cfg.Now,
		onLastEnd:   cfg.OnLastEnd,
		maxPerIMSI:  cfg.MaxPerIMSI,
		shardMax:    cfg.MaxSessions / n,
		seed:        maphash.MakeSeed(),
		shards:      make([]shard, n),
		terminators: map[string]Terminator{},
		byID:        map[sessionKey]string{},
		byClass:     map[sessionKey]string{},
	}
	for i := range t.shards {
		t.shards[i].byIMSI = map[string]*entry{}
	}
	return t
}

func (t *Table) shard(imsi string) *shard {
	if len(t.shards) == 1 {
		return &t.shards[0]
	}
	return &t.shards[maphash.String(t.seed, imsi)%uint64(len(t.shards))]
}

// Len returns how many sessions the table holds.
func (t *Table) Len() int { return int(t.count.Load()) }

// Evicted returns how many sessions were dropped for room (the table or
// the IMSI full) before they expired.
func (t *Table) Evicted() uint64 { return t.evicted.Load() }

// Add records s, replacing the session of the same IMSI, front end,
// client, Calling-Station-Id and Acct-Session-Id if there is one. A zero
// Started is taken as now. A session without an IMSI is ignored.
func (t *Table) Add(s Session) { t.AddClass(s, "") }

// AddClass is Add, the session found again by FindClass(s.Client, class)
// while it lasts: class is the opaque value (RFC 2865 Class) its
// Access-Accept carried, which the access point echoes in accounting.
func (t *Table) AddClass(s Session, class string) {
	if s.IMSI == "" {
		return
	}
	if s.Started.IsZero() {
		s.Started = t.now()
	}
	k := keyOf(&s)
	exp := int64(math.MaxInt64)
	if !s.Expires.IsZero() {
		exp = s.Expires.UnixNano()
	}
	started := s.Started.UnixNano()
	seq := t.seq.Add(1)
	sh := t.shard(s.IMSI)
	var last string // an IMSI whose last session was evicted
	sh.mu.Lock()
	head := sh.byIMSI[s.IMSI]
	n := 0
	var oldest *entry
	for e := head; e != nil; e = e.next {
		if keyOf(&e.s) == k {
			// A re-authentication: the same session, renewed.
			old := refOf(e)
			e.s, e.class, e.expires, e.started, e.seq = s, class, exp, started, seq
			sh.fix(e.idx)
			sh.mu.Unlock()
			if old.class != class {
				t.dropIDs(idRef{imsi: old.imsi, client: old.client, class: old.class})
				if class != "" {
					t.idMu.Lock()
					t.byClass[sessionKey{s.Client, class}] = s.IMSI
					t.idMu.Unlock()
				}
			}
			return
		}
		n++
		if oldest == nil || e.started < oldest.started || (e.started == oldest.started && e.seq < oldest.seq) {
			oldest = e
		}
	}
	var (
		dropped     sessionKey // the Session-Id of a session evicted for room
		droppedIMSI string
		droppedCl   sessionKey // its Class
	)
	if n >= t.maxPerIMSI {
		head = sh.unlink(oldest)
		dropped, droppedIMSI = sessionKey{oldest.s.Client, oldest.s.SessionID}, oldest.s.IMSI
		droppedCl = sessionKey{oldest.s.Client, oldest.class}
		t.evicted.Add(1)
	} else if len(sh.order) >= t.shardMax {
		victim := sh.order[0]
		dropped, droppedIMSI = sessionKey{victim.s.Client, victim.s.SessionID}, victim.s.IMSI
		droppedCl = sessionKey{victim.s.Client, victim.class}
		if victim.s.IMSI == s.IMSI {
			head = sh.unlink(victim)
		} else if sh.unlink(victim) == nil {
			last = victim.s.IMSI
		}
		t.evicted.Add(1)
	} else {
		t.count.Add(1)
	}
	e := &entry{s: s, class: class, expires: exp, started: started, seq: seq, next: head}
	sh.byIMSI[s.IMSI] = e
	sh.push(e)
	sh.mu.Unlock()
	if dropped.id != "" || s.SessionID != "" || droppedCl.id != "" || class != "" {
		t.idMu.Lock()
		if dropped.id != "" && t.byID[dropped] == droppedIMSI {
			delete(t.byID, dropped)
		}
		if droppedCl.id != "" && t.byClass[droppedCl] == droppedIMSI {
			delete(t.byClass, droppedCl)
		}
		if s.SessionID != "" {
			t.byID[sessionKey{s.Client, s.SessionID}] = s.IMSI
		}
		if class != "" {
			t.byClass[sessionKey{s.Client, class}] = s.IMSI
		}
		t.idMu.Unlock()
	}
	if last != "" && t.onLastEnd != nil {
		t.onLastEnd(last)
	}
}

// All returns copies of at most limit sessions of the table, one shard at
// a time (a shard's lock is held while it is copied, not the table's), and
// whether there were more.
func (t *Table) All(limit int) ([]Session, bool) {
	var out []Session
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.order {
			if len(out) == limit {
				sh.mu.Unlock()
				return out, true
			}
			out = append(out, e.s)
		}
		sh.mu.Unlock()
	}
	return out, false
}

// Lookup returns copies of the sessions of imsi, newest first.
func (t *Table) Lookup(imsi string) []Session {
	sh := t.shard(imsi)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var out []Session
	for e := sh.byIMSI[imsi]; e != nil; e = e.next {
		out = append(out, e.s)
	}
	slices.SortStableFunc(out, func(a, b Session) int { return b.Started.Compare(a.Started) })
	return out
}

// Remove takes out the session with the key of s (IMSI, front end,
// client, Calling-Station-Id, Acct-Session-Id) without ending it at its
// access point. It reports whether there was one.
func (t *Table) Remove(s Session) bool {
	k := keyOf(&s)
	sh := t.shard(s.IMSI)
	sh.mu.Lock()
	var found *entry
	for e := sh.byIMSI[s.IMSI]; e != nil; e = e.next {
		if keyOf(&e.s) == k {
			found = e
			break
		}
	}
	if found == nil {
		sh.mu.Unlock()
		return false
	}
	last := sh.unlink(found) == nil
	t.count.Add(-1)
	sh.mu.Unlock()
	t.dropIDs(refOf(found))
	if last && t.onLastEnd != nil {
		t.onLastEnd(s.IMSI)
	}
	return true
}

// RegisterTerminator sets the Terminator of a front end's sessions,
// replacing any before it.
func (t *Table) RegisterTerminator(frontEnd string, term Terminator) {
	t.termMu.Lock()
	defer t.termMu.Unlock()
	t.terminators[frontEnd] = term
}

func (t *Table) terminator(frontEnd string) Terminator {
	t.termMu.RLock()
	defer t.termMu.RUnlock()
	return t.terminators[frontEnd]
}

// End takes every session of imsi out of the table and ends each at its
// access point through its front end's Terminator, all at once, and
// returns what each came to, newest session first. A session whose front
// end has no Terminator gets ErrNoTerminator. OnLastEnd is called, if
// there were sessions, once the Terminators have returned.
func (t *Table) End(ctx context.Context, imsi string) []EndResult {
	sh := t.shard(imsi)
	sh.mu.Lock()
	var out []EndResult
	var refs []idRef
	for e := sh.byIMSI[imsi]; e != nil; e = e.next {
		out = append(out, EndResult{Session: e.s})
		refs = append(refs, refOf(e))
		sh.remove(e.idx)
	}
	delete(sh.byIMSI, imsi)
	t.count.Add(-int64(len(out)))
	sh.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	t.dropIDs(refs...)
	slices.SortStableFunc(out, func(a, b EndResult) int { return b.Session.Started.Compare(a.Session.Started) })
	var wg sync.WaitGroup
	for i := range out {
		r := &out[i]
		term := t.terminator(r.Session.FrontEnd)
		if term == nil {
			r.Err = fmt.Errorf("%w %q", ErrNoTerminator, r.Session.FrontEnd)
			continue
		}
		wg.Go(func() { r.Acked, r.Err = term.Terminate(ctx, r.Session) })
	}
	wg.Wait()
	if t.onLastEnd != nil {
		t.onLastEnd(imsi)
	}
	return out
}

// Expire takes out the sessions whose Expires is not after now, and
// returns how many. It does not end them at their access points: the
// access point ends them itself (Session-Timeout).
func (t *Table) Expire(now time.Time) int {
	limit := now.UnixNano()
	n := 0
	var lasts []string
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		var gone []idRef
		for len(sh.order) > 0 && sh.order[0].expires <= limit {
			e := sh.order[0]
			if sh.unlink(e) == nil {
				lasts = append(lasts, e.s.IMSI)
			}
			if e.s.SessionID != "" || e.class != "" {
				gone = append(gone, refOf(e))
			}
			n++
		}
		sh.mu.Unlock()
		t.dropIDs(gone...)
	}
	t.count.Add(-int64(n))
	if t.onLastEnd != nil {
		for _, imsi := range lasts {
			t.onLastEnd(imsi)
		}
	}
	return n
}

// dropIDs forgets the Session-Ids of sessions that left the table, unless
// a newer session of another IMSI took the same key since.
func (t *Table) dropIDs(gone ...idRef) {
	t.idMu.Lock()
	for _, s := range gone {
		k := sessionKey{s.client, s.sessionID}
		if s.sessionID != "" && t.byID[k] == s.imsi {
			delete(t.byID, k)
		}
		if c := (sessionKey{s.client, s.class}); s.class != "" && t.byClass[c] == s.imsi {
			delete(t.byClass, c)
		}
	}
	t.idMu.Unlock()
}

// FindSession returns the session the gateway client opened with
// Session-Id id.
func (t *Table) FindSession(client, id string) (Session, bool) {
	if id == "" {
		return Session{}, false
	}
	k := sessionKey{client, id}
	t.idMu.Lock()
	imsi, ok := t.byID[k]
	t.idMu.Unlock()
	if !ok {
		return Session{}, false
	}
	sh := t.shard(imsi)
	sh.mu.Lock()
	for e := sh.byIMSI[imsi]; e != nil; e = e.next {
		if e.s.SessionID == id && e.s.Client == client {
			s := e.s
			sh.mu.Unlock()
			return s, true
		}
	}
	sh.mu.Unlock()
	// Stale: the session left between an Add and its index entry.
	t.dropIDs(idRef{imsi: imsi, client: client, sessionID: id})
	return Session{}, false
}

// Run calls Expire every interval (0 or less: a minute) until ctx ends.
func (t *Table) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			t.Expire(t.now())
		}
	}
}

// unlink takes e out of its IMSI's list and of the heap, and returns the
// IMSI's head after it (nil: it was the IMSI's last session). The caller
// holds sh.mu and adjusts the count.
func (sh *shard) unlink(e *entry) *entry {
	imsi := e.s.IMSI
	head := sh.byIMSI[imsi]
	if head == e {
		head = e.next
	} else {
		for p := head; p != nil; p = p.next {
			if p.next == e {
				p.next = e.next
				break
			}
		}
	}
	if head == nil {
		delete(sh.byIMSI, imsi)
	} else {
		sh.byIMSI[imsi] = head
	}
	e.next = nil
	sh.remove(e.idx)
	return head
}

// The heap: container/heap would box every call through an interface.

func (sh *shard) less(i, j int) bool {
	a, b := sh.order[i], sh.order[j]
	if a.expires != b.expires {
		return a.expires < b.expires
	}
	if a.started != b.started {
		return a.started < b.started
	}
	return a.seq < b.seq
}

func (sh *shard) swap(i, j int) {
	sh.order[i], sh.order[j] = sh.order[j], sh.order[i]
	sh.order[i].idx = i
	sh.order[j].idx = j
}

func (sh *shard) push(e *entry) {
	e.idx = len(sh.order)
	sh.order = append(sh.order, e)
	sh.up(e.idx)
}

func (sh *shard) remove(i int) {
	last := len(sh.order) - 1
	if i != last {
		sh.swap(i, last)
	}
	sh.order[last].idx = -1
	sh.order[last] = nil
	sh.order = sh.order[:last]
	if i != last {
		sh.fix(i)
	}
	if cap(sh.order) > 64 && len(sh.order) < cap(sh.order)/4 {
		// Give back what a flood grew.
		sh.order = append([]*entry(nil), sh.order...)
	}
}

func (sh *shard) fix(i int) {
	if !sh.down(i) {
		sh.up(i)
	}
}

func (sh *shard) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !sh.less(j, i) {
			break
		}
		sh.swap(i, j)
		j = i
	}
}

func (sh *shard) down(i0 int) bool {
	i, n := i0, len(sh.order)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && sh.less(r, l) {
			j = r
		}
		if !sh.less(j, i) {
			break
		}
		sh.swap(i, j)
		i = j
	}
	return i > i0
}

// idRef is what the indexes know of a session: its IMSI, client,
// Session-Id and Class.
type idRef struct{ imsi, client, sessionID, class string }

func refOf(e *entry) idRef { return idRef{e.s.IMSI, e.s.Client, e.s.SessionID, e.class} }

// FindClass returns the session client opened whose Access-Accept carried
// Class class.
func (t *Table) FindClass(client, class string) (Session, bool) {
	if class == "" {
		return Session{}, false
	}
	k := sessionKey{client, class}
	t.idMu.Lock()
	imsi, ok := t.byClass[k]
	t.idMu.Unlock()
	if !ok {
		return Session{}, false
	}
	sh := t.shard(imsi)
	sh.mu.Lock()
	for e := sh.byIMSI[imsi]; e != nil; e = e.next {
		if e.class == class && e.s.Client == client {
			s := e.s
			sh.mu.Unlock()
			return s, true
		}
	}
	sh.mu.Unlock()
	// Stale: the session left between an Add and its index entry.
	t.dropIDs(idRef{imsi: imsi, client: client, class: class})
	return Session{}, false
}

// Update applies f to the session with the key of s (IMSI, front end,
// client, Calling-Station-Id, Acct-Session-Id) and returns the result. f
// may change what accounting reports and the session's identifiers
// (Acct-Session-Id, Calling-Station-Id, UserName, Expires); IMSI, front end,
// client, SessionID and Started stay as they were, and so does its class. It reports
// whether there was such a session.
func (t *Table) Update(s Session, f func(*Session)) (Session, bool) {
	k := keyOf(&s)
	sh := t.shard(s.IMSI)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for e := sh.byIMSI[s.IMSI]; e != nil; e = e.next {
		if keyOf(&e.s) != k {
			continue
		}
		ns := e.s
		f(&ns)
		ns.IMSI, ns.FrontEnd, ns.Client = e.s.IMSI, e.s.FrontEnd, e.s.Client
		ns.SessionID, ns.Started = e.s.SessionID, e.s.Started
		e.s = ns
		exp := int64(math.MaxInt64)
		if !ns.Expires.IsZero() {
			exp = ns.Expires.UnixNano()
		}
		if exp != e.expires {
			e.expires = exp
			sh.fix(e.idx)
		}
		return ns, true
	}
	return Session{}, false
}
