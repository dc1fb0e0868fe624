package featurefetch

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/infergate/infergate/internal/breaker"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/fieldpath"
)

// Store kinds.
const (
	StoreEmbedded = "embedded"
	StoreRedis    = "redis"
)

// Policies: what a missing, stale or unreadable feature does to a request.
const (
	// PolicyDefault uses the feature's default value, or leaves the
	// feature out when it has none (the model then imputes it, or refuses
	// the request when it requires it).
	PolicyDefault = "default"
	// PolicyFail fails the request: 400 for a missing or stale value, 503
	// when the store cannot be read.
	PolicyFail = "fail"
	// PolicyFallback skips the route's model targets: rules, static and
	// remote targets of its fallback chain answer instead.
	PolicyFallback = "fallback"
)

// Defaults of Config.
const (
	DefaultSnapshot       = "var/features/snapshot.json"
	DefaultReloadInterval = 2 * time.Second
	DefaultTimeout        = 20 * time.Millisecond
	DefaultReaders        = 4
	DefaultMaxBatch       = 128
	DefaultCacheTTL       = 30 * time.Second
	DefaultCacheMaxBytes  = 32 << 20
	DefaultFailureRatio   = 0.5
	DefaultMinRequests    = 20
	DefaultBreakerWindow  = 10 * time.Second
	DefaultCooldown       = 2 * time.Second
	DefaultProbes         = 3
)

// Config is the feature store and its views (the config file's features
// block). A route names the view it fetches (routes[].features.view).
type Config struct {
	Store StoreConfig  `yaml:"store"`
	Views []ViewConfig `yaml:"views"`
}

// StoreConfig is where rows come from and how long a lookup may take.
type StoreConfig struct {
	// Kind is embedded (a snapshot file held in memory) or redis (Feast's
	// layout). Default embedded.
	Kind string `yaml:"kind"`
	// Snapshot is the embedded store's file. Default
	// var/features/snapshot.json.
	Snapshot string `yaml:"snapshot"`
	// ReloadInterval is how often the embedded store looks for a new
	// snapshot. Default 2s.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	Redis          RedisConfig   `yaml:"redis"`
	// Timeout is the most one lookup may take; it also never takes more
	// than half of what is left of its request's deadline. Default 20ms.
	Timeout time.Duration `yaml:"timeout"`
	// Readers are the goroutines that read the store, each taking every
	// lookup waiting at that moment (at most MaxBatch) in one round trip.
	// Default 4 and 128.
	Readers  int `yaml:"readers"`
	MaxBatch int `yaml:"max_batch"`
	// Breaker opens when FailureRatio of at least MinRequests reads in
	// Window failed; lookups then get the store-down policy at once, for
	// Cooldown, after which Probes reads test the store. Defaults 0.5, 20,
	// 10s, 2s, 3.
	Breaker BreakerConfig `yaml:"breaker"`
}

// BreakerConfig configures the store's circuit breaker (fields as the
// router's targets have them; defaults DefaultFailureRatio …).
type BreakerConfig = breaker.Config

// ViewConfig is a feature view: the features of one entity, keyed by its
// join key.
type ViewConfig struct {
	// Name is the view's name (Feast's feature view name). Required.
	Name string `yaml:"name"`
	// JoinKey is the entity's key, and the request feature that carries it
	// (customer_id). Required.
	JoinKey string `yaml:"join_key"`
	// KeyType is string or int64. Default string.
	KeyType string `yaml:"key_type"`
	// Features are the view's features. Required.
	Features []FeatureConfig `yaml:"features"`
	// MaxAge: a row whose event time is older is stale (Feast's
	// OUTSIDE_MAX_AGE). Default 0: never stale.
	MaxAge time.Duration `yaml:"max_age"`
	// CacheTTL is how long a looked-up row (or the absence of one) stays
	// in the local cache. Default 30s; NoCache turns the cache off.
	CacheTTL      time.Duration `yaml:"cache_ttl"`
	NoCache       bool          `yaml:"no_cache"`
	CacheMaxBytes int64         `yaml:"cache_max_bytes"`
	// OnMissing, OnStale and OnError are the view's policies (default,
	// fail or fallback) for a feature the store lacks (or an entity it
	// lacks), a stale one, and a store that cannot be read; a feature may
	// set its own. Default: default.
	OnMissing string `yaml:"on_missing"`
	OnStale   string `yaml:"on_stale"`
	OnError   string `yaml:"on_error"`
}

