package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// The Open Inference Protocol v2 REST API (KServe, Triton, MLServer): a v2
// model is an infergate route, its inputs are the route's features, one
// input per feature (see package oip). Every answer that is not a 200 is
// {"error": "..."}, as the protocol says.

var (
	v2Prefix       = []byte("/v2")
	v2ModelsPrefix = []byte("/v2/models/")
	v2Versions     = []byte("versions/")
)

// v2State is the per-request scratch of a v2 infer request, pooled.
type v2State struct {
	rows      []features.Set
	out       []oip.Row
	body      []byte
	requestID [requestIDLen]byte
	x         exchange
}

var v2StatePool = sync.Pool{New: func() any { return new(v2State) }}

// serveV2 dispatches /v2 and everything under it.
func (g *Gateway) serveV2(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch string(path) {
	case "/v2", "/v2/":
		if g.v2Get(ctx) {
			g.writeV2JSON(ctx, oip.NewServerMetadata(g.cfg.Version))
		}
		return
	case "/v2/health/live":
		if g.v2Get(ctx) {
			ctx.SetContentTypeBytes(contentTypeJSON)
			ctx.SetBodyString(`{"live":true}` + "\n")
		}
		return
	case "/v2/health/ready":
		if g.v2Get(ctx) {
			g.v2Ready(ctx, g.ready.Load(), "")
		}
		return
	}
	rest, ok := bytes.CutPrefix(path, v2ModelsPrefix)
	if !ok {
		g.v2Error(ctx, fasthttp.StatusNotFound, "no such endpoint "+strconv.Quote(string(path))+
			"; the v2 API is GET /v2, /v2/health/{live,ready}, /v2/models[/NAME[/versions/V]]/stats, /v2/models/NAME[/versions/V][/ready|/config] and POST /v2/models/NAME[/versions/V]/infer")
		return
	}
	// NAME[/versions/V][/ready|/infer]; route names hold no slash.
	name, rest, _ := bytes.Cut(rest, []byte("/"))
	action := rest
	var version []byte
	if v, ok := bytes.CutPrefix(rest, v2Versions); ok {
		version, action, _ = bytes.Cut(v, []byte("/"))
	}
	key, ok := g.authenticate(ctx, protoV2)
	if !ok {
		return
	}
	s := g.acquire()
	defer s.release()
	if string(name) == "stats" && len(rest) == 0 {
		// Triton's GET /v2/models/stats: every model the key may call.
		if g.v2Get(ctx) {
			all := oip.Statistics{ModelStats: []oip.ModelStats{}}
			for _, route := range s.table.Routes() {
				if key.MayCall([]byte(route.Name())) {
					all.ModelStats = append(all.ModelStats, v2Stats(route, nil)...)
				}
			}
			g.writeV2JSON(ctx, all)
		}
		return
	}
	route := s.table.Lookup(name)
	if route == nil {
		g.v2Error(ctx, fasthttp.StatusNotFound, "unknown model "+strconv.Quote(string(name))+"; GET /v1/models on the admin port lists the models served")
		return
	}
	if !g.mayCall(ctx, protoV2, key, route.Name()) {
		return
	}
	var pinned *router.Target
	if version != nil {
		if pinned = route.ModelTarget(string(version)); pinned == nil {
			g.v2Error(ctx, fasthttp.StatusNotFound, "model "+strconv.Quote(route.Name())+" has no version "+strconv.Quote(string(version))+
				"; GET /v2/models/"+route.Name()+" lists its versions")
			return
		}
	}
	switch string(action) {
	case "":
		if !g.v2Get(ctx) {
			break
		}
		if rs := s.routes[route]; rs.tensors != nil {
			g.writeV2JSON(ctx, rs.tensors.Metadata(route.Name(), routeVersions(route)))
		} else {
			g.writeV2JSON(ctx, oip.NewModelMetadata(route.Name(), routeVersions(route), rs.schema))
		}
	case "ready":
		if g.v2Get(ctx) {
			g.v2Ready(ctx, g.ready.Load(), route.Name())
		}
	case "config":
		if g.v2Get(ctx) {
			g.writeV2JSON(ctx, v2Config(route, s.routes[route], pinned))
		}
	case "stats":
		if g.v2Get(ctx) {
			g.writeV2JSON(ctx, oip.Statistics{ModelStats: v2Stats(route, pinned)})
		}
	case "infer":
		if !ctx.IsPost() {
			ctx.Response.Header.Set(fasthttp.HeaderAllow, fasthttp.MethodPost)
			g.v2Error(ctx, fasthttp.StatusMethodNotAllowed, string(ctx.Method())+" is not allowed on "+string(path)+"; use POST")
			return
		}
		g.serveV2Infer(ctx, key, route, s.routes[route], pinned)
	default:
		g.v2Error(ctx, fasthttp.StatusNotFound, "no such endpoint "+strconv.Quote(string(path))+"; a model has /ready, /config, /stats and /infer")
	}
}

