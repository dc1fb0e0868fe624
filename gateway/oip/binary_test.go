package oip_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// kindsSchema is a model taking one input of each kind the binary
// extension lays out differently: 4-byte floats, 8-byte integers, 1-byte
// booleans and length-prefixed strings.
var kindsSchema = oip.NewTensorSchema(&registry.Signature{
	Inputs: []registry.TensorSpec{
		{Name: "x", DType: "float32", Shape: []int64{-1, 2}},
		{Name: "ids", DType: "int64", Shape: []int64{-1}},
		{Name: "mask", DType: "bool", Shape: []int64{-1, 2}},
		{Name: "words", DType: "string", Shape: []int64{-1}},
	},
	Outputs: []registry.OutputSpec{
		{TensorSpec: registry.TensorSpec{Name: "scores", DType: "float32", Shape: []int64{-1, 3}}, Kind: registry.KindProbabilities, Labels: []string{"a", "b", "c"}},
		{TensorSpec: registry.TensorSpec{Name: "ids", DType: "int64", Shape: []int64{-1}}, Kind: registry.KindRaw},
		{TensorSpec: registry.TensorSpec{Name: "flags", DType: "bool", Shape: []int64{-1}}, Kind: registry.KindRaw},
		{TensorSpec: registry.TensorSpec{Name: "names", DType: "string", Shape: []int64{-1}}, Kind: registry.KindRaw},
	},
})

const kindsJSON = `{"id": "k", "inputs": [
	{"name": "x", "datatype": "FP32", "shape": [3, 2], "data": [1.5, -2, 0.1, 3.4e38, -0, 7]},
	{"name": "ids", "datatype": "INT64", "shape": [3], "data": [9223372036854775807, -9223372036854775808, 42]},
	{"name": "mask", "datatype": "BOOL", "shape": [3, 2], "data": [true, false, false, true, true, true]},
	{"name": "words", "datatype": "BYTES", "shape": [3], "data": ["", "héllo", "a\"b"]}]}`

// binaryBody is a request of the binary extension: header, then each
// input's bytes in the header's order.
func binaryBody(header string, parts ...[]byte) (body []byte, headerLen string) {
	body = []byte(header)
	for _, p := range parts {
		body = append(body, p...)
	}
	return body, strconv.Itoa(len(header))
}

