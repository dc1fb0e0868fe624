package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/runtime"
)

// clientReport is what scripts/pyclients/clients.py prints: what each
// tritonclient call answered.
type clientReport struct {
	Live, Ready    bool
	ServerMetadata struct {
		Name       string
		Extensions []string
	} `json:"server_metadata"`
	Models map[string]struct {
		Ready     bool
		Metadata  struct{ Name, Platform string }
		JSON      map[string][]any `json:"json"`
		Binary    map[string][]any
		BinaryIn  map[string][]any `json:"binary_in"`
		BinaryOut map[string][]any `json:"binary_out"`
		Gzip      map[string][]any
		Deflate   map[string][]any
		JSONID    string `json:"json_id"`
		Async     []map[string][]any
		Config    struct {
			Name         string
			Platform     string
			MaxBatchSize int `json:"max_batch_size"`
			Input        []struct {
				Name     string
				DataType string `json:"data_type"`
				Dims     []int64
			}
			DynamicBatching *struct{} `json:"dynamic_batching"`
			InstanceGroup   []struct {
				Kind  string
				Count int
			} `json:"instance_group"`
		}
		Stats modelStats
	}
	Aio      map[string]any
	Kserve   map[string]json.RawMessage
	AllStats modelStats `json:"all_stats"`
}

// modelStats is Triton's statistics answer, as tritonclient returns it.
type modelStats struct {
	ModelStats []struct {
		Name, Version  string
		InferenceCount int64 `json:"inference_count"`
		ExecutionCount int64 `json:"execution_count"`
		LastInference  int64 `json:"last_inference"`
		InferenceStats map[string]struct {
			Count int64
			Ns    int64
		} `json:"inference_stats"`
		BatchStats []struct {
			BatchSize int `json:"batch_size"`
		} `json:"batch_stats"`
	} `json:"model_stats"`
}

// runClients runs scripts/pyclients/run.sh on cases; it skips the test when
// Python or PyPI is missing, naming what.
func runClients(t *testing.T, dir string, cases any) clientReport {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: the tritonclient checks need it")
	}
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute) // the first run installs the clients
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "pyclients", "run.sh"), path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		t.Skip(lines[len(lines)-1])
	case err != nil:
		t.Fatalf("scripts/pyclients/run.sh: %v\n%s", err, stderr.Bytes())
	}
	var r clientReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("clients.py printed %q: %v\nstderr:\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	return r
}

