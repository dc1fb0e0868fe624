package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/runtime"
)

// TestMain fails the run if a test leaked a hold on the ONNX Runtime
// environment (see environmentFree).
func TestMain(m *testing.M) {
	code := m.Run()
	if err := environmentFree(); err != nil {
		fmt.Fprintf(os.Stderr, "target: %s\n", err)
		code = 1
	}
	os.Exit(code)
}

// environmentFree reports whether no one in the process holds the ONNX
// Runtime environment, from outside package runtime: opening another
// library is refused with ErrLibraryConflict while the environment is held,
// and otherwise fails to load it (ErrLibraryLoad), since it is not a
// library at all.
func environmentFree() error {
	dir, err := os.MkdirTemp("", "target-env")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	other := filepath.Join(dir, "libother.so")
	if err := os.WriteFile(other, []byte("not a library"), 0o600); err != nil {
		return err
	}
	env, err := runtime.Open(runtime.Config{LibraryPath: other})
	switch {
	case err == nil:
		_ = env.Close()
		return errors.New("BUG: a file that is not a library opened as ONNX Runtime")
	case errors.Is(err, runtime.ErrLibraryConflict):
		return errors.New("the ONNX Runtime environment is still held: a session or handle leaked")
	case errors.Is(err, runtime.ErrLibraryLoad):
		return nil
	}
	return fmt.Errorf("probing the environment: %w", err)
}

// writeLogistic writes sigmoid(features·W + B), features [batch, width]
// and probability [batch, 1]: the trainer's logistic regression.
func writeLogistic(tb testing.TB, width int) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, width)
	for i := range w {
		w[i] = rng.Float32()*2 - 1
	}
	dims := func(n int64) []onnxpb.Dim { return []onnxpb.Dim{{Param: "batch"}, {Value: n}} }
	m := &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "logistic",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"features", "W", "B"}, Outputs: []string{"logit"}},
			{Op: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"probability"}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{int64(width), 1}, Data: w},
			{Name: "B", Dims: []int64{1}, Data: []float32{0.1}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "features", Type: onnxpb.Float, Shape: dims(int64(width))}},
		Outputs: []onnxpb.ValueInfo{{Name: "probability", Type: onnxpb.Float, Shape: dims(1)}},
	}}
	p := filepath.Join(tb.TempDir(), "model.onnx")
	if err := os.WriteFile(p, m.Marshal(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func newRuntime(tb testing.TB, cfg RuntimeConfig) *Runtime {
	tb.Helper()
	r, err := NewRuntime(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Error(err)
		}
	})
	return r
}

