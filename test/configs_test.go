package test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type checkResult struct {
	exitCode       int
	stdout, stderr string
}

// checkConfig runs `aaad --check-config --config path` from the module root
// (so that relative paths in the shipped configs resolve).
func checkConfig(t *testing.T, path string) checkResult {
	t.Helper()
	bin := requireAAAD(t)
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--check-config", "--config", path)
	cmd.Dir = moduleRoot
	cmd.SysProcAttr = serverProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aaad --check-config --config %s did not finish within %v\nstderr:\n%s", path, checkTimeout, stderr.String())
	}
	res := checkResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
		if res.exitCode < 0 {
			t.Fatalf("aaad --check-config --config %s was killed: %v\nstderr:\n%s", path, err, res.stderr)
		}
	default:
		t.Fatalf("run aaad --check-config: %v", err)
	}
	return res
}

// Every shipped configs/*.yaml must pass --check-config.
func TestShippedConfigsCheck(t *testing.T) {
	t.Parallel()
	requireAAAD(t)
	files, err := filepath.Glob(filepath.Join(moduleRoot, "configs", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no configs/*.yaml in %s: the repository must ship example configs", moduleRoot)
	}
	for _, f := range files {
		rel, err := filepath.Rel(moduleRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			r := checkConfig(t, rel)
			if r.exitCode != 0 {
				t.Fatalf("aaad --check-config --config %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", rel, r.exitCode, r.stdout, r.stderr)
			}
		})
	}
}

// The config the harness generates is valid: a baseline for the bad one below.
func TestGeneratedConfigChecks(t *testing.T) {
	t.Parallel()
	requireAAAD(t)
	cfgPath := writeServerFiles(t, t.TempDir(), serverConfig{Subscribers: []subscriber{ts1Subscriber("001010000000001", "000000000000")}})
	r := checkConfig(t, cfgPath)
	if r.exitCode != 0 {
		t.Fatalf("aaad --check-config on the harness's config: exit %d, want 0\nconfig:\n%s\nstderr:\n%s", r.exitCode, readFile(t, cfgPath), r.stderr)
	}
}

// An unknown key is an error that names the key by its YAML path.
func TestConfigUnknownKey(t *testing.T) {
	t.Parallel()
	requireAAAD(t)
	dir := t.TempDir()
	cfgPath := writeServerFiles(t, dir, serverConfig{Subscribers: []subscriber{ts1Subscriber("001010000000001", "000000000000")}})
	good := readFile(t, cfgPath)
	bad := strings.Replace(good, "  listen:", "  lisen:", 1)
	if bad == good {
		t.Fatalf("harness config has no radius.listen to misspell:\n%s", good)
	}
	if err := os.WriteFile(cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := checkConfig(t, cfgPath)
	if r.exitCode == 0 {
		t.Fatalf("aaad --check-config accepted the unknown key radius.lisen (exit 0)\nconfig:\n%s\nstderr:\n%s", bad, r.stderr)
	}
	if !strings.Contains(r.stderr, "radius.lisen") {
		t.Fatalf("aaad --check-config: exit %d, but stderr does not name the key \"radius.lisen\"\nstderr:\n%s", r.exitCode, r.stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
