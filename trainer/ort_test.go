package trainer

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// ortLibrary returns the ONNX Runtime shared library: $INFERGATE_ORT_LIB,
// else the one `make setup` installs in the per-user cache.
func ortLibrary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("INFERGATE_ORT_LIB"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no ONNX Runtime library: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "infergate", "onnxruntime-1.30.0", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no ONNX Runtime library at %s (run `make setup`, or set INFERGATE_ORT_LIB): %v", p, err)
	}
	return p
}

// TestONNXRuntimeAgrees runs the exported models — the logistic
// regression and MLPs of one and two hidden layers — in ONNX Runtime and
// checks that they compute what PredictRow computes.
func TestONNXRuntimeAgrees(t *testing.T) {
	lib := ortLibrary(t)
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatalf("cannot initialise ONNX Runtime from %s: %v", lib, err)
	}
	defer func() {
		if err := ort.DestroyEnvironment(); err != nil {
			t.Error(err)
		}
	}()

	cfg := demoMLPConfig()
	cfg.Hidden = []int{16, 8}
	deep, err := Train(GenerateChurn(1500, 9), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *Model
	}{{"logreg", mustDemoModel(t)}, {"mlp", mustDemoMLP(t)}, {"mlp-16-8", deep}} {
		t.Run(tc.name, func(t *testing.T) { checkONNXRuntime(t, tc.m) })
	}
}

func checkONNXRuntime(t *testing.T, m *Model) {
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, m.ONNX(), 0o644); err != nil {
		t.Fatal(err)
	}
	session, err := ort.NewDynamicAdvancedSession(path, []string{InputName}, []string{OutputName}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the exported model: %v", err)
	}
	defer session.Destroy()

	const rows = 300
	x, err := m.Encode(GenerateChurn(rows, 1234))
	if err != nil {
		t.Fatal(err)
	}
	width := m.Signature.Width()
	flat := make([]float32, 0, rows*width)
	for _, r := range x {
		flat = append(flat, r...)
	}
	input, err := ort.NewTensor(ort.NewShape(rows, int64(width)), flat)
	if err != nil {
		t.Fatal(err)
	}
	defer input.Destroy()
	output, err := ort.NewEmptyTensor[float32](ort.NewShape(rows, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer output.Destroy()
	if err := session.Run([]ort.Value{input}, []ort.Value{output}); err != nil {
		t.Fatal(err)
	}
	got := output.GetData()
	worst := 0.0
	for i := range rows {
		want := m.PredictRow(x[i])
		diff := math.Abs(float64(got[i]) - want)
		worst = math.Max(worst, diff)
		if diff > 1e-5 {
			t.Fatalf("row %d: ONNX Runtime %v, PredictRow %v (diff %g)", i+1, got[i], want, diff)
		}
	}
	t.Logf("%d rows: max |ORT - PredictRow| = %.3g", rows, worst)

	// A batch of one works too (the batch dimension is dynamic).
	one, err := ort.NewTensor(ort.NewShape(1, int64(width)), x[0])
	if err != nil {
		t.Fatal(err)
	}
	defer one.Destroy()
	outs := []ort.Value{nil}
	if err := session.Run([]ort.Value{one}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	if p := outs[0].(*ort.Tensor[float32]).GetData()[0]; math.Abs(float64(p)-m.PredictRow(x[0])) > 1e-5 {
		t.Fatalf("batch of one: %v vs %v", p, m.PredictRow(x[0]))
	}
}

// TestONNXRuntimeAgreesTasks runs the exported multi-class and regression
// models — linear and MLP, and the demo registry's — in ONNX Runtime and
// checks that every output row is what PredictRowK computes.
func TestONNXRuntimeAgreesTasks(t *testing.T) {
	lib := ortLibrary(t)
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatalf("cannot initialise ONNX Runtime from %s: %v", lib, err)
	}
	// Cleanup, not defer: it runs after the parallel subtests.
	t.Cleanup(func() {
		if err := ort.DestroyEnvironment(); err != nil {
			t.Error(err)
		}
	})
	demo := GenerateChurn(300, 1234)
	contract, err := Train(GenerateChurn(DemoRows, DemoSeed), DemoContractConfig())
	if err != nil {
		t.Fatal(err)
	}
	charges, err := Train(GenerateChurn(DemoRows, DemoSeed), DemoChargesConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *Model
		d    *Dataset
		// relative tolerances scale with values above 1: the demo's
		// charges are near 60, where float32 itself rounds by 4e-6, and
		// ONNX Runtime sums them in float32.
		tolerance float64
		relative  bool
	}{
		{"multiclass/logreg", mustTaskModel(t, TaskMulticlass, LogReg), classData(300, 91), 1e-5, false},
		{"multiclass/mlp", mustTaskModel(t, TaskMulticlass, MLP), classData(300, 91), 1e-5, false},
		{"regression/logreg", mustTaskModel(t, TaskRegression, LogReg), valueData(300, 92), 1e-5, false},
		{"regression/mlp", mustTaskModel(t, TaskRegression, MLP), valueData(300, 92), 1e-5, false},
		{"demo-contract", contract, demo, 1e-5, false},
		{"demo-charges", charges, demo, 1e-6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkONNXRuntimeK(t, tc.m, tc.d, tc.tolerance, tc.relative)
		})
	}
}

func checkONNXRuntimeK(t *testing.T, m *Model, d *Dataset, tolerance float64, relative bool) {
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, m.ONNX(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := m.Signature.Outputs[0]
	session, err := ort.NewDynamicAdvancedSession(path, []string{InputName}, []string{out.Name}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the exported model: %v", err)
	}
	defer session.Destroy()

	x, err := m.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	rows, width, k := len(x), m.Signature.Width(), int(out.Shape[1])
	flat := make([]float32, 0, rows*width)
	for _, r := range x {
		flat = append(flat, r...)
	}
	input, err := ort.NewTensor(ort.NewShape(int64(rows), int64(width)), flat)
	if err != nil {
		t.Fatal(err)
	}
	defer input.Destroy()
	outs := []ort.Value{nil}
	if err := session.Run([]ort.Value{input}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	got := outs[0].(*ort.Tensor[float32])
	if shape := got.GetShape(); len(shape) != 2 || shape[0] != int64(rows) || shape[1] != int64(k) {
		t.Fatalf("ONNX Runtime's output is %v, want [%d %d]", shape, rows, k)
	}
	data := got.GetData()
	worst, worstRelative := 0.0, 0.0
	for i := range rows {
		want := m.PredictRowK(x[i])
		if len(want) != k {
			t.Fatalf("PredictRowK gives %d values, the output has %d", len(want), k)
		}
		for j, w := range want {
			diff := math.Abs(float64(data[i*k+j]) - w)
			worst, worstRelative = math.Max(worst, diff), math.Max(worstRelative, diff/max(1, math.Abs(w)))
			limit := tolerance
			if relative {
				limit *= max(1, math.Abs(w))
			}
			if diff > limit {
				t.Fatalf("row %d, output %d: ONNX Runtime %v, PredictRowK %v (diff %g)", i+1, j, data[i*k+j], w, diff)
			}
		}
	}
	t.Logf("%d rows × %d outputs: max |ORT - PredictRowK| = %.3g (%.3g relative to max(1, |value|))", rows, k, worst, worstRelative)
}
