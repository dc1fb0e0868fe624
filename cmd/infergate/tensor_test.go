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
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/runtime"
)

// liteOCR writes a model that takes what PaddleOCR's classifier takes (x
// float32 [-1,3,48,192]) and answers what it answers (softmax_0.tmp_0
// [-1,2]) from the image's mean colour: a candidate that disagrees with
// the real model often enough for the shadow report to show it.
func liteOCR(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "lite.onnx")
	m := onnxpb.Model{Graph: onnxpb.Graph{
		Name: "lite",
		Nodes: []onnxpb.Node{
			{Op: "GlobalAveragePool", Inputs: []string{"x"}, Outputs: []string{"pooled"}},
			{Op: "Flatten", Inputs: []string{"pooled"}, Outputs: []string{"colour"}},
			{Op: "Gemm", Inputs: []string{"colour", "W", "B"}, Outputs: []string{"logits"}},
			{Op: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"softmax_0.tmp_0"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{3, 2}, Data: []float32{40, -40, -30, 30, 5, -5}},
			{Name: "B", Dims: []int64{2}, Data: []float32{0, 0}},
		},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 3}, {Value: 48}, {Value: 192}}}},
		Outputs: []onnxpb.ValueInfo{{Name: "softmax_0.tmp_0", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 2}}}},
	}}
	if err := os.WriteFile(p, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// image is a random 48×192 image in [-1, 1), as PaddleOCR normalises them.
func image(rng *rand.Rand) []float32 {
	x := make([]float32, 3*48*192)
	bias := rng.Float32()*0.2 - 0.1
	for i := range x {
		x[i] = rng.Float32()*2 - 1 + bias
	}
	return x
}

// v2Infer posts one image to route's infer endpoint.
func v2Infer(t *testing.T, client *http.Client, base, route string, x []float32, headers ...string) (status int, h http.Header, out struct {
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name     string
		Datatype string
		Shape    []int64
		Data     []json.RawMessage
	}
	Error string
}) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{1, 3, 48, 192}, "data": x}}})
	req, _ := http.NewRequest(http.MethodPost, base+"/v2/models/"+route+"/infer", bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("answer %s: %v", data, err)
	}
	return resp.StatusCode, resp.Header, out
}

