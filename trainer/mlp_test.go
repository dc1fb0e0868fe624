package trainer

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// demoMLPConfig is the demo configuration with the MLP's defaults.
func demoMLPConfig() Config {
	cfg := DemoConfig()
	cfg.Algorithm = MLP
	return cfg
}

// demoMLP trains the MLP on the demo data once for the tests that only read
// it.
var demoMLP = sync.OnceValues(func() (*Model, error) {
	return Train(GenerateChurn(DemoRows, DemoSeed), demoMLPConfig())
})

func mustDemoMLP(t testing.TB) *Model {
	t.Helper()
	m, err := demoMLP()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The demo data's relationship is not linear in the features (log of
// tenure, a hinge on support calls): the MLP must do at least as well as
// the logistic regression on the held-out test rows.
func TestMLPBeatsLogRegOnDemo(t *testing.T) {
	t.Parallel()
	lr, mlp := mustDemoModel(t), mustDemoMLP(t)
	t.Logf("test AUC: logreg %.4f, mlp %.4f (hidden %v, %v epochs, best %v); log loss %.4f vs %.4f; Brier %.4f vs %.4f",
		lr.Metrics["auc"], mlp.Metrics["auc"], mlp.Config.Hidden, mlp.Metrics["epochs"], mlp.Metrics["best_epoch"],
		lr.Metrics["log_loss"], mlp.Metrics["log_loss"], lr.Metrics["brier"], mlp.Metrics["brier"])
	if mlp.Metrics["auc"] < lr.Metrics["auc"] {
		t.Fatalf("MLP test AUC %.4f < logistic regression %.4f", mlp.Metrics["auc"], lr.Metrics["auc"])
	}
	if mlp.Metrics["log_loss"] > lr.Metrics["log_loss"] {
		t.Fatalf("MLP test log loss %.4f > logistic regression %.4f", mlp.Metrics["log_loss"], lr.Metrics["log_loss"])
	}
}

func TestMLPShape(t *testing.T) {
	t.Parallel()
	m := mustDemoMLP(t)
	width := m.Signature.Width()
	if len(m.Layers) != 2 || m.Weights != nil {
		t.Fatalf("%d layers, %d logistic weights; want 2 layers and none", len(m.Layers), len(m.Weights))
	}
	for i, want := range [][2]int{{width, DefaultHidden[0]}, {DefaultHidden[0], 1}} {
		l := m.Layers[i]
		if l.In != want[0] || l.Out != want[1] || len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			t.Fatalf("layer %d: %d→%d with %d weights, %d biases; want %d→%d", i, l.In, l.Out, len(l.W), len(l.B), want[0], want[1])
		}
	}
	epochs, best := m.Metrics["epochs"], m.Metrics["best_epoch"]
	if best < 1 || best > epochs || (epochs < float64(DefaultMLPEpochs) && epochs != best+DefaultPatience) {
		t.Fatalf("epochs %v, best %v: early stopping runs exactly patience=%d epochs past the best", epochs, best, DefaultPatience)
	}
	c := m.Config
	if c.LearningRate != DefaultMLPLearningRate || *c.L2 != DefaultL2 || c.BatchSize != DefaultBatchSize || c.Patience != DefaultPatience || c.Epochs != DefaultMLPEpochs {
		t.Fatalf("MLP defaults = %+v", c)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("PredictRow of a short row did not panic")
		}
	}()
	m.PredictRow(make([]float32, width-1))
}

// Same data and seed: the same bytes; another seed: other bytes.
// (TestTrainDeterministic checks the logistic regression.)
func TestTrainDeterministicMLP(t *testing.T) {
	t.Parallel()
	a := mustDemoMLP(t)
	b, err := Train(GenerateChurn(DemoRows, DemoSeed), demoMLPConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.ONNX(), b.ONNX()) {
		t.Fatal("the same data and seed gave different MLP ONNX bytes")
	}
	// Two hidden layers, on less data to keep the race detector quick.
	d := searchData()
	cfg := demoMLPConfig()
	cfg.Hidden, cfg.Epochs = []int{16, 8}, 15
	train := func(cfg Config) []byte {
		t.Helper()
		m, err := Train(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Layers) != 3 {
			t.Fatalf("%d layers, want 3", len(m.Layers))
		}
		return m.ONNX()
	}
	x, y := train(cfg), train(cfg)
	if !bytes.Equal(x, y) {
		t.Fatal("the same data and seed gave different two-layer MLP ONNX bytes")
	}
	cfg.Seed++
	if bytes.Equal(x, train(cfg)) {
		t.Fatal("a different seed gave the same MLP")
	}
}

// backward's gradient matches a central finite difference of the log loss.
func TestMLPGradient(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][]int{{5, 4, 1}, {6, 5, 3, 1}} {
		n := newNet(sizes)
		n.heInit(rng, 0.3)
		for i := range n.params {
			n.params[i] += 0.1 * rng.NormFloat64() // biases away from zero
		}
		x := make([]float64, sizes[0])
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		x[1] = 0 // a zero input, which forward and backward skip
		const y = 1.0
		acts, deltas := n.buffers()
		loss := func(p []float64) float64 { return logLoss1(y, n.forward(p, x, acts)) }
		grad := make([]float64, len(n.params))
		p := n.forward(n.params, x, acts)
		n.backward(n.params, grad, acts, deltas, p-y)
		for k := range n.params {
			const h = 1e-6
			plus, minus := slices.Clone(n.params), slices.Clone(n.params)
			plus[k] += h
			minus[k] -= h
			num := (loss(plus) - loss(minus)) / (2 * h)
			if math.Abs(num-grad[k]) > 1e-6*max(1, math.Abs(num)) {
				t.Fatalf("sizes %v, parameter %d: backward %v, finite difference %v", sizes, k, grad[k], num)
			}
		}
	}
}

// The Go forward pass of training (float64 weights) and PredictRow
// (float32 layers) agree within float32 rounding.
func TestMLPPredictRowMatchesNet(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	n := newNet([]int{4, 6, 3, 1})
	n.heInit(rng, -0.5)
	m := &Model{Layers: n.export()}
	acts, _ := n.buffers()
	for range 50 {
		row := make([]float32, 4)
		x := make([]float64, 4)
		for i := range row {
			row[i] = float32(rng.NormFloat64())
			x[i] = float64(row[i])
		}
		if got, want := m.PredictRow(row), n.forward(n.params, x, acts); math.Abs(got-want) > 1e-6 {
			t.Fatalf("PredictRow %v, net %v", got, want)
		}
	}
}
