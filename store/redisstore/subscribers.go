package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
)

// SubscriberStore is an hss.Store in Redis: one hash per subscriber, in
// the subscriber's own slot ({IMSI}), holding the sealed keys (k), the AMF
// (a) and the last SQN issued as SEQ (q) and IND (i). It never sees K or
// OPc in the clear. Every SQN change is one Lua script on that one key, so
// it is atomic for every node that shares the store.
//
// SEQ and IND are kept apart because Redis hands numbers between Lua and
// its values with 14 significant digits, and a 48-bit SQN has 15.
type SubscriberStore struct {
	rdb    redis.UniversalClient
	prefix string
	pipe   *autoPipe // the SQN steps of concurrent requests share pipelines
}

var _ hss.Store = (*SubscriberStore)(nil)

// NewSubscriberStore returns a store over rdb; prefix as for EAPConfig.
func NewSubscriberStore(rdb redis.UniversalClient, prefix string) *SubscriberStore {
	if prefix == "" {
		prefix = "aaa:"
	}
	return &SubscriberStore{rdb: rdb, prefix: prefix, pipe: newAutoPipe(rdb, 0)}
}

func (s *SubscriberStore) key(imsi string) string { return s.prefix + "s:{" + imsi + "}" }

// advanceSQN: KEYS[1] the subscriber; ARGV[1] IND bits. Returns the sealed
// keys, the AMF, and the new SEQ and IND (aka.SQN.Next), or nil for an
// unknown subscriber, or -1 when SEQ is exhausted.
var advanceSQN = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'k', 'a', 'q', 'i')
if not cur[1] then return false end
local span = 2 ^ tonumber(ARGV[1])
local seq, ind = tonumber(cur[3]), tonumber(cur[4])
if seq >= 2 ^ (48 - tonumber(ARGV[1])) - 1 then return -1 end
seq = seq + 1
ind = (ind + 1) % span
redis.call('HSET', KEYS[1], 'q', seq, 'i', ind)
return {cur[1], cur[2], seq, ind}
`)

// resyncSQN: KEYS[1] the subscriber; ARGV[1] IND bits, ARGV[2] the USIM's
// SEQ. SEQ = max(SEQ, USIM's SEQ) + 1, IND + 1 (aka.SQN.AfterResync): never
// backwards. Returns 1, 0 for an unknown subscriber, -1 when exhausted.
var resyncSQN = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'q', 'i')
if not cur[1] then return 0 end
local span = 2 ^ tonumber(ARGV[1])
local seq = math.max(tonumber(cur[1]), tonumber(ARGV[2]))
if seq >= 2 ^ (48 - tonumber(ARGV[1])) - 1 then return -1 end
redis.call('HSET', KEYS[1], 'q', seq + 1, 'i', (tonumber(cur[2]) + 1) % span)
return 1
`)

// putSubscriber: KEYS[1] the subscriber; ARGV sealed keys, AMF, SEQ, IND,
// IND bits. A stored SQN is never lowered: the higher of the two (SEQ,
// then IND) stays.
var putSubscriber = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'q', 'i')
local seq, ind = tonumber(ARGV[3]), tonumber(ARGV[4])
if cur[1] then
	local cs, ci = tonumber(cur[1]), tonumber(cur[2])
	if cs > seq or (cs == seq and ci > ind) then
		seq, ind = cs, ci
	end
end
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'a', ARGV[2], 'q', seq, 'i', ind)
return 1
`)

// Put provisions (or updates) a subscriber: rec holds its keys sealed. The
// stored SQN is never lowered, so an import cannot make an SQN issue twice.
func (s *SubscriberStore) Put(ctx context.Context, imsi string, rec hss.Record, sqn aka.SQN, indBits uint) error {
	err := putSubscriber.Run(ctx, s.rdb, []string{s.key(imsi)},
		rec.Sealed, rec.AMF, sqn.SEQ(indBits), sqn.IND(indBits), indBits).Err()
	if err != nil {
		return backendErr("put subscriber", err)
	}
	return nil
}

// Record implements hss.Store.
func (s *SubscriberStore) Record(ctx context.Context, imsi string) (hss.Record, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(imsi), "k", "a").Result()
	if err != nil {
		return hss.Record{}, backendErr("get subscriber", err)
	}
	sealed, _ := vals[0].(string)
	amf, _ := vals[1].(string)
	if sealed == "" {
		return hss.Record{}, aka.ErrUnknownSubscriber
	}
	return record(sealed, amf)
}

func record(sealed, amf string) (hss.Record, error) {
	a, err := strconv.ParseUint(amf, 10, 16)
	if err != nil {
		return hss.Record{}, backendErr("get subscriber", errCorrupt)
	}
	return hss.Record{Sealed: []byte(sealed), AMF: uint16(a)}, nil
}

// AdvanceSQN implements hss.Store: one round trip, one atomic step.
func (s *SubscriberStore) AdvanceSQN(ctx context.Context, imsi string, indBits uint) (hss.Record, aka.SQN, error) {
	res, err := s.pipe.runScript(ctx, advanceSQN, []string{s.key(imsi)}, indBits).Result()
	if errors.Is(err, redis.Nil) {
		return hss.Record{}, 0, aka.ErrUnknownSubscriber
	}
	if err != nil {
		return hss.Record{}, 0, backendErr("advance SQN", err)
	}
	if n, ok := res.(int64); ok && n < 0 {
		return hss.Record{}, 0, aka.ErrSQNExhausted
	}
	vals, ok := res.([]any)
	if !ok || len(vals) != 4 {
		return hss.Record{}, 0, backendErr("advance SQN", errCorrupt)
	}
	sealed, _ := vals[0].(string)
	amf, _ := vals[1].(string)
	seq, ok1 := vals[2].(int64)
	ind, ok2 := vals[3].(int64)
	if !ok1 || !ok2 || seq < 0 || ind < 0 {
		return hss.Record{}, 0, backendErr("advance SQN", errCorrupt)
	}
	rec, err := record(sealed, amf)
	if err != nil {
		return hss.Record{}, 0, err
	}
	return rec, aka.MakeSQN(uint64(seq), uint64(ind), indBits), nil
}

// ResyncSQN implements hss.Store.
func (s *SubscriberStore) ResyncSQN(ctx context.Context, imsi string, sqnMS aka.SQN, indBits uint) error {
	n, err := resyncSQN.Run(ctx, s.rdb, []string{s.key(imsi)}, indBits, sqnMS.SEQ(indBits)).Int64()
	if err != nil {
		return backendErr("resync SQN", err)
	}
	switch n {
	case 0:
		return aka.ErrUnknownSubscriber
	case -1:
		return aka.ErrSQNExhausted
	}
	return nil
}

// SQN returns the last SQN issued to imsi (operations, tests).
func (s *SubscriberStore) SQN(ctx context.Context, imsi string, indBits uint) (aka.SQN, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(imsi), "q", "i").Result()
	if err != nil {
		return 0, backendErr("get SQN", err)
	}
	q, _ := vals[0].(string)
	i, _ := vals[1].(string)
	if q == "" {
		return 0, aka.ErrUnknownSubscriber
	}
	seq, err1 := strconv.ParseUint(q, 10, 64)
	ind, err2 := strconv.ParseUint(i, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("redisstore: get SQN: %w", errCorrupt)
	}
	return aka.MakeSQN(seq, ind, indBits), nil
}
