package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
)

// fixedClock is the tests' time: it moves only when a test moves it.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func TestEAPStore_CompareAndSwap(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewEAPStore(EAPConfig{MaxConversations: 10, Now: clock.now})
	c := eap.Conversation{ID: eap.ConversationID{1}, Expires: clock.t.Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil || c.Version != 1 {
		t.Fatalf("create: %v, version %d", err, c.Version)
	}
	dup := eap.Conversation{ID: c.ID, Expires: c.Expires}
	if err := s.Put(ctx, &dup); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("second create of one ID: %v", err)
	}
	var a, b eap.Conversation
	s.Get(ctx, c.ID, &a)
	s.Get(ctx, c.ID, &b)
	if err := s.Put(ctx, &a); err != nil || a.Version != 2 {
		t.Fatalf("update from a: %v, version %d", err, a.Version)
	}
	if err := s.Put(ctx, &b); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("update from the stale copy b: %v, want a conflict", err)
	}
	if err := s.Finish(ctx, &eap.Conversation{ID: c.ID, Version: b.Version, State: eap.StateDone}, nil); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("delete from the stale copy: %v", err)
	}
	if err := s.Finish(ctx, &eap.Conversation{ID: c.ID, Version: a.Version, State: eap.StateDone}, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Put(ctx, &a); !errors.Is(err, eap.ErrConversationConflict) {
		t.Fatalf("a deleted conversation came back: %v", err)
	}
	if err := s.Finish(ctx, &eap.Conversation{ID: c.ID, Version: a.Version, State: eap.StateDone}, nil); !errors.Is(err, eap.ErrConversationNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if s.Len() != 0 {
		t.Fatalf("%d held", s.Len())
	}
}

func TestEAPStore_BytesBound(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	one := ConversationSize(&eap.Conversation{Identity: make([]byte, 200)})
	s := NewEAPStore(EAPConfig{MaxConversations: 1000, MaxBytes: 3 * one, Now: clock.now})
	for i := range 4 {
		c := eap.Conversation{ID: eap.ConversationID{byte(i)}, Identity: make([]byte, 200), Expires: clock.t.Add(time.Minute)}
		err := s.Put(ctx, &c)
		if i < 3 && err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if i == 3 && !errors.Is(err, eap.ErrStoreFull) {
			t.Fatalf("put past the byte bound: %v, want ErrStoreFull", err)
		}
	}
	// An update that grows a conversation past the bound is refused too.
	var c eap.Conversation
	s.Get(ctx, eap.ConversationID{0}, &c)
	c.Identity = make([]byte, 253)
	if err := s.Put(ctx, &c); !errors.Is(err, eap.ErrStoreFull) {
		t.Fatalf("growing update: %v, want ErrStoreFull", err)
	}
	if s.Bytes() != 3*one {
		t.Fatalf("%d bytes counted, want %d", s.Bytes(), 3*one)
	}
}

// A subscriber can always replace its own pseudonym and re-authentication
// context, however full the store; a new subscriber pushes out the oldest.
func TestEAPStore_RecordsWhenFull(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewEAPStore(EAPConfig{MaxConversations: 1, MaxRecords: 3, Now: clock.now})
	exp := clock.t.Add(time.Hour)
	for i := range 3 {
		imsi := fmt.Sprintf("00101000000000%d", i)
		if err := s.PutPseudonym(ctx, "p"+imsi, eap.PseudonymRecord{IMSI: imsi, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutReauth(ctx, "r"+imsi, &eap.ReauthRecord{IMSI: imsi, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	// Replacement, full.
	for i := range 100 {
		name := fmt.Sprintf("new%d", i)
		if err := s.PutPseudonym(ctx, name, eap.PseudonymRecord{IMSI: "001010000000001", Expires: exp}); err != nil {
			t.Fatalf("replacing one's own pseudonym when full: %v", err)
		}
		if err := s.PutReauth(ctx, name, &eap.ReauthRecord{IMSI: "001010000000001", Expires: exp}); err != nil {
			t.Fatalf("replacing one's own re-auth context when full: %v", err)
		}
	}
	if _, err := s.GetPseudonym(ctx, "new99"); err != nil {
		t.Fatal("the replacement is not there")
	}
	if _, err := s.GetPseudonym(ctx, "p001010000000000"); err != nil {
		t.Fatal("a replacement pushed out another subscriber's pseudonym")
	}
	// A new subscriber: the oldest record goes.
	if err := s.PutPseudonym(ctx, "p9", eap.PseudonymRecord{IMSI: "001010000000009", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReauth(ctx, "r9", &eap.ReauthRecord{IMSI: "001010000000009", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPseudonym(ctx, "p001010000000000"); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatal("the oldest pseudonym was not pushed out")
	}
	var r eap.ReauthRecord
	if err := s.TakeReauth(ctx, "r001010000000000", &r); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Fatal("the oldest re-auth context was not pushed out")
	}
	if p, r := s.Records(); p != 3 || r != 3 {
		t.Fatalf("%d pseudonyms, %d re-auth contexts, want 3 each", p, r)
	}
	if n := len(s.pseudonymOrder.names) - s.pseudonymOrder.head; n > 2*3+64+1 {
		t.Fatalf("pseudonym order queue holds %d names for 3 records", n)
	}
}

// Refusals for a full count must not move the byte count: every Put that
// reserves room gives back exactly what it took.
func TestEAPStore_RefusalsKeepTheByteCount(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Unix(1_700_000_000, 0)}
	s := NewEAPStore(EAPConfig{MaxConversations: 2, Now: clock.now})
	for i := range 2 {
		if err := s.Put(ctx, &eap.Conversation{ID: eap.ConversationID{byte(i)}, Expires: clock.t.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	want := s.Bytes()
	for i := range 100 {
		if err := s.Put(ctx, &eap.Conversation{ID: eap.ConversationID{byte(10 + i)}, Expires: clock.t.Add(time.Minute)}); !errors.Is(err, eap.ErrStoreFull) {
			t.Fatalf("put %d past the bound: %v", i, err)
		}
	}
	if got := s.Bytes(); got != want {
		t.Fatalf("%d bytes counted after refusals, want %d", got, want)
	}
	// And room made by expiry is counted when it is taken.
	clock.t = clock.t.Add(2 * time.Minute)
	s.Sweep()
	c := eap.Conversation{ID: eap.ConversationID{99}, Expires: clock.t.Add(time.Minute)}
	if err := s.Put(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if got := s.Bytes(); got != ConversationSize(&c) {
		t.Fatalf("%d bytes counted for one conversation of %d", got, ConversationSize(&c))
	}
}
