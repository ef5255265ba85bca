// Package hss is the home subscriber server side of authentication: it holds
// (or reaches) the subscribers' long-term keys and turns them into
// authentication vectors. K and OPc never leave this package; what it hands
// out are vectors (aka.Vector), through the eap.VectorSource interface that
// *Local satisfies.
package hss

import (
	"context"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// Subscriber is one USIM's record on the network side (TS 33.102 6.3).
type Subscriber struct {
	IMSI string
	K    milenage.Key
	OPc  milenage.OPc
	AMF  uint16
	// SQN is the last sequence number issued: the next vector is above it.
	SQN aka.SQN
}

// String keeps K and OPc out of logs.
func (s Subscriber) String() string { return "hss.Subscriber{IMSI:" + s.IMSI + " REDACTED}" }

// GoString does the same for %#v.
func (s Subscriber) GoString() string { return s.String() }

// Record is a subscriber as a Store holds it: K and OPc sealed (Sealer),
// never in the clear.
type Record struct {
	Sealed []byte
	AMF    uint16
}

// String keeps the sealed keys out of logs all the same.
func (r Record) String() string { return "hss.Record{REDACTED}" }

// Store keeps subscriber records. It sees sealed keys only: this package
// opens them, just before Milenage. The SQN operations must be atomic for
// every node that shares the store: that is what guarantees no SQN is ever
// issued twice. store/memory and store/redisstore implement it;
// hss/storetest is its contract as a test suite.
type Store interface {
	// Record returns the subscriber's record, or aka.ErrUnknownSubscriber.
	Record(ctx context.Context, imsi string) (Record, error)
	// AdvanceSQN advances the subscriber's SQN to the next fresh value
	// (aka.SQN.Next) and returns it with the record, in one step so that
	// a remote store needs one round trip per vector.
	AdvanceSQN(ctx context.Context, imsi string, indBits uint) (Record, aka.SQN, error)
	// ResyncSQN moves the subscriber's SQN past sqnMS, the USIM's highest
	// accepted SQN (aka.SQN.AfterResync), so that the next AdvanceSQN is
	// fresh for that USIM. It never moves the SQN backwards.
	ResyncSQN(ctx context.Context, imsi string, sqnMS aka.SQN, indBits uint) error
}
