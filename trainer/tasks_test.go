package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infergate/infergate/registry"
)

// classData is a table of three well-separated classes ("alpha", "beta",
// "gamma") over two numeric features, with a categorical feature that
// carries no signal and a few missing cells: a linear model and an MLP
// must both tell the classes apart almost always.
func classData(rows int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	centers := [][2]float64{{0, 0}, {3, 0}, {0, 3}}
	names := []string{"alpha", "beta", "gamma"}
	x1, x2 := &Column{Name: "x1", Kind: Numeric}, &Column{Name: "x2", Kind: Numeric}
	noise := &Column{Name: "noise", Kind: Categorical}
	label := &Column{Name: "label", Kind: Categorical}
	for i := range rows {
		k := rng.IntN(3)
		x1.Numbers = append(x1.Numbers, centers[k][0]+0.6*rng.NormFloat64())
		x2.Numbers = append(x2.Numbers, centers[k][1]+0.6*rng.NormFloat64())
		if i%97 == 5 {
			x2.Numbers[i] = math.NaN()
		}
		noise.Strings = append(noise.Strings, []string{"a", "b", "c"}[rng.IntN(3)])
		label.Strings = append(label.Strings, names[k])
	}
	return &Dataset{Columns: []*Column{x1, x2, noise, label}, Source: "generated:classes"}
}

// valueData is a table whose target is linear in its features plus a
// little noise, 5 + 3·x1 - 2·x2 + a category's effect + N(0, 0.5²), so
// that both models explain nearly all of its variance.
func valueData(rows int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	effect := map[string]float64{"a": 0, "b": 1, "c": -1}
	x1, x2 := &Column{Name: "x1", Kind: Numeric}, &Column{Name: "x2", Kind: Numeric}
	cat := &Column{Name: "cat", Kind: Categorical}
	y := &Column{Name: "y", Kind: Numeric}
	for range rows {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		c := []string{"a", "b", "c"}[rng.IntN(3)]
		x1.Numbers, x2.Numbers, cat.Strings = append(x1.Numbers, a), append(x2.Numbers, b), append(cat.Strings, c)
		y.Numbers = append(y.Numbers, 5+3*a-2*b+effect[c]+0.5*rng.NormFloat64())
	}
	return &Dataset{Columns: []*Column{x1, x2, cat, y}, Source: "generated:values"}
}

func classConfig(algo string) Config {
	return Config{Target: "label", IDColumns: []string{}, Algorithm: algo, Seed: 4}
}

func valueConfig(algo string) Config {
	return Config{Target: "y", IDColumns: []string{}, Algorithm: algo, Seed: 4}
}

// taskModels trains each task's model once, by "task/algorithm", for the
// tests that only read them.
var taskModels = sync.OnceValues(func() (map[string]*Model, error) {
	models := map[string]*Model{}
	for _, algo := range []string{LogReg, MLP} {
		m, err := Train(classData(900, 1), classConfig(algo))
		if err != nil {
			return nil, err
		}
		models[TaskMulticlass+"/"+algo] = m
		if m, err = Train(valueData(900, 1), valueConfig(algo)); err != nil {
			return nil, err
		}
		models[TaskRegression+"/"+algo] = m
	}
	return models, nil
})

func mustTaskModel(t testing.TB, task, algo string) *Model {
	t.Helper()
	models, err := taskModels()
	if err != nil {
		t.Fatal(err)
	}
	return models[task+"/"+algo]
}

