package registry

import (
	"errors"
	"fmt"
	"time"

	"github.com/infergate/infergate/internal/defaults"
)

// DefaultRoot is the registry folder when the config names none, relative to
// the working directory.
const DefaultRoot = "var/registry"

// DefaultWatchInterval is how often a serving gateway looks for new versions
// and moved aliases.
const DefaultWatchInterval = 2 * time.Second

// Config locates the model store.
type Config struct {
	// Root is the registry folder. Default var/registry.
	Root string `yaml:"root"`
	// WatchInterval is how often `infergate serve` checks the registry for
	// a new version behind a route's alias (or a moved alias) and swaps it
	// in; 0 turns the watch off. Default 2s.
	WatchInterval *time.Duration `yaml:"watch_interval"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Root, DefaultRoot)
	if c.WatchInterval == nil {
		d := DefaultWatchInterval
		c.WatchInterval = &d
	}
}

// Validate checks c after ApplyDefaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Root == "" {
		errs = append(errs, errors.New("registry.root: must name a folder"))
	}
	if c.WatchInterval != nil && *c.WatchInterval < 0 {
		errs = append(errs, fmt.Errorf("registry.watch_interval: must not be negative, got %s", *c.WatchInterval))
	}
	return errors.Join(errs...)
}
