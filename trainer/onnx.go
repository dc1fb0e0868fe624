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
// [batch, width] float32, the batch dimension dynamic, and the output of its
// task: a binary classifier's "probability" [batch, 1], a multi-class
// classifier's "probabilities" [batch, classes], a regression's "value"
// [batch, 1]. A binary logistic regression is Gemm(features, W, B) →
// Sigmoid; every other model is a Gemm per layer (W as [in, out], B as
// [out]) with a Relu after each hidden one, and after the last a Sigmoid
// (binary), a Softmax over the classes (multiclass) or nothing (regression,
// whose last layer already holds the target's scale). The bytes depend only
// on the trained model, so the same data, config and seed give
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
		graph, doc = m.layersGraph()
	} else {
		graph, doc = m.logRegGraph()
	}
	output, width := m.output()
	graph.Inputs = []onnxpb.ValueInfo{{
		Name: m.Signature.Input, Type: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(m.Signature.Width())}},
	}}
	graph.Outputs = []onnxpb.ValueInfo{{
		Name: output, Type: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Value: width}},
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

// output is the name and row width of the model's one output tensor: a
// binary classifier's legacy Output, or the task's OutputSpec.
func (m *Model) output() (name string, width int64) {
	specs := m.Signature.OutputSpecs()
	if len(specs) == 0 || len(specs[0].Shape) < 2 {
		panic("BUG: trainer: the signature describes no [batch, width] output")
	}
	return specs[0].Name, specs[0].Shape[1]
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

// layersGraph is the graph of m.Layers: an MLP of any task, or the linear
// model of a multi-class classifier or a regression. A binary MLP's nodes,
// names and doc string are those it always had.
func (m *Model) layersGraph() (onnxpb.Graph, string) {
	output, _ := m.output()
	name, kind := "mlp", "multilayer perceptron"
	if len(m.Layers) == 1 {
		name, kind = "linear_regression", "linear regression"
		if m.Task() == TaskMulticlass {
			name, kind = "softmax_regression", "softmax regression"
		}
	}
	g := onnxpb.Graph{Name: name}
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
		act := onnxpb.Node{Name: fmt.Sprintf("relu%d", l), Op: "Relu", Inputs: []string{linear}, Outputs: []string{fmt.Sprintf("hidden%d", l)}}
		if l == last {
			switch m.Task() {
			case TaskMulticlass:
				act = onnxpb.Node{Name: "softmax", Op: "Softmax", Inputs: []string{linear}, Outputs: []string{output},
					Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}}
			case TaskRegression:
				// No activation: the last Gemm writes the output itself.
				g.Nodes = append(g.Nodes, onnxpb.Node{Name: linear, Op: "Gemm", Inputs: []string{in, w, b}, Outputs: []string{output}})
				doc = fmt.Sprintf("%s · %s + %s", doc, w, b)
				continue
			default:
				act = onnxpb.Node{Name: "sigmoid", Op: "Sigmoid", Inputs: []string{linear}, Outputs: []string{output}}
			}
		}
		g.Nodes = append(g.Nodes,
			onnxpb.Node{Name: linear, Op: "Gemm", Inputs: []string{in, w, b}, Outputs: []string{linear}},
			act)
		doc = fmt.Sprintf("%s(%s · %s + %s)", strings.ToLower(act.Op), doc, w, b)
		in = act.Outputs[0]
	}
	return g, kind + " trained by infergate: " + output + " = " + doc
}
