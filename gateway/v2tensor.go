package gateway

import (
	"errors"
	"sync"
	"time"

	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// tensorState is the per-request scratch of a v2 request to a route that
// takes tensors, pooled.
type tensorState struct {
	req       oip.TensorRequest
	body      []byte
	requestID [requestIDLen]byte
	x         exchange
}

var tensorStatePool = sync.Pool{New: func() any { return new(tensorState) }}

// serveV2Tensors answers POST /v2/models/NAME[/versions/V]/infer for a route
// whose model takes tensors: the request's inputs, checked against the
// model, go through the route as one request of all their rows (canary,
// fallbacks, cache, shadow), and its outputs come back as tensors, as many
// as asked for, or classified.
func (g *Gateway) serveV2Tensors(ctx *fasthttp.RequestCtx, key *auth.Key, route *router.Route, rs *routeState, pinned *router.Target, in *oip.Request, body, tail []byte, start, deadline time.Time) {
	stats := rs.stats
	ts := tensorStatePool.Get().(*tensorState)
	defer tensorStatePool.Put(ts)
	lim := oip.Limits{MaxRows: g.cfg.MaxInstances, MaxElements: g.cfg.MaxElements}
	if err := in.DecodeTensors(body, tail, rs.tensors, lim, &ts.req); err != nil {
		status := fasthttp.StatusBadRequest
		var oe *oip.Error
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
	x := ts.x.begin(1)
	defer x.end()
	x.reqs[0].Tensors = ts.req.Inputs
	bindRequest(ctx, x.reqs[0], route, deadline)
	bindPriority(x.reqs[0], in)
	c := call{route: route, rs: rs, pinned: pinned, allOrNothing: true, key: key, start: start}
	x.answer(&c)
	if err := x.errs[0]; err != nil {
		g.v2PredictError(ctx, route.Name(), "", err)
		stats.countError(ctx, start)
		return
	}
	setCacheHeader(ctx, x)
	res := &x.res[0]
	out, headerLen, err := oip.AppendTensorResponse(ts.body[:0], route.Name(), res.ModelVersion, in, &ts.req, rs.tensors, res.Outputs)
	ts.body = out
	if err != nil {
		g.v2Error(ctx, fasthttp.StatusInternalServerError, err.Error())
		stats.countError(ctx, start)
		return
	}
	c.requestID = setRequestID(ctx, ts.requestID[:0])
	ctx.Response.Header.Set(headerRoute, route.Name())
	ctx.Response.Header.Set(headerTarget, res.Target.Name())
	if res.ModelVersion != "" {
		ctx.Response.Header.Set(headerModelVersion, res.ModelVersion)
	}
	if res.Fallback {
		ctx.Response.Header.Set(headerFallback, res.Reason)
	}
	ts.body = setV2Body(ctx, ts.body, headerLen)
	g.settle(x, &c, time.Since(start))
}