func TestTaskInference(t *testing.T) {
	t.Parallel()
	f := func(c *Column, task, wantTask string, wantY []float64, wantClasses []string) {
		t.Helper()
		got, err := readTarget(c, task)
		if err != nil {
			t.Fatalf("readTarget(%v, %q): %v", c, task, err)
		}
		if got.task != wantTask || !slices.Equal(got.y, wantY) || !slices.Equal(got.classes, wantClasses) {
			t.Fatalf("readTarget(%v, %q) = %s %v %q, want %s %v %q", c, task, got.task, got.y, got.classes, wantTask, wantY, wantClasses)
		}
	}
	num := func(v ...float64) *Column { return &Column{Name: "y", Kind: Numeric, Numbers: v} }
	text := func(v ...string) *Column { return &Column{Name: "y", Kind: Categorical, Strings: v} }
	f(num(0, 1, 1, 0), TaskAuto, TaskBinary, []float64{0, 1, 1, 0}, nil)
	f(num(1, 1), TaskAuto, TaskBinary, []float64{1, 1}, nil) // one class: TrainWith refuses the splits
	f(num(0, 1, 2), TaskAuto, TaskRegression, []float64{0, 1, 2}, nil)
	f(num(0.5, -3), TaskAuto, TaskRegression, []float64{0.5, -3}, nil)
	f(num(0, 1), TaskRegression, TaskRegression, []float64{0, 1}, nil)
	// Classes are sorted by name, whatever the row order.
	f(text("b", "a", "c", "a"), TaskAuto, TaskMulticlass, []float64{1, 0, 2, 0}, []string{"a", "b", "c"})
	// A numeric column names its classes as Encode names a numeric
	// category: shortest exact form, sorted as names.
	f(num(2, 10, 0.5, 2), TaskMulticlass, TaskMulticlass, []float64{2, 1, 0, 2}, []string{"0.5", "10", "2"})
	f(num(0, 1, 0), TaskMulticlass, TaskMulticlass, []float64{0, 1, 0}, []string{"0", "1"})
}

func TestTrainTaskErrors(t *testing.T) {
	t.Parallel()
	f := func(d *Dataset, cfg Config, want string) {
		t.Helper()
		if _, err := Train(d, cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Train(%s, task %q) = %v, want an error mentioning %q", cfg.Target, cfg.Task, err, want)
		}
	}
	// A missing target cell is an error naming the row, whatever the task.
	d := classData(300, 1)
	d.Column("label").Strings[41] = ""
	f(d, classConfig(LogReg), `row 42, column "label": the target is missing`)
	d = valueData(300, 1)
	d.Column("y").Numbers[9] = math.NaN()
	f(d, valueConfig(MLP), `row 10, column "y": the target is missing`)
	d = GenerateChurn(300, 1)
	d.Column("monthly_charges").Numbers[0] = math.NaN()
	f(d, Config{Target: "monthly_charges", Task: TaskMulticlass}, `row 1, column "monthly_charges": the target is missing`)
	d = valueData(300, 1)
	d.Column("y").Numbers[3] = math.Inf(1)
	f(d, valueConfig(LogReg), `row 4, column "y": the target must be a finite number, got +Inf`)

	f(classData(300, 1), Config{Target: "label", Task: TaskRegression, IDColumns: []string{}}, `target: column "label" must hold numbers for a regression`)
	f(classData(300, 1), Config{Target: "label", Task: "ranking"}, `task: "ranking" is not "binary", "multiclass" or "regression"`)

	// A multi-class target needs two classes among the train rows.
	d = classData(300, 1)
	for i := range d.Column("label").Strings {
		d.Column("label").Strings[i] = "alpha"
	}
	f(d, classConfig(LogReg), `the train split (210 rows) holds only one class of "label"`)
	// An id is not a class.
	f(GenerateChurn(400, 1), Config{Target: "customer_id", IDColumns: []string{}}, `column "customer_id": 400 distinct values, and a multi-class target has at most 256`)
}

