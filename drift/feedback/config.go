package feedback

import (
	"fmt"
	"time"

	"github.com/infergate/infergate/internal/defaults"
)

// Defaults of Config.
const (
	DefaultCapacity  = 100_000
	DefaultTTL       = 24 * time.Hour
	DefaultThreshold = 0.5
)

// MaxCapacity bounds Config.Capacity: the table is allocated whole in New,
// EntrySize bytes a prediction (10 000 000 predictions take 1.6 GB).
const MaxCapacity = 10_000_000

// Config configures the joining of labels to predictions.
type Config struct {
	// Disabled turns feedback off: predictions are not recorded and every
	// label is refused with ErrDisabled.
	Disabled bool `yaml:"disabled"`
	// Capacity is the number of predictions kept waiting for their label,
	// rounded up to a multiple of Ways. The table takes EntrySize bytes per
	// prediction, allocated at start. Default 100000 (16 MB).
	Capacity int `yaml:"capacity"`
	// TTL is how long a prediction waits for its label; a label that comes
	// later is refused as unknown. Default 24h.
	TTL time.Duration `yaml:"ttl"`
	// Threshold is the probability at or above which a prediction counts as
	// positive, for the accuracy. Default 0.5.
	Threshold float64 `yaml:"threshold"`
}

// ApplyDefaults fills the fields left at zero.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Capacity, DefaultCapacity)
	defaults.Set(&c.TTL, DefaultTTL)
	defaults.Set(&c.Threshold, DefaultThreshold)
}

// Validate reports the first invalid field of a config with defaults
// applied; a disabled config is valid.
func (c *Config) Validate() error {
	if c.Disabled {
		return nil
	}
	switch {
	case c.Capacity < 1 || c.Capacity > MaxCapacity:
		return fmt.Errorf("feedback.capacity: %d must be in [1, %d]", c.Capacity, MaxCapacity)
	case c.TTL <= 0:
		return fmt.Errorf("feedback.ttl: %s must be positive", c.TTL)
	case !(c.Threshold > 0 && c.Threshold < 1):
		return fmt.Errorf("feedback.threshold: %g must be in (0, 1)", c.Threshold)
	}
	return nil
}
