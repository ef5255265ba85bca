package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/aaa-project/aaa"

// importRules is the dependency graph of DEVELOPERS.md: milenage <- aka <-
// {eap, hss}; eap <- radius; all <- cmd. eap and hss never import each other
// (eap declares VectorSource, hss implements it, cmd wires them), eap never
// touches long-term keys (no milenage) nor the network, and the pure
// packages do no I/O. The stores (store/...) implement the contracts eap and
// hss declare: they import eap and hss, never the other way round.
var importRules = struct {
	allowed      map[string][]string // module packages each may import
	forbiddenStd map[string][]string
}{
	allowed: map[string][]string{
		"milenage": {},
		"aka":      {"milenage"},
		"eap":      {"aka"},
		"hss":      {"milenage", "aka"},
		"radius":   {"eap", "session", "latency"},
		"session":  {},
		// A histogram the hot paths record into, read at scrape time.
		"latency": {},
		// The Diameter base knows no application; SWx knows no EAP,
		// HSS, RADIUS or session table: cmd wires them.
		"diameter":     {},
		"diameter/swx": {"aka", "session"},
		// The Diameter EAP front end drives eap like radius does.
		"diameter/eapfront": {"diameter", "eap", "session", "latency"},
		"configs":           {},
		"privacy":           {},
		// Stores implement the contracts eap (and hss) declare; their
		// suites import only what they test.
		"eap/storetest":      {"eap"},
		"hss/storetest":      {"aka", "hss"},
		"store/memory":       {"aka", "eap", "hss"},
		"store/redisstore":   {"aka", "eap", "hss"},
		"internal/redistest": {},
		"internal/fdtest":    {},
		"internal/capture":   {},
	},
	forbiddenStd: map[string][]string{
		"milenage":     {"net", "os", "io/fs", "log"},
		"aka":          {"net", "os", "io/fs", "log"},
		"eap":          {"net", "os", "log"},
		"store/memory": {"net", "os", "io/fs", "log"},
	},
}

// importViolations checks `go list -f '{{.ImportPath}}{{range .Imports}}
// {{.}}{{end}}'` output against importRules. It returns what breaks them
// and how many packages it checked.
func importViolations(golist string) (violations []string, checked int) {
	for _, line := range strings.Split(strings.TrimSpace(golist), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if strings.HasPrefix(pkg, "cmd/") || pkg == "test" {
			continue
		}
		allow, ok := importRules.allowed[pkg]
		if !ok {
			violations = append(violations, fmt.Sprintf("package %s has no rule here: add it to importRules", pkg))
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				switch {
				case strings.HasPrefix(rest, "store/") && !strings.HasPrefix(pkg, "store/"):
					// Checked on its own so that no entry in allowed
					// can let it through.
					violations = append(violations, fmt.Sprintf("%s imports %s: only cmd/ and test/ pick a store; the packages that declare the contracts never import one", pkg, rest))
				case !slices.Contains(allow, rest):
					violations = append(violations, fmt.Sprintf("%s imports %s", pkg, rest))
				}
			} else if slices.Contains(importRules.forbiddenStd[pkg], imp) {
				violations = append(violations, fmt.Sprintf("%s imports %s", pkg, imp))
			}
		}
	}
	return violations, checked
}

// TestImportDirection keeps the module to importRules.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	violations, checked := importViolations(string(out))
	for _, v := range violations {
		t.Error(v)
	}
	if checked < 5 {
		t.Fatalf("checked %d packages: the rule matched nothing", checked)
	}
}

// The rules refuse what they are there to refuse: eap or hss (or their
// contract suites) importing a store, a store importing another, the memory
// store doing I/O.
func TestImportDirection_Refuses(t *testing.T) {
	for _, line := range []string{
		module + "/eap " + module + "/aka " + module + "/store/memory",
		module + "/eap " + module + "/store/redisstore",
		module + "/hss " + module + "/store/memory",
		module + "/hss " + module + "/aka " + module + "/store/redisstore",
		module + "/eap/storetest " + module + "/eap " + module + "/store/memory",
		module + "/hss/storetest " + module + "/hss " + module + "/store/memory",
		module + "/radius " + module + "/store/memory",
		module + "/store/memory " + module + "/store/redisstore",
		module + "/store/redisstore " + module + "/store/memory",
		module + "/store/memory os",
		module + "/store/nosuchstore " + module + "/eap",
	} {
		if v, _ := importViolations(line); len(v) != 1 {
			t.Errorf("%q: %d violations %q, want 1", line, len(v), v)
		}
	}
	if v, n := importViolations(module + "/store/memory " + module + "/aka " + module + "/eap " + module + "/hss sync"); len(v) != 0 || n != 1 {
		t.Errorf("the memory store's own imports: %q (%d checked)", v, n)
	}
}

// TestOnlyKeyHoldersImportMilenage: K and OPc are opened only inside hss,
// just before Milenage; the other packages that run Milenage are aka (the
// vector itself), and the simulated USIMs of aaabench and aaactl's
// vector command, which take K from their operator. A store, a front end
// or the EAP server importing milenage would be a key in the wrong place.
// Test files (the test peers) may.
func TestOnlyKeyHoldersImportMilenage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"aka", "hss", "cmd/aaabench", "cmd/aaactl"}
	importers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if slices.Contains(fields[1:], module+"/milenage") {
			importers++
			if !slices.Contains(allowed, pkg) {
				t.Errorf("%s imports milenage: only %v may", pkg, allowed)
			}
		}
	}
	if importers == 0 {
		t.Fatal("no package imports milenage: the rule matched nothing")
	}
}

// TestNoForbiddenCalls: non-test code never uses math/rand (salts, RANDs and
// conversation IDs come from crypto/rand) nor reflect.DeepEqual (MACs and RES
// are compared in constant time). The one exception is the load generator,
// whose simulated peers draw AT_IVs and load shares from math/rand/v2's
// ChaCha8 (a CSPRNG) seeded from crypto/rand, to stay cheap per packet; the
// server never does.
func TestNoForbiddenCalls(t *testing.T) {
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	root := moduleRoot
	checked := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		banned := []string{`"math/rand"`, `"math/rand/v2"`, "reflect.DeepEqual"}
		if rel, _ := filepath.Rel(root, path); strings.HasPrefix(rel, filepath.Join("cmd", "aaabench")+string(filepath.Separator)) {
			banned = []string{`"math/rand"`, "reflect.DeepEqual"}
			if strings.Contains(string(src), `"math/rand/v2"`) && !strings.Contains(string(src), "crand.Read") && !strings.Contains(string(src), "ChaCha8") {
				t.Errorf("%s: math/rand/v2 only as ChaCha8 seeded from crypto/rand", path)
			}
		}
		for _, bad := range banned {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s uses %s", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked %d files: the walk found nothing", checked)
	}
}
