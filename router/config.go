package router

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/breaker"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/fieldpath"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router/remote"
	"github.com/infergate/infergate/router/rules"
)

// DefaultVersion is the registry reference a route serves when its config
// names none: the model's production alias.
const DefaultVersion = "production"

// PrimaryTarget is the name of the target a route's own model, version and
// batching fields describe.
const PrimaryTarget = "primary"

// Defaults of the breaker, retry, canary and shadow blocks.
const (
	DefaultBreakerFailureRatio = 0.5
	DefaultBreakerMinRequests  = 20
	DefaultBreakerWindow       = 10 * time.Second
	DefaultBreakerCooldown     = 5 * time.Second
	DefaultBreakerProbes       = 3

	DefaultRetryBackoff    = 5 * time.Millisecond
	DefaultRetryMaxBackoff = 100 * time.Millisecond

	DefaultAnalysisMinRequests = 100
	DefaultAnalysisDwell       = time.Minute
	DefaultAnalysisInterval    = time.Second
	DefaultAnalysisMaxErrors   = 0.02
	DefaultAnalysisP99Ratio    = 1.5
	DefaultAnalysisP99Slack    = time.Millisecond
	DefaultAnalysisAgreement   = 0.9

	DefaultShadowSample  = 100.0
	DefaultShadowQueue   = 1024
	DefaultShadowWorkers = 2
)

// RouteConfig configures one public model name. The route's own model,
// version, batching, timeout, breaker and retry fields describe its primary
// target; Targets adds others that Canary, Shadow and Fallbacks name.
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
	// Timeout caps the primary's share of a request's deadline. Default 0:
	// no cap but the deadline.
	Timeout time.Duration `yaml:"timeout"`
	// Breaker is the primary's circuit breaker.
	Breaker BreakerConfig `yaml:"breaker"`
	// Retry retries the primary when it fails and the deadline allows.
	Retry RetryConfig `yaml:"retry"`

	// Targets are the route's other targets, by name.
	Targets []TargetConfig `yaml:"targets"`
	// Fallbacks names the targets tried, in order, when the one picked for
	// a request fails, times out or has its breaker open; the usual chain
	// ends in a rules and a static target. Default none.
	Fallbacks []string `yaml:"fallbacks"`
	// Canary sends a share of the traffic to a candidate target.
	Canary *CanaryConfig `yaml:"canary"`
	// Shadow mirrors a sample of the traffic to candidate targets and
	// compares their answers with the primary's.
	Shadow *ShadowConfig `yaml:"shadow"`
}

// TargetConfig is one entry of a route's targets. Exactly one of version
// (a model version of the registry), remote, rules or static says its kind.
type TargetConfig struct {
	// Name is how canary, shadow and fallbacks refer to the target. Required,
	// unique in the route, and not "primary".
	Name string `yaml:"name"`
	// Model is the registry model of a model target. Default: the route's.
	Model string `yaml:"model"`
	// Version is the registry version or alias of a model target.
	Version string `yaml:"version"`
	// Batching is a model target's batcher (shared with any other target of
	// the table that serves the same version).
	Batching batcher.Config `yaml:"batching"`
	// Remote is an HTTP endpoint: another infergate or an Open Inference
	// Protocol v2 server.
	Remote *remote.Config `yaml:"remote"`
	// Rules are conditions over the request's features, first match wins.
	Rules []rules.Rule `yaml:"rules"`
	// Static is a fixed answer.
	Static *StaticConfig `yaml:"static"`

	// Timeout caps the target's share of a request's deadline. Default 0:
	// no cap but the deadline.
	Timeout time.Duration `yaml:"timeout"`
	// Breaker is the target's circuit breaker (model and remote targets).
	Breaker BreakerConfig `yaml:"breaker"`
	// Retry retries the target (model and remote targets).
	Retry RetryConfig `yaml:"retry"`
}

