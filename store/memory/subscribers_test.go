package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aaa-project/aaa/aka"

	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/hss/storetest"
	"github.com/aaa-project/aaa/store/memory"
)

// The memory store keeps the contract every hss.Store keeps.
func TestSubscriberStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, subs []hss.Subscriber, sealer *hss.Sealer) hss.Store {
		s, err := memory.NewSubscriberStore(subs, sealer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewSubscriberStore_RejectsDuplicateIMSI(t *testing.T) {
	s := hss.Subscriber{IMSI: "001010000000001"}
	if _, err := memory.NewSubscriberStore([]hss.Subscriber{s, s}, hss.NewEphemeralSealer()); err == nil {
		t.Fatal("duplicate IMSI accepted")
	}
}

// Replace adds, updates and removes subscribers and never lowers an SQN.
func TestSubscriberStore_Replace(t *testing.T) {
	sealer := hss.NewEphemeralSealer()
	const indBits = 5
	mk := func(imsi string, sqn aka.SQN, amf uint16) hss.Subscriber {
		return hss.Subscriber{IMSI: imsi, SQN: sqn, AMF: amf}
	}
	m, err := memory.NewSubscriberStore([]hss.Subscriber{
		mk("001010000000001", 0, 0x8000), mk("001010000000002", 1<<20, 0x8000), mk("001010000000003", 0, 0x8000),
	}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// SQNs issued before the reload.
	var issued aka.SQN
	for range 3 {
		if _, issued, err = m.AdvanceSQN(ctx, "001010000000001", indBits); err != nil {
			t.Fatal(err)
		}
	}
	next, err := memory.NewSubscriberStore([]hss.Subscriber{
		mk("001010000000001", 0, 0x9000),      // lower SQN in the file: the store's stays
		mk("001010000000002", 1<<30, 0x8000),  // higher SQN in the file: taken
		mk("001010000000004", 0x1234, 0x8000), // new
	}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Replace(next)
	if want := (memory.ReplaceStats{Count: 3, Added: 1, Removed: 1}); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if sqn, _ := m.SQN("001010000000001"); sqn != issued {
		t.Errorf("kept subscriber: SQN %#x, want %#x (never lowered)", sqn, issued)
	}
	if sqn, _ := m.SQN("001010000000002"); sqn != 1<<30 {
		t.Errorf("raised in the file: SQN %#x, want %#x", sqn, 1<<30)
	}
	if sqn, ok := m.SQN("001010000000004"); !ok || sqn != 0x1234 {
		t.Errorf("new subscriber: SQN %#x, %v", sqn, ok)
	}
	if _, err := m.Record(ctx, "001010000000003"); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Errorf("removed subscriber: %v, want ErrUnknownSubscriber", err)
	}
	rec, err := m.Record(ctx, "001010000000001")
	if err != nil || rec.AMF != 0x9000 {
		t.Errorf("updated subscriber: AMF %#x, %v; want 0x9000", rec.AMF, err)
	}
	_, next1, err := m.AdvanceSQN(ctx, "001010000000001", indBits)
	if err != nil || next1 <= issued {
		t.Errorf("after the reload: SQN %#x, %v; want above %#x", next1, err, issued)
	}
	if m.Len() != 3 {
		t.Errorf("Len %d, want 3", m.Len())
	}
}
