package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Limits of the test servers, small enough to cross cheaply.
const (
	testMaxBodyBytes   = 8 << 10
	testMaxHeaderBytes = 4 << 10
)

// validBody is a prediction request for the demo model with every feature.
const validBody = `{"model_id":"customer-churn","features":{"customer_id":"C000001","tenure_months":3,` +
	`"monthly_charges":89.5,"total_charges":268.5,"contract":"month-to-month","support_calls":4,` +
	`"payment_method":"electronic-check","paperless_billing":"yes"}}`

// bodyFor is validBody addressed to route.
func bodyFor(route string) string {
	return strings.Replace(validBody, `"customer-churn"`, `"`+route+`"`, 1)
}

// options configure a test server; the zero value serves the demo route,
// ready, with one instance.
type options struct {
	route    string // default servingtest.Route
	batching batcher.Config
	cfg      gateway.Config
	notReady bool
	// cacheHash, when set, replaces the response caches' key hash.
	cacheHash func([]byte) (uint64, uint64)
}

// server is a gateway over the real serving stack (servingtest.GatedTable),
// serving both APIs on in-memory listeners through gateway.Serve.
type server struct {
	g      *gateway.Gateway
	table  *router.Table
	gate   *servingtest.Gate
	route  string
	public *fasthttp.HostClient
	admin  *fasthttp.HostClient
}

func newServer(tb testing.TB, o options) *server {
	tb.Helper()
	if o.route == "" {
		o.route = servingtest.Route
	}
	table, gate := servingtest.GatedTable(tb, router.RouteConfig{Name: o.route, Batching: o.batching})
	cfg := o.cfg
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = testMaxBodyBytes
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = testMaxHeaderBytes
	}
	if cfg.Timeout == 0 {
		// Generous: a test that wants a deadline to pass asks for one.
		cfg.Timeout, cfg.MaxTimeout = 30*time.Second, time.Minute
	}
	g, err := gateway.NewWithCacheHash(withTestAuth(cfg), table, o.cacheHash)
	if err != nil {
		tb.Fatal(err)
	}
	s := serveGateway(tb, g)
	// Registered after serveGateway's cleanup, so it runs first (cleanups
	// run last-in, first-out): released before Shutdown waits for
	// in-flight requests.
	tb.Cleanup(gate.Release)
	if o.notReady {
		g.SetReady(false)
	}
	s.table, s.gate, s.route = table, gate, o.route
	return s
}

// serveGateway serves g, ready, on in-memory listeners until the test ends.
func serveGateway(tb testing.TB, g *gateway.Gateway) *server {
	tb.Helper()
	publicLn, adminLn := fasthttputil.NewInmemoryListener(), fasthttputil.NewInmemoryListener()
	served := make(chan error, 1)
	go func() { served <- g.Serve(publicLn, adminLn) }()
	g.SetReady(true)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return &server{g: g, route: servingtest.Route, public: client(publicLn), admin: client(adminLn)}
}

func client(ln *fasthttputil.InmemoryListener) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:     "infergate.test",
		Dial:     func(string) (net.Conn, error) { return ln.Dial() },
		MaxConns: 1024,
		// Requests go out in one write: a server that answers 413 or 431
		// and closes before the end of the request would otherwise fail
		// the client's next write rather than let it read the answer.
		WriteBufferSize: 4 * testMaxBodyBytes,
		ReadTimeout:     time.Minute,
		WriteTimeout:    time.Minute,
	}
}

// reply is a response, copied out of fasthttp's pooled objects.
type reply struct {
	status int
	header map[string][]string // canonical names
	body   []byte
}

