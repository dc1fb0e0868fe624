package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/gateway/oip"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

var contentTypeJSON = []byte("application/json")

// contentTypeOctetStream is a v2 answer's with binary data after its JSON
// header, as Triton sends it.
var contentTypeOctetStream = []byte("application/octet-stream")

// Gateway serves the public prediction API and the admin API.
type Gateway struct {
	cfg      Config
	state    atomic.Pointer[serving]
	ready    atomic.Bool
	draining atomic.Bool // a shutdown has begun: responses close their connections
	metrics  *metrics.Set
	panics   *metrics.Counter

	public *fasthttp.Server
	admin  *fasthttp.Server

	// mu guards stopped and listeners: fasthttp's Shutdown closes only the
	// listeners its Serve has already registered, so the gateway keeps its
	// own list to close the ones a Serve was handed an instant before.
	mu        sync.Mutex
	stopped   bool
	listeners []net.Listener
	closeOnce sync.Once

	// cacheHash replaces the caches' key hash in tests (collisions).
	cacheHash keyHasher

	// publicTLS and adminTLS wrap the listeners when TLS is configured.
	publicTLS, adminTLS *tls.Config

	auth      *auth.Authenticator // API keys, tenants, rate limits
	adminAuth *auth.Admin         // the admin token and audit log
	admit     *auth.Limiter       // admission control
	authFail  *metrics.Counter    // 401 and 403 answers
	limited   *metrics.Counter    // 429 answers of the rate limits

	// feedback logs predictions for the labels POST /v1/feedback joins to
	// them; it outlives routing tables, so statistics survive a swap.
	feedback *feedback.Store
	// features looks up the online features of routes that name a view;
	// nil when none does.
	features *featurefetch.Fetcher
	// deviceReport answers GET /v1/devices (SetDeviceReport).
	deviceReport atomic.Pointer[func() any]
	// checkModel proves an uploaded model serves (SetModelChecker).
	checkModel atomic.Pointer[registry.CheckFunc]
}

// serving is one immutable routing snapshot with the per-route metrics and
// caches that go with it, swapped as a whole so a request never sees one
// without the other.
type serving struct {
	table  *router.Table
	routes map[*router.Route]*routeState
	drift  snapshotDrift
	// inflight counts the requests using this snapshot, so that a
	// replaced one is closed only once they are done (acquire, release).
	inflight atomic.Int64
}

// routeState is what the gateway keeps per route of a snapshot.
type routeState struct {
	stats  *routeStats
	cache  *routeCache // nil when the route's cache is off
	schema *oip.Schema // the route's inputs in the Open Inference Protocol
	// tensors is the route's schema when it takes tensors (nil when it
	// takes features).
	tensors *oip.TensorSchema
	// trackers are the feedback statistics of each target's answers; nil
	// when feedback is off.
	trackers map[*router.Target]*feedback.Tracker
	// features is the route's feature view; nil without one.
	features *routeFeatures
	// drift monitors the route's versions; nil when none is.
	drift *routeDrift
}

// acquire returns the current snapshot, counted as in use until release. A
// request that counted itself in a snapshot just replaced tries again with
// the new one, so that once SwapTable has seen the old count at zero, no
// request will use the old table.
func (g *Gateway) acquire() *serving {
	for {
		s := g.state.Load()
		s.inflight.Add(1)
		if g.state.Load() == s {
			return s
		}
		s.inflight.Add(-1)
	}
}

func (s *serving) release() { s.inflight.Add(-1) }

// SwapTable installs t as SetTable does, waits until no request uses the
// previous table any more (or ctx ends), then closes it: a blue-green swap.
// In-flight requests finish on the table they started with; new ones use t.
func (g *Gateway) SwapTable(ctx context.Context, t *router.Table) error {
	old := g.state.Load()
	if _, err := g.SetTable(t); err != nil {
		return err
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for old.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the previous routes still serve %d requests: %w; they are left open", old.inflight.Load(), ctx.Err())
		case <-tick.C:
		}
	}
	return old.table.Close()
}

