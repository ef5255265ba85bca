package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/aaa-project/aaa"

// TestImportDirection keeps the dependency graph of DEVELOPERS.md:
// milenage <- aka <- {eap, hss}; eap <- radius; all <- cmd. eap and hss never
// import each other (eap declares VectorSource, hss implements it, cmd
// wires them), eap never touches long-term keys (no milenage) nor the
// network, and the pure packages do no I/O.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string][]string{ // module packages each may import
		"milenage": {},
		"aka":      {"milenage"},
		"eap":      {"aka"},
		"hss":      {"milenage", "aka"},
		"radius":   {"eap"},
		"configs":  {},
		"privacy":  {},
		// Stores implement the contracts eap (and hss) declare; their
		// suites import only what they test.
		"eap/storetest":      {"eap"},
		"hss/storetest":      {"aka", "hss"},
		"store/redisstore":   {"aka", "eap", "hss"},
		"internal/redistest": {},
	}
	forbiddenStd := map[string][]string{
		"milenage": {"net", "os", "io/fs", "log"},
		"aka":      {"net", "os", "io/fs", "log"},
		"eap":      {"net", "os", "log"},
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if strings.HasPrefix(pkg, "cmd/") || pkg == "test" {
			continue
		}
		allow, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no rule here: add it to TestImportDirection", pkg)
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				if !slices.Contains(allow, rest) {
					t.Errorf("%s imports %s", pkg, rest)
				}
			} else if slices.Contains(forbiddenStd[pkg], imp) {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("checked %d packages: the rule matched nothing", seen)
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
