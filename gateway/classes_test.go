package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/testmodels"
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

// TestMulticlassAndRegression serves a multi-class classifier with a label
// and a probabilities output, and a regression, through /v1 and /v2.
func TestMulticlassAndRegression(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	features := "input: float_input\nfeatures: [{name: petal_length, type: numeric, required: true}, {name: petal_width, type: numeric, required: true}]\n"
	importWritten(t, store, "iris", testmodels.SklearnStyle(), features+`outputs:
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

// TestFeedbackByKind: a multi-class classifier's labels are its classes
// (or their indexes) and its report an accuracy; a regression's labels are
// numbers and its report the MAE, RMSE and bias of its errors.
func TestFeedbackByKind(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	features := "input: float_input\nfeatures: [{name: a, type: numeric, required: true}, {name: b, type: numeric, required: true}]\n"
	importWritten(t, store, "iris", testmodels.SklearnStyle(), features+`outputs:
  - {name: label, kind: label, labels: [setosa, versicolor, virginica]}
  - {name: probabilities, kind: probabilities, labels: [setosa, versicolor, virginica]}
`)
	importWritten(t, store, "price", &onnxpb.Model{Graph: onnxpb.Graph{
		Name:         "linear",
		Nodes:        []onnxpb.Node{{Op: "Gemm", Inputs: []string{"float_input", "W", "B"}, Outputs: []string{"variable"}}},
		Initializers: []onnxpb.Tensor{{Name: "W", Dims: []int64{2, 1}, Data: []float32{2, -0.5}}, {Name: "B", Dims: []int64{1}, Data: []float32{10}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "float_input", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 2}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "variable", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 1}}}},
	}}, features+"outputs: [{name: variable, kind: regression}]\n")
	env, err := importEnv()
	if err != nil {
		t.Fatal(err)
	}
	table := loadTable(t, store, batcher.ONNXOpener{Env: env},
		router.RouteConfig{Name: "iris", Batching: batcher.Config{MaxBatchSize: 8}},
		router.RouteConfig{Name: "price", Batching: batcher.Config{MaxBatchSize: 8}})
	s := serveTable(t, table, gateway.Config{})
	predict := func(route, id string, a, b float64) {
		t.Helper()
		body := fmt.Sprintf(`{"model_id": %q, "features": {"a": %g, "b": %g}}`, route, a, b)
		if r := do(t, s.public, "POST", "/v1/predictions", body, "X-Request-Id", id); r.status != 200 {
			t.Fatalf("%s: %d %s", id, r.status, r.body)
		}
	}
	answer := func(r reply) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	report := func(route string) feedback.Report {
		t.Helper()
		var rep struct{ Versions []feedback.Report }
		r := do(t, s.admin, "GET", "/v1/models/"+route+"/feedback", "")
		if err := json.Unmarshal(r.body, &rep); err != nil || len(rep.Versions) != 1 {
			t.Fatalf("%s report: %d %s (%v)", route, r.status, r.body, err)
		}
		return rep.Versions[0]
	}

	// Logits of (2, 3): (2, 3, 1), versicolor; of (0, -4): (0, -4, -4), setosa.
	predict("iris", "i-1", 2, 3)
	predict("iris", "i-2", 0, -4)
	predict("iris", "i-3", 0, -4)
	wantError(t, label(t, s, "i-1", `"daisy"`, 400), 400, "invalid_field", "label")
	wantError(t, label(t, s, "i-1", "3", 400), 400, "invalid_field", "label")
	if a := answer(label(t, s, "i-1", `"versicolor"`, 200)); a["prediction"] != "versicolor" || a["label"] != "versicolor" || a["correct"] != true {
		t.Errorf("i-1: %v", a)
	}
	if a := answer(label(t, s, "i-2", "2", 200)); a["prediction"] != "setosa" || a["correct"] != false {
		t.Errorf("i-2 labelled by index 2 (virginica): %v", a)
	}
	label(t, s, "i-3", `"setosa"`, 200)
	if r := report("iris"); r.Kind != "classes" || r.Labels != 3 || math.Abs(r.Accuracy-2.0/3) > 1e-12 || r.MAE != nil {
		t.Errorf("iris report %+v, want kind classes, 3 labels, accuracy 2/3", r)
	}

	// 2a - b/2 + 10: 12 and 11.
	predict("price", "p-1", 2, 4)
	predict("price", "p-2", 1, 2)
	wantError(t, label(t, s, "p-1", `"high"`, 400), 400, "invalid_field", "label")
	if a := answer(label(t, s, "p-1", "13", 200)); a["prediction"] != 12.0 || a["label"] != 13.0 || a["error"] != -1.0 {
		t.Errorf("p-1: %v", a)
	}
	label(t, s, "p-2", "8", 200)
	if r := report("price"); r.Kind != "value" || r.Labels != 2 || r.MAE == nil || *r.MAE != 2 || *r.RMSE != math.Sqrt(5) || *r.Bias != 1 {
		t.Errorf("price report %+v, want MAE 2, RMSE √5, bias 1", r)
	}
}
