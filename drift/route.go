package drift

import "errors"

// RouteConfig is the drift monitoring of a route's model versions
// (routes[].drift). It is on by default for every version whose registry
// entry carries a drift reference profile (the trainer writes one); a
// version without one is served unmonitored.
type RouteConfig struct {
	// Disabled turns monitoring off for the route.
	Disabled bool `yaml:"disabled"`
	// The monitor's sampling, window and thresholds.
	MonitorConfig `yaml:",inline"`
	// Action is what happens when a version drifts: a log line, a webhook or
	// a command (such as a retraining job). Default none: the report and
	// metrics only.
	Action *ActionConfig `yaml:"action"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *RouteConfig) ApplyDefaults() {
	c.MonitorConfig.ApplyDefaults()
	if c.Action != nil {
		c.Action.ApplyDefaults()
	}
}

// Validate returns the config's problems, each with its field path below
// the route's (drift.sample_rate: …).
func (c *RouteConfig) Validate() error {
	if c.Disabled {
		return nil
	}
	var errs []error
	errs = append(errs, c.MonitorConfig.Validate())
	if c.Action != nil {
		errs = append(errs, c.Action.Validate())
	}
	return errors.Join(errs...)
}
