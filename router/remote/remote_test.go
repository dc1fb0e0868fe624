package remote_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
)

// Remotes on loopback: real fasthttp servers on 127.0.0.1 that answer as an
// infergate's /v1/predictions or a v2 server's infer endpoint would.

// testTimeout is the deadline of calls that are expected to succeed: long,
// so that a slow (race-instrumented) run does not fail them.
const testTimeout = 10 * time.Second

// server is a remote on a loopback port that records the requests it gets.
type server struct {
	url string
	ln  *trackingListener
	srv *fasthttp.Server
	// record: keep a copy of each request (which allocates: benchmarks
	// turn it off to count the client's allocations alone).
	record bool

	mu   sync.Mutex
	reqs []*fasthttp.Request
}

// serve starts a server answering with h on a free loopback port.
func serve(tb testing.TB, h fasthttp.RequestHandler) *server {
	tb.Helper()
	return listen(tb, h, true)
}

func listen(tb testing.TB, h fasthttp.RequestHandler, record bool) *server {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{url: "http://" + ln.Addr().String(), record: record}
	s.start(tb, ln, h)
	return s
}

func (s *server) start(tb testing.TB, ln net.Listener, h fasthttp.RequestHandler) {
	s.ln = &trackingListener{Listener: ln}
	s.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if s.record {
			req := new(fasthttp.Request)
			ctx.Request.CopyTo(req)
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.mu.Unlock()
		}
		h(ctx)
	}}
	srv := s.srv
	go func() { _ = srv.Serve(s.ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
}

// last is the latest request the server got.
func (s *server) last(tb testing.TB) *fasthttp.Request {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		tb.Fatal("the server got no request")
	}
	return s.reqs[len(s.reqs)-1]
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// trackingListener remembers the connections it accepted, so that a test
// can drop them as a crashing remote would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// dropConns closes every connection accepted so far, idle or not.
func (l *trackingListener) dropConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// kill stops the server the way a crash does: no new connections, and the
// open ones closed without a goodbye.
func (s *server) kill() {
	_ = s.ln.Close()
	s.ln.dropConns()
}

// restart serves h again on the port of a killed server. Rebinding the
// port can briefly fail while the kernel tears the old sockets down, so it
// is retried until a deadline.
func (s *server) restart(tb testing.TB, h fasthttp.RequestHandler) {
	tb.Helper()
	addr := strings.TrimPrefix(s.url, "http://")
	stop := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp4", addr)
		if err == nil {
			s.start(tb, ln, h)
			return
		}
		if time.Now().After(stop) {
			tb.Fatalf("cannot listen on %s again: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// infergate answers as an infergate serving one route, "churn", whose
// probability is tenure_months/100 and whose label is "churn" from 0.5 on.
// Its errors have the gateway's shape.
func infergate(ctx *fasthttp.RequestCtx) {
	var req struct {
		ModelID  *string        `json:"model_id"`
		Features map[string]any `json:"features"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		gatewayError(ctx, fasthttp.StatusBadRequest, "invalid_json", "request body is not valid JSON: "+err.Error())
		return
	}
	if req.ModelID == nil || *req.ModelID != "churn" {
		gatewayError(ctx, fasthttp.StatusNotFound, "model_not_found", "unknown model; GET /v1/models on the admin port lists the models served")
		return
	}
	tenure, ok := req.Features["tenure_months"].(float64)
	if !ok {
		gatewayError(ctx, fasthttp.StatusBadRequest, "missing_feature", `feature "tenure_months" is required`)
		return
	}
	p := tenure / 100
	label := "stay"
	if p >= 0.5 {
		label = "churn"
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(fmt.Sprintf(`{"model_id":"churn","prediction":%q,"probability":%v,"model_version":"1.2.0","latency_ms":0.4,"request_id":"abc","route":"churn"}`+"\n", label, p))
}

func gatewayError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	ctx.SetBody(b)
}

// v2 answers as an Open Inference Protocol server whose model "churn"
// (version 3) outputs two tensors: "probability", the mean of the input row,
// and "label", its rounding.
func v2(ctx *fasthttp.RequestCtx) {
	var req struct {
		Inputs []struct {
			Name     string    `json:"name"`
			Shape    []int     `json:"shape"`
			Datatype string    `json:"datatype"`
			Data     []float64 `json:"data"`
		} `json:"inputs"`
	}
	path := string(ctx.Path())
	if path != "/v2/models/churn/infer" && path != "/v2/models/churn/versions/3/infer" {
		v2Error(ctx, fasthttp.StatusNotFound, "Request for unknown model: '"+path+"' is not found")
		return
	}
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		v2Error(ctx, fasthttp.StatusBadRequest, "failed to parse the request JSON buffer: "+err.Error())
		return
	}
	if len(req.Inputs) != 1 || req.Inputs[0].Datatype != "FP32" || len(req.Inputs[0].Shape) != 2 ||
		req.Inputs[0].Shape[0] != 1 || req.Inputs[0].Shape[1] != len(req.Inputs[0].Data) || len(req.Inputs[0].Data) == 0 {
		v2Error(ctx, fasthttp.StatusBadRequest, "unexpected inputs")
		return
	}
	var sum float64
	for _, x := range req.Inputs[0].Data {
		sum += x
	}
	mean := sum / float64(len(req.Inputs[0].Data))
	ctx.SetContentType("application/json")
	ctx.SetBodyString(fmt.Sprintf(`{"model_name":"churn","model_version":"3","id":"1","outputs":[`+
		`{"name":"label","shape":[1,1],"datatype":"INT64","data":[%d]},`+
		`{"name":"probability","shape":[1,1],"datatype":"FP32","data":[%v]}]}`, int(mean+0.5), float32(mean)))
}

func v2Error(ctx *fasthttp.RequestCtx, status int, message string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(map[string]string{"error": message})
	ctx.SetBody(b)
}

// answer is a handler that answers status with body.
func answer(status int, body string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		ctx.SetBodyString(body)
	}
}

// newClient is remote.New that fails the test on error and closes the
// client when the test ends.
func newClient(tb testing.TB, cfg remote.Config) *remote.Client {
	tb.Helper()
	c, err := remote.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func deadline() time.Time { return time.Now().Add(testTimeout) }
