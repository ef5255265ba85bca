package session

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// lastEnds records OnLastEnd calls.
type lastEnds struct {
	mu    sync.Mutex
	imsis []string
}

func (l *lastEnds) add(imsi string) { l.mu.Lock(); l.imsis = append(l.imsis, imsi); l.mu.Unlock() }
func (l *lastEnds) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.imsis)
}

func newTable(max, perIMSI int) (*Table, *clock, *lastEnds) {
	c := &clock{now: t0}
	l := &lastEnds{}
	return NewTable(Config{MaxSessions: max, MaxPerIMSI: perIMSI, Now: c.Now, OnLastEnd: l.add}), c, l
}

func sess(imsi, station string, started, expires time.Duration) Session {
	s := Session{
		IMSI: imsi, FrontEnd: "radius", Client: "lab", CallingStationID: station,
		NAS:     netip.MustParseAddrPort("192.0.2.1:32768"),
		Started: t0.Add(started),
	}
	if expires != 0 {
		s.Expires = t0.Add(expires)
	}
	return s
}

func imsi(i int) string { return fmt.Sprintf("00101%010d", i) }

// check verifies the table's internal invariants: the count, the lists and
// the heaps agree, and every bound holds.
func check(t *testing.T, tb *Table) {
	t.Helper()
	total := 0
	for i := range tb.shards {
		sh := &tb.shards[i]
		sh.mu.Lock()
		listed := 0
		for imsi, head := range sh.byIMSI {
			n := 0
			for e := head; e != nil; e = e.next {
				if e.s.IMSI != imsi {
					t.Errorf("session of %s listed under %s", e.s.IMSI, imsi)
				}
				if e.idx < 0 || e.idx >= len(sh.order) || sh.order[e.idx] != e {
					t.Errorf("entry not at its heap index")
				}
				n++
			}
			if n == 0 || n > tb.maxPerIMSI {
				t.Errorf("IMSI with %d sessions (max %d)", n, tb.maxPerIMSI)
			}
			listed += n
		}
		if listed != len(sh.order) {
			t.Errorf("shard %d: %d listed, %d in the heap", i, listed, len(sh.order))
		}
		if len(sh.order) > tb.shardMax {
			t.Errorf("shard %d: %d sessions over its share %d", i, len(sh.order), tb.shardMax)
		}
		for j := 1; j < len(sh.order); j++ {
			if sh.less(j, (j-1)/2) {
				t.Errorf("shard %d: heap order broken at %d", i, j)
			}
		}
		total += listed
		sh.mu.Unlock()
	}
	if total != tb.Len() {
		t.Errorf("Len %d, %d held", tb.Len(), total)
	}
}

// The table never holds more than MaxSessions, however many distinct
// IMSIs authenticate, concurrently or not, with or without expiry.
func TestTable_Bound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     int
		adds    int
		workers int
		expires bool
	}{
		{"small, one shard", 1000, 10_000, 1, true},
		{"small, no expiry", 1000, 10_000, 1, false},
		{"sharded, concurrent", 100_000, 300_000, 8, true},
		{"tiny", 1, 100, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, ends := newTable(tc.max, 0)
			var wg sync.WaitGroup
			for w := range tc.workers {
				wg.Go(func() {
					for i := w; i < tc.adds; i += tc.workers {
						var exp time.Duration
						if tc.expires {
							exp = time.Hour + time.Duration(i%977)*time.Second
						}
						tb.Add(sess(imsi(i), "aa-bb", time.Duration(i), exp))
						if tb.Len() > tc.max {
							t.Errorf("Len %d over %d", tb.Len(), tc.max)
							return
						}
					}
				})
			}
			wg.Wait()
			check(t, tb)
			if tb.Len() > tc.max || tb.Len() < tc.max*9/10 {
				t.Fatalf("Len %d, want at most %d and close to it", tb.Len(), tc.max)
			}
			if got := tb.Evicted(); int(got) != tc.adds-tb.Len() {
				t.Errorf("evicted %d, want %d", got, tc.adds-tb.Len())
			}
			// Each evicted IMSI had one session: each was its last.
			if got := len(ends.get()); got != tc.adds-tb.Len() {
				t.Errorf("OnLastEnd called %d times, want %d", got, tc.adds-tb.Len())
			}
		})
	}
}

