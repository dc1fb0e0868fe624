package trainer

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
)

// TrainerVersion identifies this trainer's code in lineage and in the ONNX
// producer_version. Change it when training or export changes their output.
const TrainerVersion = "infergate-trainer/2"

// The signature every trained model carries.
const (
	InputName  = "features"
	OutputName = "probability"
)

// DefaultLabels map the churn probability to a response label.
var DefaultLabels = []registry.Label{{Min: 0, Label: "low_risk"}, {Min: 0.3, Label: "medium_risk"}, {Min: 0.6, Label: "high_risk"}}

// Random streams: each use of the seed draws from its own PCG stream, so
// adding one use never shifts another.
const (
	splitStream  = 0x73706c6974   // "split": the train/validation/test shuffle
	mlpStream    = 0x6d6c70       // "mlp": initial weights and mini-batch order
	searchStream = 0x736561726368 // "search": random search settings
)

// Model is a trained binary classifier over the input row x that its
// Signature encodes: a logistic regression, probability = sigmoid(w·x + b),
// or an MLP (Layers).
type Model struct {
	// Signature says how requests become input rows and what the output is.
	Signature registry.Signature
	// Weights, one per input column in tensor order, and Bias, as float32:
	// exactly the values the ONNX file holds. Logistic regression only.
	Weights []float32
	Bias    float32
	// Layers of an MLP, from the input to the output: a ReLU follows each
	// but the last, which has one unit and a sigmoid. Nil for a logistic
	// regression.
	Layers []Layer
	// Metrics on the held-out test split ("auc", "accuracy", "log_loss",
	// "brier") and facts of the run ("train_rows", "epochs", …).
	Metrics map[string]float64
	// Search is the hyperparameter search that chose Config's learning
	// rate, L2 and hidden layout; nil when Config.Search is empty.
	Search *Search
	// Config is the effective configuration, defaults applied (and, after
	// a search, the chosen trial's settings).
	Config Config
	// DataSource and DataSHA256 identify the training data (Dataset.Source,
	// Dataset.SHA256).
	DataSource, DataSHA256 string
	// TestDataSHA256 identifies the test rows Metrics were measured on
	// (rowsSHA256), so that the registry's promotion gate compares two
	// versions' metrics only when they come from the same held-out rows.
	TestDataSHA256 string
	// Profile is the drift reference profile of the train rows: the
	// signature features' raw values and the model's probability on them
	// (referenceProfile). Register stores it beside the version; nil for a
	// Model built by hand, which is then registered without one.
	Profile   *drift.Profile
	TrainedAt time.Time

	encoder *registry.Encoder
}

// Options observe a training run; the zero value observes nothing.
type Options struct {
	// Progress, when set, is called after every epoch of every fit (every
	// trial of a search), on the goroutine that called TrainWith.
	Progress func(EpochReport)
	// Now is the clock of elapsed times and of Config.SearchBudget.
	// Default time.Now.
	Now func() time.Time
}

// EpochReport is the state of a fit after one epoch.
type EpochReport struct {
	// Trial is the search trial, from 1, of Trials planned; 0 and 0
	// without a search.
	Trial, Trials int
	// Epoch is the epoch just run, from 1, of at most MaxEpochs.
	Epoch, MaxEpochs int
	// TrainLoss is the mean log loss on the train rows during the epoch
	// (before each step); ValidationLoss and ValidationAUC are measured on
	// the validation rows after it.
	TrainLoss, ValidationLoss, ValidationAUC float64
	// Best is set when the validation loss is the fit's lowest so far
	// (MLP: the weights it will keep unless a later epoch does better).
	Best bool
	// Last is set on the fit's final epoch: MaxEpochs, or early stopping.
	Last bool
	// Elapsed is the time since TrainWith started.
	Elapsed time.Duration
}

// Train fits the model cfg.Algorithm names to d, as TrainWith does without
// observing it.
func Train(d *Dataset, cfg Config) (*Model, error) { return TrainWith(d, cfg, Options{}) }

