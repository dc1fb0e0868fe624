package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway/auth"

	"github.com/infergate/infergate/internal/defaults"
)

// Defaults of Config.
const (
	DefaultListen         = "127.0.0.1:8080"
	DefaultAdminListen    = "127.0.0.1:8081"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultAdminMaxBody   = 256 << 20
	DefaultMaxHeaderBytes = 8 << 10
	DefaultTimeout        = time.Second
	DefaultMaxTimeout     = 10 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	// DefaultShutdownDelay is 0: a process run by hand stops at once. Behind
	// a load balancer, set it to the balancer's health-check interval.
	DefaultShutdownDelay   = 0
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultMaxInstances bounds the rows of one /v1 request with instances.
	DefaultMaxInstances = 1000
	// DefaultMaxConcurrency bounds the requests computed at once; more wait
	// up to DefaultMaxQueueWait for a slot, then get 503.
	DefaultMaxConcurrency = 4096
	DefaultMaxQueueWait   = 50 * time.Millisecond
	// DefaultMaxFeatures bounds the features of one row (and the inputs of
	// one v2 request).
	DefaultMaxFeatures = 256
	// DefaultMaxElements bounds the tensor elements of one v2 request.
	DefaultMaxElements = 1 << 20
	// DefaultMaxJSONDepth bounds how deep a request body's JSON nests: a
	// prediction needs 5 levels at most (a v2 tensor with nested data a few
	// more); a body nested thousands deep is an attack on the parser.
	DefaultMaxJSONDepth = 32
)

// Config configures the HTTP listeners and the request limits.
type Config struct {
	// Listen is the public API address. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// AdminListen is the admin address (metrics, model status). Default
	// 127.0.0.1:8081.
	AdminListen string `yaml:"admin_listen"`
	// MaxBodyBytes caps a request body; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// AdminMaxBodyBytes caps a request body on the admin listener, where
	// POST /v1/registry/models/{model}/versions/{version} uploads a model.
	// Default 256 MiB; a larger model imports with `infergate registry
	// import`.
	AdminMaxBodyBytes int `yaml:"admin_max_body_bytes"`
	// MaxHeaderBytes caps the request line plus headers; larger ones get 431.
	// Default 8 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// Timeout is a request's deadline when it names none. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxTimeout caps the deadline a request may ask for with the
	// X-Request-Timeout header. Default 10s.
	MaxTimeout time.Duration `yaml:"max_timeout"`
	// ReadTimeout, WriteTimeout and IdleTimeout guard against slow clients.
	// Defaults 10s, 10s and 60s.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	// ShutdownDelay is how long the gateway goes on serving once a shutdown
	// begins, with /readyz answering 503 and every response closing its
	// connection, so that load balancers and keep-alive clients move away
	// before the listeners close. Default 0s.
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	// ShutdownTimeout bounds the wait for in-flight requests once the
	// listeners are closed. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// MaxInstances caps the rows of one request (/v1 instances, a v2 batch);
	// more get 413. Default 1000.
	MaxInstances int `yaml:"max_instances"`

	// MaxFeatures caps the features of one row (/v1) or the inputs of one v2
	// request; more get 400. Default 256.
	MaxFeatures int `yaml:"max_features"`
	// MaxElements caps the tensor elements of one Open Inference Protocol
	// request (the sum of its inputs' shape products); more get 400.
	// Default 1048576.
	MaxElements int `yaml:"max_elements"`
	// MaxConcurrency caps the prediction requests in progress at once
	// (admission control): one more waits up to MaxQueueWait (and its
	// deadline) for a slot, then gets 503. Default 4096.
	MaxConcurrency int `yaml:"max_concurrency"`
	// MaxQueueWait bounds that wait. Default 50ms.
	MaxQueueWait time.Duration `yaml:"max_queue_wait"`
	// Auth is the API keys, tenants, rate limits and admin token; package
	// configs fills it from the file's auth block.
	Auth auth.Config `yaml:"-" json:"-"`
	// Version is the server version the v2 metadata reports; the command
	// sets it.
	Version string `yaml:"-" json:",omitempty"`
	// MaxJSONDepth caps how deep a request body's JSON may nest; deeper
	// bodies get 400. Default 32.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// TLS serves the public API over TLS when cert_file and key_file are
	// set. Default off (plain HTTP).
	TLS TLSConfig `yaml:"tls"`
	// AdminTLS serves the admin API over TLS. Default off.
	AdminTLS TLSConfig `yaml:"admin_tls"`

	// Drift is the routes' drift monitoring by route name (routes[].drift);
	// a route without an entry is monitored with the defaults.
	Drift map[string]drift.RouteConfig `yaml:"-" json:",omitempty"`
	// Caches are the routes' response caches by route name. They are
	// configured under routes[].cache; package configs fills this in.
	Caches map[string]CacheConfig `yaml:"-" json:",omitempty"`
	// Feedback logs predictions for POST /v1/feedback; package configs
	// fills it from the file's feedback block. Default on.
	Feedback feedback.Config `yaml:"-" json:"-"`
	// Features is the feature store and its views (the file's features
	// block); RouteFeatures names each route's view (routes[].features).
	Features      featurefetch.Config            `yaml:"-" json:"-"`
	RouteFeatures map[string]RouteFeaturesConfig `yaml:"-" json:",omitempty"`
}

