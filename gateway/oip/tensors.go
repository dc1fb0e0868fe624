package oip

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/valyala/fastjson"
)

// TensorSchema is what the codec needs to know of a route whose model takes
// tensors: its inputs and outputs as the protocol shows them. It is
// immutable and safe for concurrent use; build it once per routing
// snapshot.
type TensorSchema struct {
	inputs  []schemaTensor
	outputs []schemaTensor
	// batched: every input's first dimension is the request's rows and
	// may be any size; other dimensions are fixed unless -1.
	batched bool
}

type schemaTensor struct {
	name   string
	dtype  tensor.DType
	shape  []int64
	labels []string // an output's class labels, for classification
}

// NewTensorSchema returns the schema of a model that takes tensors, from
// its signature: its inputs and outputs in order, with their types and
// shapes (-1 for a dynamic dimension).
func NewTensorSchema(sig *registry.Signature) *TensorSchema {
	s := &TensorSchema{batched: sig.Batched()}
	for _, in := range sig.InputSpecs() {
		s.inputs = append(s.inputs, schemaTensor{name: in.Name, dtype: tensor.Parse(in.DType), shape: slices.Clone(in.Shape)})
	}
	for _, o := range sig.OutputSpecs() {
		s.outputs = append(s.outputs, schemaTensor{name: o.Name, dtype: tensor.Parse(o.DType), shape: slices.Clone(o.Shape), labels: o.Labels})
	}
	return s
}

// Metadata returns the model metadata of the route name serving versions:
// the model's own inputs and outputs, with the protocol's datatypes.
func (s *TensorSchema) Metadata(name string, versions []string) ModelMetadata {
	m := ModelMetadata{Name: name, Platform: Platform, Inputs: []TensorMetadata{}, Outputs: []TensorMetadata{}}
	if len(versions) > 0 {
		m.Versions = slices.Clone(versions)
	}
	for _, in := range s.inputs {
		m.Inputs = append(m.Inputs, TensorMetadata{Name: in.name, Datatype: in.dtype.V2(), Shape: slices.Clone(in.shape)})
	}
	for _, o := range s.outputs {
		m.Outputs = append(m.Outputs, TensorMetadata{Name: o.name, Datatype: o.dtype.V2(), Shape: slices.Clone(o.shape)})
	}
	return m
}

// RequestedOutput is one output a tensor request asks for.
type RequestedOutput struct {
	// Name is the output's, the schema's own string.
	Name string
	// Classification is parameters.classification: answer the top K
	// classes of each row as "score:index:label" strings (Triton's
	// classification extension); 0 for the tensor itself.
	Classification int
	// Binary: answer it as binary data after the JSON (parameters.binary_data,
	// or the request's binary_data_output).
	Binary bool
}

// TensorRequest is what DecodeTensors fills beside the Request's ID and
// parameters: the inputs as tensors and the outputs asked for.
type TensorRequest struct {
	// Inputs are one tensor per model input, in the model's order, named
	// with the schema's strings. Their memory belongs to the Request.
	Inputs []tensor.Tensor
	// Outputs are the outputs asked for, in the request's order; empty
	// means every output.
	Outputs []RequestedOutput

	// data and shapes back the inputs' Data and Shape, per input.
	data   [][]byte
	shapes [][]int64
	strs   [][][]byte
	seen   []bool
}