func (r *reply) get(name string) string {
	if v := r.header[textproto.CanonicalMIMEHeaderKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// errorBody is the JSON error every non-2xx answer carries.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// prediction is the JSON of a 200 answer.
type prediction struct {
	ModelID      string   `json:"model_id"`
	Prediction   string   `json:"prediction"`
	Probability  *float64 `json:"probability"`
	ModelVersion string   `json:"model_version"`
	LatencyMS    *float64 `json:"latency_ms"`
	RequestID    string   `json:"request_id"`
	Route        string   `json:"route"`
	Target       string   `json:"target"`
	Fallback     bool     `json:"fallback"`
	Reason       string   `json:"fallback_reason"`
	Cached       bool     `json:"cached"`
}

// do sends one request; headers are name, value pairs.
func do(tb testing.TB, c *fasthttp.HostClient, method, path, body string, headers ...string) reply {
	tb.Helper()
	r, err := send(c, method, path, body, headers...)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do for goroutines other than the test's, which must not call
// Fatal: it returns the transport error.
func send(c *fasthttp.HostClient, method, path, body string, headers ...string) (reply, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://infergate.test" + path)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if err := c.Do(req, resp); err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...), header: map[string][]string{}}
	for k, v := range resp.Header.All() {
		name := textproto.CanonicalMIMEHeaderKey(string(k))
		r.header[name] = append(r.header[name], string(v))
	}
	return r, nil
}

func (s *server) predict(tb testing.TB, body string, headers ...string) reply {
	tb.Helper()
	return do(tb, s.public, fasthttp.MethodPost, "/v1/predictions", body, headers...)
}

// decode parses r's body as JSON into v, failing the test when it is not
// JSON of that shape.
func decode(tb testing.TB, r reply, v any) {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("status %d: body %q is not the expected JSON: %v", r.status, r.body, err)
	}
}

// waitFor polls cond until it holds, failing the test after a bound far
// above what it should take: it replaces a sleep that guesses.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// loadTable loads routes over store, opening models with opener (a
// *servingtest.Gates to fail or hold versions). The table closes when the
// test ends, after every cleanup registered later: a gateway's Shutdown, a
// gate's release.
func loadTable(tb testing.TB, store *registry.Store, opener router.Opener, routes ...router.RouteConfig) *router.Table {
	tb.Helper()
	table, err := router.Load(routes, store, opener)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := table.Close(); err != nil {
			tb.Errorf("closing the table: %v", err)
		}
	})
	return table
}

// releaseGates releases every gate of gates when the test ends, before
// whatever was registered earlier: call it after loadTable, so that a batch
// held at a gate cannot stall the table's drain (NewGates's own release is
// registered before any table it opens, so it runs after that table's
// Close).
func releaseGates(tb testing.TB, gates *servingtest.Gates) {
	tb.Helper()
	tb.Cleanup(gates.Release)
}

// serveTable serves table through a gateway with the test limits, ready,
// on in-memory listeners; it shuts down before the table closes.
func serveTable(tb testing.TB, table *router.Table, cfg gateway.Config) *server {
	tb.Helper()
	cfg.MaxBodyBytes, cfg.MaxHeaderBytes = testMaxBodyBytes, testMaxHeaderBytes
	if cfg.Timeout == 0 {
		cfg.Timeout, cfg.MaxTimeout = 30*time.Second, time.Minute
	}
	g, err := newTestGateway(cfg, table)
	if err != nil {
		tb.Fatal(err)
	}
	s := serveGateway(tb, g)
	s.table = table
	return s
}

// burst sends n requests from workers goroutines at once; body(i) is the
// i-th request's body. It returns the replies in request order, failing the
// test on a transport error.
func burst(tb testing.TB, c *fasthttp.HostClient, n, workers int, body func(i int) string) []reply {
	tb.Helper()
	replies := make([]reply, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, err := send(c, fasthttp.MethodPost, "/v1/predictions", body(i))
				if err != nil {
					tb.Errorf("request %d: %v", i, err)
					return
				}
				replies[i] = r
			}
		})
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	return replies
}

// ptr returns a pointer to v, for the config's optional numbers.
func ptr[T any](v T) *T { return &v }

// newTestGateway is gateway.New with auth and the admin token off and the
// audit log on stderr, unless cfg says otherwise: tests of other things need
// no keys, and must not write var/audit.log into the package folder.
func newTestGateway(cfg gateway.Config, table *router.Table) (*gateway.Gateway, error) {
	return gateway.New(withTestAuth(cfg), table)
}

func withTestAuth(cfg gateway.Config) gateway.Config {
	if cfg.Auth.Mode == "" {
		cfg.Auth.Mode = auth.ModeOff
	}
	if cfg.Auth.Admin.Mode == "" {
		cfg.Auth.Admin.Mode = auth.ModeOff
	}
	if cfg.Auth.Admin.AuditLog == "" {
		cfg.Auth.Admin.AuditLog = "-"
	}
	return cfg
}
