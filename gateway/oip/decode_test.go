package oip_test

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
)

func TestDecodeRows(t *testing.T) {
	t.Parallel()
	f := func(name, body string, want ...string) {
		t.Helper()
		_, rows, err := decode(t, body, testLimits)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if got := rowsText(rows); !slices.Equal(got, want) {
			t.Errorf("%s: rows\n got %q\nwant %q", name, got, want)
		}
	}

	// The specification's first example (x-examples "Example 1"), with its
	// inputs named after features, in the shapes a feature takes and with
	// as many BOOL elements as its shape says.
	f("spec example 1, adapted", `{
		"id": "42",
		"inputs": [
			{"name": "tenure_months", "shape": [2, 1], "datatype": "UINT32", "data": [1, 2]},
			{"name": "has_partner", "shape": [2], "datatype": "BOOL", "data": [true, false]}
		],
		"outputs": [{"name": "probability"}]
	}`, "tenure_months=1 has_partner=1", "tenure_months=2 has_partner=0")

	f("one row, every feature", `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [24]},
		{"name": "monthly_charges", "datatype": "FP64", "shape": [1], "data": [70.35]},
		{"name": "has_partner", "datatype": "BOOL", "shape": [1], "data": [true]},
		{"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["one-year"]}]}`,
		`tenure_months=24 monthly_charges=70.35 has_partner=1 contract="one-year"`)
	f("rows keep the inputs' order", `{"inputs": [
		{"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["monthly"]},
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [3]}]}`,
		`contract="monthly" tenure_months=3`)
	f("three rows, flat [N]", `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [3], "data": [1, 2.5, -0]},
		{"name": "contract", "datatype": "BYTES", "shape": [3], "data": ["monthly", "", "two-year"]}]}`,
		`tenure_months=1 contract="monthly"`, `tenure_months=2.5 contract=""`, `tenure_months=-0 contract="two-year"`)
	f("[N,1] flat", `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, 3]}]}`,
		"tenure_months=1", "tenure_months=2", "tenure_months=3")
	f("[N,1] nested", `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [3, 1], "data": [[1], [2], [3]]},
		{"name": "contract", "datatype": "BYTES", "shape": [3, 1], "data": [["a"], ["b"], ["c"]]}]}`,
		`tenure_months=1 contract="a"`, `tenure_months=2 contract="b"`, `tenure_months=3 contract="c"`)
	f("a feature absent: the router's business", `{"inputs": [
		{"name": "monthly_charges", "datatype": "FP32", "shape": [2], "data": [1, 2]}]}`,
		"monthly_charges=1", "monthly_charges=2")
	f("inputs the schema does not list are ignored", `{"inputs": [
		{"name": "customer_id", "datatype": "BYTES", "shape": [2], "data": ["c1", "c2"]},
		{"name": "embedding", "datatype": "FP16", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]},
		{"name": "weird", "datatype": "NOPE", "shape": [2], "data": [{}, null], "parameters": {"content_type": "np"}},
		{"name": "tenure_months", "datatype": "INT64", "shape": [2], "data": [7, 8]}]}`,
		"tenure_months=7", "tenure_months=8")
	f("only ignored inputs: N empty rows", `{"inputs": [
		{"name": "customer_id", "datatype": "BYTES", "shape": [2], "data": ["c1", "c2"]}]}`,
		"", "")
	f("escaped names and strings", `{"inputs": [
		{"name": "ten\u0075re_months", "datatype": "FP32", "shape": [1], "data": [1]},
		{"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["a\"b\\c\u00e9\n"]}]}`,
		`tenure_months=1 contract="a\"b\\cé\n"`)
	f("other input fields are ignored", `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1], "parameters": {"binary_data": false}, "extra": 1}],
		"extra": true}`, "tenure_months=1")

	// Each datatype, at the edges of its range.
	for _, c := range []struct{ dt, data, want string }{
		{"FP32", "[-3.4028234e38, 0.5]", "-340282340000000000000000000000000000000|0.5"},
		{"FP64", "[1e20, -2.5]", "100000000000000000000|-2.5"},
		{"INT8", "[-128, 127]", "-128|127"},
		{"INT16", "[-32768, 32767]", "-32768|32767"},
		{"INT32", "[-2147483648, 2147483647]", "-2147483648|2147483647"},
		{"INT64", "[-9223372036854775808, 9007199254740993]", "-9223372036854776000|9007199254740992"},
		{"INT64", "[9223372036854775807]", "9223372036854776000"}, // rounds up to 2^63 in float64
		{"UINT8", "[0, 255]", "0|255"},
		{"UINT16", "[0, 65535]", "0|65535"},
		{"UINT32", "[0, 4294967295]", "0|4294967295"},
		{"UINT64", "[0, 18446744073709549568]", "0|18446744073709550000"},
		{"UINT64", "[18446744073709551615]", "18446744073709552000"}, // rounds up to 2^64
		{"INT32", "[1.0, 1e2]", "1|100"},                             // integral values in any notation
		{"BOOL", "[false, true]", "0|1"},
	} {
		var want []string
		for v := range strings.SplitSeq(c.want, "|") {
			want = append(want, "tenure_months="+v)
		}
		body := `{"inputs": [{"name": "tenure_months", "datatype": "` + c.dt + `", "shape": [` +
			strconv.Itoa(len(want)) + `], "data": ` + c.data + `}]}`
		f(c.dt+" "+c.data, body, want...)
	}

	// Limits: exactly at them is fine.
	_, rows, err := decode(t, `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [2], "data": [1, 2]},
		{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]}]}`, oip.Limits{MaxRows: 2, MaxElements: 6})
	if err != nil || len(rows) != 2 {
		t.Errorf("at the limits: %d rows, %v", len(rows), err)
	}
}