// When full, Add evicts the session that expires first; sessions without
// expiry go last, the oldest of them first.
func TestTable_EvictsWhatExpiresFirst(t *testing.T) {
	tb, _, ends := newTable(3, 0)
	tb.Add(sess(imsi(1), "a", 0, 3*time.Hour))
	tb.Add(sess(imsi(2), "a", 1, time.Hour))
	tb.Add(sess(imsi(3), "a", 2, 0))
	for _, tc := range []struct {
		add     Session
		evicted string
	}{
		{sess(imsi(4), "a", 3, 0), imsi(2)},
		{sess(imsi(5), "a", 4, 2*time.Hour), imsi(1)},
		{sess(imsi(6), "a", 5, 0), imsi(5)},
		{sess(imsi(7), "a", 6, 0), imsi(3)}, // no expiry left: the oldest
		{sess(imsi(8), "a", 7, 0), imsi(4)},
	} {
		tb.Add(tc.add)
		if len(tb.Lookup(tc.evicted)) != 0 {
			t.Errorf("adding %s: %s not evicted", tc.add.IMSI, tc.evicted)
		}
		if got := ends.get(); got[len(got)-1] != tc.evicted {
			t.Errorf("OnLastEnd %v, want %s last", got, tc.evicted)
		}
		if tb.Len() != 3 {
			t.Fatalf("Len %d", tb.Len())
		}
		check(t, tb)
	}
	// An IMSI evicting its own session is not its last end.
	tb2, _, ends2 := newTable(2, 0)
	tb2.Add(sess(imsi(1), "a", 0, time.Hour))
	tb2.Add(sess(imsi(2), "a", 0, 2*time.Hour))
	tb2.Add(sess(imsi(1), "b", 1, 3*time.Hour))
	if got := tb2.Lookup(imsi(1)); len(got) != 1 || got[0].CallingStationID != "b" {
		t.Fatalf("IMSI 1 holds %v", got)
	}
	if got := ends2.get(); len(got) != 0 {
		t.Fatalf("OnLastEnd %v", got)
	}
	check(t, tb2)
}

// One IMSI holds at most MaxPerIMSI sessions; past it its oldest goes,
// and the IMSI has not ended.
func TestTable_PerIMSIBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perIMSI int
		want    int
	}{
		{"default", 0, DefaultMaxPerIMSI},
		{"one", 1, 1},
		{"three", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, ends := newTable(0, tc.perIMSI)
			for i := range 20 {
				tb.Add(sess(imsi(1), fmt.Sprintf("station-%02d", i), time.Duration(i)*time.Minute, time.Hour))
			}
			got := tb.Lookup(imsi(1))
			if len(got) != tc.want || tb.Len() != tc.want {
				t.Fatalf("%d sessions (Len %d), want %d", len(got), tb.Len(), tc.want)
			}
			for i, s := range got {
				if want := t0.Add(time.Duration(19-i) * time.Minute); !s.Started.Equal(want) {
					t.Errorf("session %d started %v, want the newest ones, newest first (%v)", i, s.Started, want)
				}
			}
			if len(ends.get()) != 0 {
				t.Errorf("OnLastEnd %v", ends.get())
			}
			if int(tb.Evicted()) != 20-tc.want {
				t.Errorf("evicted %d", tb.Evicted())
			}
			check(t, tb)
		})
	}
	// The oldest by Started goes, whatever the order of the Adds.
	tb, _, _ := newTable(0, 3)
	for _, st := range []struct {
		station string
		started time.Duration
	}{{"a", 5}, {"b", 1}, {"c", 3}, {"d", 6}, {"e", 2}} {
		tb.Add(sess(imsi(1), st.station, st.started*time.Minute, time.Hour))
	}
	var left []string
	for _, s := range tb.Lookup(imsi(1)) {
		left = append(left, s.CallingStationID)
	}
	if !slices.Equal(left, []string{"d", "a", "e"}) {
		t.Errorf("left %v, want [d a e]", left)
	}
	check(t, tb)
}

