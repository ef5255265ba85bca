package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
)

// What an operator's tool (aaactl subscriber) needs of the store beyond
// hss.Store: provision without overwriting, read, delete, list every
// subscriber, and seal every record again under a new key-encryption key.
// None of it sees K or OPc in the clear: rewrapping is the caller's
// function (hss.Sealer.Rewrap); the store only swaps one sealed value for
// another.
//
// The conditional writes (create only if absent, swap only if unchanged)
// are WATCH/MULTI transactions on the subscriber's one key, not Lua: they
// are rare, operator-driven and may take a round trip more, and every Lua
// script of the package is one that the request path runs.

// Entry is a stored subscriber: its record (keys sealed) and the last SQN
// issued.
type Entry struct {
	IMSI   string
	Record hss.Record
	SQN    aka.SQN
}

// String keeps the sealed keys out of logs.
func (e Entry) String() string { return "redisstore.Entry{IMSI:" + e.IMSI + " REDACTED}" }

// GoString does the same for %#v.
func (e Entry) GoString() string { return e.String() }

// ErrSubscriberExists is Create's answer for an IMSI already stored.
var ErrSubscriberExists = errors.New("redisstore: subscriber already stored")

const (
	// batch is how many subscribers one pipeline carries: a store of
	// 100,000 takes a few hundred round trips, and one pipeline's
	// replies arrive well within store.redis.timeout.
	batch = 256
	// adminWorkers is how many transactions (Create, Rewrap) run at
	// once: each takes a few round trips, and 100,000 one after the
	// other would take minutes over a network.
	adminWorkers = 16
	// txAttempts bounds how often one transaction is tried again because
	// its key changed between the read and the write.
	txAttempts = 3
)

// Get returns one subscriber, or aka.ErrUnknownSubscriber.
func (s *SubscriberStore) Get(ctx context.Context, imsi string, indBits uint) (Entry, error) {
	es, err := s.GetMany(ctx, []string{imsi}, indBits)
	if err != nil {
		return Entry{}, err
	}
	if len(es) == 0 {
		return Entry{}, aka.ErrUnknownSubscriber
	}
	return es[0], nil
}

// GetMany returns the subscribers of imsis that are stored, in the order
// asked; the others (deleted since they were listed, say) are left out.
func (s *SubscriberStore) GetMany(ctx context.Context, imsis []string, indBits uint) ([]Entry, error) {
	var out []Entry
	for part := range slices.Chunk(imsis, batch) {
		cmds := make([]*redis.SliceCmd, len(part))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, imsi := range part {
				cmds[i] = p.HMGet(ctx, s.key(imsi), "k", "a", "q", "i")
			}
			return nil
		})
		if err != nil {
			return nil, backendErr("get subscribers", err)
		}
		for i, c := range cmds {
			e, ok, err := entry(part[i], c.Val(), indBits)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// entry decodes an HMGET of k, a, q, i; false for a subscriber not stored.
func entry(imsi string, vals []any, indBits uint) (Entry, bool, error) {
	if len(vals) != 4 {
		return Entry{}, false, backendErr("get subscriber", errCorrupt)
	}
	var f [4]string
	for i, v := range vals {
		f[i], _ = v.(string)
	}
	if f[0] == "" {
		return Entry{}, false, nil
	}
	rec, err := record(f[0], f[1])
	if err != nil {
		return Entry{}, false, err
	}
	seq, err1 := strconv.ParseUint(f[2], 10, 64)
	ind, err2 := strconv.ParseUint(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return Entry{}, false, backendErr("get subscriber", errCorrupt)
	}
	return Entry{IMSI: imsi, Record: rec, SQN: aka.MakeSQN(seq, ind, indBits)}, true, nil
}

// Existing returns those of imsis that are stored, in the order asked.
func (s *SubscriberStore) Existing(ctx context.Context, imsis []string) ([]string, error) {
	var out []string
	for part := range slices.Chunk(imsis, batch) {
		cmds := make([]*redis.IntCmd, len(part))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, imsi := range part {
				cmds[i] = p.Exists(ctx, s.key(imsi))
			}
			return nil
		})
		if err != nil {
			return nil, backendErr("check subscribers", err)
		}
		for i, c := range cmds {
			if c.Val() > 0 {
				out = append(out, part[i])
			}
		}
	}
	return out, nil
}

// Create stores new subscribers and never touches one already stored:
// that one fails with ErrSubscriberExists, the others are written (so an
// IMSI taken between a check and the write keeps its keys). Each
// subscriber is one atomic step; the whole is not: stored names every
// IMSI written, in the order given, also when err is not nil, so that the
// caller can say what the store holds. A failure of the store itself stops
// the rest; then a subscriber whose write was under way may or may not be
// stored, and err says how many.
func (s *SubscriberStore) Create(ctx context.Context, es []Entry, indBits uint) (stored []string, err error) {
	done := make([]bool, len(es))
	var (
		mu     sync.Mutex
		exists []error
	)
	err = parallel(ctx, len(es), func(ctx context.Context, i int) error {
		e := &es[i]
		err := s.create(ctx, e, indBits)
		switch {
		case err == nil:
			done[i] = true
		case errors.Is(err, ErrSubscriberExists):
			mu.Lock()
			exists = append(exists, fmt.Errorf("%s: %w", e.IMSI, err))
			mu.Unlock()
		default:
			return err
		}
		return nil
	})
	for i, ok := range done {
		if ok {
			stored = append(stored, es[i].IMSI)
		}
	}
	if err != nil {
		return stored, backendErr("create subscriber", fmt.Errorf("%w (up to %d writes under way may or may not have landed)", err, adminWorkers))
	}
	return stored, errors.Join(exists...)
}

