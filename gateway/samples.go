package gateway

import (
	"errors"
	"fmt"
	"math"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// ErrBadSample marks a sample request that cannot be a drift reference of
// the model imported with it.
var ErrBadSample = errors.New("bad sample request")

// MaxSampleBytes bounds one sample request.
const MaxSampleBytes = 64 << 20

// Sample is one sample request given at import: what the model's inference
// requests look like, for drift monitoring of its tensor inputs.
type Sample struct {
	// Name is what errors call it: the file's name.
	Name string
	// Body is an Open Inference Protocol v2 inference request, as
	// POST /v2/models/NAME/infer takes (JSON).
	Body []byte
}

// SampleArtifacts returns the registry.ImportRequest.Artifacts that store the
// drift reference of samples (drift-profile.json): each sample is decoded
// against the imported model's inputs as a request to it would be, and the
// profile keeps the summary statistics of each numeric input. Errors wrap
// ErrBadSample and name the sample.
func SampleArtifacts(samples []Sample) func(*registry.Signature) (map[string][]byte, error) {
	return func(sig *registry.Signature) (map[string][]byte, error) {
		if sig.Tabular() {
			return nil, fmt.Errorf("%w: a model that takes features gets its drift reference from its training data (infergate train), not from sample requests", ErrBadSample)
		}
		schema := oip.NewTensorSchema(sig)
		// The sample's own size bounds it; a request's limits do not apply.
		lim := oip.Limits{MaxRows: math.MaxInt32, MaxElements: MaxSampleBytes}
		reqs := make([][]tensor.Tensor, len(samples))
		for i, s := range samples {
			var in oip.Request
			var t oip.TensorRequest
			if len(s.Body) > MaxSampleBytes {
				return nil, fmt.Errorf("%w %s: %d bytes, at most %d", ErrBadSample, s.Name, len(s.Body), MaxSampleBytes)
			}
			if err := in.DecodeTensors(s.Body, nil, schema, lim, &t); err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrBadSample, s.Name, err)
			}
			reqs[i] = t.Inputs
		}
		prof, err := drift.BuildInputProfile(reqs)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSample, err)
		}
		data, err := prof.Encode()
		if err != nil {
			return nil, err
		}
		return map[string][]byte{registry.DriftProfileFile: data}, nil
	}
}
