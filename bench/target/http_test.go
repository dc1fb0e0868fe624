package target

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// seen is one request as the test server received it.
type seen struct {
	method, path, contentType, header, body string
}

// recorder is a loopback fasthttp server that records what it receives and
// answers by path: /status/404 → 404, /slow → waits until the test ends,
// anything else → 200.
type recorder struct {
	addr string
	mu   sync.Mutex
	got  []seen
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{addr: ln.Addr().String()}
	release := make(chan struct{})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		rec.mu.Lock()
		rec.got = append(rec.got, seen{
			method:      string(ctx.Method()),
			path:        string(ctx.RequestURI()),
			contentType: string(ctx.Request.Header.ContentType()),
			header:      string(ctx.Request.Header.Peek("X-Test")),
			body:        string(ctx.PostBody()),
		})
		rec.mu.Unlock()
		switch p := string(ctx.Path()); {
		case p == "/slow":
			<-release
		case strings.HasPrefix(p, "/status/"):
			code, _ := strconv.Atoi(p[len("/status/"):])
			ctx.SetStatusCode(code)
		}
		ctx.SetBodyString("ok")
	}}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		close(release)
		_ = srv.Shutdown()
		<-done
	})
	return rec
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.got...)
}

func newHTTP(t testing.TB, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestHTTPSendsRequest(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	tmpl, err := Template(`{"n":{{seq}}}`)
	if err != nil {
		t.Fatal(err)
	}
	h := newHTTP(t, HTTPConfig{
		URL:     "http://" + rec.addr + "/v1/predictions?x=1",
		Body:    tmpl,
		Headers: map[string]string{"X-Test": "yes"},
	})
	for seq := range uint64(5) {
		status, err := h.Do(context.Background(), seq)
		if err != nil || status != 200 {
			t.Fatalf("Do(%d) = %d, %v; want 200", seq, status, err)
		}
	}
	got := rec.requests()
	if len(got) != 5 {
		t.Fatalf("server saw %d requests, want 5", len(got))
	}
	for i, r := range got {
		want := seen{method: "POST", path: "/v1/predictions?x=1", contentType: "application/json", header: "yes",
			body: `{"n":` + strconv.Itoa(i) + `}`}
		if r != want {
			t.Errorf("request %d = %+v, want %+v", i, r, want)
		}
	}

	// A GET without a body, a PUT with a fixed one and its own type.
	get := newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/healthz"})
	put := newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/put", Method: "PUT", Body: Fixed([]byte("a,b")), ContentType: "text/csv"})
	for _, h := range []*HTTP{get, put} {
		if status, err := h.Do(context.Background(), 0); err != nil || status != 200 {
			t.Fatalf("Do = %d, %v; want 200", status, err)
		}
	}
	got = rec.requests()[5:]
	want := []seen{{method: "GET", path: "/healthz"}, {method: "PUT", path: "/put", contentType: "text/csv", body: "a,b"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHTTPStatusesAndErrors(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	for _, code := range []int{200, 404, 429, 500, 503} {
		h := newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/status/" + strconv.Itoa(code), Body: Fixed([]byte("{}"))})
		if status, err := h.Do(context.Background(), 0); err != nil || status != code {
			t.Errorf("status %d: Do = %d, %v; want %d and no error", code, status, err, code)
		}
	}

	// Timeout: the server never answers within it.
	slow := newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/slow", Timeout: 50 * time.Millisecond})
	if _, err := slow.Do(context.Background(), 0); !errors.Is(err, fasthttp.ErrTimeout) {
		t.Errorf("slow server: Do error %v, want fasthttp.ErrTimeout", err)
	}
	// A context deadline sooner than the timeout takes its place.
	slow = newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/slow", Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := slow.Do(ctx, 0); !errors.Is(err, fasthttp.ErrTimeout) {
		t.Errorf("slow server, context deadline: Do error %v, want fasthttp.ErrTimeout", err)
	}
	// A context already done: nothing is sent.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	before := len(rec.requests())
	ok := newHTTP(t, HTTPConfig{URL: "http://" + rec.addr + "/"})
	if _, err := ok.Do(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: Do error %v, want context.Canceled", err)
	}
	if n := len(rec.requests()); n != before {
		t.Errorf("cancelled context: the server saw %d requests, want none", n-before)
	}

	// Connection refused: a port nobody listens on any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	refused := newHTTP(t, HTTPConfig{URL: "http://" + addr + "/"})
	status, err := refused.Do(context.Background(), 0)
	if err == nil {
		t.Fatalf("closed port: Do = %d, nil; want an error", status)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: error %q, want connection refused", err)
	}
}

func TestNewHTTPErrors(t *testing.T) {
	t.Parallel()
	f := func(cfg HTTPConfig, want string) {
		t.Helper()
		if _, err := NewHTTP(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewHTTP(%+v): error %v, want %q", cfg, err, want)
		}
	}
	f(HTTPConfig{}, "the scheme must be http or https")
	f(HTTPConfig{URL: "ftp://x/"}, "the scheme must be http or https")
	f(HTTPConfig{URL: "http:///path"}, "no host")
	f(HTTPConfig{URL: "http://a b/"}, "URL")
	f(HTTPConfig{URL: "http://x/", Timeout: -1}, "Timeout: must be >= 0")
	f(HTTPConfig{URL: "http://x/", MaxConns: -1}, "MaxConns: must be >= 0")
}

func TestHTTPAgainstFixedServer(t *testing.T) {
	t.Parallel()
	body := []byte(`{"prediction":"low_risk"}` + "\n")
	srv, err := StartFixedServer("127.0.0.1:0", body)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})

	// What the server answers, read with a plain client.
	var resp fasthttp.Response
	var req fasthttp.Request
	req.SetRequestURI("http://" + srv.Addr() + "/anything")
	req.Header.SetMethod("DELETE")
	if err := fasthttp.DoTimeout(&req, &resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != string(body) || string(resp.Header.ContentType()) != "application/json" {
		t.Errorf("fixed server answered %d %q %s, want 200 application/json %s", resp.StatusCode(), resp.Header.ContentType(), resp.Body(), body)
	}

	// Many concurrent callers, fewer connections than callers: all 200.
	h := newHTTP(t, HTTPConfig{URL: "http://" + srv.Addr() + "/v1/predictions", Body: Fixed([]byte(`{"a":1}`)), MaxConns: 4})
	var wg sync.WaitGroup
	statuses := make(chan int, 16*50)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				status, err := h.Do(context.Background(), uint64(g*50+i))
				if err != nil {
					t.Error(err)
					return
				}
				statuses <- status
			}
		})
	}
	wg.Wait()
	close(statuses)
	n := 0
	for s := range statuses {
		n++
		if s != 200 {
			t.Errorf("status %d, want 200", s)
		}
	}
	if n != 16*50 {
		t.Errorf("%d answers, want %d", n, 16*50)
	}
}

