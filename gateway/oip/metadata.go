package oip

// Platform is the platform the model metadata reports: an ONNX model.
const Platform = "onnx_onnxv1"

// ServerMetadata is the answer of GET /v2, marshalled with encoding/json.
type ServerMetadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Extensions lists the protocol's extensions infergate implements, as
	// Triton names them.
	Extensions []string `json:"extensions"`
}

// NewServerMetadata returns the server metadata of infergate at version.
func NewServerMetadata(version string) ServerMetadata {
	return ServerMetadata{Name: "infergate", Version: version, Extensions: []string{"binary_tensor_data", "classification", "model_configuration", "statistics"}}
}

// TensorMetadata describes one input or output tensor. A dimension of -1
// is variable: the batch.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is the answer of GET /v2/models/{name}[/versions/{v}],
// marshalled with encoding/json.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// NewModelMetadata returns the metadata of the route name serving versions:
// one input per feature of s, in order (FP32 for a numeric feature, which
// also takes the other numeric datatypes, BYTES for a categorical one), of
// shape [-1, 1] as Triton shows a value a row (a request may send [N] or
// [N, 1]; perf_analyzer cannot generate inputs of rank 1), and the outputs
// every model has, of shape [N].
func NewModelMetadata(name string, versions []string, s *Schema) ModelMetadata {
	m := ModelMetadata{
		Name:     name,
		Platform: Platform,
		Inputs:   make([]TensorMetadata, 0, len(s.features)),
		Outputs:  make([]TensorMetadata, 0, len(s.outputs)),
	}
	if len(versions) > 0 {
		m.Versions = append([]string(nil), versions...)
	}
	for i := range s.features {
		dt := "FP32"
		if s.features[i].categorical {
			dt = "BYTES"
		}
		m.Inputs = append(m.Inputs, TensorMetadata{Name: s.features[i].name, Datatype: dt, Shape: []int64{-1, 1}})
	}
	for _, o := range s.outputs {
		shape := []int64{-1}
		if o == OutputProbabilities {
			shape = append(shape, -1)
		}
		m.Outputs = append(m.Outputs, TensorMetadata{Name: o.String(), Datatype: o.Datatype(), Shape: shape})
	}
	return m
}