func TestTrainMulticlass(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{LogReg, MLP} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			m := mustTaskModel(t, TaskMulticlass, algo)
			t.Logf("test accuracy %.4f, log loss %.4f, macro F1 %.4f, Brier %.4f, epochs %v",
				m.Metrics["accuracy"], m.Metrics["log_loss"], m.Metrics["macro_f1"], m.Metrics["brier"], m.Metrics["epochs"])
			for _, split := range []string{"", "train_", "validation_"} {
				if acc := m.Metrics[split+"accuracy"]; acc <= 0.9 {
					t.Errorf("%saccuracy = %v, want > 0.9 on separable classes", split, acc)
				}
				for _, k := range []string{"log_loss", "macro_f1", "brier"} {
					if v, ok := m.Metrics[split+k]; !ok || math.IsNaN(v) || v < 0 || v > 1 {
						t.Errorf("metrics[%s%s] = %v, %v", split, k, v, ok)
					}
				}
			}
			for _, k := range []string{"auc", "test_positive_rate"} {
				if _, ok := m.Metrics[k]; ok {
					t.Errorf("a three-class model reports %s", k)
				}
			}

			sig := &m.Signature
			want := []registry.OutputSpec{{
				TensorSpec: registry.TensorSpec{Name: ProbabilitiesName, DType: "float32", Shape: []int64{-1, 3}},
				Kind:       registry.KindProbabilities, Labels: []string{"alpha", "beta", "gamma"},
			}}
			if sig.Input != InputName || sig.Output.Name != "" || !equalOutputs(sig.Outputs, want) {
				t.Fatalf("signature input %q, output %+v, outputs %+v", sig.Input, sig.Output, sig.Outputs)
			}
			if err := sig.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := registry.NewEncoder(sig); err != nil {
				t.Fatal(err)
			}
			if sig.Task() != registry.TaskMulticlass || m.Task() != TaskMulticlass || !slices.Equal(m.Classes(), want[0].Labels) {
				t.Fatalf("signature task %q, model task %q, classes %q", sig.Task(), m.Task(), m.Classes())
			}
			layers := 1
			if algo == MLP {
				layers = 2
			}
			if len(m.Layers) != layers || m.Weights != nil || m.Layers[0].In != sig.Width() || m.Layers[layers-1].Out != 3 {
				t.Fatalf("%d layers (want %d), %d logistic weights", len(m.Layers), layers, len(m.Weights))
			}

			// PredictRowK gives probabilities; PredictRow the predicted
			// class's, the score the gateway records.
			x, err := m.Encode(classData(50, 77))
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range x {
				p := m.PredictRowK(row)
				sum := 0.0
				for _, v := range p {
					sum += v
				}
				if len(p) != 3 || math.Abs(sum-1) > 1e-12 || m.PredictRow(row) != slices.Max(p) {
					t.Fatalf("PredictRowK = %v (sum %v), PredictRow = %v", p, sum, m.PredictRow(row))
				}
			}
			if p := m.Params(); p["task"] != TaskMulticlass {
				t.Fatalf("params = %v", p)
			}
		})
	}
}

func equalOutputs(a, b []registry.OutputSpec) bool {
	return slices.EqualFunc(a, b, func(x, y registry.OutputSpec) bool {
		return x.Name == y.Name && x.DType == y.DType && slices.Equal(x.Shape, y.Shape) && x.Kind == y.Kind &&
			slices.Equal(x.Labels, y.Labels) && len(x.Thresholds) == 0 && len(y.Thresholds) == 0
	})
}

