package gateway

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// Headers the gateway reads or writes.
const (
	headerRequestID      = "X-Request-Id"
	headerRequestTimeout = "X-Request-Timeout"
	headerRoute          = "X-Infergate-Route"
	headerModelVersion   = "X-Infergate-Model-Version"
	headerCache          = "X-Infergate-Cache"
)

// predictState is the per-request scratch of /v1/predictions, pooled so the
// request path allocates nothing in steady state. It must not be retained
// after the handler returns.
type predictState struct {
	parser    fastjson.Parser
	out       [1]float32
	requestID [requestIDLen]byte
	body      []byte // the 200 answer, built here then copied into the response
	key       []byte // the response cache's key of this request
	// err is the first feature error found while visiting the features
	// object; its field names the feature.
	errField string
	errMsg   string
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
	st := predictStatePool.Get().(*predictState)
	defer predictStatePool.Put(st)
	requestID := setRequestID(ctx, st.requestID[:0])

	v, err := st.parser.ParseBytes(ctx.PostBody())
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
	s := g.state.Load()
	route := s.table.Lookup(name)
	if route == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "model_id",
			"unknown model "+strconv.Quote(string(name))+"; GET /v1/models on the admin port lists the models served")
		g.countUnrouted(ctx)
		return
	}
	rs := s.routes[route]
	stats, cache := rs.stats, rs.cache
	var roundSteps []float64
	if cache != nil {
		roundSteps = cache.roundSteps
	}
	features := v.Get("features")
	if features == nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "features",
			`features is required: an object of feature name to value, e.g. {"tenure_months": 24}`)
		stats.countError(ctx, start)
		return
	}
	obj, err := features.Object()
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "features",
			"features must be an object of feature name to value, got "+features.Type().String())
		stats.countError(ctx, start)
		return
	}

	target := route.Target()
	enc := target.Encoder()
	row := enc.AcquireRow()
	defer enc.ReleaseRow(row)
	st.errField, st.errMsg = "", ""
	obj.Visit(func(key []byte, fv *fastjson.Value) {
		if st.errField == "" {
			st.setFeature(enc, row, key, fv, roundSteps)
		}
	})
	if st.errField != "" {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, st.errField, st.errMsg)
		stats.countError(ctx, start)
		return
	}
	input, err := row.Finish()
	if err != nil {
		var fe *registry.FeatureError
		field := "features"
		if errors.As(err, &fe) {
			field = "features." + fe.Feature
		}
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingFeature, field,
			err.Error()+"; model "+strconv.Quote(route.Name())+" needs it in features")
		stats.countError(ctx, start)
		return
	}

	if col := nonFinite(input); col >= 0 {
		// JSON numbers such as 1e999 or NaN (which fastjson accepts), or a
		// value whose standardised form overflows float32, would turn into
		// a probability of NaN: not a number JSON can carry.
		name := featureAtColumn(enc, col)
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "features."+name,
			fmt.Sprintf("feature %q is out of range: it must be a finite number whose standardised value fits a float32", name))
		stats.countError(ctx, start)
		return
	}

	deadline, ok := g.deadline(ctx, start)
	if !ok {
		stats.countError(ctx, start)
		return
	}
	if cache != nil {
		st.key = appendKey(st.key[:0], target.Version(), input)
		if e, hit := cache.get(st.key); hit {
			ctx.Response.Header.Set(headerCache, "hit")
			st.writePrediction(ctx, route, target, float64(e.probability), requestID, start, true)
			stats.countOK(start)
			return
		}
		ctx.Response.Header.Set(headerCache, "miss")
	}
	if err := target.Predict(input, st.out[:], deadline); err != nil {
		writePredictError(ctx, route.Name(), err)
		stats.countError(ctx, start)
		return
	}
	p := float64(st.out[0])
	if math.IsNaN(p) || math.IsInf(p, 0) {
		// Finite inputs can still overflow inside the model (w·x summed in
		// float32); the request's values are at fault, not the model.
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "features",
			"the feature values are too far out of range for model "+strconv.Quote(route.Name())+": its output is not a number")
		stats.countError(ctx, start)
		return
	}
	if cache != nil {
		cache.put(st.key, st.out[0])
	}
	st.writePrediction(ctx, route, target, p, requestID, start, false)
	stats.countOK(start)
}

