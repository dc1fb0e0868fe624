package router

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router/remote"
	"github.com/infergate/infergate/router/rules"
)

// Opener starts a batcher over a model file. Package batcher's ONNX loader
// implements it; the router does not know how instances are made.
type Opener interface {
	Open(path, model, version string, cfg batcher.Config, opts batcher.ModelOptions) (*batcher.Batcher, error)
}

// Load applies the defaults to a copy of routes, validates them, resolves
// every model target in the registry, opens its model (once per version,
// shared by the targets that name it), connects remote targets, compiles
// rules, and starts the canary analyses and shadow workers. On error,
// whatever was opened is closed again.
func Load(routes []RouteConfig, store *registry.Store, opener Opener) (*Table, error) {
	cfgs := make([]RouteConfig, len(routes))
	for i := range routes {
		cfgs[i] = routes[i]
		cfgs[i].ApplyDefaults()
	}
	if err := Validate(cfgs); err != nil {
		return nil, fmt.Errorf("invalid routes:\n%w", err)
	}
	l := &loader{
		store:  store,
		opener: opener,
		table:  &Table{byName: make(map[string]*Route, len(routes)), metrics: metrics.NewSet(), store: store},
		models: map[string]openedModel{},
	}
	for i := range cfgs {
		r, err := l.route(&cfgs[i])
		if r != nil {
			// Registered even when incomplete, so Close stops what started.
			l.table.routes = append(l.table.routes, r)
		}
		if err != nil {
			_ = l.table.Close()
			return nil, err
		}
		l.table.byName[r.name] = r
	}
	slices.SortFunc(l.table.routes, func(a, b *Route) int { return strings.Compare(a.name, b.name) })
	metrics.RegisterSet(l.table.metrics)
	for _, r := range l.table.routes {
		if r.canary != nil {
			r.canary.start()
		}
		if r.shadow != nil {
			r.shadow.start()
		}
	}
	return l.table, nil
}

type loader struct {
	store  *registry.Store
	opener Opener
	table  *Table
	models map[string]openedModel // by model@version
}

// openedModel is a version the table opened, with the batching it was
// opened with and the target that asked first.
type openedModel struct {
	m        *Model
	batching batcher.Config
	by       string
}

// sameBatching reports whether a and b, their defaults applied (Load has),
// configure the same batcher; an empty list and none print alike.
func sameBatching(a, b batcher.Config) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