func TestTrainRegression(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{LogReg, MLP} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			m := mustTaskModel(t, TaskRegression, algo)
			t.Logf("test r2 %.4f, rmse %.4f, mae %.4f, epochs %v", m.Metrics["r2"], m.Metrics["rmse"], m.Metrics["mae"], m.Metrics["epochs"])
			for _, split := range []string{"", "train_", "validation_"} {
				if r2 := m.Metrics[split+"r2"]; r2 <= 0.9 {
					t.Errorf("%sr2 = %v, want > 0.9 on a noisy linear target", split, r2)
				}
				// The noise is N(0, 0.5²): a good fit's RMSE is near 0.5,
				// on the target's scale, not the standardised one.
				if rmse, mae := m.Metrics[split+"rmse"], m.Metrics[split+"mae"]; rmse < 0.35 || rmse > 0.7 || mae <= 0 || mae > rmse {
					t.Errorf("%srmse = %v, mae = %v", split, rmse, mae)
				}
			}
			for _, k := range []string{"auc", "log_loss", "accuracy", "test_positive_rate"} {
				if _, ok := m.Metrics[k]; ok {
					t.Errorf("a regression reports %s", k)
				}
			}
			sig := &m.Signature
			want := []registry.OutputSpec{{TensorSpec: registry.TensorSpec{Name: ValueName, DType: "float32", Shape: []int64{-1, 1}}, Kind: registry.KindScore}}
			if sig.Output.Name != "" || !equalOutputs(sig.Outputs, want) {
				t.Fatalf("signature output %+v, outputs %+v", sig.Output, sig.Outputs)
			}
			if err := sig.Validate(); err != nil {
				t.Fatal(err)
			}
			if sig.Task() != registry.TaskRegression || m.Task() != TaskRegression || m.Classes() != nil {
				t.Fatalf("signature task %q, model task %q", sig.Task(), m.Task())
			}
			if len(m.Layers) < 1 || m.Weights != nil || m.Layers[len(m.Layers)-1].Out != 1 {
				t.Fatalf("%d layers, %d logistic weights", len(m.Layers), len(m.Weights))
			}
			// The de-standardisation is folded into the layers: the
			// predictions are on the target's scale (mean 5).
			d := valueData(200, 78)
			x, err := m.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			want0, got0 := d.Column("y").Numbers, make([]float64, len(x))
			for i, row := range x {
				got0[i] = m.PredictRow(row)
				if k := m.PredictRowK(row); len(k) != 1 || k[0] != got0[i] {
					t.Fatalf("PredictRowK = %v, PredictRow = %v", k, got0[i])
				}
			}
			if r2 := R2(want0, got0); r2 <= 0.9 {
				t.Fatalf("r2 on fresh rows = %v", r2)
			}
			if p := m.Params(); p["task"] != TaskRegression {
				t.Fatalf("params = %v", p)
			}
		})
	}
}

// A numeric 0/1 target taken as two classes is a multi-class model whose
// signature the registry reads as a binary classifier's: it reports the
// AUC the registry's gate compares, and PredictRow is the second class's
// probability.
func TestTrainTwoClasses(t *testing.T) {
	t.Parallel()
	cfg := DemoConfig()
	cfg.Task, cfg.Epochs = TaskMulticlass, 300
	m, err := Train(GenerateChurn(1500, 3), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Signature.Task() != registry.TaskBinary || !slices.Equal(m.Classes(), []string{"0", "1"}) {
		t.Fatalf("signature task %q, classes %q", m.Signature.Task(), m.Classes())
	}
	if auc := m.Metrics["auc"]; auc < 0.7 || m.Metrics["validation_auc"] < 0.7 {
		t.Fatalf("metrics = %v", m.Metrics)
	}
	x, err := m.Encode(GenerateChurn(5, 8))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.PredictRowK(x[0]); m.PredictRow(x[0]) != p[1] {
		t.Fatalf("PredictRow = %v, probabilities %v", m.PredictRow(x[0]), p)
	}
}

// Same data and seed: the same bytes, for every task and algorithm;
// another seed: other bytes.
func TestTrainTasksDeterministic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		task string
		data func(int, uint64) *Dataset
		cfg  func(string) Config
	}{{TaskMulticlass, classData, classConfig}, {TaskRegression, valueData, valueConfig}} {
		for _, algo := range []string{LogReg, MLP} {
			t.Run(tc.task+"/"+algo, func(t *testing.T) {
				t.Parallel()
				cfg := tc.cfg(algo)
				cfg.Epochs = 60
				train := func(cfg Config) *Model {
					t.Helper()
					m, err := Train(tc.data(400, 2), cfg)
					if err != nil {
						t.Fatal(err)
					}
					return m
				}
				a, b := train(cfg), train(cfg)
				if !bytes.Equal(a.ONNX(), b.ONNX()) || !maps.Equal(a.Metrics, b.Metrics) {
					t.Fatal("the same data and seed gave different models")
				}
				pa, err := a.Profile.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if pb, _ := b.Profile.Encode(); !bytes.Equal(pa, pb) {
					t.Fatal("the same training gave different drift profiles")
				}
				cfg.Seed++
				if bytes.Equal(a.ONNX(), train(cfg).ONNX()) {
					t.Fatal("another seed gave the same model")
				}
			})
		}
	}
}

