package gateway

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/infergate/infergate/internal/jsonenc"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// Headers the gateway reads or writes.
const (
	headerRequestID      = "X-Request-Id"
	headerRequestTimeout = "X-Request-Timeout"
	headerPriority       = "X-Priority"
	headerRoute          = "X-Infergate-Route"
	headerModelVersion   = "X-Infergate-Model-Version"
	headerCache          = "X-Infergate-Cache"
	headerTarget         = "X-Infergate-Target"
	headerFallback       = "X-Infergate-Fallback"
	headerAPIKey         = "X-API-Key"
)

// predictState is the per-request scratch of /v1/predictions, pooled so the
// request path allocates nothing in steady state. It must not be retained
// after the handler returns.
type predictState struct {
	parser    fastjson.Parser
	requestID [requestIDLen]byte
	body      []byte // the 200 answer, built here then copied into the response
	x         exchange
	// features is where visit adds the features object's members.
	features *features.Set
	visit    func(key []byte, v *fastjson.Value)
}

var predictStatePool = sync.Pool{New: func() any { return new(predictState) }}

// servePredictions answers POST /v1/predictions:
//
//	{"model_id": "customer-churn", "features": {"tenure_months": 24, ...}}
//
// with the prediction, its probability, the model version that computed it and
// the time the gateway spent. Features the model's signature does not list
// (such as an entity key) are ignored.
func (g *Gateway) servePredictions(ctx *fasthttp.RequestCtx) {
	start := requestTime(ctx)
	skipHeaderNormalizing(ctx)
	st := predictStatePool.Get().(*predictState)
	defer predictStatePool.Put(st)
	requestID := setRequestID(ctx, st.requestID[:0])
	deadline, ok := g.deadline(ctx, start)
	if !ok {
		g.countUnrouted(ctx)
		return
	}
	apiKey, ok := g.admitRequest(ctx, protoV1, deadline)
	if !ok {
		g.countUnrouted(ctx)
		return
	}
	defer g.admit.Release()

	body, inflated, ok := g.requestBody(ctx, protoV1)
	if !ok {
		g.countUnrouted(ctx)
		return
	}
	if inflated != nil {
		defer inflated.release()
	}
	if jsonTooDeep(body, g.cfg.MaxJSONDepth) {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "",
			"request body nests JSON deeper than server.max_json_depth ("+strconv.Itoa(g.cfg.MaxJSONDepth)+" levels)")
		g.countUnrouted(ctx)
		return
	}
	v, err := st.parser.ParseBytes(body)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "",
			"request body is not valid JSON: "+err.Error())
		g.countUnrouted(ctx)
		return
	}
	if v.Type() != fastjson.TypeObject {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "",
			`request body must be a JSON object: {"model_id": "...", "features": {...}}`)
		g.countUnrouted(ctx)
		return
	}
	modelID := v.Get("model_id")
	if modelID == nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "model_id",
			"model_id is required: name the model to call, e.g. \"customer-churn\" (GET /v1/models on the admin port lists them)")
		g.countUnrouted(ctx)
		return
	}
	name, err := modelID.StringBytes()
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "model_id",
			"model_id must be a string, got "+modelID.Type().String())
		g.countUnrouted(ctx)
		return
	}
	s := g.acquire()
	defer s.release()
	routeName, sep, ref := splitModelID(name)
	route := s.table.Lookup(routeName)
	if route == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "model_id",
			"unknown model "+strconv.Quote(string(routeName))+"; GET /v1/models on the admin port lists the models served")
		g.countUnrouted(ctx)
		return
	}
	rs := s.routes[route]
	stats := rs.stats
	if !g.mayCall(ctx, protoV1, apiKey, route.Name()) {
		stats.countError(ctx, start)
		return
	}
	var pinned *router.Target
	if sep != 0 {
		if pinned = pinnedTarget(route, sep, ref); pinned == nil {
			writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "model_id",
				"route "+strconv.Quote(route.Name())+" serves no version "+strconv.Quote(string(name[len(routeName):]))+
					"; it serves "+strings.Join(routeVersions(route), ", ")+" (GET /v1/routes on the admin port lists its targets)")
			stats.countError(ctx, start)
			return
		}
	}
	if inst := v.Get("instances"); inst != nil {
		if v.Get("features") != nil {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "instances",
				"send features (one row) or instances (a list of rows), not both")
			stats.countError(ctx, start)
			return
		}
		g.serveInstances(ctx, st, route, rs, apiKey, pinned, inst, deadline, requestID, start)
		return
	}
	fv := v.Get("features")
	if fv == nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "features",
			`features is required: an object of feature name to value, e.g. {"tenure_months": 24} (or instances: a list of such objects)`)
		stats.countError(ctx, start)
		return
	}
	obj, err := fv.Object()
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "features",
			"features must be an object of feature name to value, got "+fv.Type().String())
		stats.countError(ctx, start)
		return
	}

	if obj.Len() > g.cfg.MaxFeatures {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "features",
			"features holds "+strconv.Itoa(obj.Len())+" entries, more than server.max_features ("+strconv.Itoa(g.cfg.MaxFeatures)+")")
		stats.countError(ctx, start)
		return
	}
	x := st.x.begin(1)
	defer x.end()
	st.fill(ctx, x.reqs[0], route, obj, deadline)
	c := call{route: route, rs: rs, pinned: pinned, key: apiKey, requestID: requestID, start: start}
	x.answer(&c)
	if err := x.errs[0]; err != nil {
		writePredictError(ctx, route.Name(), err)
		stats.countError(ctx, start)
		return
	}
	setCacheHeader(ctx, x)
	took := time.Since(start)
	st.writePrediction(ctx, route, rs, &x.res[0], x.fetched[0].Defaulted, requestID, took, x.cached[0])
	g.settle(x, &c, took)
}

