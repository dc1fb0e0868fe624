package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is the infergate command built once by TestMain for the tests that
// run it as a user would.
var binary string

// testVersion is what the test binary is stamped with (-X main.version).
const testVersion = "v0.0.0-test"

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "infergate-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "infergate")
	if err := build(binary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles this package, without the race detector: the tests exercise
// the program, and its packages run their own tests under -race.
func build(out string) error {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("cannot build infergate: the go command is not on $PATH: %w", err)
	}
	cmd := exec.Command(gocmd, "build", "-o", out, "-ldflags", "-X main.version="+testVersion, ".")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot build infergate: %w\n%s", err, stderr.Bytes())
	}
	return nil
}

// result is how a finished infergate process ended.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with args in dir (the package folder when "") and
// waits at most 30s for it.
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
	default:
		t.Fatalf("infergate %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, "", "version")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || lines[0] != "infergate "+testVersion {
		t.Fatalf("stdout:\n%s\nwant 4 lines starting with %q", r.stdout, "infergate "+testVersion)
	}
	// The version of the library actually loaded, in full.
	var major, minor, patch int
	if n, err := fmt.Sscanf(lines[1], "onnxruntime %d.%d.%d", &major, &minor, &patch); n != 3 || err != nil {
		t.Fatalf("second line %q: want onnxruntime MAJOR.MINOR.PATCH", lines[1])
	}
	if !strings.HasPrefix(lines[2], "library /") || !strings.HasPrefix(lines[3], "providers ") || !strings.Contains(lines[3], "CPUExecutionProvider") {
		t.Fatalf("stdout:\n%s\nwant the library path and the providers", r.stdout)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	f := func(args []string, wantCode int, wantStdout, wantStderr string) {
		t.Helper()
		r := run(t, "", args...)
		if r.code != wantCode {
			t.Fatalf("infergate %v: exit %d, want %d\nstderr:\n%s", args, r.code, wantCode, r.stderr)
		}
		if !strings.Contains(r.stdout, wantStdout) || !strings.Contains(r.stderr, wantStderr) {
			t.Fatalf("infergate %v:\nstdout:\n%s\nstderr:\n%s\nwant stdout with %q and stderr with %q",
				args, r.stdout, r.stderr, wantStdout, wantStderr)
		}
	}
	f([]string{"frobnicate"}, 2, "", "infergate: unknown command \"frobnicate\"\n\ninfergate — a low-latency inference gateway")
	f([]string{"--config", "x.yaml"}, 2, "", `unknown command "--config"`)
	f(nil, 2, "", "Usage:\n  infergate serve")
	f([]string{"help"}, 0, "Usage:\n  infergate serve", "")
	// Usage errors exit 2 with the command's flags; -h exits 0.
	f([]string{"validate", "--bogus"}, 2, "", "flag provided but not defined: -bogus\nUsage of validate:\n  -config")
	f([]string{"serve", "configs/infergate.yaml"}, 2, "",
		`unexpected argument "configs/infergate.yaml": serve takes flags only (did you mean --config configs/infergate.yaml?)`)
	f([]string{"train", "--demo", "now"}, 2, "", `unexpected argument "now"`)
	f([]string{"validate", "-h"}, 0, "", "Usage of validate:\n  -config")
}

func TestValidateCommand(t *testing.T) {
	t.Parallel()
	def := filepath.Join("..", "..", "configs", "infergate.yaml")
	r := run(t, "", "validate", "--config", def)
	if r.code != 0 || r.stdout != def+": ok\n" || r.stderr != "" {
		t.Fatalf("validate the default config: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	example := filepath.Join("..", "..", "configs", "examples", "canary-shadow.yaml")
	if r := run(t, "", "validate", "--config", example); r.code != 0 || r.stdout != example+": ok\n" {
		t.Fatalf("validate the router example: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	dir := t.TempDir()
	f := func(name, config string, wantLines ...string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, dir, "validate", "--config", name)
		want := strings.Join(wantLines, "\n") + "\n"
		if r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Fatalf("validate %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", name, r.code, r.stdout, r.stderr, want)
		}
	}
	f("invalid.yaml", `server:
  listen: 127.0.0.1:9000
  admin_listen: 127.0.0.1:9000
  timeout: 20s
routes:
  - name: customer-churn
    batching:
      max_batch_size: 4
      preferred_batch_sizes: [0, 8]
      instances: -1
  - name: customer-churn
auth: {mode: off, admin: {mode: off}}
log:
  level: loud
`,
		"infergate validate: invalid.yaml is invalid:",
		"server.admin_listen: must differ from server.listen (127.0.0.1:9000)",
		"server.timeout: 20s is above server.max_timeout 10s",
		"routes[customer-churn].batching.preferred_batch_sizes[0]: must be at least 1, got 0",
		"routes[customer-churn].batching.preferred_batch_sizes[1]: 8 is above max_batch_size 4",
		"routes[customer-churn].batching.instances: must be at least 1, got -1",
		`routes[1].name: duplicate route "customer-churn" (routes[0] has it already); route names must be unique`,
		`log.level: "loud" is not debug, info, warn or error`)
	f("typos.yaml", "server:\n  timeout: fast\nroutes:\n  - name: customer-churn\n    batching:\n      max_batch: 8\n",
		"infergate validate: typos.yaml: cannot decode config:",
		`line 2: server.timeout: "fast" is not a duration such as "250ms" or "2s"`,
		"line 6: routes[customer-churn].batching.max_batch: unknown key; configs/infergate.yaml lists the keys")
	f("empty.yaml", "",
		"infergate validate: empty.yaml is invalid:",
		"routes: at least one route is needed; see configs/infergate.yaml",
		"auth.keys: auth.mode keys needs at least one key; make one with `infergate keys new`, or set auth.mode: off to let every request through",
		"auth.admin.token_sha256: must be set in token mode; make a token with `infergate keys new` and put its sha256 here, or set auth.admin.mode: off to leave the admin API open")

	r = run(t, dir, "validate", "--config", "missing.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot read config: open missing.yaml: no such file or directory") {
		t.Fatalf("validate a missing file: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
