package gateway

import (
	"sync"
	"time"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router"
)

// The prediction pipeline. Every protocol is a codec around it: the codec
// decodes its body into an exchange's requests (a row of features each, or
// one tensor request of all its rows), the pipeline answers them, the codec
// encodes the answers, and the pipeline settles them. A single row is an
// exchange of one. Nothing here knows a wire format.

// exchange is one client request on its way through a route: its requests
// and, index for index, their answers. Each codec's pooled state holds one
// (so a request costs no pool round trip of its own), used between begin
// and end; nothing may retain it after the handler returns.
type exchange struct {
	reqs   []*router.Request
	serve  []*router.Request // what ServeAll computes: nil for failed and cached requests
	res    []router.Result
	errs   []error
	cached []bool
	keys   [][]byte // the requests' cache keys (buffers kept across requests)
	fill   []bool   // the cache takes request i's answer, under keys[i]
	// The requests' online features: what FetchAll reads and answers.
	sets      []*features.Set
	fetched   []featurefetch.Result
	fetchErrs []error
	logKey    []byte // a logged prediction's key in the feedback store
}

// begin readies x for n requests, each acquired, and returns x. The
// buffers only some routes use (cache keys, a batch's feature lookups)
// are sized where they are used.
func (x *exchange) begin(n int) *exchange {
	x.reqs = resize(x.reqs, n)
	for i := range x.reqs {
		x.reqs[i] = router.AcquireRequest()
	}
	x.serve = resize(x.serve, n)
	x.res = resize(x.res, n)
	x.errs = resize(x.errs, n)
	x.cached = resize(x.cached, n)
	x.fill = resize(x.fill, n)
	x.fetched = resize(x.fetched, n)
	return x
}

// end releases x's requests, and with them their answers. What x still
// points to is pooled or long-lived, and begin clears it.
func (x *exchange) end() {
	for _, req := range x.reqs {
		router.ReleaseRequest(req)
	}
}

// adopt readies x for the caller's requests, answered into the caller's
// res and errs: the requests stay the caller's (drop, not end). A nil
// request is skipped.
func (x *exchange) adopt(reqs []*router.Request, res []router.Result, errs []error) {
	n := len(reqs)
	x.reqs, x.res, x.errs = reqs, res[:n], errs[:n]
	clear(x.res)
	clear(x.errs)
	x.serve = resize(x.serve, n)
	x.cached = resize(x.cached, n)
	x.fill = resize(x.fill, n)
	x.fetched = resize(x.fetched, n)
}

// drop forgets the caller's requests and answers adopt gave x.
func (x *exchange) drop() {
	x.reqs, x.res, x.errs = nil, nil, nil
}

// Offline is the pipeline over one route for callers that are not HTTP
// clients (infergate score's chunks of a file): their requests go the way a
// client request's rows go, through the route's pick, the pinned version,
// the model's encoding and the router, all together, without the stages
// that watch live traffic or belong to a route's serving config (the
// response cache, online features, the feedback log, drift windows and
// shadows). It is safe for concurrent use.
type Offline struct {
	c call
}

// NewOffline returns the offline pipeline over route.
func NewOffline(route *router.Route) *Offline {
	return &Offline{c: call{route: route, rs: &routeState{}}}
}

// Route is the route o answers through.
func (o *Offline) Route() *router.Route { return o.c.route }

var offlineExchanges = sync.Pool{New: func() any { return new(exchange) }}

