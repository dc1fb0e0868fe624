package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// The tests in this file inspect the process-wide reference count, so they
// must not run beside tests that open environments: they do not call
// t.Parallel, and Go runs every sequential test before any parallel one.

func TestOpenRefCounting(t *testing.T) {
	if n := refs(); n != 0 {
		t.Fatalf("references before the test: %d, want 0", n)
	}
	e1, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := Open(Config{IntraOpThreads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n := refs(); n != 2 {
		t.Errorf("references after two Opens: %d, want 2", n)
	}
	if e1.LibraryPath() != e2.LibraryPath() || e1.Version() != e2.Version() {
		t.Errorf("handles disagree: %q %q vs %q %q", e1.LibraryPath(), e1.Version(), e2.LibraryPath(), e2.Version())
	}
	if e2.cfg.IntraOpThreads != 2 || e1.cfg.IntraOpThreads != DefaultIntraOpThreads {
		t.Errorf("thread defaults leaked between handles: %+v, %+v", e1.cfg, e2.cfg)
	}

	// Another library while one is open: refused before anything is loaded.
	other := touch(t, filepath.Join(t.TempDir(), "libother.so"))
	if _, err := Open(Config{LibraryPath: other}); !errors.Is(err, ErrLibraryConflict) {
		t.Errorf("Open with another library: got %v, want ErrLibraryConflict", err)
	} else if !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), e1.LibraryPath()) {
		t.Errorf("conflict error %q should name both libraries", err)
	}
	// The same library by another name (a symlink) is the same environment.
	link := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.Symlink(e1.LibraryPath(), link); err != nil {
		t.Fatal(err)
	}
	e3, err := Open(Config{LibraryPath: link})
	if err != nil {
		t.Errorf("Open through a symlink to the open library: %s", err)
	} else if err := e3.Close(); err != nil {
		t.Error(err)
	}

	for _, c := range []struct {
		name string
		e    *Environment
		want int
	}{{"first Close of e1", e1, 1}, {"second Close of e1", e1, 1}, {"Close of e2", e2, 0}} {
		if err := c.e.Close(); err != nil {
			t.Errorf("%s: %s", c.name, err)
		}
		if n := refs(); n != c.want {
			t.Errorf("references after %s: %d, want %d", c.name, n, c.want)
		}
	}
	if ort.IsInitialized() {
		t.Error("ONNX Runtime still initialised after the last Close")
	}
	if _, err := e1.NewSession("unused.onnx", SessionOptions{MaxBatch: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession on a closed handle: got %v, want ErrClosed", err)
	}

	// After the last Close, the environment can start again.
	e4, err := Open(Config{})
	if err != nil {
		t.Fatalf("Open after the last Close: %s", err)
	}
	if err := e4.Close(); err != nil {
		t.Error(err)
	}
}

func TestSessionOutlivesEnvironmentHandle(t *testing.T) {
	e, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := newLogistic(1, 3)
	s, err := e.NewSession(l.model(t), SessionOptions{MaxBatch: 2})
	if err != nil {
		_ = e.Close()
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
	if !ort.IsInitialized() || refs() != 1 {
		t.Fatalf("closing the handle under a live session: initialised=%v references=%d, want true 1", ort.IsInitialized(), refs())
	}
	copy(floatRows(t, s, 1)[0], []float32{0.5, -0.25, 1})
	if err := s.Run(); err != nil {
		t.Errorf("Run after the handle was closed: %s", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if ort.IsInitialized() || refs() != 0 {
		t.Errorf("after the session's Close: initialised=%v references=%d, want false 0", ort.IsInitialized(), refs())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "libonnxruntime.so.1")
	if err := os.WriteFile(garbage, []byte("not a shared library"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(cfg Config, want error, wantParts ...string) {
		t.Helper()
		e, err := Open(cfg)
		if err == nil {
			_ = e.Close()
			t.Fatalf("Open(%+v): no error", cfg)
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("Open(%+v): %q does not match %q", cfg, err, want)
		}
		for _, part := range wantParts {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("Open(%+v): %q does not mention %q", cfg, err, part)
			}
		}
		if refs() != 0 || ort.IsInitialized() {
			t.Errorf("Open(%+v) failed but left references=%d initialised=%v", cfg, refs(), ort.IsInitialized())
		}
	}
	f(Config{LibraryPath: filepath.Join(dir, "missing.so")}, ErrLibraryNotFound, "make setup")
	f(Config{LibraryPath: garbage}, ErrLibraryLoad, garbage, "make setup")
	f(Config{IntraOpThreads: -1}, nil, "runtime.intra_op_threads: must be >= 1, got -1")

	// A failed load must not poison the next Open.
	e, err := Open(Config{})
	if err != nil {
		t.Fatalf("Open after a failed Open: %s", err)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
}

func TestEnvironmentInfo(t *testing.T) {
	e := testEnv(t)
	if e.Version() == "" {
		t.Error("Version is empty")
	}
	if e.LibraryPath() == DefaultLibraryPath() && e.Version() != LibraryVersion {
		t.Errorf("the installed library reports version %q, want %q", e.Version(), LibraryVersion)
	}
	p := e.Providers()
	if !slices.Contains(p, CPUExecutionProvider) {
		t.Errorf("Providers() = %q, want it to contain %q", p, CPUExecutionProvider)
	}
	p[0] = "mutated"
	if e.Providers()[0] == "mutated" {
		t.Error("Providers returns the handle's own slice")
	}
	t.Logf("ONNX Runtime %s from %s, providers %q", e.Version(), e.LibraryPath(), e.Providers())
}