// TestTritonClient serves the demo route and PaddleOCR's classifier and
// drives them with the real tritonclient from PyPI (HTTP: its sync client,
// async_infer and the asyncio client) and kserve's v2 REST client, inputs
// and outputs as JSON and as binary data: every call answers what the JSON
// call does, the demo's probabilities are /v1's, the classifier's outputs
// ONNX Runtime's own.
func TestTritonClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	config := filepath.Join(dir, "infergate.yaml")
	// Two images as JSON are 2.3 MB.
	if err := os.WriteFile(config, fmt.Appendf(nil, `server: {max_body_bytes: 8388608}
registry: {root: %s}
routes:
  - name: customer-churn
    batching: {max_batch_size: 16, instances: 2}
  - name: ocr
    model: ocr-direction
    batching: {max_batch_size: 8, instances: 2}
auth: {mode: off, admin: {mode: off, audit_log: %q}}
`, reg, filepath.Join(dir, "audit.log")), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, dir, "train", "--demo", "--config", config, "--demo-data", filepath.Join(dir, "churn.csv")); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	sig := filepath.Join(dir, "ocr.yaml")
	if err := os.WriteFile(sig, []byte("inputs: [{name: x, shape: [-1, 3, 48, 192]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, dir, "registry", "import", "--registry", reg, ocr, "--model", "ocr-direction", "--version", "1.0.0", "--signature", sig); r.code != 0 {
		t.Fatalf("registry import: exit %d\n%s", r.code, r.stderr)
	}
	base, client, env := serveAndCompare(t, dir, config)

	rng := rand.New(rand.NewPCG(16, 16))
	images := append(image(rng), image(rng)...)
	rows := []map[string]any{
		{"tenure_months": 24.0, "monthly_charges": 89.5, "contract": "month-to-month", "support_calls": 3},
		{"tenure_months": 2.0, "monthly_charges": 99.25, "contract": "two-year", "support_calls": 0},
		{"tenure_months": 60.0, "monthly_charges": 20.0, "contract": "one-year", "support_calls": 9},
	}
	column := func(name string) []any {
		var c []any
		for _, r := range rows {
			c = append(c, r[name])
		}
		return c
	}
	cases := map[string]any{
		"url": strings.TrimPrefix(base, "http://"),
		"models": []map[string]any{
			{"route": "customer-churn", "outputs": []string{"probability", "label", "model_version"}, "inputs": []map[string]any{
				{"name": "tenure_months", "datatype": "FP32", "shape": []int{3}, "data": column("tenure_months")},
				{"name": "monthly_charges", "datatype": "FP64", "shape": []int{3}, "data": column("monthly_charges")},
				{"name": "contract", "datatype": "BYTES", "shape": []int{3}, "data": column("contract")},
				{"name": "support_calls", "datatype": "INT64", "shape": []int{3}, "data": column("support_calls")},
			}},
			{"route": "ocr", "outputs": []string{"softmax_0.tmp_0"}, "inputs": []map[string]any{
				{"name": "x", "datatype": "FP32", "shape": []int{2, 3, 48, 192}, "data": images},
			}},
		},
	}
	r := runClients(t, dir, cases)

	if !r.Live || !r.Ready || r.ServerMetadata.Name != "infergate" || !slices.Contains(r.ServerMetadata.Extensions, "binary_tensor_data") {
		t.Errorf("server: live %v, ready %v, metadata %+v", r.Live, r.Ready, r.ServerMetadata)
	}
	for route, m := range r.Models {
		if !m.Ready || m.Metadata.Name != route || m.Metadata.Platform != "onnx_onnxv1" || m.JSONID != "json" {
			t.Errorf("%s: ready %v, metadata %+v, id %q", route, m.Ready, m.Metadata, m.JSONID)
		}
		// Every way of sending gets the JSON call's answer.
		modes := map[string]map[string][]any{"binary": m.Binary, "binary_in": m.BinaryIn, "binary_out": m.BinaryOut, "gzip": m.Gzip, "deflate": m.Deflate}
		for i, a := range m.Async {
			modes[fmt.Sprintf("async_infer %d", i)] = a
		}
		if len(m.Async) != 4 {
			t.Errorf("%s: %d async answers, want 4", route, len(m.Async))
		}
		aio, _ := json.Marshal(r.Aio[route])
		var fromAio map[string][]any
		if err := json.Unmarshal(aio, &fromAio); err != nil {
			t.Fatal(err)
		}
		modes["asyncio"] = fromAio
		for mode, got := range modes {
			if !reflect.DeepEqual(got, m.JSON) {
				t.Errorf("%s %s: %v\nwant the JSON call's %v", route, mode, got, m.JSON)
			}
		}
	}

	// kserve's v2 REST client gets the same answers, JSON and binary.
	var live, ready bool
	if json.Unmarshal(r.Kserve["live"], &live) != nil || json.Unmarshal(r.Kserve["ready"], &ready) != nil || !live || !ready {
		t.Errorf("kserve: live %s, ready %s", r.Kserve["live"], r.Kserve["ready"])
	}
	for route, m := range r.Models {
		var k struct {
			Ready        bool
			JSON, Binary map[string][]any
		}
		if err := json.Unmarshal(r.Kserve[route], &k); err != nil {
			t.Fatalf("kserve %s: %s: %v", route, r.Kserve[route], err)
		}
		if !k.Ready || !reflect.DeepEqual(k.JSON, m.JSON) || !reflect.DeepEqual(k.Binary, m.JSON) {
			t.Errorf("kserve %s: ready %v, JSON %v, binary %v\nwant tritonclient's %v", route, k.Ready, k.JSON, k.Binary, m.JSON)
		}
	}

	// The model configuration is Triton's: what perf_analyzer reads.
	demoConfig, ocrConfig := r.Models["customer-churn"].Config, r.Models["ocr"].Config
	if demoConfig.Name != "customer-churn" || demoConfig.Platform != "onnxruntime_onnx" || demoConfig.MaxBatchSize != 16 || demoConfig.DynamicBatching == nil ||
		len(demoConfig.InstanceGroup) != 1 || demoConfig.InstanceGroup[0].Kind != "KIND_CPU" || demoConfig.InstanceGroup[0].Count != 2 {
		t.Errorf("demo config %+v", demoConfig)
	}
	if len(ocrConfig.Input) != 1 || ocrConfig.Input[0].Name != "x" || ocrConfig.Input[0].DataType != "TYPE_FP32" || !slices.Equal(ocrConfig.Input[0].Dims, []int64{3, 48, 192}) || ocrConfig.MaxBatchSize != 8 {
		t.Errorf("ocr config %+v", ocrConfig)
	}
	// The statistics count what the clients sent: 13 requests a model (4
	// modes, gzip, deflate, 4 async_infer, 1 asyncio, 2 kserve), each a
	// tensor request of 2 images, or 3 rows, which a feature route serves
	// as 3 requests.
	for route, want := range map[string]struct{ requests, rows int64 }{"ocr": {13, 26}, "customer-churn": {39, 39}} {
		st := r.Models[route].Stats
		if len(st.ModelStats) != 1 {
			t.Errorf("%s stats: %+v", route, st)
			continue
		}
		ms := st.ModelStats[0]
		inf := ms.InferenceStats
		if ms.Name != route || ms.Version != "1.0.0" || ms.InferenceCount != want.rows || ms.ExecutionCount < 1 || ms.ExecutionCount > want.rows ||
			inf["success"].Count != want.requests || inf["fail"].Count != 0 || inf["queue"].Count != want.requests || inf["compute_infer"].Count != want.requests ||
			inf["compute_infer"].Ns <= 0 || inf["success"].Ns < inf["compute_infer"].Ns/max(want.requests, 1) || len(ms.BatchStats) == 0 ||
			ms.LastInference < time.Now().Add(-time.Minute).UnixMilli() {
			t.Errorf("%s stats %+v: want %d requests of %d rows", route, ms, want.requests, want.rows)
		}
		for _, k := range []string{"compute_input", "compute_output", "cache_hit", "cache_miss"} {
			if _, ok := inf[k]; !ok {
				t.Errorf("%s stats: no %s", route, k)
			}
		}
	}
	if len(r.AllStats.ModelStats) != 2 {
		t.Errorf("GET /v2/models/stats: %+v, want both models", r.AllStats)
	}

	// The demo's probabilities and labels are /v1's for the same rows.
	body, _ := json.Marshal(map[string]any{"model_id": "customer-churn", "instances": rows})
	resp, err := client.Post(base+"/v1/predictions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var v1 struct {
		Predictions []struct {
			Prediction  string
			Probability float64
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&v1)
	_ = resp.Body.Close()
	if err != nil || len(v1.Predictions) != 3 {
		t.Fatalf("/v1: %+v, %v", v1, err)
	}
	demo := r.Models["customer-churn"].JSON
	for i, p := range v1.Predictions {
		if got := demo["probability"][i].(float64); float32(got) != float32(p.Probability) || demo["label"][i] != p.Prediction || demo["model_version"][i] != "1.0.0" {
			t.Errorf("row %d: tritonclient %v %v %v, /v1 %v %s", i, got, demo["label"][i], demo["model_version"][i], p.Probability, p.Prediction)
		}
	}

	// The classifier's outputs are ONNX Runtime's for the two images.
	sess, err := env.NewSession(ocr, runtime.SessionOptions{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }()
	in, err := sess.Input(0, []int64{2, 3, 48, 192})
	if err != nil {
		t.Fatal(err)
	}
	copy(tensor.Float32s(in.Data), images)
	if err := sess.Run(); err != nil {
		t.Fatal(err)
	}
	want := tensor.Float32s(sess.Output(0).Data)
	got := r.Models["ocr"].JSON["softmax_0.tmp_0"]
	if len(got) != len(want) {
		t.Fatalf("ocr: %d values, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(got[i].(float64)-float64(want[i])))
	}
	if worst > 1e-6 {
		t.Errorf("ocr: tritonclient's answer differs from ONNX Runtime's by %g: %v, want %v", worst, got, want)
	}
	t.Logf("tritonclient: %d models, 10 calls each (JSON, binary in, out and both, gzip, deflate, 4 async_infer), asyncio and kserve (JSON, binary), all equal; ocr within %g of ONNX Runtime", len(r.Models), worst)
}
