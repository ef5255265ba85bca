// Package storetest is the contract of eap.Store as a test suite: any
// implementation (memory, Redis, Redis Cluster) runs it, the way
// golang.org/x/net/nettest.TestConn runs against any net.Conn.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, c storetest.Config) eap.Store { ... })
//	}
//
// The suite drives time through Config.Now: a store must decide expiry by
// that clock (a store may also let its backend drop entries later, as
// garbage collection, but never earlier).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
)

// Config is what the suite asks of a new, empty store.
type Config struct {
	// Now is the clock the store must judge expiry by.
	Now func() time.Time
	// MaxConversations bounds the live conversations (0: the
	// implementation's default, at least 1,000).
	MaxConversations int
}

// Open returns a new, empty store for one test. The suite closes nothing:
// use t.Cleanup.
type Open func(t *testing.T, cfg Config) eap.Store

// Options say what an implementation supports beyond the core contract.
type Options struct {
	// Bounds: the store enforces MaxConversations (ErrStoreFull) and a
	// peer's share (ErrPeerFull).
	Bounds bool
	// PeerShares: the store enforces a peer's share (ErrPeerFull), and
	// a conversation that finished gives its room back (a store shared
	// between nodes, whose bound as a whole is its backend's memory).
	PeerShares bool
	// KeepsFinished: the store keeps a finished conversation readable
	// until its expiry (a store shared between nodes must).
	KeepsFinished bool
	// Settle, when set, waits for whatever the store does after a call
	// returns (the removal of a replaced record): the suite calls it
	// before it checks that a replaced record is gone.
	Settle func(t *testing.T, s eap.Store)
}

// Run runs the whole contract.
func Run(t *testing.T, open Open, opt Options) {
	t.Run("ConversationCompareAndSwap", func(t *testing.T) { testCompareAndSwap(t, open) })
	t.Run("ConversationExpiry", func(t *testing.T) { testExpiry(t, open) })
	t.Run("ConversationRoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("ConversationOneWriterWins", func(t *testing.T) { testOneWriterWins(t, open) })
	t.Run("ConversationFinish", func(t *testing.T) { testFinish(t, open, opt) })
	t.Run("Pseudonyms", func(t *testing.T) { testPseudonyms(t, open, opt) })
	t.Run("ReauthTakeOnce", func(t *testing.T) { testReauthTakeOnce(t, open) })
	t.Run("ReauthOnePerSubscriber", func(t *testing.T) { testReauthOnePerSubscriber(t, open, opt) })
	if opt.Bounds {
		t.Run("Bounds", func(t *testing.T) { testBounds(t, open) })
	}
	if opt.Bounds || opt.PeerShares {
		t.Run("PeerShares", func(t *testing.T) { testPeerShares(t, open, opt) })
	}
}

// clock is the suite's time: it moves only when a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var idSeq atomic.Uint64

// newID is a conversation ID no other test of this process uses, so that
// suites can share one backend.
func newID() eap.ConversationID {
	var id eap.ConversationID
	n := idSeq.Add(1)
	copy(id[:], fmt.Sprintf("st%06d%08x", n%1000000, time.Now().UnixNano()))
	return id
}

func testCompareAndSwap(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	c := eap.Conversation{ID: newID(), State: eap.StateChallenge, Expires: clk.now().Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil || c.Version != 1 {
		t.Fatalf("create: %v, version %d (want nil, 1)", err, c.Version)
	}
	dup := eap.Conversation{ID: c.ID, Expires: c.Expires}
	if err := s.Put(ctx, &dup); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("second create of one ID: %v, want ErrConversationConflict", err)
	}
	var a, b eap.Conversation
	if err := s.Get(ctx, c.ID, &a); err != nil || a.Version != 1 {
		t.Fatalf("get: %v, version %d", err, a.Version)
	}
	s.Get(ctx, c.ID, &b)
	if err := s.Put(ctx, &a); err != nil || a.Version != 2 {
		t.Fatalf("update from a: %v, version %d (want nil, 2)", err, a.Version)
	}
	if err := s.Put(ctx, &b); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("update from the stale copy b: %v, want ErrConversationConflict", err)
	}
	if err := end(ctx, s, c.ID, b.Version, clk.now()); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("finish from the stale copy: %v, want ErrConversationConflict", err)
	}
	if err := end(ctx, s, newID(), 0, clk.now()); err != nil {
		t.Fatalf("finish of version 0 (never stored): %v, want a no-op", err)
	}
	if err := end(ctx, s, c.ID, a.Version, clk.now()); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if err := s.Put(ctx, &a); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("a finished conversation came back: %v", err)
	}
	if err := end(ctx, s, c.ID, a.Version, clk.now()); !errors.Is(err, eap.ErrConversationNotFound) && !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("second finish: %v, want ErrConversationNotFound or ErrConversationConflict", err)
	}
	var g eap.Conversation
	if err := s.Get(ctx, newID(), &g); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("get of an unknown ID: %v, want ErrConversationNotFound", err)
	}
}

