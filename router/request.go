package router

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router/remote"
)

// Request is one prediction request on its way through a route. Requests are
// pooled (AcquireRequest, ReleaseRequest) and must not be retained after
// release; the caller fills Features, StickyKey and Deadline.
type Request struct {
	// Features are the request's raw features.
	Features features.Set
	// StickyKey is the value of the route's canary sticky header
	// (Route.StickyHeader), when the caller has one.
	StickyKey []byte
	// Deadline is when the answer is due; zero means none.
	Deadline time.Time
	// Priority is the request's priority level for the models' batchers
	// (batching.priority_levels): 1 is the highest; 0 is the default level.
	Priority int
	// Tensors are a tensor route's request (see Route.Tabular): one tensor
	// per model input, named as the input, all of the request's rows. The
	// caller owns them; they must stay valid until the answer is read.
	Tensors []tensor.Tensor

	picked *Target
	pinned *Target // set by Pin: the only target that may answer
	// skipModels is set by SkipModels: no model target may answer.
	skipModels bool
	// row holds the input encoded for rowModel; Serve reuses the encoding
	// Prepare made for the cache key.
	row      *registry.Row
	rowModel *Model
	input    []float32
	// in, shape and outs carry the encoded row to the model's batcher and
	// its outputs back; reused, so a request allocates nothing.
	in     [1]tensor.Tensor
	shape  []int64
	outs   []tensor.Tensor
	mapped []tensor.Tensor // Tensors in the answering model's input order
	padded []tensor.Tensor // the padded copies of inputs (Model.pads), reused
	probs  []float32       // a classifier's class probabilities, which Result views
	answer remote.Answer   // reused, so that a remote's answer allocates nothing
	call   call
	keyBuf []byte
}

// maxPooledPadding is the largest padded input a pooled request keeps:
// one huge request should not pin its memory in the pool.
const maxPooledPadding = 1 << 20

var requestPool = sync.Pool{New: func() any { return new(Request) }}

// AcquireRequest returns an empty Request from the pool.
func AcquireRequest() *Request { return requestPool.Get().(*Request) }

// ReleaseRequest returns req to the pool; it must not be used afterwards.
func ReleaseRequest(req *Request) {
	req.reset()
	requestPool.Put(req)
}

func (req *Request) reset() {
	req.Features.Reset()
	req.StickyKey = nil
	req.Deadline, req.Priority = time.Time{}, 0
	req.picked, req.pinned, req.skipModels = nil, nil, false
	req.releaseRow()
	req.in[0] = tensor.Tensor{}
	req.Tensors = nil
	clear(req.mapped)
	req.mapped = req.mapped[:0]
	for i := range req.padded {
		if cap(req.padded[i].Data) > maxPooledPadding {
			req.padded[i] = tensor.Tensor{}
		}
	}
	req.call = call{}
}

func (req *Request) releaseRow() {
	if req.row != nil {
		req.rowModel.encoder.ReleaseRow(req.row)
		req.row, req.rowModel, req.input = nil, nil, nil
	}
}

// Pin makes t the only target that may answer req: no canary split, no
// fallback (a client that names a model version wants that version's answer
// or an error). t must be a target of the route that serves req.
func (req *Request) Pin(t *Target) { req.pinned = t }

// SkipModels makes Serve answer req from the route's fallbacks that are not
// models (rules, static, remote): the request lacks features that the
// models need and that only the feature store could give, and the store's
// policy for them says fall back. Call it before Prepare.
func (req *Request) SkipModels() { req.skipModels = true }

// Picked is the target Prepare chose for the request (primary or canary).
func (req *Request) Picked() *Target { return req.picked }

// Result is how a request was answered.
type Result struct {
	// Kind is what the answer holds: a binary classifier's probability and
	// label, a classifier's probabilities per class, label and the
	// predicted class's probability (the positive class's, of two), or a
	// regression's Value.
	Kind AnswerKind
	// Probability is the positive class's (binary) or the predicted
	// class's; NaN for a value, or a label without probabilities.
	Probability float64
	// Label is the prediction of a classifier: the probability's label.
	Label string
	// Value is a regression's answer; NaN otherwise.
	Value float64
	// Probabilities are a classifier's per class, in the order of the
	// answering model's Classes; nil for other answers. They belong to
	// the Request.
	Probabilities []float32
	// Outputs are a tensor route's answer: every output of the model (or
	// static target) that answered, named, all rows. They belong to the
	// Request and are valid until it is released.
	Outputs []tensor.Tensor
	// ModelVersion is the version that computed the answer: a model
	// target's, the one a remote reported, or empty for rules and static.
	ModelVersion string
	// Target served the answer.
	Target *Target
	// Fallback is true when Target is not the one picked for the request.
	Fallback bool
	// Reason says why the picked target did not answer ("timeout",
	// "breaker_open"…); empty when it did.
	Reason string
}

// ErrInvalidInput classifies errors about a request's features: the client
// must change its request. Such errors are *InputError.
var ErrInvalidInput = errors.New("invalid input")

// InputError says which feature of a request a model cannot take and why.
type InputError struct {
	// Field is the path of the offending value, e.g. "features.tenure_months".
	Field string
	// Missing is true when a required feature is absent.
	Missing bool
	Msg     string
}

func (e *InputError) Error() string { return e.Msg }

// Unwrap makes every InputError errors.Is ErrInvalidInput.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// encode encodes req's features for m into req.input, reusing an encoding
// made for m already.
func (req *Request) encode(m *Model) error {
	if req.rowModel == m {
		return nil
	}
	req.releaseRow()
	enc := m.encoder
	row := enc.AcquireRow()
	req.row, req.rowModel = row, m
	f := &req.Features
	for i := 0; i < f.Len(); i++ {
		feat := f.At(i)
		col, ok := enc.Lookup(feat.Name)
		if !ok {
			// Not a model input (an entity key, say).
			continue
		}
		sf := enc.Feature(col)
		switch {
		case sf.Type == registry.Numeric && feat.Kind == features.Number:
			row.SetNumber(col, feat.Num)
		case sf.Type == registry.Categorical && feat.Kind == features.String:
			row.SetCategory(col, feat.Str)
		case sf.Type == registry.Numeric:
			req.releaseRow()
			return &InputError{Field: "features." + sf.Name,
				Msg: fmt.Sprintf("feature %q must be a number, got %s", sf.Name, feat.TypeName())}
		default:
			req.releaseRow()
			return &InputError{Field: "features." + sf.Name,
				Msg: fmt.Sprintf("feature %q must be a string (one of %q or any other value), got %s", sf.Name, sf.Vocabulary, feat.TypeName())}
		}
	}
	input, err := row.Finish()
	if err != nil {
		req.releaseRow()
		var fe *registry.FeatureError
		field := "features"
		if errors.As(err, &fe) {
			field = "features." + fe.Feature
		}
		return &InputError{Field: field, Missing: true,
			Msg: err.Error() + "; model " + strconv.Quote(m.Name()) + " needs it in features"}
	}
	if col := nonFinite(input); col >= 0 {
		// JSON numbers such as 1e999, or a value whose standardised form
		// overflows float32, would turn into a probability of NaN: not a
		// number JSON can carry.
		name := featureAtColumn(enc, col)
		req.releaseRow()
		return &InputError{Field: "features." + name,
			Msg: fmt.Sprintf("feature %q is out of range: it must be a finite number whose standardised value fits a float32", name)}
	}
	req.input = input
	return nil
}

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
