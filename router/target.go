package router

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/breaker"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router/remote"
	"github.com/infergate/infergate/router/rules"
)

// Model is a loaded model version: its registry metadata, the encoder of its
// signature, and the batcher in front of its instances. Targets of a table
// that name the same version share one Model.
type Model struct {
	meta    *registry.Version
	encoder *registry.Encoder // nil for a model that takes tensors
	batcher *batcher.Batcher
	spec    batcher.Spec
	// outputs is the number of the model's outputs; answer says where a
	// tabular model's answer is among them.
	outputs int
	answer  answerSpec
	// pads apply the signature's pad rules (tensor models only).
	pads []padder
}

// bindSignature checks that the model's tensors are what its signature
// says: for a tabular model, one float32 input of the encoder's width, and
// an output of width 1 by the signature's output name.
func (m *Model) bindSignature() error {
	m.spec = m.batcher.Spec()
	if !m.Tabular() {
		return m.bindTensors()
	}
	spec := m.spec
	want := []int64{-1, int64(m.encoder.Width())}
	if len(spec.Inputs) != 1 || spec.Inputs[0].DType != tensor.Float32 || !tensor.SameDims(spec.Inputs[0].Shape, want) {
		return fmt.Errorf("%w: want one float32 input of shape %s (the signature's %d columns), got %s",
			ErrUnsupportedModel, tensor.ShapeString(want), m.encoder.Width(), describe(spec.Inputs))
	}
	m.outputs = len(spec.Outputs)
	return m.bindAnswer()
}

// describe lists tensors for messages: x float32 [-1,3], y int64 [-1].
func describe(infos []TensorInfo) string {
	parts := make([]string, len(infos))
	for i, t := range infos {
		parts[i] = fmt.Sprintf("%s %s %s", t.Name, t.DType, tensor.ShapeString(t.Shape))
	}
	return strings.Join(parts, ", ")
}

// Name is the registry model name.
func (m *Model) Name() string { return m.meta.Model }

// Version is the registry version, e.g. "1.0.0".
func (m *Model) Version() string { return m.meta.Version }

// Meta is the version's registry metadata. It must not be modified.
func (m *Model) Meta() *registry.Version { return m.meta }

// Encoder turns request features into the model's input row.
func (m *Model) Encoder() *registry.Encoder { return m.encoder }

// Predict computes the answer of one encoded row into res, waiting at most
// until deadline. Errors are the batcher's (errors.Is batcher.ErrRejected,
// ErrModelFailed…) and *InputError for an answer out of range.
func (m *Model) Predict(row []float32, res *Result, deadline time.Time) error {
	var req Request
	req.input = row
	if err := m.run(&req, deadline); err != nil {
		return err
	}
	return m.read(req.outs[:m.outputs], res, &req.probs)
}

// run computes req's encoded row through the model's batcher.
func (m *Model) run(req *Request, deadline time.Time) error {
	req.shape = append(req.shape[:0], 1, int64(len(req.input)))
	req.in[0] = tensor.Tensor{Name: m.meta.Signature.Input, DType: tensor.Float32, Shape: req.shape, Data: tensor.BytesOf(req.input)}
	for len(req.outs) < m.outputs {
		req.outs = append(req.outs, tensor.Tensor{})
	}
	return m.batcher.DoPriority(req.in[:], req.outs[:m.outputs], deadline, req.Priority)
}

// QueueDepth is the number of requests waiting in the model's batcher.
func (m *Model) QueueDepth() int { return m.batcher.QueueDepth() }

// Placement says where each of the model's instances runs ("cpu", "gpu 0").
func (m *Model) Placement() []string { return m.batcher.Placement() }

// Batching is the configuration the model's batcher runs with.
func (m *Model) Batching() batcher.Config { return m.batcher.Config() }

// Stats are the model's batcher's statistics since it started.
func (m *Model) Stats() batcher.Stats { return m.batcher.Stats() }

