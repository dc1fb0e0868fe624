package remote

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/infergate/infergate/internal/jsonenc"

	"github.com/infergate/infergate/internal/features"
)

// appendFeaturesBody appends {"model_id":…,"features":{…}} for f to b;
// modelID is the model's name already quoted as a JSON string. A non-finite
// number fails the call before it is sent: JSON cannot carry it.
func appendFeaturesBody(b, modelID []byte, f *features.Set) ([]byte, error) {
	b = append(b, `{"model_id":`...)
	b = append(b, modelID...)
	b = append(b, `,"features":{`...)
	for i := range f.Len() {
		ft := f.At(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendBytes(b, ft.Name)
		b = append(b, ':')
		switch ft.Kind {
		case features.Number:
			if !isFinite(ft.Num) {
				return b, fmt.Errorf("feature %q is %v, which JSON cannot carry", ft.Name, ft.Num)
			}
			b = appendJSONNumber(b, ft.Num, 64)
		case features.String:
			b = jsonenc.AppendBytes(b, ft.Str)
		default:
			panic(fmt.Sprintf("BUG: feature %q has kind %v; a features.Set holds numbers and strings only", ft.Name, ft.Kind))
		}
	}
	return append(b, "}}"...), nil
}

// appendParameters appends the v2 request's start, {"parameters":{...},
// with the call's remaining time in microseconds as timeout (Triton's
// parameter; servers that do not know it ignore it) and, when binaryOutput,
// binary_data_output.
func appendParameters(b []byte, deadline time.Time, binaryOutput bool) []byte {
	b = append(b, `{"parameters":{"timeout":`...)
	b = strconv.AppendInt(b, max(time.Until(deadline).Microseconds(), 1), 10)
	if binaryOutput {
		b = append(b, `,"binary_data_output":true`...)
	}
	return append(b, "},"...)
}

// appendTensorBody appends the v2 inference request for one row to b. head
// is the request up to the shape's second dimension, after the opening
// brace, tail what follows the data (both built once by New).
func appendTensorBody(b, head, tail []byte, row []float32, deadline time.Time) ([]byte, error) {
	b = appendParameters(b, deadline, false)
	b = append(b, head...)
	b = strconv.AppendInt(b, int64(len(row)), 10)
	b = append(b, `],"datatype":"FP32","data":[`...)
	for i, x := range row {
		if !isFinite(float64(x)) {
			return b, fmt.Errorf("input column %d is %v, which JSON cannot carry", i, x)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONNumber(b, float64(x), 32)
	}
	b = append(b, ']')
	return append(b, tail...), nil
}

// tensorBodyParts builds the constant parts of a v2 request around the
// row's width and data: "inputs":[{"name":INPUT,"shape":[1, … data …]}]
// and the end of the request (outputsTail).
func tensorBodyParts(input, output string) (head, tail []byte) {
	head = append(head, `"inputs":[{"name":`...)
	head = jsonenc.AppendBytes(head, []byte(input))
	head = append(head, `,"shape":[1,`...)
	return head, append([]byte{'}', ']'}, outputsTail(output)...)
}

// outputsTail ends a v2 request: with output set, "outputs":[{"name":OUTPUT}]
// so that the server computes and sends that output only.
func outputsTail(output string) []byte {
	var tail []byte
	if output != "" {
		tail = append(tail, `,"outputs":[{"name":`...)
		tail = jsonenc.AppendBytes(tail, []byte(output))
		tail = append(tail, '}', ']')
	}
	return append(tail, '}')
}

// appendV2FeaturesBody appends a v2 request of one row to b with an input
// per feature of f, by its name: FP32 [1] for a number, BYTES [1] for a
// string. tail ends it (outputsTail). A non-finite number fails the call
// before it is sent.
func appendV2FeaturesBody(b []byte, f *features.Set, tail []byte, deadline time.Time) ([]byte, error) {
	b = appendParameters(b, deadline, false)
	b = append(b, `"inputs":[`...)
	for i := range f.Len() {
		ft := f.At(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = jsonenc.AppendBytes(b, ft.Name)
		switch ft.Kind {
		case features.Number:
			if !isFinite(ft.Num) {
				return b, fmt.Errorf("feature %q is %v, which JSON cannot carry", ft.Name, ft.Num)
			}
			b = append(b, `,"shape":[1],"datatype":"FP32","data":[`...)
			b = appendJSONNumber(b, ft.Num, 32)
		case features.String:
			b = append(b, `,"shape":[1],"datatype":"BYTES","data":[`...)
			b = jsonenc.AppendBytes(b, ft.Str)
		default:
			panic(fmt.Sprintf("BUG: feature %q has kind %v; a features.Set holds numbers and strings only", ft.Name, ft.Kind))
		}
		b = append(b, "]}"...)
	}
	b = append(b, ']')
	return append(b, tail...), nil
}

// appendJSONNumber appends x the way JavaScript prints numbers (so does
// encoding/json): plain decimals from 1e-6 to 1e21, exponent form beyond.
// bits is 32 for a float32's shortest form, which round-trips to the same
// float32 at the remote. x must be finite.
func appendJSONNumber(b []byte, x float64, bits int) []byte {
	if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, x, 'e', -1, bits)
	}
	return strconv.AppendFloat(b, x, 'f', -1, bits)
}

func isFinite(x float64) bool { return x-x == 0 }