// setCacheHeader says whether the cache answered the exchange's one
// request, when the route has a cache.
func setCacheHeader(ctx *fasthttp.RequestCtx, x *exchange) {
	switch {
	case x.cached[0]:
		ctx.Response.Header.Set(headerCache, "hit")
	case x.fill[0]:
		ctx.Response.Header.Set(headerCache, "miss")
	}
}

// splitModelID splits a model_id into its route and, after @ or :, an alias
// or a version (sep is 0 when there is none).
func splitModelID(id []byte) (route []byte, sep byte, ref []byte) {
	if i := bytes.IndexAny(id, "@:"); i >= 0 {
		return id[:i], id[i], id[i+1:]
	}
	return id, 0, nil
}

// pinnedTarget is the route's model target that serves ref: a version
// (sep ':') or an alias of the route's model as it was when the routes
// loaded (sep '@'); nil when the route does not serve it.
func pinnedTarget(route *router.Route, sep byte, ref []byte) *router.Target {
	version := string(ref)
	if sep == '@' {
		v, ok := route.Aliases()[version]
		if !ok {
			return nil
		}
		version = v
	}
	return route.ModelTarget(version)
}

// fill fills req with one features object of the body (bindRequest does
// the rest).
func (st *predictState) fill(ctx *fasthttp.RequestCtx, req *router.Request, route *router.Route, obj *fastjson.Object, deadline time.Time) {
	obj.Visit(st.addFeature(&req.Features))
	bindRequest(ctx, req, route, deadline)
}

// bindRequest gives req the route's sticky key and the priority from the
// request's headers, and the deadline.
func bindRequest(ctx *fasthttp.RequestCtx, req *router.Request, route *router.Route, deadline time.Time) {
	if h := route.StickyHeader(); h != "" {
		req.StickyKey = ctx.Request.Header.Peek(h)
	}
	req.Deadline = deadline
	req.Priority, _ = requestPriority(ctx)
}

// maxPriority stands for every priority above the levels a batcher can
// have: it runs at the default level, as priority 0 does.
const maxPriority = 256