// close frees the snapshot's caches.
func (s *serving) close() {
	for _, rs := range s.routes {
		if rs.cache != nil {
			rs.cache.close()
		}
	}
	s.closeDrift()
}

// New builds a gateway over table. It serves nothing until Serve.
func New(cfg Config, table *router.Table) (*Gateway, error) {
	return newGateway(cfg, table, nil)
}

// newGateway is New with the caches' key hash replaced (nil keeps
// ristretto's), which tests use to force collisions.
func newGateway(cfg Config, table *router.Table, cacheHash keyHasher) (*Gateway, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, metrics: metrics.NewSet(), cacheHash: cacheHash}
	var err error
	routes := make([]string, 0, len(table.Routes()))
	for _, r := range table.Routes() {
		routes = append(routes, r.Name())
	}
	if g.auth, err = auth.New(cfg.Auth, routes); err != nil {
		return nil, err
	}
	if g.feedback, err = feedback.New(cfg.Feedback); err != nil {
		return nil, err
	}
	if g.adminAuth, err = auth.NewAdmin(cfg.Auth.Admin); err != nil {
		return nil, err
	}
	g.admit = auth.NewLimiter(cfg.MaxConcurrency, cfg.MaxQueueWait)
	if g.publicTLS, err = cfg.TLS.load("server.tls"); err != nil {
		_ = g.adminAuth.Close()
		return nil, err
	}
	if g.adminTLS, err = cfg.AdminTLS.load("server.admin_tls"); err != nil {
		_ = g.adminAuth.Close()
		return nil, err
	}
	g.feedback.RegisterMetrics(g.metrics)
	g.panics = g.metrics.NewCounter("infergate_http_panics_total")
	g.authFail = g.metrics.NewCounter("infergate_auth_failures_total")
	g.limited = g.metrics.NewCounter("infergate_rate_limited_total")
	g.metrics.NewGauge("infergate_inflight_requests", func() float64 { return float64(g.admit.InFlight()) })
	g.metrics.NewGauge("infergate_admission_limit_reached_total", func() float64 { return float64(g.admit.LimitReached()) })
	g.metrics.NewGauge("infergate_admission_timeouts_total", func() float64 { return float64(g.admit.Timeouts()) })
	if g.features, err = newFeatures(&g.cfg); err != nil {
		_ = g.adminAuth.Close()
		return nil, err
	}
	metrics.RegisterSet(g.metrics)
	if _, err := g.SetTable(table); err != nil {
		metrics.UnregisterSet(g.metrics, true)
		_ = g.adminAuth.Close()
		g.closeFeatures()
		return nil, err
	}
	// Answers are compressed when the client accepts gzip or deflate
	// (fasthttp leaves bodies under 200 bytes alone), at the fastest level:
	// latency first. Not br: Triton's clients decode only those two, and
	// aiohttp, under tritonclient's asyncio client, offers br on its own.
	public := fasthttp.CompressHandlerLevel(g.recovering(g.servePublic), fasthttp.CompressBestSpeed)
	g.public = g.newServer("infergate", public, bodyLimit{"server.max_body_bytes", g.cfg.MaxBodyBytes, "send fewer or smaller rows"})
	g.admin = g.newServer("infergate-admin", g.recovering(g.serveAdmin), bodyLimit{"server.admin_max_body_bytes", g.cfg.AdminMaxBodyBytes,
		"import a larger model with `infergate registry import`"})
	return g, nil
}

// bodyLimit is a listener's request body limit, its config key and what to
// do about a body above it.
type bodyLimit struct {
	key   string
	bytes int
	hint  string
}

func (g *Gateway) newServer(name string, h fasthttp.RequestHandler, limit bodyLimit) *fasthttp.Server {
	return &fasthttp.Server{
		Name:               name,
		Handler:            h,
		ErrorHandler:       func(ctx *fasthttp.RequestCtx, err error) { g.serveTransportError(ctx, err, limit) },
		MaxRequestBodySize: limit.bytes,
		ReadBufferSize:     g.cfg.MaxHeaderBytes,
		ReadTimeout:        g.cfg.ReadTimeout,
		WriteTimeout:       g.cfg.WriteTimeout,
		IdleTimeout:        g.cfg.IdleTimeout,
		CloseOnShutdown:    true,
		Logger:             fasthttpLogger{},
	}
}

