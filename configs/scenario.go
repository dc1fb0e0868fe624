package configs

import (
	"fmt"
	"os"

	"github.com/infergate/infergate/bench"
	"github.com/infergate/infergate/internal/yamlstrict"
)

// LoadScenario reads a benchmark scenario (configs/bench/*.yaml) with the
// same strict decoding as the main configuration, applies its defaults and
// validates it.
func LoadScenario(path string) (*bench.Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read scenario: %w", err)
	}
	var sc bench.Scenario
	if err := yamlstrict.Decode(data, &sc, keysHint); err != nil {
		return nil, fmt.Errorf("%s: cannot decode scenario:\n%w", path, err)
	}
	sc.ApplyDefaults()
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%s is invalid:\n%w", path, err)
	}
	return &sc, nil
}
