package redisstore

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// autoPipe sends the commands of concurrent requests to Redis together, in
// shared pipelines, as auto-pipelining clients (rueidis, Lettuce) do: a
// request still waits for its own answers, one round trip per step, but
// a pipeline of many requests' commands costs Redis and this process one
// read and one write, where a command each cost a read, a write, and the
// pool's health check (a syscall of its own in go-redis). At a few
// thousand authentications a second those syscalls were most of the CPU
// both sides spent on the store.
//
// Pipelines run in at most maxPipes goroutines at once, started when a
// request finds none free and ending when there is nothing left to send:
// under load each takes whatever queued while the others were out.
type autoPipe struct {
	rdb     redis.UniversalClient
	timeout time.Duration

	mu      sync.Mutex
	pending []*pipeGroup
	running int
}

// maxPipes bounds the pipelines in flight at once; maxBatch the requests'
// command groups in one.
const (
	maxPipes = 4
	maxBatch = 256
)

// pipeGroup is one request's commands: they go out together, in order,
// in one pipeline.
type pipeGroup struct {
	ctx  context.Context // the request's: once it ended, nobody waits
	cmds []redis.Cmder
	done chan struct{}
}

// maxPending bounds the command groups waiting for a pipeline: past it,
// Redis is not keeping up and a request fails at once rather than queue.
const maxPending = 8192

var errTooManyWaiting = errors.New("redisstore: too many requests waiting for Redis")

// newAutoPipe sends over rdb, each pipeline bounded by timeout (none when
// zero: NewClient's hook already bounds every pipeline by
// store.redis.timeout, and go-redis's read and write timeouts each step).
func newAutoPipe(rdb redis.UniversalClient, timeout time.Duration) *autoPipe {
	return &autoPipe{rdb: rdb, timeout: timeout}
}

// do sends cmds and returns once Redis answered them (their own Err says
// how each went) or ctx ended (then their answers are not waited for).
func (a *autoPipe) do(ctx context.Context, cmds ...redis.Cmder) error {
	g := &pipeGroup{ctx: ctx, cmds: cmds, done: make(chan struct{})}
	a.mu.Lock()
	if len(a.pending) >= maxPending {
		a.mu.Unlock()
		return errTooManyWaiting
	}
	a.pending = append(a.pending, g)
	start := a.running < maxPipes
	if start {
		a.running++
	}
	a.mu.Unlock()
	if start {
		go a.run()
	}
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *autoPipe) run() {
	var batch []*pipeGroup
	for {
		// Let the requests that are runnable now queue their commands
		// first: a yield costs far less than the syscalls of a second
		// pipeline, and halved redis-server's reads per authentication
		// at 64 in flight (0.74 to 0.38).
		runtime.Gosched()
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.running--
			a.mu.Unlock()
			return
		}
		n := min(len(a.pending), maxBatch)
		batch = append(batch[:0], a.pending[:n]...)
		rest := copy(a.pending, a.pending[n:])
		clear(a.pending[rest:])
		a.pending = a.pending[:rest]
		a.mu.Unlock()
		a.send(batch)
		clear(batch)
	}
}

func (a *autoPipe) send(batch []*pipeGroup) {
	ctx := context.Background()
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	p := a.rdb.Pipeline()
	for _, g := range batch {
		if g.ctx.Err() != nil {
			// Its request gave up waiting (no answer went out): its
			// writes would land for nobody.
			continue
		}
		for _, c := range g.cmds {
			p.Process(ctx, c)
		}
	}
	// Exec sets each command's own result or error; the first error
	// it returns is also in its command.
	p.Exec(ctx)
	for _, g := range batch {
		close(g.done)
	}
}

// evalSha is a script's EVALSHA as a command to send with others.
func evalSha(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, "evalsha", s.Hash(), len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	return redis.NewCmd(ctx, a...)
}

// runScript runs s through the pipe; a Redis that lacks it (its first
// use, a restart, a failover) gets the script itself, directly.
func (a *autoPipe) runScript(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	cmd := evalSha(ctx, s, keys, args...)
	if err := a.do(ctx, cmd); err != nil {
		// cmd stays the pipeline's: answer with another.
		failed := redis.NewCmd(ctx)
		failed.SetErr(err)
		return failed
	}
	if isNoScript(cmd.Err()) {
		// The script itself, once: Redis keeps it for the EVALSHAs
		// that follow.
		return s.Eval(ctx, a.rdb, keys, args...)
	}
	return cmd
}