func TestDecodeRequestFields(t *testing.T) {
	t.Parallel()
	const inputs = `"inputs": [{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]}]`
	f := func(body string, check func(r *oip.Request) string) {
		t.Helper()
		r, _, err := decode(t, body, testLimits)
		if err != nil {
			t.Errorf("%s: %v", body, err)
			return
		}
		if problem := check(r); problem != "" {
			t.Errorf("%s: %s", body, problem)
		}
	}
	f(`{"id": "42", `+inputs+`}`, func(r *oip.Request) string {
		if string(r.ID) != "42" {
			return "ID " + string(r.ID)
		}
		return ""
	})
	f(`{"id": "", `+inputs+`}`, func(r *oip.Request) string {
		if r.ID == nil || len(r.ID) != 0 {
			return "an empty id must be present and empty"
		}
		return ""
	})
	f(`{`+inputs+`}`, func(r *oip.Request) string {
		if r.ID != nil || r.HasPriority || r.HasTimeout || len(r.Outputs) != 0 {
			return "an absent id, parameters and outputs must read as absent"
		}
		return ""
	})
	f(`{"parameters": {"priority": 2, "timeout": 250000, "binary_data_output": true, "x": {}}, `+inputs+`}`, func(r *oip.Request) string {
		if !r.HasPriority || r.Priority != 2 || !r.HasTimeout || r.TimeoutMicros != 250000 {
			return "parameters not read"
		}
		return ""
	})
	f(`{"parameters": {"priority": 0, "timeout": 0}, `+inputs+`}`, func(r *oip.Request) string {
		if !r.HasPriority || r.Priority != 0 || r.HasTimeout {
			return "priority 0 is given; timeout 0 means none"
		}
		return ""
	})
	f(`{"outputs": [{"name": "target"}, {"name": "probability", "parameters": {"binary_data": true}}], `+inputs+`}`, func(r *oip.Request) string {
		if !slices.Equal(r.Outputs, []oip.Output{oip.OutputTarget, oip.OutputProbability}) {
			return "outputs not in the requested order"
		}
		return ""
	})
	f(`{"outputs": [], `+inputs+`}`, func(r *oip.Request) string {
		if len(r.Outputs) != 0 {
			return "an empty outputs list means all"
		}
		return ""
	})
}

