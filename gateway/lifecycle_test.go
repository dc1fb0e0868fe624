package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
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
		g, err := gateway.New(gateway.Config{}, table)
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