// serveV2Infer answers POST /v2/models/NAME[/versions/V]/infer: every row
// through the route (canary, fallbacks, cache, shadow) or, with a version in
// the path, through that version alone. The answer is all or nothing, as
// the protocol has no per-row errors: the first failed row fails it.
func (g *Gateway) serveV2Infer(ctx *fasthttp.RequestCtx, key *auth.Key, route *router.Route, rs *routeState, pinned *router.Target) {
	start := requestTime(ctx)
	skipHeaderNormalizing(ctx)
	stats := rs.stats
	timeout, msg := g.timeout(ctx)
	if msg != "" {
		g.v2Error(ctx, fasthttp.StatusBadRequest, msg)
		stats.countError(ctx, start)
		return
	}
	if _, ok := requestPriority(ctx); !ok {
		g.v2Error(ctx, fasthttp.StatusBadRequest, badPriority(ctx))
		stats.countError(ctx, start)
		return
	}
	deadline := start.Add(timeout)
	if !g.admitKey(ctx, protoV2, key, deadline) {
		stats.countError(ctx, start)
		return
	}
	defer g.admit.Release()
	raw, inflated, ok := g.requestBody(ctx, protoV2)
	if !ok {
		stats.countError(ctx, start)
		return
	}
	if inflated != nil {
		defer inflated.release()
	}
	body, tail, err := oip.SplitBody(raw, ctx.Request.Header.Peek(oip.HeaderContentLength))
	if err != nil {
		g.v2Error(ctx, fasthttp.StatusBadRequest, err.Error())
		stats.countError(ctx, start)
		return
	}
	if jsonTooDeep(body, g.cfg.MaxJSONDepth) {
		g.v2Error(ctx, fasthttp.StatusBadRequest, "request body nests JSON deeper than server.max_json_depth ("+strconv.Itoa(g.cfg.MaxJSONDepth)+" levels)")
		stats.countError(ctx, start)
		return
	}
	in := oip.AcquireRequest()
	defer oip.ReleaseRequest(in)
	if rs.tensors != nil {
		g.serveV2Tensors(ctx, key, route, rs, pinned, in, body, tail, start, deadline)
		return
	}
	vs := v2StatePool.Get().(*v2State)
	defer v2StatePool.Put(vs)
	if err := in.Decode(body, tail, rs.schema, oip.Limits{MaxRows: g.cfg.MaxInstances, MaxElements: g.cfg.MaxElements, MaxInputs: g.cfg.MaxFeatures}, &vs.rows); err != nil {
		var oe *oip.Error
		status := fasthttp.StatusBadRequest
		if errors.As(err, &oe) {
			status = oe.Status
		}
		g.v2Error(ctx, status, err.Error())
		stats.countError(ctx, start)
		return
	}
	if in.HasTimeout {
		deadline = start.Add(min(time.Duration(in.TimeoutMicros)*time.Microsecond, g.cfg.MaxTimeout))
	}

	n := len(vs.rows)
	x := vs.x.begin(n)
	defer x.end()
	for i, req := range x.reqs {
		// The row's features move into the request (and the request's
		// empty set into the row): no copy.
		req.Features, vs.rows[i] = vs.rows[i], req.Features
		bindRequest(ctx, req, route, deadline)
		bindPriority(req, in)
	}
	c := call{route: route, rs: rs, pinned: pinned, allOrNothing: true, key: key, numbered: n > 1, start: start}
	x.answer(&c)
	if i := firstError(x.errs); i >= 0 {
		prefix := ""
		if n > 1 {
			prefix = "row " + strconv.Itoa(i) + ": "
		}
		g.v2PredictError(ctx, route.Name(), prefix, x.errs[i])
		stats.countError(ctx, start)
		return
	}

	// The answer's X-Request-Id names its rows for POST /v1/feedback: the
	// id alone for one row, ID/i for row i of several.
	c.requestID = setRequestID(ctx, vs.requestID[:0])
	vs.out = resize(vs.out, n)
	for i := range n {
		res := &x.res[i]
		vs.out[i] = oip.Row{Probability: float32(res.Probability), Label: res.Label, ModelVersion: res.ModelVersion, Target: res.Target.Name(), Value: res.Value, Probabilities: res.Probabilities}
	}
	ctx.Response.Header.Set(headerRoute, route.Name())
	var headerLen int
	vs.body, headerLen = oip.AppendResponse(vs.body[:0], route.Name(), rs.schema, in, vs.out)
	vs.body = setV2Body(ctx, vs.body, headerLen)
	g.settle(x, &c, time.Since(start))
}

