package memory_test

import (
	"testing"

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
