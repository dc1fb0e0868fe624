package trainer

import (
	"encoding/json"
	"fmt"

	"github.com/infergate/infergate/internal/onnxpb"
)

// ONNX metadata_props keys written by ONNX.
const (
	MetaSignature = "infergate.signature"
	MetaTarget    = "infergate.target"
)

// ONNX returns the model as an ONNX file: Gemm(features, W, B) → Sigmoid,
// with input "features" [batch, width] and output "probability" [batch, 1],
// float32. The bytes depend only on the trained model, so the same data,
// config and seed give byte-identical files; the model name and version are
// deliberately not embedded, so re-registering the same training yields the
// same model_sha256. The signature is embedded as JSON metadata, which makes
// the file self-describing outside the registry.
func (m *Model) ONNX() []byte {
	width := int64(len(m.Weights))
	sig, err := json.Marshal(&m.Signature)
	if err != nil {
		panic(fmt.Sprintf("BUG: trainer: cannot encode signature: %v", err))
	}
	model := onnxpb.Model{
		ProducerName:    "infergate",
		ProducerVersion: TrainerVersion,
		DocString:       "logistic regression trained by infergate: probability = sigmoid(features · W + B)",
		Graph: onnxpb.Graph{
			Name: "logistic_regression",
			Nodes: []onnxpb.Node{
				{Name: "linear", Op: "Gemm", Inputs: []string{m.Signature.Input, "W", "B"}, Outputs: []string{"logit"}},
				{Name: "sigmoid", Op: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{m.Signature.Output.Name}},
			},
			Initializers: []onnxpb.Tensor{
				{Name: "W", Dims: []int64{width, 1}, Data: m.Weights},
				{Name: "B", Dims: []int64{1}, Data: []float32{m.Bias}},
			},
			Inputs: []onnxpb.ValueInfo{{
				Name: m.Signature.Input, Type: onnxpb.Float,
				Shape: []onnxpb.Dim{{Param: "batch"}, {Value: width}},
			}},
			Outputs: []onnxpb.ValueInfo{{
				Name: m.Signature.Output.Name, Type: onnxpb.Float,
				Shape: []onnxpb.Dim{{Param: "batch"}, {Value: 1}},
			}},
		},
		Metadata: []onnxpb.KeyValue{
			{Key: MetaSignature, Value: string(sig)},
			{Key: MetaTarget, Value: m.Config.Target},
		},
	}
	return model.Marshal()
}
