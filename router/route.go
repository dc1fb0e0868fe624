package router

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/registry"
)

// Errors a target returns, re-exported from package batcher so that callers
// (the gateway) classify them without depending on how a target is served.
// ErrQueueFull, ErrDeadlineExceeded and ErrClosed are all errors.Is
// ErrRejected: the request was never computed.
var (
	ErrRejected         = batcher.ErrRejected
	ErrQueueFull        = batcher.ErrQueueFull
	ErrDeadlineExceeded = batcher.ErrDeadlineExceeded
	ErrClosed           = batcher.ErrClosed
	ErrComputeTimeout   = batcher.ErrComputeTimeout
	ErrModelFailed      = batcher.ErrModelFailed
)

// ErrUnavailable is what Serve returns when every target of the chain failed
// with an error that is not one of the batcher's (a remote endpoint down,
// rules that matched nothing); it wraps the first target's error.
var ErrUnavailable = errors.New("no target of the route could answer")

// Route is one public model name: its primary target, the other targets its
// config names, and the canary and shadow state that goes with them.
type Route struct {
	name    string
	ref     string
	primary *Target
	targets []*Target // primary first, then the config's order
	// fallbacks are tried in order after the picked target (and, for a
	// canary request, the primary).
	fallbacks []*Target
	aliases   map[string]string
	canary    *canary // nil without a canary
	shadow    *shadow // nil without shadows

	served    map[*Target]*metrics.Counter
	fallenOff map[*Target]*[numReasons]*metrics.Counter
}

// Name is the public model name.
func (r *Route) Name() string { return r.name }

// Ref is the registry reference the route's primary was configured with.
func (r *Route) Ref() string { return r.ref }

// Target is the primary's model: the one that serves the route's requests
// when no canary or fallback is involved.
func (r *Route) Target() *Model { return r.primary.model }

// Primary is the route's primary target.
func (r *Route) Primary() *Target { return r.primary }

// Targets are the route's targets, primary first.
func (r *Route) Targets() []*Target { return r.targets }

// ModelTarget returns the route's model target that serves version, or nil.
func (r *Route) ModelTarget(version string) *Target {
	for _, t := range r.targets {
		if t.model != nil && t.model.Version() == version {
			return t
		}
	}
	return nil
}

// Fallbacks are the targets tried after the picked one fails, in order.
func (r *Route) Fallbacks() []*Target { return r.fallbacks }

// Aliases are the registry aliases of the route's model when it was loaded.
func (r *Route) Aliases() map[string]string { return r.aliases }

// StickyHeader is the header whose value keeps a client on one side of the
// route's canary, or "" when the canary is not sticky by header (or there is
// none). The caller copies its value into Request.StickyKey.
func (r *Route) StickyHeader() string {
	if r.canary == nil {
		return ""
	}
	return r.canary.stickyHeader
}

// Prepare picks the target that should answer req (the canary candidate for
// its share of the traffic, else the primary) and, when it is a model,
// encodes req's features for it: the encoded row is the response cache's key
// and Serve reuses it. input is nil when the picked target is not a model.
// An error is an *InputError: the client's request is at fault.
//
// A canary candidate that cannot take the request (its signature needs a
// feature the request lacks) does not fail it: the request goes to the
// primary, and the candidate's miss is counted as a fallback.
func (r *Route) Prepare(req *Request) (input []float32, err error) {
	if req.skipModels {
		// Serve walks the fallbacks itself; nothing to encode or cache.
		req.picked = nil
		return nil, nil
	}
	req.picked = r.pick(req)
	m := req.picked.model
	if m == nil || !m.Tabular() {
		// A tensor request needs no encoding: its tensors are the key.
		return nil, nil
	}
	err = req.encode(m)
	if err != nil && req.picked != r.primary && req.pinned == nil {
		r.fallenOff[req.picked][reasonInvalidInput].Inc()
		req.picked = r.primary
		err = req.encode(r.primary.model)
	}
	if err != nil {
		return nil, err
	}
	return req.input, nil
}

