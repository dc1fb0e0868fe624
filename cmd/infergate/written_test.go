package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/runtime"
	"github.com/infergate/infergate/trainer"
)

// TestServeWrittenModels serves what no downloaded or exported file covers
// — the trainer's multi-class classifier and regression, and models the
// ONNX writer makes: a scikit-learn-style classifier (an int64 label and
// probabilities) and a model of two inputs of different types and three
// outputs — and checks every output element against ONNX Runtime's own run
// of the same inputs, through /v2 and, for the tabular ones, /v1.
func TestServeWrittenModels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	store, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := trainer.WriteDemoData(filepath.Join(dir, "churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	trained := map[string]*trainer.Model{}
	for _, spec := range trainer.Demos()[:2] { // customer-contract, customer-charges
		if _, trained[spec.Model], err = spec.Train(store, data, true); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	irisSig := write("iris.yaml", []byte(`input: float_input
features: [{name: a, type: numeric, required: true}, {name: b, type: numeric, required: true}]
outputs:
  - {name: label, kind: label, labels: [setosa, versicolor, virginica]}
  - {name: probabilities, kind: probabilities, labels: [setosa, versicolor, virginica]}
`))
	for _, args := range [][]string{
		{write("iris.onnx", testmodels.SklearnStyle().Marshal()), "--model", "iris", "--version", "1.0.0", "--signature", irisSig},
		{write("mixed.onnx", testmodels.Mixed().Marshal()), "--model", "mixed", "--version", "1.0.0"},
	} {
		if r := run(t, dir, append([]string{"registry", "import", "--registry", reg}, args...)...); r.code != 0 {
			t.Fatalf("registry import %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	const maxBatch = 16
	config := write("infergate.yaml", fmt.Appendf(nil, `registry: {root: %s}
routes:
  - {name: contract, model: customer-contract, batching: {max_batch_size: %d, max_queue_delay: 1ms}}
  - {name: charges, model: customer-charges, batching: {max_batch_size: %[2]d, max_queue_delay: 1ms}}
  - {name: iris, batching: {max_batch_size: %[2]d, max_queue_delay: 1ms}}
  - {name: mixed, batching: {max_batch_size: %[2]d, max_queue_delay: 1ms}}
auth: {mode: off, admin: {mode: off, audit_log: %q}}
`, reg, maxBatch, filepath.Join(dir, "audit.log")))
	base, client, env := serveAndCompare(t, dir, config)
	diff := func(name string, got, want []float64) float64 {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
		}
		d := 0.0
		for i := range got {
			d = max(d, math.Abs(float64(float32(got[i]))-float64(float32(want[i]))))
		}
		return d
	}
	report := func(name string, d1, d2 float64) {
		t.Helper()
		t.Logf("%s: largest difference from ONNX Runtime: /v1 %g, /v2 %g", name, d1, d2)
		if d1 != 0 || d2 != 0 {
			t.Errorf("%s differs from ONNX Runtime's own run", name)
		}
	}

	// The trainer's models, on 20 rows of the demo data without a missing
	// cell: /v1 a row a request, /v2 all of them in one.
	for _, tc := range []struct{ route, model string }{{"contract", "customer-contract"}, {"charges", "customer-charges"}} {
		m := trained[tc.model]
		var rows []int
		for r := 0; len(rows) < 20; r++ {
			ok := true
			for _, f := range m.Signature.Features {
				ok = ok && !data.Column(f.Name).Missing(r)
			}
			if ok {
				rows = append(rows, r)
			}
		}
		all, err := m.Encode(data)
		if err != nil {
			t.Fatal(err)
		}
		var encoded [][]float32
		for _, r := range rows {
			encoded = append(encoded, all[r])
		}
		// value(c, i) is column c's cell of the i-th chosen row.
		value := func(c *trainer.Column, i int) any {
			if c.Kind == trainer.Categorical {
				return c.Strings[rows[i]]
			}
			return c.Numbers[rows[i]]
		}
		path := store.ModelPath(tc.model, "1.0.0")
		want1, wantB := directRun(t, env, path, encoded, 1, nil), directRun(t, env, path, encoded, maxBatch, nil)
		output := trainer.ValueName
		if m.Task() == trainer.TaskMulticlass {
			output = trainer.ProbabilitiesName
		}
		var got1 []float64
		for i := range rows {
			f := map[string]any{}
			for _, sf := range m.Signature.Features {
				f[sf.Name] = value(data.Column(sf.Name), i)
			}
			body, _ := json.Marshal(map[string]any{"model_id": tc.route, "features": f})
			var a struct {
				Prediction    any
				Probabilities map[string]float64
			}
			post(t, client, base+"/v1/predictions", string(body), &a)
			if output == trainer.ValueName {
				got1 = append(got1, a.Prediction.(float64))
				continue
			}
			for _, c := range m.Classes() {
				got1 = append(got1, a.Probabilities[c])
			}
		}
		var inputs []map[string]any
		for _, sf := range m.Signature.Features {
			c := data.Column(sf.Name)
			datatype := "FP64"
			if c.Kind == trainer.Categorical {
				datatype = "BYTES"
			}
			col := make([]any, len(rows))
			for i := range rows {
				col[i] = value(c, i)
			}
			inputs = append(inputs, map[string]any{"name": sf.Name, "datatype": datatype, "shape": []int{len(rows)}, "data": col})
		}
		body, _ := json.Marshal(map[string]any{"inputs": inputs, "outputs": []map[string]string{{"name": output}}})
		var a v2Answer
		post(t, client, base+"/v2/models/"+tc.route+"/infer", string(body), &a)
		report(fmt.Sprintf("%s (%s, %s)", tc.route, m.Task(), output), diff(tc.route, got1, want1[output]), diff(tc.route, a.numbers(output), wantB[output]))
	}

	// The scikit-learn-style classifier: the label's class and every
	// probability.
	var rows [][]float32
	for i := range 20 {
		rows = append(rows, []float32{float32(i%7) - 3, float32(i%5)*0.75 - 1.5})
	}
	irisPath := store.ModelPath("iris", "1.0.0")
	want1, wantB := directRun(t, env, irisPath, rows, 1, nil), directRun(t, env, irisPath, rows, maxBatch, nil)
	classes := []string{"setosa", "versicolor", "virginica"}
	var probs1, labels1 []float64
	for _, r := range rows {
		var a struct {
			Prediction    string
			Probabilities map[string]float64
		}
		post(t, client, base+"/v1/predictions", fmt.Sprintf(`{"model_id": "iris", "features": {"a": %g, "b": %g}}`, r[0], r[1]), &a)
		labels1 = append(labels1, float64(slices.Index(classes, a.Prediction)))
		for _, c := range classes {
			probs1 = append(probs1, a.Probabilities[c])
		}
	}
	col := func(j int) []float32 {
		c := make([]float32, len(rows))
		for i := range rows {
			c[i] = rows[i][j]
		}
		return c
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{
		{"name": "a", "datatype": "FP32", "shape": []int{len(rows)}, "data": col(0)},
		{"name": "b", "datatype": "FP32", "shape": []int{len(rows)}, "data": col(1)},
	}, "outputs": []map[string]string{{"name": "label"}, {"name": "probabilities"}}})
	var iris v2Answer
	post(t, client, base+"/v2/models/iris/infer", string(body), &iris)
	var labelsB []float64
	for _, d := range iris.Outputs[0].Data {
		labelsB = append(labelsB, float64(slices.Index(classes, d.(string))))
	}
	report("iris (int64 label, probabilities)",
		max(diff("label", labels1, want1["label"]), diff("probabilities", probs1, want1["probabilities"])),
		max(diff("label", labelsB, wantB["label"]), diff("probabilities", iris.numbers("probabilities"), wantB["probabilities"])))

	// Two inputs of different types, three outputs of two types.
	x, ids := []float32{0.5, 1, 1.5, 2, -3.25, 7}, []int64{1, 2, 3, -4, 1 << 40, 9}
	sess, err := env.NewSession(store.ModelPath("mixed", "1.0.0"), runtime.SessionOptions{MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }()
	xin, err := sess.Input(0, []int64{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	copy(tensor.Float32s(xin.Data), x)
	idsIn, err := sess.Input(1, []int64{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	copy(idsIn.Data, tensor.BytesOf(ids))
	if err := sess.Run(); err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(map[string]any{"inputs": []map[string]any{
		{"name": "x", "datatype": "FP32", "shape": []int{3, 2}, "data": x},
		{"name": "ids", "datatype": "INT64", "shape": []int{3, 2}, "data": ids},
	}})
	var mixed v2Answer
	post(t, client, base+"/v2/models/mixed/infer", string(body), &mixed)
	worst := 0.0
	for j, info := range sess.Outputs() {
		o := sess.Output(j)
		var want []float64
		for k := range o.Len() {
			want = append(want, o.Float64At(k))
		}
		got := mixed.numbers(info.Name)
		if info.Name == "echo" {
			// int64 exactly: 2^40 is no float32.
			for k := range got {
				if int64(got[k]) != ids[k] {
					t.Errorf("echo[%d] = %v, want %d", k, got[k], ids[k])
				}
			}
			continue
		}
		worst = max(worst, diff(info.Name, got, want))
	}
	if len(mixed.Outputs) != 3 || mixed.Outputs[2].Datatype != "INT64" {
		t.Errorf("mixed answered %+v", mixed.Outputs)
	}
	report("mixed (float32 and int64 in; sum, product, echo out)", 0, worst)
}