// backprop's gradient of each head's loss matches a central finite
// difference, for a linear model and an MLP.
func TestHeadGradients(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	classes := &target{task: TaskMulticlass, y: []float64{0, 1, 2, 2}, classes: []string{"a", "b", "c"}}
	values := &target{task: TaskRegression, y: []float64{3, 7, 8, 10}}
	for _, tc := range []struct {
		name string
		h    head
		y    float64
	}{
		{"multiclass", newHead(classes, []int{0, 1, 2, 3}), 2},
		{"regression", newHead(values, []int{0, 1, 2, 3}), 9},
	} {
		for _, hidden := range [][]int{nil, {4}, {5, 3}} {
			sizes := slices.Concat([]int{6}, hidden, []int{tc.h.units()})
			n := newNet(sizes)
			n.heInitOutputs(rng, tc.h.initialBiases())
			for i := range n.params {
				n.params[i] += 0.1 * rng.NormFloat64()
			}
			x := make([]float64, sizes[0])
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			x[2] = 0
			acts, deltas := n.buffers()
			dz := make([]float64, tc.h.units())
			loss := func(p []float64) float64 { return tc.h.lossGrad(n.pass(p, x, acts), tc.y, dz) }
			grad := make([]float64, len(n.params))
			tc.h.lossGrad(n.pass(n.params, x, acts), tc.y, deltas[n.layers()-1])
			n.backprop(n.params, grad, acts, deltas)
			// The regression's reported loss is the squared error on the
			// target's scale, std² times twice the loss it descends.
			scale := 1.0
			if r, ok := tc.h.(*regressionHead); ok {
				scale = 2 * r.std * r.std
			}
			for k := range n.params {
				const h = 1e-6
				plus, minus := slices.Clone(n.params), slices.Clone(n.params)
				plus[k] += h
				minus[k] -= h
				num := (loss(plus) - loss(minus)) / (2 * h) / scale
				if math.Abs(num-grad[k]) > 1e-5*max(1, math.Abs(num)) {
					t.Fatalf("%s %v, parameter %d: backprop %v, finite difference %v", tc.name, sizes, k, grad[k], num)
				}
			}
		}
	}
}

