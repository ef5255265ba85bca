package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// luaScript is a Lua script of the package, found in its source.
type luaScript struct {
	Name string // the variable it is assigned to, or FILE:LINE
	Src  string
}

// packageScripts returns every script the package's non-test sources pass
// to redis.NewScript or redis.NewScriptServerSHA as a string literal. A
// script built any other way is an error: it could not be checked.
func packageScripts(t *testing.T) []luaScript {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var scripts []luaScript
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The variable each script is assigned to, for messages.
		names := map[ast.Expr]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, v := range vs.Values {
					if i < len(vs.Names) {
						names[v] = vs.Names[i].Name
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "NewScript" && sel.Sel.Name != "NewScriptServerSHA") {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "redis" {
				return true
			}
			where := fset.Position(call.Pos()).String()
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a script that is not one string literal cannot be checked", where)
				return true
			}
			src, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			name := names[call]
			if name == "" {
				name = where
			}
			scripts = append(scripts, luaScript{Name: name, Src: src})
			return true
		})
	}
	if len(scripts) == 0 {
		t.Fatal("no redis.NewScript in the package: the check matched nothing")
	}
	return scripts
}

var (
	// redisCall is a redis.call or redis.pcall and what its first
	// argument after the command is (up to the next comma or paren).
	redisCall = regexp.MustCompile(`redis\.p?call\(\s*([^,)]*)\s*(?:,\s*([^,)]*))?`)
	keysArg   = regexp.MustCompile(`^KEYS\[\d+\]$`)
	// keylessCommands take no key: they may be called with anything.
	keylessCommands = []string{"TIME", "PING", "ECHO"}
)

// Every Lua script names its keys only through KEYS, so that Redis
// Cluster can route it to the node that holds them and check they share
// a slot. A key built inside a script (a prefix joined to an argument, a
// key read from a value) would be a key Cluster cannot see.
func TestScriptsDeclareKeys(t *testing.T) {
	for _, s := range packageScripts(t) {
		calls := redisCall.FindAllStringSubmatch(s.Src, -1)
		if len(calls) == 0 {
			t.Errorf("script %s calls no Redis command: the check did not parse it", s.Name)
		}
		for _, m := range calls {
			cmd, key := strings.Trim(strings.TrimSpace(m[1]), `'"`), strings.TrimSpace(m[2])
			if cmd == m[1] || cmd == "" {
				t.Errorf("script %s: command %q is not a literal", s.Name, m[1])
				continue
			}
			if slices.Contains(keylessCommands, strings.ToUpper(cmd)) {
				continue
			}
			if !keysArg.MatchString(key) {
				t.Errorf("script %s: %s on %q, not on a key of KEYS", s.Name, cmd, key)
			}
		}
		if strings.Contains(s.Src, "KEYS[") && regexp.MustCompile(`KEYS\[[^\]\d]`).MatchString(s.Src) {
			t.Errorf("script %s indexes KEYS with an expression", s.Name)
		}
	}
}

// The checker itself: it refuses what it is there to refuse.
func TestScriptsDeclareKeys_Checker(t *testing.T) {
	for src, ok := range map[string]bool{
		`redis.call('HSET', KEYS[1], 'a', 1)`:                  true,
		`redis.call("DEL", KEYS[2])`:                           true,
		`redis.call('TIME')`:                                   true,
		`redis.call('DEL', 'aaa:s:{' .. ARGV[1] .. '}')`:       false,
		`redis.pcall('GET', ARGV[1])`:                          false,
		`local k = KEYS[1] redis.call('HGET', k, 'x')`:         false,
		`redis.call('SET', KEYS[1], 1) redis.call('DEL', key)`: false,
	} {
		good := true
		for _, m := range redisCall.FindAllStringSubmatch(src, -1) {
			cmd, key := strings.Trim(strings.TrimSpace(m[1]), `'"`), strings.TrimSpace(m[2])
			if !slices.Contains(keylessCommands, strings.ToUpper(cmd)) && !keysArg.MatchString(key) {
				good = false
			}
		}
		if good != ok {
			t.Errorf("%s: judged %v, want %v", src, good, ok)
		}
	}
}

// scriptRecorder is a go-redis hook that sees every EVAL and EVALSHA: it
// records which scripts ran and refuses any without keys (Cluster would
// send it to any node).
type scriptRecorder struct {
	mu       sync.Mutex
	ran      map[string]int // SHA-1 of the source: times run
	problems []string
}

func newScriptRecorder() *scriptRecorder { return &scriptRecorder{ran: map[string]int{}} }

func (r *scriptRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *scriptRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.see(cmd)
		return next(ctx, cmd)
	}
}

func (r *scriptRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			r.see(c)
		}
		return next(ctx, cmds)
	}
}

func (r *scriptRecorder) see(cmd redis.Cmder) {
	args := cmd.Args()
	name := strings.ToLower(cmd.Name())
	if len(args) < 3 || !strings.HasPrefix(name, "eval") {
		return
	}
	body := fmt.Sprint(args[1])
	sha := body
	if name == "eval" || name == "eval_ro" {
		h := sha1.Sum([]byte(body))
		sha = hex.EncodeToString(h[:])
	}
	n, err := strconv.Atoi(fmt.Sprint(args[2]))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran[sha]++
	if err != nil || n < 1 {
		r.problems = append(r.problems, fmt.Sprintf("%s of script %s with %v keys", name, sha, args[2]))
	}
}

// check fails t for every script of the package that never ran, and for
// every run without keys.
func (r *scriptRecorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Error(p)
	}
	for _, s := range packageScripts(t) {
		h := sha1.Sum([]byte(s.Src))
		if r.ran[hex.EncodeToString(h[:])] == 0 {
			t.Errorf("script %s never ran on the cluster: the contract suites do not cover it", s.Name)
		}
	}
}