func testExpiry(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	c := eap.Conversation{ID: newID(), Expires: clk.now().Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	clk.advance(59 * time.Second)
	var g eap.Conversation
	if err := s.Get(ctx, c.ID, &g); err != nil {
		t.Fatalf("before it expires: %v", err)
	}
	clk.advance(time.Second)
	// Written to at its expiry, before anything read it again: refused.
	stale := g
	if err := s.Put(ctx, &stale); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("update at its expiry: %v, want ErrConversationConflict", err)
	}
	if err := end(ctx, s, c.ID, g.Version, clk.now()); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("finish at its expiry: %v, want ErrConversationNotFound", err)
	}
	if err := s.Get(ctx, c.ID, &g); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("at its expiry: %v, want ErrConversationNotFound", err)
	}
	g.Expires = clk.now().Add(time.Minute)
	if err := s.Put(ctx, &g); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("update of an expired conversation: %v, want ErrConversationConflict", err)
	}
	if err := end(ctx, s, c.ID, g.Version, clk.now()); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("finish of an expired conversation: %v, want ErrConversationNotFound", err)
	}
}

// fullConversation has every field set, so that an encoding that forgets
// one shows it.
func fullConversation(now time.Time) eap.Conversation {
	c := eap.Conversation{
		ID:             newID(),
		Peer:           "ap-7",
		PeerShare:      1234,
		Opened:         now.Add(-3 * time.Second).Truncate(time.Millisecond),
		State:          eap.StateSuccessNotification,
		Method:         eap.TypeAKAPrime,
		LastID:         201,
		Expires:        now.Add(90 * time.Second).Truncate(time.Millisecond),
		Reply:          []byte{1, 201, 0, 8, 50, 1, 0, 0},
		ReplyTo:        [16]byte{0xde, 0xad, 15: 0xef},
		Identity:       []byte("6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org"),
		IMSI:           "001010000000001",
		Requests:       3,
		Naked:          true,
		IdentityRounds: 2,
		Resynced:       true,
		FailReason:     eap.ReasonRESMismatch,
		LastIDReq:      eap.AttrFullauthIDReq,
		Reauth:         true,
		Counter:        7,
		FullAuthAt:     now.Add(-time.Hour).Truncate(time.Millisecond),
		NextPseudonym:  "pseudonym-0123456",
		NextReauthID:   "reauth-0123456789",
		IDHash:         []byte{0x73, 0x68, 0x61, 0x03, 1, 2, 3},
		KeyName:        append([]byte{0x32}, make([]byte, 32)...),
		XRESLen:        8,
	}
	for i := range c.NonceS {
		c.NonceS[i] = byte(0x10 + i)
	}
	for i := range c.RAND {
		c.RAND[i] = byte(0x20 + i)
	}
	for i := range c.XRES {
		c.XRES[i] = byte(0x30 + i)
	}
	fill := func(b []byte, base byte) {
		for i := range b {
			b[i] = base + byte(i)
		}
	}
	fill(c.Keys.KEncr[:], 0x40)
	fill(c.Keys.KAut[:], 0x50)
	c.Keys.KAutLen = 32
	fill(c.Keys.MK[:], 0x60)
	fill(c.Keys.KRe[:], 0x70)
	fill(c.Keys.MSK[:], 0x80)
	fill(c.Keys.EMSK[:], 0x90)
	return c
}

