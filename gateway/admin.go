package gateway

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/registry"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"
)

// servePublic dispatches the public API.
func (g *Gateway) servePublic(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/v1/predictions":
		if !ctx.IsPost() {
			methodNotAllowed(ctx, fasthttp.MethodPost)
			return
		}
		g.servePredictions(ctx)
	case feedbackPath:
		g.serveFeedback(ctx)
	case "/healthz":
		serveLive(ctx)
	case "/readyz":
		g.serveReady(ctx)
	default:
		if isV2Path(ctx.Path()) {
			g.serveV2(ctx)
			return
		}
		notFound(ctx)
	}
}

// serveAdmin dispatches the admin API, which listens on its own address so
// that it can stay off the public network. Every endpoint is GET (or HEAD)
// but POST /v1/routes/{name}/canary and the registry's actions; every call
// that changes something is written to the audit log.
func (g *Gateway) serveAdmin(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	// Probes stay open; everything else needs the admin token.
	if path != "/healthz" && path != "/readyz" && !g.adminAllowed(ctx) {
		return
	}
	if rest, ok := strings.CutPrefix(path, routesPath+"/"); ok {
		g.serveRoute(ctx, rest)
		if ctx.IsPost() {
			g.audit(ctx)
		}
		return
	}
	if rest, ok := strings.CutPrefix(path, registryPath); ok && (rest == "" || rest[0] == '/') {
		if g.serveRegistry(ctx, rest) {
			g.audit(ctx)
		}
		return
	}
	if rest, ok := strings.CutPrefix(path, modelsPath+"/"); ok {
		g.serveModel(ctx, rest)
		return
	}
	if strings.HasPrefix(path, "/debug/pprof/") {
		pprofhandler.PprofHandler(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, fasthttp.MethodGet)
		return
	}
	switch path {
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		metrics.WritePrometheus(ctx, true)
	case modelsPath:
		g.serveModels(ctx)
	case routesPath:
		g.serveRoutes(ctx)
	case devicesPath:
		g.serveDevices(ctx)
	case "/healthz":
		serveLive(ctx)
	case "/readyz":
		g.serveReady(ctx)
	default:
		adminNotFound(ctx)
	}
}

func serveLive(ctx *fasthttp.RequestCtx) {
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.SetBodyString(`{"status":"live"}` + "\n")
}

func (g *Gateway) serveReady(ctx *fasthttp.RequestCtx) {
	if !g.ready.Load() {
		writeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, "",
			"not ready: models are loading or the server is draining")
		return
	}
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.SetBodyString(`{"status":"ready"}` + "\n")
}

func notFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "",
		"no such endpoint "+string(ctx.Path())+"; the API is POST /v1/predictions, POST /v1/feedback, GET /healthz, GET /readyz, and the Open Inference Protocol under /v2 "+
			"(metrics, models and routes are on the admin listener, server.admin_listen)")
}

func adminNotFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "",
		"no such endpoint "+string(ctx.Path())+" on the admin listener; it serves GET /metrics, GET /v1/models, "+
			"GET /v1/models/{name}/drift, GET /v1/models/{name}/feedback, GET /v1/routes, GET /v1/routes/{name}, POST /v1/routes/{name}/canary, GET /v1/routes/{name}/shadow, "+
			"the registry under "+registryPath+", GET /v1/devices, GET /healthz, GET /readyz (predictions are on the public listener, server.listen)")
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	writeError(ctx, fasthttp.StatusMethodNotAllowed, codeMethodNotAllowed, "",
		string(ctx.Method())+" is not allowed on "+string(ctx.Path())+"; use "+allow)
}

// modelStatus is one entry of GET /v1/models.
type modelStatus struct {
	Route      string             `json:"route"`
	Model      string             `json:"model"`
	Version    string             `json:"version"`
	Ref        string             `json:"ref"`
	Aliases    map[string]string  `json:"aliases"`
	State      string             `json:"state"`
	QueueDepth int                `json:"queue_depth"`
	CreatedAt  time.Time          `json:"created_at"`
	Features   []registry.Feature `json:"features"`
	Output     registry.Output    `json:"output"`
	Metrics    map[string]float64 `json:"metrics"`
	// Instances says where each instance runs: "cpu", "gpu 0".
	Instances []string `json:"instances"`
}

func (g *Gateway) serveModels(ctx *fasthttp.RequestCtx) {
	routes := g.state.Load().table.Routes()
	out := struct {
		Models []modelStatus `json:"models"`
	}{Models: make([]modelStatus, 0, len(routes))}
	for _, r := range routes {
		m := r.Target()
		meta := m.Meta()
		out.Models = append(out.Models, modelStatus{
			Route: r.Name(), Model: m.Name(), Version: m.Version(), Ref: r.Ref(), Aliases: r.Aliases(),
			State: "ready", QueueDepth: m.QueueDepth(), CreatedAt: meta.CreatedAt,
			Features: meta.Signature.Features, Output: meta.Signature.Output, Metrics: meta.Metrics,
			Instances: m.Placement(),
		})
	}
	writeJSON(ctx, out, "the model list")
}

// writeJSON answers 200 with v as indented JSON; what names v in the error
// of a value that cannot be encoded.
func writeJSON(ctx *fasthttp.RequestCtx, v any, what string) {
	ctx.SetContentTypeBytes(contentTypeJSON)
	enc := json.NewEncoder(ctx)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "", "cannot encode "+what+": "+err.Error())
	}
}

// devicesPath is the admin API's view of the machine: the ONNX Runtime
// library, its execution providers, and the GPUs with their telemetry.
const devicesPath = "/v1/devices"

// SetDeviceReport sets what GET /v1/devices answers (the command knows the
// runtime and the GPUs; the gateway does not import them).
func (g *Gateway) SetDeviceReport(report func() any) { g.deviceReport.Store(&report) }

func (g *Gateway) serveDevices(ctx *fasthttp.RequestCtx) {
	report := g.deviceReport.Load()
	if report == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotConfigured, "", "this gateway reports no devices")
		return
	}
	writeJSON(ctx, (*report)(), "the device report")
}