// setFeature encodes one request feature, or records why it cannot.
// roundSteps, when not nil, rounds numeric features for the response cache's
// similarity mode.
func (st *predictState) setFeature(enc *registry.Encoder, row *registry.Row, key []byte, fv *fastjson.Value, roundSteps []float64) {
	i, ok := enc.Lookup(key)
	if !ok || fv.Type() == fastjson.TypeNull {
		// Not a model input (an entity key, say), or explicitly absent:
		// absent features are imputed or reported missing by Finish.
		return
	}
	f := enc.Feature(i)
	switch f.Type {
	case registry.Numeric:
		if fv.Type() == fastjson.TypeNumber {
			x, err := fv.Float64()
			if err == nil {
				if roundSteps != nil && roundSteps[i] > 0 {
					x = math.Round(x/roundSteps[i]) * roundSteps[i]
				}
				row.SetNumber(i, x)
				return
			}
		}
		st.errField = "features." + f.Name
		st.errMsg = fmt.Sprintf("feature %q must be a number, got %s", f.Name, fv.Type())
	case registry.Categorical:
		if s, err := fv.StringBytes(); err == nil {
			row.SetCategory(i, s)
			return
		}
		st.errField = "features." + f.Name
		st.errMsg = fmt.Sprintf("feature %q must be a string (one of %q or any other value), got %s", f.Name, f.Vocabulary, fv.Type())
	}
}

// unsafeString views b as a string without copying: string(b) would
// allocate, because time.ParseDuration's error keeps its argument. The
// string must not outlive b; callers only parse it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// nonFinite returns the first column of row that is NaN or infinite, or -1.
func nonFinite(row []float32) int {
	for i, v := range row {
		if v-v != 0 { // NaN or ±Inf
			return i
		}
	}
	return -1
}

// featureAtColumn names the feature that encodes into tensor column col.
func featureAtColumn(enc *registry.Encoder, col int) string {
	sig := enc.Signature()
	for i := range sig.Features {
		w := sig.Features[i].Width()
		if col < w {
			return sig.Features[i].Name
		}
		col -= w
	}
	return ""
}

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
// the header is malformed.
func (g *Gateway) deadline(ctx *fasthttp.RequestCtx, start time.Time) (time.Time, bool) {
	timeout := g.cfg.Timeout
	if h := ctx.Request.Header.Peek(headerRequestTimeout); len(h) > 0 {
		d, err := time.ParseDuration(unsafeString(h))
		if err != nil || d <= 0 {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "header."+headerRequestTimeout,
				fmt.Sprintf("%s must be a positive duration such as 250ms or 2s, got %q", headerRequestTimeout, h))
			return time.Time{}, false
		}
		timeout = min(d, g.cfg.MaxTimeout)
	}
	return start.Add(timeout), true
}

// writePrediction answers 200. The body is built in st's buffer and copied
// into the response's pooled one: building in place with
// ctx.Response.Body()[:0] would allocate on every request where fasthttp does
// not keep body buffers (Server.ReduceMemoryUsage, a RequestCtx from Init).
func (st *predictState) writePrediction(ctx *fasthttp.RequestCtx, route *router.Route, m *router.Model, p float64, requestID []byte, start time.Time, cached bool) {
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.Set(headerRoute, route.Name())
	ctx.Response.Header.Set(headerModelVersion, m.Version())
	b := append(st.body[:0], `{"model_id":`...)
	b = appendJSONString(b, route.Name())
	b = append(b, `,"prediction":`...)
	b = appendJSONString(b, m.Meta().Signature.Output.LabelFor(p))
	b = append(b, `,"probability":`...)
	b = strconv.AppendFloat(b, p, 'f', -1, 32)
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, m.Version())
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, float64(time.Since(start).Microseconds())/1000, 'f', -1, 64)
	b = append(b, `,"request_id":"`...)
	b = append(b, requestID...)
	b = append(b, `","route":`...)
	b = appendJSONString(b, route.Name())
	if cached {
		b = append(b, `,"cached":true`...)
	}
	b = append(b, "}\n"...)
	st.body = b
	ctx.SetBody(b)
}