// TLSConfig names a listener's certificate and key files (PEM); both or
// neither.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (c *TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// load reads the key pair; path is the block's config path for errors.
func (c *TLSConfig) load(path string) (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot load the certificate %s and key %s: %w", path, c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Listen, DefaultListen)
	defaults.Set(&c.AdminListen, DefaultAdminListen)
	defaults.Set(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	defaults.Set(&c.AdminMaxBodyBytes, DefaultAdminMaxBody)
	defaults.Set(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	defaults.Set(&c.Timeout, DefaultTimeout)
	defaults.Set(&c.MaxTimeout, DefaultMaxTimeout)
	defaults.Set(&c.ReadTimeout, DefaultReadTimeout)
	defaults.Set(&c.WriteTimeout, DefaultWriteTimeout)
	defaults.Set(&c.IdleTimeout, DefaultIdleTimeout)
	defaults.Set(&c.ShutdownTimeout, DefaultShutdownTimeout)
	defaults.Set(&c.MaxInstances, DefaultMaxInstances)
	defaults.Set(&c.MaxJSONDepth, DefaultMaxJSONDepth)
	defaults.Set(&c.MaxElements, DefaultMaxElements)
	defaults.Set(&c.MaxFeatures, DefaultMaxFeatures)
	defaults.Set(&c.MaxConcurrency, DefaultMaxConcurrency)
	defaults.Set(&c.MaxQueueWait, DefaultMaxQueueWait)
	c.Auth.ApplyDefaults()
	c.Feedback.ApplyDefaults()
	for name, d := range c.Drift {
		d.ApplyDefaults()
		c.Drift[name] = d
	}
}

// Validate checks c after ApplyDefaults; errors name the field under server.
func (c *Config) Validate() error {
	var errs []error
	for _, a := range []struct{ name, addr string }{{"listen", c.Listen}, {"admin_listen", c.AdminListen}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("server.%s: %q is not host:port: %w", a.name, a.addr, err))
		}
	}
	// Port 0 asks the system for a free port, so two of them never clash.
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		errs = append(errs, fmt.Errorf("server.admin_listen: must differ from server.listen (%s)", c.Listen))
	}
	positive := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("server.%s: must be positive, got %d", name, v))
		}
	}
	positive("max_body_bytes", int64(c.MaxBodyBytes))
	positive("admin_max_body_bytes", int64(c.AdminMaxBodyBytes))
	positive("max_header_bytes", int64(c.MaxHeaderBytes))
	positive("max_instances", int64(c.MaxInstances))
	positive("max_json_depth", int64(c.MaxJSONDepth))
	positive("max_elements", int64(c.MaxElements))
	positive("max_features", int64(c.MaxFeatures))
	positive("max_concurrency", int64(c.MaxConcurrency))
	if c.MaxQueueWait < 0 {
		errs = append(errs, fmt.Errorf("server.max_queue_wait: must not be negative, got %s", c.MaxQueueWait))
	}
	for _, t := range []struct {
		path string
		c    *TLSConfig
	}{{"server.tls", &c.TLS}, {"server.admin_tls", &c.AdminTLS}} {
		if t.c.Enabled() && (t.c.CertFile == "" || t.c.KeyFile == "") {
			errs = append(errs, fmt.Errorf("%s: set both cert_file and key_file (PEM files), or neither", t.path))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", c.Timeout}, {"max_timeout", c.MaxTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout},
		{"shutdown_delay", c.ShutdownDelay}, {"shutdown_timeout", c.ShutdownTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("server.%s: must be positive, got %s", d.name, d.v))
		}
	}
	if c.Timeout > c.MaxTimeout {
		errs = append(errs, fmt.Errorf("server.timeout: %s is above server.max_timeout %s", c.Timeout, c.MaxTimeout))
	}
	return errors.Join(errs...)
}
