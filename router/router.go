package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/registry"
)

// DefaultVersion is the registry reference a route serves when its config
// names none: the model's production alias.
const DefaultVersion = "production"

// RouteConfig configures one public model name.
type RouteConfig struct {
	// Name is the public model name clients send as model_id. Required.
	Name string `yaml:"name"`
	// Model is the registry model behind the route. Default: Name.
	Model string `yaml:"model"`
	// Version is a registry version ("1.2.0") or alias ("production",
	// "staging"). Default: production.
	Version string `yaml:"version"`
	// Batching configures the model's dynamic batcher and instances.
	Batching batcher.Config `yaml:"batching"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *RouteConfig) ApplyDefaults() {
	defaults.Set(&c.Model, c.Name)
	defaults.Set(&c.Version, DefaultVersion)
	c.Batching.ApplyDefaults()
}

// Validate checks a route list after ApplyDefaults and reports every problem
// at once, one per line, each naming its field by its path: routes[NAME].field,
// or routes[INDEX].field for a route whose name is empty or repeats an earlier
// one (so that the path points at one route only).
func Validate(routes []RouteConfig) error {
	var errs []error
	first := make(map[string]int, len(routes))
	for i := range routes {
		r := &routes[i]
		path := fmt.Sprintf("routes[%s]", r.Name)
		prev, dup := first[r.Name]
		if r.Name == "" || dup {
			path = fmt.Sprintf("routes[%d]", i)
		}
		nameOK := false
		switch {
		case r.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", path))
		case dup:
			errs = append(errs, fmt.Errorf("%s.name: duplicate route %q (routes[%d] has it already); route names must be unique", path, r.Name, prev))
		case strings.ContainsAny(r.Name, " \t\"/"):
			errs = append(errs, fmt.Errorf("%s.name: %q must not contain spaces, quotes or slashes", path, r.Name))
		default:
			nameOK = true
		}
		if !dup {
			first[r.Name] = i
		}
		switch err := registry.ValidateModelName(r.Model); {
		case err == nil, r.Model == "":
		case r.Model != r.Name:
			errs = append(errs, fmt.Errorf("%s.model: %w", path, err))
		case nameOK:
			// The model defaulted to the route name, which is a valid
			// public name but not a registry model name.
			errs = append(errs, fmt.Errorf("%s.model: %w; the model defaults to the route name, so set model to the registry name", path, err))
		}
		if err := validateRef(r.Version); err != nil {
			errs = append(errs, fmt.Errorf("%s.version: %w", path, err))
		}
		errs = appendPrefixed(errs, path+".", r.Batching.Validate())
	}
	return errors.Join(errs...)
}

// validateRef checks that ref can name a registry version ("1.2.0") or alias
// ("production"), as registry.Store.Resolve accepts them.
func validateRef(ref string) error {
	if ref == "" || registry.ValidateVersion(ref) == nil || registry.ValidateAliasName(ref) == nil {
		return nil
	}
	return fmt.Errorf("%q is neither a version (MAJOR.MINOR.PATCH such as \"1.0.0\") nor an alias (such as %q): %w",
		ref, DefaultVersion, registry.ErrInvalidName)
}

// appendPrefixed appends err to errs with prefix before it; an error that
// joins several (errors.Join) is split so that every line gets the prefix.
func appendPrefixed(errs []error, prefix string, err error) []error {
	if err == nil {
		return errs
	}
	// Only a join at the top is split: a wrapped one keeps its own text.
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			errs = appendPrefixed(errs, prefix, e)
		}
		return errs
	}
	return append(errs, fmt.Errorf("%s%w", prefix, err))
}

// Errors a target returns, re-exported from package batcher so that callers
// (the gateway) classify them without depending on how a target is served.
// ErrQueueFull, ErrDeadlineExceeded and ErrClosed are all errors.Is
// ErrRejected: the request was never computed.
var (
	ErrRejected         = batcher.ErrRejected
	ErrQueueFull        = batcher.ErrQueueFull
	ErrDeadlineExceeded = batcher.ErrDeadlineExceeded
	ErrClosed           = batcher.ErrClosed
	ErrModelFailed      = batcher.ErrModelFailed
)

// Opener starts a batcher over a model file. Package batcher's ONNX loader
// implements it; the router does not know how instances are made.
type Opener interface {
	Open(path, model, version string, cfg batcher.Config, inWidth, outWidth int) (*batcher.Batcher, error)
}

// Model is a loaded model version: its registry metadata, the encoder of its
// signature, and the batcher in front of its instances.
type Model struct {
	meta    *registry.Version
	encoder *registry.Encoder
	batcher *batcher.Batcher
}

// Name is the registry model name.
func (m *Model) Name() string { return m.meta.Model }

// Version is the registry version, e.g. "1.0.0".
func (m *Model) Version() string { return m.meta.Version }

// Meta is the version's registry metadata. It must not be modified.
func (m *Model) Meta() *registry.Version { return m.meta }

// Encoder turns request features into the model's input row.
func (m *Model) Encoder() *registry.Encoder { return m.encoder }

// Predict computes one encoded row into out, waiting at most until deadline.
// Errors are the batcher's (errors.Is batcher.ErrRejected, ErrModelFailed…).
func (m *Model) Predict(row, out []float32, deadline time.Time) error {
	return m.batcher.Do(row, out, deadline)
}

// QueueDepth is the number of requests waiting in the model's batcher.
func (m *Model) QueueDepth() int { return m.batcher.QueueDepth() }

// Route is one public model name.
type Route struct {
	name    string
	ref     string
	target  *Model
	aliases map[string]string
}

// Name is the public model name.
func (r *Route) Name() string { return r.name }

// Ref is the registry reference the route was configured with.
func (r *Route) Ref() string { return r.ref }

// Target is the model that serves the route's requests.
func (r *Route) Target() *Model { return r.target }

// Aliases are the registry aliases of the route's model when it was loaded.
func (r *Route) Aliases() map[string]string { return r.aliases }

// Table is an immutable set of routes.
type Table struct {
	byName map[string]*Route
	routes []*Route // sorted by name
}

// Lookup returns the route named name, or nil.
func (t *Table) Lookup(name []byte) *Route {
	return t.byName[string(name)]
}

// Routes returns the routes in name order. The slice must not be modified.
func (t *Table) Routes() []*Route { return t.routes }

// Close drains and closes every model of the table.
func (t *Table) Close() error {
	var errs []error
	for _, r := range t.routes {
		if r.target != nil && r.target.batcher != nil {
			if err := r.target.batcher.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cannot close route %q: %w", r.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Load applies the defaults to a copy of routes, validates them, resolves
// every route in the registry and opens its model. On error, whatever was
// opened is closed again.
func Load(routes []RouteConfig, store *registry.Store, opener Opener) (*Table, error) {
	cfgs := make([]RouteConfig, len(routes))
	for i := range routes {
		cfgs[i] = routes[i]
		cfgs[i].ApplyDefaults()
	}
	if err := Validate(cfgs); err != nil {
		return nil, fmt.Errorf("invalid routes:\n%w", err)
	}
	t := &Table{byName: make(map[string]*Route, len(routes))}
	for i := range cfgs {
		r, err := loadRoute(&cfgs[i], store, opener)
		if err != nil {
			_ = t.Close()
			return nil, err
		}
		t.byName[r.name] = r
		t.routes = append(t.routes, r)
	}
	slices.SortFunc(t.routes, func(a, b *Route) int { return strings.Compare(a.name, b.name) })
	return t, nil
}

func loadRoute(rc *RouteConfig, store *registry.Store, opener Opener) (*Route, error) {
	meta, err := store.Resolve(rc.Model, rc.Version)
	if err != nil {
		return nil, fmt.Errorf("route %q: cannot resolve %s@%s in the registry: %w", rc.Name, rc.Model, rc.Version, err)
	}
	// A model file that no longer matches the checksum registered with it
	// (truncated by a full disk, edited by hand) must not serve predictions.
	if _, _, err := store.ReadModel(meta.Model, meta.Version); err != nil {
		return nil, fmt.Errorf("route %q: refusing model %s %s: %w", rc.Name, meta.Model, meta.Version, err)
	}
	enc, err := registry.NewEncoder(&meta.Signature)
	if err != nil {
		return nil, fmt.Errorf("route %q: model %s %s has an invalid signature: %w", rc.Name, meta.Model, meta.Version, err)
	}
	aliases, err := store.Aliases(rc.Model)
	if err != nil {
		return nil, fmt.Errorf("route %q: cannot read aliases of %s: %w", rc.Name, rc.Model, err)
	}
	path := store.ModelPath(meta.Model, meta.Version)
	b, err := opener.Open(path, meta.Model, meta.Version, rc.Batching, enc.Width(), 1)
	if err != nil {
		return nil, fmt.Errorf("route %q: cannot load model %s %s: %w", rc.Name, meta.Model, meta.Version, err)
	}
	return &Route{
		name:    rc.Name,
		ref:     rc.Version,
		target:  &Model{meta: meta, encoder: enc, batcher: b},
		aliases: aliases,
	}, nil
}