// Every field comes back as it was stored: an encoding that loses one
// would break a conversation that moves between nodes.
func testRoundTrip(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	want := fullConversation(clk.now())
	c := want
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	// From the backend itself: a store's cached copy would hide what its
	// encoding loses.
	var got eap.Conversation
	if err := s.GetFresh(ctx, c.ID, &got); err != nil {
		t.Fatal(err)
	}
	want.Version = c.Version
	got.Cached = false // a store may say it answered from its cache
	if !got.Expires.Equal(want.Expires) || !got.FullAuthAt.Equal(want.FullAuthAt) {
		t.Fatalf("times: expires %v full auth %v, want %v %v", got.Expires, got.FullAuthAt, want.Expires, want.FullAuthAt)
	}
	if !got.Opened.Equal(want.Opened) {
		t.Fatalf("opened %v, want %v", got.Opened, want.Opened)
	}
	got.Expires, want.Expires, got.FullAuthAt, want.FullAuthAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	got.Opened, want.Opened = time.Time{}, time.Time{}
	g, w := fieldsOf(&got), fieldsOf(&want)
	for name, v := range w {
		if g[name] != v {
			t.Errorf("%s changed on its way through the store: got %s, want %s", name, g[name], v)
		}
	}
}

// fieldsOf lists a conversation's fields by name, in hex (a Conversation
// prints as REDACTED, which would hide the difference).
func fieldsOf(c *eap.Conversation) map[string]string {
	m := map[string]string{}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue // the handling of one message, never stored
		}
		f := v.Field(i)
		if f.Kind() == reflect.Slice && f.Len() == 0 {
			m[v.Type().Field(i).Name] = "empty"
			continue
		}
		m[v.Type().Field(i).Name] = fmt.Sprintf("%x", f.Interface())
	}
	return m
}

func settle(t *testing.T, s eap.Store, opt Options) {
	if opt.Settle != nil {
		opt.Settle(t, s)
	}
}

// end finishes conversation id, read at version, with an EAP-Failure.
func end(ctx context.Context, s eap.Store, id eap.ConversationID, version uint32, now time.Time) error {
	c := eap.Conversation{ID: id, Version: version, State: eap.StateDone, Reply: []byte{4, 7, 0, 4}, Expires: now.Add(10 * time.Second)}
	return s.Finish(ctx, &c, nil)
}

// Finish ends a conversation and stores what it handed out; a store shared
// between nodes keeps the finished conversation for retransmissions.
func testFinish(t *testing.T, open Open, opt Options) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	c := fullConversation(clk.now())
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	var cp eap.Conversation
	if err := s.Get(ctx, c.ID, &cp); err != nil {
		t.Fatal(err)
	}
	cp.State = eap.StateDone
	cp.Reply = []byte{3, 9, 0, 4}
	cp.Expires = clk.now().Add(15 * time.Second)
	const imsi = "001010000000077"
	rec := eap.ReauthRecord{IMSI: imsi, Method: eap.TypeAKAPrime, Expires: clk.now().Add(time.Hour)}
	rec.KRe[0] = 0xaa
	h := eap.Handouts{
		Pseudonym: "pfinish", PseudonymRecord: eap.PseudonymRecord{IMSI: imsi, Expires: clk.now().Add(time.Hour)},
		ReauthID: "rfinish", Reauth: &rec,
	}
	if err := s.Finish(ctx, &cp, &h); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if p, err := s.GetPseudonym(ctx, "pfinish"); err != nil || p.IMSI != imsi {
		t.Fatalf("pseudonym handed out: %v %q", err, p.IMSI)
	}
	var got eap.ReauthRecord
	if err := s.TakeReauth(ctx, "rfinish", &got); err != nil || got.KRe != rec.KRe {
		t.Fatalf("re-authentication context handed out: %v", err)
	}
	var g eap.Conversation
	err := s.Get(ctx, c.ID, &g)
	if !opt.KeepsFinished {
		if !errors.Is(err, eap.ErrConversationNotFound) {
			t.Fatalf("get after finish: %v, want ErrConversationNotFound", err)
		}
		return
	}
	if err != nil || g.State != eap.StateDone || string(g.Reply) != string(cp.Reply) || g.IMSI != c.IMSI {
		t.Fatalf("get after finish: %v, state %v, reply %x: want the finished conversation", err, g.State, g.Reply)
	}
	if err := s.GetFresh(ctx, c.ID, &g); err != nil || g.State != eap.StateDone || g.Cached {
		t.Fatalf("fresh get after finish: %v, state %v, cached %v", err, g.State, g.Cached)
	}
	if err := s.Put(ctx, &g); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("put over a finished conversation: %v, want ErrConversationConflict", err)
	}
	clk.advance(15 * time.Second)
	if err := s.Get(ctx, c.ID, &g); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("get after the finished conversation expired: %v", err)
	}
}

