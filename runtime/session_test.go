package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
)

func TestSessionMetadata(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s := testSession(t, e, newLogistic(1, 14).model(t), SessionOptions{MaxBatch: 64})

	wantIn := []TensorInfo{{Name: "features", DType: tensor.Float32, Shape: []int64{-1, 14}}}
	wantOut := []TensorInfo{{Name: "probability", DType: tensor.Float32, Shape: []int64{-1, 1}}}
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
	if s.MaxBatch() != 64 || !s.Batchable() {
		t.Errorf("MaxBatch, Batchable = %d, %v; want 64, true", s.MaxBatch(), s.Batchable())
	}
	if got := len(floatRows(t, s, 7)[0]); got != 7*14 {
		t.Errorf("Input of 7 rows has %d values, want 98", got)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if out := s.Output(0); !slices.Equal(out.Shape, []int64{7, 1}) || len(out.Data) != 7*4 {
		t.Errorf("output of 7 rows: shape %v, %d bytes", out.Shape, len(out.Data))
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
			// 7 comes twice: the second time its cached binding is reused
			// after a run at another batch size.
			for _, rows := range []int{1, 7, maxBatch, 7} {
				in := floatRows(t, s, rows)[0]
				for i := range in {
					in[i] = rng.Float32()*4 - 2
				}
				if err := s.Run(); err != nil {
					t.Fatalf("Run on %d rows: %s", rows, err)
				}
				out := outFloats(s, 0)
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

func TestInputRejectsShapes(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s := testSession(t, e, newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 8})
	f := func(shape []int64, want error, msg string) {
		t.Helper()
		_, err := s.Input(0, shape)
		if !errors.Is(err, want) {
			t.Errorf("Input(%v): got %v, want %v", shape, err, want)
		} else if !strings.Contains(err.Error(), msg) {
			t.Errorf("Input(%v): %q does not say %q", shape, err, msg)
		}
	}
	f([]int64{0, 3}, ErrBatchSize, "on 0 rows: batch size out of range [1, 8]")
	f([]int64{-1, 3}, ErrBatchSize, "on -1 rows")
	f([]int64{9, 3}, ErrBatchSize, "on 9 rows: batch size out of range [1, 8]")
	f([]int64{2, 4}, ErrShape, `input "features" of model`)
	f([]int64{2, 4}, ErrShape, "has shape [-1,3], got [2,4]: dimension 1 must be 3")
	f([]int64{2}, ErrShape, "has 2 dimensions [-1,3], got 1: [2]")

	cold, err := e.NewSession(newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 8, WarmupRuns: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cold.Close() }()
	if err := cold.Run(); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "was not given a shape") {
		t.Errorf("Run before any Input: got %v, want ErrShape", err)
	}
}

// TestFixedFirstDimension: a model whose first dimension is fixed (as
// openWakeWord's [1,25,96]) is not batchable; it runs its own shape.
func TestFixedFirstDimension(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	fixed := []onnxpb.Dim{{Value: 4}, {Value: 3}}
	path := passThrough(t, "Identity",
		onnxpb.ValueInfo{Name: "x", Type: onnxpb.Float, Shape: fixed},
		onnxpb.ValueInfo{Name: "y", Type: onnxpb.Float, Shape: fixed})
	s := testSession(t, e, path, SessionOptions{MaxBatch: 16})
	if s.Batchable() || s.MaxBatch() != 1 {
		t.Errorf("Batchable, MaxBatch = %v, %d; want false, 1", s.Batchable(), s.MaxBatch())
	}
	if _, err := s.Input(0, []int64{2, 3}); !errors.Is(err, ErrShape) {
		t.Errorf("Input of 2 rows: got %v, want ErrShape", err)
	}
	in, err := s.Input(0, []int64{4, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	copy(tensor.Float32s(in.Data), want)
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if got := outFloats(s, 0); !slices.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
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
	identity := passThrough(t, "Identity", float("x", batch, three), float("y", batch, three))

	float8 := writeModel(t, &onnxpb.Model{Opset: 19, Graph: onnxpb.Graph{
		Name:    "float8",
		Nodes:   []onnxpb.Node{{Op: "Identity", Inputs: []string{"z"}, Outputs: []string{"w"}}},
		Inputs:  []onnxpb.ValueInfo{{Name: "z", Type: onnxpb.Float8E4M3FN, Shape: []onnxpb.Dim{batch}}},
		Outputs: []onnxpb.ValueInfo{{Name: "w", Type: onnxpb.Float8E4M3FN, Shape: []onnxpb.Dim{batch}}},
	}})
	f("float8 input", float8, ok, ErrUnsupportedModel, `input "z" has element type`, "which infergate cannot exchange")
	f("string scalar", passThrough(t, "Identity",
		onnxpb.ValueInfo{Name: "s", Type: onnxpb.String}, onnxpb.ValueInfo{Name: "t", Type: onnxpb.String}),
		ok, ErrUnsupportedModel, `input "s" is a string scalar, which onnxruntime_go cannot make`)
	f("shape of another rank", identity, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"x": {-1, 3, 1}}},
		ErrUnsupportedModel, `tensor "x"`, "shape [-1,3,1] has 3 dimensions, the model's [-1,3] has 2")
	f("shape against a fixed dimension", identity, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"y": {-1, 4}}},
		ErrUnsupportedModel, `tensor "y"`, "dimension 1 is fixed at 3 by the model")
	f("shape of an unknown tensor", identity, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"X": {-1, 3}}},
		ErrUnsupportedModel, `a shape is given for "X", which is not an input or output of the model`)
	f("shape with a zero", identity, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"x": {-1, 0}}},
		ErrUnsupportedModel, "dimension 1 must be -1 (dynamic) or positive")

	f("missing file", filepath.Join(dir, "missing.onnx"), ok, fs.ErrNotExist, "cannot load model", "missing.onnx")
	f("garbage bytes", garbage, ok, ErrModelLoad, "garbage.onnx")

	model := newLogistic(1, 3).model(t)
	f("no MaxBatch", model, SessionOptions{}, nil, "MaxBatch: must be >= 1, got 0")
	f("negative threads", model, SessionOptions{MaxBatch: 1, IntraOpThreads: -2}, nil, "IntraOpThreads: must be >= 0, got -2")
}