// A re-authentication of the same device at the same access point
// replaces its session; anything else in the key makes another session.
func TestTable_Replace(t *testing.T) {
	base := sess(imsi(1), "aa-bb-cc-dd-ee-ff", 0, time.Hour)
	base.AcctSessionID = "A1"
	for _, tc := range []struct {
		name    string
		mod     func(*Session)
		replace bool
	}{
		{"same key", func(s *Session) {}, true},
		{"same key, new user name and NAS port", func(s *Session) {
			s.UserName = "pseudonym"
			s.NAS = netip.MustParseAddrPort("192.0.2.1:40000")
		}, true},
		{"other Calling-Station-Id", func(s *Session) { s.CallingStationID = "11-22-33-44-55-66" }, false},
		{"other Acct-Session-Id", func(s *Session) { s.AcctSessionID = "A2" }, false},
		{"other client", func(s *Session) { s.Client = "ap2" }, false},
		{"other front end", func(s *Session) { s.FrontEnd = "diameter" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, ends := newTable(0, 0)
			tb.Add(base)
			s := base
			tc.mod(&s)
			s.Started = base.Started.Add(time.Minute)
			s.Expires = base.Expires.Add(time.Minute)
			tb.Add(s)
			got := tb.Lookup(imsi(1))
			want := 2
			if tc.replace {
				want = 1
			}
			if len(got) != want || tb.Len() != want {
				t.Fatalf("%d sessions, Len %d, want %d", len(got), tb.Len(), want)
			}
			if got[0] != s {
				t.Errorf("newest session %v, want %v", got[0], s)
			}
			if len(ends.get()) != 0 || tb.Evicted() != 0 {
				t.Errorf("OnLastEnd %v, evicted %d", ends.get(), tb.Evicted())
			}
			check(t, tb)
			// The replaced expiry counts, not the old one.
			if n := tb.Expire(base.Expires); tc.replace && n != 0 {
				t.Errorf("the renewed session expired at the old time")
			}
		})
	}
}

// OnLastEnd comes when the last session of an IMSI goes, by Remove,
// expiry or End, once, and not while another session is left.
func TestTable_OnLastEnd(t *testing.T) {
	a, b := sess(imsi(1), "a", 0, time.Hour), sess(imsi(1), "b", time.Second, 2*time.Hour)
	other := sess(imsi(2), "a", 0, 0)
	for _, tc := range []struct {
		name string
		run  func(tb *Table)
		want []string
	}{
		{"remove one then the other", func(tb *Table) {
			if !tb.Remove(a) {
				t.Error("a not removed")
			}
			if tb.Remove(a) {
				t.Error("a removed twice")
			}
			tb.Remove(b)
		}, []string{imsi(1)}},
		{"remove by key", func(tb *Table) {
			k := b
			k.UserName, k.Started, k.Expires, k.NAS = "x", time.Time{}, time.Time{}, netip.AddrPort{}
			tb.Remove(k)
			tb.Remove(a)
		}, []string{imsi(1)}},
		{"remove unknown", func(tb *Table) {
			tb.Remove(sess(imsi(3), "a", 0, 0))
		}, nil},
		{"expire one, then the other", func(tb *Table) {
			if n := tb.Expire(t0.Add(time.Hour)); n != 1 {
				t.Errorf("expired %d", n)
			}
			if n := tb.Expire(t0.Add(3 * time.Hour)); n != 1 {
				t.Errorf("expired %d", n)
			}
		}, []string{imsi(1)}},
		{"expire both at once", func(tb *Table) {
			tb.Expire(t0.Add(3 * time.Hour))
		}, []string{imsi(1)}},
		{"end", func(tb *Table) {
			tb.End(context.Background(), imsi(1))
			tb.End(context.Background(), imsi(1))
		}, []string{imsi(1)}},
		{"replace", func(tb *Table) {
			tb.Add(a)
			tb.Add(b)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, ends := newTable(0, 0)
			tb.RegisterTerminator("radius", &fakeTerminator{})
			tb.Add(a)
			tb.Add(b)
			tb.Add(other)
			tc.run(tb)
			if got := ends.get(); !slices.Equal(got, tc.want) {
				t.Errorf("OnLastEnd %v, want %v", got, tc.want)
			}
			if len(tb.Lookup(imsi(2))) != 1 {
				t.Error("another IMSI's session went")
			}
			check(t, tb)
		})
	}
}