// FeatureConfig is one feature of a view.
type FeatureConfig struct {
	// Name is the feature's name in the store and in the request.
	// Required.
	Name string `yaml:"name"`
	// Type is the stored value's type: int64, int32, double, float, bool,
	// string, bytes or unix_timestamp. Required.
	Type string `yaml:"type"`
	// Default is used by the default policy: a number or a string. Default
	// none: the feature is left out.
	Default any `yaml:"default"`
	// OnMissing, OnStale and OnError override the view's policies.
	OnMissing string `yaml:"on_missing"`
	OnStale   string `yaml:"on_stale"`
	OnError   string `yaml:"on_error"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	s := &c.Store
	defaults.Set(&s.Kind, StoreEmbedded)
	defaults.Set(&s.Snapshot, DefaultSnapshot)
	defaults.Set(&s.ReloadInterval, DefaultReloadInterval)
	defaults.Set(&s.Redis.KeyVersion, DefaultKeyVersion)
	defaults.Set(&s.Redis.DialTimeout, DefaultRedisDialTimeout)
	defaults.Set(&s.Timeout, DefaultTimeout)
	defaults.Set(&s.Readers, DefaultReaders)
	defaults.Set(&s.MaxBatch, DefaultMaxBatch)
	s.Breaker.ApplyDefaults(BreakerConfig{
		FailureRatio: DefaultFailureRatio,
		MinRequests:  DefaultMinRequests,
		Window:       DefaultBreakerWindow,
		Cooldown:     DefaultCooldown,
		Probes:       DefaultProbes,
	})
	for i := range c.Views {
		v := &c.Views[i]
		defaults.Set(&v.KeyType, "string")
		defaults.Set(&v.CacheTTL, DefaultCacheTTL)
		defaults.Set(&v.CacheMaxBytes, DefaultCacheMaxBytes)
		defaults.Set(&v.OnMissing, PolicyDefault)
		defaults.Set(&v.OnStale, PolicyDefault)
		defaults.Set(&v.OnError, PolicyDefault)
		for j := range v.Features {
			f := &v.Features[j]
			defaults.Set(&f.OnMissing, v.OnMissing)
			defaults.Set(&f.OnStale, v.OnStale)
			defaults.Set(&f.OnError, v.OnError)
		}
	}
}

// Validate returns every problem of c (after ApplyDefaults), each with its
// field path under features.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &c.Store
	switch s.Kind {
	case StoreEmbedded:
	case StoreRedis:
		if s.Redis.Addr == "" {
			bad("features.store.redis.addr: required with kind redis (host:port)")
		}
		if s.Redis.Project == "" {
			bad("features.store.redis.project: required with kind redis: the Feast project, the suffix of every key")
		}
		if v := s.Redis.KeyVersion; v != KeyVersion2 && v != KeyVersion3 {
			bad("features.store.redis.key_version: %d must be 2 or 3 (Feast's entity_key_serialization_version)", v)
		}
	default:
		bad("features.store.kind: %q is not embedded or redis", s.Kind)
	}
	if s.Timeout < 0 || s.ReloadInterval < 0 {
		bad("features.store: timeout and reload_interval must not be negative")
	}
	if s.Readers < 1 || s.MaxBatch < 1 {
		bad("features.store: readers (%d) and max_batch (%d) must be at least 1", s.Readers, s.MaxBatch)
	}
	errs = append(errs, s.Breaker.Validate("features.store.breaker.")...)
	seen := map[string]bool{}
	for i := range c.Views {
		v := &c.Views[i]
		path := fieldpath.Item("features.views", v.Name, i)
		if seen[v.Name] {
			path = fieldpath.Item("features.views", "", i)
		}
		switch {
		case v.Name == "":
			bad("%s.name: required", path)
		case seen[v.Name]:
			bad("%s.name: view %q is defined twice", path, v.Name)
		}
		seen[v.Name] = true
		if v.JoinKey == "" {
			bad("%s.join_key: required: the entity's key, which requests carry as a feature", path)
		}
		if t, err := ParseValueType(v.KeyType); err != nil || (t != TypeString && t != TypeInt64) {
			bad("%s.key_type: %q must be string or int64", path, v.KeyType)
		}
		if len(v.Features) == 0 {
			bad("%s.features: at least one feature is needed", path)
		}
		if v.MaxAge < 0 || v.CacheTTL < 0 {
			bad("%s: max_age and cache_ttl must not be negative", path)
		}
		names := map[string]bool{}
		for j := range v.Features {
			f := &v.Features[j]
			fpath := fieldpath.Item(path+".features", f.Name, j)
			switch {
			case f.Name == "":
				bad("%s.name: required", fpath)
			case f.Name == v.JoinKey:
				bad("%s.name: %q is the join key", fpath, f.Name)
			case names[f.Name]:
				bad("%s.name: %q appears twice", fpath, f.Name)
			}
			names[f.Name] = true
			t, err := ParseValueType(f.Type)
			if err != nil {
				bad("%s.type: %w", fpath, err)
			} else if _, err := valueOf(f.Default, t); err != nil {
				bad("%s.default: %w", fpath, err)
			}
			for _, p := range []struct{ key, v string }{{"on_missing", f.OnMissing}, {"on_stale", f.OnStale}, {"on_error", f.OnError}} {
				if p.v != PolicyDefault && p.v != PolicyFail && p.v != PolicyFallback {
					bad("%s.%s: %q is not default, fail or fallback", fpath, p.key, p.v)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// valueOf converts a value decoded from YAML (a feature's default) or JSON
// (a snapshot's cell) to a Value of type t; nil is Missing.
func valueOf(x any, t ValueType) (Value, error) {
	switch x := x.(type) {
	case nil:
		return Value{}, nil
	case int:
		return valueOf(float64(x), t)
	case float64:
		if t == TypeString || t == TypeBytes {
			return Value{}, fmt.Errorf("a number for a %s feature; quote it", t)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Value{}, fmt.Errorf("%v is not a finite number", x)
		}
		return Value{Kind: Number, Num: x}, nil
	case bool:
		if t != TypeBool {
			return Value{}, fmt.Errorf("a boolean for a %s feature", t)
		}
		if x {
			return Value{Kind: Number, Num: 1}, nil
		}
		return Value{Kind: Number}, nil
	case string:
		if t != TypeString && t != TypeBytes {
			return Value{}, fmt.Errorf("a string for a %s feature", t)
		}
		return Value{Kind: String, Str: []byte(x)}, nil
	}
	return Value{}, fmt.Errorf("%v is not a number or a string", x)
}
