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
//
// Round trips are what a shared store costs, so the EAP store spends as
// few as it can: a full authentication takes one to store the challenge's
// conversation and one, pipelined, to finish it and store the pseudonym
// and re-authentication context it handed out (see Finish); the
// conversation this node wrote last is read back from a cache of its own
// (Get), which is safe because every write is a compare-and-swap in Redis.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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
	// CacheSize bounds the conversations this node keeps a copy of, to
	// read back without a round trip, and the pseudonyms it handed out
	// (65,536 each when zero; negative: none).
	CacheSize int
	// Timeout bounds one pipeline of the store's commands (when zero, the
	// client's own timeouts do: NewClient's bound every operation); a
	// request's own context may end its wait sooner.
	Timeout time.Duration
	// ShareWindow is how a peer's conversations are counted for its share
	// (Conversation.PeerShare): by the window they opened in, this one
	// and the one before, so it must be at least how long a conversation
	// lives (eap.conversation_timeout; 1 minute when zero).
	ShareWindow time.Duration
	// SubscribersHere says the subscribers are in this Redis too (the
	// local HSS on the Redis store): a re-authentication context is then
	// used only while its subscriber still exists, since a fast
	// re-authentication asks the HSS nothing, and one handed out by an
	// authentication that finished after the subscriber was deleted
	// would otherwise let the device back on.
	SubscribersHere bool
	// Sealer seals the session keys conversations and re-authentication
	// contexts hold. Nodes that share a Redis need the same keys (aaad
	// derives them from hss.key_file); nil is a random key of this
	// process's own, for a store no other process reads.
	Sealer *StateSealer
}

// EAPStore is an eap.Store in Redis.
type EAPStore struct {
	rdb      redis.UniversalClient
	prefix   string
	now      func() time.Time
	slack    time.Duration
	cache    *convCache
	names    *pseudonymCache // the pseudonyms this node handed out
	pipe     *autoPipe
	sealer   *StateSealer
	window   int64 // ShareWindow in ms
	shares   shareMemo
	subsHere bool

	// Records replaced by a subscriber's newer one, deleted, and peers'
	// counts of finished conversations, decremented, with the next
	// pipeline this store sends (Put of a new conversation, Finish), or
	// by Flush.
	staleMu sync.Mutex
	stale   []string
	decrs   []pendingDecr
}

var _ eap.Store = (*EAPStore)(nil)

// maxStale bounds the replaced records waiting for deletion; past it they
// are left to their TTL.
const maxStale = 4096