// Serve answers req, which Prepare has prepared, into res: the picked target,
// then for a canary request the primary, then the fallbacks in order. A
// target whose breaker is open is skipped at once; each target that waits
// (a model or remote one) gets an even share of the time left to the
// deadline among the waiting targets still ahead, capped by its timeout. An
// error means no target answered; an *InputError means the primary cannot
// take the request as it is (the client must fix it, no fallback is tried).
func (r *Route) Serve(req *Request, res *Result) error {
	*res = Result{}
	if req.skipModels {
		return r.serveWithoutModels(req, res)
	}
	picked := req.picked
	if picked == nil {
		picked = r.pick(req)
		req.picked = picked
	}
	start := time.Now()
	why, firstErr := r.try(picked, req, res, 0, start)
	if r.canary != nil && r.canary.analysed() {
		r.canary.record(picked != r.primary, why, time.Since(start))
	}
	if why == reasonOK {
		r.served[picked].Inc()
		return nil
	}
	if req.pinned != nil {
		return firstErr
	}
	if why == reasonInvalidInput && picked == r.primary {
		return firstErr
	}
	res.Reason = why.String()
	pos := 1
	if picked != r.primary {
		if r.next(r.primary, req, res, pos) {
			return nil
		}
		pos++
	}
	for _, t := range r.fallbacks {
		if t == picked {
			continue
		}
		if r.next(t, req, res, pos) {
			return nil
		}
		pos++
	}
	if errors.Is(firstErr, ErrRejected) || errors.Is(firstErr, ErrModelFailed) || errors.Is(firstErr, ErrComputeTimeout) {
		// The picked model's own error says best what went wrong.
		return firstErr
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, picked.name, firstErr)
}

// serveWithoutModels answers a request its models cannot take (SkipModels)
// from the first fallback that is not a model; the primary's fallback is
// counted with the reason features_unavailable.
func (r *Route) serveWithoutModels(req *Request, res *Result) error {
	r.fallenOff[r.primary][reasonFeaturesUnavailable].Inc()
	res.Reason = reasonFeaturesUnavailable.String()
	pos := 1
	for _, t := range r.fallbacks {
		if t.kind == KindModel {
			continue
		}
		if r.next(t, req, res, pos) {
			return nil
		}
		pos++
	}
	return fmt.Errorf("%w: features the models need are unavailable and no rules, static or remote fallback answered; add one to routes[%s].fallbacks", ErrUnavailable, r.name)
}

// next tries t as the pos-th tier and reports whether it answered.
func (r *Route) next(t *Target, req *Request, res *Result, pos int) bool {
	reason := res.Reason
	why, _ := r.try(t, req, res, pos, time.Now())
	if why != reasonOK {
		return false
	}
	res.Fallback, res.Reason = true, reason
	r.served[t].Inc()
	return true
}

// try calls t, the pos-th tier of req's chain, with its share of the
// deadline as of now, and counts a failure as a fallback away from t. The
// caller reads the clock (once per tier: it is a tenth of a fast request's
// cost, read everywhere).
func (r *Route) try(t *Target, req *Request, res *Result, pos int, now time.Time) (reason, error) {
	deadline := r.share(t, req, pos, now)
	why, err := t.invoke(req, res, deadline, now)
	if why != reasonOK {
		r.fallenOff[t][why].Inc()
	}
	return why, err
}

// instantReserve is the time kept back from the waiting tiers when a rules
// or static tier follows, so that it can still answer before the deadline.
const instantReserve = time.Millisecond

// share is the deadline of t's call as the pos-th tier of req's chain,
// starting now.
func (r *Route) share(t *Target, req *Request, pos int, now time.Time) time.Time {
	if req.Deadline.IsZero() {
		if t.timeout > 0 {
			return now.Add(t.timeout)
		}
		return time.Time{}
	}
	if !t.waits() {
		return req.Deadline
	}
	waiting, instantAfter := r.ahead(req.picked, pos)
	left := req.Deadline.Sub(now)
	if instantAfter {
		left -= min(instantReserve, left/10)
	}
	d := left / time.Duration(max(waiting, 1))
	if t.timeout > 0 && t.timeout < d {
		d = t.timeout
	}
	return now.Add(d)
}

