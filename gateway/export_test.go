package gateway

import (
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// NewWithCacheHash is New with every response cache keyed by hash instead
// of ristretto's, so that a test can make different requests collide.
func NewWithCacheHash(cfg Config, table *router.Table, hash func([]byte) (uint64, uint64)) (*Gateway, error) {
	return newGateway(cfg, table, hash)
}

// Recovering exposes the recovering wrapper of every handler, so tests can
// put a panicking handler behind it.
func (g *Gateway) Recovering(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return g.recovering(h)
}
