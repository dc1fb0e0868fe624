package configs_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/configs"
	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/golden"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
)

// checkGolden compares cfg, as indented JSON, with testdata/name, or rewrites
// the file with -update.
func checkGolden(t *testing.T, name string, cfg *configs.Config) {
	t.Helper()
	got, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.Check(t, name, got)
}

func TestDefaultFile(t *testing.T) {
	t.Parallel()
	cfg, err := configs.Load("infergate.yaml")
	if err != nil {
		t.Fatalf("the default configuration does not load: %v", err)
	}
	checkGolden(t, "infergate.golden.json", cfg)

	// The values the file documents in its comments.
	if len(cfg.Routes) != 4 {
		t.Fatalf("routes: got %d, want 4", len(cfg.Routes))
	}
	// The founding document's model_id serves the same model with the same
	// batching (two routes on one version share its batcher).
	if v2 := cfg.Routes[1]; v2.Name != "customer-churn-v2" || v2.Model != "customer-churn" || v2.Batching.MaxBatchSize != 64 || v2.Batching.Instances != 2 || v2.Features.View != "customer_stats" {
		t.Errorf("routes[1]: %+v", v2)
	}
	if cfg.Routes[2].Model != "customer-contract" || cfg.Routes[3].Model != "customer-charges" {
		t.Errorf("routes %s and %s, want the demo's multi-class and regression models third and fourth", cfg.Routes[2].Name, cfg.Routes[3].Name)
	}
	r := cfg.Routes[0]
	if r.Name != "customer-churn" || r.Model != "customer-churn" || r.Version != router.DefaultVersion {
		t.Errorf("routes[0]: got name %q model %q version %q", r.Name, r.Model, r.Version)
	}
	if r.Batching.MaxBatchSize != 64 || r.Batching.Instances != 2 || r.Batching.MaxQueueSize != 1024 {
		t.Errorf("routes[0].batching: got %+v", r.Batching)
	}
}

// TestExampleCanaryShadow loads the router example the README points to and
// checks that its blocks arrive where the router reads them.
func TestExampleCanaryShadow(t *testing.T) {
	t.Parallel()
	cfg, err := configs.Load("examples/canary-shadow.yaml")
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	checkGolden(t, "canary-shadow.golden.json", cfg)
	r := cfg.Routes[0]
	if len(r.Targets) != 5 || len(r.Fallbacks) != 4 || r.Canary == nil || r.Canary.Analysis == nil || r.Shadow == nil {
		t.Fatalf("routes[0]: got %d targets, %d fallbacks, canary %v, shadow %v", len(r.Targets), len(r.Fallbacks), r.Canary, r.Shadow)
	}
	if got := r.Canary.Weight; got != 5 {
		t.Errorf("canary.weight: got %g, want the first analysis step, 5", got)
	}
	if got := r.Targets[2].Remote.MaxConns; got == 0 {
		t.Errorf("targets[replica].remote.max_conns: the default was not applied")
	}
}

// openAuth lets every caller in, as a test of something else needs: a
// config must say so (auth's default mode needs keys).
const openAuth = "auth: {mode: off, admin: {mode: off}}\n"

