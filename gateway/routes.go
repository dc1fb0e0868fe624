package gateway

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// routesPath is the admin API's route list; one route is routesPath/NAME,
// its canary routesPath/NAME/canary and its shadow report
// routesPath/NAME/shadow. Route names hold no slash (router.Validate).
const routesPath = "/v1/routes"

// routeStatus is one entry of GET /v1/routes, and the answer of
// GET /v1/routes/{name}.
type routeStatus struct {
	Name string `json:"name"`
	// Ref is the registry reference the primary was configured with.
	Ref       string               `json:"ref"`
	Primary   primaryStatus        `json:"primary"`
	Targets   []targetStatus       `json:"targets"`
	Fallbacks []string             `json:"fallbacks"`
	Canary    *router.CanaryStatus `json:"canary"`
	Shadow    *shadowSummary       `json:"shadow"`
}

type primaryStatus struct {
	Model   string `json:"model"`
	Version string `json:"version"`
}

type targetStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Model and Version are a model target's registry version.
	Model   string              `json:"model,omitempty"`
	Version string              `json:"version,omitempty"`
	Breaker router.BreakerState `json:"breaker"`
}

// shadowSummary is what GET /v1/routes says of a route's shadow; the full
// comparison is GET /v1/routes/{name}/shadow.
type shadowSummary struct {
	Targets  []string `json:"targets"`
	Mirrored uint64   `json:"mirrored"`
	Dropped  uint64   `json:"dropped"`
	Skipped  uint64   `json:"skipped"`
}

func newRouteStatus(r *router.Route) routeStatus {
	m := r.Target()
	st := routeStatus{
		Name:      r.Name(),
		Ref:       r.Ref(),
		Primary:   primaryStatus{Model: m.Name(), Version: m.Version()},
		Targets:   make([]targetStatus, 0, len(r.Targets())),
		Fallbacks: make([]string, 0, len(r.Fallbacks())),
		Canary:    r.Canary(),
	}
	for _, t := range r.Targets() {
		ts := targetStatus{Name: t.Name(), Kind: t.Kind().String(), Breaker: t.Breaker()}
		if tm := t.Model(); tm != nil {
			ts.Model, ts.Version = tm.Name(), tm.Version()
		}
		st.Targets = append(st.Targets, ts)
	}
	for _, t := range r.Fallbacks() {
		st.Fallbacks = append(st.Fallbacks, t.Name())
	}
	if rep := r.ShadowReport(0); rep != nil {
		st.Shadow = &shadowSummary{Targets: make([]string, 0, len(rep.Targets)), Mirrored: rep.Mirrored, Dropped: rep.Dropped, Skipped: rep.Skipped}
		for i := range rep.Targets {
			st.Shadow.Targets = append(st.Shadow.Targets, rep.Targets[i].Target)
		}
	}
	return st
}

// serveRoutes answers GET /v1/routes: every route of the current table, in
// name order.
func (g *Gateway) serveRoutes(ctx *fasthttp.RequestCtx) {
	routes := g.state.Load().table.Routes()
	out := struct {
		Routes []routeStatus `json:"routes"`
	}{Routes: make([]routeStatus, 0, len(routes))}
	for _, r := range routes {
		out.Routes = append(out.Routes, newRouteStatus(r))
	}
	writeJSON(ctx, out, "the route list")
}

// serveRoute answers the endpoints under /v1/routes/; rest is the path
// after that prefix: NAME, NAME/canary or NAME/shadow.
func (g *Gateway) serveRoute(ctx *fasthttp.RequestCtx, rest string) {
	name, sub, slash := strings.Cut(rest, "/")
	if sub == "canary" {
		if !ctx.IsPost() {
			methodNotAllowed(ctx, fasthttp.MethodPost)
			return
		}
	} else if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, fasthttp.MethodGet)
		return
	}
	if name == "" || (slash && sub != "canary" && sub != "shadow") {
		adminNotFound(ctx)
		return
	}
	route := g.state.Load().table.Lookup([]byte(name))
	if route == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "",
			"unknown route "+strconv.Quote(name)+"; GET "+routesPath+" lists the routes served")
		return
	}
	switch sub {
	case "":
		writeJSON(ctx, newRouteStatus(route), "the route's status")
	case "canary":
		serveCanary(ctx, route)
	case "shadow":
		serveShadow(ctx, route)
	}
}