// NewEAPStore returns a store over rdb.
func NewEAPStore(rdb redis.UniversalClient, cfg EAPConfig) *EAPStore {
	s := &EAPStore{rdb: rdb, prefix: cfg.Prefix, now: cfg.Now, slack: cfg.Slack, pipe: newAutoPipe(rdb, cfg.Timeout)}
	if s.prefix == "" {
		s.prefix = "aaa:"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.slack <= 0 {
		s.slack = time.Minute
	}
	s.subsHere = cfg.SubscribersHere
	s.window = cfg.ShareWindow.Milliseconds()
	if s.window <= 0 {
		s.window = time.Minute.Milliseconds()
	}
	s.sealer = cfg.Sealer
	if s.sealer == nil {
		var k StateKey
		k.ID = "ephemeral"
		rand.Read(k.Key[:]) // never fails (crypto/rand, Go 1.24+)
		s.sealer, _ = NewStateSealer([]StateKey{k})
		clear(k.Key[:])
	}
	switch {
	case cfg.CacheSize == 0:
		s.cache, s.names = newConvCache(65536), newPseudonymCache(65536)
	case cfg.CacheSize > 0:
		s.cache, s.names = newConvCache(cfg.CacheSize), newPseudonymCache(cfg.CacheSize)
	}
	return s
}

func (s *EAPStore) convKey(id eap.ConversationID) string {
	var b [32]byte
	hex.Encode(b[:], id[:])
	return s.prefix + "c:{" + string(b[:]) + "}"
}
func (s *EAPStore) pseudonymKey(name string) string { return s.prefix + "p:{" + name + "}" }

// shareKey counts the conversations peer opened in window w (Unix ms /
// window), less those that finished.
func (s *EAPStore) shareKey(peer string, w int64) string {
	return s.prefix + "n:{" + peer + "}:" + strconv.FormatInt(w, 10)
}

// shareWindow is the window c opened in.
func (s *EAPStore) shareWindow(c *eap.Conversation) int64 {
	t := c.Opened
	if t.IsZero() {
		t = s.now()
	}
	return t.UnixMilli() / s.window
}
func (s *EAPStore) reauthKey(name string) string { return s.prefix + "r:{" + name + "}" }

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

// A conversation is one string: a header of convHeader octets (its
// version, 4 octets; its expiry in Unix ms, 8; 1 once finished; all big
// endian) and the encoded conversation. A new one is a plain SET NX; only
// the compare-and-swap of a stored one needs a script.
const convHeader = 13

// convValue is c's stored value under key at version, finished or not:
// the header, then the encoded conversation, sealed.
func (s *EAPStore) convValue(c *eap.Conversation, key string, version uint32, finished bool) []byte {
	scratch := encodeScratch.Get().(*[]byte)
	plain := encodeConversation((*scratch)[:0], c)
	val := make([]byte, convHeader, convHeader+len(plain)+64)
	binary.BigEndian.PutUint32(val, version)
	binary.BigEndian.PutUint64(val[4:], uint64(unixMilli(c.Expires)))
	val[12] = boolByte(finished)
	// The header is bound to the sealed data too: whoever can write to
	// Redis cannot extend a conversation or mark it finished.
	val = s.sealer.Seal(val, plain, key+string(val[:convHeader]))
	clear(plain) // it held the conversation's keys
	*scratch = plain
	encodeScratch.Put(scratch)
	return val
}

// encodeScratch holds buffers conversations are encoded in before they
// are sealed.
var encodeScratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putConversation: KEYS[1] the conversation; ARGV the version read, now
// (ms), the new value (its version the one read plus one), TTL (ms).
// Returns the new version, or -1 for a conflict (gone, expired, finished,
// or at another version). It reads the header only (GETRANGE): a
// script's cost is mostly the strings it moves.
var putConversation = redis.NewScript(`
local h = redis.call('GETRANGE', KEYS[1], 0, 12)
if #h < 13 then return -1 end
local v, e, f = struct.unpack('>I4I8B', h)
if f ~= 0 or e <= tonumber(ARGV[2]) or v ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return v + 1
`)

// finishConversation: as putConversation, the value's flag set. Returns
// the new version, 0 not found (or expired), -1 a conflict (finished
// already included).
var finishConversation = redis.NewScript(`
local h = redis.call('GETRANGE', KEYS[1], 0, 12)
if #h < 13 then return 0 end
local v, e, f = struct.unpack('>I4I8B', h)
if e <= tonumber(ARGV[2]) then return 0 end
if f ~= 0 or v ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return v + 1
`)

// Get implements eap.ConversationStore: from this node's copy when it has
// one (c.Cached), from Redis otherwise.
func (s *EAPStore) Get(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	if s.cache != nil && s.cache.get(id, s.now(), c) {
		return nil
	}
	return s.GetFresh(ctx, id, c)
}

// GetFresh implements eap.ConversationStore.
func (s *EAPStore) GetFresh(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	s.cache.drop(id) // asked for because this node's copy is missing or behind
	key := s.convKey(id)
	cmd := redis.NewStringCmd(ctx, "get", key)
	if err := s.pipe.do(ctx, cmd); err != nil {
		return backendErr("get conversation", err)
	}
	v, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return eap.ErrConversationNotFound
	}
	if err != nil {
		return backendErr("get conversation", err)
	}
	defer clear(v)
	if len(v) < convHeader {
		return backendErr("get conversation", errCorrupt)
	}
	if int64(binary.BigEndian.Uint64(v[4:])) <= s.now().UnixMilli() {
		return eap.ErrConversationNotFound
	}
	plain, err := s.sealer.Open(nil, v[convHeader:], key+string(v[:convHeader]))
	defer clear(plain)
	if err != nil {
		return backendErr("get conversation", err)
	}
	var got eap.Conversation
	if err := decodeConversation(plain, &got); err != nil {
		return backendErr("get conversation", err)
	}
	got.ID, got.Version = id, binary.BigEndian.Uint32(v)
	*c = got
	return nil
}