// TestElementTypes passes every element type through Identity, batched,
// as a scalar and as a string tensor: what goes in comes out, byte for byte.
func TestElementTypes(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	types := map[tensor.DType]onnxpb.ElemType{
		tensor.Float32: onnxpb.Float, tensor.Float64: onnxpb.Double, tensor.Float16: onnxpb.Float16,
		tensor.BFloat16: onnxpb.BFloat16, tensor.Int8: onnxpb.Int8, tensor.Int16: onnxpb.Int16,
		tensor.Int32: onnxpb.Int32, tensor.Int64: onnxpb.Int64, tensor.Uint8: onnxpb.Uint8,
		tensor.Uint16: onnxpb.Uint16, tensor.Uint32: onnxpb.Uint32, tensor.Uint64: onnxpb.Uint64,
		tensor.Bool: onnxpb.Bool, tensor.String: onnxpb.String,
	}
	for dt, et := range types {
		for _, scalar := range []bool{false, true} {
			if scalar && (dt == tensor.Float16 || dt == tensor.BFloat16 || dt == tensor.String) {
				continue // onnxruntime_go cannot make those (NewSession refuses them)
			}
			name := fmt.Sprintf("%s/scalar=%v", dt, scalar)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(dt), 5)) // one per subtest: they run in parallel
				dims := []onnxpb.Dim{{Param: "batch"}, {Value: 2}}
				if scalar {
					dims = nil
				}
				path := passThrough(t, "Identity", onnxpb.ValueInfo{Name: "x", Type: et, Shape: dims}, onnxpb.ValueInfo{Name: "y", Type: et, Shape: dims})
				s := testSession(t, e, path, SessionOptions{MaxBatch: 4})
				shape := []int64{3, 2}
				if scalar {
					shape = []int64{}
				}
				in, err := s.Input(0, shape)
				if err != nil {
					t.Fatal(err)
				}
				for i := range in.Strings {
					in.Strings[i] = []byte(fmt.Sprintf("s%d-%d", i, rng.IntN(1000)))
				}
				for i := range in.Data {
					in.Data[i] = byte(rng.IntN(256))
					if dt == tensor.Bool {
						in.Data[i] &= 1
					}
				}
				want := slices.Clone(in.Data)
				wantStrings := slices.Clone(in.Strings)
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				out := s.Output(0)
				if !slices.Equal(out.Shape, shape) || !bytes.Equal(out.Data, want) && dt != tensor.String {
					t.Errorf("output %v % x, want %v % x", out.Shape, out.Data, shape, want)
				}
				if dt == tensor.String && !slices.EqualFunc(out.Strings, wantStrings, bytes.Equal) {
					t.Errorf("output strings %q, want %q", out.Strings, wantStrings)
				}
			})
		}
	}
}

