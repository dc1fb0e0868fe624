package oip

import "github.com/infergate/infergate/registry"

// Schema is what the codec needs to know of a route: its features in order,
// each numeric or categorical. It is immutable and safe for concurrent use;
// build it once per routing snapshot, not per request.
type Schema struct {
	features []schemaFeature
	index    map[string]int // feature name → index in features
	// outputs are the model's outputs in the order a response lists them:
	// a binary classifier's probability and label, a multi-class one's
	// with its probabilities, a regression's value; then model_version and
	// target.
	outputs []Output
}

type schemaFeature struct {
	name string
	// nameBytes is the name the decoded rows carry: it belongs to the
	// schema, so a row's feature names never refer to a request's memory.
	nameBytes   []byte
	categorical bool
	// required: a request without it is refused (the others are imputed).
	required bool
}

// NewSchema returns the schema of sig's features, in sig's order. sig is
// expected to be valid (registry.Signature.Validate); a repeated name keeps
// its first entry.
func NewSchema(sig *registry.Signature) *Schema {
	s := &Schema{
		features: make([]schemaFeature, 0, len(sig.Features)),
		index:    make(map[string]int, len(sig.Features)),
	}
	s.outputs = schemaOutputs(sig)
	for i := range sig.Features {
		f := &sig.Features[i]
		if _, dup := s.index[f.Name]; dup {
			continue
		}
		s.index[f.Name] = len(s.features)
		s.features = append(s.features, schemaFeature{
			name:        f.Name,
			nameBytes:   []byte(f.Name),
			categorical: f.Type == registry.Categorical,
			required:    f.Required,
		})
	}
	return s
}

// WithInput returns a copy of s that also takes an input named name (a
// categorical one, BYTES, or a numeric one): the entity key of a route's
// feature view, which is no model feature but lets the gateway look the
// features up. s itself is returned when it has the input already.
func (s *Schema) WithInput(name string, categorical bool) *Schema {
	if _, ok := s.index[name]; ok {
		return s
	}
	c := &Schema{features: append(s.features[:len(s.features):len(s.features)], schemaFeature{
		name: name, nameBytes: []byte(name), categorical: categorical,
	}), index: make(map[string]int, len(s.index)+1), outputs: s.outputs}
	for k, v := range s.index {
		c.index[k] = v
	}
	c.index[name] = len(c.features) - 1
	return c
}

// lookup returns the index of the feature named name. Converting name in the
// map index does not allocate.
func (s *Schema) lookup(name []byte) (int, bool) {
	i, ok := s.index[string(name)]
	return i, ok
}

// Limits bound a request. Both must be positive.
type Limits struct {
	// MaxRows is the largest batch: the first dimension N of the inputs.
	MaxRows int
	// MaxElements is the largest number of tensor elements, summed over
	// every input of the request (the product of each input's shape).
	MaxElements int
	// MaxInputs is the largest number of inputs (features) of a request;
	// 0 means no limit.
	MaxInputs int
}

// schemaOutputs are the outputs a tabular model answers: a regression's
// value; a classifier's label, with its probability (and per class, over
// more than two) when it gives probabilities; then model_version and target.
func schemaOutputs(sig *registry.Signature) []Output {
	task := sig.Task()
	if task == registry.TaskRegression {
		return []Output{OutputValue, OutputModelVersion, OutputTarget}
	}
	specs := sig.OutputSpecs()
	probs := len(specs) == 0 // a signature that says nothing: the classic binary classifier
	for _, o := range specs {
		probs = probs || o.Kind == registry.KindProbabilities
	}
	switch {
	case !probs:
		return []Output{OutputLabel, OutputModelVersion, OutputTarget}
	case task == registry.TaskMulticlass:
		return []Output{OutputProbability, OutputLabel, OutputProbabilities, OutputModelVersion, OutputTarget}
	}
	return AllOutputs[:]
}