// StaticConfig is a fixed answer: the last resort of a fallback chain. A
// route that takes features answers a prediction and a probability; a route
// that takes tensors answers Outputs.
type StaticConfig struct {
	// Prediction is the label answered. Default: the primary model's label
	// for Probability.
	Prediction string `yaml:"prediction"`
	// Probability answered, in [0, 1]. Required on a route that takes
	// features.
	Probability *float64 `yaml:"probability"`
	// Outputs are a tensor route's answer: one row of each named output of
	// the primary model, given to every row of a request (outputs left out
	// are zeros). Required on a route that takes tensors.
	Outputs []StaticOutput `yaml:"outputs"`
}

// BreakerConfig configures a target's circuit breaker: it opens when, over
// the last Window (default 10s), at least MinRequests (default 20) were made
// and FailureRatio (default 0.5) of them failed; an open breaker fails calls
// at once for Cooldown (default 5s), then lets Probes (default 3) requests
// through (half-open) and closes when they all succeed.
type BreakerConfig = breaker.Config

// RetryConfig retries a failed call (not a timeout, not a rejected input)
// after an exponential backoff with full jitter, only while the target's
// share of the deadline still has room for another call as long as the last.
type RetryConfig struct {
	// Attempts is the number of retries after the first call. Default 0.
	Attempts int `yaml:"attempts"`
	// Backoff before the first retry, doubled each time. Default 5ms.
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the backoff. Default 100ms.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// CanaryConfig sends Weight percent of the route's traffic to Target.
type CanaryConfig struct {
	// Target is the candidate's name in targets. Required.
	Target string `yaml:"target"`
	// Weight is the candidate's share in percent, 0 to 100, at start (the
	// admin API changes it at run time). With analysis, the first step's.
	Weight float64 `yaml:"weight"`
	// Sticky keeps each user on one side. Default: none, each request is
	// assigned at random.
	Sticky StickyConfig `yaml:"sticky"`
	// Analysis promotes or rolls back the candidate on its own.
	Analysis *AnalysisConfig `yaml:"analysis"`
}

// StickyConfig names the request key that keeps a user on one side of a
// canary: a header or a feature (at most one).
type StickyConfig struct {
	Header  string `yaml:"header"`
	Feature string `yaml:"feature"`
}

// AnalysisConfig steps a canary's weight up while the candidate does as well
// as the primary over the same window, and rolls it back to 0 when it does
// not.
type AnalysisConfig struct {
	// Steps are the weights in percent, ascending; the last is usually 100.
	// Required.
	Steps []float64 `yaml:"steps"`
	// MinRequests the candidate must serve in a step before it is judged.
	// Default 100.
	MinRequests int `yaml:"min_requests"`
	// Dwell is the least time spent at a step. Default 1m.
	Dwell time.Duration `yaml:"dwell"`
	// Interval is how often the step is judged. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// MaxErrorRate is how much higher the candidate's error rate may be than
	// the primary's (absolute: 0.02 is two points). Default 0.02.
	MaxErrorRate float64 `yaml:"max_error_rate"`
	// MaxP99Ratio is how many times the primary's p99 latency the
	// candidate's may be. Default 1.5.
	MaxP99Ratio float64 `yaml:"max_p99_ratio"`
	// P99Slack is a p99 difference always tolerated, so that microsecond
	// noise does not roll a canary back. Default 1ms.
	P99Slack time.Duration `yaml:"p99_slack"`
	// MinAgreement is the least label agreement with the primary, judged
	// when the candidate is also a shadow target. Default 0.9.
	MinAgreement float64 `yaml:"min_agreement"`
	// PromoteAlias is the registry alias moved to the candidate's version
	// after the last step. Default: the primary's version when it is an
	// alias, else production.
	PromoteAlias string `yaml:"promote_alias"`
}

// ShadowConfig mirrors a sample of the route's requests to Targets after the
// client's answer is computed; their answers are compared with the client's.
type ShadowConfig struct {
	// Targets are the names of the mirrored targets. Required.
	Targets []string `yaml:"targets"`
	// Sample is the share of requests mirrored, in percent. Default 100.
	Sample float64 `yaml:"sample"`
	// Queue bounds the mirrored requests waiting; more are dropped and
	// counted. Default 1024.
	Queue int `yaml:"queue"`
	// Workers call the shadow targets. Default 2.
	Workers int `yaml:"workers"`
	// Compare says how a route that takes tensors compares answers (a
	// route that takes features compares labels and probabilities).
	Compare CompareConfig `yaml:"compare"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *RouteConfig) ApplyDefaults() {
	defaults.Set(&c.Model, c.Name)
	defaults.Set(&c.Version, DefaultVersion)
	c.Batching.ApplyDefaults()
	c.Breaker.ApplyDefaults(breakerDefaults)
	c.Retry.applyDefaults()
	for i := range c.Targets {
		t := &c.Targets[i]
		switch t.kind() {
		case KindModel:
			defaults.Set(&t.Model, c.Model)
			t.Batching.ApplyDefaults()
		case KindRemote:
			defaults.Set(&t.Remote.Model, c.Name)
			t.Remote.ApplyDefaults()
		}
		t.Breaker.ApplyDefaults(breakerDefaults)
		t.Retry.applyDefaults()
	}
	if a := c.Canary.analysis(); a != nil {
		defaults.Set(&a.MinRequests, DefaultAnalysisMinRequests)
		defaults.Set(&a.Dwell, DefaultAnalysisDwell)
		defaults.Set(&a.Interval, DefaultAnalysisInterval)
		defaults.Set(&a.MaxErrorRate, DefaultAnalysisMaxErrors)
		defaults.Set(&a.MaxP99Ratio, DefaultAnalysisP99Ratio)
		defaults.Set(&a.P99Slack, DefaultAnalysisP99Slack)
		defaults.Set(&a.MinAgreement, DefaultAnalysisAgreement)
		promote := DefaultVersion
		if registry.ValidateAliasName(c.Version) == nil {
			promote = c.Version
		}
		defaults.Set(&a.PromoteAlias, promote)
		if len(a.Steps) > 0 && c.Canary.Weight == 0 {
			c.Canary.Weight = a.Steps[0]
		}
	}
	if s := c.Shadow; s != nil {
		defaults.Set(&s.Sample, DefaultShadowSample)
		defaults.Set(&s.Queue, DefaultShadowQueue)
		defaults.Set(&s.Workers, DefaultShadowWorkers)
	}
}

func (c *CanaryConfig) analysis() *AnalysisConfig {
	if c == nil {
		return nil
	}
	return c.Analysis
}

// breakerDefaults are the defaults of a route's and a target's breaker.
var breakerDefaults = BreakerConfig{
	FailureRatio: DefaultBreakerFailureRatio,
	MinRequests:  DefaultBreakerMinRequests,
	Window:       DefaultBreakerWindow,
	Cooldown:     DefaultBreakerCooldown,
	Probes:       DefaultBreakerProbes,
}

func (r *RetryConfig) applyDefaults() {
	defaults.Set(&r.Backoff, DefaultRetryBackoff)
	defaults.Set(&r.MaxBackoff, DefaultRetryMaxBackoff)
}

// Kind is the kind of a target.
type Kind uint8

// The kinds of targets.
const (
	KindModel Kind = iota + 1
	KindRemote
	KindRules
	KindStatic
)

// String names the kind as the config and the admin API do.
func (k Kind) String() string {
	switch k {
	case KindModel:
		return "model"
	case KindRemote:
		return "remote"
	case KindRules:
		return "rules"
	case KindStatic:
		return "static"
	}
	return "unknown"
}

// kind is the kind the config's fields say, or 0 when they name none or
// several (Validate reports which).
func (t *TargetConfig) kind() Kind {
	var k Kind
	n := 0
	if t.Version != "" {
		k, n = KindModel, n+1
	}
	if t.Remote != nil {
		k, n = KindRemote, n+1
	}
	if t.Rules != nil {
		k, n = KindRules, n+1
	}
	if t.Static != nil {
		k, n = KindStatic, n+1
	}
	if n != 1 {
		return 0
	}
	return k
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
		path := fieldpath.Item("routes", r.Name, i)
		prev, dup := first[r.Name]
		if dup {
			path = fieldpath.Item("routes", "", i)
		}
		nameOK := false
		switch {
		case r.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", path))
		case dup:
			errs = append(errs, fmt.Errorf("%s.name: duplicate route %q (routes[%d] has it already); route names must be unique", path, r.Name, prev))
		case !publicName(r.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must not contain spaces, quotes, slashes, @, : or control characters", path, r.Name))
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
		errs = validateCall(errs, path+".", r.Timeout, &r.Breaker, &r.Retry)
		errs = r.validateTargets(errs, path)
	}
	return errors.Join(errs...)
}

// publicName reports whether a route or target name can be shown as it is:
// model_id may be ROUTE@ALIAS or ROUTE:VERSION, and names are parts of URL
// paths, response headers, metric labels and one-line error paths.
func publicName(name string) bool {
	return !strings.ContainsAny(name, " \t\"/@:") && !strings.ContainsFunc(name, unicode.IsControl) && fieldpath.Plain(name)
}

// validateTargets checks targets, fallbacks, canary and shadow.
func (r *RouteConfig) validateTargets(errs []error, path string) []error {
	kinds := map[string]Kind{PrimaryTarget: KindModel}
	for i := range r.Targets {
		t := &r.Targets[i]
		tpath := fieldpath.Item(path+".targets", t.Name, i)
		_, dup := kinds[t.Name]
		switch {
		case t.Name == "":
			tpath = fmt.Sprintf("%s.targets[%d]", path, i)
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", tpath))
		case t.Name == PrimaryTarget:
			tpath = fmt.Sprintf("%s.targets[%d]", path, i)
			errs = append(errs, fmt.Errorf("%s.name: %q is the route's own model; name this target otherwise", tpath, PrimaryTarget))
		case dup:
			tpath = fmt.Sprintf("%s.targets[%d]", path, i)
			errs = append(errs, fmt.Errorf("%s.name: duplicate target %q; target names must be unique in a route", tpath, t.Name))
		case !publicName(t.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must not contain spaces, quotes, slashes, @, : or control characters", tpath, t.Name))
		}
		k := t.kind()
		if !dup && t.Name != "" {
			kinds[t.Name] = k
		}
		switch k {
		case 0:
			errs = append(errs, fmt.Errorf("%s: set exactly one of version (a registry model version), remote, rules or static", tpath))
		case KindModel:
			if err := registry.ValidateModelName(t.Model); err != nil {
				errs = append(errs, fmt.Errorf("%s.model: %w", tpath, err))
			}
			if err := validateRef(t.Version); err != nil {
				errs = append(errs, fmt.Errorf("%s.version: %w", tpath, err))
			}
			errs = appendPrefixed(errs, tpath+".", t.Batching.Validate())
		case KindRemote:
			errs = appendPrefixed(errs, tpath+".remote.", t.Remote.Validate())
		case KindRules:
			_, err := rules.Compile(t.Rules)
			errs = appendPrefixed(errs, tpath+".", err)
		case KindStatic:
			errs = validateStatic(errs, tpath+".static.", t.Static)
		}
		if k == KindModel || k == KindRemote {
			errs = validateCall(errs, tpath+".", t.Timeout, &t.Breaker, &t.Retry)
		}
	}
	ref := func(field, name string) (Kind, bool) {
		k, ok := kinds[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s: unknown target %q; name one of %s", path, field, name, knownTargets(kinds)))
		}
		return k, ok
	}
	seen := map[string]bool{}
	for i, name := range r.Fallbacks {
		field := fmt.Sprintf("fallbacks[%d]", i)
		if _, ok := ref(field, name); !ok {
			continue
		}
		if name == PrimaryTarget {
			// The primary is always tried for a canary request: naming
			// it would try it twice.
			errs = append(errs, fmt.Errorf("%s.%s: the primary is tried first already; list only the targets after it", path, field))
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s.%s: %q is listed twice", path, field, name))
		}
		seen[name] = true
	}
	if c := r.Canary; c != nil {
		if k, ok := ref("canary.target", c.Target); ok {
			if c.Target == PrimaryTarget {
				errs = append(errs, fmt.Errorf("%s.canary.target: the candidate must be another target than the primary", path))
			} else if k != KindModel && k != KindRemote && k != 0 {
				errs = append(errs, fmt.Errorf("%s.canary.target: %q is a %s target; a candidate is a model version or a remote endpoint", path, c.Target, k))
			}
		}
		errs = validatePercent(errs, path+".canary.weight", c.Weight)
		if c.Sticky.Header != "" && c.Sticky.Feature != "" {
			errs = append(errs, fmt.Errorf("%s.canary.sticky: set header or feature, not both", path))
		}
		if a := c.Analysis; a != nil {
			errs = a.validate(errs, path+".canary.analysis.", kinds[c.Target])
			if len(a.Steps) > 0 && c.Weight != a.Steps[0] {
				errs = append(errs, fmt.Errorf("%s.canary.weight: with analysis the weight starts at the first step, %g; leave weight out", path, a.Steps[0]))
			}
		}
	}
	if s := r.Shadow; s != nil {
		if len(s.Targets) == 0 {
			errs = append(errs, fmt.Errorf("%s.shadow.targets: name at least one target to mirror requests to", path))
		}
		shadowed := map[string]bool{}
		for i, name := range s.Targets {
			field := fmt.Sprintf("shadow.targets[%d]", i)
			if _, ok := ref(field, name); ok && name == PrimaryTarget {
				errs = append(errs, fmt.Errorf("%s.%s: the primary answers the client; shadow another target", path, field))
			}
			if shadowed[name] {
				errs = append(errs, fmt.Errorf("%s.%s: %q is listed twice", path, field, name))
			}
			shadowed[name] = true
		}
		if s.Sample <= 0 || s.Sample > 100 {
			errs = append(errs, fmt.Errorf("%s.shadow.sample: must be in (0, 100] percent, got %g", path, s.Sample))
		}
		if s.Queue < 1 {
			errs = append(errs, fmt.Errorf("%s.shadow.queue: must be at least 1, got %d", path, s.Queue))
		}
		if s.Workers < 1 {
			errs = append(errs, fmt.Errorf("%s.shadow.workers: must be at least 1, got %d", path, s.Workers))
		}
		errs = s.Compare.validate(errs, path+".shadow.compare.")
	}
	return errs
}

func (a *AnalysisConfig) validate(errs []error, path string, candidate Kind) []error {
	if len(a.Steps) == 0 {
		errs = append(errs, fmt.Errorf("%ssteps: list the weights to step through, e.g. [5, 25, 50, 100]", path))
	}
	for i, w := range a.Steps {
		errs = validatePercent(errs, fmt.Sprintf("%ssteps[%d]", path, i), w)
		if i > 0 && w <= a.Steps[i-1] {
			errs = append(errs, fmt.Errorf("%ssteps[%d]: steps must ascend, %g follows %g", path, i, w, a.Steps[i-1]))
		}
	}
	if a.MinRequests < 1 {
		errs = append(errs, fmt.Errorf("%smin_requests: must be at least 1, got %d", path, a.MinRequests))
	}
	if a.Dwell <= 0 {
		errs = append(errs, fmt.Errorf("%sdwell: must be positive, got %s", path, a.Dwell))
	}
	if a.Interval <= 0 {
		errs = append(errs, fmt.Errorf("%sinterval: must be positive, got %s", path, a.Interval))
	}
	if a.MaxErrorRate < 0 || a.MaxErrorRate > 1 {
		errs = append(errs, fmt.Errorf("%smax_error_rate: must be in [0, 1], got %g", path, a.MaxErrorRate))
	}
	if a.MaxP99Ratio < 1 {
		errs = append(errs, fmt.Errorf("%smax_p99_ratio: must be at least 1, got %g", path, a.MaxP99Ratio))
	}
	if a.P99Slack < 0 {
		errs = append(errs, fmt.Errorf("%sp99_slack: must not be negative, got %s", path, a.P99Slack))
	}
	if a.MinAgreement < 0 || a.MinAgreement > 1 {
		errs = append(errs, fmt.Errorf("%smin_agreement: must be in [0, 1], got %g", path, a.MinAgreement))
	}
	if err := registry.ValidateAliasName(a.PromoteAlias); err != nil {
		errs = append(errs, fmt.Errorf("%spromote_alias: %w", path, err))
	}
	if candidate == KindRemote {
		errs = append(errs, fmt.Errorf("%s: promotion moves a registry alias, so the candidate must be a model version, not a remote target", strings.TrimSuffix(path, ".")))
	}
	return errs
}

func validateCall(errs []error, path string, timeout time.Duration, b *BreakerConfig, r *RetryConfig) []error {
	if timeout < 0 {
		errs = append(errs, fmt.Errorf("%stimeout: must not be negative, got %s", path, timeout))
	}
	errs = append(errs, b.Validate(path+"breaker.")...)
	if r.Attempts < 0 {
		errs = append(errs, fmt.Errorf("%sretry.attempts: must not be negative, got %d", path, r.Attempts))
	}
	if r.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("%sretry.backoff: must be positive, got %s", path, r.Backoff))
	}
	if r.MaxBackoff < r.Backoff {
		errs = append(errs, fmt.Errorf("%sretry.max_backoff: %s is below retry.backoff %s", path, r.MaxBackoff, r.Backoff))
	}
	return errs
}

func validateStatic(errs []error, path string, s *StaticConfig) []error {
	if s.Outputs == nil {
		return validateAnswer(errs, path, s.Probability)
	}
	if s.Probability != nil || s.Prediction != "" {
		errs = append(errs, fmt.Errorf("%soutputs: answer a tensor route with outputs, a route that takes features with probability (and prediction), not both", path))
	}
	seen := map[string]bool{}
	for i, o := range s.Outputs {
		switch {
		case o.Name == "":
			errs = append(errs, fmt.Errorf("%soutputs[%d].name: must name an output of the route's model", path, i))
		case seen[o.Name]:
			errs = append(errs, fmt.Errorf("%soutputs[%s]: listed twice", path, o.Name))
		case len(o.Data) == 0:
			errs = append(errs, fmt.Errorf("%soutputs[%s].data: give one row's elements", path, o.Name))
		}
		seen[o.Name] = true
	}
	return errs
}

func validateAnswer(errs []error, path string, p *float64) []error {
	if p == nil {
		return append(errs, fmt.Errorf("%sprobability: required: a number between 0 and 1 (or outputs, on a route that takes tensors)", path))
	}
	if !(*p >= 0 && *p <= 1) {
		errs = append(errs, fmt.Errorf("%sprobability: must be between 0 and 1, got %g", path, *p))
	}
	return errs
}

func validatePercent(errs []error, path string, w float64) []error {
	if !(w >= 0 && w <= 100) || math.IsNaN(w) {
		errs = append(errs, fmt.Errorf("%s: must be a percentage from 0 to 100, got %g", path, w))
	}
	return errs
}

func knownTargets(kinds map[string]Kind) string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		if n != "" {
			names = append(names, fmt.Sprintf("%q", n))
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
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