// fakeTerminator answers as told, records what it was given, and, with
// barrier set, holds every call until barrier calls are in progress: a
// Table that ended sessions one by one would never get there.
type fakeTerminator struct {
	acked   bool
	err     error
	barrier int

	mu      sync.Mutex
	got     []Session
	arrived chan struct{}
	once    sync.Once
	all     chan struct{}
}

func (f *fakeTerminator) Terminate(ctx context.Context, s Session) (bool, error) {
	f.mu.Lock()
	f.got = append(f.got, s)
	n := len(f.got)
	f.mu.Unlock()
	if f.barrier > 0 {
		f.once.Do(func() { f.all = make(chan struct{}) })
		if n == f.barrier {
			close(f.all)
		}
		select {
		case <-f.all:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return f.acked, f.err
}

func (f *fakeTerminator) sessions() []Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// End takes every session of the IMSI out and ends each through its front
// end's Terminator, concurrently, reporting each.
func TestTable_End(t *testing.T) {
	errDown := errors.New("access point unreachable")
	for _, tc := range []struct {
		name      string
		terms     map[string]*fakeTerminator
		sessions  []Session
		wantAcked []bool
		wantErr   []error
	}{
		{
			name:      "acked",
			terms:     map[string]*fakeTerminator{"radius": {acked: true}},
			sessions:  []Session{sess(imsi(1), "a", 0, time.Hour)},
			wantAcked: []bool{true}, wantErr: []error{nil},
		},
		{
			name:      "nak",
			terms:     map[string]*fakeTerminator{"radius": {}},
			sessions:  []Session{sess(imsi(1), "a", 0, time.Hour)},
			wantAcked: []bool{false}, wantErr: []error{nil},
		},
		{
			name:      "error",
			terms:     map[string]*fakeTerminator{"radius": {err: errDown}},
			sessions:  []Session{sess(imsi(1), "a", 0, time.Hour)},
			wantAcked: []bool{false}, wantErr: []error{errDown},
		},
		{
			name:  "concurrently, newest first, one front end without a terminator",
			terms: map[string]*fakeTerminator{"radius": {acked: true, barrier: 3}},
			sessions: []Session{
				sess(imsi(1), "a", 0, time.Hour),
				sess(imsi(1), "b", time.Second, time.Hour),
				func() Session { s := sess(imsi(1), "c", 2*time.Second, 0); s.FrontEnd = "diameter"; return s }(),
				sess(imsi(1), "d", 3*time.Second, time.Hour),
			},
			wantAcked: []bool{true, false, true, true},
			wantErr:   []error{nil, ErrNoTerminator, nil, nil},
		},
		{"nothing to end", map[string]*fakeTerminator{"radius": {}}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, ends := newTable(0, 0)
			for fe, term := range tc.terms {
				tb.RegisterTerminator(fe, term)
			}
			for _, s := range tc.sessions {
				tb.Add(s)
			}
			tb.Add(sess(imsi(2), "a", 0, time.Hour))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res := tb.End(ctx, imsi(1))
			if len(res) != len(tc.sessions) {
				t.Fatalf("%d results for %d sessions", len(res), len(tc.sessions))
			}
			for i, r := range res {
				want := tc.sessions[len(tc.sessions)-1-i] // newest first
				if r.Session != want {
					t.Errorf("result %d for %v, want %v", i, r.Session, want)
				}
				if r.Acked != tc.wantAcked[i] || !errors.Is(r.Err, tc.wantErr[i]) || (r.Err == nil) != (tc.wantErr[i] == nil) {
					t.Errorf("result %d: acked %v err %v, want %v %v", i, r.Acked, r.Err, tc.wantAcked[i], tc.wantErr[i])
				}
			}
			if got := tb.Lookup(imsi(1)); len(got) != 0 {
				t.Errorf("%d sessions left", len(got))
			}
			if tb.Len() != 1 {
				t.Errorf("Len %d, want the other IMSI's one", tb.Len())
			}
			wantEnds := []string{imsi(1)}
			if len(tc.sessions) == 0 {
				wantEnds = nil
			}
			if got := ends.get(); !slices.Equal(got, wantEnds) {
				t.Errorf("OnLastEnd %v, want %v", got, wantEnds)
			}
			var given []Session
			for _, term := range tc.terms {
				given = append(given, term.sessions()...)
			}
			for _, s := range given {
				if s.IMSI != imsi(1) || s.FrontEnd != "radius" {
					t.Errorf("terminator given %v", s)
				}
			}
			check(t, tb)
		})
	}
}

// Sessions go at their expiry, judged by the clock given; those without
// expiry stay.
func TestTable_Expire(t *testing.T) {
	tb, clk, ends := newTable(0, 0)
	tb.Add(sess(imsi(1), "a", 0, time.Minute))
	tb.Add(sess(imsi(1), "b", 0, 3*time.Minute))
	tb.Add(sess(imsi(2), "a", 0, 2*time.Minute))
	tb.Add(sess(imsi(3), "a", 0, 0))
	// Started defaults to the table's clock.
	clk.mu.Lock()
	clk.now = t0.Add(time.Minute)
	clk.mu.Unlock()
	tb.Add(Session{IMSI: imsi(4), FrontEnd: "radius", Expires: t0.Add(5 * time.Minute)})
	if got := tb.Lookup(imsi(4)); len(got) != 1 || !got[0].Started.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Started %v", got)
	}
	for _, tc := range []struct {
		at       time.Duration
		expired  int
		left     int
		lastEnds []string
	}{
		{59 * time.Second, 0, 5, nil},
		{time.Minute, 1, 4, nil}, // due at its expiry
		{150 * time.Second, 1, 3, []string{imsi(2)}},
		{3 * time.Minute, 1, 2, []string{imsi(2), imsi(1)}},
		{24 * time.Hour, 1, 1, []string{imsi(2), imsi(1), imsi(4)}},
		{1000 * time.Hour, 0, 1, []string{imsi(2), imsi(1), imsi(4)}},
	} {
		if n := tb.Expire(t0.Add(tc.at)); n != tc.expired {
			t.Errorf("at %v: %d expired, want %d", tc.at, n, tc.expired)
		}
		if tb.Len() != tc.left {
			t.Errorf("at %v: Len %d, want %d", tc.at, tb.Len(), tc.left)
		}
		if got := ends.get(); !slices.Equal(got, tc.lastEnds) {
			t.Errorf("at %v: OnLastEnd %v, want %v", tc.at, got, tc.lastEnds)
		}
		check(t, tb)
	}
	if len(tb.Lookup(imsi(3))) != 1 {
		t.Error("the session without expiry went")
	}
}