func TestFixedServerClose(t *testing.T) {
	t.Parallel()
	srv, err := StartFixedServer("127.0.0.1:0", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	// Close at once, before Serve may have started, then again.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %s", err)
	}
	h := newHTTP(t, HTTPConfig{URL: "http://" + srv.Addr() + "/"})
	if _, err := h.Do(context.Background(), 0); err == nil {
		t.Error("Do after Close: no error, want connection refused")
	}
	if _, err := StartFixedServer("256.0.0.1:0", nil); err == nil {
		t.Error("StartFixedServer on a bad address: no error")
	}
}

func TestFixedServerAnswering(t *testing.T) {
	t.Parallel()
	// A failing dependency: the status is served with the body.
	failing, err := StartFixedServerAnswering("127.0.0.1:0", []byte(`{"error":"x"}`), FixedAnswer{Status: 500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = failing.Close() })
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI("http://" + failing.Addr() + "/")
	if err := fasthttp.DoTimeout(&req, &resp, 5*time.Second); err != nil || resp.StatusCode() != 500 || string(resp.Body()) != `{"error":"x"}` {
		t.Fatalf("failing server: %v, %d %s; want 500 and the body", err, resp.StatusCode(), resp.Body())
	}

	// A hung dependency: the client gives up at its timeout, and Close
	// ends the wait at once rather than after the delay.
	hung, err := StartFixedServerAnswering("127.0.0.1:0", []byte("{}"), FixedAnswer{Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	req.SetRequestURI("http://" + hung.Addr() + "/")
	if err := fasthttp.DoTimeout(&req, &resp, 50*time.Millisecond); !errors.Is(err, fasthttp.ErrTimeout) {
		t.Fatalf("hung server: %v, want a client timeout", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- hung.Close() }()
	select {
	case <-closed:
	case <-time.After(fixedServerShutdownTimeout - time.Second):
		t.Fatal("Close waited for the delayed answer")
	}
}

func TestRequestErrorDropsAddresses(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset by peer")
	err := requestError(&net.OpError{Op: "read", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53412},
		Addr:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, Err: cause})
	if err.Error() != "read tcp: connection reset by peer" || !errors.Is(err, cause) {
		t.Errorf("requestError = %q, want %q wrapping the cause", err, "read tcp: connection reset by peer")
	}
	if plain := errors.New("timeout"); requestError(plain) != plain { //nolint:errorlint // identity: the very same error value must come back
		t.Error("requestError changed an error without addresses")
	}
}
