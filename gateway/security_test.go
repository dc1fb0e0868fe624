package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// Keys of the secured server: two tenants, one with a tight rate limit.
const (
	keyWeb     = "ig_test-web-key-0123456789abcdef"
	keyBatch   = "ig_test-batch-key-0123456789abcde"
	keyOther   = "ig_test-other-tenant-key-01234567"
	adminToken = "ig_test-admin-token-0123456789ab"
)

// securedServer serves two routes (customer-churn and other) behind API
// keys: tenant web may call customer-churn (burst 3, then 1 per second),
// tenant batch may call every route, tenant other only "other"; the admin
// API wants adminToken and writes its audit log into the test's folder.
func securedServer(t *testing.T) (*server, string) {
	t.Helper()
	store := servingtest.Store(t)
	opener := servingtest.GatedOpener{Env: servingtest.Env(t), Gate: servingtest.NewGate()}
	table, err := router.Load([]router.RouteConfig{
		{Name: servingtest.Route},
		{Name: "other", Model: servingtest.Route},
	}, store, opener)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = table.Close() })
	audit := filepath.Join(t.TempDir(), "audit.log")
	cfg := gateway.Config{Auth: auth.Config{
		Mode: auth.ModeKeys,
		Tenants: []auth.TenantConfig{
			{Name: "web", Routes: []string{servingtest.Route}, Rate: auth.RateConfig{RPS: 1, Burst: 3}},
			{Name: "batch", Routes: []string{auth.AllRoutes}},
			{Name: "other", Routes: []string{"other"}},
		},
		Keys: []auth.KeyConfig{
			{ID: "web-1", SHA256: auth.HashKey(keyWeb), Tenant: "web"},
			{ID: "batch-1", SHA256: auth.HashKey(keyBatch), Tenant: "batch"},
			{ID: "other-1", SHA256: auth.HashKey(keyOther), Tenant: "other"},
		},
		Admin: auth.AdminConfig{Mode: auth.ModeToken, TokenSHA256: auth.HashKey(adminToken), AuditLog: audit},
	}}
	cfg.MaxBodyBytes, cfg.MaxHeaderBytes = testMaxBodyBytes, testMaxHeaderBytes
	g, err := gateway.New(cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	return serveGateway(t, g), audit
}

