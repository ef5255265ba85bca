package hss_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/store/memory"
)

// A subscriber's SQN cannot be run up: past the burst, vectors come at the
// configured rate, and a refused request leaves the SQN where it was. Other
// subscribers are not affected.
func TestLocal_VectorRate(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	now := func() time.Time { return clock }
	k, opc := hss.MustKey(t, hss.Set1K), hss.MustOPc(t, hss.Set1OPc)
	store, err := memory.NewSubscriberStore([]hss.Subscriber{
		{IMSI: "001010000000001", K: k, OPc: opc, AMF: 0x8000},
		{IMSI: "001010000000002", K: k, OPc: opc, AMF: 0x8000},
	}, hss.TestSealer)
	if err != nil {
		t.Fatal(err)
	}
	l, err := hss.NewLocal(store, hss.LocalConfig{Sealer: hss.TestSealer, INDBits: aka.DefaultINDBits, VectorRate: 2, VectorBurst: 5, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		_, err := l.Vector(ctx, "001010000000001", "WLAN")
		if i < 5 && err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if i >= 5 && !errors.Is(err, aka.ErrVectorRate) {
			t.Fatalf("vector %d past the burst: %v, want ErrVectorRate", i, err)
		}
	}
	sqn, _ := store.SQN("001010000000001")
	if want, _ := aka.SQN(0).Next(aka.DefaultINDBits); sqn.SEQ(aka.DefaultINDBits) != want.SEQ(aka.DefaultINDBits)+4 {
		t.Fatalf("SQN moved to SEQ %d after 5 vectors", sqn.SEQ(aka.DefaultINDBits))
	}
	if _, err := l.Vector(ctx, "001010000000002", "WLAN"); err != nil {
		t.Fatalf("another subscriber: %v", err)
	}
	clock = clock.Add(time.Second) // two more
	for i := range 3 {
		_, err := l.Vector(ctx, "001010000000001", "WLAN")
		if (i < 2) != (err == nil) {
			t.Fatalf("after a second, vector %d: %v", i, err)
		}
	}
	// Unknown IMSIs leave nothing behind.
	for i := range 5000 {
		if _, err := l.Vector(ctx, fmt.Sprintf("0010199%08d", i), ""); !errors.Is(err, aka.ErrUnknownSubscriber) {
			t.Fatal(err)
		}
	}
	if n := hss.LimiterEntries(l); n > 2 {
		t.Fatalf("%d limiter entries, want only the 2 subscribers'", n)
	}
}

// A clock that goes back (a step of the wall clock, as an injected clock
// shows it) refills nothing and takes nothing: the subscriber is not locked
// out for the length of the step.
func TestLocal_VectorRateClockBack(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	now := func() time.Time { return clock }
	store, err := memory.NewSubscriberStore([]hss.Subscriber{{IMSI: "001010000000001", K: hss.MustKey(t, hss.Set1K), OPc: hss.MustOPc(t, hss.Set1OPc), AMF: 0x8000}}, hss.TestSealer)
	if err != nil {
		t.Fatal(err)
	}
	l, err := hss.NewLocal(store, hss.LocalConfig{Sealer: hss.TestSealer, INDBits: aka.DefaultINDBits, VectorRate: 1, VectorBurst: 2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := l.Vector(ctx, "001010000000001", ""); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(-time.Hour)
	if _, err := l.Vector(ctx, "001010000000001", ""); !errors.Is(err, aka.ErrVectorRate) {
		t.Fatalf("right after the step back: %v, want ErrVectorRate (no refill)", err)
	}
	clock = clock.Add(time.Second)
	if _, err := l.Vector(ctx, "001010000000001", ""); err != nil {
		t.Fatalf("a second after the step back: %v, want a vector", err)
	}
}
