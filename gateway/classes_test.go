package gateway_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// importWritten writes m and imports it into store with the signature yaml.
func importWritten(t *testing.T, store *registry.Store, name string, m *onnxpb.Model, sig string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := registry.ParseSignatureFile([]byte(sig), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(registry.ImportRequest{Model: name, Version: "1.0.0", Source: dir, Signature: file, Check: ortChecker(t)}); err != nil {
		t.Fatal(err)
	}
}

// sklearnStyle is a classifier as skl2onnx exports one: an int64 "label"
// (ArgMax) and "probabilities" (Softmax) over three classes, from two
// features.
func sklearnStyle() *onnxpb.Model {
	return &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "sklearn-style",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"float_input", "W", "B"}, Outputs: []string{"logits"}},
			{Op: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"probabilities"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
			{Op: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"label"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1), onnxpb.IntAttr("keepdims", 0)}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{2, 3}, Data: []float32{1, 0, -1, 0, 1, 1}},
			{Name: "B", Dims: []int64{3}, Data: []float32{0, 0, 0}},
		},
		Inputs: []onnxpb.ValueInfo{{Name: "float_input", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 2}}}},
		Outputs: []onnxpb.ValueInfo{
			{Name: "label", Type: onnxpb.Int64, Shape: []onnxpb.Dim{{Param: "N"}}},
			{Name: "probabilities", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 3}}},
		},
	}}
}

// TestMulticlassAndRegression serves a multi-class classifier with a label
// and a probabilities output, and a regression, through /v1 and /v2.
func TestMulticlassAndRegression(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	features := "input: float_input\nfeatures: [{name: petal_length, type: numeric, required: true}, {name: petal_width, type: numeric, required: true}]\n"
	importWritten(t, store, "iris", sklearnStyle(), features+`outputs:
  - {name: label, kind: label, labels: [setosa, versicolor, virginica]}
  - {name: probabilities, kind: probabilities, labels: [setosa, versicolor, virginica]}
`)
	importWritten(t, store, "price", &onnxpb.Model{Graph: onnxpb.Graph{
		Name:         "linear",
		Nodes:        []onnxpb.Node{{Op: "Gemm", Inputs: []string{"float_input", "W", "B"}, Outputs: []string{"variable"}}},
		Initializers: []onnxpb.Tensor{{Name: "W", Dims: []int64{2, 1}, Data: []float32{2, -0.5}}, {Name: "B", Dims: []int64{1}, Data: []float32{10}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "float_input", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 2}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "variable", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 1}}}},
	}}, strings.ReplaceAll(features, "petal_", "")+"outputs: [{name: variable, kind: regression}]\n")

	env, err := importEnv()
	if err != nil {
		t.Fatal(err)
	}
	table := loadTable(t, store, batcher.ONNXOpener{Env: env},
		router.RouteConfig{Name: "iris", Batching: batcher.Config{MaxBatchSize: 8}},
		router.RouteConfig{Name: "price", Batching: batcher.Config{MaxBatchSize: 8}})
	s := serveTable(t, table, gateway.Config{})

	unmarshal := func(r reply, v any) {
		t.Helper()
		if err := json.Unmarshal(r.body, v); err != nil || r.status != 200 {
			t.Fatalf("%d %s (%v)", r.status, r.body, err)
		}
	}
	// Logits (2, 3, 1): versicolor, p ≈ (0.245, 0.665, 0.090).
	var iris struct {
		Prediction    string
		Probability   float64
		Probabilities map[string]float64
	}
	unmarshal(do(t, s.public, "POST", "/v1/predictions", `{"model_id": "iris", "features": {"petal_length": 2, "petal_width": 3}}`), &iris)
	if iris.Prediction != "versicolor" || iris.Probability < 0.66 || iris.Probability > 0.67 || len(iris.Probabilities) != 3 || iris.Probabilities["virginica"] > 0.1 {
		t.Errorf("iris /v1: %+v", iris)
	}
	var price map[string]any
	unmarshal(do(t, s.public, "POST", "/v1/predictions", `{"model_id": "price", "features": {"length": 2, "width": 4}}`), &price)
	if price["prediction"] != 12.0 || price["probability"] != nil {
		t.Errorf("price /v1: %v, want prediction 12 and no probability", price)
	}

	r := do(t, s.public, "POST", "/v2/models/iris/infer", `{"inputs": [
		{"name": "petal_length", "datatype": "FP32", "shape": [2], "data": [2, 0]},
		{"name": "petal_width", "datatype": "FP32", "shape": [2], "data": [3, -4]}]}`)
	var v2 struct {
		Outputs []struct {
			Name  string
			Shape []int
			Data  []json.RawMessage
		}
	}
	unmarshal(r, &v2)
	got := map[string]string{}
	for _, o := range v2.Outputs {
		b, _ := json.Marshal(o.Data)
		got[o.Name] = string(b)
	}
	if got["label"] != `["versicolor","setosa"]` || !strings.HasPrefix(got["probabilities"], "[0.24") || len(v2.Outputs) != 5 {
		t.Errorf("iris /v2: %s", r.body)
	}
	r = do(t, s.public, "POST", "/v2/models/price/infer", `{"inputs": [
		{"name": "length", "datatype": "FP64", "shape": [1], "data": [1]},
		{"name": "width", "datatype": "FP64", "shape": [1], "data": [2]}]}`)
	if !strings.Contains(string(r.body), `{"name":"value","datatype":"FP64","shape":[1],"data":[11]}`) {
		t.Errorf("price /v2: %s", r.body)
	}
	md := do(t, s.public, "GET", "/v2/models/price", "")
	if !strings.Contains(string(md.body), `"outputs":[{"name":"value","datatype":"FP64","shape":[-1]}`) {
		t.Errorf("price metadata: %s", md.body)
	}
}