func TestRuntimeConcurrentCallers(t *testing.T) {
	t.Parallel()
	const sessions, callers, each = 2, 8, 100
	r := newRuntime(t, RuntimeConfig{ModelPath: writeLogistic(t, 16), Sessions: sessions, Rows: 37, Seed: 5})
	if len(r.rows) != 1 || r.width[0] != 16 || len(r.rows[0]) != 37*16 {
		t.Fatalf("rows: %d inputs, width %v, %d values; want 1 input of 37 rows of 16", len(r.rows), r.width, len(r.rows[0]))
	}
	var inUse [sessions]atomic.Int32
	var busy, maxBusy atomic.Int32
	var runs atomic.Int64
	r.hook = func(slot int, enter bool) {
		if !enter {
			inUse[slot].Add(-1)
			busy.Add(-1)
			return
		}
		runs.Add(1)
		if n := inUse[slot].Add(1); n != 1 {
			t.Errorf("session %d used by %d callers at once", slot, n)
		}
		b := busy.Add(1)
		for m := maxBusy.Load(); b > m && !maxBusy.CompareAndSwap(m, b); m = maxBusy.Load() {
		}
	}
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range each {
				status, err := r.Do(context.Background(), uint64(g*each+i))
				if err != nil || status != 200 {
					t.Errorf("Do = %d, %v; want 200", status, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := runs.Load(); n != callers*each {
		t.Errorf("%d runs, want %d", n, callers*each)
	}
	if m := maxBusy.Load(); m > sessions {
		t.Errorf("%d sessions busy at once, want at most %d", m, sessions)
	}
}

func TestRuntimeWaitAndClose(t *testing.T) {
	t.Parallel()
	r, err := NewRuntime(RuntimeConfig{ModelPath: writeLogistic(t, 4), Sessions: 1, Rows: 1})
	if err != nil {
		t.Fatal(err)
	}
	// One caller holds the only session until released.
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.hook = func(slot int, enter bool) {
		if enter {
			once.Do(func() { close(held); <-release })
		}
	}
	first := make(chan error, 1)
	go func() {
		status, err := r.Do(context.Background(), 0)
		if err == nil && status != 200 {
			err = fmt.Errorf("status %d", status)
		}
		first <- err
	}()
	<-held
	// A caller that finds no session waits until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Do(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Do while the session is busy, cancelled context: error %v, want context.Canceled", err)
	}
	// Close waits for the busy session; a waiting caller gets ErrClosed.
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	waiting := make(chan error, 1)
	go func() { _, err := r.Do(context.Background(), 2); waiting <- err }()
	if err := <-waiting; !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Do during Close: error %v, want ErrClosed", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("the caller holding the session during Close: %s", err)
	}
	if err := <-closed; err != nil {
		t.Error(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %s", err)
	}
	if _, err := r.Do(context.Background(), 3); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Do after Close: error %v, want ErrClosed", err)
	}
}

// TestRuntimeReleasesEnvironment inspects the process-wide environment, so
// it must not run beside tests that hold it: it does not call t.Parallel,
// and Go runs every sequential test before any parallel one.
func TestRuntimeReleasesEnvironment(t *testing.T) {
	if err := environmentFree(); err != nil {
		t.Fatalf("before the test: %s", err)
	}
	model := writeLogistic(t, 16)
	r, err := NewRuntime(RuntimeConfig{ModelPath: model, Sessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := r.Do(context.Background(), 0); err != nil || status != 200 {
		t.Errorf("Do = %d, %v; want 200", status, err)
	}
	if environmentFree() == nil {
		t.Error("the environment is free while a Runtime target is open")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := environmentFree(); err != nil {
		t.Errorf("after Close: %s", err)
	}

	// A failed start releases what it took.
	_, err = NewRuntime(RuntimeConfig{ModelPath: filepath.Join(t.TempDir(), "missing.onnx"), Sessions: 2})
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, runtime.ErrModelLoad) {
		t.Errorf("missing model: error %v, want ErrModelLoad and fs.ErrNotExist", err)
	}
	if err := environmentFree(); err != nil {
		t.Errorf("after a failed NewRuntime: %s", err)
	}

	// The environment starts again afterwards.
	r, err = NewRuntime(RuntimeConfig{ModelPath: model, Sessions: 1})
	if err != nil {
		t.Fatalf("NewRuntime after the environment was shut down: %s", err)
	}
	if status, err := r.Do(context.Background(), 0); err != nil || status != 200 {
		t.Errorf("Do = %d, %v; want 200", status, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewRuntimeErrors(t *testing.T) {
	t.Parallel()
	f := func(cfg RuntimeConfig, want string) {
		t.Helper()
		if _, err := NewRuntime(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewRuntime(%+v): error %v, want %q", cfg, err, want)
		}
	}
	f(RuntimeConfig{}, "ModelPath is required")
	f(RuntimeConfig{ModelPath: "m.onnx", Sessions: -1}, "Sessions: must be >= 0")
	f(RuntimeConfig{ModelPath: "m.onnx", IntraOpThreads: -1}, "IntraOpThreads: must be >= 0")
	f(RuntimeConfig{ModelPath: "m.onnx", Rows: -1}, "Rows: must be >= 0")
	f(RuntimeConfig{ModelPath: "m.onnx", Library: filepath.Join(t.TempDir(), "nolib.so")}, "ONNX Runtime library not found")
}
