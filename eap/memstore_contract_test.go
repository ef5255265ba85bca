package eap_test

import (
	"testing"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/eap/storetest"
)

// The memory store keeps the contract every eap.Store keeps.
func TestMemoryStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) eap.Store {
		n := cfg.MaxConversations
		if n == 0 {
			n = 1000
		}
		return eap.NewMemoryStore(eap.MemoryStoreConfig{MaxConversations: n, Now: cfg.Now})
	}, storetest.Options{Bounds: true})
}
