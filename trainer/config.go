package trainer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/registry"
)

// Tasks Train learns (Config.Task), named as registry.Signature.Task names
// them, so that a trained model's signature says the task it was trained
// for (except a two-class multi-class model, which the registry treats as
// the binary classifier it is).
const (
	// TaskAuto infers the task from the target column: 0/1 numbers are a
	// binary classifier's, text a multi-class one's, other numbers a
	// regression's.
	TaskAuto = ""
	// TaskBinary predicts the probability of a 0/1 target being 1.
	TaskBinary = registry.TaskBinary
	// TaskMulticlass predicts a probability for each class of the target.
	TaskMulticlass = registry.TaskMulticlass
	// TaskRegression predicts the target's value.
	TaskRegression = registry.TaskRegression
)

// Algorithms Train fits (Config.Algorithm).
const (
	// LogReg is a linear model trained full-batch to convergence: a
	// logistic regression sigmoid(x·W + B) for a binary target, a softmax
	// regression softmax(x·W + B) for a multi-class one, a linear
	// regression x·W + B for a number.
	LogReg = "logreg"
	// MLP is a multilayer perceptron: one or two ReLU hidden layers and a
	// sigmoid, softmax or linear output, trained on mini-batches with early
	// stopping.
	MLP = "mlp"
)

// Hyperparameter search strategies (Config.Search).
const (
	// SearchGrid tries a fixed grid of learning rates, L2 weights and (for
	// the MLP) hidden layouts, in a fixed order.
	SearchGrid = "grid"
	// SearchRandom draws SearchTrials settings from the seed.
	SearchRandom = "random"
)

// Defaults of Config, applied to zero fields. Where the two algorithms
// differ, the MLP's default has its own constant.
const (
	DefaultAlgorithm          = LogReg
	DefaultTestFraction       = 0.2
	DefaultValidationFraction = 0.1
	DefaultEpochs             = 2000
	DefaultMLPEpochs          = 200
	DefaultLearningRate       = 0.05
	DefaultMLPLearningRate    = 0.01
	DefaultL2                 = 1e-3
	DefaultBatchSize          = 64
	DefaultPatience           = 10
	DefaultMaxCategories      = 50
	DefaultSearchBudget       = 30 * time.Second
	DefaultSearchTrials       = 12
)

// MaxHiddenLayers is the deepest MLP Train fits.
const MaxHiddenLayers = 2

// MaxClasses is the most classes a multi-class target may have: a column of
// more distinct values is more likely an id or free text than a label, and
// each class is an output of the model.
const MaxClasses = 256

// DefaultIDColumns are the entity-key columns excluded from the features when
// Config.IDColumns is nil.
var DefaultIDColumns = []string{"customer_id"}

// DefaultHidden is the MLP's hidden layout when Config.Hidden is nil.
var DefaultHidden = []int{32}

