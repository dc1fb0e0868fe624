package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
)

// DriftConfig configures the drift monitoring of a route's model versions.
// It is on by default for every version whose registry entry carries a
// drift reference profile (the trainer writes one); a version without one
// is served unmonitored.
type DriftConfig struct {
	// Disabled turns monitoring off for the route.
	Disabled bool `yaml:"disabled"`
	// The monitor's sampling, window and thresholds.
	drift.MonitorConfig `yaml:",inline"`
	// Action is what happens when a version drifts: a log line, a webhook or
	// a command (such as a retraining job). Default none: the report and
	// metrics only.
	Action *drift.ActionConfig `yaml:"action"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *DriftConfig) ApplyDefaults() {
	c.MonitorConfig.ApplyDefaults()
	if c.Action != nil {
		c.Action.ApplyDefaults()
	}
}

// Validate returns the config's problems, each with its field path below
// the route's (drift.sample_rate: …).
func (c *DriftConfig) Validate() error {
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

// versionDrift is the monitoring of one model version of a route: the route's
// targets that serve that version share it.
type versionDrift struct {
	version string
	monitor *drift.Monitor
	watcher *drift.Watcher // nil without an action
}

// monitor returns the drift monitor of m's version in route r, making it
// (and its watcher) on first use; nil when monitoring is off or the version
// has no reference profile.
func (l *loader) monitor(r *Route, cfg *DriftConfig, m *Model) (*drift.Monitor, error) {
	if cfg.Disabled {
		return nil, nil
	}
	for _, d := range r.drift {
		if d.version == m.Version() {
			return d.monitor, nil
		}
	}
	if _, ok := m.meta.Files[registry.DriftProfileFile]; !ok {
		return nil, nil
	}
	data, err := l.store.ReadFile(m.Name(), m.Version(), registry.DriftProfileFile)
	if err != nil {
		return nil, fmt.Errorf("route %q: refusing model %s %s: %w", r.name, m.Name(), m.Version(), err)
	}
	prof, err := drift.DecodeProfile(data)
	if err != nil {
		return nil, fmt.Errorf("route %q: refusing model %s %s: its %s: %w", r.name, m.Name(), m.Version(), registry.DriftProfileFile, err)
	}
	mon, err := drift.NewMonitor(prof, cfg.MonitorConfig)
	if err != nil {
		return nil, fmt.Errorf("route %q: model %s %s: %w", r.name, m.Name(), m.Version(), err)
	}
	mon.RegisterMetrics(l.table.metrics, r.name, m.Version())
	d := &versionDrift{version: m.Version(), monitor: mon}
	if cfg.Action != nil {
		d.watcher, err = drift.NewWatcher(mon, r.name, m.Version(), *cfg.Action, slog.Default())
		if err != nil {
			return nil, fmt.Errorf("route %q: model %s %s: %w", r.name, m.Name(), m.Version(), err)
		}
		d.watcher.RegisterMetrics(l.table.metrics)
	}
	r.drift = append(r.drift, d)
	return mon, nil
}

// startDrift starts the route's drift watchers; stopDrift stops them.
func (r *Route) startDrift() {
	if len(r.drift) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopWatchers = cancel
	for _, d := range r.drift {
		if d.watcher != nil {
			r.watchers.Go(func() { d.watcher.Run(ctx) })
		}
	}
}

func (r *Route) stopDrift() {
	if r.stopWatchers != nil {
		r.stopWatchers()
		r.watchers.Wait()
	}
}

// Observe counts res, an answer of t to req, into the drift monitor of t's
// version, if it is monitored. Serve does so for the answers it computes;
// the gateway calls it for the answers its response cache gives.
func (t *Target) Observe(req *Request, res *Result) {
	if t.drift != nil {
		t.drift.Observe(&req.Features, res.Probability)
	}
}

// ErrNoDriftProfile: the route serves no version with a drift reference
// profile, or monitoring is off for it.
var ErrNoDriftProfile = errors.New("no drift monitoring")

// VersionDrift is the drift report of one version a route serves.
type VersionDrift struct {
	Version string       `json:"version"`
	Report  drift.Report `json:"report"`
	// Actions are the watcher's actions run and failed since the table
	// was loaded (absent without an action).
	Actions *DriftActions `json:"actions,omitempty"`
}

// DriftActions counts a watcher's actions.
type DriftActions struct {
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
}

// DriftReport returns the drift report of every version of the route that
// is monitored, as of now, in the order the route's targets name them;
// ErrNoDriftProfile when none is.
func (r *Route) DriftReport(now time.Time) ([]VersionDrift, error) {
	if len(r.drift) == 0 {
		return nil, ErrNoDriftProfile
	}
	out := make([]VersionDrift, 0, len(r.drift))
	for _, d := range r.drift {
		vd := VersionDrift{Version: d.version, Report: d.monitor.Report(now)}
		if d.watcher != nil {
			ok, failed := d.watcher.Actions()
			vd.Actions = &DriftActions{OK: ok, Failed: failed}
		}
		out = append(out, vd)
	}
	return out, nil
}
