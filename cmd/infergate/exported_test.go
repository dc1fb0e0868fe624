package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/runtime"
)

// serveAndCompare starts the binary on config and waits until it is ready;
// it returns the public API's base URL, a client for it, and an ONNX
// Runtime environment to run the same models directly.
func serveAndCompare(t *testing.T, dir, config string) (string, *http.Client, *runtime.Environment) {
	t.Helper()
	addrs := freeAddrs(t, 2)
	s := startServer(t, dir, "--config", config, "--listen", addrs[0], "--admin-listen", addrs[1])
	client := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	base := "http://" + addrs[0]
	s.waitReady(t, client, base+"/readyz")
	env, err := runtime.Open(runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	return base, client, env
}

// directRun runs rows through the model at path in ONNX Runtime itself,
// batch rows a run (as the gateway's batcher groups them), and returns
// every output as float64s (labels as their integers).
func directRun(t *testing.T, env *runtime.Environment, path string, rows [][]float32, batch int, shapes map[string][]int64) map[string][]float64 {
	t.Helper()
	s, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: batch, Shapes: shapes})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	out := map[string][]float64{}
	for chunk := range slices.Chunk(rows, batch) {
		in, err := s.Input(0, []int64{int64(len(chunk)), int64(len(chunk[0]))})
		if err != nil {
			t.Fatal(err)
		}
		data := tensor.Float32s(in.Data)
		for i, row := range chunk {
			copy(data[i*len(row):], row)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		for j, info := range s.Outputs() {
			o := s.Output(j)
			for k := range o.Len() {
				out[info.Name] = append(out[info.Name], o.Float64At(k))
			}
		}
	}
	return out
}

// post sends body to path and decodes the JSON answer into v.
func post(t *testing.T, client *http.Client, url, body string, v any) {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s", url, body, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
}

type v2Answer struct {
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name     string
		Datatype string
		Shape    []int
		Data     []any
	}
}

// numbers returns output name's data as float64s (strings are left out).
func (a *v2Answer) numbers(name string) []float64 {
	for _, o := range a.Outputs {
		if o.Name == name {
			var v []float64
			for _, d := range o.Data {
				if f, ok := d.(float64); ok {
					v = append(v, f)
				}
			}
			return v
		}
	}
	return nil
}