func le32s(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func le64s(xs ...int64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func lenPrefixed(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

var (
	kindsX     = le32s(1.5, -2, 0.1, 3.4e38, float32(math.Copysign(0, -1)), 7)
	kindsIDs   = le64s(math.MaxInt64, math.MinInt64, 42)
	kindsMask  = []byte{1, 0, 0, 1, 1, 1}
	kindsWords = lenPrefixed("", "héllo", `a"b`)
)

func kindsBinary() (body []byte, headerLen string) {
	in := func(name, dt, shape string, n int) string {
		return `{"name": "` + name + `", "datatype": "` + dt + `", "shape": ` + shape + `, "parameters": {"binary_data_size": ` + strconv.Itoa(n) + `}}`
	}
	header := `{"id": "k", "inputs": [` +
		in("x", "FP32", "[3, 2]", len(kindsX)) + `,` +
		in("ids", "INT64", "[3]", len(kindsIDs)) + `,` +
		in("mask", "BOOL", "[3, 2]", len(kindsMask)) + `,` +
		in("words", "BYTES", "[3]", len(kindsWords)) + `]}`
	return binaryBody(header, kindsX, kindsIDs, kindsMask, kindsWords)
}

// decodeSplit splits body by headerLen and decodes it for a tensor model.
func decodeSplit(t testing.TB, body []byte, headerLen string, s *oip.TensorSchema) (*oip.Request, *oip.TensorRequest, []byte, error) {
	t.Helper()
	var hl []byte
	if headerLen != "" {
		hl = []byte(headerLen)
	}
	header, tail, err := oip.SplitBody(body, hl)
	if err != nil {
		return nil, nil, nil, err
	}
	r := oip.AcquireRequest()
	t.Cleanup(func() { oip.ReleaseRequest(r) })
	var tr oip.TensorRequest
	return r, &tr, tail, r.DecodeTensors(header, tail, s, testLimits, &tr)
}

// TestBinaryInputsMatchJSON: FP32, INT64, BOOL and BYTES inputs sent as
// binary data decode into the same tensors, byte for byte, as the same
// values sent as JSON; a fixed-size input is the body's own bytes, not a
// copy.
func TestBinaryInputsMatchJSON(t *testing.T) {
	t.Parallel()
	_, fromJSON, _, err := decodeSplit(t, []byte(kindsJSON), "", kindsSchema)
	if err != nil {
		t.Fatal(err)
	}
	body, hl := kindsBinary()
	r, fromBinary, tail, err := decodeSplit(t, body, hl, kindsSchema)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.ID) != "k" {
		t.Errorf("id %q", r.ID)
	}
	for i, want := range fromJSON.Inputs {
		got := fromBinary.Inputs[i]
		if got.Name != want.Name || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("input %d: %s %v %v, want %s %v %v", i, got.Name, got.DType, got.Shape, want.Name, want.DType, want.Shape)
		}
		if !bytes.Equal(got.Data, want.Data) {
			t.Errorf("input %s: data % x, want % x (the JSON path's)", want.Name, got.Data, want.Data)
		}
		if !slices.EqualFunc(got.Strings, want.Strings, bytes.Equal) {
			t.Errorf("input %s: strings %q, want %q", want.Name, got.Strings, want.Strings)
		}
	}
	if x := fromBinary.Inputs[0].Data; unsafe.SliceData(x) != unsafe.SliceData(tail) {
		t.Error("the FP32 input was copied; it should be the tail's bytes")
	}
}

// TestBinaryFeaturesMatchJSON: a tabular route's features sent as binary
// inputs (FP32, INT64, BOOL and BYTES) decode into the same rows as JSON,
// and an input the model ignores still takes its bytes.
func TestBinaryFeaturesMatchJSON(t *testing.T) {
	t.Parallel()
	const js = `{"inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [2], "data": [24, 1.5]},
		{"name": "extra", "datatype": "FP32", "shape": [2], "data": [9, 9]},
		{"name": "monthly_charges", "datatype": "INT64", "shape": [2, 1], "data": [[70], [-3]]},
		{"name": "has_partner", "datatype": "BOOL", "shape": [2], "data": [true, false]},
		{"name": "contract", "datatype": "BYTES", "shape": [2], "data": ["monthly", "two-year"]}]}`
	_, want, err := decode(t, js, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	in := func(name, dt, shape string, n int) string {
		return `{"name": "` + name + `", "datatype": "` + dt + `", "shape": ` + shape + `, "parameters": {"binary_data_size": ` + strconv.Itoa(n) + `}}`
	}
	tenure, extra, charges, partner, contract := le32s(24, 1.5), le32s(9, 9), le64s(70, -3), []byte{1, 0}, lenPrefixed("monthly", "two-year")
	header := `{"inputs": [` + in("tenure_months", "FP32", "[2]", 8) + `,` + in("extra", "FP32", "[2]", 8) + `,` +
		in("monthly_charges", "INT64", "[2, 1]", 16) + `,` + in("has_partner", "BOOL", "[2]", 2) + `,` + in("contract", "BYTES", "[2]", len(contract)) + `]}`
	body, hl := binaryBody(header, tenure, extra, charges, partner, contract)
	h, tail, err := oip.SplitBody(body, []byte(hl))
	if err != nil {
		t.Fatal(err)
	}
	r := oip.AcquireRequest()
	defer oip.ReleaseRequest(r)
	var got []features.Set
	if err := r.Decode(h, tail, testSchema, testLimits, &got); err != nil {
		t.Fatal(err)
	}
	if g, w := rowsText(got), rowsText(want); !slices.Equal(g, w) {
		t.Errorf("binary rows %q, want the JSON rows %q", g, w)
	}
}

// binaryAnswer is a response of the binary extension taken apart: the
// JSON header's outputs, and each binary output's bytes by name.
type binaryAnswer struct {
	Outputs []answerOutput
	raw     map[string][]byte
}

type answerOutput struct {
	Name       string
	Datatype   string
	Shape      []int64
	Data       json.RawMessage
	Parameters struct {
		BinaryDataSize *int `json:"binary_data_size"`
	}
}

func parseBinaryAnswer(t *testing.T, body []byte, headerLen int) binaryAnswer {
	t.Helper()
	if headerLen <= 0 || headerLen > len(body) {
		t.Fatalf("header length %d of a %d-byte answer", headerLen, len(body))
	}
	var a binaryAnswer
	if err := json.Unmarshal(body[:headerLen], &a); err != nil {
		t.Fatalf("header %q: %v", body[:headerLen], err)
	}
	a.raw = map[string][]byte{}
	tail := body[headerLen:]
	for _, o := range a.Outputs {
		if o.Parameters.BinaryDataSize == nil {
			continue
		}
		n := *o.Parameters.BinaryDataSize
		if o.Data != nil || n > len(tail) {
			t.Fatalf("output %s: data %s, binary_data_size %d of %d bytes left", o.Name, o.Data, n, len(tail))
		}
		a.raw[o.Name], tail = tail[:n], tail[n:]
	}
	if len(tail) != 0 {
		t.Fatalf("%d bytes after the binary outputs", len(tail))
	}
	return a
}

// kindsOutputs is an answer of kindsSchema's model for 2 rows.
func kindsOutputs() []tensor.Tensor {
	return []tensor.Tensor{
		{Name: "scores", DType: tensor.Float32, Shape: []int64{2, 3}, Data: le32s(0.25, 0.5, 0.25, 0.1, 0.2, 0.7)},
		{Name: "ids", DType: tensor.Int64, Shape: []int64{2}, Data: le64s(-1, math.MaxInt64)},
		{Name: "flags", DType: tensor.Bool, Shape: []int64{2}, Data: []byte{0, 1}},
		{Name: "names", DType: tensor.String, Shape: []int64{2}, Strings: [][]byte{[]byte("ä"), []byte("")}},
	}
}

// TestBinaryOutputsMatchJSON: every output asked for as binary data
// (binary_data per output, or binary_data_output for all) carries the
// bytes of the values the JSON answer holds, after a header whose length
// the answer reports; an output asked for with binary_data false stays
// JSON.
func TestBinaryOutputsMatchJSON(t *testing.T) {
	t.Parallel()
	outs := kindsOutputs()
	jsonAnswer, headerLen, err := oip.AppendTensorResponse(nil, "m", "1", nil, nil, kindsSchema, outs)
	if err != nil || headerLen != 0 {
		t.Fatalf("JSON answer: header %d, %v", headerLen, err)
	}
	var plain binaryAnswer
	if err := json.Unmarshal(jsonAnswer, &plain); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, request string
		binary        []string
	}{
		{"binary_data_output", `"parameters": {"binary_data_output": true}`, []string{"scores", "ids", "flags", "names"}},
		{"per output", `"outputs": [{"name": "names", "parameters": {"binary_data": true}}, {"name": "ids"}, {"name": "flags", "parameters": {"binary_data": true}}]`, []string{"names", "flags"}},
		{"binary_data false wins", `"parameters": {"binary_data_output": true}, "outputs": [{"name": "scores", "parameters": {"binary_data": false}}, {"name": "ids"}]`, []string{"ids"}},
	} {
		body := `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]},
			{"name": "ids", "datatype": "INT64", "shape": [1], "data": [1]},
			{"name": "mask", "datatype": "BOOL", "shape": [1, 2], "data": [true, true]},
			{"name": "words", "datatype": "BYTES", "shape": [1], "data": ["w"]}], ` + tc.request + `}`
		r, tr, _, err := decodeSplit(t, []byte(body), "", kindsSchema)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, headerLen, err := oip.AppendTensorResponse([]byte("prefix"), "m", "1", r, tr, kindsSchema, outs)
		if err != nil || !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("%s: %v, %q", tc.name, err, got)
		}
		a := parseBinaryAnswer(t, got[len("prefix"):], headerLen)
		for _, o := range a.Outputs {
			k := slices.IndexFunc(outs, func(x tensor.Tensor) bool { return x.Name == o.Name })
			wantBinary := slices.Contains(tc.binary, o.Name)
			if _, isBinary := a.raw[o.Name]; isBinary != wantBinary {
				t.Errorf("%s: output %s binary %v, want %v", tc.name, o.Name, isBinary, wantBinary)
				continue
			}
			if !wantBinary {
				continue
			}
			if want := binaryOf(&outs[k]); !bytes.Equal(a.raw[o.Name], want) {
				t.Errorf("%s: output %s bytes % x, want % x", tc.name, o.Name, a.raw[o.Name], want)
			}
			// The header describes the tensor as the JSON answer does.
			j := slices.IndexFunc(plain.Outputs, func(p answerOutput) bool { return p.Name == o.Name })
			if p := plain.Outputs[j]; p.Datatype != o.Datatype || !slices.Equal(p.Shape, o.Shape) {
				t.Errorf("%s: output %s is %s %v, the JSON answer's %s %v", tc.name, o.Name, o.Datatype, o.Shape, p.Datatype, p.Shape)
			}
		}
	}
}

