package remote

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// TestParseV2Tensors: a v2 answer of tensors is read into the route's
// outputs by name, as binary data after its header or as JSON data (a
// server that ignores binary_data_output), an output the route lacks
// skipped; a wrong datatype, a size that does not add up or a missing
// output is an error naming it.
func TestParseV2Tensors(t *testing.T) {
	t.Parallel()
	f32 := func(xs ...float32) []byte { return tensor.BytesOf(xs) }
	answer := func(header string, tail []byte) *fasthttp.Response {
		var r fasthttp.Response
		if tail != nil {
			r.Header.Set(headerContentLength, strconv.Itoa(len(header)))
		}
		r.SetBody(append([]byte(header), tail...))
		return &r
	}
	outs := func() []tensor.Tensor {
		return []tensor.Tensor{{Name: "y", DType: tensor.Float32}, {Name: "words", DType: tensor.String}}
	}
	var p fastjson.Parser
	var scratch tensor.Tensor
	var a Answer
	check := func(what string, r *fasthttp.Response) {
		t.Helper()
		o := outs()
		if err := parseV2Tensors(&p, r, o, &scratch, &a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !bytes.Equal(o[0].Data, f32(1.5, -2)) || len(o[1].Strings) != 2 || string(o[1].Strings[0]) != "é" || string(o[1].Strings[1]) != "" || a.Version != "7" {
			t.Errorf("%s: %v %q %q", what, tensor.Float32s(o[0].Data), o[1].Strings, a.Version)
		}
	}
	words := tensor.AppendWireString(tensor.AppendWireString(nil, "é"), "")
	check("binary", answer(`{"model_version":"7","outputs":[{"name":"extra","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}},`+
		`{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"words","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":`+strconv.Itoa(len(words))+`}}]}`,
		append(append(f32(9), f32(1.5, -2)...), words...)))
	check("JSON", answer(`{"model_version":"7","outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1.5,-2]},{"name":"words","datatype":"BYTES","shape":[2],"data":["é",""]}]}`, nil))
	for _, tc := range []struct {
		header string
		tail   []byte
		want   string
	}{
		{`{"outputs":[{"name":"y","datatype":"FP64","shape":[2],"data":[1,2]},{"name":"words","datatype":"BYTES","shape":[1],"data":["a"]}]}`, nil, `output "y": datatype "FP64", but the model's is FP32`},
		{`{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}`, f32(1), `output "y": binary_data_size 8, but 4 bytes are left`},
		{`{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1,2]}]}`, nil, "the answer has 1 of the model's 2 outputs"},
		{`{"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1,2]},{"name":"words","datatype":"BYTES","shape":[1],"data":["a"]}]}`, nil, `output "y": 2 elements for a shape of 3`},
	} {
		if err := parseV2Tensors(&p, answer(tc.header, tc.tail), outs(), &scratch, &a); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.header, err, tc.want)
		}
	}
}