// TestDecodeReuse: a Request and rows decoded again forget the previous
// request entirely, and reuse the rows' capacity.
func TestDecodeReuse(t *testing.T) {
	t.Parallel()
	r := oip.AcquireRequest()
	defer oip.ReleaseRequest(r)
	fs := new([]features.Set)
	body1 := `{"id": "a", "parameters": {"priority": 1}, "outputs": [{"name": "label"}], "inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]},
		{"name": "contract", "datatype": "BYTES", "shape": [3], "data": ["a", "b", "c"]}]}`
	body2 := `{"inputs": [{"name": "monthly_charges", "datatype": "FP32", "shape": [2], "data": [5, 6]}]}`
	if err := r.Decode([]byte(body1), nil, testSchema, testLimits, fs); err != nil {
		t.Fatal(err)
	}
	capBefore := cap(*fs)
	if err := r.Decode([]byte(body2), nil, testSchema, testLimits, fs); err != nil {
		t.Fatal(err)
	}
	if got, want := rowsText(*fs), []string{"monthly_charges=5", "monthly_charges=6"}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	if r.ID != nil || r.HasPriority || len(r.Outputs) != 0 {
		t.Errorf("the previous request's fields survived: id %q, priority %v, outputs %v", r.ID, r.HasPriority, r.Outputs)
	}
	if cap(*fs) != capBefore {
		t.Errorf("rows' capacity changed from %d to %d: not reused", capBefore, cap(*fs))
	}
	// An error empties the rows.
	if err := r.Decode([]byte(`{"inputs": 1}`), nil, testSchema, testLimits, fs); err == nil || len(*fs) != 0 {
		t.Errorf("after an error: %d rows, err %v", len(*fs), err)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	f := func(body string, lim oip.Limits, want string) {
		t.Helper()
		_, rows, err := decode(t, body, lim)
		var e *oip.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want *oip.Error %q", body, err, want)
			return
		}
		if e.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, e.Status)
		}
		if prefix, ok := strings.CutSuffix(want, "…"); ok {
			if !strings.HasPrefix(e.Msg, prefix) {
				t.Errorf("%s:\n got %s\nwant %s", body, e.Msg, want)
			}
		} else if e.Msg != want {
			t.Errorf("%s:\n got %s\nwant %s", body, e.Msg, want)
		}
		if len(rows) != 0 {
			t.Errorf("%s: %d rows after an error, want none", body, len(rows))
		}
	}
	lim := testLimits
	in := func(fields string) string { return `{"inputs": [{` + fields + `}]}` }
	tm := func(rest string) string { return in(`"name": "tenure_months", ` + rest) }
	ct := func(rest string) string { return in(`"name": "contract", ` + rest) }

	// The body.
	f(``, lim, "request body is not valid JSON: …")
	f(`{`, lim, "request body is not valid JSON: …")
	f(`{"inputs": []} x`, lim, "request body is not valid JSON: …")
	f(`[]`, lim, `request body must be a JSON object: {"inputs": [...]}, got list`)
	f(`null`, lim, `request body must be a JSON object: {"inputs": [...]}, got null`)
	f(`{}`, lim, `inputs is required: a list of tensors, one per feature, such as {"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [24]}`)
	// The specification's second example lists outputs with data, no inputs.
	f(`{"id": "42", "outputs": [{"name": "output0", "shape": [3, 2], "datatype": "FP32", "data": [1, 1.1, 2, 2.1, 3, 3.1]}]}`, lim,
		`inputs is required: a list of tensors, one per feature, such as {"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [24]}`)
	f(`{"inputs": {}}`, lim, "inputs must be a list of tensors, one per feature, got object")
	f(`{"inputs": []}`, lim, "inputs must list at least one tensor, one per feature")
	f(`{"inputs": [1]}`, lim, `inputs[0] must be an object {"name", "datatype", "shape", "data"}, got number`)

	// An input's fields.
	f(in(`"datatype": "FP32", "shape": [1], "data": [1]`), lim, "inputs[0]: name is required: the name of the feature the tensor holds")
	f(in(`"name": 1, "datatype": "FP32", "shape": [1], "data": [1]`), lim, "inputs[0]: name must be a string, got number")
	f(tm(`"datatype": "FP32", "data": [1]`), lim, `input "tenure_months": shape is required, such as [2] for 2 rows`)
	f(tm(`"shape": [1], "data": [1]`), lim, `input "tenure_months": datatype is required: FP32 (or another numeric type) for a numeric feature, BYTES for a categorical one`)
	f(tm(`"datatype": "FP32", "shape": [1]`), lim, `input "tenure_months": data is required: the tensor's values, flat in row-major order or nested as the shape`)
	f(tm(`"datatype": 32, "shape": [1], "data": [1]`), lim, `input "tenure_months": datatype must be a string such as FP32 or BYTES, got number`)
	f(tm(`"datatype": "FP32", "shape": [1], "data": 1`), lim, `input "tenure_months": data must be a list, flat in row-major order or nested as the shape, got number`)
	for _, shape := range []string{`[]`, `[0]`, `[-1]`, `[1.5]`, `["2"]`, `[null]`, `2`, `{}`, `[1,1,1,1,1,1,1,1,1]`, `[1e3]`} {
		f(tm(`"datatype": "FP32", "shape": `+shape+`, "data": [1]`), lim,
			`input "tenure_months": shape must be a list of positive integers such as [2] or [2,1], got `+strings.ReplaceAll(shape, " ", ""))
	}
	// Ignored inputs still need the protocol's fields and a valid shape.
	f(in(`"name": "x", "datatype": "FP32", "data": [1]`), lim, `input "x": shape is required, such as [2] for 2 rows`)
	f(in(`"name": "x", "datatype": "FP32", "shape": [0], "data": [1]`), lim, `input "x": shape must be a list of positive integers such as [2] or [2,1], got [0]`)

	// Batch and limits.
	f(`{"inputs": [
		{"name": "a", "datatype": "FP32", "shape": [2], "data": [1, 2]},
		{"name": "b", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]}`, lim,
		`inputs: every input must have the same batch size; "a" has 2 rows, "b" has 3`)
	// The specification's first example as it stands, named after features:
	// a [2,2] tensor is not a feature (and its BOOL input's [3] disagrees on
	// the batch, and holds one element).
	f(`{"id": "42", "inputs": [
		{"name": "tenure_months", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
		{"name": "has_partner", "shape": [3], "datatype": "BOOL", "data": [true]}],
		"outputs": [{"name": "output0"}]}`, lim,
		`input "tenure_months": shape [2,2] is not one value per row: a feature's input has shape [N] or [N,1]`)
	f(`{"id": "42", "inputs": [
		{"name": "tenure_months", "shape": [2, 1], "datatype": "UINT32", "data": [1, 2]},
		{"name": "has_partner", "shape": [3], "datatype": "BOOL", "data": [true]}]}`, lim,
		`inputs: every input must have the same batch size; "tenure_months" has 2 rows, "has_partner" has 3`)
	f(`{"id": "42", "inputs": [
		{"name": "has_partner", "shape": [3], "datatype": "BOOL", "data": [true]}]}`, lim,
		`input "has_partner": shape [3] holds 3 elements but data has 1`)
	f(tm(`"datatype": "FP32", "shape": [5000], "data": []`), lim, "too many rows: 5000 > 1000 (server.max_instances)")
	f(`{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]},
		{"name": "x", "datatype": "FP32", "shape": [3, 1], "data": [1, 2, 3]}]}`, oip.Limits{MaxRows: 10, MaxElements: 5},
		"too many elements: 6 > 5 (server.max_elements)")
	f(`{"inputs": [
		{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]},
		{"name": "tenure_months", "datatype": "FP32", "shape": [1, 9223372036854775807], "data": []}]}`, lim,
		`too many elements: input "tenure_months" of shape [1,9223372036854775807] alone exceeds 10000 (server.max_elements)`)
	f(tm(`"datatype": "FP32", "shape": [2, 9223372036854775807, 2], "data": []`), lim,
		`too many elements: input "tenure_months" of shape [2,9223372036854775807,2] alone exceeds 10000 (server.max_elements)`)

	// Datatypes and features.
	f(`{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]},
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [2]}]}`, lim,
		`input "tenure_months": given twice; send each feature as one input`)
	f(tm(`"datatype": "FLOAT", "shape": [1], "data": [1]`), lim,
		`input "tenure_months": unknown datatype "FLOAT"; use FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 or BOOL for a numeric feature, BYTES for a categorical one`)
	f(tm(`"datatype": "fp32", "shape": [1], "data": [1]`), lim,
		`input "tenure_months": unknown datatype "fp32"; use FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 or BOOL for a numeric feature, BYTES for a categorical one`)
	f(tm(`"datatype": "FP16", "shape": [1], "data": [1]`), lim, `input "tenure_months": datatype FP16 is not supported; send FP32 or FP64`)
	f(tm(`"datatype": "BF16", "shape": [1], "data": [1]`), lim, `input "tenure_months": datatype BF16 is not supported; send FP32 or FP64`)
	f(tm(`"datatype": "BYTES", "shape": [1], "data": ["24"]`), lim,
		`input "tenure_months": feature is numeric: send datatype FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 or BOOL, got BYTES`)
	f(ct(`"datatype": "FP32", "shape": [1], "data": [1]`), lim, `input "contract": feature is categorical: send datatype BYTES with string data, got FP32`)

	// Shape against data.
	f(tm(`"datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5]`), lim, `input "tenure_months": shape [2,3] holds 6 elements but data has 5`)
	f(tm(`"datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5]]`), lim, `input "tenure_months": shape [2,3] holds 6 elements but data has 5`)
	f(tm(`"datatype": "FP32", "shape": [2], "data": [1, 2, 3]`), lim, `input "tenure_months": shape [2] holds 2 elements but data has 3`)
	f(tm(`"datatype": "FP32", "shape": [2], "data": []`), lim, `input "tenure_months": shape [2] holds 2 elements but data has 0`)
	const nesting = "data nesting does not match shape %s; send data flat in row-major order, or nested exactly as the shape"
	for _, c := range []struct{ shape, data string }{
		{"[2,1]", "[[1, 2]]"},
		{"[2,1]", "[[1], 2]"},
		{"[2,1]", "[1, [2]]"},
		{"[2]", "[[1], [2]]"},
		{"[2,1]", "[[[1]], [[2]]]"},
		{"[2,3]", "[[1, 2], [3, 4], [5, 6]]"},
		{"[2,1]", "[[1], [[2]]]"},
	} {
		f(tm(`"datatype": "FP32", "shape": `+c.shape+`, "data": `+c.data), lim,
			`input "tenure_months": `+strings.Replace(nesting, "%s", c.shape, 1))
	}
	f(tm(`"datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]`), lim,
		`input "tenure_months": shape [2,3] is not one value per row: a feature's input has shape [N] or [N,1]`)
	f(tm(`"datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]`), lim,
		`input "tenure_months": shape [2,3] is not one value per row: a feature's input has shape [N] or [N,1]`)
	f(tm(`"datatype": "FP32", "shape": [1, 1, 1], "data": [1]`), lim,
		`input "tenure_months": shape [1,1,1] is not one value per row: a feature's input has shape [N] or [N,1]`)

	// Values.
	f(ct(`"datatype": "BYTES", "shape": [2], "data": ["monthly", 1]`), lim, `input "contract": datatype BYTES needs string data, got number`)
	f(ct(`"datatype": "BYTES", "shape": [1], "data": [null]`), lim, `input "contract": datatype BYTES needs string data, got null`)
	f(ct(`"datatype": "BYTES", "shape": [1], "data": [true]`), lim, `input "contract": datatype BYTES needs string data, got boolean`)
	f(ct(`"datatype": "BYTES", "shape": [1], "data": [{}]`), lim, `input "contract": datatype BYTES needs string data, got object`)
	f(tm(`"datatype": "FP32", "shape": [1], "data": ["24"]`), lim, `input "tenure_months": datatype FP32 needs number data, got string`)
	f(tm(`"datatype": "INT32", "shape": [1], "data": [null]`), lim, `input "tenure_months": datatype INT32 needs number data, got null`)
	f(tm(`"datatype": "FP64", "shape": [1], "data": [false]`), lim, `input "tenure_months": datatype FP64 needs number data, got boolean`)
	f(tm(`"datatype": "BOOL", "shape": [1], "data": [1]`), lim, `input "tenure_months": datatype BOOL needs true or false data, got number`)
	f(tm(`"datatype": "BOOL", "shape": [1], "data": ["true"]`), lim, `input "tenure_months": datatype BOOL needs true or false data, got string`)
	for _, c := range []struct{ dt, x string }{{"FP32", "NaN"}, {"FP64", "-Inf"}, {"FP64", "1e999"}, {"INT32", "inf"}, {"FP32", "nan"}} {
		f(tm(`"datatype": "`+c.dt+`", "shape": [1], "data": [`+c.x+`]`), lim,
			`input "tenure_months": datatype `+c.dt+` needs finite numbers, got `+c.x)
	}
	f(tm(`"datatype": "FP32", "shape": [1], "data": [3.5e38]`), lim, `input "tenure_months": datatype FP32 needs numbers within ±3.4028235e+38, got 3.5e38`)
	for _, c := range []struct{ dt, x, rng string }{
		{"INT8", "128", "integers from -128 to 127"},
		{"INT8", "-129", "integers from -128 to 127"},
		{"INT8", "1.5", "integers from -128 to 127"},
		{"INT16", "32768", "integers from -32768 to 32767"},
		{"INT32", "2147483648", "integers from -2147483648 to 2147483647"},
		{"INT32", "0.1", "integers from -2147483648 to 2147483647"},
		{"INT64", "9223372036854775808", "integers from -9223372036854775808 to 9223372036854775807"},
		{"UINT8", "-1", "integers from 0 to 255"},
		{"UINT8", "256", "integers from 0 to 255"},
		{"UINT16", "65536", "integers from 0 to 65535"},
		{"UINT32", "4294967296", "integers from 0 to 4294967295"},
		{"UINT64", "18446744073709551616", "integers from 0 to 18446744073709551615"},
		{"UINT64", "-0.5", "integers from 0 to 18446744073709551615"},
		{"INT64", "9223372036854775807.5", "integers from -9223372036854775808 to 9223372036854775807"},
		{"UINT64", "18446744073709551616.0", "integers from 0 to 18446744073709551615"},
	} {
		f(tm(`"datatype": "`+c.dt+`", "shape": [1], "data": [`+c.x+`]`), lim,
			`input "tenure_months": datatype `+c.dt+` needs `+c.rng+`, got `+c.x)
	}

	// id, parameters and outputs.
	const ok = `"inputs": [{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [1]}]`
	f(`{"id": 42, `+ok+`}`, lim, "id must be a string, got number")
	f(`{"parameters": [], `+ok+`}`, lim, `parameters must be an object such as {"timeout": 250000}, got list`)
	f(`{"parameters": {"priority": -1}, `+ok+`}`, lim, "parameters.priority must be an integer >= 0, got -1")
	f(`{"parameters": {"priority": "high"}, `+ok+`}`, lim, `parameters.priority must be an integer >= 0, got "high"`)
	f(`{"parameters": {"priority": 1.5}, `+ok+`}`, lim, "parameters.priority must be an integer >= 0, got 1.5")
	f(`{"parameters": {"timeout": 1.5}, `+ok+`}`, lim, "parameters.timeout must be an integer >= 0, in microseconds (250000 is 250ms), got 1.5")
	f(`{"parameters": {"timeout": -5}, `+ok+`}`, lim, "parameters.timeout must be an integer >= 0, in microseconds (250000 is 250ms), got -5")
	f(`{"outputs": {"name": "label"}, `+ok+`}`, lim, `outputs must be a list such as [{"name": "probability"}], got object`)
	f(`{"outputs": ["label"], `+ok+`}`, lim, `outputs[0] must be an object such as {"name": "probability"}, got string`)
	f(`{"outputs": [{}], `+ok+`}`, lim, `outputs[0]: name is required: one of "probability", "label", "model_version" and "target"`)
	f(`{"outputs": [{"name": 1}], `+ok+`}`, lim, "outputs[0]: name must be a string, got number")
	f(`{"outputs": [{"name": "foo"}], `+ok+`}`, lim, `outputs: unknown output "foo"; the model has "probability", "label", "model_version" and "target"`)
	f(`{"outputs": [{"name": "label"}, {"name": "label"}], `+ok+`}`, lim, `outputs: "label" is requested twice; list each output once`)
}

func TestDecodePanicsOnBadLimits(t *testing.T) {
	t.Parallel()
	for _, lim := range []oip.Limits{{}, {MaxRows: 1}, {MaxElements: 1}, {MaxRows: -1, MaxElements: 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("limits %+v: no panic", lim)
				}
			}()
			_, _, _ = decode(t, `{}`, lim)
		}()
	}
}
