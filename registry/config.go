package registry

import (
	"errors"

	"github.com/infergate/infergate/internal/defaults"
)

// DefaultRoot is the registry folder when the config names none, relative to
// the working directory.
const DefaultRoot = "var/registry"

// Config locates the model store.
type Config struct {
	// Root is the registry folder. Default var/registry.
	Root string `yaml:"root"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Root, DefaultRoot)
}

// Validate checks c after ApplyDefaults.
func (c *Config) Validate() error {
	if c.Root == "" {
		return errors.New("registry.root: must name a folder")
	}
	return nil
}