// Target is one way a route can answer: a model version, a remote endpoint,
// rules or a static answer, with its own breaker, timeout, retries and
// metrics. A Target is safe for concurrent use.
type Target struct {
	name    string
	kind    Kind
	timeout time.Duration
	retry   RetryConfig
	breaker *breaker.Breaker
	metrics targetMetrics

	model  *Model           // KindModel
	remote *remote.Client   // KindRemote
	rules  *rules.Set       // KindRules
	static staticAnswer     // KindStatic
	labels *registry.Output // labels answers that carry only a probability
	// tensorModel encodes the row a v2 remote target sends: the route's
	// primary model's signature.
	tensorModel *Model
}

type staticAnswer struct {
	label string
	p     float64
	// outputs are a tensor route's answer: one row of each output
	// (batched: the rows are tiled to a request's).
	outputs []tensor.Tensor
	batched bool
}

// Name is the target's name in the route ("primary" for the route's own).
func (t *Target) Name() string { return t.name }

// Kind is the target's kind.
func (t *Target) Kind() Kind { return t.kind }

// Model is a model target's model version, or nil.
func (t *Target) Model() *Model { return t.model }

// Breaker is the state of the target's circuit breaker.
func (t *Target) Breaker() BreakerState { return t.breaker.State() }

// waits reports whether a call to t takes time worth a share of the
// deadline: model and remote targets do; rules and static answer at once.
func (t *Target) waits() bool { return t.kind == KindModel || t.kind == KindRemote }

// reason classifies why a call failed, for metrics, fallbacks and responses.
type reason uint8

const (
	reasonOK reason = iota
	reasonBreakerOpen
	reasonTimeout
	reasonQueueFull
	reasonUnavailable
	reasonFailed
	reasonInvalidInput
	reasonClosed
	reasonNoRule
	reasonFeaturesUnavailable
	numReasons
)

var reasonNames = [numReasons]string{"ok", "breaker_open", "timeout", "queue_full", "unavailable", "failed", "invalid_input", "closed", "no_rule_matched", "features_unavailable"}

func (r reason) String() string { return reasonNames[r] }

// errNoRule is a rules target's answer when no rule matches the request.
var errNoRule = errors.New("no rule matched the request")

func classify(err error) reason {
	switch {
	case err == nil:
		return reasonOK
	case errors.Is(err, errBreakerOpen):
		return reasonBreakerOpen
	case errors.Is(err, ErrInvalidInput), errors.Is(err, remote.ErrRejected), errors.Is(err, batcher.ErrShape):
		return reasonInvalidInput
	case errors.Is(err, batcher.ErrDeadlineExceeded), errors.Is(err, batcher.ErrComputeTimeout), errors.Is(err, remote.ErrTimeout):
		return reasonTimeout
	case errors.Is(err, batcher.ErrQueueFull):
		return reasonQueueFull
	case errors.Is(err, batcher.ErrClosed):
		return reasonClosed
	case errors.Is(err, remote.ErrUnavailable):
		return reasonUnavailable
	case errors.Is(err, errNoRule):
		return reasonNoRule
	}
	return reasonFailed
}

// retryable reports whether another call might succeed where err failed: not
// after a timeout (the deadline share is spent), an open breaker, a closed
// model or bad input.
func retryable(r reason) bool {
	return r == reasonQueueFull || r == reasonUnavailable || r == reasonFailed
}

// targetMetrics are a target's series, made at load so the request path only
// increments them.
type targetMetrics struct {
	calls    [numReasons]*metrics.Counter
	duration *metrics.Histogram
}

func newTargetMetrics(set *metrics.Set, route, target string) targetMetrics {
	var m targetMetrics
	labels := fmt.Sprintf(`route=%s,target=%s`, strconv.Quote(route), strconv.Quote(target))
	for r := range numReasons {
		m.calls[r] = set.NewCounter(fmt.Sprintf(`infergate_target_calls_total{%s,result=%q}`, labels, r.String()))
	}
	m.duration = set.NewHistogram(`infergate_target_duration_seconds{` + labels + `}`)
	return m
}

// call is one call of a target for a request. It lives in the Request, so
// that passing it through the breaker allocates nothing.
type call struct {
	req      *Request
	t        *Target
	res      *Result
	deadline time.Time
}

func (c *call) run() (struct{}, error) { return struct{}{}, c.attempt() }