// TestDynamicDimensions runs a model whose dimensions are all dynamic: on
// whatever shape it is given, with outputs ONNX Runtime sizes itself, and,
// narrowed by Shapes, through the cached bindings.
func TestDynamicDimensions(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	dims := []onnxpb.Dim{{Param: "batch"}, {Param: "n"}}
	path := passThrough(t, "Neg", onnxpb.ValueInfo{Name: "x", Type: onnxpb.Float, Shape: dims}, onnxpb.ValueInfo{Name: "y", Type: onnxpb.Float, Shape: dims})
	run := func(s *Session, shape []int64) {
		t.Helper()
		in, err := s.Input(0, shape)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.Float32s(in.Data)
		for i := range x {
			x[i] = float32(i)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		out := s.Output(0)
		got := tensor.Float32s(out.Data)
		if !slices.Equal(out.Shape, shape) || len(got) != len(x) {
			t.Fatalf("output shape %v with %d values, want %v", out.Shape, len(got), shape)
		}
		for i := range got {
			if got[i] != -x[i] {
				t.Fatalf("y[%d] = %g, want %g", i, got[i], -x[i])
			}
		}
	}
	s := testSession(t, e, path, SessionOptions{MaxBatch: 8})
	if s.bindable {
		t.Error("a model whose output shape is unknown before it runs uses bindings")
	}
	run(s, []int64{2, 3})
	run(s, []int64{1, 5})
	run(s, []int64{8, 1})

	narrowed := testSession(t, e, path, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"x": {-1, 3}, "y": {-1, 3}}})
	if !narrowed.bindable {
		t.Error("narrowed to [-1,3], the model still runs without bindings")
	}
	if got := narrowed.Inputs()[0].Shape; !slices.Equal(got, []int64{-1, 3}) {
		t.Errorf("narrowed input shape %v", got)
	}
	run(narrowed, []int64{2, 3})
	run(narrowed, []int64{5, 3})
	if _, err := narrowed.Input(0, []int64{2, 4}); !errors.Is(err, ErrShape) {
		t.Errorf("a narrowed dimension takes another size: %v", err)
	}
}