// Config says what and how to train. Zero fields take the documented
// defaults (WithDefaults).
type Config struct {
	// Target is the column to predict, none of its cells missing: 0/1 for
	// a binary classifier, class names (or numbers taken as names) for a
	// multi-class one, numbers for a regression. Required.
	Target string `yaml:"target"`
	// Task is what to learn: "binary", "multiclass" or "regression".
	// Default "" infers it from the target: a numeric column of 0s and 1s
	// is binary, a text column multiclass, any other numeric column a
	// regression. "multiclass" on a numeric column takes its distinct
	// values as the classes.
	Task string `yaml:"task"`
	// IDColumns are the columns that are not features: entity keys, and
	// any other column the model must not see (another model's target, a
	// value known only after the fact). Default ["customer_id"] (when nil;
	// an empty list excludes nothing). Names absent from the data are
	// ignored.
	IDColumns []string `yaml:"id_columns"`
	// Required features must be present in every request; the others are
	// optional and take the training median (numeric) or the unknown bucket
	// (categorical) when absent. Required columns must have no missing
	// values in the training data.
	Required []string `yaml:"required"`
	// Algorithm is "logreg" or "mlp". Default "logreg".
	Algorithm string `yaml:"algorithm"`
	// Seed drives the split shuffle and, for the MLP, the initial weights
	// and the mini-batch order; training is otherwise deterministic.
	Seed uint64 `yaml:"seed"`
	// TestFraction of rows is held out for the reported metrics. Default 0.2.
	TestFraction float64 `yaml:"test_fraction"`
	// ValidationFraction of rows is held out for early stopping and the
	// hyperparameter search, and reported on (validation_log_loss, or
	// validation_rmse for a regression). Default 0.1.
	ValidationFraction float64 `yaml:"validation_fraction"`
	// Epochs is the most passes over the train rows. Logistic regression
	// takes one full-batch step per epoch and, being convex with L2, is
	// trained to convergence rather than stopped early on a small, noisy
	// validation split: default 2000. The MLP takes one step per mini-batch
	// and stops early (Patience): default 200.
	Epochs int `yaml:"epochs"`
	// LearningRate of the Adam optimiser. Default 0.05 (logreg), 0.01 (mlp).
	LearningRate float64 `yaml:"learning_rate"`
	// L2 is the weight decay (biases excluded); 0 turns it off. Default
	// 0.001 when nil.
	L2 *float64 `yaml:"l2"`
	// Hidden are the MLP's hidden layer widths, one or two layers. Default
	// [32]. Unused by logreg.
	Hidden []int `yaml:"hidden"`
	// BatchSize is the MLP's mini-batch size. Default 64. Unused by logreg.
	BatchSize int `yaml:"batch_size"`
	// Patience is how many epochs the MLP trains without improving its best
	// validation loss (log loss; a regression's mean squared error) before
	// it stops and restores the best weights. Default 10. Unused by logreg.
	Patience int `yaml:"patience"`
	// MaxCategories caps a categorical feature's vocabulary; rarer values
	// share the unknown bucket. Default 50.
	MaxCategories int `yaml:"max_categories"`
	// Search, when "grid" or "random", tries several learning rates, L2
	// weights and (mlp) hidden layouts and keeps the model with the lowest
	// validation loss (log loss; a regression's mean squared error); the
	// searched values replace LearningRate, L2 and Hidden. Default "" (no
	// search).
	Search string `yaml:"search"`
	// SearchBudget bounds the search's time: no trial starts after it, and
	// a trial it interrupts is discarded (the first trial always completes).
	// It decides how many trials run, never what they are. Default 30s.
	SearchBudget time.Duration `yaml:"search_budget"`
	// SearchTrials is the most trials a search runs: the first ones of the
	// grid, or the number drawn at random. Default 12.
	SearchTrials int `yaml:"search_trials"`
}

// Float returns a pointer to v, for Config.L2.
func Float(v float64) *float64 { return &v }

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.IDColumns == nil {
		c.IDColumns = slices.Clone(DefaultIDColumns)
	}
	defaults.Set(&c.Algorithm, DefaultAlgorithm)
	defaults.Set(&c.TestFraction, DefaultTestFraction)
	defaults.Set(&c.ValidationFraction, DefaultValidationFraction)
	defaults.Set(&c.MaxCategories, DefaultMaxCategories)
	if c.Algorithm == MLP {
		defaults.Set(&c.Epochs, DefaultMLPEpochs)
		defaults.Set(&c.LearningRate, DefaultMLPLearningRate)
		if c.Hidden == nil {
			c.Hidden = slices.Clone(DefaultHidden)
		}
		defaults.Set(&c.BatchSize, DefaultBatchSize)
		defaults.Set(&c.Patience, DefaultPatience)
	} else {
		defaults.Set(&c.Epochs, DefaultEpochs)
		defaults.Set(&c.LearningRate, DefaultLearningRate)
	}
	if c.L2 == nil {
		c.L2 = Float(DefaultL2)
	}
	if c.Search != "" {
		defaults.Set(&c.SearchBudget, DefaultSearchBudget)
		defaults.Set(&c.SearchTrials, DefaultSearchTrials)
	}
	return c
}

// l2 is the L2 weight of a config after WithDefaults.
func (c *Config) l2() float64 {
	if c.L2 == nil {
		return 0
	}
	return *c.L2
}