// Run expires on its ticker until its context ends.
func TestTable_Run(t *testing.T) {
	gone := make(chan string, 1)
	tb := NewTable(Config{Now: func() time.Time { return t0.Add(time.Hour) }, OnLastEnd: func(imsi string) { gone <- imsi }})
	tb.Add(sess(imsi(1), "a", 0, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tb.Run(ctx, time.Millisecond); close(done) }()
	select {
	case got := <-gone:
		if got != imsi(1) {
			t.Errorf("OnLastEnd %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not expire the session")
	}
	cancel()
	<-done
}

// Everything at once, for the race detector; the invariants hold after.
func TestTable_Concurrent(t *testing.T) {
	tb, _, _ := newTable(5000, 4)
	tb.RegisterTerminator("radius", &fakeTerminator{acked: true})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 3000 {
				s := sess(imsi(i%700), fmt.Sprintf("st-%d", (i+w)%6), time.Duration(i), time.Duration(i%50)*time.Second)
				switch i % 7 {
				case 0:
					tb.Remove(s)
				case 1:
					tb.Lookup(s.IMSI)
				case 2:
					tb.End(context.Background(), s.IMSI)
				case 3:
					tb.Expire(t0.Add(time.Duration(i%40) * time.Second))
				default:
					tb.Add(s)
				}
				_ = tb.Len()
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			tb.RegisterTerminator("radius", &fakeTerminator{acked: true})
		}
	})
	wg.Wait()
	check(t, tb)
}