// TestServeExportedModels imports what users export — a scikit-learn
// pipeline through skl2onnx, a LightGBM classifier through onnxmltools, a
// PyTorch MLP through torch.onnx.export — with the binary, serves them, and
// checks every output element against ONNX Runtime's own run of the same
// inputs, through /v2 and, for the tabular ones, /v1.
func TestServeExportedModels(t *testing.T) {
	t.Parallel()
	models := testmodels.Exported(t)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	features := func(input string, n int) string {
		s := "input: " + input + "\nfeatures:\n"
		for i := range n {
			s += fmt.Sprintf("  - {name: f%d, type: numeric, required: true}\n", i)
		}
		return s
	}
	irisSig := write("iris.yaml", features("X", 4)+`outputs:
  - {name: label, kind: label, labels: [setosa, versicolor, virginica]}
  - {name: probabilities, kind: probabilities, labels: [setosa, versicolor, virginica]}
`)
	// onnxmltools declares LightGBM's label [1]: it is one per row.
	lgbmSig := write("lgbm.yaml", features("input", 5)+`outputs:
  - {name: label, shape: [-1], kind: label, labels: ["no", "yes"]}
  - {name: probabilities, kind: probabilities, labels: ["no", "yes"]}
`)
	for _, args := range [][]string{
		{filepath.Join(models, "sklearn_pipeline.onnx"), "--model", "iris", "--version", "1.0.0", "--signature", irisSig},
		{filepath.Join(models, "lightgbm.onnx"), "--model", "lgbm", "--version", "1.0.0", "--signature", lgbmSig},
		{filepath.Join(models, "torch_mlp.onnx"), "--model", "mlp", "--version", "1.0.0"},
	} {
		if r := run(t, dir, append([]string{"registry", "import", "--registry", reg}, args...)...); r.code != 0 {
			t.Fatalf("registry import %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	config := write("infergate.yaml", fmt.Sprintf(`registry: {root: %s}
routes:
  - {name: iris, batching: {max_batch_size: 16, max_queue_delay: 1ms}}
  - {name: lgbm, batching: {max_batch_size: 16, max_queue_delay: 1ms}}
  - {name: mlp, batching: {max_batch_size: 16, max_queue_delay: 1ms}}
auth: {mode: off, admin: {mode: off, audit_log: %q}}
`, reg, filepath.Join(dir, "audit.log")))
	base, client, env := serveAndCompare(t, dir, config)
	rng := rand.New(rand.NewPCG(11, 11))
	rowsOf := func(n, width int) [][]float32 {
		rows := make([][]float32, n)
		for i := range rows {
			rows[i] = make([]float32, width)
			for j := range rows[i] {
				rows[i][j] = float32(math.Round((rng.NormFloat64()*3)*1000) / 1000)
			}
		}
		return rows
	}
	diff := func(a, b []float64) float64 {
		if len(a) != len(b) {
			t.Fatalf("%d values, want %d", len(a), len(b))
		}
		d := 0.0
		for i := range a {
			d = max(d, math.Abs(float64(float32(a[i]))-float64(float32(b[i]))))
		}
		return d
	}

	const maxBatch = 16 // the routes' max_batch_size
	for _, m := range []struct {
		route, file string
		width       int
		classes     []string
		shapes      map[string][]int64
	}{
		{"iris", "sklearn_pipeline.onnx", 4, []string{"setosa", "versicolor", "virginica"}, nil},
		{"lgbm", "lightgbm.onnx", 5, []string{"no", "yes"}, map[string][]int64{"label": {-1}}},
	} {
		binary := len(m.classes) == 2 // answers the second class's probability
		rows := rowsOf(20, m.width)
		path := filepath.Join(models, m.file)
		want := map[int]map[string][]float64{1: directRun(t, env, path, rows, 1, m.shapes), maxBatch: directRun(t, env, path, rows, maxBatch, m.shapes)}
		wantProbs := func(batch int) []float64 {
			p := want[batch]["probabilities"]
			if !binary {
				return p
			}
			var positive []float64
			for i := 1; i < len(p); i += 2 {
				positive = append(positive, p[i])
			}
			return positive
		}
		// /v1, one row a request.
		var gotProbs, gotLabels []float64
		for _, row := range rows {
			f := map[string]float32{}
			for j, v := range row {
				f[fmt.Sprintf("f%d", j)] = v
			}
			body, _ := json.Marshal(map[string]any{"model_id": m.route, "features": f})
			var a struct {
				Prediction    string
				Probability   float64
				Probabilities map[string]float64
			}
			post(t, client, base+"/v1/predictions", string(body), &a)
			gotLabels = append(gotLabels, float64(slices.Index(m.classes, a.Prediction)))
			if binary {
				gotProbs = append(gotProbs, a.Probability)
				continue
			}
			for _, c := range m.classes {
				gotProbs = append(gotProbs, a.Probabilities[c])
			}
		}
		d1 := max(diff(gotProbs, wantProbs(1)), diff(gotLabels, want[1]["label"]))
		// /v2, every row in one request: one input per feature.
		var inputs []map[string]any
		for j := range m.width {
			col := make([]float32, len(rows))
			for i := range rows {
				col[i] = rows[i][j]
			}
			inputs = append(inputs, map[string]any{"name": fmt.Sprintf("f%d", j), "datatype": "FP32", "shape": []int{len(rows)}, "data": col})
		}
		probs := "probabilities"
		if binary {
			probs = "probability"
		}
		body, _ := json.Marshal(map[string]any{"inputs": inputs, "outputs": []map[string]string{{"name": probs}, {"name": "label"}}})
		var a v2Answer
		post(t, client, base+"/v2/models/"+m.route+"/infer", string(body), &a)
		var labels []float64
		for _, d := range a.Outputs[1].Data {
			labels = append(labels, float64(slices.Index(m.classes, d.(string))))
		}
		d2 := max(diff(a.numbers(probs), wantProbs(maxBatch)), diff(labels, want[maxBatch]["label"]))
		t.Logf("%s (%s): 20 rows, largest difference from ONNX Runtime: /v1 %g, /v2 %g", m.route, m.file, d1, d2)
		if d1 != 0 || d2 != 0 {
			t.Errorf("%s differs from ONNX Runtime's own run", m.route)
		}
	}

	// The PyTorch MLP takes its tensor: all rows in one request.
	rows := rowsOf(12, 8)
	want := directRun(t, env, filepath.Join(models, "torch_mlp.onnx"), rows, maxBatch, nil)
	var flat []float32
	for _, r := range rows {
		flat = append(flat, r...)
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{12, 8}, "data": flat}}})
	var a v2Answer
	post(t, client, base+"/v2/models/mlp/infer", string(body), &a)
	d := diff(a.numbers("y"), want["y"])
	t.Logf("mlp (torch_mlp.onnx): 12 rows in one request, shape %v, largest difference from ONNX Runtime %g", a.Outputs[0].Shape, d)
	if d != 0 || !slices.Equal(a.Outputs[0].Shape, []int{12, 3}) {
		t.Errorf("mlp: shape %v, difference %g", a.Outputs[0].Shape, d)
	}
}
