package memory_test

import (
	"testing"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/eap/storetest"
	"github.com/aaa-project/aaa/store/memory"
)

// The memory store keeps the contract every eap.Store keeps.
func TestEAPStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) eap.Store {
		n := cfg.MaxConversations
		if n == 0 {
			n = 1000
		}
		return memory.NewEAPStore(memory.EAPConfig{MaxConversations: n, Now: cfg.Now})
	}, storetest.Options{Bounds: true})
}