// Of many packets that read the same version, exactly one may write.
func testOneWriterWins(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	c := eap.Conversation{ID: newID(), Expires: clk.now().Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	// Every racer reads version 1 first; then all write at once.
	const n = 32
	copies := make([]eap.Conversation, n)
	for i := range copies {
		if err := s.Get(ctx, c.ID, &copies[i]); err != nil || copies[i].Version != 1 {
			t.Fatalf("read %d: %v, version %d", i, err, copies[i].Version)
		}
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := &copies[i]
			<-start
			var err error
			if i%2 == 0 {
				cp.LastID = byte(i)
				err = s.Put(ctx, cp)
			} else {
				err = end(ctx, s, c.ID, cp.Version, clk.now())
			}
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, eap.ErrConversationConflict) && !errors.Is(err, eap.ErrConversationNotFound) {
				t.Errorf("racer %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of the %d racers on version 1 wrote, want exactly 1", wins.Load(), n)
	}
}

func testPseudonyms(t *testing.T, open Open, opt Options) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	imsi := uniqueIMSI()
	exp := clk.now().Add(time.Hour)
	p1, p2 := "pa"+imsi, "pb"+imsi
	if err := s.PutPseudonym(ctx, p1, eap.PseudonymRecord{IMSI: imsi, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetPseudonym(ctx, p1)
	if err != nil || r.IMSI != imsi || !r.Expires.Equal(exp) {
		t.Fatalf("get: %+v, %v", r, err)
	}
	// One per subscriber: the next replaces it.
	if err := s.PutPseudonym(ctx, p2, eap.PseudonymRecord{IMSI: imsi, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	settle(t, s, opt)
	if _, err := s.GetPseudonym(ctx, p1); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatalf("the replaced pseudonym: %v, want ErrRecordNotFound", err)
	}
	if r, err := s.GetPseudonym(ctx, p2); err != nil || r.IMSI != imsi {
		t.Fatalf("the new pseudonym: %+v, %v", r, err)
	}
	// Read as often as wanted until it expires.
	if _, err := s.GetPseudonym(ctx, p2); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Hour)
	if _, err := s.GetPseudonym(ctx, p2); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatalf("an expired pseudonym: %v, want ErrRecordNotFound", err)
	}
	if _, err := s.GetPseudonym(ctx, "never"+imsi); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatalf("an unknown pseudonym: %v", err)
	}
}

var imsiSeq atomic.Uint64

// uniqueIMSI differs between the suites and runs that share a backend.
func uniqueIMSI() string {
	return fmt.Sprintf("00199%010d", (uint64(time.Now().UnixNano())/1000+imsiSeq.Add(1))%10_000_000_000)
}

func reauthRecord(imsi string, now time.Time) eap.ReauthRecord {
	r := eap.ReauthRecord{
		IMSI:       imsi,
		Method:     eap.TypeAKA,
		Counter:    5,
		FullAuthAt: now.Add(-time.Minute).Truncate(time.Millisecond),
		Expires:    now.Add(time.Hour).Truncate(time.Millisecond),
		KAutLen:    16,
	}
	for i := range r.KEncr {
		r.KEncr[i] = byte(i + 1)
	}
	for i := range r.KAut {
		r.KAut[i] = byte(i + 2)
	}
	for i := range r.MK {
		r.MK[i] = byte(i + 3)
	}
	for i := range r.KRe {
		r.KRe[i] = byte(i + 4)
	}
	return r
}

func sameReauth(a, b *eap.ReauthRecord) bool {
	return a.IMSI == b.IMSI && a.Method == b.Method && a.Counter == b.Counter &&
		a.FullAuthAt.Equal(b.FullAuthAt) && a.Expires.Equal(b.Expires) &&
		a.KEncr == b.KEncr && a.KAut == b.KAut && a.KAutLen == b.KAutLen && a.MK == b.MK && a.KRe == b.KRe
}

