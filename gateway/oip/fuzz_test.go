package oip_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/registry"
	"github.com/valyala/fastjson"
)

// FuzzDecode feeds arbitrary bodies to Decode: it must never panic; an
// error must be a 400 *Error with a message and leave no rows; a success
// must yield exactly N rows (the first input's batch), each holding only
// features of the schema, each at most once and of its type, and an answer
// for them that is valid JSON.
func FuzzDecode(f *testing.F) {
	in := func(fields string) string { return `{"inputs": [{` + fields + `}]}` }
	for _, seed := range []string{
		oneRowBody,
		batchBody,
		`{"id": "42", "inputs": [
			{"name": "tenure_months", "shape": [2, 1], "datatype": "UINT32", "data": [1, 2]},
			{"name": "has_partner", "shape": [2], "datatype": "BOOL", "data": [true, false]}],
			"outputs": [{"name": "probability"}]}`,
		`{"id": "42", "inputs": [
			{"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
			{"name": "input1", "shape": [3], "datatype": "BOOL", "data": [true]}],
			"outputs": [{"name": "output0"}]}`,
		`{"id": "42", "outputs": [{"name": "output0", "shape": [3, 2], "datatype": "FP32", "data": [1, 1.1, 2, 2.1, 3, 3.1]}]}`,
		in(`"name": "contract", "datatype": "BYTES", "shape": [3, 1], "data": [["a"], ["b"], ["c"]]`),
		in(`"name": "tenure_months", "datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5]`),
		in(`"name": "tenure_months", "datatype": "FP32", "shape": [2, 1], "data": [[1], [[2]]]`),
		in(`"name": "tenure_months", "datatype": "INT64", "shape": [2], "data": [9223372036854775807, -9223372036854775808]`),
		in(`"name": "tenure_months", "datatype": "UINT64", "shape": [1], "data": [18446744073709551615]`),
		in(`"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [NaN]`),
		in(`"name": "tenure_months", "datatype": "FP64", "shape": [1], "data": [1e999]`),
		in(`"name": "tenure_months", "datatype": "FP32", "shape": [2, 9223372036854775807, 2], "data": []`),
		in(`"name": "tenure_months", "datatype": "FP32", "shape": [5000], "data": []`),
		in(`"name": "contract", "datatype": "BYTES", "shape": [1], "data": [1]`),
		`{"inputs": [{"name": "a", "datatype": "FP32", "shape": [2], "data": [1, 2]}, {"name": "b", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]}`,
		`{"inputs": [{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]}, {"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]}]}`,
		`{"parameters": {"priority": 1, "timeout": 0}, "outputs": [{"name": "label"}, {"name": "label"}], "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}`,
		`{}`, `[]`, `null`, `1`, `""`, ``, `{`, `{"inputs": []}`, `{"inputs": [1]}`,
		strings.Repeat(`[`, 10000),
	} {
		f.Add([]byte(seed))
	}
	sig := testSignature()
	lim := oip.Limits{MaxRows: 64, MaxElements: 256}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := oip.AcquireRequest()
		defer oip.ReleaseRequest(r)
		var rows []features.Set
		err := r.Decode(body, nil, testSchema, lim, &rows)
		if err != nil {
			var e *oip.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Msg == "" {
				t.Fatalf("error %#v, want a 400 *oip.Error with a message", err)
			}
			if len(rows) != 0 {
				t.Fatalf("%d rows after an error", len(rows))
			}
			return
		}
		var p fastjson.Parser
		v, perr := p.ParseBytes(body)
		if perr != nil {
			t.Fatalf("Decode took a body fastjson rejects: %v", perr)
		}
		n := v.GetInt("inputs", "0", "shape", "0")
		if n < 1 || n > lim.MaxRows || len(rows) != n {
			t.Fatalf("%d rows, want the first input's batch %d (1 to %d)", len(rows), n, lim.MaxRows)
		}
		for i := range rows {
			row := &rows[i]
			if row.Len() != rows[0].Len() {
				t.Fatalf("row %d has %d features, row 0 has %d", i, row.Len(), rows[0].Len())
			}
			seen := map[string]bool{}
			for j := 0; j < row.Len(); j++ {
				feat := row.At(j)
				name := string(feat.Name)
				if seen[name] {
					t.Fatalf("row %d holds %q twice", i, name)
				}
				seen[name] = true
				sf := schemaFeature(sig, name)
				switch {
				case sf == nil:
					t.Fatalf("row %d holds %q, which the schema does not list", i, name)
				case sf.Type == registry.Numeric && (feat.Kind != features.Number || math.IsNaN(feat.Num) || math.IsInf(feat.Num, 0)):
					t.Fatalf("row %d: numeric %q is %s %v", i, name, feat.TypeName(), feat.Num)
				case sf.Type == registry.Categorical && feat.Kind != features.String:
					t.Fatalf("row %d: categorical %q is %s", i, name, feat.TypeName())
				}
			}
		}
		seen := map[oip.Output]bool{}
		for _, o := range r.Outputs {
			if seen[o] || o.Datatype() == "" {
				t.Fatalf("outputs %v: repeated or unknown", r.Outputs)
			}
			seen[o] = true
		}
		answer := make([]oip.Row, n)
		for i := range answer {
			answer[i] = oip.Row{Probability: 0.5, Label: "x", ModelVersion: "1", Target: "primary"}
		}
		if out, _ := oip.AppendResponse(nil, "m", testSchema, r, answer); !json.Valid(out) {
			t.Fatalf("the answer is not valid JSON: %s", out)
		}
	})
}

func schemaFeature(sig *registry.Signature, name string) *registry.Feature {
	for i := range sig.Features {
		if sig.Features[i].Name == name {
			return &sig.Features[i]
		}
	}
	return nil
}