// DecodeTensors parses body, an inference request's JSON for a model that
// takes tensors, and tail, the binary data after it (SplitBody; nil for a
// body of JSON only), into r (id and parameters) and t: every input by its name in the
// model, with its datatype and shape checked against the model (rank, every
// fixed dimension, the batch the same for every input and at most
// lim.MaxRows), its data converted into the model's element type. An input
// the model lacks, a missing input, a wrong datatype, rank or dimension are
// errors naming the input (and the dimension). Errors are *Error. An input
// sent as binary data (parameters.binary_data_size) is not copied: its
// tensor's Data is a slice of tail, valid as long as the body is.
func (r *Request) DecodeTensors(body, tail []byte, s *TensorSchema, lim Limits, t *TensorRequest) error {
	if lim.MaxRows <= 0 || lim.MaxElements <= 0 {
		panic("BUG: oip.Limits must be positive")
	}
	r.Reset()
	r.bin.reset(tail)
	t.Outputs = t.Outputs[:0]
	r.bodyLen = len(body)
	v, err := r.parser.ParseBytes(body)
	if err != nil {
		return badRequest("request body is not valid JSON: " + err.Error())
	}
	if v.Type() != fastjson.TypeObject {
		return badRequest(`request body must be a JSON object: {"inputs": [...]}, got ` + typeName(v.Type()))
	}
	if err := t.decodeInputs(v.Get("inputs"), s, lim, &r.bin); err != nil {
		return err
	}
	if err := r.bin.finish(); err != nil {
		return err
	}
	if err := r.decodeID(v.Get("id")); err != nil {
		return err
	}
	if err := r.decodeParameters(v.Get("parameters")); err != nil {
		return err
	}
	return t.decodeOutputs(v.Get("outputs"), s, r.BinaryOutput)
}

func (t *TensorRequest) reset(n int) {
	for len(t.data) < n {
		t.data = append(t.data, nil)
		t.shapes = append(t.shapes, nil)
		t.strs = append(t.strs, nil)
		t.seen = append(t.seen, false)
	}
	if cap(t.Inputs) < n {
		t.Inputs = make([]tensor.Tensor, n)
	}
	t.Inputs = t.Inputs[:n]
	clear(t.seen)
}

// inputList names the model's inputs for messages.
func (s *TensorSchema) inputList() string {
	b := []byte{}
	for i, in := range s.inputs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, in.name)
		b = append(b, ' ')
		b = append(b, in.dtype.V2()...)
		b = append(b, ' ')
		b = append(b, tensor.ShapeString(in.shape)...)
	}
	return string(b)
}

func (t *TensorRequest) decodeInputs(v *fastjson.Value, s *TensorSchema, lim Limits, bin *binaryIn) error {
	if v == nil {
		return badRequest("inputs is required: a list of the model's input tensors: " + s.inputList())
	}
	if v.Type() != fastjson.TypeArray {
		return badRequest("inputs must be a list of tensors, got " + typeName(v.Type()))
	}
	ins, _ := v.Array()
	if len(ins) > len(s.inputs) {
		return badRequest("too many inputs: " + strconv.Itoa(len(ins)) + "; the model takes " + strconv.Itoa(len(s.inputs)) + ": " + s.inputList())
	}
	t.reset(len(s.inputs))
	rows, elements := -1, 0
	for i, in := range ins {
		k, err := t.decodeInput(i, in, s, lim, bin, &rows, &elements)
		if err != nil {
			return err
		}
		t.seen[k] = true
	}
	for k, in := range s.inputs {
		if !t.seen[k] {
			return badRequest("input " + strconv.Quote(in.name) + " is missing: the model takes " + s.inputList())
		}
	}
	return nil
}

