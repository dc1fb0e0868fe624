package trainer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infergate/infergate/internal/onnxpb"
)

// ONNX metadata_props keys written by ONNX.
const (
	MetaSignature = "infergate.signature"
	MetaTarget    = "infergate.target"
)

// ONNX returns the model as an ONNX file with input "features"
// [batch, width] and output "probability" [batch, 1], float32, the batch
// dimension dynamic. A logistic regression is Gemm(features, W, B) →
// Sigmoid; an MLP is a Gemm per layer (W as [in, out], B as [out]) with a
// Relu after each hidden one and a Sigmoid after the last. The bytes depend
// only on the trained model, so the same data, config and seed give
// byte-identical files; the model name and version are deliberately not
// embedded, so re-registering the same training yields the same
// model_sha256. The signature is embedded as JSON metadata, which makes the
// file self-describing outside the registry.
func (m *Model) ONNX() []byte {
	sig, err := json.Marshal(&m.Signature)
	if err != nil {
		panic(fmt.Sprintf("BUG: trainer: cannot encode signature: %v", err))
	}
	var graph onnxpb.Graph
	var doc string
	if len(m.Layers) > 0 {
		graph, doc = m.mlpGraph()
	} else {
		graph, doc = m.logRegGraph()
	}
	width := int64(m.Signature.Width())
	graph.Inputs = []onnxpb.ValueInfo{{
		Name: m.Signature.Input, Type: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Value: width}},
	}}
	graph.Outputs = []onnxpb.ValueInfo{{
		Name: m.Signature.Output.Name, Type: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Value: 1}},
	}}
	model := onnxpb.Model{
		ProducerName:    "infergate",
		ProducerVersion: TrainerVersion,
		DocString:       doc,
		Graph:           graph,
		Metadata: []onnxpb.KeyValue{
			{Key: MetaSignature, Value: string(sig)},
			{Key: MetaTarget, Value: m.Config.Target},
		},
	}
	return model.Marshal()
}

func (m *Model) logRegGraph() (onnxpb.Graph, string) {
	return onnxpb.Graph{
		Name: "logistic_regression",
		Nodes: []onnxpb.Node{
			{Name: "linear", Op: "Gemm", Inputs: []string{m.Signature.Input, "W", "B"}, Outputs: []string{"logit"}},
			{Name: "sigmoid", Op: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{m.Signature.Output.Name}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{int64(len(m.Weights)), 1}, Data: m.Weights},
			{Name: "B", Dims: []int64{1}, Data: []float32{m.Bias}},
		},
	}, "logistic regression trained by infergate: probability = sigmoid(features · W + B)"
}

func (m *Model) mlpGraph() (onnxpb.Graph, string) {
	g := onnxpb.Graph{Name: "mlp"}
	in := m.Signature.Input
	last := len(m.Layers) - 1
	doc := "features"
	for l := range m.Layers {
		layer := &m.Layers[l]
		w, b := fmt.Sprintf("W%d", l), fmt.Sprintf("B%d", l)
		g.Initializers = append(g.Initializers,
			onnxpb.Tensor{Name: w, Dims: []int64{int64(layer.In), int64(layer.Out)}, Data: layer.W},
			onnxpb.Tensor{Name: b, Dims: []int64{int64(layer.Out)}, Data: layer.B})
		linear := fmt.Sprintf("linear%d", l)
		out := m.Signature.Output.Name
		act, op := "sigmoid", "Sigmoid"
		if l < last {
			out, act, op = fmt.Sprintf("hidden%d", l), fmt.Sprintf("relu%d", l), "Relu"
		}
		g.Nodes = append(g.Nodes,
			onnxpb.Node{Name: linear, Op: "Gemm", Inputs: []string{in, w, b}, Outputs: []string{linear}},
			onnxpb.Node{Name: act, Op: op, Inputs: []string{linear}, Outputs: []string{out}})
		doc = fmt.Sprintf("%s(%s · %s + %s)", strings.ToLower(op), doc, w, b)
		in = out
	}
	return g, "multilayer perceptron trained by infergate: probability = " + doc
}
