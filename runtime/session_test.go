package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/onnxpb"
)

func TestSessionMetadata(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s := testSession(t, e, newLogistic(1, 14).model(t), SessionOptions{MaxBatch: 64})

	wantIn := []TensorInfo{{Name: "features", ElemType: "float32", Shape: []int64{-1, 14}}}
	wantOut := []TensorInfo{{Name: "probability", ElemType: "float32", Shape: []int64{-1, 1}}}
	if got := s.Inputs(); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("Inputs() = %+v, want %+v", got, wantIn)
	}
	if got := s.Outputs(); !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Outputs() = %+v, want %+v", got, wantOut)
	}
	s.Inputs()[0].Shape[0] = 99
	if got := s.Inputs(); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("Inputs() returns the session's own shapes: after a write got %+v", got)
	}
	if s.MaxBatch() != 64 || s.InputRowSize(0) != 14 || s.OutputRowSize(0) != 1 {
		t.Errorf("MaxBatch, InputRowSize, OutputRowSize = %d, %d, %d; want 64, 14, 1", s.MaxBatch(), s.InputRowSize(0), s.OutputRowSize(0))
	}
	if len(s.Input(0, 7)) != 7*14 || len(s.Output(0, 7)) != 7 {
		t.Errorf("Input(0, 7) has %d values, Output(0, 7) %d; want 98, 7", len(s.Input(0, 7)), len(s.Output(0, 7)))
	}
}

// predictor is a model together with its pure-Go reference.
type predictor interface {
	model(tb testing.TB) string
	predict(row []float32) float64
}

func TestRunMatchesReference(t *testing.T) {
	t.Parallel()
	const features, maxBatch = 14, 64
	for _, c := range []struct {
		name string
		p    predictor
	}{
		{"logistic", newLogistic(7, features)},
		{"mlp", newMLP(8, features, 32)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testEnv(t)
			s := testSession(t, e, c.p.model(t), SessionOptions{MaxBatch: maxBatch})
			rng := rand.New(rand.NewPCG(42, 0))
			// 7 comes twice: the second time its cached tensors are reused
			// after a run at another batch size.
			for _, rows := range []int{1, 7, maxBatch, 7} {
				in := s.Input(0, rows)
				for i := range in {
					in[i] = rng.Float32()*4 - 2
				}
				if err := s.Run(rows); err != nil {
					t.Fatalf("Run(%d): %s", rows, err)
				}
				out := s.Output(0, rows)
				for r := range rows {
					want := c.p.predict(in[r*features : (r+1)*features])
					if d := math.Abs(float64(out[r]) - want); d > 1e-6 {
						t.Errorf("batch %d row %d: got %.9f, want %.9f (off by %.2g)", rows, r, out[r], want, d)
					}
				}
			}
		})
	}
}

func TestRunRejectsBatchSize(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s := testSession(t, e, newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 8})
	f := func(rows int) {
		t.Helper()
		err := s.Run(rows)
		if !errors.Is(err, ErrBatchSize) {
			t.Errorf("Run(%d): got %v, want ErrBatchSize", rows, err)
		} else if want := fmt.Sprintf("on %d rows: batch size out of range [1, 8]", rows); !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%d): %q does not say %q", rows, err, want)
		}
	}
	f(0)
	f(-1)
	f(9)
}

func TestFixedBatchModel(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	fixed := []onnxpb.Dim{{Value: 4}, {Value: 3}}
	path := passThrough(t, "Identity",
		onnxpb.ValueInfo{Name: "x", Type: onnxpb.Float, Shape: fixed},
		onnxpb.ValueInfo{Name: "y", Type: onnxpb.Float, Shape: fixed})
	s := testSession(t, e, path, SessionOptions{MaxBatch: 4})
	// Fewer rows than the fixed batch: the model computes all four, the
	// caller reads its two.
	copy(s.Input(0, 2), []float32{1, 2, 3, 4, 5, 6})
	if err := s.Run(2); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Output(0, 2), []float32{1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("Output(0, 2) = %v, want %v", got, want)
	}
}