// invoke calls t for req, from start until deadline, with the retries its
// config and the deadline allow, and records the outcome in its metrics.
func (t *Target) invoke(req *Request, res *Result, deadline, start time.Time) (reason, error) {
	c := &req.call
	*c = call{req: req, t: t, res: res, deadline: deadline}
	var err error
	callStart := start
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			callStart = time.Now()
		}
		err = t.breaker.Do(c.run)
		r := classify(err)
		if r == reasonOK || attempt >= t.retry.Attempts || !retryable(r) {
			break
		}
		backoff := t.retry.Backoff << attempt
		if backoff <= 0 || backoff > t.retry.MaxBackoff {
			backoff = t.retry.MaxBackoff
		}
		// Full jitter spreads the retries of many clients apart.
		backoff = time.Duration(rand.Int64N(int64(backoff)) + 1)
		// Retry only when a call as long as the last still fits.
		if !deadline.IsZero() && time.Until(deadline) < backoff+time.Since(callStart) {
			break
		}
		time.Sleep(backoff)
	}
	r := classify(err)
	t.metrics.calls[r].Inc()
	if r == reasonOK {
		t.metrics.duration.UpdateDuration(start)
	}
	return r, err
}

// attempt makes one call of the target.
func (c *call) attempt() error {
	t, req, res := c.t, c.req, c.res
	switch t.kind {
	case KindModel:
		return t.callModel(req, res, c.deadline)
	case KindRemote:
		return t.callRemote(req, res, c.deadline)
	case KindRules:
		m, ok := t.rules.Eval(&req.Features)
		if !ok {
			return errNoRule
		}
		t.answer(res, m.Prediction, m.Probability, "")
		return nil
	case KindStatic:
		if t.static.outputs != nil {
			t.callStatic(req, res)
			return nil
		}
		t.answer(res, t.static.label, t.static.p, "")
		return nil
	}
	panic("BUG: target " + t.name + " has no kind")
}

func (t *Target) callModel(req *Request, res *Result, deadline time.Time) error {
	m := t.model
	if !m.Tabular() {
		return t.callTensors(req, res, deadline)
	}
	if err := req.encode(m); err != nil {
		return err
	}
	if err := m.run(req, deadline); err != nil {
		return err
	}
	if err := m.read(req.outs[:m.outputs], res, &req.probs); err != nil {
		return err
	}
	res.Outputs = req.outs[:m.outputs]
	res.ModelVersion = m.meta.Version
	res.Target = t
	return nil
}

func (t *Target) callRemote(req *Request, res *Result, deadline time.Time) error {
	if req.Tensors != nil {
		return t.callRemoteTensors(req, res, deadline)
	}
	a := &req.answer
	var err error
	if t.remote.TakesRow() {
		if err = req.encode(t.tensorModel); err != nil {
			return err
		}
		err = t.remote.PredictTensor(req.input, deadline, a)
	} else {
		err = t.remote.PredictFeatures(&req.Features, deadline, a)
	}
	if err != nil {
		return err
	}
	t.answer(res, a.Label, a.Probability, a.Version)
	return nil
}

// answer fills res for a target that computes no label of its own when label
// is empty.
func (t *Target) answer(res *Result, label string, p float64, version string) {
	if label == "" && t.labels != nil {
		label = t.labels.LabelFor(p)
	}
	res.Probability, res.Label, res.ModelVersion, res.Target = p, label, version, t
}

// close releases what the target holds itself; models are closed by the
// table, which shares them between targets.
func (t *Target) close() {
	if t.remote != nil {
		t.remote.Close()
	}
}

// callRemoteTensors sends a tensor route's request to a v2 remote, every
// input by its name, and answers with the outputs of the route's model.
func (t *Target) callRemoteTensors(req *Request, res *Result, deadline time.Time) error {
	m := t.tensorModel
	for len(req.outs) < m.outputs {
		req.outs = append(req.outs, tensor.Tensor{})
	}
	outs := req.outs[:m.outputs]
	for j, info := range m.spec.Outputs {
		outs[j].Name, outs[j].DType = info.Name, info.DType
	}
	a := &req.answer
	if err := t.remote.PredictTensors(req.Tensors, outs, deadline, a); err != nil {
		return err
	}
	res.Outputs = outs
	res.ModelVersion = a.Version
	res.Target = t
	return nil
}
