package gateway

import "github.com/valyala/fasthttp"

// Recovering exposes the recovering wrapper of every handler, so tests can
// put a panicking handler behind it.
func (g *Gateway) Recovering(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return g.recovering(h)
}