// canaryBodyHelp is the shape of a POST /v1/routes/{name}/canary body, for
// error messages.
const canaryBodyHelp = `send {"weight": PERCENT} to set the candidate's share (which stops the analysis) or {"analysis": "restart"} to start the analysis again from its first step`

// serveCanary answers POST /v1/routes/{name}/canary with the canary's new
// status.
func serveCanary(ctx *fasthttp.RequestCtx, route *router.Route) {
	if route.Canary() == nil {
		writeError(ctx, fasthttp.StatusConflict, codeNotConfigured, "",
			"route "+strconv.Quote(route.Name())+" has no canary; add routes["+route.Name()+"].canary (a candidate target and its weight) to the config and reload")
		return
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(ctx.PostBody())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "",
			"request body is not valid JSON ("+err.Error()+"); "+canaryBodyHelp)
		return
	}
	obj, err := v.Object()
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "",
			"request body must be a JSON object, got "+v.Type().String()+"; "+canaryBodyHelp)
		return
	}
	var weight, analysis *fastjson.Value
	unknown := ""
	obj.Visit(func(key []byte, v *fastjson.Value) {
		switch string(key) {
		case "weight":
			weight = v
		case "analysis":
			analysis = v
		default:
			if unknown == "" {
				unknown = string(key)
			}
		}
	})
	switch {
	case unknown != "":
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, unknown,
			"unknown field "+strconv.Quote(unknown)+"; "+canaryBodyHelp)
		return
	case weight != nil && analysis != nil:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "weight",
			"set weight or analysis, not both: a weight set by hand stops the analysis")
		return
	case weight != nil:
		w, err := weight.Float64()
		if err != nil || !(w >= 0 && w <= 100) {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "weight",
				"weight must be a percentage from 0 to 100, such as 20, got "+string(weight.MarshalTo(nil)))
			return
		}
		if err := route.SetCanaryWeight(w); err != nil {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "weight", err.Error())
			return
		}
		slog.Info("canary weight set by the admin API; its analysis, if any, stops",
			"route", route.Name(), "weight_percent", w, "remote_addr", ctx.RemoteAddr().String())
	case analysis != nil:
		if s, err := analysis.StringBytes(); err != nil || string(s) != "restart" {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "analysis",
				`analysis takes "restart" only (start the analysis again from its first step), got `+string(analysis.MarshalTo(nil)))
			return
		}
		if err := route.RestartCanaryAnalysis(); err != nil {
			// The canary exists (checked above): it has no analysis, or
			// nothing to analyse.
			writeError(ctx, fasthttp.StatusConflict, codeNotConfigured, "",
				err.Error()+"; or set its weight by hand instead")
			return
		}
		slog.Info("canary analysis restarted by the admin API",
			"route", route.Name(), "remote_addr", ctx.RemoteAddr().String())
	default:
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "weight",
			"the body names no change; "+canaryBodyHelp)
		return
	}
	writeJSON(ctx, route.Canary(), "the canary status")
}

// serveShadow answers GET /v1/routes/{name}/shadow[?window=DURATION].
func serveShadow(ctx *fasthttp.RequestCtx, route *router.Route) {
	var window time.Duration
	if a := ctx.QueryArgs(); a.Has("window") {
		raw := string(a.Peek("window"))
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "query.window",
				"window must be a positive duration such as 5m (figures are kept per minute for the last hour), got "+
					strconv.Quote(raw)+"; leave it out for the figures since start")
			return
		}
		window = d
	}
	rep := route.ShadowReport(window)
	if rep == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "",
			"route "+strconv.Quote(route.Name())+" mirrors no traffic; add routes["+route.Name()+"].shadow (the targets to mirror to) to the config and reload")
		return
	}
	writeJSON(ctx, rep, "the shadow report")
}