func TestMinimalConfigGetsEveryDefault(t *testing.T) {
	t.Parallel()
	cfg, err := configs.Parse([]byte("routes:\n  - name: customer-churn\n" + openAuth))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "minimal.golden.json", cfg)

	// The same, spelled with the named constants each package documents, so
	// that a golden file regenerated carelessly cannot hide a changed default.
	want := configs.Config{
		Server: gateway.Config{
			Listen:            gateway.DefaultListen,
			AdminListen:       gateway.DefaultAdminListen,
			MaxBodyBytes:      gateway.DefaultMaxBodyBytes,
			AdminMaxBodyBytes: gateway.DefaultAdminMaxBody,
			MaxHeaderBytes:    gateway.DefaultMaxHeaderBytes,
			Timeout:           gateway.DefaultTimeout,
			MaxTimeout:        gateway.DefaultMaxTimeout,
			ReadTimeout:       gateway.DefaultReadTimeout,
			WriteTimeout:      gateway.DefaultWriteTimeout,
			IdleTimeout:       gateway.DefaultIdleTimeout,
			ShutdownDelay:     gateway.DefaultShutdownDelay,
			ShutdownTimeout:   gateway.DefaultShutdownTimeout,
			MaxInstances:      gateway.DefaultMaxInstances,
			MaxJSONDepth:      gateway.DefaultMaxJSONDepth,
			MaxElements:       gateway.DefaultMaxElements,
			MaxFeatures:       gateway.DefaultMaxFeatures,
			MaxConcurrency:    gateway.DefaultMaxConcurrency,
			MaxQueueWait:      gateway.DefaultMaxQueueWait,
		},
		Runtime: runtime.Config{
			IntraOpThreads:       runtime.DefaultIntraOpThreads,
			InterOpThreads:       runtime.DefaultInterOpThreads,
			GPUTelemetryInterval: runtime.DefaultTelemetryInterval,
		},
		Registry: registry.Config{Root: registry.DefaultRoot, WatchInterval: ptr(registry.DefaultWatchInterval)},
		Routes: []configs.RouteSpec{{
			RouteConfig: router.RouteConfig{
				Name:    "customer-churn",
				Model:   "customer-churn",
				Version: router.DefaultVersion,
				Batching: batcher.Config{
					MaxBatchSize:         batcher.DefaultMaxBatchSize,
					MaxQueueDelay:        batcher.DefaultMaxQueueDelay,
					MaxQueueSize:         batcher.DefaultMaxQueueSize,
					Instances:            batcher.DefaultInstances,
					GPUPolicy:            batcher.PreferGPU,
					PriorityLevels:       batcher.DefaultPriorityLevels,
					DefaultPriorityLevel: batcher.DefaultPriorityLevels,
					StarvationShare:      batcher.DefaultStarvationShare,
					Order:                batcher.OrderFIFO,
				},
				Breaker: router.BreakerConfig{
					FailureRatio: router.DefaultBreakerFailureRatio,
					MinRequests:  router.DefaultBreakerMinRequests,
					Window:       router.DefaultBreakerWindow,
					Cooldown:     router.DefaultBreakerCooldown,
					Probes:       router.DefaultBreakerProbes,
				},
				Retry: router.RetryConfig{Backoff: router.DefaultRetryBackoff, MaxBackoff: router.DefaultRetryMaxBackoff},
			},
			Drift: drift.RouteConfig{MonitorConfig: drift.MonitorConfig{
				SampleRate: drift.DefaultSampleRate, Window: drift.DefaultWindow, Buckets: drift.DefaultBuckets,
				PSIWarn: drift.DefaultPSIWarn, PSIAlert: drift.DefaultPSIAlert, KSAlpha: drift.DefaultKSAlpha,
				ChiAlpha: drift.DefaultChiAlpha, MinSamples: drift.DefaultMinSamples,
				InputsConfig: drift.InputsConfig{
					ShiftWarn: drift.DefaultShiftWarn, ShiftAlert: drift.DefaultShiftAlert,
					NaNShareWarn: drift.DefaultNaNShareWarn, NaNShareAlert: drift.DefaultNaNShareAlert,
				},
			}},
			Cache: gateway.CacheConfig{TTL: gateway.DefaultCacheTTL, MaxBytes: gateway.DefaultCacheMaxBytes},
		}},
		Auth:     auth.Config{Mode: auth.ModeOff, Admin: auth.AdminConfig{Mode: auth.ModeOff, AuditLog: auth.DefaultAuditLog}},
		Feedback: feedback.Config{Capacity: feedback.DefaultCapacity, TTL: feedback.DefaultTTL, Threshold: feedback.DefaultThreshold},
		Features: featurefetch.Config{Store: featurefetch.StoreConfig{
			Kind: featurefetch.StoreEmbedded, Snapshot: featurefetch.DefaultSnapshot, ReloadInterval: featurefetch.DefaultReloadInterval,
			Redis:   featurefetch.RedisConfig{KeyVersion: featurefetch.DefaultKeyVersion, DialTimeout: featurefetch.DefaultRedisDialTimeout},
			Timeout: featurefetch.DefaultTimeout, Readers: featurefetch.DefaultReaders, MaxBatch: featurefetch.DefaultMaxBatch,
			Breaker: featurefetch.BreakerConfig{FailureRatio: featurefetch.DefaultFailureRatio, MinRequests: featurefetch.DefaultMinRequests,
				Window: featurefetch.DefaultBreakerWindow, Cooldown: featurefetch.DefaultCooldown, Probes: featurefetch.DefaultProbes},
		}},
		Log: configs.LogConfig{Level: configs.DefaultLogLevel, Format: configs.DefaultLogFormat},
	}
	gotJSON, _ := json.Marshal(cfg)
	wantJSON, _ := json.Marshal(&want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("defaults:\ngot  %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	f := func(yaml string, wantLines ...string) {
		t.Helper()
		_, err := configs.Parse([]byte(yaml))
		if err == nil {
			t.Fatalf("Parse(%q): no error, want\n%s", yaml, strings.Join(wantLines, "\n"))
		}
		want := "cannot decode config:\n" + strings.Join(wantLines, "\n")
		if err.Error() != want {
			t.Fatalf("Parse(%q):\ngot  %s\nwant %s", yaml, err, want)
		}
	}
	// Unknown keys, at the top and nested, named by path and line.
	f("routes: [{name: a}]\nextra: 1\n",
		"line 2: extra: unknown key; configs/infergate.yaml lists the keys")
	f("server:\n  listn: 127.0.0.1:80\nroutes: [{name: a}]\n",
		"line 2: server.listn: unknown key; configs/infergate.yaml lists the keys")
	f("routes:\n  - name: customer-churn\n    batching:\n      max_batch: 8\n",
		"line 4: routes[customer-churn].batching.max_batch: unknown key; configs/infergate.yaml lists the keys")
	f("routes:\n  - batching:\n      max_batch: 8\n",
		"line 3: routes[0].batching.max_batch: unknown key; configs/infergate.yaml lists the keys")
	// Every problem of the file at once.
	f("server:\n  timeout: fast\n  max_body_bytes: lots\nroutes:\n  - name: a\n    ref: 1.0.0\nlog:\n  formt: json\n",
		`line 2: server.timeout: "fast" is not a duration such as "250ms" or "2s"`,
		`line 3: server.max_body_bytes: "lots" is not a whole number`,
		"line 6: routes[a].ref: unknown key; configs/infergate.yaml lists the keys",
		"line 8: log.formt: unknown key; configs/infergate.yaml lists the keys")
	// Wrong shapes and types.
	f("server:\n  timeout: 5\nroutes: [{name: a}]\n",
		`line 2: server.timeout: "5" is not a duration such as "250ms" or "2s"`)
	f("routes: [{name: a, batching: {max_queue_delay: 2 ms}}]\n",
		`line 1: routes[a].batching.max_queue_delay: "2 ms" is not a duration such as "250ms" or "2s"`)
	f("routes: [{name: a, batching: {preferred_batch_sizes: 4}}]\n",
		`line 1: routes[a].batching.preferred_batch_sizes: "4" is not a list of whole numbers, such as [4, 8]`)
	f("routes:\n  name: a\n",
		"line 2: routes: a mapping is not a list")
	f("routes: [{name: a}]\nlog: debug\n",
		`line 2: log: "debug" is not a mapping of keys`)
	f("routes: [{name: a}]\nserver:\n  listen: [a, b]\n",
		"line 3: server.listen: a list is not a string")
	f("routes: [{name: a}]\nruntime:\n  intra_op_threads: averyveryverylongvalue\n",
		`line 3: runtime.intra_op_threads: "averyveryverylongvalue" is not a whole number`)
	// Keys set twice.
	f("routes: [{name: a}]\nlog:\n  level: info\n  level: debug\n",
		"line 4: log.level: key already set at line 3")
	f("server: {}\nroutes: [{name: a}]\nserver: {}\n",
		"line 3: server: key already set at line 1")
	// YAML syntax errors keep the parser's message and line.
	f("routes: [{name: a\n", "yaml: line 1: did not find expected ',' or '}'")
}

