package gateway

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// modelsPath is the admin API's model list; a route's monitoring is under
// modelsPath/NAME/: drift.
const modelsPath = "/v1/models"

// serveModel answers the endpoints under /v1/models/; rest is the path after
// that prefix: NAME/drift.
func (g *Gateway) serveModel(ctx *fasthttp.RequestCtx, rest string) {
	name, sub, _ := strings.Cut(rest, "/")
	if name == "" || sub != "drift" {
		adminNotFound(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, fasthttp.MethodGet)
		return
	}
	route := g.state.Load().table.Lookup([]byte(name))
	if route == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "",
			"unknown model "+strconv.Quote(name)+"; GET "+modelsPath+" lists the models served")
		return
	}
	g.serveDrift(ctx, route)
}

// serveDrift answers GET /v1/models/{route}/drift: the drift report of each
// monitored version the route serves, computed now.
func (g *Gateway) serveDrift(ctx *fasthttp.RequestCtx, route *router.Route) {
	versions, err := route.DriftReport(time.Now())
	if errors.Is(err, router.ErrNoDriftProfile) {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "",
			"model "+strconv.Quote(route.Name())+" serves no version with a drift reference profile "+
				"(infergate train stores one with each version), or routes[].drift.disabled is set for it")
		return
	}
	writeJSON(ctx, struct {
		Route    string                `json:"route"`
		Versions []router.VersionDrift `json:"versions"`
	}{route.Name(), versions}, "the drift report")
}