// Put implements eap.ConversationStore. A peer's share is not enforced
// here (the memory store enforces it); Redis's maxmemory bounds the whole.
func (s *EAPStore) Put(ctx context.Context, c *eap.Conversation) error {
	ttl := s.ttl(c.Expires).Milliseconds()
	key := s.convKey(c.ID)
	var v int64
	var err error
	if c.Version == 0 {
		v, err = s.create(ctx, c, key, ttl)
	} else {
		val := s.convValue(c, key, c.Version+1, false)
		v, err = s.pipe.runScript(ctx, putConversation, []string{key},
			c.Version, s.now().UnixMilli(), val, ttl).Int64()
	}
	if err != nil || v < 0 {
		// Whatever this node had is no longer worth reading back.
		s.cache.drop(c.ID)
		if errors.Is(err, eap.ErrPeerFull) {
			return err
		}
		if err != nil {
			return backendErr("put conversation", err)
		}
		return eap.ErrConversationConflict
	}
	c.Version = uint32(v)
	s.cache.put(c, s.now())
	return nil
}

// create stores a new conversation (SET NX), counting it against its
// peer's share in the same pipeline. Past the share it takes it back
// (a second round trip, for the refused only) and returns ErrPeerFull:
// a peer that floods holds its share of Redis, not all of it.
func (s *EAPStore) create(ctx context.Context, c *eap.Conversation, key string, ttl int64) (int64, error) {
	val := s.convValue(c, key, 1, false)
	set := redis.NewStatusCmd(ctx, "set", key, val, "nx", "px", ttl)
	if c.PeerShare <= 0 {
		if err := s.pipe.do(ctx, set); err != nil {
			return 0, err
		}
		return created(set)
	}
	w := s.shareWindow(c)
	cur := s.shareKey(c.Peer, w)
	cmds := s.pendingCmds(ctx, make([]redis.Cmder, 0, 8))
	// What this node knows of the peer's window: whether it gave the
	// window's count its TTL, and the count of the window before, read
	// again at most once a second. That count only falls once its window
	// is over (conversations finish, none open in it), so an older
	// reading errs on the side of the share.
	known := s.shares.get(c.Peer, w, s.now().UnixMilli())
	if !known.ttlSet {
		// The window's count is made with a TTL (SET NX: a no-op once
		// it exists): it lives as long as it is read, whoever
		// decrements it.
		cmds = append(cmds, redis.NewStatusCmd(ctx, "set", cur, 0, "nx", "px", 2*s.window+s.slack.Milliseconds()))
	}
	count := redis.NewIntCmd(ctx, "incr", cur)
	cmds = append(cmds, count)
	var prev *redis.StringCmd
	if !known.prevFresh {
		prev = redis.NewStringCmd(ctx, "get", s.shareKey(c.Peer, w-1))
		cmds = append(cmds, prev)
	}
	cmds = append(cmds, set)
	if err := s.pipe.do(ctx, cmds...); err != nil {
		return 0, err
	}
	n, err := count.Result()
	if err != nil {
		return 0, err
	}
	prevCount := known.prev
	if prev != nil {
		prevCount = 0
		if p, err := prev.Int64(); err == nil {
			prevCount = p
		} else if !errors.Is(err, redis.Nil) {
			return 0, err
		}
	}
	s.shares.learned(c.Peer, w, prevCount, prev != nil, s.now().UnixMilli())
	n += prevCount
	v, err := created(set)
	if err != nil || n <= int64(c.PeerShare) {
		return v, err
	}
	undo := []redis.Cmder{redis.NewIntCmd(ctx, "decr", cur)}
	if v > 0 {
		undo = append(undo, redis.NewIntCmd(ctx, "unlink", key))
	}
	if err := s.pipe.do(ctx, undo...); err != nil {
		return 0, err
	}
	return -1, eap.ErrPeerFull
}

