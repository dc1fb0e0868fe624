package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
)

// TestMain fails the run if any test leaked an Environment handle or a
// Session: the reference count must be back to zero once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if n := refs(); n != 0 {
		fmt.Fprintf(os.Stderr, "runtime: %d environment references leaked by the tests\n", n)
		code = 1
	}
	os.Exit(code)
}

func refs() int {
	global.mu.Lock()
	defer global.mu.Unlock()
	return global.refs
}

// testEnv opens an environment handle for one test. A missing library fails
// the test with FindLibrary's message: CI installs it with `make setup`
// first, so a skip would only hide a broken setup.
func testEnv(tb testing.TB) *Environment {
	tb.Helper()
	e, err := Open(Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Error(err)
		}
	})
	return e
}

// testSession loads modelPath for one test and closes it at cleanup.
func testSession(tb testing.TB, e *Environment, modelPath string, opts SessionOptions) *Session {
	tb.Helper()
	s, err := e.NewSession(modelPath, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func writeModel(tb testing.TB, m *onnxpb.Model) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "model.onnx")
	if err := os.WriteFile(p, m.Marshal(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func batchDims(features ...int64) []onnxpb.Dim {
	dims := []onnxpb.Dim{{Param: "batch"}}
	for _, f := range features {
		dims = append(dims, onnxpb.Dim{Value: f})
	}
	return dims
}

// logistic is sigmoid(x·w + b) over len(w) features: what the trainer
// exports for a logistic regression.
type logistic struct {
	w []float32
	b float32
}

func (l logistic) model(tb testing.TB) string {
	f := int64(len(l.w))
	return writeModel(tb, &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "logistic",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"features", "W", "B"}, Outputs: []string{"logit"}},
			{Op: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"probability"}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{f, 1}, Data: l.w},
			{Name: "B", Dims: []int64{1}, Data: []float32{l.b}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "features", Type: onnxpb.Float, Shape: batchDims(f)}},
		Outputs: []onnxpb.ValueInfo{{Name: "probability", Type: onnxpb.Float, Shape: batchDims(1)}},
	}})
}

func (l logistic) predict(row []float32) float64 {
	z := float64(l.b)
	for k, x := range row {
		z += float64(x) * float64(l.w[k])
	}
	return sigmoid(z)
}

// mlp is sigmoid(relu(x·w1 + b1)·w2 + b2), with w1 of shape [features, hidden]
// row-major and w2 of shape [hidden, 1].
type mlp struct {
	features, hidden int
	w1, b1, w2       []float32
	b2               float32
}

func (n mlp) model(tb testing.TB) string {
	f, h := int64(n.features), int64(n.hidden)
	return writeModel(tb, &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "mlp",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"features", "W1", "B1"}, Outputs: []string{"z1"}},
			{Op: "Relu", Inputs: []string{"z1"}, Outputs: []string{"h"}},
			{Op: "Gemm", Inputs: []string{"h", "W2", "B2"}, Outputs: []string{"z2"}},
			{Op: "Sigmoid", Inputs: []string{"z2"}, Outputs: []string{"probability"}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W1", Dims: []int64{f, h}, Data: n.w1},
			{Name: "B1", Dims: []int64{h}, Data: n.b1},
			{Name: "W2", Dims: []int64{h, 1}, Data: n.w2},
			{Name: "B2", Dims: []int64{1}, Data: []float32{n.b2}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "features", Type: onnxpb.Float, Shape: batchDims(f)}},
		Outputs: []onnxpb.ValueInfo{{Name: "probability", Type: onnxpb.Float, Shape: batchDims(1)}},
	}})
}

func (n mlp) predict(row []float32) float64 {
	z2 := float64(n.b2)
	for j := range n.hidden {
		z := float64(n.b1[j])
		for k, x := range row {
			z += float64(x) * float64(n.w1[k*n.hidden+j])
		}
		z2 += max(z, 0) * float64(n.w2[j])
	}
	return sigmoid(z2)
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// uniform fills n values in [-1, 1) from a fixed seed, so failures reproduce.
func uniform(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func newLogistic(seed uint64, features int) logistic {
	rng := rand.New(rand.NewPCG(seed, 1))
	return logistic{w: uniform(rng, features), b: rng.Float32() - 0.5}
}

func newMLP(seed uint64, features, hidden int) mlp {
	rng := rand.New(rand.NewPCG(seed, 2))
	return mlp{
		features: features, hidden: hidden,
		w1: uniform(rng, features*hidden), b1: uniform(rng, hidden),
		w2: uniform(rng, hidden), b2: rng.Float32() - 0.5,
	}
}

// passThrough writes a model whose one node (op, e.g. Identity or Cast, with
// attrs) maps input in to output out: the smallest way to give a model the
// input or output type or shape a test needs.
func passThrough(tb testing.TB, op string, in, out onnxpb.ValueInfo, attrs ...onnxpb.Attr) string {
	return writeModel(tb, &onnxpb.Model{Graph: onnxpb.Graph{
		Name:    "pass",
		Nodes:   []onnxpb.Node{{Op: op, Inputs: []string{in.Name}, Outputs: []string{out.Name}, Attrs: attrs}},
		Inputs:  []onnxpb.ValueInfo{in},
		Outputs: []onnxpb.ValueInfo{out},
	}})
}

// floatRows readies every input of s, all float32 with fixed dimensions but
// the batch, for rows rows and returns them to write.
func floatRows(tb testing.TB, s *Session, rows int) [][]float32 {
	tb.Helper()
	ins := make([][]float32, len(s.inputs))
	for i := range s.inputs {
		t, err := s.Input(i, rowShape(tb, s, i, rows))
		if err != nil {
			tb.Fatal(err)
		}
		ins[i] = tensor.Float32s(t.Data)
	}
	return ins
}

// rowShape is input i's declared shape with rows as its first dimension.
func rowShape(tb testing.TB, s *Session, i, rows int) []int64 {
	tb.Helper()
	shape, ok := s.inputs[i].rowsShape(rows, true)
	if !ok {
		tb.Fatalf("input %q has a dynamic dimension besides the batch", s.inputs[i].info.Name)
	}
	return shape
}

// outFloats is output j of the last Run as float32s.
func outFloats(s *Session, j int) []float32 { return tensor.Float32s(s.Output(j).Data) }
