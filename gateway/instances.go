package gateway

import (
	"strconv"
	"time"

	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// serveInstances answers POST /v1/predictions with a list of rows:
//
//	{"model_id": "customer-churn", "instances": [{"tenure_months": 24, ...}, ...]}
//
// with one answer per instance, in order: a prediction, or an error object
// for that instance alone. The instances are served together (one batch
// where the model's batcher allows) and through the route as single
// requests are: canary, fallbacks, cache, shadow.
func (g *Gateway) serveInstances(ctx *fasthttp.RequestCtx, st *predictState, route *router.Route, rs *routeState, key *auth.Key, pinned *router.Target, inst *fastjson.Value, deadline time.Time, requestID []byte, start time.Time) {
	stats := rs.stats
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
	x := st.x.begin(len(items))
	defer x.end()
	for i, item := range items {
		obj, err := item.Object()
		if err != nil {
			x.errs[i] = &router.InputError{Field: "instances[" + strconv.Itoa(i) + "]",
				Msg: "an instance must be an object of feature name to value, got " + item.Type().String()}
			continue
		}
		if obj.Len() > g.cfg.MaxFeatures {
			x.errs[i] = &router.InputError{Field: "instances[" + strconv.Itoa(i) + "]",
				Msg: "the instance holds " + strconv.Itoa(obj.Len()) + " features, more than server.max_features (" + strconv.Itoa(g.cfg.MaxFeatures) + ")"}
			continue
		}
		st.fill(ctx, x.reqs[i], route, obj, deadline)
	}
	c := call{route: route, rs: rs, pinned: pinned, key: key, requestID: requestID, numbered: true, start: start}
	x.answer(&c)

	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.Set(headerRoute, route.Name())
	out := append(st.body[:0], `{"model_id":`...)
	out = jsonenc.AppendString(out, route.Name())
	out = append(out, `,"predictions":[`...)
	for i := range items {
		if i > 0 {
			out = append(out, ',')
		}
		if err := x.errs[i]; err != nil {
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
		out = append(out, '{')
		out = appendAnswerFields(out, &x.res[i], x.cached[i])
		out = rs.features.appendDefaulted(out, x.fetched[i].Defaulted)
		out = append(out, '}')
	}
	out = append(out, `],"latency_ms":`...)
	took := time.Since(start)
	out = appendLatency(out, took)
	out = append(out, `,"request_id":"`...)
	out = append(out, requestID...)
	out = append(out, `","route":`...)
	out = jsonenc.AppendString(out, route.Name())
	out = append(out, "}\n"...)
	st.body = out
	ctx.SetBody(out)
	g.settle(x, &c, took)
}