// pendingDecr is a finished conversation's room in its peer's share,
// given back with the next pipeline.
type pendingDecr struct {
	key    string
	window int64
}

// shareMemo is what a node remembers of each peer's share windows, to
// spare commands on every new conversation.
type shareMemo struct {
	mu    sync.Mutex
	peers map[string]*peerWindows // peer names come from configuration
}

type peerWindows struct {
	window int64 // the current window
	ttlSet bool  // its count has its TTL
	prev   int64 // the count of the window before
	prevAt int64 // when prev was read (Unix ms); 0: never
}

type shareKnown struct {
	ttlSet, prevFresh bool
	prev              int64
}

// prevMaxAge is how old a reading of the previous window's count may be.
const prevMaxAge = 1000 // ms

func (m *shareMemo) get(peer string, w, nowMs int64) shareKnown {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peers[peer]
	if p == nil || p.window != w {
		return shareKnown{}
	}
	return shareKnown{ttlSet: p.ttlSet, prevFresh: p.prevAt != 0 && nowMs-p.prevAt < prevMaxAge, prev: p.prev}
}

// learned records that window w's count has its TTL and, when read is
// set, the count of the window before.
func (m *shareMemo) learned(peer string, w, prev int64, read bool, nowMs int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.peers == nil {
		m.peers = make(map[string]*peerWindows)
	}
	p := m.peers[peer]
	if p == nil {
		p = new(peerWindows)
		m.peers[peer] = p
	}
	if p.window != w {
		*p = peerWindows{window: w}
	}
	p.ttlSet = true
	if read {
		p.prev, p.prevAt = prev, nowMs
	}
}

