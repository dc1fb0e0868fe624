package oip_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// tensorSignature is an imported model's: two inputs of different types,
// three outputs.
func tensorSignature() *registry.Signature {
	return &registry.Signature{
		Inputs: []registry.TensorSpec{
			{Name: "image", DType: "float32", Shape: []int64{-1, 3, 2}},
			{Name: "ids", DType: "int64", Shape: []int64{-1, 2}},
		},
		Outputs: []registry.OutputSpec{
			{TensorSpec: registry.TensorSpec{Name: "probabilities", DType: "float32", Shape: []int64{-1, 3}}, Kind: registry.KindProbabilities, Labels: []string{"cat", "dog", "bird"}},
			{TensorSpec: registry.TensorSpec{Name: "label", DType: "int64", Shape: []int64{-1}}, Kind: registry.KindLabel},
			{TensorSpec: registry.TensorSpec{Name: "names", DType: "string", Shape: []int64{-1, 1}}, Kind: registry.KindRaw},
		},
	}
}

var tensorSchema = oip.NewTensorSchema(tensorSignature())

const tensorBody = `{"id": "t-1", "parameters": {"timeout": 5000},
	"inputs": [
		{"name": "ids", "datatype": "INT64", "shape": [2, 2], "data": [9223372036854775807, -2, 3, 4]},
		{"name": "image", "datatype": "FP32", "shape": [2, 3, 2], "data": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12.5]]]}],
	"outputs": [{"name": "label"}, {"name": "probabilities", "parameters": {"classification": 2}}]}`

func TestDecodeTensors(t *testing.T) {
	t.Parallel()
	r := oip.AcquireRequest()
	defer oip.ReleaseRequest(r)
	var tr oip.TensorRequest
	if err := r.DecodeTensors([]byte(tensorBody), nil, tensorSchema, testLimits, &tr); err != nil {
		t.Fatal(err)
	}
	if string(r.ID) != "t-1" || !r.HasTimeout || r.TimeoutMicros != 5000 {
		t.Errorf("id %q, timeout %v %d", r.ID, r.HasTimeout, r.TimeoutMicros)
	}
	// The inputs come in the model's order, whatever the request's.
	img, ids := tr.Inputs[0], tr.Inputs[1]
	if img.Name != "image" || !slices.Equal(img.Shape, []int64{2, 3, 2}) || !slices.Equal(tensor.Float32s(img.Data), []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5}) {
		t.Errorf("image %+v %v", img, tensor.Float32s(img.Data))
	}
	if v, _ := ids.Int64At(0); ids.Name != "ids" || v != math.MaxInt64 {
		t.Errorf("ids[0] = %d: 64-bit integers must be read exactly", v)
	}
	if !slices.Equal(tr.Outputs, []oip.RequestedOutput{{Name: "label"}, {Name: "probabilities", Classification: 2}}) {
		t.Errorf("outputs %+v", tr.Outputs)
	}
}