func TestSession_StringMasksIMSI(t *testing.T) {
	s := sess("001010123456789", "aa-bb-cc-dd-ee-ff", 0, time.Hour)
	s.UserName = "6001010123456789@wlan.mnc001.mcc001.3gppnetwork.org"
	s.AcctSessionID = "5F1A"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, s)
		for _, leak := range []string{"0123456789", "6001010123456789", "aa-bb-cc"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q shows %q", verb, got, leak)
			}
		}
		for _, want := range []string{"00101xxxxxxxx89", "radius", "lab", "192.0.2.1:32768", "5F1A"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q lacks %q", verb, got, want)
			}
		}
	}
	for in, want := range map[string]string{"": "", "1234567": "", "12345678": "12345x78"} {
		if got := MaskIMSI(in); got != want {
			t.Errorf("MaskIMSI(%q) = %q, want %q", in, got, want)
		}
	}
}

// Add, the per-Accept cost: a re-authentication replacing its session,
// and a new IMSI in a full table.
func BenchmarkTable_Add(b *testing.B) {
	b.Run("replace", func(b *testing.B) {
		tb := NewTable(Config{})
		s := sess(imsi(1), "a", 0, time.Hour)
		b.ReportAllocs()
		for b.Loop() {
			tb.Add(s)
		}
	})
	b.Run("new-full", func(b *testing.B) {
		tb := NewTable(Config{MaxSessions: 1 << 16})
		imsis := make([]string, 1<<17)
		for i := range imsis {
			imsis[i] = imsi(i)
		}
		s := sess(imsi(1), "a", 0, time.Hour)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.IMSI = imsis[i%len(imsis)]
			s.Expires = t0.Add(time.Duration(i))
			tb.Add(s)
			i++
		}
	})
}

// A Diameter session is found by its Session-Id while it is in the table,
// and not after it left it, however it left.
func TestFindSession(t *testing.T) {
	tb := NewTable(Config{MaxPerIMSI: 2})
	add := func(imsi, sid string) {
		tb.Add(Session{IMSI: imsi, FrontEnd: "diameter", Client: "twag.test", SessionID: sid, Started: time.Now()})
	}
	add("001010000000001", "twag.test;1;1")
	if s, ok := tb.FindSession("twag.test", "twag.test;1;1"); !ok || s.IMSI != "001010000000001" {
		t.Fatalf("FindSession: %v %v", s, ok)
	}
	// Evicted: the IMSI holds at most 2.
	add("001010000000001", "twag.test;1;2")
	add("001010000000001", "twag.test;1;3")
	if _, ok := tb.FindSession("twag.test", "twag.test;1;1"); ok {
		t.Error("found a session evicted for room")
	}
	// Removed, ended.
	s, _ := tb.FindSession("twag.test", "twag.test;1;2")
	tb.Remove(s)
	if _, ok := tb.FindSession("twag.test", "twag.test;1;2"); ok {
		t.Error("found a removed session")
	}
	tb.End(context.Background(), "001010000000001")
	if _, ok := tb.FindSession("twag.test", "twag.test;1;3"); ok {
		t.Error("found an ended session")
	}
	// Expired.
	tb.Add(Session{IMSI: "001010000000002", FrontEnd: "diameter", Client: "twag.test", SessionID: "twag.test;2;1", Started: time.Now(), Expires: time.Now().Add(time.Second)})
	tb.Expire(time.Now().Add(time.Minute))
	if _, ok := tb.FindSession("twag.test", "twag.test;2;1"); ok {
		t.Error("found an expired session")
	}
	// Another gateway's session of the same Session-Id is another one.
	add("001010000000003", "same")
	tb.Add(Session{IMSI: "001010000000004", FrontEnd: "diameter", Client: "other.test", SessionID: "same", Started: time.Now()})
	if s, ok := tb.FindSession("twag.test", "same"); !ok || s.IMSI != "001010000000003" {
		t.Errorf("twag.test's session: %v %v", s, ok)
	}
	if s, ok := tb.FindSession("other.test", "same"); !ok || s.IMSI != "001010000000004" {
		t.Errorf("other.test's session: %v %v", s, ok)
	}
	tb.End(context.Background(), "001010000000003")
	tb.End(context.Background(), "001010000000004")
	tb.idMu.Lock()
	n := len(tb.byID)
	tb.idMu.Unlock()
	if n != 0 {
		t.Errorf("%d Session-Ids indexed for an empty table", n)
	}
}

