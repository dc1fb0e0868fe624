package oip_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
)

// response is the inference response as a client reads it.
type response struct {
	ModelName    string       `json:"model_name"`
	ModelVersion *string      `json:"model_version"`
	ID           *string      `json:"id"`
	Outputs      []jsonTensor `json:"outputs"`
}

type jsonTensor struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     []any  `json:"data"`
}

// parseResponse decodes b strictly: no field the protocol does not name.
func parseResponse(t *testing.T, b []byte) response {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r response
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("response is not the protocol's JSON: %v\n%s", err, b)
	}
	if dec.More() {
		t.Fatalf("trailing data after the response: %s", b)
	}
	return r
}

func strp(s string) *string { return &s }

// shortest is p as a client reads it: the shortest decimal that is p as a
// float32, read as a float64.
func shortest(p float32) float64 {
	x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(p), 'g', -1, 32), 64)
	return x
}

func TestAppendResponse(t *testing.T) {
	t.Parallel()
	sameVersion := []oip.Row{
		{Probability: 0.1, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 0.875, Label: "churns", ModelVersion: "3", Target: "primary"},
	}
	mixed := []oip.Row{
		{Probability: 0.25, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 1e-7, Label: "stays", ModelVersion: "4", Target: "canary"},
		{Probability: 1, Label: "churns", ModelVersion: "", Target: "rules"},
	}
	// f decodes body (for the request's id and outputs), appends the
	// response of rows after a prefix and checks it parses to want.
	f := func(name, body string, rows []oip.Row, want response) {
		t.Helper()
		var req *oip.Request
		if body != "" {
			var err error
			req, _, err = decode(t, body, testLimits)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		b, _ := oip.AppendResponse([]byte("prefix"), "customer-churn", testSchema, req, rows)
		out, ok := bytes.CutPrefix(b, []byte("prefix"))
		if !ok {
			t.Fatalf("%s: AppendResponse lost what b held: %s", name, b)
		}
		if got := parseResponse(t, out); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v\nJSON %s", name, got, want, out)
		}
	}
	const inputs = `"inputs": [{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]}]`
	all := func(rows []oip.Row) []jsonTensor {
		p, l, v, tg := []any{}, []any{}, []any{}, []any{}
		for _, r := range rows {
			p = append(p, shortest(r.Probability))
			l, v, tg = append(l, r.Label), append(v, r.ModelVersion), append(tg, r.Target)
		}
		n := []int{len(rows)}
		return []jsonTensor{
			{"probability", "FP32", n, p}, {"label", "BYTES", n, l},
			{"model_version", "BYTES", n, v}, {"target", "BYTES", n, tg},
		}
	}
	f("every output, one version, id", `{"id": "42", `+inputs+`}`, sameVersion, response{
		ModelName: "customer-churn", ModelVersion: strp("3"), ID: strp("42"), Outputs: all(sameVersion)})
	f("rows of different versions: no top-level version", `{`+inputs+`}`, mixed, response{
		ModelName: "customer-churn", Outputs: all(mixed)})
	f("no request", "", sameVersion, response{ModelName: "customer-churn", ModelVersion: strp("3"), Outputs: all(sameVersion)})
	f("empty id echoed", `{"id": "", `+inputs+`}`, sameVersion, response{
		ModelName: "customer-churn", ModelVersion: strp("3"), ID: strp(""), Outputs: all(sameVersion)})
	f("outputs in the requested order", `{"outputs": [{"name": "label"}, {"name": "probability"}], `+inputs+`}`, mixed, response{
		ModelName: "customer-churn",
		Outputs: []jsonTensor{
			{"label", "BYTES", []int{3}, []any{"stays", "stays", "churns"}},
			{"probability", "FP32", []int{3}, []any{0.25, 1e-7, 1.0}},
		}})
	f("one output", `{"outputs": [{"name": "target"}], "id": "x", `+inputs+`}`, mixed, response{
		ModelName: "customer-churn", ID: strp("x"),
		Outputs: []jsonTensor{{"target", "BYTES", []int{3}, []any{"primary", "canary", "rules"}}}})
	f("no rows", `{`+inputs+`}`, nil, response{ModelName: "customer-churn", Outputs: all(nil)})
	odd := []oip.Row{{Probability: 0.5, Label: "a\"b\\c\n<&>é", ModelVersion: "v\x00", Target: "bad\xffutf8"}}
	f("strings escaped", `{"id": "i\"d\u00e9", `+inputs+`}`, odd, response{
		ModelName: "customer-churn", ModelVersion: strp("v\x00"), ID: strp("i\"dé"),
		Outputs: []jsonTensor{
			{"probability", "FP32", []int{1}, []any{0.5}},
			{"label", "BYTES", []int{1}, []any{"a\"b\\c\n<&>é"}},
			{"model_version", "BYTES", []int{1}, []any{"v\x00"}},
			{"target", "BYTES", []int{1}, []any{"bad\ufffdutf8"}},
		}})
}

// TestAppendResponseProbabilities: each probability reads back as the same
// float32.
func TestAppendResponseProbabilities(t *testing.T) {
	t.Parallel()
	var rows []oip.Row
	for _, p := range []float32{0, 1, 0.1, 1.0 / 3, 1e-7, 1e-30, 0.99999994, 1.4e-45} {
		rows = append(rows, oip.Row{Probability: p})
	}
	out, _ := oip.AppendResponse(nil, "m", testSchema, nil, rows)
	r := parseResponse(t, out)
	for i, v := range r.Outputs[0].Data {
		if got := float32(v.(float64)); got != rows[i].Probability {
			t.Errorf("probability %d reads back as %v, want %v", i, got, rows[i].Probability)
		}
	}
}

func TestAppendError(t *testing.T) {
	t.Parallel()
	msg := `input "tenure_months": shape [2,3] holds 6 elements but data has 5`
	b := oip.AppendError(nil, msg)
	if want := `{"error":"input \"tenure_months\": shape [2,3] holds 6 elements but data has 5"}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	var got struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Error != msg {
		t.Errorf("reads back as %q, %v", got.Error, err)
	}
}

func TestOutputNames(t *testing.T) {
	t.Parallel()
	want := []string{"probability FP32", "label BYTES", "model_version BYTES", "target BYTES"}
	for i, o := range oip.AllOutputs {
		if got := o.String() + " " + o.Datatype(); got != want[i] {
			t.Errorf("output %d: %s, want %s", i, got, want[i])
		}
	}
}