// SetTable installs a new routing table, with fresh response caches, and
// returns the previous one, which the caller closes once in-flight requests
// are done with it. A cache the table's models cannot serve (rounding a
// feature a model lacks) is an error, and the table in use stays.
func (g *Gateway) SetTable(t *router.Table) (*router.Table, error) {
	s := &serving{table: t, routes: make(map[*router.Route]*routeState, len(t.Routes())), drift: snapshotDrift{metrics: metrics.NewSet()}}
	for _, r := range t.Routes() {
		sig := &r.Target().Meta().Signature
		rs := &routeState{stats: newRouteStats(g.metrics, r.Name()), schema: oip.NewSchema(sig), trackers: g.trackers(r), features: g.routeFeaturesOf(r.Name())}
		if !r.Tabular() {
			rs.tensors = oip.NewTensorSchema(sig)
		}
		if rf := rs.features; rf != nil {
			// v2 clients may send the entity key as an input of its own.
			rs.schema = rs.schema.WithInput(rf.vf.JoinKey(), rf.vf.KeyIsString())
		}
		var err error
		if rs.drift, err = g.newRouteDrift(s, r); err != nil {
			s.close()
			return nil, err
		}
		if cc, ok := g.cfg.Caches[r.Name()]; ok && cc.Enabled {
			c, err := newRouteCache(g.metrics, r.Name(), cc, r.Target().Encoder(), g.cacheHash)
			if err != nil {
				s.close()
				return nil, err
			}
			rs.cache = c
		}
		s.routes[r] = rs
	}
	s.startDrift()
	old := g.state.Swap(s)
	if old == nil {
		return nil, nil
	}
	// Requests still on the old snapshot find its caches closed: a miss, and
	// nothing stored (routeCache orders close against them).
	old.close()
	return old.table, nil
}

// LogSecurity logs how requests are let in: API keys (or that auth is off),
// the admin token (or that the admin API is open). The command calls it at
// startup, so that an open server says so.
func (g *Gateway) LogSecurity(log *slog.Logger) {
	g.auth.LogStartup(log)
	g.adminAuth.LogStartup(log)
}

// Table is the routing table in use now (SwapTable replaces it).
func (g *Gateway) Table() *router.Table { return g.state.Load().table }

// SetReady marks whether /readyz answers 200: every configured model is
// loaded and warmed, and the gateway is not draining.
func (g *Gateway) SetReady(ready bool) { g.ready.Store(ready) }

// Handler is the public API's handler, for in-memory tests and benchmarks.
func (g *Gateway) Handler() fasthttp.RequestHandler { return g.public.Handler }

// AdminHandler is the admin API's handler.
func (g *Gateway) AdminHandler() fasthttp.RequestHandler { return g.admin.Handler }

// Serve serves the public API on public and the admin API on admin until
// Shutdown. It returns the first error of either server, or nil once both
// have stopped; called after Shutdown, it closes the listeners and returns
// nil.
func (g *Gateway) Serve(public, admin net.Listener) error {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		_, _ = public.Close(), admin.Close()
		return nil
	}
	g.listeners = append(g.listeners, public, admin)
	g.mu.Unlock()
	if g.publicTLS != nil {
		public = tls.NewListener(public, g.publicTLS)
	}
	if g.adminTLS != nil {
		admin = tls.NewListener(admin, g.adminTLS)
	}

	errs := make(chan error, 2)
	go func() { errs <- g.public.Serve(public) }()
	go func() { errs <- g.admin.Serve(admin) }()
	err := <-errs
	if err == nil {
		err = <-errs
	}
	return err
}

