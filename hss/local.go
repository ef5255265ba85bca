package hss

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// LocalConfig configures the built-in HSS.
type LocalConfig struct {
	// Sealer opens the subscriber records the store holds (required).
	Sealer *Sealer
	// INDBits is the length of IND in SQN = SEQ || IND (TS 33.102 C.3.2);
	// aka.DefaultINDBits suits USIMs with the usual 32-entry array.
	INDBits uint
	// VectorRate and VectorBurst bound the vectors one subscriber gets: a
	// burst of VectorBurst, refilled at VectorRate a second. Each vector
	// advances the SQN, and a USIM may refuse an SQN that jumped too far
	// (TS 33.102 C.2.2): half-open challenges must not run it up. Zero
	// rate: no bound.
	VectorRate  float64
	VectorBurst int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Local is the built-in HSS/AuC: Milenage over a subscriber Store. It
// implements the EAP layer's VectorSource.
type Local struct {
	store   Store
	sealer  *Sealer
	indBits uint
	limit   *vectorLimiter // nil: no bound
}

// NewLocal returns a vector source over store.
func NewLocal(store Store, cfg LocalConfig) (*Local, error) {
	if store == nil {
		return nil, errors.New("hss: no subscriber store")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("hss: no sealer for the subscriber records")
	}
	if cfg.INDBits > 10 {
		return nil, errors.New("hss: IND longer than 10 bits")
	}
	if cfg.VectorRate < 0 || (cfg.VectorRate > 0 && cfg.VectorBurst < 1) {
		return nil, errors.New("hss: vector rate needs a positive burst")
	}
	l := &Local{store: store, sealer: cfg.Sealer, indBits: cfg.INDBits}
	if cfg.VectorRate > 0 {
		l.limit = newVectorLimiter(cfg.VectorRate, cfg.VectorBurst, cfg.Now)
	}
	return l, nil
}

// Vector returns a fresh vector for imsi. With a network name it is an
// EAP-AKA' vector: AMF separation bit set (TS 33.402 6.1) and CK'/IK'
// derived for that name (TS 33.402 A.2), as an HSS answers over SWx. Past
// the subscriber's vector rate it returns aka.ErrVectorRate and leaves the
// SQN alone.
func (l *Local) Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error) {
	if l.limit != nil && !l.limit.take(imsi) {
		return aka.Vector{}, aka.ErrVectorRate
	}
	rec, sqn, err := l.store.AdvanceSQN(ctx, imsi, l.indBits)
	if err != nil {
		if l.limit != nil && errors.Is(err, aka.ErrUnknownSubscriber) {
			l.limit.forget(imsi) // entries only for subscribers we have
		}
		return aka.Vector{}, err
	}
	// Opened here, just before Milenage, and wiped after.
	k, opc, err := l.sealer.Open(imsi, rec.Sealed)
	defer clear(k[:])
	defer clear(opc[:])
	if err != nil {
		return aka.Vector{}, err
	}
	amf := rec.AMF
	if networkName != "" {
		amf |= aka.AMFSeparationBit
	}
	var r [aka.RANDLen]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	v := aka.NewVector(milenage.New(k, opc), &r, sqn, amf)
	if networkName != "" {
		if err := v.ToPrime([]byte(networkName)); err != nil {
			return aka.Vector{}, err
		}
	}
	return v, nil
}

// Known returns nil when imsi is a subscriber of the store, and
// aka.ErrUnknownSubscriber (or the store's fault) when not. It opens no
// key.
func (l *Local) Known(ctx context.Context, imsi string) error {
	_, err := l.store.Record(ctx, imsi)
	return err
}

// Resync verifies the AUTS a USIM sent for rand, moves the subscriber's
// SQN past the USIM's (TS 33.102 6.3.5) and returns a vector fresh for it,
// for networkName as Vector does.
func (l *Local) Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error) {
	if err := l.resync(ctx, imsi, rand, auts); err != nil {
		return aka.Vector{}, err
	}
	return l.Vector(ctx, imsi, networkName)
}

func (l *Local) resync(ctx context.Context, imsi string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) error {
	rec, err := l.store.Record(ctx, imsi)
	if err != nil {
		return err
	}
	k, opc, err := l.sealer.Open(imsi, rec.Sealed)
	defer clear(k[:])
	defer clear(opc[:])
	if err != nil {
		return err
	}
	sqnMS, err := aka.VerifyAUTS(milenage.New(k, opc), rand, auts)
	if err != nil {
		return err
	}
	return l.store.ResyncSQN(ctx, imsi, sqnMS, l.indBits)
}

// vectorLimiter is a token bucket per subscriber. Its entries are for
// subscribers the store has (an unknown IMSI's entry is forgotten at once);
// an entry whose bucket is full again is dropped when its shard has doubled
// since the last sweep, so the map stays within twice the subscribers that
// authenticated recently, and never above the subscriber count. Time is
// measured from start on the monotonic clock: a step of the wall clock
// neither refills nor drains a bucket.
type vectorLimiter struct {
	rate, burst float64
	now         func() time.Time
	start       time.Time
	shards      [64]limiterShard
}

type limiterShard struct {
	mu        sync.Mutex
	m         map[string]bucket
	swept     int // len(m) after the last sweep
	lastSweep int64
}

type bucket struct {
	tokens float64
	at     int64 // when it had tokens, in nanoseconds since the limiter's start
}

func newVectorLimiter(rate float64, burst int, now func() time.Time) *vectorLimiter {
	if now == nil {
		now = time.Now
	}
	l := &vectorLimiter{rate: rate, burst: float64(burst), now: now, start: now()}
	for i := range l.shards {
		l.shards[i].m = make(map[string]bucket)
	}
	return l
}

func (l *vectorLimiter) shard(imsi string) *limiterShard {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(imsi); i++ {
		h = (h ^ uint32(imsi[i])) * 16777619
	}
	return &l.shards[h%uint32(len(l.shards))]
}

// fill is b's tokens at t (never fewer than it had: t before b.at, which
// only a clock that went back can give, refills nothing, and the bucket
// then counts from t).
func (l *vectorLimiter) fill(b bucket, t int64) float64 {
	return math.Min(l.burst, b.tokens+float64(max(t-b.at, 0))/1e9*l.rate)
}

// take spends one of imsi's tokens, or reports that there is none.
func (l *vectorLimiter) take(imsi string) bool {
	t := int64(l.now().Sub(l.start)) // monotonic when the clock is time.Now
	sh := l.shard(imsi)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.m[imsi]
	tokens := l.burst
	if ok {
		tokens = l.fill(b, t) // from t on, should t be before b.at
	}
	if tokens < 1 {
		if ok && t < b.at {
			sh.m[imsi] = bucket{tokens: tokens, at: t}
		}
		return false
	}
	sh.m[imsi] = bucket{tokens: tokens - 1, at: t}
	if len(sh.m) > 2*sh.swept+1024 && t-sh.lastSweep > int64(time.Second) {
		// Full buckets need no entry. Swept when the shard has doubled,
		// at most once a second, so the cost per vector stays constant.
		for k, b := range sh.m {
			if l.fill(b, t) >= l.burst {
				delete(sh.m, k)
			}
		}
		sh.swept, sh.lastSweep = len(sh.m), t
	}
	return true
}

// forget drops imsi's entry.
func (l *vectorLimiter) forget(imsi string) {
	sh := l.shard(imsi)
	sh.mu.Lock()
	delete(sh.m, imsi)
	sh.mu.Unlock()
}