// binaryOf lays t out as the extension does.
func binaryOf(t *tensor.Tensor) []byte {
	if t.DType != tensor.String {
		return t.Data
	}
	var b []byte
	for _, s := range t.Strings {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// TestBinaryClassification: a classification asked for as binary data is
// the JSON answer's strings, length-prefixed.
func TestBinaryClassification(t *testing.T) {
	t.Parallel()
	outs := kindsOutputs()
	ask := func(binary bool) ([]byte, int) {
		body := `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]},
			{"name": "ids", "datatype": "INT64", "shape": [1], "data": [1]},
			{"name": "mask", "datatype": "BOOL", "shape": [1, 2], "data": [true, true]},
			{"name": "words", "datatype": "BYTES", "shape": [1], "data": ["w"]}],
			"outputs": [{"name": "scores", "parameters": {"classification": 2, "binary_data": ` + strconv.FormatBool(binary) + `}}]}`
		r, tr, _, err := decodeSplit(t, []byte(body), "", kindsSchema)
		if err != nil {
			t.Fatal(err)
		}
		got, hl, err := oip.AppendTensorResponse(nil, "m", "", r, tr, kindsSchema, outs)
		if err != nil {
			t.Fatal(err)
		}
		return got, hl
	}
	plain, _ := ask(false)
	var p struct{ Outputs []struct{ Data []string } }
	if err := json.Unmarshal(plain, &p); err != nil {
		t.Fatal(err)
	}
	got, hl := ask(true)
	a := parseBinaryAnswer(t, got, hl)
	if want := lenPrefixed(p.Outputs[0].Data...); !bytes.Equal(a.raw["scores"], want) {
		t.Errorf("binary classification %q, want %q (the JSON answer's %q)", a.raw["scores"], want, p.Outputs[0].Data)
	}
	if o := a.Outputs[0]; o.Datatype != "BYTES" || !slices.Equal(o.Shape, []int64{2, 2}) {
		t.Errorf("classification output %s %v", o.Datatype, o.Shape)
	}
}

// TestBinaryTabularOutputs: a tabular route's outputs as binary data hold
// the JSON answer's values: probability FP32, label, model_version and
// target BYTES.
func TestBinaryTabularOutputs(t *testing.T) {
	t.Parallel()
	rows := []oip.Row{
		{Probability: 0.75, Label: "churns", ModelVersion: "1.0.0", Target: "primary"},
		{Probability: 0.125, Label: "stays", ModelVersion: "1.1.0", Target: "canary"},
	}
	r, _, err := decode(t, `{"parameters": {"binary_data_output": true}, "outputs": [{"name": "label"}, {"name": "probability"}, {"name": "target", "parameters": {"binary_data": false}}, {"name": "model_version"}],
		"inputs": [{"name": "tenure_months", "datatype": "FP32", "shape": [2], "data": [1, 2]}]}`, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	body, hl := oip.AppendResponse(nil, "m", testSchema, r, rows)
	a := parseBinaryAnswer(t, body, hl)
	want := map[string][]byte{
		"label":         lenPrefixed("churns", "stays"),
		"probability":   le32s(0.75, 0.125),
		"model_version": lenPrefixed("1.0.0", "1.1.0"),
	}
	for name, w := range want {
		if !bytes.Equal(a.raw[name], w) {
			t.Errorf("output %s: % x, want % x", name, a.raw[name], w)
		}
	}
	if _, binary := a.raw["target"]; binary || len(a.Outputs) != 4 || string(a.Outputs[2].Data) != `["primary","canary"]` {
		t.Errorf("target should stay JSON: %+v", a.Outputs)
	}
	if plain, hl := oip.AppendResponse(nil, "m", testSchema, nil, rows); hl != 0 || !json.Valid(plain) {
		t.Errorf("without a request every output is JSON: header %d, %s", hl, plain)
	}
}

// TestBinaryErrors: malformed binary requests get a 400 that says what is
// wrong.
func TestBinaryErrors(t *testing.T) {
	t.Parallel()
	x := func(params string, extra ...string) string {
		return `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "parameters": ` + params + `},
			{"name": "ids", "datatype": "INT64", "shape": [2], "data": [1, 2]},
			{"name": "mask", "datatype": "BOOL", "shape": [2, 2], "data": [true, true, true, true]},
			{"name": "words", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]` + strings.Join(extra, "") + `}`
	}
	words := func(size int) string {
		return `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]},
			{"name": "ids", "datatype": "INT64", "shape": [2], "data": [1, 2]},
			{"name": "mask", "datatype": "BOOL", "shape": [2, 2], "data": [true, true, true, true]},
			{"name": "words", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": ` + strconv.Itoa(size) + `}}]}`
	}
	for _, tc := range []struct {
		name, header, headerLen string
		tail                    []byte
		want                    string
	}{
		{"header length not a number", x(`{"binary_data_size": 16}`), "sixteen", le32s(1, 2, 3, 4), `Inference-Header-Content-Length must be the byte length of the JSON header at the start of the body, an integer >= 0, got "sixteen"`},
		{"header length past the body", x(`{"binary_data_size": 16}`), "100000", le32s(1, 2, 3, 4), "Inference-Header-Content-Length is 100000, but the body has"},
		{"size larger than what follows", x(`{"binary_data_size": 4096}`), "", le32s(1, 2, 3, 4), `input "x": binary_data_size 4096, but 16 bytes of binary data follow the header and the inputs before this one`},
		{"size not the shape's", x(`{"binary_data_size": 12}`), "", le32s(1, 2, 3), `input "x": binary_data_size 12, but shape [2,2] of FP32 needs 16 bytes (4 per element)`},
		{"bytes left over", x(`{"binary_data_size": 16}`), "", le32s(1, 2, 3, 4, 5), "20 bytes of binary data follow the JSON header, but the inputs' binary_data_size add up to 16"},
		{"negative size", x(`{"binary_data_size": -1}`), "", nil, `input "x": parameters.binary_data_size must be the byte length of the input's binary data, an integer >= 0, got -1`},
		{"data and binary", strings.Replace(x(`{"binary_data_size": 16}`), `"parameters"`, `"data": [1, 2, 3, 4], "parameters"`, 1), "", le32s(1, 2, 3, 4), `input "x": has both data and parameters.binary_data_size`},
		{"no header", x(`{"binary_data_size": 16}`), "none", nil, `input "x": parameters.binary_data_size is 16, but the request has no Inference-Header-Content-Length header`},
		{"shared memory", x(`{"shared_memory_region": "r", "shared_memory_byte_size": 16}`), "none", nil, `input "x": shared memory is not supported`},
		{"BYTES length past the size", words(9), "", []byte{1, 0, 0, 0, 'a', 200, 0, 0, 0}, `input "words": BYTES element 1 of 2 has length 200, which runs past binary_data_size 9`},
		{"BYTES cut in a length", words(7), "", []byte{1, 0, 0, 0, 'a', 1, 0}, `input "words": BYTES element 1 of 2: its 4-byte length runs past binary_data_size 7`},
		{"BYTES with bytes left", words(12), "", []byte{1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 0, 0}, `input "words": 2 bytes of binary data are left after the shape's 2 BYTES elements`},
		{"BOOL not 0 or 1", strings.Replace(x(`{"binary_data_size": 16}`), `"data": [true, true, true, true]`, `"parameters": {"binary_data_size": 4}`, 1), "", append(le32s(1, 2, 3, 4), 1, 0, 2, 1), `input "mask": BOOL element 2 is the byte 2; true is 1 and false 0`},
		{"binary_data not a boolean", x(`{"binary_data_size": 16}`, `, "outputs": [{"name": "ids", "parameters": {"binary_data": 1}}]`), "", le32s(1, 2, 3, 4), `outputs["ids"].parameters.binary_data must be true or false, got 1`},
		{"binary_data_output not a boolean", x(`{"binary_data_size": 16}`, `, "parameters": {"binary_data_output": "yes"}`), "", le32s(1, 2, 3, 4), `parameters.binary_data_output must be true or false, got "yes"`},
	} {
		body := append([]byte(tc.header), tc.tail...)
		hl := tc.headerLen
		switch hl {
		case "":
			hl = strconv.Itoa(len(tc.header))
		case "none":
			hl = ""
		}
		_, _, _, err := decodeSplit(t, body, hl, kindsSchema)
		var oe *oip.Error
		if !errors.As(err, &oe) || oe.Status != http.StatusBadRequest || !strings.Contains(oe.Msg, tc.want) {
			t.Errorf("%s: got %v, want a 400 containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzDecodeBinary feeds arbitrary bodies and Inference-Header-Content-Length
// values to both decoders: they must never panic; an error must be a 400
// *Error with a message; a tensor request that decodes has inputs whose
// data are exactly their shapes' bytes, and its answer, asked binary,
// parses back.
func FuzzDecodeBinary(f *testing.F) {
	body, hl := kindsBinary()
	f.Add(body, hl)
	f.Add([]byte(kindsJSON), "")
	f.Add([]byte(`{"inputs":[{"name":"words","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":4}}]}`+"\xff\xff\xff\xff"), "96")
	f.Add([]byte(`{"inputs":[{"name":"tenure_months","datatype":"FP64","shape":[1],"parameters":{"binary_data_size":8}}]}`+"\x00\x00\x00\x00\x00\x00\xf0\x7f"), "98")
	f.Add([]byte(`{"inputs":[]}`), "-1")
	f.Fuzz(func(t *testing.T, body []byte, headerLen string) {
		var hl []byte
		if headerLen != "" {
			hl = []byte(headerLen)
		}
		check := func(err error) bool {
			if err == nil {
				return true
			}
			var e *oip.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Msg == "" {
				t.Fatalf("error %#v, want a 400 *oip.Error with a message", err)
			}
			return false
		}
		header, tail, err := oip.SplitBody(body, hl)
		if !check(err) {
			return
		}
		r := oip.AcquireRequest()
		defer oip.ReleaseRequest(r)
		var rows []features.Set
		if check(r.Decode(header, tail, testSchema, testLimits, &rows)) {
			for i := range rows {
				for j := 0; j < rows[i].Len(); j++ {
					if f := rows[i].At(j); f.Kind == features.Number && (math.IsNaN(f.Num) || math.IsInf(f.Num, 0)) {
						t.Fatalf("row %d: %s is %v", i, f.Name, f.Num)
					}
				}
			}
		}
		var tr oip.TensorRequest
		if !check(r.DecodeTensors(header, tail, kindsSchema, testLimits, &tr)) {
			return
		}
		for _, in := range tr.Inputs {
			n := 1
			for _, d := range in.Shape {
				n *= int(d)
			}
			if in.DType == tensor.String && len(in.Strings) != n || in.DType != tensor.String && len(in.Data) != n*in.DType.Size() {
				t.Fatalf("input %s %v: %d bytes, %d strings", in.Name, in.Shape, len(in.Data), len(in.Strings))
			}
		}
		rows0 := int(tr.Inputs[0].Shape[0])
		outs := []tensor.Tensor{
			{Name: "scores", DType: tensor.Float32, Shape: []int64{int64(rows0), 3}, Data: make([]byte, 12*rows0)},
			{Name: "ids", DType: tensor.Int64, Shape: []int64{int64(rows0)}, Data: make([]byte, 8*rows0)},
			{Name: "flags", DType: tensor.Bool, Shape: []int64{int64(rows0)}, Data: make([]byte, rows0)},
			{Name: "names", DType: tensor.String, Shape: []int64{int64(rows0)}, Strings: make([][]byte, rows0)},
		}
		out, n, err := oip.AppendTensorResponse(nil, "m", "", r, &tr, kindsSchema, outs)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if !json.Valid(out) {
				t.Fatalf("invalid JSON answer %s", out)
			}
			return
		}
		parseBinaryAnswer(t, out, n)
	})
}
