// Package redisstore keeps aaad's shared state in Redis (one server,
// Sentinel or Cluster, through go-redis's UniversalClient), so that several
// aaad nodes continue each other's conversations and see the same
// pseudonyms and re-authentication contexts.
//
// Every script touches one key, and the keys of one conversation, one
// pseudonym, one re-authentication context and one subscriber each carry a
// hash tag of their own, so nothing assumes a single server: Redis Cluster
// routes each operation to one slot. Expiry is decided by the store's
// clock against the expiry kept with each value (all nodes judge alike,
// and tests can drive time); Redis's own TTL, set a margin later, only
// collects what is dead.
package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/eap"
)

// EAPConfig configures an EAPStore.
type EAPConfig struct {
	// Prefix starts every key ("aaa:" when empty), so that one Redis can
	// serve several deployments.
	Prefix string
	// Now is the clock expiry is judged by; time.Now when nil.
	Now func() time.Time
	// Slack is how long after its expiry Redis keeps a value before
	// collecting it (1 minute when zero): nodes whose clocks differ by
	// less still agree.
	Slack time.Duration
}

// EAPStore is an eap.Store in Redis.
type EAPStore struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	slack  time.Duration
}

var _ eap.Store = (*EAPStore)(nil)

// NewEAPStore returns a store over rdb.
func NewEAPStore(rdb redis.UniversalClient, cfg EAPConfig) *EAPStore {
	s := &EAPStore{rdb: rdb, prefix: cfg.Prefix, now: cfg.Now, slack: cfg.Slack}
	if s.prefix == "" {
		s.prefix = "aaa:"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.slack <= 0 {
		s.slack = time.Minute
	}
	return s
}

func (s *EAPStore) convKey(id eap.ConversationID) string {
	return s.prefix + "c:{" + hex.EncodeToString(id[:]) + "}"
}
func (s *EAPStore) pseudonymKey(name string) string { return s.prefix + "p:{" + name + "}" }
func (s *EAPStore) reauthKey(name string) string    { return s.prefix + "r:{" + name + "}" }

// subscriberKey is a key of the subscriber's own slot, shared with its
// record: what points at its pseudonym (kind "p") or re-auth context ("r").
func (s *EAPStore) subscriberKey(imsi, kind string) string {
	return s.prefix + "s:{" + imsi + "}:" + kind
}

// ttl is how long Redis keeps a value that expires at exp.
func (s *EAPStore) ttl(exp time.Time) time.Duration {
	return max(exp.Sub(s.now()), 0) + s.slack
}

func backendErr(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// putConversation: KEYS[1] the conversation; ARGV version, now (ms), expiry
// (ms), data, TTL (ms). Returns the new version, or -1 for a conflict.
var putConversation = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'e')
if ARGV[1] == '0' then
	if cur[1] then return -1 end
	redis.call('HSET', KEYS[1], 'v', 1, 'e', ARGV[3], 'd', ARGV[4])
	redis.call('PEXPIRE', KEYS[1], ARGV[5])
	return 1
end
if not cur[1] or tonumber(cur[2]) <= tonumber(ARGV[2]) or cur[1] ~= ARGV[1] then
	return -1
end
local v = tonumber(cur[1]) + 1
redis.call('HSET', KEYS[1], 'v', v, 'e', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return v
`)

// deleteConversation: KEYS[1] the conversation; ARGV version, now (ms).
// Returns 1 deleted, 0 not found (or expired), -1 a conflict.
var deleteConversation = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'e')
if not cur[1] or tonumber(cur[2]) <= tonumber(ARGV[2]) then return 0 end
if cur[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
`)

// takeRecord: KEYS[1] a re-authentication context. Returns its expiry and
// data and deletes it, in one step, or nil.
var takeRecord = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'e', 'd')
if not cur[1] then return false end
redis.call('DEL', KEYS[1])
return cur
`)

// Get implements eap.ConversationStore.
func (s *EAPStore) Get(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	vals, err := s.rdb.HMGet(ctx, s.convKey(id), "v", "e", "d").Result()
	if err != nil {
		return backendErr("get conversation", err)
	}
	v, _ := vals[0].(string)
	e, _ := vals[1].(string)
	d, _ := vals[2].(string)
	if v == "" {
		return eap.ErrConversationNotFound
	}
	exp, err1 := strconv.ParseInt(e, 10, 64)
	ver, err2 := strconv.ParseUint(v, 10, 32)
	if err1 != nil || err2 != nil {
		return backendErr("get conversation", errCorrupt)
	}
	if exp <= s.now().UnixMilli() {
		return eap.ErrConversationNotFound
	}
	var got eap.Conversation
	if err := decodeConversation([]byte(d), &got); err != nil {
		return backendErr("get conversation", err)
	}
	got.ID, got.Version = id, uint32(ver)
	*c = got
	return nil
}

// Put implements eap.ConversationStore. A peer's share is not enforced
// here yet (the memory store enforces it).
func (s *EAPStore) Put(ctx context.Context, c *eap.Conversation) error {
	data := encodeConversation(nil, c)
	defer clear(data) // it held the conversation's keys
	v, err := putConversation.Run(ctx, s.rdb, []string{s.convKey(c.ID)},
		c.Version, s.now().UnixMilli(), unixMilli(c.Expires), data, s.ttl(c.Expires).Milliseconds()).Int64()
	if err != nil {
		return backendErr("put conversation", err)
	}
	if v < 0 {
		return eap.ErrConversationConflict
	}
	c.Version = uint32(v)
	return nil
}

// Delete implements eap.ConversationStore.
func (s *EAPStore) Delete(ctx context.Context, id eap.ConversationID, version uint32) error {
	if version == 0 {
		return nil
	}
	r, err := deleteConversation.Run(ctx, s.rdb, []string{s.convKey(id)}, version, s.now().UnixMilli()).Int64()
	if err != nil {
		return backendErr("delete conversation", err)
	}
	switch r {
	case 0:
		return eap.ErrConversationNotFound
	case -1:
		return eap.ErrConversationConflict
	}
	return nil
}

// replaceOwn stores the subscriber's pointer to its new record (kind "p"
// or "r") and deletes the record it pointed to before: one per subscriber.
// The record itself is written first, so that a reader never finds a
// pointer to nothing it could use.
func (s *EAPStore) replaceOwn(ctx context.Context, imsi, kind, name string, recKey func(string) string, ttl time.Duration) error {
	old, err := s.rdb.SetArgs(ctx, s.subscriberKey(imsi, kind), name, redis.SetArgs{TTL: ttl, Get: true}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if old != "" && old != name {
		return s.rdb.Del(ctx, recKey(old)).Err()
	}
	return nil
}

// PutPseudonym implements eap.Store.
func (s *EAPStore) PutPseudonym(ctx context.Context, pseudonym string, rec eap.PseudonymRecord) error {
	ttl := s.ttl(rec.Expires)
	key := s.pseudonymKey(pseudonym)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "i", rec.IMSI, "e", unixMilli(rec.Expires))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err == nil {
		err = s.replaceOwn(ctx, rec.IMSI, "p", pseudonym, s.pseudonymKey, ttl)
	}
	if err != nil {
		return backendErr("put pseudonym", err)
	}
	return nil
}

// GetPseudonym implements eap.Store.
func (s *EAPStore) GetPseudonym(ctx context.Context, pseudonym string) (eap.PseudonymRecord, error) {
	vals, err := s.rdb.HMGet(ctx, s.pseudonymKey(pseudonym), "i", "e").Result()
	if err != nil {
		return eap.PseudonymRecord{}, backendErr("get pseudonym", err)
	}
	imsi, _ := vals[0].(string)
	e, _ := vals[1].(string)
	if imsi == "" {
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return eap.PseudonymRecord{}, backendErr("get pseudonym", errCorrupt)
	}
	if exp <= s.now().UnixMilli() {
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	return eap.PseudonymRecord{IMSI: imsi, Expires: fromMilli(exp)}, nil
}

// PutReauth implements eap.Store.
func (s *EAPStore) PutReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	ttl := s.ttl(rec.Expires)
	key := s.reauthKey(id)
	data := encodeReauth(nil, rec)
	defer clear(data)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "e", unixMilli(rec.Expires), "d", data)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err == nil {
		err = s.replaceOwn(ctx, rec.IMSI, "r", id, s.reauthKey, ttl)
	}
	if err != nil {
		return backendErr("put re-authentication context", err)
	}
	return nil
}

// TakeReauth implements eap.Store: the context is read and deleted in one
// step, so that of two nodes only one gets it.
func (s *EAPStore) TakeReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	vals, err := takeRecord.Run(ctx, s.rdb, []string{s.reauthKey(id)}).Slice()
	if errors.Is(err, redis.Nil) {
		return eap.ErrRecordNotFound
	}
	if err != nil {
		return backendErr("take re-authentication context", err)
	}
	if len(vals) != 2 {
		return backendErr("take re-authentication context", errCorrupt)
	}
	e, _ := vals[0].(string)
	d, _ := vals[1].(string)
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return backendErr("take re-authentication context", errCorrupt)
	}
	if exp <= s.now().UnixMilli() {
		return eap.ErrRecordNotFound
	}
	var got eap.ReauthRecord
	if err := decodeReauth([]byte(d), &got); err != nil {
		return backendErr("take re-authentication context", err)
	}
	*rec = got
	return nil
}