// decodeInput decodes the i-th input into the model input it names and
// returns that input's index.
func (t *TensorRequest) decodeInput(i int, in *fastjson.Value, s *TensorSchema, lim Limits, bin *binaryIn, rows, elements *int) (int, error) {
	if in.Type() != fastjson.TypeObject {
		return 0, badRequest("inputs[" + strconv.Itoa(i) + `] must be an object {"name", "datatype", "shape", "data"}, got ` + typeName(in.Type()))
	}
	nv := in.Get("name")
	if nv == nil {
		return 0, badRequest("inputs[" + strconv.Itoa(i) + "]: name is required: one of the model's inputs, " + s.inputList())
	}
	name, err := nv.StringBytes()
	if err != nil {
		return 0, badRequest("inputs[" + strconv.Itoa(i) + "]: name must be a string, got " + typeName(nv.Type()))
	}
	k := slices.IndexFunc(s.inputs, func(x schemaTensor) bool { return x.name == string(name) })
	if k < 0 {
		return 0, badRequest("unknown input " + strconv.Quote(string(name)) + ": the model takes " + s.inputList())
	}
	if t.seen[k] {
		return 0, inputError(name, "given twice; send each input once")
	}
	want := &s.inputs[k]
	sv, dv, data := in.Get("shape"), in.Get("datatype"), in.Get("data")
	raw, isBinary, err := bin.take(name, in, data != nil)
	if err != nil {
		return 0, err
	}
	switch {
	case sv == nil:
		return 0, inputError(name, "shape is required: the model takes "+tensor.ShapeString(want.shape))
	case dv == nil:
		return 0, inputError(name, "datatype is required: the model takes "+want.dtype.V2())
	case data == nil && !isBinary:
		return 0, inputError(name, "data is required: the tensor's values, flat in row-major order or nested as the shape")
	}
	dtName, err := dv.StringBytes()
	if err != nil {
		return 0, inputError(name, "datatype must be a string such as "+want.dtype.V2()+", got "+typeName(dv.Type()))
	}
	if dt := tensor.ParseV2(dtName); dt != want.dtype {
		return 0, inputError(name, "datatype "+strconv.Quote(string(dtName))+", but the model takes "+want.dtype.V2())
	}
	shape, n, msg := tensorShape(sv, want.shape, s.batched, t.shapes[k][:0])
	if msg != "" {
		return 0, inputError(name, msg)
	}
	if s.batched {
		switch {
		case *rows < 0:
			*rows = int(shape[0])
		case int(shape[0]) != *rows:
			return 0, inputError(name, "has "+strconv.FormatInt(shape[0], 10)+" rows, another input "+strconv.Itoa(*rows)+": every input has the request's rows as its first dimension")
		}
		if *rows > lim.MaxRows {
			return 0, badRequest("too many rows: " + strconv.Itoa(*rows) + " > " + strconv.Itoa(lim.MaxRows) + " (" + maxRowsKey + ")")
		}
	}
	if n > lim.MaxElements-*elements {
		return 0, badRequest("too many elements: input " + strconv.Quote(string(name)) + " of shape " + sv.String() + " brings the request above " + strconv.Itoa(lim.MaxElements) + " (" + maxElementsKey + ")")
	}
	*elements += n
	if isBinary {
		return k, t.binaryInput(k, name, want, shape, n, raw, sv)
	}
	if data.Type() != fastjson.TypeArray {
		return 0, inputError(name, "data must be a list, flat in row-major order or nested as the shape, got "+typeName(data.Type()))
	}
	if got := leaves(data); got != n {
		return 0, inputError(name, "shape "+sv.String()+" holds "+strconv.Itoa(n)+" elements but data has "+strconv.Itoa(got))
	}
	elems, _ := data.Array()
	if len(elems) > 0 && elems[0].Type() == fastjson.TypeArray {
		if len(shape) == 0 || !matchesShapeInt64(data, shape) {
			return 0, inputError(name, "data nesting does not match shape "+sv.String()+"; send data flat in row-major order, or nested exactly as the shape")
		}
	} else if !flat(elems) {
		return 0, inputError(name, "data nesting does not match shape "+sv.String()+"; send data flat in row-major order, or nested exactly as the shape")
	}
	t.shapes[k] = shape
	out := tensor.Tensor{Name: want.name, DType: want.dtype, Shape: shape}
	if want.dtype == tensor.String {
		t.strs[k] = t.strs[k][:0]
		var problem string
		walkLeaves(data, func(e *fastjson.Value) bool {
			b, err := e.StringBytes()
			if err != nil {
				problem = "datatype BYTES needs string data, got " + typeName(e.Type())
				return false
			}
			t.strs[k] = append(t.strs[k], b)
			return true
		})
		if problem != "" {
			return 0, inputError(name, problem)
		}
		out.Strings = t.strs[k]
	} else {
		size := n * want.dtype.Size()
		if cap(t.data[k]) < size {
			t.data[k] = make([]byte, size)
		}
		t.data[k] = t.data[k][:size]
		out.Data = t.data[k]
		j := 0
		var problem string
		walkLeaves(data, func(e *fastjson.Value) bool {
			problem = putElement(&out, j, e)
			j++
			return problem == ""
		})
		if problem != "" {
			return 0, inputError(name, problem)
		}
	}
	t.Inputs[k] = out
	return k, nil
}