// requestPriority is the X-Priority header's level (1 is the highest; 0,
// or none, the model's default level), or false when the header is not an
// integer >= 0.
func requestPriority(ctx *fasthttp.RequestCtx) (int, bool) {
	h := ctx.Request.Header.Peek(headerPriority)
	if len(h) == 0 {
		return 0, true
	}
	n := 0
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int(c-'0'), maxPriority)
	}
	return n, true
}

// badPriority is the message for a malformed X-Priority header.
func badPriority(ctx *fasthttp.RequestCtx) string {
	return fmt.Sprintf("%s must be an integer >= 0 (1 is the highest level, 0 the model's default), got %q", headerPriority, ctx.Request.Header.Peek(headerPriority))
}

// addFeature returns st's visitor that adds one request feature to f; the
// method value is made once per pooled state, not per request.
func (st *predictState) addFeature(f *features.Set) func(key []byte, v *fastjson.Value) {
	st.features = f
	if st.visit == nil {
		st.visit = st.visitFeature
	}
	return st.visit
}

func (st *predictState) visitFeature(key []byte, v *fastjson.Value) {
	switch t := v.Type(); t {
	case fastjson.TypeNumber:
		// fastjson has checked the number's syntax already; an overflow
		// (1e999) comes back as ±Inf, which the model's encoding rejects.
		x, _ := v.Float64()
		st.features.AddNumber(key, x)
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		st.features.AddString(key, s)
	case fastjson.TypeNull:
		// Explicitly absent: imputed or reported missing by the model.
	default:
		st.features.AddOther(key, jsonTypeNames[t])
	}
}

// jsonTypeNames are fastjson's type names as bytes, for features.AddOther.
var jsonTypeNames = func() map[fastjson.Type][]byte {
	m := map[fastjson.Type][]byte{}
	for _, t := range []fastjson.Type{fastjson.TypeObject, fastjson.TypeArray, fastjson.TypeTrue, fastjson.TypeFalse} {
		m[t] = []byte(t.String())
	}
	return m
}()

// unsafeString views b as a string without copying: string(b) would
// allocate, because time.ParseDuration's error keeps its argument. The
// string must not outlive b; callers only parse it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// requestTime is when the request arrived: the time the server stamped on
// ctx, or now for a RequestCtx no server stamped (one a test or an embedding
// program built with ctx.Init and passes to Handler), whose Time is zero and
// would put every deadline in year 1.
func requestTime(ctx *fasthttp.RequestCtx) time.Time {
	if t := ctx.Time(); !t.IsZero() {
		return t
	}
	return time.Now()
}

// deadline returns the request's deadline, counted from start: the
// configured timeout, or the X-Request-Timeout header's (a Go duration such
// as "250ms") capped at the configured maximum. It answers 400 itself when
// that header, or X-Priority, is malformed.
func (g *Gateway) deadline(ctx *fasthttp.RequestCtx, start time.Time) (time.Time, bool) {
	timeout, msg := g.timeout(ctx)
	if msg != "" {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "header."+headerRequestTimeout, msg)
		return time.Time{}, false
	}
	if _, ok := requestPriority(ctx); !ok {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "header."+headerPriority, badPriority(ctx))
		return time.Time{}, false
	}
	return start.Add(timeout), true
}

// timeout is the request's time budget, or why its X-Request-Timeout header
// is malformed.
func (g *Gateway) timeout(ctx *fasthttp.RequestCtx) (time.Duration, string) {
	h := ctx.Request.Header.Peek(headerRequestTimeout)
	if len(h) == 0 {
		return g.cfg.Timeout, ""
	}
	d, err := time.ParseDuration(unsafeString(h))
	if err != nil || d <= 0 {
		return 0, fmt.Sprintf("%s must be a positive duration such as 250ms or 2s, got %q", headerRequestTimeout, h)
	}
	return min(d, g.cfg.MaxTimeout), ""
}