// TestSeveralInputsAndOutputs: two inputs of different types, three
// outputs of two types.
func TestSeveralInputsAndOutputs(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	path := writeModel(t, testmodels.Mixed())
	s := testSession(t, e, path, SessionOptions{MaxBatch: 4})
	x, err := s.Input(0, []int64{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Input(1, []int64{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	copy(tensor.Float32s(x.Data), []float32{0.5, 1, 1.5, 2})
	copy(ids.Data, tensor.BytesOf([]int64{1, 2, 3, -4}))
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if got := outFloats(s, 0); !slices.Equal(got, []float32{1.5, 3, 4.5, -2}) {
		t.Errorf("sum = %v", got)
	}
	if got := outFloats(s, 1); !slices.Equal(got, []float32{0.5, 2, 4.5, -8}) {
		t.Errorf("product = %v", got)
	}
	if echo := s.Output(2); echo.DType != tensor.Int64 || !bytes.Equal(echo.Data, tensor.BytesOf([]int64{1, 2, 3, -4})) {
		t.Errorf("echo = %s % x", echo.DType, echo.Data)
	}
	// Inputs whose batch sizes disagree.
	if _, err := s.Input(1, []int64{3, 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), `input "x" has 2 rows, input "ids" has 3`) {
		t.Errorf("Run with 2 and 3 rows: %v", err)
	}
}

// TestRealModels runs PaddleOCR's direction classifier (dynamic batch,
// height and width; narrowed to 48×192 as PaddleOCR feeds it) and
// openWakeWord's detector (no batch dimension) from their npm packages.
func TestRealModels(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	t.Run("ocr", func(t *testing.T) {
		t.Parallel()
		path := testmodels.Path(t, testmodels.OCRClassifier)
		ins, outs, err := e.Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ins, []TensorInfo{{Name: "x", DType: tensor.Float32, Shape: []int64{-1, 3, -1, -1}}}) ||
			!reflect.DeepEqual(outs, []TensorInfo{{Name: "softmax_0.tmp_0", DType: tensor.Float32, Shape: []int64{-1, 2}}}) {
			t.Fatalf("Inspect = %+v, %+v", ins, outs)
		}
		s := testSession(t, e, path, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"x": {-1, 3, 48, 192}}})
		if !s.Batchable() || !s.bindable {
			t.Fatalf("Batchable, bindable = %v, %v", s.Batchable(), s.bindable)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		batch := floatRows(t, s, 8)[0]
		for i := range batch {
			batch[i] = rng.Float32()*2 - 1
		}
		images := slices.Clone(batch)
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		all := slices.Clone(outFloats(s, 0))
		row := 3 * 48 * 192
		for r := range 8 {
			one := floatRows(t, s, 1)[0]
			copy(one, images[r*row:(r+1)*row])
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			got := outFloats(s, 0)
			if sum := got[0] + got[1]; math.Abs(float64(sum)-1) > 1e-5 {
				t.Errorf("image %d: softmax sums to %g", r, sum)
			}
			for k := range 2 {
				if d := math.Abs(float64(got[k] - all[2*r+k])); d > 1e-5 {
					t.Errorf("image %d class %d: %g alone, %g in a batch of 8", r, k, got[k], all[2*r+k])
				}
			}
		}
	})
	t.Run("wakeword", func(t *testing.T) {
		t.Parallel()
		s := testSession(t, e, testmodels.Path(t, testmodels.WakeWord), SessionOptions{MaxBatch: 8})
		if s.Batchable() || s.MaxBatch() != 1 {
			t.Fatalf("Batchable, MaxBatch = %v, %d; want false, 1", s.Batchable(), s.MaxBatch())
		}
		in, err := s.Input(0, []int64{1, 25, 96})
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.Float32s(in.Data)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		out := s.Output(0)
		if p := outFloats(s, 0)[0]; !slices.Equal(out.Shape, []int64{1, 1}) || p < 0 || p > 1 {
			t.Errorf("output %v = %g, want one score in [0, 1]", out.Shape, p)
		}
	})
}

func TestSessionClose(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	s, err := e.NewSession(newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 4, WarmupRuns: -1})
	if err != nil {
		t.Fatal(err)
	}
	floatRows(t, s, 3)
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close #%d: %s", i+1, err)
		}
	}
	if err := s.Run(); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Input(0, []int64{1, 3}); !errors.Is(err, ErrClosed) {
		t.Errorf("Input after Close: got %v, want ErrClosed", err)
	}
	// What NewSession leaves behind when it fails before loading anything.
	if err := new(Session).Close(); err != nil {
		t.Errorf("Close of an empty Session: %s", err)
	}
}