// Progress reports name each task's headline metric; a multi-class or
// regression report has no AUC; observing does not change the model.
func TestTaskProgress(t *testing.T) {
	t.Parallel()
	f := func(d *Dataset, cfg Config, metric, line string) {
		t.Helper()
		var reports []EpochReport
		m, err := TrainWith(d, cfg, Options{Progress: func(e EpochReport) { reports = append(reports, e) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) != int(m.Metrics["epochs"]) || len(reports) == 0 {
			t.Fatalf("%d reports for %v epochs", len(reports), m.Metrics["epochs"])
		}
		for _, e := range reports {
			if e.Metric != metric || !math.IsNaN(e.ValidationAUC) || e.TrainLoss <= 0 || e.ValidationLoss <= 0 || math.IsNaN(e.ValidationMetric) {
				t.Fatalf("report %+v", e)
			}
		}
		last := reports[len(reports)-1]
		if !last.Last || !strings.Contains(last.String(), line) {
			t.Fatalf("last report %q, want it to contain %q", last.String(), line)
		}
		quiet, err := Train(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(quiet.ONNX(), m.ONNX()) {
			t.Fatal("observing progress changed the model")
		}
	}
	cfg := classConfig(LogReg)
	cfg.Epochs = 30
	f(classData(300, 3), cfg, "accuracy", "  val_accuracy ")
	cfg = valueConfig(MLP)
	cfg.Epochs = 30
	f(valueData(300, 3), cfg, "r2", "  val_r2 ")
}

// A search of a regression compares the validation mean squared error and
// says so in its trials, its summary and its lineage.
func TestTaskSearch(t *testing.T) {
	t.Parallel()
	cfg := valueConfig(MLP)
	cfg.Search, cfg.SearchTrials, cfg.Epochs = SearchGrid, 3, 25
	m, err := Train(valueData(400, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Search
	for i, tr := range s.Trials {
		if tr.Task != TaskRegression || tr.ValidationLoss < s.Trials[s.Chosen].ValidationLoss || !math.IsNaN(tr.ValidationLogLoss) || !math.IsNaN(tr.ValidationAUC) {
			t.Fatalf("trial %d = %+v, chosen %d", i+1, tr, s.Chosen+1)
		}
		if str := tr.String(); !strings.Contains(str, " validation_mse=") || !strings.Contains(str, " validation_r2=0.") {
			t.Fatalf("trial %d: %s", i+1, str)
		}
	}
	chosen := s.Trials[s.Chosen]
	if rmse := m.Metrics["validation_rmse"]; math.Abs(rmse*rmse-chosen.ValidationLoss) > 1e-12 || m.Metrics["validation_r2"] != chosen.ValidationMetric {
		t.Fatalf("metrics %v, chosen %+v", m.Metrics, chosen)
	}
	if p := m.Params(); p["early_stopping"] != "validation_mse" || p["search_trial_1"] != s.Trials[0].String() {
		t.Fatalf("params = %v", p)
	}
	var out bytes.Buffer
	if err := WriteSummary(&out, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task       regression: y\n", "algorithm  mlp (ReLU hidden layers, linear output,", "split       rows  rmse", "val_mse  val_r2",
		"the lowest validation mean squared error"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary:\n%s\nwant %q", out.String(), want)
		}
	}
}

func TestWriteSummaryTasks(t *testing.T) {
	t.Parallel()
	f := func(m *Model, want ...string) {
		t.Helper()
		var out bytes.Buffer
		if err := WriteSummary(&out, m); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Fatalf("summary:\n%s\nwant %q", out.String(), w)
			}
		}
	}
	f(mustDemoModel(t), "task       binary: churned (0/1)\n", "algorithm  logistic regression (full-batch Adam)\n",
		"split       rows  auc     accuracy  log_loss  brier\n")
	f(mustTaskModel(t, TaskMulticlass, LogReg), "task       multiclass: label (3 classes: alpha, beta, gamma)\n",
		"algorithm  softmax regression (full-batch Adam)\n", "split       rows  accuracy  log_loss  macro_f1  brier\n")
	f(mustTaskModel(t, TaskRegression, LogReg), "algorithm  linear regression (full-batch Adam)\n", "split       rows  rmse    mae     r2\n")
}

func TestTaskMetrics(t *testing.T) {
	t.Parallel()
	y := []int{0, 1, 2, 2}
	p := [][]float64{{0.7, 0.2, 0.1}, {0.5, 0.4, 0.1}, {0.1, 0.1, 0.8}, {0.2, 0.2, 0.6}}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("ClassAccuracy", ClassAccuracy(y, p), 0.75)
	near("CrossEntropy", CrossEntropy(y, p), -(math.Log(0.7)+math.Log(0.4)+math.Log(0.8)+math.Log(0.6))/4)
	// Class 0: TP 1, FP 1 → 2/3; class 1: FN 1 → 0; class 2: 2 TP → 1.
	near("MacroF1", MacroF1(y, p), (2.0/3+0+1)/3)
	near("MulticlassBrier", MulticlassBrier(y, p), (0.09+0.04+0.01+0.25+0.36+0.01+0.01+0.01+0.04+0.04+0.04+0.16)/4)
	if got := CrossEntropy([]int{1}, [][]float64{{1, 0}}); math.IsInf(got, 0) || got < 30 {
		t.Errorf("CrossEntropy of a confident miss = %v, want large and finite", got)
	}
	want, got := []float64{1, 2, 3, 4}, []float64{1.5, 2, 2, 4}
	near("MSE", MSE(want, got), (0.25+1)/4)
	near("RMSE", RMSE(want, got), math.Sqrt(1.25/4))
	near("MAE", MAE(want, got), 1.5/4)
	near("R2", R2(want, got), 1-1.25/5)
	near("R2 of a constant, matched", R2([]float64{2, 2}, []float64{2, 2}), 1)
	near("R2 of a constant, missed", R2([]float64{2, 2}, []float64{2, 3}), 0)
}

// The demo registry holds one model of each task, each trained from the
// same generated data and promoted; the churn model is byte for byte the
// one TrainDemo has always trained.
func TestTrainDemos(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	versions, models, err := TrainDemos(store, dir+"/data/churn.csv", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		model, task string
		metrics     []string
		features    int
	}{
		{DemoContractModel, registry.TaskMulticlass, []string{"accuracy", "log_loss", "macro_f1", "brier"}, 6},
		{DemoChargesModel, registry.TaskRegression, []string{"rmse", "mae", "r2"}, 5},
		{DemoModel, registry.TaskBinary, []string{"auc", "accuracy", "log_loss", "brier", "test_positive_rate"}, 7},
	}
	if len(versions) != len(want) {
		t.Fatalf("%d versions, want %d", len(versions), len(want))
	}
	for i, w := range want {
		v, err := store.Resolve(w.model, registry.ProductionAlias)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != "1.0.0" || versions[i].Model != w.model || v.Signature.Task() != w.task || len(v.Signature.Features) != w.features {
			t.Fatalf("%s: version %s, task %q, %d features", w.model, v.Version, v.Signature.Task(), len(v.Signature.Features))
		}
		for _, k := range w.metrics {
			for _, split := range []string{"", "train_", "validation_"} {
				if _, ok := v.Metrics[split+k]; !ok && (split == "" || k != "test_positive_rate") {
					t.Errorf("%s: no metric %s%s (metrics %v)", w.model, split, k, slices.Sorted(maps.Keys(v.Metrics)))
				}
			}
		}
		for _, f := range v.Signature.Features {
			if f.Name == "customer_id" || f.Name == ChurnTarget && w.model != DemoModel || f.Name == "total_charges" && w.model == DemoChargesModel {
				t.Errorf("%s: feature %s is excluded from it", w.model, f.Name)
			}
		}
		if task := v.Lineage.Params["task"]; task != map[string]string{DemoModel: ""}[w.model] && task != w.task {
			t.Errorf("%s: lineage task %q", w.model, task)
		}
		if _, ok := v.Files[registry.DriftProfileFile]; !ok {
			t.Errorf("%s: no drift profile", w.model)
		}
	}
	if !bytes.Equal(models[2].ONNX(), mustDemoModel(t).ONNX()) {
		t.Fatal("TrainDemos' churn model is not the demo model")
	}
	if p := models[0].Signature.Outputs[0]; !slices.Equal(p.Labels, []string{"month-to-month", "one-year", "two-year"}) {
		t.Fatalf("contract classes %q", p.Labels)
	}
}

// The demo's binary classifiers are byte for byte what the trainer wrote
// before it learned other tasks (TrainerVersion infergate-trainer/2): the
// registry's model_sha256 of a retrained demo version does not move. The
// hashes hold where Go does not fuse multiply-adds (amd64); arm64 and
// others may round differently, and are skipped. (The drift profile's
// bytes are the drift package's encoding, not pinned here.)
func TestBinaryBytesUnchanged(t *testing.T) {
	t.Parallel()
	if goruntime.GOARCH != "amd64" {
		t.Skipf("the golden hashes were computed on amd64; %s may fuse multiply-adds", goruntime.GOARCH)
	}
	f := func(name string, m *Model, want string) {
		t.Helper()
		if got := sha256.Sum256(m.ONNX()); hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: ONNX sha256 %x, want %s", name, got, want)
		}
	}
	f("logreg", mustDemoModel(t), "890aea54f428a5bb6bde1aa8918fd603729e401f8c62a0b732658b94c199215d")
	f("mlp", mustDemoMLP(t), "767be1396b3d74dd919c6fdc624b548961fb5ff18770055ba12bd6aed32544c1")
}
