package runtime

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigApplyDefaults(t *testing.T) {
	t.Parallel()
	f := func(in, want Config) {
		t.Helper()
		in.ApplyDefaults()
		if in != want {
			t.Errorf("ApplyDefaults: got %+v, want %+v", in, want)
		}
	}
	const every = DefaultTelemetryInterval
	f(Config{}, Config{IntraOpThreads: DefaultIntraOpThreads, InterOpThreads: DefaultInterOpThreads, GPUTelemetryInterval: every})
	f(Config{IntraOpThreads: 4}, Config{IntraOpThreads: 4, InterOpThreads: DefaultInterOpThreads, GPUTelemetryInterval: every})
	f(Config{LibraryPath: "/x.so", InterOpThreads: 2, GPUTelemetryInterval: time.Second},
		Config{LibraryPath: "/x.so", IntraOpThreads: DefaultIntraOpThreads, InterOpThreads: 2, GPUTelemetryInterval: time.Second})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	// want lists the expected error lines; none means valid.
	f := func(c Config, want ...string) {
		t.Helper()
		err := c.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("Validate(%+v): unexpected error: %s", c, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("Validate(%+v): no error, want %q", c, want)
		}
		if got := err.Error(); got != strings.Join(want, "\n") {
			t.Errorf("Validate(%+v):\ngot  %q\nwant %q", c, got, strings.Join(want, "\n"))
		}
	}
	f(Config{IntraOpThreads: 1, InterOpThreads: 1})
	f(Config{IntraOpThreads: 8, InterOpThreads: 2, LibraryPath: "/opt/ort/libonnxruntime.so"})
	f(Config{InterOpThreads: 1}, "runtime.intra_op_threads: must be >= 1, got 0")
	f(Config{IntraOpThreads: 1, InterOpThreads: -3}, "runtime.inter_op_threads: must be >= 1, got -3")
	f(Config{IntraOpThreads: -1, InterOpThreads: 0},
		"runtime.intra_op_threads: must be >= 1, got -1",
		"runtime.inter_op_threads: must be >= 1, got 0")
	f(Config{IntraOpThreads: 1, InterOpThreads: 1, LibraryPath: "a\x00b"}, "runtime.library_path: must not contain a NUL byte")
}

// The FindLibrary tests use t.Setenv, which rules out t.Parallel.

func TestDefaultLibraryPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got, want := DefaultLibraryPath(), "/xdg/infergate/onnxruntime-"+LibraryVersion+"/libonnxruntime.so.1"; got != want {
		t.Errorf("with XDG_CACHE_HOME: got %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got, want := DefaultLibraryPath(), "/home/u/.cache/infergate/onnxruntime-"+LibraryVersion+"/libonnxruntime.so.1"; got != want {
		t.Errorf("without XDG_CACHE_HOME: got %q, want %q", got, want)
	}
	t.Setenv("HOME", "")
	if got := DefaultLibraryPath(); got != "" {
		t.Errorf("without XDG_CACHE_HOME and HOME: got %q, want \"\"", got)
	}
}

func TestFindLibraryOrder(t *testing.T) {
	dir := t.TempDir()
	configured := touch(t, filepath.Join(dir, "configured.so"))
	fromEnv := touch(t, filepath.Join(dir, "env.so"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg"))
	def := touch(t, DefaultLibraryPath())

	f := func(configuredPath, env, want string) {
		t.Helper()
		t.Setenv(LibraryEnv, env)
		got, err := FindLibrary(configuredPath)
		if err != nil {
			t.Fatalf("FindLibrary(%q) with %s=%q: %s", configuredPath, LibraryEnv, env, err)
		}
		if got != want {
			t.Errorf("FindLibrary(%q) with %s=%q: got %q, want %q", configuredPath, LibraryEnv, env, got, want)
		}
	}
	f(configured, fromEnv, configured)
	f(configured, "", configured)
	f("", fromEnv, fromEnv)
	f("", "", def)
}

func TestFindLibraryNotFound(t *testing.T) {
	dir := t.TempDir()
	present := touch(t, filepath.Join(dir, "present.so"))
	missing := filepath.Join(dir, "missing.so")
	xdg := filepath.Join(dir, "xdg")

	// wantNotExist says the error must also match fs.ErrNotExist.
	f := func(configured, env string, wantNotExist bool, wantParts ...string) {
		t.Helper()
		t.Setenv("XDG_CACHE_HOME", xdg)
		t.Setenv(LibraryEnv, env)
		got, err := FindLibrary(configured)
		if err == nil {
			t.Fatalf("FindLibrary(%q) with %s=%q: got %q, want an error", configured, LibraryEnv, env, got)
		}
		if !errors.Is(err, ErrLibraryNotFound) {
			t.Errorf("error %q does not match ErrLibraryNotFound", err)
		}
		if errors.Is(err, fs.ErrNotExist) != wantNotExist {
			t.Errorf("error %q: errors.Is(fs.ErrNotExist) = %v, want %v", err, !wantNotExist, wantNotExist)
		}
		wantParts = append(wantParts, "run `make setup` to install ONNX Runtime, or set INFERGATE_ORT_LIB / runtime.library_path")
		for _, part := range wantParts {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not mention %q", err, part)
			}
		}
	}
	f(missing, "", true, `tried runtime.library_path "`+missing+`"`, "no such file or directory")
	// A configured path that is wrong must not fall through to a valid env var.
	f(missing, present, true, `tried runtime.library_path "`+missing+`"`)
	f("", missing, true, `tried $INFERGATE_ORT_LIB "`+missing+`"`)
	f("", "", true, `tried the default install folder "`+xdg+"/infergate/onnxruntime-1.30.0/libonnxruntime.so.1"+`"`)
	f(dir, "", false, `"`+dir+`": is a directory`)

	t.Setenv("HOME", "")
	xdg = ""
	f("", "", false, "neither $XDG_CACHE_HOME nor $HOME is set")
}

// touch creates an empty file at p, with its parent folders.
func touch(tb testing.TB, p string) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
