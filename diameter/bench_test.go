package diameter

import (
	"context"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"
)

// BenchmarkRequestAnswer is one request and its answer between two nodes
// over loopback TCP, many in flight: what each MAR or SAR costs in the
// base, both sides together.
func BenchmarkRequestAnswer(b *testing.B) {
	cfg := testConfig("hss.test")
	s, err := NewNode(cfg, testApps, dict.Default, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	s.Handle(testApp, &echo{n: s})
	addr, err := s.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewNode(testConfig("aaa.test"), testApps, dict.Default, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	c.Connect([]PeerConfig{{Host: "hss.test", Address: addr.String()}})
	ctx := context.Background()
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", "")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