func TestNewSessionRejects(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("\x00\x01 this is not an ONNX model"), 0o600); err != nil {
		t.Fatal(err)
	}
	float := func(name string, dims ...onnxpb.Dim) onnxpb.ValueInfo {
		return onnxpb.ValueInfo{Name: name, Type: onnxpb.Float, Shape: dims}
	}
	batch, three := onnxpb.Dim{Param: "batch"}, onnxpb.Dim{Value: 3}

	f := func(name, path string, opts SessionOptions, want error, wantParts ...string) {
		t.Helper()
		s, err := e.NewSession(path, opts)
		if err == nil {
			_ = s.Close()
			t.Errorf("%s: NewSession succeeded, want an error", name)
			return
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: %q does not match %q", name, err, want)
		}
		for _, part := range wantParts {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: %q does not mention %q", name, err, part)
			}
		}
	}
	ok := SessionOptions{MaxBatch: 8}

	f("int64 input", passThrough(t, "Identity",
		onnxpb.ValueInfo{Name: "ids", Type: onnxpb.Int64, Shape: []onnxpb.Dim{batch, three}},
		onnxpb.ValueInfo{Name: "out", Type: onnxpb.Int64, Shape: []onnxpb.Dim{batch, three}}),
		ok, ErrUnsupportedModel, `input "ids" has element type int64`)
	f("int64 output", passThrough(t, "Cast",
		float("x", batch, three),
		onnxpb.ValueInfo{Name: "label", Type: onnxpb.Int64, Shape: []onnxpb.Dim{batch, three}},
		onnxpb.IntAttr("to", int64(onnxpb.Int64))),
		ok, ErrUnsupportedModel, `output "label" has element type int64`)
	f("dynamic feature dimension", passThrough(t, "Identity",
		float("x", batch, onnxpb.Dim{Param: "n"}), float("y", batch, onnxpb.Dim{Param: "n"})),
		ok, ErrUnsupportedModel, `input "x" has shape [-1 -1]: dimension 1 must be fixed`)
	f("scalar", passThrough(t, "Identity", float("x"), float("y")),
		ok, ErrUnsupportedModel, `input "x" is a scalar`)
	f("fixed batch other than MaxBatch", passThrough(t, "Identity",
		float("x", onnxpb.Dim{Value: 4}, three), float("y", onnxpb.Dim{Value: 4}, three)),
		ok, ErrUnsupportedModel, `input "x" has a fixed batch dimension of 4 but MaxBatch is 8`)
	f("absurd MaxBatch", newLogistic(1, 14).model(t), SessionOptions{MaxBatch: math.MaxInt32},
		ErrUnsupportedModel, `input "features" has 14 elements per row`)

	f("missing file", filepath.Join(dir, "missing.onnx"), ok, fs.ErrNotExist, "cannot load model", "missing.onnx")
	f("garbage bytes", garbage, ok, ErrModelLoad, "garbage.onnx")

	model := newLogistic(1, 3).model(t)
	f("no MaxBatch", model, SessionOptions{}, nil, "MaxBatch: must be >= 1, got 0")
	f("negative threads", model, SessionOptions{MaxBatch: 1, IntraOpThreads: -2}, nil, "IntraOpThreads: must be >= 0, got -2")
}

func TestSessionClose(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s, err := e.NewSession(newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 4, WarmupRuns: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(3); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close #%d: %s", i+1, err)
		}
	}
	if err := s.Run(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}
	// What NewSession leaves behind when it fails before loading anything.
	if err := new(Session).Close(); err != nil {
		t.Errorf("Close of an empty Session: %s", err)
	}
}

// TestRunDoesNotAllocate guards the hot path: once a batch size has run, Run
// must not allocate. Each cached batch size has its own IoBinding, and
// RunWithBinding passes nothing but that pointer to ONNX Runtime.
// DynamicAdvancedSession.Run, the alternative, allocated 4 objects (32 B) per
// call in onnxruntime_go v1.35.0: two []*C.OrtValue per call plus two
// *ValueInternalData from the Value interface, and was about 20% slower.
//
// It is not parallel: AllocsPerRun counts the whole process's allocations.
func TestRunDoesNotAllocate(t *testing.T) {
	e := testEnv(t)
	s := testSession(t, e, newMLP(3, 14, 32).model(t), SessionOptions{MaxBatch: 64})
	for _, rows := range []int{1, 64, 7} {
		var err error
		if err = s.Run(rows); err != nil { // 7 is not warmed up: cache it first
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if e := s.Run(rows); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("Run(%d) allocates %v objects per call, want 0", rows, allocs)
		}
	}
}