func TestFindClassAndUpdate(t *testing.T) {
	var ends lastEnds
	tb := NewTable(Config{MaxPerIMSI: 2, OnLastEnd: ends.add})
	add := func(imsi, station, class string) {
		tb.AddClass(Session{IMSI: imsi, FrontEnd: "radius", Client: "ap", CallingStationID: station, Started: time.Now()}, class)
	}
	add("001010000000001", "st-1", "aaad:1")
	s, ok := tb.FindClass("ap", "aaad:1")
	if !ok || s.IMSI != "001010000000001" || s.CallingStationID != "st-1" {
		t.Fatalf("FindClass: %v %v", s, ok)
	}
	if _, ok := tb.FindClass("other-ap", "aaad:1"); ok {
		t.Error("found another client's class")
	}
	// Update: accounting data, a new Acct-Session-Id; identity fields stay.
	u, ok := tb.Update(s, func(x *Session) {
		x.AcctSessionID, x.InputOctets, x.OutputOctets = "A1", 1<<33, 7
		x.FramedIPAddress = netip.MustParseAddr("10.0.0.7")
		x.IMSI, x.Client = "999", "nobody"
	})
	if !ok || u.IMSI != s.IMSI || u.Client != "ap" || u.AcctSessionID != "A1" || u.InputOctets != 1<<33 {
		t.Fatalf("Update: %v %v", u, ok)
	}
	if got := tb.Lookup("001010000000001"); len(got) != 1 || got[0] != u {
		t.Fatalf("after Update, Lookup %v", got)
	}
	if f, ok := tb.FindClass("ap", "aaad:1"); !ok || f != u {
		t.Fatalf("after Update, FindClass %v %v", f, ok)
	}
	if _, ok := tb.Update(Session{IMSI: "001010000000009"}, func(*Session) {}); ok {
		t.Error("updated a session that is not there")
	}
	// Re-authentication with a new class: the old one no longer finds it.
	tb.AddClass(Session{IMSI: "001010000000001", FrontEnd: "radius", Client: "ap", CallingStationID: "st-1", AcctSessionID: "A1"}, "aaad:2")
	if _, ok := tb.FindClass("ap", "aaad:1"); ok {
		t.Error("old class still finds the session")
	}
	if _, ok := tb.FindClass("ap", "aaad:2"); !ok {
		t.Error("new class does not find the session")
	}
	// Remove (an accounting Stop) forgets the class and reports the last end.
	s, _ = tb.FindClass("ap", "aaad:2")
	if !tb.Remove(s) {
		t.Fatal("Remove")
	}
	if _, ok := tb.FindClass("ap", "aaad:2"); ok {
		t.Error("found a removed session by class")
	}
	if got := ends.get(); len(got) != 1 || got[0] != "001010000000001" {
		t.Errorf("OnLastEnd %v", got)
	}
	// Evicted, ended, expired: forgotten too.
	add("001010000000002", "a", "aaad:a")
	add("001010000000002", "b", "aaad:b")
	add("001010000000002", "c", "aaad:c")
	if _, ok := tb.FindClass("ap", "aaad:a"); ok {
		t.Error("found an evicted session by class")
	}
	tb.End(context.Background(), "001010000000002")
	if _, ok := tb.FindClass("ap", "aaad:c"); ok {
		t.Error("found an ended session by class")
	}
	tb.AddClass(Session{IMSI: "001010000000003", FrontEnd: "radius", Client: "ap", Started: time.Now(), Expires: time.Now().Add(time.Second)}, "aaad:x")
	tb.Expire(time.Now().Add(time.Minute))
	if _, ok := tb.FindClass("ap", "aaad:x"); ok {
		t.Error("found an expired session by class")
	}
	tb.idMu.Lock()
	n := len(tb.byClass)
	tb.idMu.Unlock()
	if n != 0 {
		t.Errorf("%d class index entries left", n)
	}
}

func TestAll(t *testing.T) {
	tb := NewTable(Config{})
	for i := 0; i < 5; i++ {
		tb.Add(Session{IMSI: fmt.Sprintf("00101000000000%d", i), FrontEnd: "radius", Started: time.Now()})
	}
	if all, more := tb.All(10); len(all) != 5 || more {
		t.Fatalf("All(10): %d sessions, more %v", len(all), more)
	}
	if all, more := tb.All(3); len(all) != 3 || !more {
		t.Fatalf("All(3): %d sessions, more %v", len(all), more)
	}
}