// TrainWith fits the model cfg.Algorithm names to d, reporting to opts.
//
// Rows are shuffled with cfg.Seed and split into train, validation and test
// sets. The feature encoding is learned from the train split only (numeric:
// mean, standard deviation, median for imputation; categorical: vocabulary
// by descending frequency then name, plus an unknown bucket), written into a
// registry.Signature, and applied with registry.Encoder — the code the
// gateway uses at serving time. A logistic regression is fitted by
// full-batch Adam with L2 weight decay; an MLP by mini-batch Adam with early
// stopping on the validation log loss. With cfg.Search, several settings are
// fitted and the one with the lowest validation log loss is kept. Metrics
// are measured on the test split with the float32 weights ONNX serves. The
// same data and config give the same model, whatever the clock says (except
// for how many search trials fit in the budget).
func TrainWith(d *Dataset, cfg Config, opts Options) (*Model, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid trainer config: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	if err := cfg.validateFor(d); err != nil {
		return nil, fmt.Errorf("invalid trainer config for this data: %w", err)
	}
	y, err := labels(d.Column(cfg.Target))
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	train, val, test, err := split(len(y), cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	for _, s := range []struct {
		name string
		rows []int
	}{{"train", train}, {"validation", val}, {"test", test}} {
		if pos := countPositive(y, s.rows); pos == 0 || pos == len(s.rows) {
			return nil, fmt.Errorf("cannot train: the %s split (%d rows) holds only one class of %q; use more rows or a larger fraction", s.name, len(s.rows), cfg.Target)
		}
	}

	sig, err := learnSignature(d, cfg, train)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	m := &Model{Signature: sig, Config: cfg, DataSource: d.Source, DataSHA256: d.SHA256, TrainedAt: start.UTC()}
	if m.encoder, err = registry.NewEncoder(&m.Signature); err != nil {
		return nil, fmt.Errorf("BUG: learned signature is invalid: %w", err)
	}
	x, err := m.Encode(d)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}

	r := &run{x: x, y: y, train: train, val: val, opts: opts, now: now, start: start, proto: m}
	var fit *fitted
	if cfg.Search != "" {
		fit, m.Search = r.search(cfg)
	} else if fit, err = r.fit(cfg, monitor{}); err != nil {
		return nil, fmt.Errorf("BUG: an unbounded fit stopped: %w", err)
	}
	m.Config = fit.model.Config
	m.Weights, m.Bias, m.Layers = fit.model.Weights, fit.model.Bias, fit.model.Layers

	m.Metrics = m.evaluate(x, y, test)
	trainMetrics := m.evaluate(x, y, train)
	valMetrics := m.evaluate(x, y, val)
	for k, v := range trainMetrics {
		m.Metrics["train_"+k] = v
	}
	for k, v := range valMetrics {
		m.Metrics["validation_"+k] = v
	}
	m.Metrics["train_rows"] = float64(len(train))
	m.Metrics["validation_rows"] = float64(len(val))
	m.Metrics["test_rows"] = float64(len(test))
	m.Metrics["test_positive_rate"] = float64(countPositive(y, test)) / float64(len(test))
	m.Metrics["epochs"] = float64(fit.epochs)
	if cfg.Algorithm == MLP {
		m.Metrics["best_epoch"] = float64(fit.bestEpoch)
	}
	if m.TestDataSHA256, err = rowsSHA256(d, test); err != nil {
		return nil, fmt.Errorf("BUG: cannot hash the test rows: %w", err)
	}
	// The profile is of the rows the model was fitted on, the data whose
	// distribution the live traffic is expected to follow.
	m.Profile = m.referenceProfile(d, x, train)
	return m, nil
}

// Encoder returns the encoder of the model's signature: the one Train used,
// or a new one for a Model built by hand.
func (m *Model) Encoder() (*registry.Encoder, error) {
	if m.encoder != nil {
		return m.encoder, nil
	}
	return registry.NewEncoder(&m.Signature)
}

// Encode encodes every row of d into an input row, through the model's
// registry.Encoder. Columns are matched by name; columns the signature does
// not know (ids, the target) are skipped, absent or missing optional
// features are imputed, and an absent required feature is an error naming
// the row.
func (m *Model) Encode(d *Dataset) ([][]float32, error) {
	enc, err := m.Encoder()
	if err != nil {
		return nil, err
	}
	type binding struct {
		feature int
		col     *Column
	}
	var bound []binding
	for _, c := range d.Columns {
		if i, ok := enc.Lookup([]byte(c.Name)); ok {
			bound = append(bound, binding{i, c})
		}
	}
	out := make([][]float32, d.Rows())
	flat := make([]float32, d.Rows()*enc.Width())
	row := enc.NewRow()
	var buf []byte
	for r := range d.Rows() {
		row.Reset()
		for _, b := range bound {
			if b.col.Missing(r) {
				continue
			}
			f := enc.Feature(b.feature)
			switch {
			case f.Type == registry.Categorical && b.col.Kind == Categorical:
				buf = append(buf[:0], b.col.Strings[r]...)
				row.SetCategory(b.feature, buf)
			case f.Type == registry.Categorical:
				// A categorical feature whose values all look like numbers.
				buf = strconv.AppendFloat(buf[:0], b.col.Numbers[r], 'f', -1, 64)
				row.SetCategory(b.feature, buf)
			case b.col.Kind == Numeric:
				row.SetNumber(b.feature, b.col.Numbers[r])
			default:
				v, err := strconv.ParseFloat(b.col.Strings[r], 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("row %d, column %q: %q is not a number, and the model takes it as numeric", r+1, b.col.Name, b.col.Strings[r])
				}
				row.SetNumber(b.feature, v)
			}
		}
		values, err := row.Finish()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r+1, err)
		}
		dst := flat[r*enc.Width() : (r+1)*enc.Width() : (r+1)*enc.Width()]
		copy(dst, values)
		out[r] = dst
	}
	return out, nil
}