// created is the outcome of a new conversation's SET NX: version 1, or -1
// when the ID is taken.
func created(set *redis.StatusCmd) (int64, error) {
	err := set.Err()
	if errors.Is(err, redis.Nil) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// pendingCmds appends the deletions and decrements waiting for a pipeline.
func (s *EAPStore) pendingCmds(ctx context.Context, cmds []redis.Cmder) []redis.Cmder {
	stale, decrs := s.takeStale()
	for _, k := range stale {
		cmds = append(cmds, redis.NewIntCmd(ctx, "unlink", k))
	}
	now := s.now().UnixMilli() / s.window
	for _, d := range decrs {
		// Not once its window's count is no longer read: the count may
		// be gone, and a DECR would make it again, at -1, with no TTL.
		if now-d.window <= 1 {
			cmds = append(cmds, redis.NewIntCmd(ctx, "decr", d.key))
		}
	}
	return cmds
}

// Finish implements eap.Store: the finished conversation and the records
// handed out go in one pipeline, with the deletion of the records they
// replace. The finished conversation is kept until c.Expires for a
// retransmission that reaches another node.
func (s *EAPStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	s.cache.drop(c.ID)
	val := s.convValue(c, s.convKey(c.ID), c.Version+1, true)
	return s.finish(ctx, c, val, h)
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

func (s *EAPStore) finish(ctx context.Context, c *eap.Conversation, data []byte, h *eap.Handouts) error {
	cmds := make([]redis.Cmder, 0, 8)
	var end *redis.Cmd
	var endKeys []string
	var endArgs []any
	if c.Version != 0 {
		endKeys = []string{s.convKey(c.ID)}
		endArgs = []any{c.Version, s.now().UnixMilli(), data, (max(c.Expires.Sub(s.now()), 0) + finishedSlack).Milliseconds()}
		end = evalSha(ctx, finishConversation, endKeys, endArgs...)
		cmds = append(cmds, end)
	}
	var oldP, oldR *redis.StringCmd
	if h != nil && h.Pseudonym != "" {
		rec := &h.PseudonymRecord
		ttl := s.ttl(rec.Expires).Milliseconds()
		v := make([]byte, 0, 9+len(rec.IMSI))
		v = append(v, recordFormat)
		v = binary.BigEndian.AppendUint64(v, uint64(unixMilli(rec.Expires)))
		v = append(v, rec.IMSI...)
		// The record first, so that a reader never finds a pointer to
		// nothing; the pointer's old value names the record replaced.
		oldP = redis.NewStringCmd(ctx, "set", s.subscriberKey(rec.IMSI, "p"), h.Pseudonym, "px", ttl, "get")
		cmds = append(cmds, redis.NewStatusCmd(ctx, "set", s.pseudonymKey(h.Pseudonym), v, "px", ttl), oldP)
	}
	if h != nil && h.Reauth != nil {
		rec := h.Reauth
		ttl := s.ttl(rec.Expires).Milliseconds()
		key := s.reauthKey(h.ReauthID)
		plain := encodeReauthValue(rec)
		v := s.sealer.Seal(nil, plain, key)
		clear(plain)
		oldR = redis.NewStringCmd(ctx, "set", s.subscriberKey(rec.IMSI, "r"), h.ReauthID, "px", ttl, "get")
		cmds = append(cmds, redis.NewStatusCmd(ctx, "set", key, v, "px", ttl), oldR)
	}
	records := len(cmds) // what follows is earlier stores' clean-up
	cmds = s.pendingCmds(ctx, cmds)
	if len(cmds) == 0 {
		return nil
	}
	if err := s.pipe.do(ctx, cmds...); err != nil {
		return backendErr("finish conversation", err)
	}
	if oldP != nil {
		if old, err := oldP.Result(); err == nil && old != h.Pseudonym {
			s.names.drop(old)
		}
		if oldP.Err() == nil || errors.Is(oldP.Err(), redis.Nil) {
			s.names.put(h.Pseudonym, h.PseudonymRecord)
		}
		s.replaced(oldP, h.Pseudonym, s.pseudonymKey)
	}
	if oldR != nil {
		s.replaced(oldR, h.ReauthID, s.reauthKey)
	}
	recordsErr := false
	for _, c := range cmds[:records] {
		if c != end && c.Err() != nil && !errors.Is(c.Err(), redis.Nil) {
			recordsErr = true
		}
	}
	if end != nil {
		if isNoScript(end.Err()) {
			// Its first use on this Redis (or after a restart, a
			// failover): the script itself, which Redis then keeps.
			end = finishConversation.Eval(ctx, s.rdb, endKeys, endArgs...)
		}
		if err := end.Err(); err != nil {
			return backendErr("finish conversation", err)
		}
		switch v, _ := end.Int64(); {
		case v == 0:
			return eap.ErrConversationNotFound
		case v < 0:
			return eap.ErrConversationConflict
		}
		if c.PeerShare > 0 {
			// Its room in the peer's share, given back with the next
			// pipeline; not once its window's count is no longer read
			// (nor perhaps kept).
			if w := s.shareWindow(c); s.now().UnixMilli()/s.window-w <= 1 {
				s.staleMu.Lock()
				if len(s.decrs) < maxStale {
					s.decrs = append(s.decrs, pendingDecr{s.shareKey(c.Peer, w), w})
				}
				s.staleMu.Unlock()
			}
		}
	}
	if recordsErr {
		return eap.ErrRecordsNotStored
	}
	return nil
}

// finishedSlack is how long past its expiry Redis keeps a finished
// conversation: they are many and short-lived, so less than Slack.
const finishedSlack = 5 * time.Second

// replaced queues the record a subscriber's pointer named before name, if
// any, for deletion: one record per subscriber.
func (s *EAPStore) replaced(cmd *redis.StringCmd, name string, key func(string) string) {
	old, err := cmd.Result()
	if err != nil || old == "" || old == name {
		return
	}
	s.staleMu.Lock()
	if len(s.stale) < maxStale {
		s.stale = append(s.stale, key(old))
	}
	s.staleMu.Unlock()
}

func (s *EAPStore) takeStale() (stale []string, decrs []pendingDecr) {
	s.staleMu.Lock()
	defer s.staleMu.Unlock()
	stale, decrs = s.stale, s.decrs
	s.stale, s.decrs = nil, nil
	return stale, decrs
}

// Flush sends the deletions and decrements still waiting for the next
// pipeline.
func (s *EAPStore) Flush(ctx context.Context) error {
	cmds := s.pendingCmds(ctx, nil)
	if len(cmds) == 0 {
		return nil
	}
	if err := s.pipe.do(ctx, cmds...); err != nil {
		return backendErr("flush", err)
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return backendErr("flush", err)
		}
	}
	return nil
}

// recordFormat starts a stored pseudonym record.
const recordFormat = 1

// PutPseudonym implements eap.Store.
func (s *EAPStore) PutPseudonym(ctx context.Context, pseudonym string, rec eap.PseudonymRecord) error {
	return s.putRecords(ctx, &eap.Handouts{Pseudonym: pseudonym, PseudonymRecord: rec}, "put pseudonym")
}

// PutReauth implements eap.Store.
func (s *EAPStore) PutReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	return s.putRecords(ctx, &eap.Handouts{ReauthID: id, Reauth: rec}, "put re-authentication context")
}