func TestSecurity(t *testing.T) {
	t.Parallel()
	s, audit := securedServer(t)
	bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	other := strings.Replace(validBody, servingtest.Route, "other", 1)

	// f sends body with headers and wants status and error code; for 401
	// it wants the WWW-Authenticate challenge too.
	f := func(name, body string, status int, code string, headers ...string) reply {
		t.Helper()
		r := s.predict(t, body, headers...)
		if r.status != status {
			t.Fatalf("%s: status %d, want %d; body %s", name, r.status, status, r.body)
		}
		if code != "" {
			if e := wantError(t, r, status, code, ""); strings.Contains(e.Error.Message, "ig_test") {
				t.Errorf("%s: the message quotes a key: %s", name, e.Error.Message)
			}
		}
		if status == 401 && !strings.HasPrefix(r.get("WWW-Authenticate"), `Bearer realm="infergate"`) {
			t.Errorf("%s: WWW-Authenticate %q", name, r.get("WWW-Authenticate"))
		}
		return r
	}
	f("no key", validBody, 401, "unauthorized")
	f("wrong key", validBody, 401, "unauthorized", bearer("ig_not-a-configured-key-00000000")...)
	f("the hash sent as the key", validBody, 401, "unauthorized", bearer(auth.HashKey(keyBatch))...)
	f("basic auth", validBody, 401, "unauthorized", "Authorization", "Basic "+keyBatch)
	f("batch key, bearer", validBody, 200, "", bearer(keyBatch)...)
	f("batch key, X-API-Key", other, 200, "", "X-API-Key", keyBatch)
	f("other tenant's route", validBody, 403, "forbidden", bearer(keyOther)...)
	f("own route", other, 200, "", bearer(keyOther)...)

	// v2 answers in its own shape, with the same statuses.
	v2 := func(path string, status int, headers ...string) {
		t.Helper()
		r := do(t, s.public, "GET", path, "", headers...)
		var e struct{ Error string }
		if r.status != status || (status != 200 && (json.Unmarshal(r.body, &e) != nil || e.Error == "")) {
			t.Errorf("GET %s: %d %s, want %d", path, r.status, r.body, status)
		}
	}
	v2("/v2/models/"+servingtest.Route, 401)
	v2("/v2/models/"+servingtest.Route, 403, bearer(keyOther)...)
	v2("/v2/models/"+servingtest.Route, 200, bearer(keyBatch)...)
	v2("/v2/health/ready", 200) // probes need no key

	// Rate limit: burst 3, then 429 with a Retry-After in whole seconds.
	for i := range 3 {
		f("web within its burst "+strconv.Itoa(i), validBody, 200, "", bearer(keyWeb)...)
	}
	r := f("web over its rate", validBody, 429, "rate_limited", bearer(keyWeb)...)
	if ra, err := strconv.Atoi(r.get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q, want 1 (one token a second)", r.get("Retry-After"))
	}
	f("another key is not limited", validBody, 200, "", bearer(keyBatch)...)

	// Admin: no token 401, wrong token 401, a predictions key 401, the
	// token 200; probes open. A mutating call is audited.
	admin := func(method, path, body string, status int, headers ...string) reply {
		t.Helper()
		r := do(t, s.admin, method, path, body, headers...)
		if r.status != status {
			t.Errorf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
		}
		return r
	}
	admin("GET", "/metrics", "", 401)
	admin("GET", "/v1/routes", "", 401, bearer("ig_wrong-admin-token-00000000000")...)
	admin("GET", "/v1/models", "", 401, bearer(keyBatch)...)
	admin("GET", "/v1/models", "", 200, bearer(adminToken)...)
	admin("GET", "/debug/pprof/cmdline", "", 200, bearer(adminToken)...)
	admin("GET", "/healthz", "", 200)
	admin("GET", "/readyz", "", 200)
	admin("POST", "/v1/routes/"+servingtest.Route+"/canary", `{"weight":20}`, 409, bearer(adminToken)...)
	admin("POST", "/v1/routes/"+servingtest.Route+"/canary", `{"weight":20}`, 401)

	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("audit log: %d lines, want 1 (the authorised POST):\n%s", len(lines), data)
	}
	var e struct {
		Who, Method, Path string
		Status            int
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Who != "admin" || e.Method != fasthttp.MethodPost || e.Status != 409 ||
		!strings.HasSuffix(e.Path, "/canary") || strings.Contains(lines[0], adminToken) {
		t.Errorf("audit line %s (%v)", lines[0], err)
	}

	// Limits: oversized body 413, deep nesting 400.
	f("oversized body", `{"model_id":"x","features":{"a":"`+strings.Repeat("x", testMaxBodyBytes)+`"}}`, 413, "body_too_large", bearer(keyBatch)...)
	f("deep nesting", `{"model_id":"`+servingtest.Route+`","features":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)+`}`, 400, "invalid_json", bearer(keyBatch)...)
}

// TestSlowLorisIsCutOff: a client that sends its headers a byte at a time
// is cut off by server.read_timeout, while other clients are answered
// meanwhile.
func TestSlowLorisIsCutOff(t *testing.T) {
	t.Parallel()
	const readTimeout = 300 * time.Millisecond
	g, err := newTestGateway(gateway.Config{ReadTimeout: readTimeout}, servingtest.Table(t, batcher.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	public, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(public, adminLn) }()
	g.SetReady(true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	addr := public.Addr().String()

	loris, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer loris.Close()
	start := time.Now()
	var cutAfter time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		req := "POST /v1/predictions HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
		for i := range len(req) {
			if _, err := loris.Write([]byte{req[i]}); err != nil {
				cutAfter = time.Since(start)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	// Meanwhile, well-behaved clients are served.
	c := &fasthttp.HostClient{Addr: addr}
	served := 0
	for time.Since(start) < readTimeout {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + addr + "/v1/predictions")
		req.SetBodyString(validBody)
		if err := c.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("a client beside the slow one: %v, %d", err, resp.StatusCode())
		}
		served++
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	// The server answers the slow client 408 (or closes) once its read
	// timeout passes, and its writes start failing.
	_ = loris.SetReadDeadline(time.Now().Add(5 * time.Second))
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(loris)); err == nil && resp.StatusCode() != fasthttp.StatusRequestTimeout {
		t.Errorf("the slow client got %d, want 408 or a closed connection", resp.StatusCode())
	}
	wg.Wait()
	if cutAfter == 0 || cutAfter > 10*readTimeout {
		t.Errorf("the slow client was cut off after %s (read timeout %s)", cutAfter, readTimeout)
	}
	t.Logf("slow client cut off after %s (read timeout %s); %d requests of other clients served meanwhile", cutAfter, readTimeout, served)
}

// TestMaxFeatures: a row with more features than server.max_features is
// refused before its features are read: 400 on /v1 (per row with
// instances) and on v2.
func TestMaxFeatures(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{cfg: gateway.Config{MaxFeatures: 4}})
	e := wantError(t, s.predict(t, validBody), 400, "invalid_field", "features")
	if !strings.Contains(e.Error.Message, "server.max_features (4)") {
		t.Errorf("message %q does not name the limit", e.Error.Message)
	}
	r := s.predict(t, `{"model_id":"`+servingtest.Route+`","instances":[`+featuresObject+`,{"tenure_months":3}]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"field":"instances[0]"`) {
		t.Errorf("instances: %d %s", r.status, r.body)
	}
	in := `{"name":"x%d","shape":[1],"datatype":"FP32","data":[1]}`
	var inputs []string
	for i := range 5 {
		inputs = append(inputs, fmt.Sprintf(in, i))
	}
	r = do(t, s.public, "POST", "/v2/models/"+servingtest.Route+"/infer", `{"inputs":[`+strings.Join(inputs, ",")+`]}`)
	if r.status != 400 || !strings.Contains(string(r.body), "server.max_features") {
		t.Errorf("v2: %d %s", r.status, r.body)
	}
}