// Predict returns the probability of every row of d (Encode, PredictRow).
func (m *Model) Predict(d *Dataset) ([]float64, error) {
	x, err := m.Encode(d)
	if err != nil {
		return nil, err
	}
	p := make([]float64, len(x))
	for i := range x {
		p[i] = m.PredictRow(x[i])
	}
	return p, nil
}

// PredictRow returns the probability of an encoded row, computed in
// float64 from the float32 weights the ONNX file holds; ONNX Runtime agrees
// within float32 rounding. It panics when the row's width is not the
// model's.
func (m *Model) PredictRow(row []float32) float64 {
	if len(m.Layers) > 0 {
		return m.predictMLP(row)
	}
	if len(row) != len(m.Weights) {
		panic(fmt.Sprintf("BUG: trainer: PredictRow: row has %d columns, the model takes %d", len(row), len(m.Weights)))
	}
	z := float64(m.Bias)
	for i, w := range m.Weights {
		z += float64(w) * float64(row[i])
	}
	return sigmoid(z)
}

func labels(c *Column) ([]float64, error) {
	y := make([]float64, c.Len())
	for i, v := range c.Numbers {
		if v != 0 && v != 1 {
			got := strconv.FormatFloat(v, 'g', -1, 64)
			if math.IsNaN(v) {
				got = "an empty cell"
			}
			return nil, fmt.Errorf("row %d, column %q: the target must be 0 or 1, got %s", i+1, c.Name, got)
		}
		y[i] = v
	}
	return y, nil
}

func split(n int, cfg Config) (train, val, test []int, err error) {
	nTest := int(math.Round(float64(n) * cfg.TestFraction))
	nVal := int(math.Round(float64(n) * cfg.ValidationFraction))
	if nTest < 1 || nVal < 1 || n-nTest-nVal < 2 {
		return nil, nil, nil, fmt.Errorf("%d rows are too few to split into train, validation (%v) and test (%v) sets", n, cfg.ValidationFraction, cfg.TestFraction)
	}
	perm := rand.New(rand.NewPCG(cfg.Seed, splitStream)).Perm(n)
	return perm[nTest+nVal:], perm[nTest : nTest+nVal], perm[:nTest], nil
}

func countPositive(y []float64, rows []int) int {
	n := 0
	for _, r := range rows {
		if y[r] == 1 {
			n++
		}
	}
	return n
}

// learnSignature builds the feature encoding from the train rows.
func learnSignature(d *Dataset, cfg Config, train []int) (registry.Signature, error) {
	sig := registry.Signature{
		Input:  InputName,
		Output: registry.Output{Name: OutputName, Labels: slices.Clone(DefaultLabels)},
	}
	for _, c := range d.Columns {
		if c.Name == cfg.Target || slices.Contains(cfg.IDColumns, c.Name) {
			continue
		}
		f := registry.Feature{Name: c.Name, Required: slices.Contains(cfg.Required, c.Name)}
		if c.Kind == Numeric {
			f.Type = registry.Numeric
			var values []float64
			for _, r := range train {
				if !c.Missing(r) {
					values = append(values, c.Numbers[r])
				}
			}
			if len(values) == 0 {
				return sig, fmt.Errorf("column %q has no values in the training split; drop it or list it in id_columns", c.Name)
			}
			f.Mean, f.Std = meanStd(values)
			f.Impute = median(values)
		} else {
			f.Type = registry.Categorical
			counts := map[string]int{}
			for _, r := range train {
				if !c.Missing(r) {
					counts[c.Strings[r]]++
				}
			}
			if len(counts) == 0 {
				return sig, fmt.Errorf("column %q has no values in the training split; drop it or list it in id_columns", c.Name)
			}
			vocab := make([]string, 0, len(counts))
			for v := range counts {
				vocab = append(vocab, v)
			}
			slices.SortFunc(vocab, func(a, b string) int {
				return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
			})
			if len(vocab) > cfg.MaxCategories {
				vocab = vocab[:cfg.MaxCategories]
			}
			f.Vocabulary = vocab
		}
		sig.Features = append(sig.Features, f)
	}
	if len(sig.Features) == 0 {
		return sig, errors.New("no feature columns: every column is the target or an id column")
	}
	return sig, nil
}

func meanStd(values []float64) (mean, std float64) {
	for _, v := range values {
		mean += v
	}
	mean /= float64(len(values))
	for _, v := range values {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(values)))
}

func median(values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
