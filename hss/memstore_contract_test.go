package hss_test

import (
	"testing"

	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/hss/storetest"
)

// The memory store keeps the contract every hss.Store keeps.
func TestMemoryStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, subs []hss.Subscriber, sealer *hss.Sealer) hss.Store {
		s, err := hss.NewMemoryStore(subs, sealer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