// tensorShape parses the shape v of an input the model declares as want
// and checks it: the same rank, and every fixed dimension (all but the
// first, when the model batches) equal. It returns the shape, appended to
// shape, and its elements, or why it does not fit.
func tensorShape(v *fastjson.Value, want []int64, batched bool, shape []int64) (_ []int64, n int, msg string) {
	a, err := v.Array()
	if err != nil {
		return nil, 0, "shape must be a list of integers such as " + tensor.ShapeString(fillDynamic(want)) + ", got " + v.String()
	}
	if len(a) != len(want) {
		return nil, 0, "shape " + v.String() + " has " + strconv.Itoa(len(a)) + " dimensions, but the model takes " + strconv.Itoa(len(want)) + ": " + tensor.ShapeString(want)
	}
	n = 1
	for d, e := range a {
		x, err := e.Int64()
		if e.Type() != fastjson.TypeNumber || err != nil || x < 1 || x > math.MaxInt32 {
			return nil, 0, "shape " + v.String() + ": dimension " + strconv.Itoa(d) + " must be a positive integer"
		}
		if batchDim := d == 0 && batched; want[d] != -1 && x != want[d] && !batchDim {
			return nil, 0, "shape " + v.String() + ": dimension " + strconv.Itoa(d) + " is " + strconv.FormatInt(x, 10) + ", but the model takes " + strconv.FormatInt(want[d], 10) + " (" + tensor.ShapeString(want) + ")"
		}
		if n > math.MaxInt32/int(x) {
			return nil, 0, "shape " + v.String() + " holds too many elements"
		}
		n *= int(x)
		shape = append(shape, x)
	}
	return shape, n, ""
}

// fillDynamic shows a declared shape with its dynamic dimensions at 1, as
// an example.
func fillDynamic(shape []int64) []int64 {
	s := slices.Clone(shape)
	for i, d := range s {
		if d < 0 {
			s[i] = 1
		}
	}
	return s
}

// matchesShapeInt64 is matchesShape for int64 dimensions.
func matchesShapeInt64(v *fastjson.Value, dims []int64) bool {
	a, err := v.Array()
	if err != nil || int64(len(a)) != dims[0] {
		return false
	}
	if len(dims) == 1 {
		return flat(a)
	}
	for _, e := range a {
		if !matchesShapeInt64(e, dims[1:]) {
			return false
		}
	}
	return true
}

// walkLeaves calls fn with every scalar of v in row-major order until fn
// returns false.
func walkLeaves(v *fastjson.Value, fn func(*fastjson.Value) bool) bool {
	if v.Type() != fastjson.TypeArray {
		return fn(v)
	}
	a, _ := v.Array()
	for _, e := range a {
		if !walkLeaves(e, fn) {
			return false
		}
	}
	return true
}

// putElement writes JSON value e as element i of t, in t's type, or says
// why it does not fit. Integers of 64 bits are read exactly, not through a
// float64.
func putElement(t *tensor.Tensor, i int, e *fastjson.Value) string {
	dt := t.DType
	switch dt {
	case tensor.Bool:
		switch e.Type() {
		case fastjson.TypeTrue:
			t.Data[i] = 1
		case fastjson.TypeFalse:
			t.Data[i] = 0
		default:
			return "datatype BOOL needs true or false data, got " + typeName(e.Type())
		}
		return ""
	case tensor.Int64:
		if x, err := e.Int64(); err == nil {
			binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(x))
			return ""
		}
	case tensor.Uint64:
		if x, err := e.Uint64(); err == nil {
			binary.LittleEndian.PutUint64(t.Data[8*i:], x)
			return ""
		}
	}
	if e.Type() != fastjson.TypeNumber {
		return "datatype " + dt.V2() + " needs number data, got " + typeName(e.Type())
	}
	x, err := e.Float64()
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return "datatype " + dt.V2() + " needs finite numbers, got " + e.String()
	}
	if dt == tensor.Float16 && math.Abs(x) > 65504 {
		return "datatype FP16 needs numbers within ±65504, got " + e.String()
	}
	if dt.IsInteger() && (dt == tensor.Int64 || dt == tensor.Uint64) && math.Abs(x) > 1<<53 {
		return "datatype " + dt.V2() + " needs integers written as such (no exponent) beyond 2^53, got " + e.String()
	}
	if err := tensor.SetFloat64(t, i, x); err != nil {
		return "datatype " + dt.V2() + ": " + err.Error()
	}
	return ""
}