func firstError(errs []error) int {
	for i, err := range errs {
		if err != nil {
			return i
		}
	}
	return -1
}

// routeVersions lists the model versions a route can answer with, its
// primary's first.
func routeVersions(r *router.Route) []string {
	var vs []string
	for _, t := range r.Targets() {
		if m := t.Model(); m != nil && !contains(vs, m.Version()) {
			vs = append(vs, m.Version())
		}
	}
	return vs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// v2Get answers 405 unless the request is a GET (or HEAD).
func (g *Gateway) v2Get(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	ctx.Response.Header.Set(fasthttp.HeaderAllow, fasthttp.MethodGet)
	g.v2Error(ctx, fasthttp.StatusMethodNotAllowed, string(ctx.Method())+" is not allowed on "+string(ctx.Path())+"; use GET")
	return false
}

// v2Ready answers a readiness probe: 200 when ready, else 503.
func (g *Gateway) v2Ready(ctx *fasthttp.RequestCtx, ready bool, model string) {
	if !ready {
		g.v2Error(ctx, fasthttp.StatusServiceUnavailable, "not ready: models are loading or the server is draining")
		return
	}
	ctx.SetContentTypeBytes(contentTypeJSON)
	if model == "" {
		ctx.SetBodyString(`{"ready":true}` + "\n")
		return
	}
	ctx.SetBodyString(`{"name":` + strconv.Quote(model) + `,"ready":true}` + "\n")
}

func (g *Gateway) writeV2JSON(ctx *fasthttp.RequestCtx, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		g.v2Error(ctx, fasthttp.StatusInternalServerError, "cannot encode the answer: "+err.Error())
		return
	}
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.SetBody(append(data, '\n'))
}

// v2PredictError answers a prediction's error as the protocol does: the
// gateway's status and message (prefixed), with 503 for a full queue, as
// Triton answers it.
func (g *Gateway) v2PredictError(ctx *fasthttp.RequestCtx, route, prefix string, err error) {
	e := predictError(route, err)
	status := e.status
	if status == fasthttp.StatusTooManyRequests {
		status = fasthttp.StatusServiceUnavailable
	}
	g.v2Error(ctx, status, prefix+e.msg)
}

// v2Error answers {"error": msg} with status.
func (g *Gateway) v2Error(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentTypeBytes(contentTypeJSON)
	if status == fasthttp.StatusTooManyRequests || status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, retryAfterSeconds)
	}
	ctx.SetBody(append(oip.AppendError(ctx.Response.Body()[:0], msg), '\n'))
}

