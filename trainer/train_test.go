package trainer

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/registry"
)

// demoModel trains the demo model once for the tests that only read it.
var demoModel = sync.OnceValues(func() (*Model, error) {
	return Train(GenerateChurn(DemoRows, DemoSeed), DemoConfig())
})

func mustDemoModel(t testing.TB) *Model {
	t.Helper()
	m, err := demoModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainDeterministic(t *testing.T) {
	t.Parallel()
	a := mustDemoModel(t)
	b, err := Train(GenerateChurn(DemoRows, DemoSeed), DemoConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.ONNX(), b.ONNX()) {
		t.Fatal("the same data and seed gave different ONNX bytes")
	}
	cfg := DemoConfig()
	cfg.Seed = DemoSeed + 1
	c, err := Train(GenerateChurn(DemoRows, DemoSeed), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.ONNX(), c.ONNX()) {
		t.Fatal("a different split seed gave the same model")
	}
}

func TestTrainMetrics(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	f := func(name string, lo, hi float64) {
		t.Helper()
		if v, ok := m.Metrics[name]; !ok || v < lo || v > hi {
			t.Errorf("metrics[%s] = %v, want %v…%v", name, v, lo, hi)
		}
	}
	f("auc", 0.75, 0.95)
	f("accuracy", 0.75, 0.95) // above the 75% of always saying "no churn"
	f("log_loss", 0.3, 0.5)   // below the ~0.56 of predicting the base rate
	f("brier", 0.1, 0.18)     // below the ~0.19 of predicting the base rate
	f("validation_auc", 0.75, 0.95)
	f("train_auc", 0.75, 0.95)
	f("train_rows", 3500, 3500)
	f("validation_rows", 500, 500)
	f("test_rows", 1000, 1000)
	f("test_positive_rate", 0.18, 0.32)
	f("epochs", float64(DefaultEpochs), float64(DefaultEpochs))
	for k, v := range m.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("metrics[%s] = %v", k, v)
		}
	}
	// The learned weights have the signs of the hidden relationship.
	sig := &m.Signature
	weight := func(feature string, col int) float32 {
		off := 0
		for i := range sig.Features {
			if sig.Features[i].Name == feature {
				return m.Weights[off+col]
			}
			off += sig.Features[i].Width()
		}
		t.Fatalf("no feature %q", feature)
		return 0
	}
	if w := weight("tenure_months", 0); w >= 0 {
		t.Errorf("tenure weight %v, want negative", w)
	}
	if w := weight("support_calls", 0); w <= 0 {
		t.Errorf("support_calls weight %v, want positive", w)
	}
	contract := sig.Features[slices.IndexFunc(sig.Features, func(f registry.Feature) bool { return f.Name == "contract" })]
	m2m, two := slices.Index(contract.Vocabulary, "month-to-month"), slices.Index(contract.Vocabulary, "two-year")
	if weight("contract", m2m) <= weight("contract", two) {
		t.Errorf("month-to-month weight not above two-year")
	}
}