// TestDecodeTensorsRefuses: every malformed or misfitting input is a 400
// naming the input (and the dimension).
func TestDecodeTensorsRefuses(t *testing.T) {
	t.Parallel()
	image := `{"name": "image", "datatype": "FP32", "shape": [1, 3, 2], "data": [1, 2, 3, 4, 5, 6]}`
	ids := `{"name": "ids", "datatype": "INT64", "shape": [1, 2], "data": [1, 2]}`
	f := func(body, want string) {
		t.Helper()
		r := oip.AcquireRequest()
		defer oip.ReleaseRequest(r)
		var tr oip.TensorRequest
		err := r.DecodeTensors([]byte(body), nil, tensorSchema, oip.Limits{MaxRows: 4, MaxElements: 100}, &tr)
		var oe *oip.Error
		if !errors.As(err, &oe) || oe.Status != http.StatusBadRequest || !strings.Contains(oe.Msg, want) {
			t.Errorf("%s:\n got %v\nwant 400 saying %q", body, err, want)
		}
	}
	in := func(inputs ...string) string { return `{"inputs": [` + strings.Join(inputs, ",") + `]}` }
	f(in(image, strings.Replace(ids, `"ids"`, `"idz"`, 1)), `unknown input "idz": the model takes "image" FP32 [-1,3,2], "ids" INT64 [-1,2]`)
	f(in(image), `input "ids" is missing: the model takes "image" FP32 [-1,3,2], "ids" INT64 [-1,2]`)
	f(in(image, strings.Replace(ids, "INT64", "INT32", 1)), `input "ids": datatype "INT32", but the model takes INT64`)
	f(in(image, strings.Replace(ids, "INT64", "FLOAT", 1)), `input "ids": datatype "FLOAT", but the model takes INT64`)
	f(in(strings.Replace(image, "[1, 3, 2]", "[1, 2, 3]", 1), ids), `input "image": shape [1,2,3]: dimension 1 is 2, but the model takes 3 ([-1,3,2])`)
	f(in(strings.Replace(image, "[1, 3, 2]", "[1, 6]", 1), ids), `input "image": shape [1,6] has 2 dimensions, but the model takes 3: [-1,3,2]`)
	f(in(image, strings.Replace(strings.Replace(ids, "[1, 2]", "[2, 2]", 1), "[1, 2]}", "[1, 2, 3, 4]}", 1)), `input "ids": has 2 rows, another input 1`)
	f(in(image, image), `input "image": given twice`)
	f(in(image, strings.Replace(ids, "[1, 2]}", "[1, 2.5]}", 1)), `input "ids": datatype INT64: 2.5 does not fit int64`)
	f(in(image, strings.Replace(ids, "[1, 2]}", "[1]}", 1)), `input "ids": shape [1,2] holds 2 elements but data has 1`)
	f(in(strings.Replace(image, "[1, 2, 3, 4, 5, 6]", `[1, 2, 3, 4, 5, "x"]`, 1), ids), `input "image": datatype FP32 needs number data, got string`)
	f(in(strings.Replace(image, "[1, 3, 2]", "[5, 3, 2]", 1), ids), "too many rows: 5 > 4 (server.max_instances)")
	f(`{"inputs": [`+image+`,`+ids+`], "outputs": [{"name": "prob"}]}`, `outputs: unknown output "prob"; the model has "probabilities", "label", "names"`)
	f(`{"inputs": [`+image+`,`+ids+`], "outputs": [{"name": "names", "parameters": {"classification": 1}}]}`, `the output is BYTES, not scores to rank`)
	f(`{"inputs": [`+image+`,`+ids+`], "outputs": [{"name": "label", "parameters": {"classification": 0}}]}`, `classification must be an integer >= 1`)
	f(`[1]`, "request body must be a JSON object")
}

func TestTensorResponse(t *testing.T) {
	t.Parallel()
	outs := []tensor.Tensor{
		{Name: "probabilities", DType: tensor.Float32, Shape: []int64{2, 3}, Data: tensor.BytesOf([]float32{0.1, 0.7, 0.2, 0.5, 0.2, 0.3})},
		{Name: "label", DType: tensor.Int64, Shape: []int64{2}, Data: tensor.BytesOf([]int64{1, -1})},
		{Name: "names", DType: tensor.String, Shape: []int64{2, 1}, Strings: [][]byte{[]byte(`a"b`), []byte("c")}},
	}
	r := oip.AcquireRequest()
	defer oip.ReleaseRequest(r)
	var tr oip.TensorRequest
	if err := r.DecodeTensors([]byte(tensorBody), nil, tensorSchema, testLimits, &tr); err != nil {
		t.Fatal(err)
	}
	b, _, err := oip.AppendTensorResponse(nil, "animals", "1.2.0", r, &tr, tensorSchema, outs)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model_name":"animals","model_version":"1.2.0","id":"t-1","outputs":[` +
		`{"name":"label","datatype":"INT64","shape":[2],"data":[1,-1]},` +
		`{"name":"probabilities","datatype":"BYTES","shape":[2,2],"data":["0.7:1:dog","0.2:2:bird","0.5:0:cat","0.3:2:bird"]}]}`
	if string(b) != want {
		t.Errorf("response\n got %s\nwant %s", b, want)
	}
	all, _, err := oip.AppendTensorResponse(nil, "animals", "", nil, nil, tensorSchema, outs)
	if err != nil || !json.Valid(all) || !strings.Contains(string(all), `{"name":"names","datatype":"BYTES","shape":[2,1],"data":["a\"b","c"]}`) {
		t.Errorf("every output: %s (%v)", all, err)
	}
	nan := []tensor.Tensor{{Name: "probabilities", DType: tensor.Float32, Shape: []int64{1, 1}, Data: tensor.BytesOf([]float32{float32(math.NaN())})}}
	if _, _, err := oip.AppendTensorResponse(nil, "m", "", nil, nil, tensorSchema, nan); err == nil || !strings.Contains(err.Error(), "holds NaN") {
		t.Errorf("a NaN output: %v", err)
	}
	md := tensorSchema.Metadata("animals", []string{"1.2.0"})
	if got, _ := json.Marshal(md); !strings.Contains(string(got), `"inputs":[{"name":"image","datatype":"FP32","shape":[-1,3,2]},{"name":"ids","datatype":"INT64","shape":[-1,2]}]`) {
		t.Errorf("metadata %s", got)
	}
}

