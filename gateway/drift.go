package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// routeDrift is the drift monitoring of one route of a routing snapshot: a
// monitor per model version the route serves whose registry entry carries
// a reference profile, shared by the targets that serve that version.
type routeDrift struct {
	byTarget map[*router.Target]*drift.Monitor
	versions []*versionDrift
}

type versionDrift struct {
	version string
	monitor *drift.Monitor
	watcher *drift.Watcher // nil without an action
}

// snapshotDrift is what a snapshot's drift monitoring shares: the metrics
// of its monitors (registered while the snapshot serves) and its watchers'
// goroutines.
type snapshotDrift struct {
	metrics  *metrics.Set
	cancel   context.CancelFunc
	watchers sync.WaitGroup
}

// driftConfig is route's drift block, defaults applied.
func (g *Gateway) driftConfig(route string) drift.RouteConfig {
	cfg := g.cfg.Drift[route]
	cfg.ApplyDefaults()
	return cfg
}

// newRouteDrift makes the monitors of route r in snapshot s; nil when the
// route's monitoring is off or none of its versions has a profile. A profile
// that does not read or decode refuses the snapshot: a version that claims
// one and cannot be monitored should not serve.
func (g *Gateway) newRouteDrift(s *serving, r *router.Route) (*routeDrift, error) {
	cfg := g.driftConfig(r.Name())
	if cfg.Disabled || s.table.Store() == nil {
		return nil, nil
	}
	rd := &routeDrift{byTarget: map[*router.Target]*drift.Monitor{}}
	for _, t := range r.Targets() {
		m := t.Model()
		if m == nil {
			continue
		}
		if v := rd.version(m.Version()); v != nil {
			rd.byTarget[t] = v.monitor
			continue
		}
		if _, ok := m.Meta().Files[registry.DriftProfileFile]; !ok {
			continue
		}
		data, err := s.table.Store().ReadFile(m.Name(), m.Version(), registry.DriftProfileFile)
		if err != nil {
			return nil, fmt.Errorf("route %q: refusing model %s %s: %w", r.Name(), m.Name(), m.Version(), err)
		}
		prof, err := drift.DecodeProfile(data)
		if err != nil {
			return nil, fmt.Errorf("route %q: refusing model %s %s: its %s: %w", r.Name(), m.Name(), m.Version(), registry.DriftProfileFile, err)
		}
		mon, err := drift.NewMonitor(prof, cfg.MonitorConfig)
		if err != nil {
			return nil, fmt.Errorf("route %q: model %s %s: %w", r.Name(), m.Name(), m.Version(), err)
		}
		mon.RegisterMetrics(s.drift.metrics, r.Name(), m.Version())
		v := &versionDrift{version: m.Version(), monitor: mon}
		if cfg.Action != nil {
			if v.watcher, err = drift.NewWatcher(mon, r.Name(), m.Version(), *cfg.Action, slog.Default()); err != nil {
				return nil, fmt.Errorf("route %q: model %s %s: %w", r.Name(), m.Name(), m.Version(), err)
			}
			v.watcher.RegisterMetrics(s.drift.metrics)
		}
		rd.versions = append(rd.versions, v)
		rd.byTarget[t] = mon
	}
	if len(rd.versions) == 0 {
		return nil, nil
	}
	return rd, nil
}

func (rd *routeDrift) version(version string) *versionDrift {
	for _, v := range rd.versions {
		if v.version == version {
			return v
		}
	}
	return nil
}

// startDrift registers the snapshot's drift metrics and starts its
// watchers; closeDrift stops them and unregisters the metrics.
func (s *serving) startDrift() {
	metrics.RegisterSet(s.drift.metrics)
	ctx, cancel := context.WithCancel(context.Background())
	s.drift.cancel = cancel
	for _, rs := range s.routes {
		if rs.drift == nil {
			continue
		}
		for _, v := range rs.drift.versions {
			if v.watcher != nil {
				s.drift.watchers.Go(func() { v.watcher.Run(ctx) })
			}
		}
	}
}

func (s *serving) closeDrift() {
	if s.drift.cancel != nil {
		s.drift.cancel()
		s.drift.watchers.Wait()
		s.drift.cancel = nil
		metrics.UnregisterSet(s.drift.metrics, true)
	}
}

// observe counts an answer to req into the drift monitor of the version
// that gave it, when that version is monitored: a row's features and its
// classifier's probability or regression's value, or a tensor request's
// inputs. The pipeline calls it once per answer, cached answers included.
func (rs *routeState) observe(req *router.Request, res *router.Result) {
	if rs.drift == nil {
		return
	}
	mon := rs.drift.byTarget[res.Target]
	if mon == nil {
		return
	}
	if req.Tensors != nil {
		mon.ObserveInputs(req.Tensors)
		return
	}
	score := res.Probability
	if res.Kind == router.AnswerValue {
		score = res.Value
	}
	mon.Observe(&req.Features, score)
}