func (s *EAPStore) putRecords(ctx context.Context, h *eap.Handouts, op string) error {
	err := s.finish(ctx, &eap.Conversation{}, nil, h)
	if errors.Is(err, eap.ErrRecordsNotStored) {
		return backendErr(op, err)
	}
	return err
}

// GetPseudonym implements eap.Store.
func (s *EAPStore) GetPseudonym(ctx context.Context, pseudonym string) (eap.PseudonymRecord, error) {
	if rec, ok := s.names.get(pseudonym, s.now()); ok {
		return rec, nil
	}
	cmd := redis.NewStringCmd(ctx, "get", s.pseudonymKey(pseudonym))
	if err := s.pipe.do(ctx, cmd); err != nil {
		return eap.PseudonymRecord{}, backendErr("get pseudonym", err)
	}
	v, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	if err != nil {
		return eap.PseudonymRecord{}, backendErr("get pseudonym", err)
	}
	if len(v) < 9 || v[0] != recordFormat {
		return eap.PseudonymRecord{}, backendErr("get pseudonym", errCorrupt)
	}
	exp := int64(binary.BigEndian.Uint64(v[1:9]))
	if exp <= s.now().UnixMilli() {
		return eap.PseudonymRecord{}, eap.ErrRecordNotFound
	}
	return eap.PseudonymRecord{IMSI: string(v[9:]), Expires: fromMilli(exp)}, nil
}

// TakeReauth implements eap.Store: the context is read and deleted in one
// step (GETDEL), so that of two nodes only one gets it.
func (s *EAPStore) TakeReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	key := s.reauthKey(id)
	cmd := redis.NewStringCmd(ctx, "getdel", key)
	if err := s.pipe.do(ctx, cmd); err != nil {
		return backendErr("take re-authentication context", err)
	}
	sealed, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return eap.ErrRecordNotFound
	}
	if err != nil {
		return backendErr("take re-authentication context", err)
	}
	v, err := s.sealer.Open(nil, sealed, key)
	defer clear(v)
	if err != nil {
		return backendErr("take re-authentication context", err)
	}
	var got eap.ReauthRecord
	if err := decodeReauth(v, &got); err != nil {
		return backendErr("take re-authentication context", err)
	}
	if unixMilli(got.Expires) <= s.now().UnixMilli() {
		got.Clear()
		return eap.ErrRecordNotFound
	}
	if s.subsHere {
		exists := redis.NewIntCmd(ctx, "exists", s.prefix+"s:{"+got.IMSI+"}")
		if err := s.pipe.do(ctx, exists); err != nil {
			got.Clear()
			return backendErr("take re-authentication context", err)
		}
		if n, err := exists.Result(); err != nil || n == 0 {
			got.Clear()
			if err != nil {
				return backendErr("take re-authentication context", err)
			}
			return eap.ErrRecordNotFound // the subscriber was deleted
		}
	}
	*rec = got
	return nil
}

func encodeReauthValue(rec *eap.ReauthRecord) []byte {
	return encodeReauth(make([]byte, 0, 160), rec)
}