// Validate reports every invalid field of c (after WithDefaults), each with
// its path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Target == "" {
		bad("target: must name the label column")
	}
	switch c.Task {
	case TaskAuto, TaskBinary, TaskMulticlass, TaskRegression:
	default:
		bad("task: %q is not %q, %q or %q (or empty to infer it from the target)", c.Task, TaskBinary, TaskMulticlass, TaskRegression)
	}
	if c.Algorithm != LogReg && c.Algorithm != MLP {
		bad("algorithm: %q is not %q or %q", c.Algorithm, LogReg, MLP)
	}
	inRange := func(v, lo, hi float64) bool { return !math.IsNaN(v) && v > lo && v < hi }
	if !inRange(c.TestFraction, 0, 1) {
		bad("test_fraction: must be in (0, 1), got %v", c.TestFraction)
	}
	if !inRange(c.ValidationFraction, 0, 1) {
		bad("validation_fraction: must be in (0, 1), got %v", c.ValidationFraction)
	}
	if c.TestFraction+c.ValidationFraction >= 0.9 {
		bad("test_fraction + validation_fraction: must leave at least 10%% of rows for training, got %v", c.TestFraction+c.ValidationFraction)
	}
	if c.Epochs < 1 {
		bad("epochs: must be at least 1, got %d", c.Epochs)
	}
	if !inRange(c.LearningRate, 0, math.Inf(1)) {
		bad("learning_rate: must be positive, got %v", c.LearningRate)
	}
	if l2 := c.l2(); l2 < 0 || math.IsNaN(l2) || math.IsInf(l2, 0) {
		bad("l2: must be finite and >= 0, got %v", l2)
	}
	if c.Algorithm == MLP {
		if len(c.Hidden) < 1 || len(c.Hidden) > MaxHiddenLayers {
			bad("hidden: must list 1 or %d hidden layer widths, got %d", MaxHiddenLayers, len(c.Hidden))
		}
		for i, h := range c.Hidden {
			if h < 1 || h > 4096 {
				bad("hidden[%d]: must be 1…4096 units, got %d", i, h)
			}
		}
		if c.BatchSize < 1 {
			bad("batch_size: must be at least 1, got %d", c.BatchSize)
		}
		if c.Patience < 1 {
			bad("patience: must be at least 1, got %d", c.Patience)
		}
	}
	if c.Algorithm == LogReg {
		if len(c.Hidden) > 0 {
			bad("hidden: only the mlp has hidden layers (algorithm: %s)", c.Algorithm)
		}
		if c.BatchSize != 0 {
			bad("batch_size: logreg trains full-batch; only the mlp takes mini-batches")
		}
		if c.Patience != 0 {
			bad("patience: logreg trains to convergence; only the mlp stops early")
		}
	}
	if c.MaxCategories < 1 {
		bad("max_categories: must be at least 1, got %d", c.MaxCategories)
	}
	switch c.Search {
	case "":
	case SearchGrid, SearchRandom:
		if c.SearchBudget <= 0 {
			bad("search_budget: must be positive, got %s", c.SearchBudget)
		}
		if c.SearchTrials < 1 {
			bad("search_trials: must be at least 1, got %d", c.SearchTrials)
		}
	default:
		bad("search: %q is not %q or %q (or empty for none)", c.Search, SearchGrid, SearchRandom)
	}
	for i, name := range c.IDColumns {
		if name == c.Target && name != "" {
			bad("id_columns[%d]: %q is the target", i, name)
		}
	}
	for i, name := range c.Required {
		switch {
		case name == "":
			bad("required[%d]: must not be empty", i)
		case name == c.Target:
			bad("required[%d]: %q is the target, not a feature", i, name)
		case slices.Contains(c.IDColumns, name):
			bad("required[%d]: %q is an id column, not a feature", i, name)
		case slices.Index(c.Required, name) < i:
			bad("required[%d]: %q is listed twice", i, name)
		}
	}
	return errors.Join(errs...)
}

// validateFor checks c against the columns of d.
func (c *Config) validateFor(d *Dataset) error {
	var errs []error
	target := d.Column(c.Target)
	switch {
	case target == nil:
		errs = append(errs, fmt.Errorf("target: no column %q in the data (columns: %s)", c.Target, columnNames(d)))
	case target.Kind == Numeric:
	case c.Task == TaskBinary:
		errs = append(errs, fmt.Errorf("target: column %q must hold 0/1, found non-numeric values", c.Target))
	case c.Task == TaskRegression:
		errs = append(errs, fmt.Errorf("target: column %q must hold numbers for a regression, found non-numeric values (task multiclass takes them as classes)", c.Target))
	}
	for i, name := range c.Required {
		col := d.Column(name)
		if col == nil {
			errs = append(errs, fmt.Errorf("required[%d]: no column %q in the data (columns: %s)", i, name, columnNames(d)))
			continue
		}
		missing := 0
		for r := range col.Len() {
			if col.Missing(r) {
				missing++
			}
		}
		if missing > 0 {
			errs = append(errs, fmt.Errorf("required[%d]: column %q has %d missing values; requests must carry a required feature, so the training data must too (make it optional, or clean the data)", i, name, missing))
		}
	}
	return errors.Join(errs...)
}

func columnNames(d *Dataset) string {
	s := ""
	for i, c := range d.Columns {
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}