// skipHeaderNormalizing makes the response's Set calls take header names as
// they are: every name this package sets is a canonical constant, and
// fasthttp's normalising of each one was 6% of BenchmarkPredictCacheHit.
// fasthttp turns it back on when it resets the response for the next request.
func skipHeaderNormalizing(ctx *fasthttp.RequestCtx) { ctx.Response.Header.DisableNormalizing() }

// writePrediction answers 200. The body is built in st's buffer and copied
// into the response's pooled one: building in place with
// ctx.Response.Body()[:0] would allocate on every request where fasthttp does
// not keep body buffers (Server.ReduceMemoryUsage, a RequestCtx from Init).
func (st *predictState) writePrediction(ctx *fasthttp.RequestCtx, route *router.Route, rs *routeState, res *router.Result, defaulted uint64, requestID []byte, took time.Duration, cached bool) {
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.Set(headerRoute, route.Name())
	ctx.Response.Header.Set(headerTarget, res.Target.Name())
	if res.ModelVersion != "" {
		ctx.Response.Header.Set(headerModelVersion, res.ModelVersion)
	}
	if res.Fallback {
		ctx.Response.Header.Set(headerFallback, res.Reason)
	}
	b := append(st.body[:0], `{"model_id":`...)
	b = jsonenc.AppendString(b, route.Name())
	b = append(b, ',')
	b = appendAnswerFields(b, res, cached)
	b = rs.features.appendDefaulted(b, defaulted)
	b = append(b, `,"latency_ms":`...)
	b = appendLatency(b, took)
	b = append(b, `,"request_id":"`...)
	b = append(b, requestID...)
	b = append(b, `","route":`...)
	b = jsonenc.AppendString(b, route.Name())
	b = append(b, "}\n"...)
	st.body = b
	ctx.SetBody(b)
}

// appendAnswerFields appends the fields of one answer, without braces:
// prediction (a label, or a regression's number), probability (when there
// is one), probabilities per class (a classifier over classes),
// model_version (when there is one), target, and fallback,
// fallback_reason and cached when they apply.
func appendAnswerFields(b []byte, res *router.Result, cached bool) []byte {
	b = append(b, `"prediction":`...)
	if res.Kind == router.AnswerValue {
		b = strconv.AppendFloat(b, res.Value, 'g', -1, 64)
	} else {
		b = jsonenc.AppendString(b, res.Label)
	}
	if res.Kind != router.AnswerValue && !math.IsNaN(res.Probability) {
		b = append(b, `,"probability":`...)
		b = strconv.AppendFloat(b, res.Probability, 'f', -1, 32)
	}
	if len(res.Probabilities) > 0 && res.Target != nil && res.Target.Model() != nil {
		classes := res.Target.Model().Classes()
		b = append(b, `,"probabilities":{`...)
		for k, p := range res.Probabilities {
			if k > 0 {
				b = append(b, ',')
			}
			if k < len(classes) {
				b = jsonenc.AppendString(b, classes[k])
			} else {
				b = jsonenc.AppendString(b, strconv.Itoa(k))
			}
			b = append(b, ':')
			b = strconv.AppendFloat(b, float64(p), 'f', -1, 32)
		}
		b = append(b, '}')
	}
	if res.ModelVersion != "" {
		b = append(b, `,"model_version":`...)
		b = jsonenc.AppendString(b, res.ModelVersion)
	}
	b = append(b, `,"target":`...)
	b = jsonenc.AppendString(b, res.Target.Name())
	if res.Fallback {
		b = append(b, `,"fallback":true,"fallback_reason":`...)
		b = jsonenc.AppendString(b, res.Reason)
	}
	if cached {
		b = append(b, `,"cached":true`...)
	}
	return b
}

// appendLatency appends took in milliseconds, to the microsecond.
func appendLatency(b []byte, took time.Duration) []byte {
	return strconv.AppendFloat(b, float64(took.Microseconds())/1000, 'f', -1, 64)
}