// AnswerAll answers reqs together: res[i] and errs[i] are reqs[i]'s answer
// and error, as Route.Serve gives them. A nil request is skipped (its error
// stays nil). res and errs must be at least as long as reqs.
func (o *Offline) AnswerAll(reqs []*router.Request, res []router.Result, errs []error) {
	x := offlineExchanges.Get().(*exchange)
	defer offlineExchanges.Put(x)
	x.adopt(reqs, res, errs)
	defer x.drop()
	x.answer(&o.c)
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

// resizeKeys is resize for cache keys, keeping each slot's buffer (at
// length 0) for the next request's key.
func resizeKeys(keys [][]byte, n int) [][]byte {
	for len(keys) < n {
		keys = append(keys[:cap(keys)], nil)
	}
	keys = keys[:n]
	for i := range keys {
		keys[i] = keys[i][:0]
	}
	return keys
}

// call is what the pipeline needs of a client request beside its rows.
type call struct {
	route  *router.Route
	rs     *routeState
	pinned *router.Target // the version a model_id or path named; nil for the route's split
	// allOrNothing stops at the first request that fails: the protocol
	// answers all of them or none (v2).
	allOrNothing bool
	// Who asked, under which id, and when: what settle logs. numbered
	// logs request i of several as ID/i.
	key       *auth.Key
	requestID []byte
	numbered  bool
	start     time.Time
}

// answer runs x's requests through c's route: their online features, the
// pinned version, the model's input encoding, the response cache, then the
// router (canary split, fallback chain, batcher) for those the cache did
// not answer, all together. A request that fails has its error in x.errs;
// one the cache answered has x.cached set.
func (x *exchange) answer(c *call) {
	x.fetchFeatures(c.rs)
	cache := c.rs.cache
	if cache != nil {
		x.keys = resizeKeys(x.keys, len(x.reqs))
	}
	for i, req := range x.reqs {
		if req == nil {
			continue // an offline caller's row that failed before the pipeline
		}
		if x.errs[i] != nil {
			if c.allOrNothing {
				return
			}
			continue
		}
		req.Pin(c.pinned)
		input, err := c.route.Prepare(req)
		if err != nil {
			x.errs[i] = err
			if c.allOrNothing {
				return
			}
			continue
		}
		if x.lookup(cache, req, input, i) {
			continue
		}
		x.serve[i] = req
	}
	c.route.ServeAll(x.serve, x.res, x.errs)
}

// lookup looks request i up in the route's cache, when it has one and the
// target picked for it is a model, and reports a hit (its answer in
// x.res[i]). On a miss, x.fill[i] says the cache takes the answer.
func (x *exchange) lookup(cache *routeCache, req *router.Request, input []float32, i int) bool {
	if cache == nil || req.Picked() == nil || req.Picked().Model() == nil {
		return false
	}
	version := req.Picked().Model().Version()
	if req.Tensors != nil {
		x.keys[i] = appendTensorKey(x.keys[i][:0], version, req.Tensors)
	} else {
		x.keys[i] = appendKey(x.keys[i][:0], version, input)
	}
	e, hit := cache.get(x.keys[i])
	if hit {
		e.answer(&x.res[i], version, req.Picked())
	}
	x.cached[i], x.fill[i] = hit, !hit
	return hit
}

// fetchFeatures looks the requests' online features up (one round trip to
// the store for all of them where it can), before they are prepared: a
// request whose lookup fails gets its error, one whose policy says fall
// back skips the route's models. The cache's similarity mode rounds the
// request's features before the lookup (its entity key too) and after it.
func (x *exchange) fetchFeatures(rs *routeState) {
	rf, cache := rs.features, rs.cache
	if cache != nil {
		for _, req := range x.reqs {
			cache.roundFeatures(&req.Features)
		}
	}
	if rf == nil {
		return
	}
	if len(x.reqs) == 1 && x.errs[0] == nil {
		// One request: Fetch, which FetchAll's scratch would cost an
		// allocation.
		x.fetched[0], x.errs[0] = rf.vf.Fetch(&x.reqs[0].Features, x.reqs[0].Deadline)
	} else {
		x.sets = resize(x.sets, len(x.reqs))
		x.fetchErrs = resize(x.fetchErrs, len(x.reqs))
		var deadline time.Time
		for i, req := range x.reqs {
			if x.errs[i] == nil {
				x.sets[i], deadline = &req.Features, req.Deadline
			}
		}
		rf.vf.FetchAll(x.sets, deadline, x.fetched, x.fetchErrs)
		for i := range x.reqs {
			if x.sets[i] != nil && x.fetchErrs[i] != nil {
				x.errs[i] = x.fetchErrs[i]
			}
		}
	}
	for i, req := range x.reqs {
		if x.fetched[i].Fallback && x.errs[i] == nil {
			req.SkipModels()
		}
		if cache != nil {
			cache.roundFeatures(&req.Features)
		}
	}
}

// settle does what follows a client request's answer once the codec has
// encoded it, took after the request's start (the latency the answer
// reports): the route's metrics count it, and for each answered request,
// cached ones too, the cache takes a model's fresh answer, the feedback log
// records it under the request id (ID, or ID/i for the rows of a numbered
// request), drift counts it into the answering version's window, and the
// router mirrors it to its shadows. Failed requests are skipped.
func (g *Gateway) settle(x *exchange, c *call, took time.Duration) {
	rs := c.rs
	rs.stats.countOK(took)
	for i, req := range x.reqs {
		if x.errs[i] != nil {
			continue
		}
		res := &x.res[i]
		if x.fill[i] && !res.Fallback {
			rs.cache.put(x.keys[i], req, res)
		}
		row := -1
		if c.numbered {
			row = i
		}
		x.logKey = g.logPrediction(x.logKey, rs, c.key, c.requestID, row, res, c.start)
		rs.observe(req, res)
		c.route.Mirror(req, res, took)
	}
}