// FuzzDecodeTensors feeds arbitrary bodies to DecodeTensors: it must never
// panic; an error is a 400; a success yields every model input, of its type,
// with a shape that fits the model and as many elements as it says.
func FuzzDecodeTensors(f *testing.F) {
	for _, seed := range []string{
		tensorBody,
		`{"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 3, 2], "data": [1, 2, 3, 4, 5, 6]}, {"name": "ids", "datatype": "INT64", "shape": [1, 2], "data": [1, 2]}]}`,
		`{"inputs": [{"name": "ids", "datatype": "INT64", "shape": [1, 2], "data": [1e3, 18446744073709551615]}]}`,
		`{"inputs": [{"name": "image", "datatype": "FP32", "shape": [0, 3, 2], "data": []}]}`,
		`{"inputs": [{"name": "image", "datatype": "FP32", "shape": [2147483647, 2147483647, 2], "data": []}]}`,
		`{"inputs": [], "outputs": [{"name": "label", "parameters": {"classification": 1}}]}`,
		`{}`, `[]`, ``, `{"inputs": 1}`,
	} {
		f.Add([]byte(seed))
	}
	lim := oip.Limits{MaxRows: 16, MaxElements: 512}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := oip.AcquireRequest()
		defer oip.ReleaseRequest(r)
		var tr oip.TensorRequest
		err := r.DecodeTensors(body, nil, tensorSchema, lim, &tr)
		if err != nil {
			var oe *oip.Error
			if !errors.As(err, &oe) || oe.Status != http.StatusBadRequest || oe.Msg == "" {
				t.Fatalf("error %v is not a 400 with a message", err)
			}
			return
		}
		sig := tensorSignature()
		for i, in := range tr.Inputs {
			spec := sig.Inputs[i]
			if in.Name != spec.Name || in.DType != tensor.Parse(spec.DType) || len(in.Shape) != len(spec.Shape) || !in.Check() {
				t.Fatalf("input %d: %+v does not fit %+v", i, in, spec)
			}
			if in.Shape[0] != tr.Inputs[0].Shape[0] || in.Shape[0] > int64(lim.MaxRows) {
				t.Fatalf("input %d has %d rows", i, in.Shape[0])
			}
		}
	})
}

// TestDecodeTensorsDoesNotAllocate guards the tensor request path.
func TestDecodeTensorsDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	b := []byte(tensorBody)
	var tr oip.TensorRequest
	run := func() {
		r := oip.AcquireRequest()
		if err := r.DecodeTensors(b, nil, tensorSchema, testLimits, &tr); err != nil {
			t.Fatal(err)
		}
		oip.ReleaseRequest(r)
	}
	run()
	if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
		t.Errorf("DecodeTensors allocates %.1f times per request, want 0", allocs)
	}
}