// create writes one subscriber if its key does not exist, in one
// WATCH/MULTI transaction on that key.
func (s *SubscriberStore) create(ctx context.Context, e *Entry, indBits uint) error {
	key := s.key(e.IMSI)
	for range txAttempts {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Exists(ctx, key).Result()
			if err != nil {
				return err
			}
			if n > 0 {
				return ErrSubscriberExists
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, "k", e.Record.Sealed, "a", e.Record.AMF, "q", e.SQN.SEQ(indBits), "i", e.SQN.IND(indBits))
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		// Written meanwhile: the next attempt finds it there.
	}
	return ErrSubscriberExists
}

// PutMany stores subscribers as Put does: keys and AMF are replaced, a
// stored SQN is never lowered. stored as for Create.
func (s *SubscriberStore) PutMany(ctx context.Context, es []Entry, indBits uint) (stored []string, err error) {
	for part := range slices.Chunk(es, batch) {
		cmds := make([]*redis.Cmd, len(part))
		// EVAL, not EVALSHA: in a pipeline the NOSCRIPT fallback of
		// Script.Run cannot work, and the script is short.
		s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range part {
				e := &part[i]
				cmds[i] = putSubscriber.Eval(ctx, p, []string{s.key(e.IMSI)},
					e.Record.Sealed, e.Record.AMF, e.SQN.SEQ(indBits), e.SQN.IND(indBits), indBits)
			}
			return nil
		})
		var errs []error
		for i, c := range cmds {
			err := c.Err()
			switch {
			case err == nil:
				stored = append(stored, part[i].IMSI)
			case !isReply(err):
				// The connection, not the command: whether the rest
				// of the batch was written is unknown.
				return stored, backendErr("put subscriber", fmt.Errorf("%w (up to %d writes of the batch may or may not have landed)", err, len(part)-i))
			default:
				errs = append(errs, fmt.Errorf("%s: %w", part[i].IMSI, backendErr("put subscriber", err)))
			}
		}
		if len(errs) > 0 {
			return stored, errors.Join(errs...)
		}
	}
	return stored, nil
}

// Delete removes a subscriber, or says aka.ErrUnknownSubscriber. Its
// pseudonym and re-authentication context go with it: a
// re-authentication needs no vector, so a context left behind would let a
// deleted subscriber's device on until the context expired.
func (s *SubscriberStore) Delete(ctx context.Context, imsi string) error {
	ek := &EAPStore{prefix: s.prefix} // the EAP store's key layout
	key, pKey, rKey := s.key(imsi), ek.subscriberKey(imsi, "p"), ek.subscriberKey(imsi, "r")
	var (
		existed *redis.IntCmd
		p, r    *redis.StringCmd
	)
	// All three keys are in the subscriber's slot ({IMSI}): one MULTI on
	// one node, Cluster or not.
	_, err := s.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		existed = tx.Exists(ctx, key)
		p = tx.Get(ctx, pKey)
		r = tx.Get(ctx, rKey)
		tx.Del(ctx, key, pKey, rKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return backendErr("delete subscriber", err)
	}
	// The records the pointers named live in slots of their own.
	if name := p.Val(); name != "" {
		if err := s.rdb.Del(ctx, ek.pseudonymKey(name)).Err(); err != nil {
			return backendErr("delete the subscriber's pseudonym", err)
		}
	}
	if name := r.Val(); name != "" {
		if err := s.rdb.Del(ctx, ek.reauthKey(name)).Err(); err != nil {
			return backendErr("delete the subscriber's re-authentication context", err)
		}
	}
	if existed.Val() == 0 {
		return aka.ErrUnknownSubscriber
	}
	return nil
}

