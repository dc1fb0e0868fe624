package configs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/fieldpath"
	"github.com/infergate/infergate/internal/yamlstrict"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
)

// Config is the whole configuration file.
type Config struct {
	Server   gateway.Config  `yaml:"server"`
	Runtime  runtime.Config  `yaml:"runtime"`
	Registry registry.Config `yaml:"registry"`
	Routes   []RouteSpec     `yaml:"routes"`
	// Auth is the API keys, tenants, rate limits and admin token. Default
	// mode keys, which needs keys: a server open to every caller must say
	// so (mode: off).
	Auth auth.Config `yaml:"auth"`
	// Feedback logs predictions so that POST /v1/feedback can join ground
	// truth to them. Default on.
	Feedback feedback.Config `yaml:"feedback"`
	// Features is the online feature store and its views; a route fetches
	// one view (routes[].features.view). Default: an embedded store, no
	// views.
	Features featurefetch.Config `yaml:"features"`
	Log      LogConfig           `yaml:"log"`
}

// RouteSpec is one entry of routes: the router's route and the gateway's
// response cache for it, which the file keeps together.
type RouteSpec struct {
	router.RouteConfig `yaml:",inline"`
	// Cache is the route's response cache. Default off.
	Cache gateway.CacheConfig `yaml:"cache"`
	// Features names the feature view whose values fill what the route's
	// requests lack. Default none.
	Features gateway.RouteFeaturesConfig `yaml:"features"`
	// Drift monitors the live traffic of the route's model versions
	// against their training data. Default on for every version with a
	// reference profile.
	Drift drift.RouteConfig `yaml:"drift"`
}

// RouterRoutes returns the routes as package router takes them.
func (c *Config) RouterRoutes() []router.RouteConfig {
	routes := make([]router.RouteConfig, len(c.Routes))
	for i := range c.Routes {
		routes[i] = c.Routes[i].RouteConfig
	}
	return routes
}

// GatewayConfig returns the server block with every route's response cache,
// as package gateway takes them.
func (c *Config) GatewayConfig() gateway.Config {
	g := c.Server
	g.Auth = c.Auth
	g.Feedback = c.Feedback
	g.Features = c.Features
	g.RouteFeatures = make(map[string]gateway.RouteFeaturesConfig, len(c.Routes))
	g.Caches = make(map[string]gateway.CacheConfig, len(c.Routes))
	g.Drift = make(map[string]drift.RouteConfig, len(c.Routes))
	for i := range c.Routes {
		g.Caches[c.Routes[i].Name] = c.Routes[i].Cache
		g.Drift[c.Routes[i].Name] = c.Routes[i].Drift
		if c.Routes[i].Features.View != "" {
			g.RouteFeatures[c.Routes[i].Name] = c.Routes[i].Features
		}
	}
	return g
}

// LogConfig configures the process log.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Defaults of LogConfig.
const (
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Load reads and decodes the file at path, applies defaults and validates.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	c, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s is invalid:\n%w", path, err)
	}
	return c, nil
}

// Parse decodes data strictly and applies defaults, then validates.
func Parse(data []byte) (*Config, error) {
	c, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// keysHint is where an unknown key's message sends the reader.
const keysHint = "configs/infergate.yaml lists the keys"

// Decode decodes data strictly and applies defaults without validating, so
// that a caller can apply overrides (such as command-line flags) first.
func Decode(data []byte) (*Config, error) {
	var c Config
	if err := yamlstrict.Decode(data, &c, keysHint); err != nil {
		return nil, fmt.Errorf("cannot decode config:\n%w", err)
	}
	c.ApplyDefaults()
	return &c, nil
}

// ApplyDefaults fills every unset field with its documented default.
func (c *Config) ApplyDefaults() {
	c.Server.ApplyDefaults()
	c.Runtime.ApplyDefaults()
	c.Registry.ApplyDefaults()
	c.Auth.ApplyDefaults()
	c.Feedback.ApplyDefaults()
	c.Features.ApplyDefaults()
	for i := range c.Routes {
		c.Routes[i].ApplyDefaults()
		c.Routes[i].Cache.ApplyDefaults()
		c.Routes[i].Drift.ApplyDefaults()
	}
	defaults.Set(&c.Log.Level, DefaultLogLevel)
	defaults.Set(&c.Log.Format, DefaultLogFormat)
}

// Validate returns every problem of c, one per line, each with its field
// path.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Server.Validate(), c.Runtime.Validate(), c.Registry.Validate())
	if len(c.Routes) == 0 {
		errs = append(errs, errors.New("routes: at least one route is needed; see configs/infergate.yaml"))
	}
	errs = append(errs, router.Validate(c.RouterRoutes()))
	names := make([]string, 0, len(c.Routes))
	for i := range c.Routes {
		names = append(names, c.Routes[i].Name)
	}
	errs = append(errs, c.Auth.Validate(names), c.Feedback.Validate(), c.Features.Validate())
	views := make(map[string]bool, len(c.Features.Views))
	for _, v := range c.Features.Views {
		views[v.Name] = true
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Cache.Enabled {
			errs = append(errs, r.Cache.Validate(fieldpath.Item("routes", r.Name, i)+".cache"))
		}
		errs = appendPrefixed(errs, fieldpath.Item("routes", r.Name, i)+".", r.Drift.Validate())
		if v := r.Features.View; v != "" && !views[v] {
			errs = append(errs, fmt.Errorf("%s.features.view: no view %q in features.views", fieldpath.Item("routes", r.Name, i), v))
		}
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	return errors.Join(errs...)
}

// appendPrefixed appends err with prefix before it; an error that joins
// several (errors.Join) is split, so that every line gets the prefix.
func appendPrefixed(errs []error, prefix string, err error) []error {
	if err == nil {
		return errs
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			errs = appendPrefixed(errs, prefix, e)
		}
		return errs
	}
	return append(errs, fmt.Errorf("%s%w", prefix, err))
}

// SlogLevel returns the configured log level.
func (l *LogConfig) SlogLevel() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(l.Level))); err != nil {
		return 0, fmt.Errorf("log.level: %q is not debug, info, warn or error", l.Level)
	}
	return level, nil
}

// Logger returns a logger writing to w as configured.
func (l *LogConfig) Logger(w io.Writer) *slog.Logger {
	level, _ := l.SlogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