func TestTrainSignature(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	sig := &m.Signature
	if err := sig.Validate(); err != nil {
		t.Fatal(err)
	}
	if sig.Input != "features" || sig.Output.Name != "probability" || !slices.Equal(sig.Output.Labels, DefaultLabels) {
		t.Fatalf("signature input/output = %q, %+v", sig.Input, sig.Output)
	}
	var names []string
	for _, f := range sig.Features {
		names = append(names, f.Name)
	}
	want := []string{"tenure_months", "monthly_charges", "total_charges", "contract", "support_calls", "payment_method", "paperless_billing"}
	if !slices.Equal(names, want) {
		t.Fatalf("features = %v, want %v (customer_id and churned excluded)", names, want)
	}
	required := map[string]bool{"tenure_months": true, "monthly_charges": true, "contract": true, "support_calls": true}
	for _, f := range sig.Features {
		if f.Required != required[f.Name] {
			t.Errorf("%s: required = %v", f.Name, f.Required)
		}
	}
	if len(m.Weights) != sig.Width() || sig.Width() != 4+4+5+3 {
		t.Fatalf("width = %d, weights %d", sig.Width(), len(m.Weights))
	}

	// The encoding is learned from the train split only.
	d := GenerateChurn(DemoRows, DemoSeed)
	train, _, _, err := split(d.Rows(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	col := d.Column("total_charges")
	var values []float64
	for _, r := range train {
		if !col.Missing(r) {
			values = append(values, col.Numbers[r])
		}
	}
	mean, std := meanStd(values)
	f := sig.Features[2]
	if f.Mean != mean || f.Std != std || f.Impute != median(values) {
		t.Fatalf("total_charges = %+v, want train mean %v std %v median %v", f, mean, std, median(values))
	}
	counts := map[string]int{}
	for _, r := range train {
		counts[d.Column("payment_method").Strings[r]]++
	}
	vocab := sig.Features[5].Vocabulary
	if len(vocab) != 4 || slices.Contains(vocab, "") {
		t.Fatalf("payment_method vocabulary = %q", vocab)
	}
	for i := 1; i < len(vocab); i++ {
		if counts[vocab[i-1]] < counts[vocab[i]] {
			t.Fatalf("payment_method vocabulary %q not by descending train frequency %v", vocab, counts)
		}
	}
}

func TestVocabularyOrderAndCap(t *testing.T) {
	t.Parallel()
	// Ties in frequency are broken by name; MaxCategories keeps the most
	// frequent values.
	n := 60
	cat, y, x := make([]string, n), make([]float64, n), make([]float64, n)
	for i := range n {
		cat[i] = []string{"b", "a", "c", "c", "d", "b"}[i%6]
		y[i] = float64(i % 2)
		x[i] = float64(i)
	}
	d := &Dataset{Columns: []*Column{
		{Name: "x", Kind: Numeric, Numbers: x},
		{Name: "cat", Kind: Categorical, Strings: cat},
		{Name: "y", Kind: Numeric, Numbers: y},
	}}
	train := make([]int, n)
	for i := range train {
		train[i] = i
	}
	cfg := Config{Target: "y", MaxCategories: 3}.WithDefaults()
	sig, err := learnSignature(d, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	if got := sig.Features[1].Vocabulary; !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("vocabulary = %q, want [b c a]", got)
	}
	if sig.Features[0].Impute != 29.5 {
		t.Fatalf("median of 0…59 = %v, want 29.5", sig.Features[0].Impute)
	}
}

// The demo request of the README encodes with the demo model's signature:
// the optional features it lacks are imputed or take the unknown bucket.
func TestDemoRequestEncodes(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	enc, err := m.Encoder()
	if err != nil {
		t.Fatal(err)
	}
	row := enc.NewRow()
	set := func(name string, number float64, category string) {
		i, ok := enc.Lookup([]byte(name))
		if !ok {
			return // customer_id is an entity key, not a model input
		}
		if category != "" {
			row.SetCategory(i, []byte(category))
		} else {
			row.SetNumber(i, number)
		}
	}
	set("customer_id", 0, "12345")
	set("tenure_months", 24, "")
	set("monthly_charges", 89.99, "")
	set("contract", 0, "month-to-month")
	set("support_calls", 3, "")
	x, err := row.Finish()
	if err != nil {
		t.Fatalf("the demo request does not encode: %v", err)
	}
	p := m.PredictRow(x)
	if p <= 0 || p >= 1 {
		t.Fatalf("probability %v", p)
	}
	t.Logf("demo request: p = %.4f, label %s", p, m.Signature.Output.LabelFor(p))
	// Without a required feature it fails, naming it.
	row.Reset()
	set("tenure_months", 24, "")
	if _, err := row.Finish(); !errors.Is(err, registry.ErrMissingFeature) || !strings.Contains(err.Error(), "monthly_charges") {
		t.Fatalf("Finish without monthly_charges: err = %v", err)
	}
}

func TestEncodeMatchesPredict(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	d := GenerateChurn(50, 99)
	p, err := m.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	// Encoding by hand with a fresh encoder gives the same probabilities:
	// the model holds nothing the signature does not say.
	hand := &Model{Signature: m.Signature, Weights: m.Weights, Bias: m.Bias}
	x, err := hand.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if got := hand.PredictRow(x[i]); got != p[i] {
			t.Fatalf("row %d: %v vs %v", i+1, got, p[i])
		}
	}
	// A dataset missing a required column is refused, naming row and feature.
	d.Columns = slices.DeleteFunc(d.Columns, func(c *Column) bool { return c.Name == "contract" })
	if _, err := m.Encode(d); !errors.Is(err, registry.ErrMissingFeature) || !strings.Contains(err.Error(), `row 1: missing required feature "contract"`) {
		t.Fatalf("Encode without contract: err = %v", err)
	}
	// Column kinds that differ from the signature are converted.
	odd := &Dataset{Columns: []*Column{
		{Name: "tenure_months", Kind: Categorical, Strings: []string{"12", "x"}},
		{Name: "monthly_charges", Kind: Numeric, Numbers: []float64{50, 50}},
		{Name: "contract", Kind: Numeric, Numbers: []float64{1, 1}},
		{Name: "support_calls", Kind: Numeric, Numbers: []float64{1, 1}},
	}}
	if _, err := m.Encode(odd); err == nil || !strings.Contains(err.Error(), `row 2, column "tenure_months": "x" is not a number`) {
		t.Fatalf("Encode of a non-numeric cell: err = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(cfg Config, want ...string) {
		t.Helper()
		cfg = cfg.WithDefaults()
		err := cfg.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("Validate(%+v) = nil, want %q", cfg, want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("Validate = %q, want mention of %q", err, w)
			}
		}
	}
	f(DemoConfig())
	f(Config{}, "target: must name the label column")
	f(Config{Target: "y", TestFraction: 1.5}, "test_fraction: must be in (0, 1), got 1.5")
	f(Config{Target: "y", ValidationFraction: -0.1}, "validation_fraction: must be in (0, 1)")
	f(Config{Target: "y", TestFraction: 0.5, ValidationFraction: 0.45}, "must leave at least 10% of rows for training")
	f(Config{Target: "y", Epochs: -1}, "epochs: must be at least 1")
	f(Config{Target: "y", LearningRate: -1}, "learning_rate: must be positive")
	f(Config{Target: "y", L2: Float(math.NaN())}, "l2: must be finite")
	f(Config{Target: "y", Epochs: -2, MaxCategories: -1}, "epochs: must be at least 1", "max_categories: must be at least 1")
	f(Config{Target: "y", Required: []string{"a", "", "y", "customer_id", "a"}},
		"required[1]: must not be empty", `required[2]: "y" is the target`,
		`required[3]: "customer_id" is an id column`, `required[4]: "a" is listed twice`)
	f(Config{Target: "y", IDColumns: []string{"y"}}, `id_columns[0]: "y" is the target`)
	f(Config{Target: "y", L2: Float(-1)}, "l2: must be finite and >= 0, got -1")
	f(Config{Target: "y", Algorithm: "svm"}, `algorithm: "svm" is not "logreg" or "mlp"`)
	f(Config{Target: "y", Algorithm: MLP})
	f(Config{Target: "y", Algorithm: MLP, Hidden: []int{}}, "hidden: must list 1 or 2 hidden layer widths, got 0")
	f(Config{Target: "y", Algorithm: MLP, Hidden: []int{8, 8, 8}}, "hidden: must list 1 or 2 hidden layer widths, got 3")
	f(Config{Target: "y", Algorithm: MLP, Hidden: []int{8, 0}}, "hidden[1]: must be 1…4096 units, got 0")
	f(Config{Target: "y", Algorithm: MLP, BatchSize: -1, Patience: -2}, "batch_size: must be at least 1, got -1", "patience: must be at least 1, got -2")
	f(Config{Target: "y", Hidden: []int{8}, BatchSize: 32, Patience: 5},
		"hidden: only the mlp has hidden layers", "batch_size: logreg trains full-batch", "patience: logreg trains to convergence")
	f(Config{Target: "y", Search: "bayes"}, `search: "bayes" is not "grid" or "random"`)
	f(Config{Target: "y", Search: SearchRandom, SearchBudget: -time.Second, SearchTrials: -1},
		"search_budget: must be positive, got -1s", "search_trials: must be at least 1, got -1")

	// Defaults apply to zero fields only.
	c := Config{Target: "y", Epochs: 7, IDColumns: []string{}}.WithDefaults()
	if c.Epochs != 7 || c.TestFraction != DefaultTestFraction || *c.L2 != DefaultL2 || len(c.IDColumns) != 0 {
		t.Fatalf("WithDefaults = %+v", c)
	}
	if c := (Config{}).WithDefaults(); !slices.Equal(c.IDColumns, []string{"customer_id"}) || c.Algorithm != LogReg || c.Hidden != nil || c.Search != "" || c.SearchBudget != 0 {
		t.Fatalf("default config = %+v", c)
	}
	// An explicit L2 of 0 turns decay off; the MLP has its own defaults.
	c = Config{Target: "y", Algorithm: MLP, L2: Float(0), Search: SearchGrid}.WithDefaults()
	if *c.L2 != 0 || c.Epochs != DefaultMLPEpochs || c.LearningRate != DefaultMLPLearningRate || !slices.Equal(c.Hidden, DefaultHidden) ||
		c.BatchSize != DefaultBatchSize || c.Patience != DefaultPatience || c.SearchBudget != DefaultSearchBudget || c.SearchTrials != DefaultSearchTrials {
		t.Fatalf("MLP WithDefaults = %+v", c)
	}
}

func TestTrainErrors(t *testing.T) {
	t.Parallel()
	base := func() *Dataset { return GenerateChurn(400, 5) }
	f := func(d *Dataset, cfg Config, want ...string) {
		t.Helper()
		_, err := Train(d, cfg)
		if err == nil {
			t.Fatalf("Train succeeded, want %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("Train = %q, want mention of %q", err, w)
			}
		}
	}
	f(base(), Config{}, "invalid trainer config", "target: must name")
	f(base(), Config{Target: "label"}, `target: no column "label" in the data (columns: customer_id, tenure_months`)
	// An explicit binary task refuses targets that are not 0/1; without
	// one, they would be a multi-class and a regression target
	// (TestTaskInference).
	f(base(), Config{Target: "contract", Task: TaskBinary}, `target: column "contract" must hold 0/1`)
	f(base(), Config{Target: "churned", Required: []string{"total_charges", "nope"}},
		`required[0]: column "total_charges" has`, "missing values", `required[1]: no column "nope"`)

	d := base()
	d.Column("churned").Numbers[6] = 2
	f(d, Config{Target: "churned", Task: TaskBinary}, `row 7, column "churned": the target must be 0 or 1, got 2`)
	d.Column("churned").Numbers[6] = math.NaN()
	f(d, Config{Target: "churned"}, `row 7, column "churned": the target must be 0 or 1, got an empty cell`)

	f(GenerateChurn(4, 1), Config{Target: "churned"}, "too few to split")

	d = base()
	clear(d.Column("churned").Numbers)
	f(d, Config{Target: "churned"}, "holds only one class")

	d = base()
	for i := range d.Column("paperless_billing").Strings {
		d.Column("paperless_billing").Strings[i] = ""
	}
	f(d, Config{Target: "churned"}, `column "paperless_billing" has no values in the training split`)

	f(base(), Config{Target: "churned", IDColumns: []string{"customer_id", "tenure_months", "monthly_charges", "total_charges", "contract", "support_calls", "payment_method", "paperless_billing"}}, "no feature columns")
}

func TestAUC(t *testing.T) {
	t.Parallel()
	f := func(y, p []float64, want float64) {
		t.Helper()
		got := AUC(y, p)
		if math.Abs(got-want) > 1e-12 && !(math.IsNaN(want) && math.IsNaN(got)) {
			t.Errorf("AUC(%v, %v) = %v, want %v", y, p, got, want)
		}
	}
	f([]float64{0, 0, 1, 1}, []float64{0.1, 0.2, 0.8, 0.9}, 1)
	f([]float64{1, 1, 0, 0}, []float64{0.1, 0.2, 0.8, 0.9}, 0)
	f([]float64{0, 1}, []float64{0.5, 0.5}, 0.5)                   // a tie counts half
	f([]float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 0.75) // one discordant pair of four
	f([]float64{0, 1, 0, 1}, []float64{0.3, 0.3, 0.3, 0.9}, 0.75)  // ties across classes
	f([]float64{1, 1}, []float64{0.3, 0.4}, math.NaN())

	if got := Accuracy([]float64{1, 0, 1, 0}, []float64{0.5, 0.49, 0.2, 0.9}, 0.5); got != 0.5 {
		t.Errorf("Accuracy = %v, want 0.5", got)
	}
	if got := LogLoss([]float64{1, 0}, []float64{0.5, 0.5}); math.Abs(got-math.Ln2) > 1e-12 {
		t.Errorf("LogLoss = %v, want ln 2", got)
	}
	if got := LogLoss([]float64{1}, []float64{0}); math.IsInf(got, 0) || got < 30 {
		t.Errorf("LogLoss of a confident miss = %v, want large and finite", got)
	}
}

func TestPredictRowWidthPanics(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "BUG") {
			t.Fatalf("recover() = %v", r)
		}
	}()
	m.PredictRow(make([]float32, 3))
}