// A re-authentication context is taken once, even by racers: it is single
// use across nodes.
func testReauthTakeOnce(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	imsi := uniqueIMSI()
	want := reauthRecord(imsi, clk.now())
	rec := want
	name := "r" + imsi
	if err := s.PutReauth(ctx, name, &rec); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var got atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r eap.ReauthRecord
			err := s.TakeReauth(ctx, name, &r)
			switch {
			case err == nil:
				got.Add(1)
				if !sameReauth(&r, &want) {
					t.Errorf("taken record differs from the stored one")
				}
			case !errors.Is(err, eap.ErrRecordNotFound):
				t.Errorf("take: %v", err)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 1 {
		t.Fatalf("%d racers took the context, want exactly 1", got.Load())
	}
	// Expired: not taken.
	rec = reauthRecord(imsi, clk.now())
	if err := s.PutReauth(ctx, name+"x", &rec); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Hour)
	var r eap.ReauthRecord
	if err := s.TakeReauth(ctx, name+"x", &r); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatalf("an expired context: %v, want ErrRecordNotFound", err)
	}
}

func testReauthOnePerSubscriber(t *testing.T, open Open, opt Options) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	imsi := uniqueIMSI()
	for _, name := range []string{"ra" + imsi, "rb" + imsi} {
		rec := reauthRecord(imsi, clk.now())
		if err := s.PutReauth(ctx, name, &rec); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, s, opt)
	var r eap.ReauthRecord
	if err := s.TakeReauth(ctx, "ra"+imsi, &r); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatalf("the replaced context: %v, want ErrRecordNotFound", err)
	}
	if err := s.TakeReauth(ctx, "rb"+imsi, &r); err != nil {
		t.Fatalf("the new context: %v", err)
	}
}

// A peer past its share is refused, the others are not; a conversation
// that finished, or expired, gives its room back.
func testPeerShares(t *testing.T, open Open, opt Options) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now})
	open1 := func(peer string) (eap.Conversation, error) {
		c := eap.Conversation{ID: newID(), Peer: peer, PeerShare: 3, Opened: clk.now(), Expires: clk.now().Add(time.Minute)}
		err := s.Put(ctx, &c)
		return c, err
	}
	var first eap.Conversation
	for i := range 3 {
		c, err := open1("a")
		if err != nil {
			t.Fatalf("peer a, %d: %v", i, err)
		}
		if i == 0 {
			first = c
		}
	}
	if _, err := open1("a"); !errors.Is(err, eap.ErrPeerFull) {
		t.Fatalf("past peer a's share: %v, want ErrPeerFull", err)
	}
	if _, err := open1("b"); err != nil {
		t.Fatalf("peer b while a is full: %v", err)
	}
	done := first
	done.State, done.Reply = eap.StateDone, []byte{3, 1, 0, 4}
	done.Expires = clk.now().Add(10 * time.Second)
	if err := s.Finish(ctx, &done, nil); err != nil {
		t.Fatal(err)
	}
	settle(t, s, opt)
	if _, err := open1("a"); err != nil {
		t.Fatalf("after one of a's conversations finished: %v", err)
	}
	if _, err := open1("a"); !errors.Is(err, eap.ErrPeerFull) {
		t.Fatalf("past peer a's share again: %v, want ErrPeerFull", err)
	}
	// Expired conversations give their room back.
	clk.advance(3 * time.Minute)
	if _, err := open1("a"); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func testBounds(t *testing.T, open Open) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, Config{Now: clk.now, MaxConversations: 10})
	put := func(peer string, share int) error {
		c := eap.Conversation{ID: newID(), Peer: peer, PeerShare: share, Expires: clk.now().Add(time.Minute)}
		return s.Put(ctx, &c)
	}
	for i := range 4 {
		if err := put("a", 4); err != nil {
			t.Fatalf("peer a, %d: %v", i, err)
		}
	}
	if err := put("a", 4); !errors.Is(err, eap.ErrPeerFull) {
		t.Fatalf("past peer a's share: %v, want ErrPeerFull", err)
	}
	for i := range 6 {
		if err := put("b", 0); err != nil {
			t.Fatalf("peer b, %d: %v", i, err)
		}
	}
	if err := put("c", 0); !errors.Is(err, eap.ErrStoreFull) {
		t.Fatalf("past the store's bound: %v, want ErrStoreFull", err)
	}
	// Expired conversations give their room back.
	clk.advance(2 * time.Minute)
	if err := put("a", 4); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
