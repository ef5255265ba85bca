// Package storetest is the contract of hss.Store as a test suite: any
// subscriber store (memory, Redis, Redis Cluster) runs it.
//
//	storetest.Run(t, func(t *testing.T, subs []hss.Subscriber, s *hss.Sealer) hss.Store { ... })
//
// Open receives subscribers with their keys in the clear and a sealer: it
// must hold them as the store holds what it is provisioned with (sealed),
// each at its SQN.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
)

// Open returns a store holding subs, keys sealed with sealer.
type Open func(t *testing.T, subs []hss.Subscriber, sealer *hss.Sealer) hss.Store

const indBits = aka.DefaultINDBits

// Run runs the whole contract.
func Run(t *testing.T, open Open) {
	t.Run("UnknownSubscriber", func(t *testing.T) { testUnknown(t, open) })
	t.Run("RecordSealed", func(t *testing.T) { testRecord(t, open) })
	t.Run("SQNSequenceAcrossTheINDWrap", func(t *testing.T) { testSequence(t, open) })
	t.Run("SQNUniqueUnderConcurrency", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("ResyncNeverBackwards", func(t *testing.T) { testResync(t, open) })
}

var imsiSeq atomic.Uint64

// newIMSI differs between runs and suites that share a backend.
func newIMSI() string {
	return fmt.Sprintf("00198%010d", (uint64(time.Now().UnixNano())/1000+imsiSeq.Add(1))%10_000_000_000)
}

func subscriber(imsi string, sqn aka.SQN) hss.Subscriber {
	s := hss.Subscriber{IMSI: imsi, AMF: 0x8000, SQN: sqn}
	for i := range s.K {
		s.K[i] = byte(0x40 + i)
		s.OPc[i] = byte(0x80 + i)
	}
	return s
}

func testUnknown(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t, []hss.Subscriber{subscriber(newIMSI(), 0)}, hss.NewEphemeralSealer())
	imsi := newIMSI()
	if _, err := s.Record(ctx, imsi); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("Record: %v, want ErrUnknownSubscriber", err)
	}
	if _, _, err := s.AdvanceSQN(ctx, imsi, indBits); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("AdvanceSQN: %v, want ErrUnknownSubscriber", err)
	}
	if err := s.ResyncSQN(ctx, imsi, 5, indBits); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("ResyncSQN: %v, want ErrUnknownSubscriber", err)
	}
}

// The record holds the keys sealed and comes back whole: it opens, for its
// IMSI, to the keys provisioned.
func testRecord(t *testing.T, open Open) {
	ctx := context.Background()
	sealer := hss.NewEphemeralSealer()
	sub := subscriber(newIMSI(), 0)
	s := open(t, []hss.Subscriber{sub}, sealer)
	rec, err := s.Record(ctx, sub.IMSI)
	if err != nil {
		t.Fatal(err)
	}
	k := sub.K
	if containsRun(rec.Sealed, sub.K[:8]) || containsRun(rec.Sealed, sub.OPc[:8]) {
		t.Fatal("the record holds K or OPc in the clear")
	}
	gk, gopc, err := sealer.Open(sub.IMSI, rec.Sealed)
	if err != nil || gk != sub.K || gopc != sub.OPc || rec.AMF != sub.AMF {
		t.Fatalf("record: opens %v, keys equal %v, AMF %04x", err, gk == sub.K && gopc == sub.OPc, rec.AMF)
	}
	rec2, _, err := s.AdvanceSQN(ctx, sub.IMSI, indBits)
	if err != nil {
		t.Fatal(err)
	}
	if gk, _, err := sealer.Open(sub.IMSI, rec2.Sealed); err != nil || gk != k || rec2.AMF != sub.AMF {
		t.Fatalf("record with AdvanceSQN: %v", err)
	}
}

func containsRun(b, run []byte) bool {
	for i := 0; i+len(run) <= len(b); i++ {
		if string(b[i:i+len(run)]) == string(run) {
			return true
		}
	}
	return false
}

// Each vector's SQN is the Next of the one before, from the provisioned
// SQN, through the wrap of IND.
func testSequence(t *testing.T, open Open) {
	ctx := context.Background()
	start := aka.MakeSQN(1000, 30, indBits)
	sub := subscriber(newIMSI(), start)
	s := open(t, []hss.Subscriber{sub}, hss.NewEphemeralSealer())
	want := start
	for i := range 40 { // IND 30, 31, 0, 1, ...
		var err error
		want, err = want.Next(indBits)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := s.AdvanceSQN(ctx, sub.IMSI, indBits)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("vector %d: SQN SEQ %d IND %d, want SEQ %d IND %d", i, got.SEQ(indBits), got.IND(indBits), want.SEQ(indBits), want.IND(indBits))
		}
	}
}

// 1000 vectors at once for one subscriber: 1000 distinct SQNs.
func testConcurrent(t *testing.T, open Open) {
	ctx := context.Background()
	sub := subscriber(newIMSI(), 0)
	s := open(t, []hss.Subscriber{sub}, hss.NewEphemeralSealer())
	const n = 1000
	sqns := make(chan aka.SQN, n)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 50 {
				_, q, err := s.AdvanceSQN(ctx, sub.IMSI, indBits)
				if err != nil {
					t.Error(err)
					return
				}
				sqns <- q
			}
		}()
	}
	wg.Wait()
	close(sqns)
	seen := map[aka.SQN]bool{}
	for q := range sqns {
		if seen[q] {
			t.Fatalf("SQN SEQ %d IND %d issued twice", q.SEQ(indBits), q.IND(indBits))
		}
		seen[q] = true
	}
	if len(seen) != n {
		t.Fatalf("%d SQNs, want %d", len(seen), n)
	}
}

// A resynchronisation moves the SQN past the USIM's, and never back: a
// USIM that reports less than was issued does not make an SQN issue twice.
func testResync(t *testing.T, open Open) {
	ctx := context.Background()
	sub := subscriber(newIMSI(), aka.MakeSQN(100, 3, indBits))
	s := open(t, []hss.Subscriber{sub}, hss.NewEphemeralSealer())
	if err := s.ResyncSQN(ctx, sub.IMSI, aka.MakeSQN(5000, 9, indBits), indBits); err != nil {
		t.Fatal(err)
	}
	_, q, err := s.AdvanceSQN(ctx, sub.IMSI, indBits)
	if err != nil {
		t.Fatal(err)
	}
	if q.SEQ(indBits) <= 5000 {
		t.Fatalf("after a resync to SEQ 5000: SEQ %d", q.SEQ(indBits))
	}
	if err := s.ResyncSQN(ctx, sub.IMSI, aka.MakeSQN(10, 0, indBits), indBits); err != nil {
		t.Fatal(err)
	}
	_, q2, err := s.AdvanceSQN(ctx, sub.IMSI, indBits)
	if err != nil {
		t.Fatal(err)
	}
	if q2.SEQ(indBits) <= q.SEQ(indBits) {
		t.Fatalf("a resync to a lower SEQ moved the SQN back: %d after %d", q2.SEQ(indBits), q.SEQ(indBits))
	}
}