func (l *loader) route(rc *RouteConfig) (*Route, error) {
	r := &Route{
		name:      rc.Name,
		ref:       rc.Version,
		served:    map[*Target]*metrics.Counter{},
		fallenOff: map[*Target]*[numReasons]*metrics.Counter{},
	}
	primary, err := l.modelTarget(rc.Name, PrimaryTarget, rc.Model, rc.Version, rc.Batching)
	if err != nil {
		return nil, err
	}
	primary.timeout, primary.retry, primary.breaker = rc.Timeout, rc.Retry, newBreaker(rc.Name+"/"+PrimaryTarget, rc.Breaker)
	r.primary = primary
	r.targets = append(r.targets, primary)
	var labels *registry.Output
	if primary.model.Tabular() {
		labels = &primary.model.meta.Signature.Output
	}
	if r.aliases, err = l.store.Aliases(rc.Model); err != nil {
		return r, fmt.Errorf("route %q: cannot read aliases of %s: %w", rc.Name, rc.Model, err)
	}

	byName := map[string]*Target{PrimaryTarget: primary}
	for i := range rc.Targets {
		tc := &rc.Targets[i]
		t, err := l.target(rc, tc, primary.model)
		if err != nil {
			return r, err
		}
		t.labels = labels
		r.targets = append(r.targets, t)
		byName[t.name] = t
	}
	for _, name := range rc.Fallbacks {
		r.fallbacks = append(r.fallbacks, byName[name])
	}
	if primary.model.Tabular() {
		err = checkTabularRoute(rc, r.targets)
	} else {
		err = checkTensorRoute(rc, primary.model, r.targets)
	}
	if err != nil {
		return r, err
	}
	for _, t := range r.targets {
		t.metrics = newTargetMetrics(l.table.metrics, rc.Name, t.name)
		if t.breaker.Enabled() {
			l.table.metrics.NewGauge(fmt.Sprintf(`infergate_breaker_state{route=%q,target=%q}`, rc.Name, t.name), t.breaker.StateValue)
		}
		lbl := fmt.Sprintf(`route=%s,target=%s`, strconv.Quote(rc.Name), strconv.Quote(t.name))
		r.served[t] = l.table.metrics.NewCounter(`infergate_route_served_total{` + lbl + `}`)
		var off [numReasons]*metrics.Counter
		for why := reasonBreakerOpen; why < numReasons; why++ {
			off[why] = l.table.metrics.NewCounter(fmt.Sprintf(`infergate_fallbacks_total{%s,reason=%q}`, lbl, why.String()))
		}
		r.fallenOff[t] = &off
	}
	if c := rc.Canary; c != nil {
		r.canary = newCanary(r, byName[c.Target], c, l.store, l.table.metrics)
	}
	if s := rc.Shadow; s != nil {
		var targets []*Target
		for _, name := range s.Targets {
			targets = append(targets, byName[name])
		}
		r.shadow = newShadow(r, targets, s, l.table.metrics)
		if !primary.model.Tabular() {
			if r.shadow.compare, err = newComparator(primary.model, s.Compare); err != nil {
				return r, fmt.Errorf("route %q: %w", rc.Name, err)
			}
		}
		if r.canary != nil {
			r.shadow.candidate = r.canary.candidate
			r.shadow.onCandidate = r.canary.recordAgreement
		}
	}
	return r, nil
}

func (l *loader) target(rc *RouteConfig, tc *TargetConfig, primary *Model) (*Target, error) {
	var t *Target
	switch tc.kind() {
	case KindModel:
		var err error
		if t, err = l.modelTarget(rc.Name, tc.Name, tc.Model, tc.Version, tc.Batching); err != nil {
			return nil, err
		}
	case KindRemote:
		c, err := remote.New(*tc.Remote)
		if err != nil {
			return nil, fmt.Errorf("route %q: target %q: %w", rc.Name, tc.Name, err)
		}
		t = &Target{name: tc.Name, kind: KindRemote, remote: c, tensorModel: primary}
	case KindRules:
		set, err := rules.Compile(tc.Rules)
		if err != nil {
			return nil, fmt.Errorf("route %q: target %q: %w", rc.Name, tc.Name, err)
		}
		t = &Target{name: tc.Name, kind: KindRules, rules: set}
	case KindStatic:
		t = &Target{name: tc.Name, kind: KindStatic}
		switch {
		case tc.Static.Outputs != nil:
			outs, err := staticTensors(primary, tc.Static.Outputs)
			if err != nil {
				return nil, fmt.Errorf("route %q: target %q: %w", rc.Name, tc.Name, err)
			}
			t.static = staticAnswer{outputs: outs, batched: primary.spec.Batch}
		case tc.Static.Probability != nil:
			t.static = staticAnswer{label: tc.Static.Prediction, p: *tc.Static.Probability}
			if t.static.label == "" && primary.Tabular() {
				t.static.label = primary.meta.Signature.Output.LabelFor(t.static.p)
			}
		}
	default:
		return nil, errors.New("BUG: target " + tc.Name + " passed validation without a kind")
	}
	t.timeout, t.retry = tc.Timeout, tc.Retry
	if t.waits() {
		t.breaker = newBreaker(rc.Name+"/"+tc.Name, tc.Breaker)
	} else {
		// Rules and a static answer fail only by design (no rule
		// matched): there is nothing to protect them from.
		t.breaker = newBreaker("", BreakerConfig{Disabled: true})
	}
	return t, nil
}