func TestDecodeRefusesSecondDocument(t *testing.T) {
	t.Parallel()
	_, err := configs.Parse([]byte("routes: [{name: a}]\n---\nroutes: [{name: b}]\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("got %v, want an error about a second document", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	// f parses yaml and wants exactly the lines of wantLines, in order.
	f := func(yaml string, wantLines ...string) {
		t.Helper()
		_, err := configs.Parse([]byte(yaml + openAuth))
		if err == nil {
			t.Fatalf("Parse(%q): no error, want\n%s", yaml, strings.Join(wantLines, "\n"))
		}
		got := strings.Split(err.Error(), "\n")
		if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
			t.Fatalf("Parse(%q):\ngot:\n%s\nwant:\n%s", yaml, err, strings.Join(wantLines, "\n"))
		}
	}
	const route = "routes: [{name: customer-churn}]\n"

	// server
	f("server: {timeout: 20s}\n"+route,
		"server.timeout: 20s is above server.max_timeout 10s")
	f("server: {timeout: 3s, max_timeout: 2s}\n"+route,
		"server.timeout: 3s is above server.max_timeout 2s")
	f("server: {listen: 127.0.0.1:9000, admin_listen: 127.0.0.1:9000}\n"+route,
		"server.admin_listen: must differ from server.listen (127.0.0.1:9000)")
	f("server: {admin_listen: 127.0.0.1:8080}\n"+route,
		"server.admin_listen: must differ from server.listen (127.0.0.1:8080)")
	f("server: {listen: localhost}\n"+route,
		`server.listen: "localhost" is not host:port: address localhost: missing port in address`)
	f("server: {max_body_bytes: -1, max_header_bytes: -2}\n"+route,
		"server.max_body_bytes: must be positive, got -1",
		"server.max_header_bytes: must be positive, got -2")
	f("server: {read_timeout: -1s}\n"+route,
		"server.read_timeout: must be positive, got -1s")

	// runtime
	f("runtime: {intra_op_threads: -1, inter_op_threads: -4}\n"+route,
		"runtime.intra_op_threads: must be >= 1, got -1",
		"runtime.inter_op_threads: must be >= 1, got -4")

	// routes
	f("log: {level: info}\n",
		"routes: at least one route is needed; see configs/infergate.yaml")
	f("routes: []\n",
		"routes: at least one route is needed; see configs/infergate.yaml")
	f("routes: [{name: a}, {name: b}, {name: a}]\n",
		`routes[2].name: duplicate route "a" (routes[0] has it already); route names must be unique`)
	f("routes: [{model: churn}]\n",
		"routes[0].name: must not be empty")
	f("routes: [{name: 'churn v2'}]\n",
		`routes[churn v2].name: "churn v2" must not contain spaces, quotes, slashes, @, : or control characters`)
	f("routes: [{name: churn/v2}]\n",
		`routes[churn/v2].name: "churn/v2" must not contain spaces, quotes, slashes, @, : or control characters`)
	f("routes: [{name: churn, model: Churn}]\n",
		`routes[churn].model: model name "Churn": invalid name: must match [a-z0-9][a-z0-9._-]* (at most 128 bytes)`)
	f("routes: [{name: Churn}]\n",
		`routes[Churn].model: model name "Churn": invalid name: must match [a-z0-9][a-z0-9._-]* (at most 128 bytes); the model defaults to the route name, so set model to the registry name`)
	f("routes: [{name: churn, version: v1.0}]\n",
		`routes[churn].version: "v1.0" is neither a version (MAJOR.MINOR.PATCH such as "1.0.0") nor an alias (such as "production"): invalid name`)
	f("routes: [{name: churn, version: 1.0}]\n",
		`routes[churn].version: "1.0" is neither a version (MAJOR.MINOR.PATCH such as "1.0.0") nor an alias (such as "production"): invalid name`)
	f("routes:\n  - name: customer-churn\n    batching:\n      max_batch_size: 8\n      preferred_batch_sizes: [0, 16, 4, 4]\n",
		"routes[customer-churn].batching.preferred_batch_sizes[0]: must be at least 1, got 0",
		"routes[customer-churn].batching.preferred_batch_sizes[1]: 16 is above max_batch_size 8",
		"routes[customer-churn].batching.preferred_batch_sizes[3]: 4 repeats preferred_batch_sizes[2]")
	f("routes: [{name: a, batching: {max_batch_size: -1, max_queue_delay: -1ms, max_queue_size: -1, instances: -1}}]\n",
		"routes[a].batching.max_batch_size: must be at least 1, got -1",
		"routes[a].batching.max_queue_delay: must not be negative, got -1ms",
		"routes[a].batching.max_queue_size: must be at least 1, got -1",
		"routes[a].batching.instances: must be at least 1, got -1")
	// A repeated route's own problems point at its index, not at the first
	// route of that name.
	f("routes: [{name: a}, {name: a, batching: {instances: -1}}]\n",
		`routes[1].name: duplicate route "a" (routes[0] has it already); route names must be unique`,
		"routes[1].batching.instances: must be at least 1, got -1")

	// log
	f("log: {level: loud}\n"+route,
		`log.level: "loud" is not debug, info, warn or error`)
	f("log: {format: xml}\n"+route,
		`log.format: "xml" is not text or json`)

	// Every problem at once, in file order of the sections.
	f(`server:
  listen: 127.0.0.1:9000
  admin_listen: 127.0.0.1:9000
  timeout: 20s
runtime:
  intra_op_threads: -1
routes:
  - name: customer-churn
    batching:
      max_batch_size: 4
      preferred_batch_sizes: [8]
      instances: -2
  - name: customer-churn
log:
  level: loud
  format: xml
`,
		"server.admin_listen: must differ from server.listen (127.0.0.1:9000)",
		"server.timeout: 20s is above server.max_timeout 10s",
		"runtime.intra_op_threads: must be >= 1, got -1",
		"routes[customer-churn].batching.preferred_batch_sizes[0]: 8 is above max_batch_size 4",
		"routes[customer-churn].batching.instances: must be at least 1, got -2",
		`routes[1].name: duplicate route "customer-churn" (routes[0] has it already); route names must be unique`,
		`log.level: "loud" is not debug, info, warn or error`,
		`log.format: "xml" is not text or json`)
}

func TestValidateCache(t *testing.T) {
	t.Parallel()
	f := func(yaml string, wantLines ...string) {
		t.Helper()
		_, err := configs.Parse([]byte(yaml + openAuth))
		if err == nil || err.Error() != strings.Join(wantLines, "\n") {
			t.Fatalf("Parse(%q):\ngot:\n%v\nwant:\n%s", yaml, err, strings.Join(wantLines, "\n"))
		}
	}
	f("routes: [{name: a, cache: {enabled: true, ttl: -1s, max_bytes: 10, round: {monthly_charges: 0, tenure_months: -2}}}]\n",
		"routes[a].cache.ttl: must be positive, got -1s",
		"routes[a].cache.max_bytes: must be at least 1024, got 10",
		"routes[a].cache.round[monthly_charges]: the step must be a positive number, got 0",
		"routes[a].cache.round[tenure_months]: the step must be a positive number, got -2")
	// A disabled cache is not checked: it may be a block kept for later.
	if _, err := configs.Parse([]byte("routes: [{name: a, cache: {enabled: false, ttl: -1s}}]\n" + openAuth)); err != nil {
		t.Errorf("a disabled cache was validated: %v", err)
	}
	cfg, err := configs.Parse([]byte("routes: [{name: a, cache: {enabled: true, ttl: 30s, round: {monthly_charges: 0.5}}}, {name: b}]\n" + openAuth))
	if err != nil {
		t.Fatal(err)
	}
	caches := cfg.GatewayConfig().Caches
	if c := caches["a"]; !c.Enabled || c.TTL != 30*time.Second || c.Round["monthly_charges"] != 0.5 || c.MaxBytes != 64<<20 {
		t.Errorf("routes[a].cache reached the gateway as %+v", c)
	}
	if caches["b"].Enabled {
		t.Error("routes[b] has a cache it did not ask for")
	}
	if routes := cfg.RouterRoutes(); len(routes) != 2 || routes[0].Name != "a" || routes[1].Version != "production" {
		t.Errorf("RouterRoutes = %+v", routes)
	}
}

func TestValidConfigs(t *testing.T) {
	t.Parallel()
	f := func(yaml string) {
		t.Helper()
		if _, err := configs.Parse([]byte(yaml + openAuth)); err != nil {
			t.Fatalf("Parse(%q): %v", yaml, err)
		}
	}
	f("routes: [{name: a}]\n")
	f("routes: [{name: a, model: churn, version: 1.2.0}, {name: b, model: churn, version: staging}]\n")
	f("routes: [{name: a, version: latest}]\n")
	// A public name need not be a registry name when the model is named.
	f("routes: [{name: Churn.V2, model: churn}]\n")
	f("server: {listen: '[::1]:8080', admin_listen: ':8081'}\nroutes: [{name: a}]\n")
	f("routes: [{name: a, batching: {max_batch_size: 1}}]\n")
	f("routes: [{name: a, batching: {max_batch_size: 8, preferred_batch_sizes: [4, 8], max_queue_delay: 2ms}}]\n")
	f("log: {level: DEBUG, format: json}\nroutes: [{name: a}]\n")
	f("log: {level: warn}\nroutes: [{name: a}]\n")
	// A timeout equal to the cap is allowed.
	f("server: {timeout: 10s}\nroutes: [{name: a}]\n")
	// Port 0 on both listeners: the system picks two different free ports.
	f("server: {listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0'}\nroutes: [{name: a}]\n")
	f("server: {shutdown_delay: 5s, shutdown_timeout: 1m}\nroutes: [{name: a}]\n")
}

func TestLoadNamesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(name, content, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if content != "" {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := configs.Load(path)
		if err == nil {
			t.Fatalf("Load(%s): no error, want %q", name, want)
		}
		if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); got != want {
			t.Fatalf("Load(%s):\ngot  %s\nwant %s", name, got, want)
		}
	}
	f("missing.yaml", "", "cannot read config: open missing.yaml: no such file or directory")
	f("invalid.yaml", "routes: []\nlog: {format: xml}\n"+openAuth,
		"invalid.yaml is invalid:\nroutes: at least one route is needed; see configs/infergate.yaml\nlog.format: \"xml\" is not text or json")
	f("typo.yaml", "route: []\n",
		"typo.yaml: cannot decode config:\nline 1: route: unknown key; configs/infergate.yaml lists the keys")
	f("empty.yaml", "\n",
		"empty.yaml is invalid:\nroutes: at least one route is needed; see configs/infergate.yaml\n"+
			"auth.keys: auth.mode keys needs at least one key; make one with `infergate keys new`, or set auth.mode: off to let every request through\n"+
			"auth.admin.token_sha256: must be set in token mode; make a token with `infergate keys new` and put its sha256 here, or set auth.admin.mode: off to leave the admin API open")
}

func TestLogger(t *testing.T) {
	t.Parallel()
	f := func(level, format string, want slog.Level, wantLine string) {
		t.Helper()
		l := configs.LogConfig{Level: level, Format: format}
		got, err := l.SlogLevel()
		if err != nil || got != want {
			t.Fatalf("SlogLevel(%q) = %v, %v; want %v", level, got, err, want)
		}
		var buf bytes.Buffer
		log := l.Logger(&buf)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		if !strings.Contains(buf.String(), wantLine) {
			t.Fatalf("%s/%s logged %q, want it to contain %q", level, format, buf.String(), wantLine)
		}
		if n := strings.Count(buf.String(), "\n"); n != int(slog.LevelError-want)/4+1 {
			t.Fatalf("%s logged %d lines, want %d:\n%s", level, n, int(slog.LevelError-want)/4+1, buf.String())
		}
	}
	f("debug", "text", slog.LevelDebug, "level=DEBUG msg=d")
	f("info", "text", slog.LevelInfo, "level=INFO msg=i")
	f("WARN", "json", slog.LevelWarn, `"level":"WARN","msg":"w"`)
	f("error", "json", slog.LevelError, `"level":"ERROR","msg":"e"`)
}

func ptr[T any](v T) *T { return &v }