// bindPriority gives req the v2 request's priority parameter, when it has
// one: it takes precedence over X-Priority.
func bindPriority(req *router.Request, in *oip.Request) {
	if in.HasPriority {
		req.Priority = int(min(in.Priority, maxPriority))
	}
}

// setV2Body sets an inference response's body: JSON, or, when headerLen > 0,
// a JSON header of that length and the outputs' binary data after it.
// It returns body, grown by the newline a JSON answer ends with.
func setV2Body(ctx *fasthttp.RequestCtx, body []byte, headerLen int) []byte {
	if headerLen > 0 {
		ctx.SetContentTypeBytes(contentTypeOctetStream)
		var n [20]byte
		ctx.Response.Header.SetBytesV(oip.HeaderContentLength, strconv.AppendInt(n[:0], int64(headerLen), 10))
	} else {
		ctx.SetContentTypeBytes(contentTypeJSON)
		body = append(body, '\n')
	}
	ctx.SetBody(body)
	return body
}

// v2Config is the model configuration of route (of its pinned version's
// model, when the path names one): its inputs and outputs, and the batcher
// of the model that answers.
func v2Config(route *router.Route, rs *routeState, pinned *router.Target) oip.ModelConfig {
	m := route.Target()
	if pinned != nil {
		m = pinned.Model()
	}
	var b oip.Batching
	if m != nil {
		c := m.Batching()
		b = oip.Batching{
			MaxBatchSize: c.MaxBatchSize, MaxQueueDelay: c.MaxQueueDelay, TargetLatency: c.TargetLatency,
			Preferred: c.PreferredBatchSizes, PriorityLevels: c.PriorityLevels, DefaultPriorityLevel: c.DefaultPriorityLevel,
			MaxQueueSize: c.MaxQueueSize, Placement: m.Placement(),
		}
	}
	if rs.tensors != nil {
		return rs.tensors.Config(route.Name(), b)
	}
	return rs.schema.Config(route.Name(), b)
}

// v2Stats are the statistics of each model version route answers with (the
// pinned one alone, when the path names a version), as Triton reports them.
// The response cache answers before any model: its hits and misses are the
// route's, on /metrics, not a version's.
func v2Stats(route *router.Route, pinned *router.Target) []oip.ModelStats {
	targets := route.Targets()
	if pinned != nil {
		targets = []*router.Target{pinned}
	}
	out := []oip.ModelStats{}
	var seen []string
	for _, t := range targets {
		m := t.Model()
		if m == nil || contains(seen, m.Version()) {
			continue
		}
		seen = append(seen, m.Version())
		st := m.Stats()
		ms := oip.ModelStats{
			Name: route.Name(), Version: m.Version(),
			InferenceCount: st.Inferences, ExecutionCount: st.Executions,
			InferenceStats: oip.InferenceStats{
				Success: statDuration(st.Success), Fail: statDuration(st.Fail), Queue: statDuration(st.Queue),
				ComputeInput: statDuration(st.ComputeInput), ComputeInfer: statDuration(st.ComputeInfer), ComputeOutput: statDuration(st.ComputeOutput),
			},
			BatchStats:  []oip.BatchStats{},
			MemoryUsage: []struct{}{},
		}
		if !st.LastInference.IsZero() {
			ms.LastInference = st.LastInference.UnixMilli()
		}
		for _, b := range st.Batches {
			ms.BatchStats = append(ms.BatchStats, oip.BatchStats{BatchSize: b.Size,
				ComputeInput: statDuration(b.ComputeInput), ComputeInfer: statDuration(b.ComputeInfer), ComputeOutput: statDuration(b.ComputeOutput)})
		}
		out = append(out, ms)
	}
	return out
}

func statDuration(d batcher.Duration) oip.StatDuration {
	return oip.StatDuration{Count: uint64(max(d.Count, 0)), Ns: uint64(max(d.Total, 0))}
}