// modelTarget resolves model@ref in the registry and opens it, or shares the
// Model another target of the table opened for the same version.
func (l *loader) modelTarget(route, name, model, ref string, cfg batcher.Config) (*Target, error) {
	meta, err := l.store.Resolve(model, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot resolve %s@%s in the registry: %w", where(route, name), model, ref, err)
	}
	key := meta.Model + "@" + meta.Version
	if o, ok := l.models[key]; ok {
		// One version has one batcher: a second set of settings for it
		// would silently be the first one's.
		if !sameBatching(o.batching, cfg) {
			return nil, fmt.Errorf("%s: model %s %s is also served by %s, with other batching settings (%+v, not %+v); one version has one batcher: give both the same batching, or serve another version",
				where(route, name), meta.Model, meta.Version, o.by, cfg, o.batching)
		}
		return &Target{name: name, kind: KindModel, model: o.m}, nil
	}
	// A model file that no longer matches the checksum registered with it
	// (truncated by a full disk, edited by hand) must not serve predictions.
	if _, err := l.store.Verify(meta.Model, meta.Version); err != nil {
		return nil, fmt.Errorf("%s: refusing model %s %s: %w", where(route, name), meta.Model, meta.Version, err)
	}
	var enc *registry.Encoder
	if meta.Signature.Tabular() {
		if enc, err = registry.NewEncoder(&meta.Signature); err != nil {
			return nil, fmt.Errorf("%s: model %s %s has an invalid signature: %w", where(route, name), meta.Model, meta.Version, err)
		}
	} else if err := meta.Signature.Validate(); err != nil {
		return nil, fmt.Errorf("%s: model %s %s has an invalid signature: %w", where(route, name), meta.Model, meta.Version, err)
	}
	opts := batcher.ModelOptions{Shapes: meta.Signature.Shapes(), NoBatch: meta.Signature.Batch == registry.BatchNone}
	b, err := l.opener.Open(l.store.ModelPath(meta.Model, meta.Version), meta.Model, meta.Version, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot load model %s %s: %w", where(route, name), meta.Model, meta.Version, err)
	}
	m := &Model{meta: meta, encoder: enc, batcher: b}
	if err := m.bindSignature(); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("%s: cannot load model %s %s: it does not match its signature: %w", where(route, name), meta.Model, meta.Version, err)
	}
	l.models[key] = openedModel{m: m, batching: cfg, by: where(route, name)}
	l.table.models = append(l.table.models, m)
	return &Target{name: name, kind: KindModel, model: m}, nil
}

// where names a target in an error: the route alone for its primary.
func where(route, target string) string {
	if target == PrimaryTarget {
		return fmt.Sprintf("route %q", route)
	}
	return fmt.Sprintf("route %q: target %q", route, target)
}

// Fingerprint resolves every model target of routes in the registry and
// returns a text that changes when, and only when, a load would serve other
// model files: a new version behind an alias, a moved alias, a version
// re-registered with other bytes. A reloader compares it with the last one
// before loading anything.
func Fingerprint(routes []RouteConfig, store *registry.Store) (string, error) {
	var b strings.Builder
	add := func(route, target, model, ref string) error {
		meta, err := store.Resolve(model, ref)
		if err != nil {
			return fmt.Errorf("%s: cannot resolve %s@%s in the registry: %w", where(route, target), model, ref, err)
		}
		fmt.Fprintf(&b, "%s/%s=%s@%s#%s\n", route, target, meta.Model, meta.Version, meta.ModelSHA256)
		return nil
	}
	for i := range routes {
		rc := routes[i]
		rc.ApplyDefaults()
		if err := add(rc.Name, PrimaryTarget, rc.Model, rc.Version); err != nil {
			return "", err
		}
		for _, t := range rc.Targets {
			if t.kind() == KindModel {
				if err := add(rc.Name, t.Name, t.Model, t.Version); err != nil {
					return "", err
				}
			}
		}
	}
	return b.String(), nil
}
