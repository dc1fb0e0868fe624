package gateway_test

import (
	"context"
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