func floats(t *testing.T, data []json.RawMessage) []float64 {
	t.Helper()
	v := make([]float64, len(data))
	for i, d := range data {
		if err := json.Unmarshal(d, &v[i]); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// TestServeTensorRoute imports PaddleOCR's classifier (and a candidate) and
// openWakeWord's detector with the binary, serves them, and checks through
// HTTP what a user of a tensor route relies on: answers equal to ONNX
// Runtime's own, the cache, a sticky canary, the shadow report, the static
// fallback, and 400s that name the input.
func TestServeTensorRoute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	wake := testmodels.Path(t, testmodels.WakeWord)
	sig := filepath.Join(dir, "ocr.yaml")
	if err := os.WriteFile(sig, []byte("inputs: [{name: x, shape: [-1, 3, 48, 192]}]\noutputs: [{name: softmax_0.tmp_0, kind: probabilities, labels: [\"0\", \"180\"]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Sample requests of two images each: the drift reference of x.
	sampleRNG := rand.New(rand.NewPCG(8, 8))
	var samples []string
	for i := range 3 {
		body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{2, 3, 48, 192},
			"data": append(image(sampleRNG), image(sampleRNG)...)}}})
		p := filepath.Join(dir, fmt.Sprintf("sample-%d.json", i))
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, "--sample", p)
	}
	for _, args := range [][]string{
		append([]string{ocr, "--model", "ocr-direction", "--version", "1.0.0", "--signature", sig}, samples...),
		{liteOCR(t, dir), "--model", "ocr-lite", "--version", "1.0.0", "--signature", sig},
		{wake, "--model", "hello-deepa", "--version", "1.0.0"},
	} {
		if r := run(t, dir, append([]string{"registry", "import", "--registry", reg}, args...)...); r.code != 0 {
			t.Fatalf("registry import %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	config := filepath.Join(dir, "infergate.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`registry: {root: %s}
routes:
  - name: ocr
    model: ocr-direction
    batching: {max_batch_size: 8, max_queue_delay: 1ms, instances: 2}
    targets:
      - {name: lite, model: ocr-lite, version: production}
      - name: upright
        static: {outputs: [{name: softmax_0.tmp_0, data: [1, 0]}]}
    canary: {target: lite, weight: 50, sticky: {header: X-User}}
    shadow: {targets: [lite], compare: {by: label}}
    fallbacks: [upright]
    cache: {enabled: true}
  - name: ocr-plain
    model: ocr-direction
    batching: {max_batch_size: 8, max_queue_delay: 1ms, instances: 2}   # the version's one batcher, as ocr's
    drift: {sample_rate: 1, min_samples: 20}
  - name: wake
    model: hello-deepa
auth: {mode: off, admin: {mode: off, audit_log: %q}}
`, reg, filepath.Join(dir, "audit.log"))), 0o644); err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 2)
	s := startServer(t, dir, "--config", config, "--listen", addrs[0], "--admin-listen", addrs[1])
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	public, admin := "http://"+addrs[0], "http://"+addrs[1]
	s.waitReady(t, client, public+"/readyz")

	env, err := runtime.Open(runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Close() }()
	direct := func(path string, x []float32, shape []int64) []float32 {
		t.Helper()
		sess, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sess.Close() }()
		in, err := sess.Input(0, shape)
		if err != nil {
			t.Fatal(err)
		}
		copy(tensor.Float32s(in.Data), x)
		if err := sess.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), tensor.Float32s(sess.Output(0).Data)...)
	}

	// Answers as ONNX Runtime gives them, the primary's for users on its
	// side of the canary, the candidate's for the others; each user always
	// on one side.
	rng := rand.New(rand.NewPCG(7, 7))
	worst, sides := 0.0, map[string]int{}
	lite := filepath.Join(dir, "lite.onnx")
	for u := range 24 {
		x := image(rng)
		user := fmt.Sprintf("user-%d", u)
		var target string
		for range 2 {
			status, h, out := v2Infer(t, client, public, "ocr", x, "X-User", user)
			if status != 200 || len(out.Outputs) != 1 {
				t.Fatalf("user %s: %d %+v", user, status, out)
			}
			if target != "" && h.Get("X-Infergate-Target") != target {
				t.Fatalf("user %s moved from %s to %s", user, target, h.Get("X-Infergate-Target"))
			}
			target = h.Get("X-Infergate-Target")
			model := ocr
			if target == "lite" {
				model = lite
			}
			want := direct(model, x, []int64{1, 3, 48, 192})
			got := floats(t, out.Outputs[0].Data)
			for k := range want {
				// float32 both: the answer is float32 printed in its shortest form.
				worst = max(worst, math.Abs(float64(float32(got[k])-want[k])))
			}
		}
		sides[target]++
	}
	t.Logf("24 users: %v; largest difference from a direct ONNX Runtime run %g", sides, worst)
	if sides["primary"] == 0 || sides["lite"] == 0 {
		t.Errorf("canary at 50%%: sides %v", sides)
	}
	if worst > 1e-6 {
		t.Errorf("answers differ from ONNX Runtime's by up to %g", worst)
	}

	// The cache: the same image again is a hit, with the same answer.
	x := image(rng)
	_, h1, first := v2Infer(t, client, public, "ocr", x, "X-User", "cache")
	_, h2, second := v2Infer(t, client, public, "ocr", x, "X-User", "cache")
	if h1.Get("X-Infergate-Cache") != "miss" || h2.Get("X-Infergate-Cache") != "hit" || fmt.Sprint(first.Outputs) != fmt.Sprint(second.Outputs) {
		t.Errorf("cache: %q then %q, answers %v and %v", h1.Get("X-Infergate-Cache"), h2.Get("X-Infergate-Cache"), first.Outputs, second.Outputs)
	}

	// The static fallback: a deadline the model cannot meet.
	status, h, out := v2Infer(t, client, public, "ocr", image(rng), "X-User", "late", "X-Request-Timeout", "1ns")
	if status != 200 || h.Get("X-Infergate-Target") != "upright" || h.Get("X-Infergate-Fallback") != "timeout" || fmt.Sprint(floats(t, out.Outputs[0].Data)) != "[1 0]" {
		t.Errorf("static fallback: %d %v %+v", status, h, out)
	}

	// The shadow report compares the candidate with what answered.
	var report struct {
		Mirrored uint64
		Targets  []struct {
			Target          string
			Compared        uint64
			Agreement       float64
			Method, Output  string
			ProbabilityDiff struct{ Max float64 } `json:"probability_diff"`
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(admin + "/v1/routes/ocr/shadow")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err := json.Unmarshal(data, &report); err != nil {
			t.Fatalf("shadow report %s: %v", data, err)
		}
		if len(report.Targets) == 1 && report.Targets[0].Compared >= 40 || time.Now().After(deadline) {
			t.Logf("shadow report: %s", data)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rt := report.Targets; len(rt) != 1 || rt[0].Compared < 40 || rt[0].Method != "label" || rt[0].Output != "softmax_0.tmp_0" || rt[0].Agreement >= 1 || rt[0].ProbabilityDiff.Max <= 0 {
		t.Errorf("shadow report %+v", report)
	}

	// Drift of the image input against the samples' statistics: none for
	// images like them, drift once most are darker.
	type driftVersions struct {
		Versions []struct {
			Version string
			Report  drift.Report
		}
	}
	driftReport := func(route string) (int, string, driftVersions) {
		t.Helper()
		resp, err := client.Get(admin + "/v1/models/" + route + "/drift")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var rep driftVersions
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("drift report %s: %v", data, err)
			}
		}
		return resp.StatusCode, string(data), rep
	}
	for range 20 {
		if status, _, out := v2Infer(t, client, public, "ocr-plain", image(rng)); status != 200 {
			t.Fatalf("ocr-plain: %d %+v", status, out)
		}
	}
	_, body0, rep := driftReport("ocr-plain")
	if len(rep.Versions) != 1 || len(rep.Versions[0].Report.Inputs) != 1 || rep.Versions[0].Report.Inputs[0].Samples != 20 || rep.Versions[0].Report.Verdict != drift.None {
		t.Fatalf("drift after 20 images like the samples: %s", body0)
	}
	for range 40 {
		dark := image(rng)
		for i := range dark {
			dark[i] -= 0.8
		}
		v2Infer(t, client, public, "ocr-plain", dark)
	}
	_, body1, rep := driftReport("ocr-plain")
	in := rep.Versions[0].Report.Inputs[0]
	t.Logf("drift of x: reference mean %.3f std %.3f; after 20 images like it and 40 darker by 0.8: mean %.3f, shift %.2f std, %s",
		in.Reference.Mean, in.Reference.Std, in.Live.Mean, in.MeanShift, in.Verdict)
	if in.Verdict != drift.Drift || in.Samples != 60 || rep.Versions[0].Report.Drifted[0] != "x" {
		t.Errorf("drift after 40 darker images: %s", body1)
	}
	if status, body, _ := driftReport("wake"); status != http.StatusNotFound || !strings.Contains(body, "--sample") {
		t.Errorf("wake, imported without samples: %d %s, want a 404 that says how to give a reference", status, body)
	}

	// openWakeWord's detector: no batch dimension, answered as ONNX Runtime.
	w := make([]float32, 25*96)
	for i := range w {
		w[i] = float32(math.Cos(float64(i) / 7))
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "onnx::Flatten_0", "datatype": "FP32", "shape": []int{1, 25, 96}, "data": w}}})
	resp, err := client.Post(public+"/v2/models/wake/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	want := direct(wake, w, []int64{1, 25, 96})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), fmt.Sprintf(`"shape":[1,1],"data":[%s]`, formatFloat32(want[0]))) {
		t.Errorf("wake word: %d %s, want %v", resp.StatusCode, data, want)
	}

	// Bad requests: 400s that name the input.
	bad := func(body, want string) {
		t.Helper()
		resp, err := client.Post(public+"/v2/models/wake/infer", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), want) {
			t.Errorf("%s: %d %s, want 400 saying %q", body, resp.StatusCode, data, want)
		}
	}
	bad(`{"inputs": [{"name": "onnx::flatten_0", "datatype": "FP32", "shape": [1, 25, 96], "data": []}]}`, `unknown input \"onnx::flatten_0\"`)
	bad(`{"inputs": [{"name": "onnx::Flatten_0", "datatype": "FP16", "shape": [1, 25, 96], "data": []}]}`, `input \"onnx::Flatten_0\": datatype \"FP16\", but the model takes FP32`)
	bad(`{"inputs": [{"name": "onnx::Flatten_0", "datatype": "FP32", "shape": [1, 24, 96], "data": []}]}`, `dimension 1 is 24, but the model takes 25`)
	bad(`{"inputs": [{"name": "onnx::Flatten_0", "datatype": "FP32", "shape": [2, 25, 96], "data": []}]}`, `dimension 0 is 2, but the model takes 1`)
	bad(`{"inputs": []}`, `input \"onnx::Flatten_0\" is missing`)
}

