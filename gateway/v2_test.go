package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/trainer"
)

// v2Infer is the demo route's row i of d as an Open Inference Protocol
// infer body: one input per feature, numbers as FP32 (or INT64 for
// support_calls, to use another datatype), strings as BYTES, missing cells
// left out as a client does.
func v2Infer(tb testing.TB, d *trainer.Dataset, rows ...int) string {
	tb.Helper()
	var inputs []string
	for _, c := range d.Columns {
		if c.Name == trainer.ChurnTarget || c.Name == "customer_id" {
			continue
		}
		var data []string
		for _, i := range rows {
			if c.Missing(i) {
				data = nil
				break
			}
			if c.Kind == trainer.Categorical {
				data = append(data, fmt.Sprintf("%q", c.Strings[i]))
			} else {
				data = append(data, fmt.Sprint(c.Numbers[i]))
			}
		}
		if data == nil {
			continue // a feature missing in one row is left out of all
		}
		datatype := "FP32"
		switch {
		case c.Kind == trainer.Categorical:
			datatype = "BYTES"
		case c.Name == "support_calls":
			datatype = "INT64"
		}
		inputs = append(inputs, fmt.Sprintf(`{"name":%q,"shape":[%d],"datatype":%q,"data":[%s]}`, c.Name, len(rows), datatype, strings.Join(data, ",")))
	}
	return `{"id":"req-1","inputs":[` + strings.Join(inputs, ",") + `]}`
}

// hasFields checks that the JSON object body has every field of want.
func hasFields(tb testing.TB, what string, body []byte, want ...string) map[string]json.RawMessage {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatalf("%s: not a JSON object: %v: %s", what, err, body)
	}
	for _, f := range want {
		if _, ok := m[f]; !ok {
			tb.Errorf("%s: no %q field in %s", what, f, body)
		}
	}
	return m
}

