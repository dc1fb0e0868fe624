package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// TestShutdownRightAfterServe: Serve returns once Shutdown has run, however
// close together the two calls are. fasthttp's Shutdown closes only the
// listeners its Serve has registered; a Serve that had not got there yet
// used to serve forever.
func TestShutdownRightAfterServe(t *testing.T) {
	t.Parallel()
	table := servingtest.Table(t, batcher.Config{})
	f := func(serveFirst bool) {
		t.Helper()
		g, err := newTestGateway(gateway.Config{}, table)
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		serve := func() { served <- g.Serve(fasthttputil.NewInmemoryListener(), fasthttputil.NewInmemoryListener()) }
		if serveFirst {
			go serve()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if !serveFirst {
			go serve()
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("serve first %v: Serve still running 10s after Shutdown", serveFirst)
		}
	}
	for range 50 {
		f(true)
	}
	f(false)
}

// TestShutdownDelayDrains: during server.shutdown_delay the gateway still
// answers, with /readyz at 503 and every response closing its connection;
// Shutdown waits out the delay (here: until its context ends) before it
// closes the listeners.
func TestShutdownDelayDrains(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{cfg: gateway.Config{ShutdownDelay: time.Hour}})
	if r := do(t, s.public, "POST", "/v1/predictions", validBody); r.status != 200 || r.get("Connection") == "close" {
		t.Fatalf("before shutdown: status %d, Connection %q; want 200 and a kept connection", r.status, r.get("Connection"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.g.Shutdown(ctx) }()
	waitFor(t, "/readyz to answer 503", func() bool { return do(t, s.admin, "GET", "/readyz", "").status == 503 })
	r := do(t, s.public, "POST", "/v1/predictions", validBody)
	if r.status != 200 || r.get("Connection") != "close" {
		t.Errorf("while draining: status %d, Connection %q; want 200 and close", r.status, r.get("Connection"))
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned during its delay: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown after its context ended: %v", err)
	}
}

// TestReadTimeoutIs408: a client that stops half-way through its request
// gets 408 once server.read_timeout passes, not a 400 about a malformed
// request.
func TestReadTimeoutIs408(t *testing.T) {
	t.Parallel()
	g, err := newTestGateway(gateway.Config{ReadTimeout: 200 * time.Millisecond}, servingtest.Table(t, batcher.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	public, admin := fasthttputil.NewInmemoryListener(), fasthttputil.NewInmemoryListener()
	go func() { _ = g.Serve(public, admin) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	conn, err := public.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model_id\"")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("no answer after the read timeout: %v", err)
	}
	if resp.StatusCode() != fasthttp.StatusRequestTimeout || !strings.Contains(string(resp.Body()), `"request_timeout"`) {
		t.Errorf("status %d, body %s; want 408 request_timeout", resp.StatusCode(), resp.Body())
	}
}
