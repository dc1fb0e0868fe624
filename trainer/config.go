package trainer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/infergate/infergate/internal/defaults"
)

// Defaults of Config, applied to zero fields.
const (
	DefaultTestFraction       = 0.2
	DefaultValidationFraction = 0.1
	DefaultEpochs             = 2000
	DefaultLearningRate       = 0.05
	DefaultL2                 = 1e-3
	DefaultMaxCategories      = 50
)

// DefaultIDColumns are the entity-key columns excluded from the features when
// Config.IDColumns is nil.
var DefaultIDColumns = []string{"customer_id"}

// Config says what and how to train. Zero fields take the documented
// defaults (WithDefaults).
type Config struct {
	// Target is the label column: 0/1 values, none missing. Required.
	Target string `yaml:"target"`
	// IDColumns are entity keys, not features. Default ["customer_id"]
	// (when nil; an empty list excludes nothing). Names absent from the
	// data are ignored.
	IDColumns []string `yaml:"id_columns"`
	// Required features must be present in every request; the others are
	// optional and take the training median (numeric) or the unknown bucket
	// (categorical) when absent. Required columns must have no missing
	// values in the training data.
	Required []string `yaml:"required"`
	// Seed drives the split shuffle; training is otherwise deterministic.
	Seed uint64 `yaml:"seed"`
	// TestFraction of rows is held out for the reported metrics. Default 0.2.
	TestFraction float64 `yaml:"test_fraction"`
	// ValidationFraction of rows is held out and reported on
	// (validation_log_loss). Default 0.1.
	ValidationFraction float64 `yaml:"validation_fraction"`
	// Epochs is the number of full-batch gradient steps. Logistic
	// regression with L2 is convex, so it is trained to convergence rather
	// than stopped early on a small, noisy validation split. Default 2000.
	Epochs int `yaml:"epochs"`
	// LearningRate of the Adam optimiser. Default 0.05.
	LearningRate float64 `yaml:"learning_rate"`
	// L2 is the weight decay (bias excluded). Default 0.001.
	L2 float64 `yaml:"l2"`
	// MaxCategories caps a categorical feature's vocabulary; rarer values
	// share the unknown bucket. Default 50.
	MaxCategories int `yaml:"max_categories"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.IDColumns == nil {
		c.IDColumns = slices.Clone(DefaultIDColumns)
	}
	defaults.Set(&c.TestFraction, DefaultTestFraction)
	defaults.Set(&c.ValidationFraction, DefaultValidationFraction)
	defaults.Set(&c.Epochs, DefaultEpochs)
	defaults.Set(&c.LearningRate, DefaultLearningRate)
	defaults.Set(&c.L2, DefaultL2)
	defaults.Set(&c.MaxCategories, DefaultMaxCategories)
	return c
}

// Validate reports every invalid field of c (after WithDefaults), each with
// its path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Target == "" {
		bad("target: must name the label column")
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
	if c.L2 < 0 || math.IsNaN(c.L2) || math.IsInf(c.L2, 0) {
		bad("l2: must be finite and >= 0, got %v", c.L2)
	}
	if c.MaxCategories < 1 {
		bad("max_categories: must be at least 1, got %d", c.MaxCategories)
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
	case target.Kind != Numeric:
		errs = append(errs, fmt.Errorf("target: column %q must hold 0/1, found non-numeric values", c.Target))
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
