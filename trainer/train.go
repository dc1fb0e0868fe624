package trainer

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
)

// TrainerVersion identifies this trainer's code in lineage and in the ONNX
// producer_version. Change it when training or export changes their output.
const TrainerVersion = "infergate-trainer/2"

// InputName is the input tensor of every trained model: the encoded
// features, [batch, width] float32.
const InputName = "features"

// DefaultLabels map a binary classifier's probability to a response label.
var DefaultLabels = []registry.Label{{Min: 0, Label: "low_risk"}, {Min: 0.3, Label: "medium_risk"}, {Min: 0.6, Label: "high_risk"}}

// Random streams: each use of the seed draws from its own PCG stream, so
// adding one use never shifts another.
const (
	splitStream  = 0x73706c6974   // "split": the train/validation/test shuffle
	mlpStream    = 0x6d6c70       // "mlp": initial weights and mini-batch order
	searchStream = 0x736561726368 // "search": random search settings
)

// Model is a trained model over the input row x that its Signature
// encodes: a binary classifier (Config.Task "binary"), a multi-class
// classifier ("multiclass") or a regression ("regression"). A binary
// logistic regression, probability = sigmoid(w·x + b), is Weights and
// Bias; every other model is Layers.
type Model struct {
	// Signature says how requests become input rows and what the output is.
	Signature registry.Signature
	// Weights, one per input column in tensor order, and Bias, as float32:
	// exactly the values the ONNX file holds. A binary logistic regression
	// only.
	Weights []float32
	Bias    float32
	// Layers from the input to the output, as float32, exactly the values
	// the ONNX file holds: a ReLU follows each but the last. The last has
	// one unit and a sigmoid for a binary classifier, one unit per class
	// and a softmax for a multi-class one, one unit and no activation for a
	// regression — with the target's standardisation folded in, so that it
	// outputs the target's own scale. An MLP has two or three layers; a
	// multi-class or regression linear model ("logreg") has one. Nil for a
	// binary logistic regression.
	Layers []Layer
	// Metrics on the held-out test split — a binary classifier's "auc",
	// "accuracy", "log_loss", "brier"; a multi-class one's "accuracy",
	// "log_loss", "macro_f1", "brier" (and "auc" with two classes); a
	// regression's "rmse", "mae", "r2" —, the same prefixed "train_" and
	// "validation_" for the other splits, and facts of the run
	// ("train_rows", "epochs", …).
	Metrics map[string]float64
	// Search is the hyperparameter search that chose Config's learning
	// rate, L2 and hidden layout; nil when Config.Search is empty.
	Search *Search
	// Config is the effective configuration, defaults applied, Task
	// resolved (and, after a search, the chosen trial's settings).
	Config Config
	// DataSource and DataSHA256 identify the training data (Dataset.Source,
	// Dataset.SHA256).
	DataSource, DataSHA256 string
	// TestDataSHA256 identifies the test rows Metrics were measured on
	// (rowsSHA256), so that the registry's promotion gate compares two
	// versions' metrics only when they come from the same held-out rows.
	TestDataSHA256 string
	// Profile is the drift reference profile of the train rows: the
	// signature features' raw values and the model's score on them
	// (PredictRow, referenceProfile). Register stores it beside the
	// version; nil for a Model built by hand, which is then registered
	// without one.
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
	// TrainLoss is the mean loss on the train rows during the epoch
	// (before each step); ValidationLoss is measured on the validation
	// rows after it. The loss is the log loss of a classifier, the mean
	// squared error (on the target's scale) of a regression.
	TrainLoss, ValidationLoss float64
	// ValidationAUC is a binary classifier's AUC on the validation rows;
	// NaN for the other tasks.
	ValidationAUC float64
	// Metric names the task's headline metric, which ValidationMetric
	// measures on the validation rows: "auc" (binary), "accuracy"
	// (multiclass) or "r2" (regression). Empty in a report made by hand,
	// which String reads as a binary classifier's.
	Metric           string
	ValidationMetric float64
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
// gateway uses at serving time. The task (cfg.Task, else inferred from the
// target) decides the output: a sigmoid, a softmax over the classes, or the
// value. A linear model ("logreg") is fitted by full-batch Adam with L2
// weight decay; an MLP by mini-batch Adam with early stopping on the
// validation loss (log loss; a regression's mean squared error). With
// cfg.Search, several settings are fitted and the one with the lowest
// validation loss is kept. Metrics are measured on the test split with the
// float32 weights ONNX serves. The same data and config give the same
// model, whatever the clock says (except for how many search trials fit in
// the budget).
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
	tgt, err := readTarget(d.Column(cfg.Target), cfg.Task)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	cfg.Task = tgt.task
	y := tgt.y
	train, val, test, err := split(len(y), cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	if err := tgt.checkSplits(cfg.Target, rowSet{"train", train}, rowSet{"validation", val}, rowSet{"test", test}); err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}

	sig, err := learnSignature(d, cfg, train)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}
	tgt.describeOutput(&sig)
	m := &Model{Signature: sig, Config: cfg, DataSource: d.Source, DataSHA256: d.SHA256, TrainedAt: start.UTC()}
	if m.encoder, err = registry.NewEncoder(&m.Signature); err != nil {
		return nil, fmt.Errorf("BUG: learned signature is invalid: %w", err)
	}
	x, err := m.Encode(d)
	if err != nil {
		return nil, fmt.Errorf("cannot train: %w", err)
	}

	r := &run{x: x, y: y, head: newHead(tgt, train), train: train, val: val, opts: opts, now: now, start: start, proto: m}
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
	if cfg.Task == TaskBinary {
		m.Metrics["test_positive_rate"] = float64(countPositive(y, test)) / float64(len(test))
	}
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

// learnSignature builds the input and its feature encoding from the train
// rows; the output, which depends on the task, is the target's to describe
// (target.describeOutput).
func learnSignature(d *Dataset, cfg Config, train []int) (registry.Signature, error) {
	sig := registry.Signature{Input: InputName}
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
