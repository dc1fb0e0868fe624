package gateway

import (
	"strconv"
	"sync"
	"time"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// batchState is the per-request scratch of a /v1 request with instances,
// pooled; it must not be retained after the handler returns.
type batchState struct {
	reqs   []*router.Request // every instance's request; nil where the instance was not an object
	serve  []*router.Request // what ServeAll computes: nil for failed and cached instances
	res    []router.Result
	errs   []error
	cached []bool
	keys   [][]byte // cache keys; nil when not cacheable
	// The rows' online features: what FetchAll reads and answers.
	sets      []*features.Set
	fetched   []featurefetch.Result
	fetchErrs []error
}

var batchStatePool = sync.Pool{New: func() any { return new(batchState) }}

func (b *batchState) reset(n int) {
	b.reqs = resize(b.reqs, n)
	b.serve = resize(b.serve, n)
	b.res = resize(b.res, n)
	b.errs = resize(b.errs, n)
	b.cached = resize(b.cached, n)
	b.keys = resize(b.keys, n)
	b.sets = resize(b.sets, n)
	b.fetched = resize(b.fetched, n)
	b.fetchErrs = resize(b.fetchErrs, n)
}

// fetchFeatures looks the rows' online features up together (one round
// trip to the store for the whole request where it can), before the rows
// are prepared: a row whose lookup fails gets its error, a row whose policy
// says fall back skips the route's models.
func (b *batchState) fetchFeatures(rf *routeFeatures, cache *routeCache, deadline time.Time) {
	if rf == nil {
		return
	}
	for i, req := range b.reqs {
		if req != nil && b.errs[i] == nil {
			b.sets[i] = &req.Features
		}
	}
	rf.vf.FetchAll(b.sets, deadline, b.fetched, b.fetchErrs)
	for i, req := range b.reqs {
		switch {
		case b.sets[i] == nil:
		case b.fetchErrs[i] != nil:
			b.errs[i] = b.fetchErrs[i]
		case b.fetched[i].Fallback:
			req.SkipModels()
		}
		if b.sets[i] != nil && cache != nil {
			// The similarity mode rounds the fetched values too.
			cache.roundFeatures(&req.Features)
		}
	}
}

// resize returns s with length n and zero values, reusing its memory.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// serveInstances answers POST /v1/predictions with a list of rows:
//
//	{"model_id": "customer-churn", "instances": [{"tenure_months": 24, ...}, ...]}
//
// with one answer per instance, in order: a prediction, or an error object
// for that instance alone. The instances are served together (one batch
// where the model's batcher allows) and through the route as single
// requests are: canary, fallbacks, cache, shadow.
func (g *Gateway) serveInstances(ctx *fasthttp.RequestCtx, st *predictState, route *router.Route, rs *routeState, key *auth.Key, pinned *router.Target, inst *fastjson.Value, deadline time.Time, requestID []byte, start time.Time) {
	stats, cache := rs.stats, rs.cache
	items, err := inst.Array()
	if err != nil || len(items) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "instances",
			"instances must be a non-empty array of feature objects, e.g. [{\"tenure_months\": 24}, {\"tenure_months\": 3}]")
		stats.countError(ctx, start)
		return
	}
	if len(items) > g.cfg.MaxInstances {
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, codeTooManyInstances, "instances",
			"instances holds "+strconv.Itoa(len(items))+" rows, more than server.max_instances ("+strconv.Itoa(g.cfg.MaxInstances)+"); split the batch")
		stats.countError(ctx, start)
		return
	}
	b := batchStatePool.Get().(*batchState)
	defer batchStatePool.Put(b)
	b.reset(len(items))
	defer func() {
		for _, req := range b.reqs {
			if req != nil {
				router.ReleaseRequest(req)
			}
		}
	}()

	for i, item := range items {
		obj, err := item.Object()
		if err != nil {
			b.errs[i] = &router.InputError{Field: "instances[" + strconv.Itoa(i) + "]",
				Msg: "an instance must be an object of feature name to value, got " + item.Type().String()}
			continue
		}
		if obj.Len() > g.cfg.MaxFeatures {
			b.errs[i] = &router.InputError{Field: "instances[" + strconv.Itoa(i) + "]",
				Msg: "the instance holds " + strconv.Itoa(obj.Len()) + " features, more than server.max_features (" + strconv.Itoa(g.cfg.MaxFeatures) + ")"}
			continue
		}
		req := router.AcquireRequest()
		b.reqs[i] = req
		st.fill(ctx, req, route, cache, obj, deadline)
	}
	b.fetchFeatures(rs.features, cache, deadline)
	for i, req := range b.reqs {
		if req == nil || b.errs[i] != nil {
			continue
		}
		req.Pin(pinned)
		input, err := route.Prepare(req)
		if err != nil {
			b.errs[i] = err
			continue
		}
		key, hit := st.lookup(cache, req, input, i)
		if hit {
			b.res[i], b.cached[i] = st.res, true
			continue
		}
		b.keys[i] = key
		b.serve[i] = req
	}
	route.ServeAll(b.serve, b.res, b.errs)

	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.Set(headerRoute, route.Name())
	out := append(st.body[:0], `{"model_id":`...)
	out = jsonenc.AppendString(out, route.Name())
	out = append(out, `,"predictions":[`...)
	for i := range items {
		if i > 0 {
			out = append(out, ',')
		}
		if err := b.errs[i]; err != nil {
			e := predictError(route.Name(), err)
			field := e.field
			if field != "" && field[0] != 'i' { // "features.x" → "instances[i].features.x"
				field = "instances[" + strconv.Itoa(i) + "]." + field
			}
			out = append(out, `{"error":`...)
			out = appendErrorObject(out, e.code, field, e.msg)
			out = append(out, '}')
			continue
		}
		res := &b.res[i]
		if b.keys[i] != nil && !res.Fallback {
			cache.put(b.keys[i], res)
		}
		out = append(out, '{')
		out = appendAnswerFields(out, res, b.cached[i])
		out = rs.features.appendDefaulted(out, b.fetched[i].Defaulted)
		out = append(out, '}')
		st.logKey = g.logPrediction(st.logKey, rs, key, requestID, i, res, start)
		rs.observe(&b.reqs[i].Features, res)
		route.Mirror(b.reqs[i], res, time.Since(start))
	}
	out = append(out, `],"latency_ms":`...)
	out = strconv.AppendFloat(out, float64(time.Since(start).Microseconds())/1000, 'f', -1, 64)
	out = append(out, `,"request_id":"`...)
	out = append(out, requestID...)
	out = append(out, `","route":`...)
	out = jsonenc.AppendString(out, route.Name())
	out = append(out, "}\n"...)
	st.body = out
	ctx.SetBody(out)
	stats.countOK(start)
}