// outputList names the model's outputs for messages.
func (s *TensorSchema) outputList() string {
	b := []byte{}
	for i, o := range s.outputs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, o.name)
	}
	return string(b)
}

func (t *TensorRequest) decodeOutputs(v *fastjson.Value, s *TensorSchema, binaryAll bool) error {
	if v == nil {
		if binaryAll {
			for _, o := range s.outputs {
				t.Outputs = append(t.Outputs, RequestedOutput{Name: o.name, Binary: true})
			}
		}
		return nil
	}
	if v.Type() != fastjson.TypeArray {
		return badRequest(`outputs must be a list such as [{"name": ` + strconv.Quote(s.outputs[0].name) + `}], got ` + typeName(v.Type()))
	}
	outs, _ := v.Array()
	for i, o := range outs {
		if o.Type() != fastjson.TypeObject {
			return badRequest("outputs[" + strconv.Itoa(i) + `] must be an object such as {"name": ` + strconv.Quote(s.outputs[0].name) + `}, got ` + typeName(o.Type()))
		}
		nv := o.Get("name")
		if nv == nil {
			return badRequest("outputs[" + strconv.Itoa(i) + "]: name is required: one of " + s.outputList())
		}
		name, err := nv.StringBytes()
		if err != nil {
			return badRequest("outputs[" + strconv.Itoa(i) + "]: name must be a string, got " + typeName(nv.Type()))
		}
		k := slices.IndexFunc(s.outputs, func(x schemaTensor) bool { return x.name == string(name) })
		if k < 0 {
			return badRequest("outputs: unknown output " + strconv.Quote(string(name)) + "; the model has " + s.outputList())
		}
		if slices.ContainsFunc(t.Outputs, func(r RequestedOutput) bool { return r.Name == s.outputs[k].name }) {
			return badRequest("outputs: " + strconv.Quote(string(name)) + " is requested twice; list each output once")
		}
		ro := RequestedOutput{Name: s.outputs[k].name, Binary: binaryAll}
		if p := o.Get("parameters"); p != nil {
			if p.Type() != fastjson.TypeObject {
				return badRequest("outputs[" + strconv.Quote(string(name)) + "].parameters must be an object, got " + typeName(p.Type()))
			}
			if c := p.Get("classification"); c != nil {
				x, ok := nonNegative(c)
				if !ok || x < 1 || x > math.MaxInt32 {
					return badRequest("outputs[" + strconv.Quote(string(name)) + "].parameters.classification must be an integer >= 1, the number of classes to answer, got " + c.String())
				}
				if dt := s.outputs[k].dtype; dt == tensor.String || dt == tensor.Bool {
					return badRequest("outputs[" + strconv.Quote(string(name)) + "].parameters.classification: the output is " + dt.V2() + ", not scores to rank")
				}
				ro.Classification = int(x)
			}
			if bin, set, err := outputBinary(name, p); err != nil {
				return err
			} else if set {
				ro.Binary = bin
			}
		}
		t.Outputs = append(t.Outputs, ro)
	}
	return nil
}

// binaryInput sets model input k, named name in the request, of the given
// shape and n elements, from its binary data raw: a slice of the body for
// a fixed-size datatype (the model's own: the batcher copies it into the
// batch), or BYTES elements pointing into it.
func (t *TensorRequest) binaryInput(k int, name []byte, want *schemaTensor, shape []int64, n int, raw []byte, shapeValue *fastjson.Value) error {
	t.shapes[k] = shape
	out := tensor.Tensor{Name: want.name, DType: want.dtype, Shape: shape}
	if want.dtype == tensor.String {
		strs, problem := tensor.AppendWireStrings(t.strs[k][:0], raw, n)
		t.strs[k] = strs
		if problem != "" {
			return inputError(name, problem)
		}
		out.Strings = strs
	} else {
		if problem := checkFixedSize(raw, n, want.dtype, shapeValue); problem != "" {
			return inputError(name, problem)
		}
		out.Data = raw
	}
	t.Inputs[k] = out
	return nil
}
