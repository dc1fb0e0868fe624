package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// Reloader watches the registry and swaps the gateway's routes, blue-green,
// when a route's versions change (a new version behind an alias, a moved
// alias): the new table is loaded and warmed beside the old one, swapped in
// atomically, and the old one is closed once its in-flight requests are
// done. A table that fails to load is refused with a log line, and the old
// one keeps serving; the same registry state is not tried again.
type Reloader struct {
	g      *Gateway
	routes []router.RouteConfig
	store  *registry.Store
	opener router.Opener
	log    *slog.Logger

	current string // the fingerprint being served
	refused string // the last fingerprint that failed to load
	lastErr string // the last error Run logged, so that it logs each once
}

// NewReloader returns a reloader of g's routes, which serve what
// fingerprint says (router.Fingerprint at the time they were loaded).
func NewReloader(g *Gateway, routes []router.RouteConfig, store *registry.Store, opener router.Opener, fingerprint string, log *slog.Logger) *Reloader {
	return &Reloader{g: g, routes: routes, store: store, opener: opener, log: log, current: fingerprint}
}

// Check polls the registry once and swaps the routes when they changed. It
// reports whether it swapped. Run calls it on a ticker; tests call it
// directly.
func (r *Reloader) Check(ctx context.Context) (bool, error) {
	fp, err := router.Fingerprint(r.routes, r.store)
	if err != nil {
		return false, fmt.Errorf("registry watch: %w; the current routes keep serving", err)
	}
	if fp == r.current || fp == r.refused {
		return false, nil
	}
	start := time.Now()
	table, err := router.Load(r.routes, r.store, r.opener)
	if err != nil {
		r.refused = fp
		return false, fmt.Errorf("refusing the registry's new versions: %w; the current routes keep serving", err)
	}
	if err := r.g.SwapTable(ctx, table); err != nil {
		_ = table.Close()
		r.refused = fp
		return false, fmt.Errorf("refusing the registry's new versions: %w; the current routes keep serving", err)
	}
	r.current, r.refused = fp, ""
	for _, rt := range table.Routes() {
		r.log.Info("route swapped", "route", rt.Name(), "model", rt.Target().Name(), "version", rt.Target().Version(),
			"ref", rt.Ref(), "took", time.Since(start).Round(time.Millisecond))
	}
	return true, nil
}

// Run checks every interval until ctx ends, logging what it refuses.
func (r *Reloader) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_, err := r.Check(ctx)
			switch {
			case err != nil && err.Error() != r.lastErr:
				r.log.Error(err.Error())
				r.lastErr = err.Error()
			case err == nil:
				r.lastErr = ""
			}
		}
	}
}
