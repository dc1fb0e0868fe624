package oip

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/infergate/infergate/internal/tensor"
)

// AppendTensorResponse appends to b the inference response of a model that
// takes tensors:
//
//	{"model_name": model, "model_version": version, "id": ID, "outputs": [
//	  {"name": "y", "datatype": "FP32", "shape": [N, 2], "data": [...]}, ...]}
//
// with the outputs t asks for, in its order, or every output of outs in
// the model's order. An output asked for with parameters.classification K
// is answered as Triton's classification extension does: a BYTES tensor of
// shape [N, K] (or [K] for a model that does not batch) holding each row's
// K highest scores as "score:index:label" (":label" when the schema has
// the output's labels), highest first. version "" is left out. It fails
// when an output holds NaN or an infinity, which JSON cannot carry. An
// output asked for as binary data has parameters.binary_data_size in place
// of data, and its bytes follow the JSON (NaN included); headerLen is then
// the JSON's length, for the Inference-Header-Content-Length header, and 0
// when every output is JSON.
func AppendTensorResponse(b []byte, model, version string, r *Request, t *TensorRequest, s *TensorSchema, outs []tensor.Tensor) (_ []byte, headerLen int, _ error) {
	start := len(b)
	b = append(b, `{"model_name":`...)
	b = jsonenc.AppendString(b, model)
	if version != "" {
		b = append(b, `,"model_version":`...)
		b = jsonenc.AppendString(b, version)
	}
	if r != nil && r.ID != nil {
		b = append(b, `,"id":`...)
		b = jsonenc.AppendString(b, unsafe.String(unsafe.SliceData(r.ID), len(r.ID)))
	}
	b = append(b, `,"outputs":[`...)
	var err *Error
	if t == nil || len(t.Outputs) == 0 {
		for j := range outs {
			if j > 0 {
				b = append(b, ',')
			}
			if b, err = appendTensor(b, &outs[j]); err != nil {
				return b, 0, err
			}
		}
		return append(b, "]}"...), 0, nil
	}
	var tail []byte
	binaries := 0
	if r != nil {
		tail = r.outTail[:0]
	}
	for i, ro := range t.Outputs {
		if i > 0 {
			b = append(b, ',')
		}
		k := slices.IndexFunc(outs, func(o tensor.Tensor) bool { return o.Name == ro.Name })
		if k < 0 {
			return b, 0, &Error{Status: 500, Msg: "BUG: the answer lacks output " + strconv.Quote(ro.Name)}
		}
		out := &outs[k]
		switch {
		case ro.Binary:
			n := len(tail)
			if ro.Classification > 0 {
				b = appendClassHead(b, out, ro.Classification, s.batched)
				classify(out, ro.Classification, s.labelsOf(ro.Name), s.batched, func(entry []byte) { tail = tensor.AppendWireString(tail, entry) })
			} else {
				b = appendTensorHead(b, out)
				tail = tensor.AppendWire(tail, out)
			}
			b = appendBinarySize(b, len(tail)-n)
			binaries++
		case ro.Classification > 0:
			b = appendClassification(b, out, ro.Classification, s.labelsOf(ro.Name), s.batched)
		default:
			if b, err = appendTensor(b, out); err != nil {
				return b, 0, err
			}
		}
	}
	b = append(b, "]}"...)
	if binaries == 0 {
		return b, 0, nil
	}
	headerLen = len(b) - start
	b = append(b, tail...)
	if r != nil {
		r.outTail = tail[:0]
	}
	return b, headerLen, nil
}

func (s *TensorSchema) labelsOf(name string) []string {
	for _, o := range s.outputs {
		if o.name == name {
			return o.labels
		}
	}
	return nil
}

// appendTensorHead appends an output tensor's name, datatype and shape, up
// to the comma before its data.
func appendTensorHead(b []byte, t *tensor.Tensor) []byte {
	return append(tensor.AppendV2Head(b, t), ',')
}

// appendTensor appends one output tensor, its data flat in row-major order.
func appendTensor(b []byte, t *tensor.Tensor) ([]byte, *Error) {
	b = appendTensorHead(b, t)
	b = append(b, `"data":[`...)
	n := t.Len()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		switch dt := t.DType; {
		case dt == tensor.String:
			b = jsonenc.AppendString(b, unsafe.String(unsafe.SliceData(t.Strings[i]), len(t.Strings[i])))
		case dt == tensor.Bool:
			b = strconv.AppendBool(b, t.Data[i] != 0)
		case dt.IsInteger():
			if dt == tensor.Uint64 {
				x, _ := t.Int64At(i)
				b = strconv.AppendUint(b, uint64(x), 10)
			} else {
				x, _ := t.Int64At(i)
				b = strconv.AppendInt(b, x, 10)
			}
		default:
			x := t.Float64At(i)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return b, &Error{Status: 500, Msg: "output " + strconv.Quote(t.Name) + " holds " + strconv.FormatFloat(x, 'g', -1, 64) +
					" at element " + strconv.Itoa(i) + ", which JSON cannot carry; check the inputs' range"}
			}
			bits := 64
			if dt != tensor.Float64 {
				bits = 32 // float16 and bfloat16 print as the float32 they are
			}
			b = strconv.AppendFloat(b, x, 'g', -1, bits)
		}
	}
	return append(b, "]}"...), nil
}

// classShape returns the rows and the classes per row of a classification
// of t's top k.
func classShape(t *tensor.Tensor, k int, batched bool) (rows, width, top int) {
	rows, width = 1, t.Len()
	if batched && len(t.Shape) > 0 {
		rows, width = t.Rows(), t.RowElements()
	}
	return rows, width, min(k, width)
}

// appendClassHead appends the name, datatype and shape of a classification
// of t's top k, up to the comma before its data.
func appendClassHead(b []byte, t *tensor.Tensor, k int, batched bool) []byte {
	rows, _, k := classShape(t, k, batched)
	b = append(b, `{"name":`...)
	b = jsonenc.AppendString(b, t.Name)
	b = append(b, `,"datatype":"BYTES","shape":[`...)
	if batched {
		b = strconv.AppendInt(b, int64(rows), 10)
		b = append(b, ',')
	}
	b = strconv.AppendInt(b, int64(k), 10)
	return append(b, "],"...)
}

// appendClassification appends the top-k classes of each row of t.
func appendClassification(b []byte, t *tensor.Tensor, k int, labels []string, batched bool) []byte {
	b = appendClassHead(b, t, k, batched)
	b = append(b, `"data":[`...)
	first := true
	classify(t, k, labels, batched, func(entry []byte) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonenc.AppendString(b, unsafe.String(unsafe.SliceData(entry), len(entry)))
	})
	return append(b, "]}"...)
}

// classify calls emit with each row's top-k classes of t, highest first, as
// "score:index[:label]".
func classify(t *tensor.Tensor, k int, labels []string, batched bool, emit func(entry []byte)) {
	rows, width, k := classShape(t, k, batched)
	order := make([]int, width)
	for r := range rows {
		for i := range order {
			order[i] = i
		}
		score := func(i int) float64 { return t.Float64At(r*width + i) }
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(score(y), score(x)) })
		var entry []byte
		for c := range k {
			entry = strconv.AppendFloat(entry[:0], score(order[c]), 'g', -1, 32)
			entry = append(entry, ':')
			entry = strconv.AppendInt(entry, int64(order[c]), 10)
			if order[c] < len(labels) {
				entry = append(entry, ':')
				entry = append(entry, labels[order[c]]...)
			}
			emit(entry)
		}
	}
}