// ScanIMSIs calls fn with the stored IMSIs, a batch at a time, in no
// particular order and never two calls at once. It walks the keyspace
// with SCAN (never KEYS, which blocks a server of many subscribers), on
// every master of a Cluster. As SCAN does, it may give an IMSI twice, and
// a subscriber stored or deleted meanwhile may be given or not. An error
// of fn stops it and is returned as it is.
func (s *SubscriberStore) ScanIMSIs(ctx context.Context, fn func(imsis []string) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		fnErr error
	)
	deliver := func(imsis []string) error {
		mu.Lock()
		defer mu.Unlock()
		if fnErr != nil {
			return fnErr
		}
		if err := fn(imsis); err != nil {
			fnErr = err
			cancel(err) // the other masters' scans stop too
			return err
		}
		return nil
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return s.scan(ctx, c, deliver)
		})
	} else {
		err = s.scan(ctx, s.rdb, deliver)
	}
	mu.Lock()
	defer mu.Unlock()
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (s *SubscriberStore) scan(ctx context.Context, c redis.Cmdable, deliver func([]string) error) error {
	// MATCH is a glob, with the prefix quoted. It also matches keys
	// that are no record ("s:{IMSI}:p" does not end in }, but a glob
	// cannot say "no } inside"), so each key is checked again.
	match := globQuote(s.prefix) + "s:{*}"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return backendErr("scan subscribers", err)
		}
		var imsis []string
		for _, k := range keys {
			if imsi, ok := s.imsiOf(k); ok {
				imsis = append(imsis, imsi)
			}
		}
		if len(imsis) > 0 {
			if err := deliver(imsis); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// imsiOf returns the IMSI of a subscriber's record key, or false for any
// other key.
func (s *SubscriberStore) imsiOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, s.prefix+"s:{")
	if !ok {
		return "", false
	}
	imsi, ok := strings.CutSuffix(rest, "}")
	if !ok || imsi == "" || len(imsi) > 15 {
		return "", false
	}
	for i := 0; i < len(imsi); i++ {
		if imsi[i] < '0' || imsi[i] > '9' {
			return "", false
		}
	}
	return imsi, true
}

// globQuote escapes what is special in a Redis glob pattern.
func globQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// RewrapResult is what Rewrap did.
type RewrapResult struct {
	// Rewrapped were sealed again; Current were already sealed under
	// the sealing key; Gone were deleted meanwhile.
	Rewrapped, Current, Gone int
	// Failed did not open or could not be written: they stay under the
	// key that sealed them, which must therefore stay in the key file.
	Failed []RewrapFailure
}

// RewrapFailure is one subscriber that Rewrap left as it was.
type RewrapFailure struct {
	IMSI string
	Err  error
}

// Rewrap seals the keys of imsis again: rewrap (hss.Sealer.Rewrap) maps a
// record's sealed keys to the same keys sealed under the sealing KEK and
// returns them unchanged when that KEK sealed them already. Each swap is
// a transaction that only writes if the record did not change since it
// was read (an add or import meanwhile keeps what it wrote, and is read
// again). A record that does not open is reported in the result and the
// others go on; an error is the store's, and stops the walk.
func (s *SubscriberStore) Rewrap(ctx context.Context, imsis []string, rewrap func(imsi string, sealed []byte) ([]byte, error)) (RewrapResult, error) {
	var (
		res RewrapResult
		mu  sync.Mutex
	)
	err := parallel(ctx, len(imsis), func(ctx context.Context, i int) error {
		outcome, err := s.rewrapOne(ctx, imsis[i], rewrap)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil && !isReply(err) && !errors.Is(err, errKeptChanging) && !errors.Is(err, errRewrap):
			return err
		case err != nil:
			res.Failed = append(res.Failed, RewrapFailure{imsis[i], err})
		case outcome == rewrapped:
			res.Rewrapped++
		case outcome == current:
			res.Current++
		default:
			res.Gone++
		}
		return nil
	})
	// The failures in the order asked, not the order they happened.
	order := make(map[string]int, len(res.Failed))
	for i, imsi := range imsis {
		order[imsi] = i
	}
	slices.SortFunc(res.Failed, func(a, b RewrapFailure) int { return order[a.IMSI] - order[b.IMSI] })
	if err != nil {
		return res, backendErr("rewrap subscriber", err)
	}
	return res, nil
}

type rewrapOutcome int

const (
	rewrapped rewrapOutcome = iota
	current
	gone
)

var errKeptChanging = errors.New("the record kept changing; run rewrap again")

// errRewrap marks an error of the caller's rewrap function (the record
// does not open), which is the record's, not the store's.
var errRewrap = errors.New("does not open")

func (s *SubscriberStore) rewrapOne(ctx context.Context, imsi string, rewrap func(string, []byte) ([]byte, error)) (rewrapOutcome, error) {
	key := s.key(imsi)
	for range txAttempts {
		var outcome rewrapOutcome
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			old, err := tx.HGet(ctx, key, "k").Bytes()
			if errors.Is(err, redis.Nil) {
				outcome = gone
				return nil
			}
			if err != nil {
				return err
			}
			next, err := rewrap(imsi, old)
			if err != nil {
				return fmt.Errorf("%w: %w", errRewrap, err)
			}
			if bytes.Equal(next, old) {
				outcome = current
				return nil
			}
			outcome = rewrapped
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, "k", next)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return outcome, err
		}
	}
	return 0, errKeptChanging
}

// parallel calls fn(ctx, i) for every i below n on at most adminWorkers
// goroutines. The first error stops handing out work and is returned.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range min(adminWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// isReply tells an error Redis answered for one command (the others of
// its pipeline stand) from a failure of the connection.
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.Nil)
}