// ahead counts the waiting tiers from pos on in the chain of a request that
// picked picked, and reports whether a rules or static tier follows them.
func (r *Route) ahead(picked *Target, pos int) (waiting int, instantAfter bool) {
	i := 0
	visit := func(t *Target) {
		if i >= pos {
			if t.waits() {
				waiting++
			} else {
				instantAfter = true
			}
		}
		i++
	}
	visit(picked)
	if picked != r.primary {
		visit(r.primary)
	}
	for _, t := range r.fallbacks {
		if t != picked {
			visit(t)
		}
	}
	return waiting, instantAfter
}

// Mirror hands req to the route's shadow targets, when it is sampled, after
// res answered the client; latency is how long the answer took. It never
// blocks: when the shadow queue is full the request is dropped and counted.
func (r *Route) Mirror(req *Request, res *Result, latency time.Duration) {
	// A request that skipped the models lacks what a shadow model needs.
	if r.shadow != nil && !req.skipModels {
		r.shadow.offer(req, res, latency)
	}
}

// Table is an immutable set of routes. Canary weights and analysis, shadow
// reports and breakers are run-time state that lives beside it.
type Table struct {
	byName  map[string]*Route
	routes  []*Route // sorted by name
	models  []*Model
	metrics *metrics.Set
	store   *registry.Store
}

// Lookup returns the route named name, or nil.
func (t *Table) Lookup(name []byte) *Route {
	return t.byName[string(name)]
}

// Routes returns the routes in name order. The slice must not be modified.
func (t *Table) Routes() []*Route { return t.routes }

// Store is the registry the table's models were resolved in.
func (t *Table) Store() *registry.Store { return t.store }

// Close stops the canary analyses and shadow workers, drains and closes
// every model of the table, and unregisters its metrics.
func (t *Table) Close() error {
	var errs []error
	for _, r := range t.routes {
		if r.canary != nil {
			r.canary.stop()
		}
		if r.shadow != nil {
			r.shadow.close()
		}
		for _, tg := range r.targets {
			tg.close()
		}
	}
	for _, m := range t.models {
		if err := m.batcher.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cannot close model %s %s: %w", m.Name(), m.Version(), err))
		}
	}
	if t.metrics != nil {
		metrics.UnregisterSet(t.metrics, true)
		t.metrics = nil
	}
	return errors.Join(errs...)
}

// ServeAll serves several prepared requests of one batch (a /v1 request
// with instances, an offline scoring chunk) at once, so that they reach the
// batcher together and are computed in as few batches as possible: res[i]
// and errs[i] are reqs[i]'s answer, as Serve gives them. A nil request is
// skipped (its Prepare failed). The caller's goroutine serves the last
// request itself, and a single request costs no more than Serve.
func (r *Route) ServeAll(reqs []*Request, res []Result, errs []error) {
	if len(reqs) == 1 {
		if reqs[0] != nil {
			errs[0] = r.Serve(reqs[0], &res[0])
		}
		return
	}
	r.serveTogether(reqs, res, errs)
}

// serveTogether is ServeAll for several requests. Apart from ServeAll, so
// that its WaitGroup, which the goroutines' closures move to the heap,
// costs a single request nothing.
func (r *Route) serveTogether(reqs []*Request, res []Result, errs []error) {
	var wg sync.WaitGroup
	last := len(reqs) - 1
	for i, req := range reqs {
		if req == nil {
			continue
		}
		if i == last {
			errs[i] = r.Serve(req, &res[i])
			break
		}
		wg.Go(func() { errs[i] = r.Serve(req, &res[i]) })
	}
	wg.Wait()
}

// TensorInfo describes one model input or output (package runtime's, via
// the batcher).
type TensorInfo = batcher.TensorInfo

// ErrUnsupportedModel: a model whose tensors its signature or its route
// cannot use.
var ErrUnsupportedModel = batcher.ErrUnsupportedModel