// TestRunDoesNotAllocate guards the hot path: once a set of input shapes
// has run, Input with the same shape and Run must not allocate. Each cached
// shape has its own IoBinding, and RunWithBinding passes nothing but that
// pointer to ONNX Runtime. DynamicAdvancedSession.Run, the alternative,
// allocated 4 objects (32 B) per call in onnxruntime_go v1.35.0: two
// []*C.OrtValue per call plus two *ValueInternalData from the Value
// interface, and was about 20% slower.
//
// It is not parallel: AllocsPerRun counts the whole process's allocations.
func TestRunDoesNotAllocate(t *testing.T) {
	e := testEnv(t)
	s := testSession(t, e, newMLP(3, 14, 32).model(t), SessionOptions{MaxBatch: 64})
	for _, rows := range []int{1, 64, 7} {
		shape := rowShape(t, s, 0, rows)
		var err error
		if _, err = s.Input(0, shape); err != nil {
			t.Fatal(err)
		}
		if err = s.Run(); err != nil { // 7 is not warmed up: cache it first
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, e := s.Input(0, shape); e != nil {
				err = e
			}
			if e := s.Run(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("Input and Run of %d rows allocate %v objects per call, want 0", rows, allocs)
		}
	}
}

// TestCheck: Check runs a model once at its dynamic dimensions' smallest
// size and says what failed when it cannot.
func TestCheck(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	ins, outs, err := e.Check(newLogistic(1, 4).model(t), SessionOptions{})
	if err != nil || len(ins) != 1 || !slices.Equal(outs[0].Shape, []int64{-1, 1}) {
		t.Fatalf("Check of a logistic regression: %+v %+v %v", ins, outs, err)
	}
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	if _, _, err := e.Check(ocr, SessionOptions{Shapes: map[string][]int64{"x": {-1, 3, 48, 192}}}); err != nil {
		t.Errorf("Check of the OCR classifier at 48×192: %v", err)
	}
	_, _, err = e.Check(ocr, SessionOptions{})
	t.Logf("the OCR classifier at 1×1: %v", err)
	// A model that cannot run: Reshape to a shape its input does not fill.
	bad := writeModel(t, &onnxpb.Model{Graph: onnxpb.Graph{
		Name:         "bad",
		Nodes:        []onnxpb.Node{{Op: "Reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}}},
		Initializers: []onnxpb.Tensor{{Name: "shape", Dims: []int64{2}, Type: onnxpb.Int64, Int64s: []int64{5, 7}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: batchDims(3)}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 5}, {Value: 7}}}},
	}})
	if _, _, err := e.Check(bad, SessionOptions{}); err == nil || !strings.Contains(err.Error(), "failed on inputs x [1,3]") {
		t.Errorf("Check of a model that cannot run: %v", err)
	}
}

// A converter that declares an output of a batch as [1] (onnxmltools'
// LightGBM label) is served in batches once the signature declares it
// [-1]: ONNX Runtime then allocates the output itself.
func TestWidenedOutput(t *testing.T) {
	e := testEnv(t)
	path := passThrough(t, "Identity",
		onnxpb.ValueInfo{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}}},
		onnxpb.ValueInfo{Name: "y", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 1}}})
	if s := testSession(t, e, path, SessionOptions{MaxBatch: 8}); s.MaxBatch() != 1 {
		t.Fatalf("as declared: MaxBatch %d, want 1 (the output's first dimension is fixed)", s.MaxBatch())
	}
	s := testSession(t, e, path, SessionOptions{MaxBatch: 8, Shapes: map[string][]int64{"y": {-1}}})
	if s.MaxBatch() != 8 {
		t.Fatalf("widened: MaxBatch %d, want 8", s.MaxBatch())
	}
	for _, rows := range []int{3, 1, 5} {
		in, err := s.Input(0, []int64{int64(rows)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			tensor.Float32s(in.Data)[i] = float32(10 * (i + 1))
		}
		if err := s.Run(); err != nil {
			t.Fatalf("%d rows: %v", rows, err)
		}
		out := s.Output(0)
		if !slices.Equal(out.Shape, []int64{int64(rows)}) || tensor.Float32s(out.Data)[rows-1] != float32(10*rows) {
			t.Fatalf("%d rows: output %v %v", rows, out.Shape, tensor.Float32s(out.Data))
		}
	}
}