// TestV2Conformance walks every Open Inference Protocol v2 endpoint: the
// status, and the fields the protocol requires of each answer
// (metadata_server_response: name, version, extensions;
// metadata_model_response: name, platform, with tensors of name, datatype,
// shape; inference_response: model_name, outputs of name, shape, datatype,
// data; every error: error). The spec's own infer examples are sent too:
// their inputs (input0, input1) are not the route's features, so they are
// bad requests here, answered in the protocol's error shape.
func TestV2Conformance(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	_, d := servingtest.Demo(t)
	model := "/v2/models/" + servingtest.Route
	infer := v2Infer(t, d, 0, 1)
	specExample1 := `{"id":"42","inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT32","data":[1,2,3,4]},` +
		`{"name":"input1","shape":[3],"datatype":"BOOL","data":[true]}],"outputs":[{"name":"output0"}]}`
	specExample2 := `{"id":"42","outputs":[{"name":"output0","shape":[3,2],"datatype":"FP32","data":[1,1.1,2,2.1,3,3.1]}]}`
	tensor := []string{"name", "datatype", "shape"}

	type tc struct {
		method, path, body string
		status             int
		fields             []string // required fields of the answer
		check              func(t *testing.T, m map[string]json.RawMessage)
	}
	for _, c := range []tc{
		{"GET", "/v2/health/live", "", 200, nil, nil},
		{"GET", "/v2/health/ready", "", 200, nil, nil},
		{"GET", "/v2", "", 200, []string{"name", "version", "extensions"}, nil},
		{"GET", "/v2/", "", 200, []string{"name", "version", "extensions"}, nil},
		{"GET", model, "", 200, []string{"name", "versions", "platform", "inputs", "outputs"}, func(t *testing.T, m map[string]json.RawMessage) {
			var md struct {
				Platform        string
				Versions        []string
				Inputs, Outputs []map[string]json.RawMessage
			}
			if err := json.Unmarshal(mustJSON(t, m), &md); err != nil {
				t.Fatal(err)
			}
			if md.Platform != "onnx_onnxv1" || len(md.Versions) != 1 || md.Versions[0] != "1.0.0" || len(md.Inputs) != 7 || len(md.Outputs) != 4 {
				t.Errorf("model metadata: %+v", md)
			}
			for i, tm := range append(md.Inputs, md.Outputs...) {
				for _, f := range tensor {
					if _, ok := tm[f]; !ok {
						t.Errorf("tensor metadata without %q: %v", f, tm)
					}
				}
				// An input is one value a row, as Triton shows dims [1]
				// (taken as [N, 1] or [N]); an output is [N].
				want := "[-1]"
				if i < len(md.Inputs) {
					want = "[-1,1]"
				}
				if string(tm["shape"]) != want {
					t.Errorf("tensor shape %s, want %s", tm["shape"], want)
				}
			}
		}},
		{"GET", model + "/versions/1.0.0", "", 200, []string{"name", "platform"}, nil},
		{"GET", model + "/ready", "", 200, []string{"name", "ready"}, nil},
		{"GET", model + "/versions/1.0.0/ready", "", 200, []string{"name", "ready"}, nil},
		{"POST", model + "/infer", infer, 200, []string{"model_name", "model_version", "id", "outputs"}, func(t *testing.T, m map[string]json.RawMessage) {
			var out []map[string]json.RawMessage
			if err := json.Unmarshal(m["outputs"], &out); err != nil {
				t.Fatal(err)
			}
			if len(out) != 4 || string(m["id"]) != `"req-1"` {
				t.Errorf("outputs %d, id %s", len(out), m["id"])
			}
			for _, o := range out {
				for _, f := range []string{"name", "shape", "datatype", "data"} {
					if _, ok := o[f]; !ok {
						t.Errorf("output without %q: %v", f, o)
					}
				}
				if string(o["shape"]) != "[2]" {
					t.Errorf("output %s shape %s, want [2]", o["name"], o["shape"])
				}
			}
		}},
		{"POST", model + "/versions/1.0.0/infer", infer, 200, []string{"model_name", "outputs"}, nil},
		{"POST", model + "/infer", specExample1, 400, []string{"error"}, nil},
		{"POST", model + "/infer", specExample2, 400, []string{"error"}, nil},
		{"POST", model + "/infer", `{"inputs":`, 400, []string{"error"}, nil},
		{"GET", "/v2/models/nope", "", 404, []string{"error"}, nil},
		{"POST", "/v2/models/nope/infer", infer, 404, []string{"error"}, nil},
		{"GET", model + "/versions/9.9.9", "", 404, []string{"error"}, nil},
		{"GET", model + "/versions/9.9.9/ready", "", 404, []string{"error"}, nil},
		{"GET", model + "/explain", "", 404, []string{"error"}, nil},
		{"GET", model + "/infer", "", 405, []string{"error"}, nil},
		{"POST", "/v2/health/live", "", 405, []string{"error"}, nil},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := do(t, s.public, c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d; body %s", r.status, c.status, r.body)
			}
			if ct := r.get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if len(c.fields) == 0 {
				return
			}
			m := hasFields(t, c.path, r.body, c.fields...)
			if c.status != 200 {
				var e struct{ Error string }
				if json.Unmarshal(r.body, &e) != nil || e.Error == "" || len(m) != 1 {
					t.Errorf("error answer %s: want {\"error\": \"...\"} alone", r.body)
				}
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestV2EqualsV1: a v2 infer of rows of the demo dataset and /v1 predictions
// of the same rows give the same probabilities and labels, in one batch of
// rows and one by one.
func TestV2EqualsV1(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{batching: batcher.Config{MaxBatchSize: 32}})
	_, d := servingtest.Demo(t)
	var rows []int
	for i := 0; len(rows) < 40; i++ {
		missing := false
		for _, c := range d.Columns {
			missing = missing || (c.Name != trainer.ChurnTarget && c.Missing(i))
		}
		if !missing {
			rows = append(rows, i)
		}
	}
	r := do(t, s.public, "POST", "/v2/models/"+servingtest.Route+"/infer", v2Infer(t, d, rows...))
	if r.status != 200 {
		t.Fatalf("v2 infer: %d %s", r.status, r.body)
	}
	var resp struct {
		ModelVersion string `json:"model_version"`
		Outputs      []struct {
			Name string
			Data []any
		}
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	outs := map[string][]any{}
	for _, o := range resp.Outputs {
		outs[o.Name] = o.Data
	}
	for k, i := range rows {
		var one prediction
		decode(t, s.predict(t, requestBody(t, d, i)), &one)
		p, _ := outs["probability"][k].(float64)
		if math.Abs(p-*one.Probability) > 1e-7 || outs["label"][k] != one.Prediction || outs["model_version"][k] != "1.0.0" || outs["target"][k] != "primary" {
			t.Errorf("row %d: v2 %v %v %v %v, /v1 %v %q", i, outs["probability"][k], outs["label"][k], outs["model_version"][k], outs["target"][k], *one.Probability, one.Prediction)
		}
	}
	if resp.ModelVersion != "1.0.0" {
		t.Errorf("model_version %q", resp.ModelVersion)
	}
}

// TestV2Errors: statuses and messages of a failing infer.
func TestV2Errors(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	_, d := servingtest.Demo(t)
	path := "/v2/models/" + servingtest.Route + "/infer"
	f := func(body string, status int, wantMsg string, headers ...string) {
		t.Helper()
		r := do(t, s.public, "POST", path, body, headers...)
		var e struct{ Error string }
		if r.status != status || json.Unmarshal(r.body, &e) != nil || !strings.Contains(e.Error, wantMsg) {
			t.Errorf("status %d %s, want %d with %q", r.status, r.body, status, wantMsg)
		}
	}
	// A required feature missing: the route's 400, naming the feature.
	f(`{"inputs":[{"name":"contract","shape":[1],"datatype":"BYTES","data":["one-year"]}]}`, 400, `"tenure_months"`)
	// The second row's feature of the wrong type.
	body := strings.Replace(v2Infer(t, d, 0, 1), `"datatype":"FP32"`, `"datatype":"BYTES"`, 1)
	f(body, 400, "BYTES")
	f(v2Infer(t, d, 0), 400, "X-Request-Timeout", "X-Request-Timeout", "soon")
	f(`{"inputs":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`, 400, "server.max_json_depth")
}

func TestV2NotReady(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{notReady: true})
	for _, path := range []string{"/v2/health/ready", "/v2/models/" + servingtest.Route + "/ready"} {
		if r := do(t, s.public, "GET", path, ""); r.status != 503 || r.get("Retry-After") == "" {
			t.Errorf("%s while not ready: %d %s", path, r.status, r.body)
		}
	}
	if r := do(t, s.public, "GET", "/v2/health/live", ""); r.status != 200 {
		t.Errorf("live while not ready: %d", r.status)
	}
}