// formatFloat32 prints x as the v2 answer does.
func formatFloat32(x float32) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// foundingRequest is the request of the founding document's API example,
// verbatim.
const foundingRequest = `{
"model_id": "customer-churn-v2",
"features": {
"customer_id": "12345",
"tenure_months": 24,
"monthly_charges": 89.99
}
}`

// TestFoundingRequest runs what `make run` runs, with the project's own
// configs/infergate.yaml, and sends it the founding document's example: a
// customer the feature store does not know, two features of seven.
func TestFoundingRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config, err := os.ReadFile(filepath.Join("..", "..", "configs", "infergate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "infergate.yaml")
	if err := os.WriteFile(path, config, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, dir, "train", "--demo", "--if-missing", "--config", path); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, dir, "features", "materialize", "--config", path, "--from", "var/data/churn.csv", "--event-time", "now"); r.code != 0 {
		t.Fatalf("features materialize: exit %d\n%s", r.code, r.stderr)
	}
	addrs := freeAddrs(t, 2)
	s := startServer(t, dir, "--config", path, "--listen", addrs[0], "--admin-listen", addrs[1])
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	s.waitReady(t, client, "http://"+addrs[0]+"/readyz")
	resp, err := client.Post("http://"+addrs[0]+"/v1/predictions", "application/json", strings.NewReader(foundingRequest))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	t.Logf("%s", data)
	var got struct {
		Prediction   *string
		Probability  *float64
		ModelVersion *string  `json:"model_version"`
		LatencyMs    *float64 `json:"latency_ms"`
	}
	if err := json.Unmarshal(data, &got); err != nil || resp.StatusCode != http.StatusOK ||
		got.Prediction == nil || got.Probability == nil || got.ModelVersion == nil || got.LatencyMs == nil {
		t.Fatalf("the founding request: %d %s (%v)", resp.StatusCode, data, err)
	}
}
