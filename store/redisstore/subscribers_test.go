package redisstore

import (
	"context"
	"sync"
	"testing"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/hss/storetest"
	"github.com/aaa-project/aaa/internal/redistest"
)

// The Redis subscriber store keeps the contract every hss.Store keeps.
func TestSubscriberStore_Contract(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	storetest.Run(t, func(t *testing.T, subs []hss.Subscriber, sealer *hss.Sealer) hss.Store {
		s := NewSubscriberStore(rdb, "")
		for i := range subs {
			rec := hss.Record{Sealed: sealer.Seal(subs[i].IMSI, &subs[i].K, &subs[i].OPc), AMF: subs[i].AMF}
			if err := s.Put(context.Background(), subs[i].IMSI, rec, subs[i].SQN, aka.DefaultINDBits); err != nil {
				t.Fatal(err)
			}
		}
		return s
	})
}

// Two nodes (two clients) drawing 1000 SQNs for one subscriber at once get
// 1000 distinct ones; provisioning again never lowers the SQN.
func TestSubscriberStore_TwoNodes(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := NewSubscriberStore(newClient(t, srv), ""), NewSubscriberStore(newClient(t, srv), "")
	sealer := hss.NewEphemeralSealer()
	var sub hss.Subscriber
	rec := hss.Record{Sealed: sealer.Seal("001010000000077", &sub.K, &sub.OPc), AMF: 0x8000}
	if err := a.Put(ctx, "001010000000077", rec, 0, aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var mu sync.Mutex
	seen := map[aka.SQN]bool{}
	var wg sync.WaitGroup
	for w := range 20 {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 20 {
				_, q, err := s.AdvanceSQN(ctx, "001010000000077", aka.DefaultINDBits)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[q] {
					t.Errorf("SQN %d issued twice", q)
				}
				seen[q] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct SQNs, want %d", len(seen), n)
	}
	before, _ := a.SQN(ctx, "001010000000077", aka.DefaultINDBits)
	if err := b.Put(ctx, "001010000000077", rec, 0, aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.SQN(ctx, "001010000000077", aka.DefaultINDBits); after != before {
		t.Fatalf("provisioning again moved the SQN from %d to %d", before, after)
	}
}

// Provisioning with the same SEQ and a lower IND keeps the stored SQN: the
// higher SQN is the higher (SEQ, IND).
func TestSubscriberStore_PutNeverLowersIND(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := NewSubscriberStore(newClient(t, srv), "")
	var sub hss.Subscriber
	rec := hss.Record{Sealed: hss.NewEphemeralSealer().Seal("001010000000078", &sub.K, &sub.OPc), AMF: 0x8000}
	bits := uint(aka.DefaultINDBits)
	high := aka.SQN(100<<bits | 5)
	if err := s.Put(ctx, "001010000000078", rec, high, bits); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "001010000000078", rec, aka.SQN(100<<bits|2), bits); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SQN(ctx, "001010000000078", bits); got != high {
		t.Fatalf("SQN %x after a put with a lower IND, want %x", got, high)
	}
}