// Shutdown drains the gateway: readiness turns false and every response
// closes its connection, for server.shutdown_delay (or until ctx ends), so
// that load balancers and keep-alive clients go elsewhere; then the listeners
// close and Shutdown waits for in-flight requests to finish, or for ctx to
// end.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.SetReady(false)
	if !g.draining.Swap(true) && g.cfg.ShutdownDelay > 0 {
		t := time.NewTimer(g.cfg.ShutdownDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	var err error
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.stopped = true
		listeners := g.listeners
		g.mu.Unlock()
		err = errors.Join(g.public.ShutdownWithContext(ctx), g.admin.ShutdownWithContext(ctx))
		// A Serve that had not yet registered its listener with fasthttp
		// when Shutdown ran would serve forever: close them all (closing
		// one fasthttp closed already fails, harmlessly).
		for _, ln := range listeners {
			_ = ln.Close()
		}
		if err == nil {
			// No request is in flight any more.
			g.state.Load().close()
		}
		metrics.UnregisterSet(g.metrics, true)
		if cerr := g.adminAuth.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		g.closeFeatures()
	})
	return err
}

// recovering turns a panic in h into a 500 and a log line: fasthttp does not
// recover, and one bad request must never take the process down. While the
// gateway drains, it also closes each connection after its response.
func (g *Gateway) recovering(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if g.draining.Load() {
				ctx.SetConnectionClose()
			}
		}()
		defer func() {
			if p := recover(); p != nil {
				g.panics.Inc()
				requestID := string(ctx.Response.Header.Peek(headerRequestID))
				slog.Error("BUG: panic in request handler", "path", string(ctx.Path()),
					"request_id", requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				// Drop whatever the handler had written (a route header,
				// half a body); keep only the id the log line carries.
				ctx.Response.Reset()
				if requestID != "" {
					ctx.Response.Header.Set(headerRequestID, requestID)
				}
				writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "",
					"internal error; the server logged it with this request's X-Request-Id")
			}
		}()
		h(ctx)
	}
}

// serveTransportError answers errors fasthttp finds before a handler runs,
// in the error shape of the protocol the path names.
func (g *Gateway) serveTransportError(ctx *fasthttp.RequestCtx, err error, limit bodyLimit) {
	var status int
	var code, msg string
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code = fasthttp.StatusRequestEntityTooLarge, codeBodyTooLarge
		msg = fmt.Sprintf("request body is larger than %s (%d bytes); %s", limit.key, limit.bytes, limit.hint)
	case isTimeout(err):
		status, code = fasthttp.StatusRequestTimeout, codeRequestTimeout
		msg = fmt.Sprintf("the request did not arrive within server.read_timeout (%s); send it whole, or raise the limit", g.cfg.ReadTimeout)
	case isHeaderTooLarge(err):
		status, code = fasthttp.StatusRequestHeaderFieldsTooLarge, codeHeaderTooLarge
		msg = fmt.Sprintf("request headers are larger than server.max_header_bytes (%d bytes)", g.cfg.MaxHeaderBytes)
	default:
		// fasthttp's parse errors quote the raw request buffer, headers and
		// all (credentials a proxy added, say): log it, never echo it.
		slog.Debug("cannot parse an HTTP request", "component", "fasthttp", "err", err)
		status, code = fasthttp.StatusBadRequest, codeInvalidField
		msg = "cannot parse the HTTP request: its request line or a header is malformed (header values must not hold control characters)"
	}
	if isV2Path(ctx.Path()) {
		g.v2Error(ctx, status, msg)
		return
	}
	writeError(ctx, status, code, "", msg)
}

// isV2Path reports a path of the Open Inference Protocol's endpoints, whose
// errors are {"error": msg}: the paths servePublic hands to serveV2.
func isV2Path(path []byte) bool { return bytes.HasPrefix(path, v2Prefix) }

// isTimeout reports a read that timed out: a net.Error, or any error with
// a Timeout method (fasthttp's in-memory connections have no Temporary).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func isHeaderTooLarge(err error) bool {
	var small *fasthttp.ErrSmallBuffer
	return errors.As(err, &small)
}

type fasthttpLogger struct{}

func (fasthttpLogger) Printf(format string, args ...any) {
	slog.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}
