package oip

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/valyala/fastjson"
)

// Request is a decoded inference request. Get one with AcquireRequest and
// give it back with ReleaseRequest; it is not safe for concurrent use.
//
// After Decode, ID and the rows that Decode filled refer to r's parser
// memory (and, conservatively, to the body): they are valid until r is
// decoded again or released, and must not be retained after that. A row
// that must outlive the request is copied (features.Set.CopyFrom).
type Request struct {
	// ID is the request's "id", echoed in the response; nil if absent.
	ID []byte
	// Priority is parameters.priority (an integer >= 0); HasPriority says
	// whether the request gave one.
	Priority    int64
	HasPriority bool
	// TimeoutMicros is parameters.timeout in microseconds, as Triton's;
	// HasTimeout is false when it is absent or 0 (Triton's "no timeout
	// given"), so the server's default applies.
	TimeoutMicros int64
	HasTimeout    bool
	// Outputs are the requested outputs in the requested order; empty when
	// the request lists none, which means every output of the model.
	Outputs []Output
	// BinaryOutput is parameters.binary_data_output: every output goes as
	// binary data unless the request asks for it with binary_data false.
	BinaryOutput bool

	// outBinary[i] says whether Outputs[i] goes as binary data.
	outBinary []bool
	// bin reads the inputs' binary data; outTail collects the outputs'.
	bin     binaryIn
	outTail []byte
	strs    [][]byte // a categorical input's binary strings

	parser fastjson.Parser
	// seen[i] says whether the schema's feature i has had its input.
	seen []bool
	// dims is the shape of the input being decoded.
	dims [maxRank]int
	// bodyLen is the last body's length: ReleaseRequest drops the parser's
	// memory after a large one rather than pool it.
	bodyLen int
}

// maxPooledBody is the largest body whose parser memory a pooled Request
// keeps: one huge request should not pin its memory in the pool.
const maxPooledBody = 1 << 20

var requestPool sync.Pool

// AcquireRequest returns an empty Request from the pool. Pass it to
// ReleaseRequest when the response is written.
func AcquireRequest() *Request {
	if v := requestPool.Get(); v != nil {
		return v.(*Request)
	}
	return new(Request)
}

// ReleaseRequest returns r to the pool. Neither r nor anything Decode gave
// (ID, the rows' names and strings) may be used after that.
func ReleaseRequest(r *Request) {
	r.Reset()
	if r.bodyLen > maxPooledBody {
		r.parser = fastjson.Parser{}
	}
	requestPool.Put(r)
}

// Reset empties r, keeping its memory.
func (r *Request) Reset() {
	r.ID = nil
	r.Priority, r.HasPriority = 0, false
	r.TimeoutMicros, r.HasTimeout = 0, false
	r.Outputs = r.Outputs[:0]
	r.BinaryOutput = false
	r.outBinary = r.outBinary[:0]
	r.bin.reset(nil)
	r.outTail = r.outTail[:0]
	clear(r.seen)
}

// emptyID is the ID of a request whose "id" is "": present, so echoed.
var emptyID = []byte{}

// Decode parses body, an inference request's JSON, and tail, the binary
// data after it (SplitBody; nil for a body of JSON only), into r and rows: one
// features.Set per row of the batch, each holding that row's value of every
// input the schema lists, under the schema's feature name and in the order
// of the inputs. Inputs the schema does not list are ignored, as /v1 ignores
// extra features; a feature the request lacks is left for the router to
// impute or report. *rows is resized to the batch size N, reusing its
// capacity, and each Set is Reset before it is filled.
//
// Errors are *Error. On error *rows is empty. In steady state Decode does
// not allocate.
func (r *Request) Decode(body, tail []byte, s *Schema, lim Limits, rows *[]features.Set) error {
	if lim.MaxRows <= 0 || lim.MaxElements <= 0 {
		panic("BUG: oip.Limits must be positive, got MaxRows " + strconv.Itoa(lim.MaxRows) +
			" and MaxElements " + strconv.Itoa(lim.MaxElements))
	}
	r.Reset()
	r.bin.reset(tail)
	*rows = (*rows)[:0]
	if err := r.decode(body, s, lim, rows); err != nil {
		*rows = (*rows)[:0]
		return err
	}
	return nil
}

func (r *Request) decode(body []byte, s *Schema, lim Limits, rows *[]features.Set) error {
	r.bodyLen = len(body)
	v, err := r.parser.ParseBytes(body)
	if err != nil {
		return badRequest("request body is not valid JSON: " + err.Error())
	}
	if v.Type() != fastjson.TypeObject {
		return badRequest(`request body must be a JSON object: {"inputs": [...]}, got ` + typeName(v.Type()))
	}
	if err := r.decodeInputs(v.Get("inputs"), s, lim, rows); err != nil {
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
	return r.decodeOutputs(v.Get("outputs"), s)
}

// batch is what decodeInputs learns across inputs.
type batch struct {
	rows     int    // N, set by the first input; 0 before it
	first    []byte // the first input's name, for messages
	elements int    // tensor elements so far
}

func (r *Request) decodeInputs(v *fastjson.Value, s *Schema, lim Limits, rows *[]features.Set) error {
	if v == nil {
		return badRequest(`inputs is required: a list of tensors, one per feature, such as ` +
			`{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [24]}`)
	}
	if v.Type() != fastjson.TypeArray {
		return badRequest("inputs must be a list of tensors, one per feature, got " + typeName(v.Type()))
	}
	ins, _ := v.Array()
	if len(ins) == 0 {
		return badRequest("inputs must list at least one tensor, one per feature")
	}
	if lim.MaxInputs > 0 && len(ins) > lim.MaxInputs {
		return badRequest("too many inputs: " + strconv.Itoa(len(ins)) + " > " + strconv.Itoa(lim.MaxInputs) + " (" + maxInputsKey + "); send one input per feature of the model")
	}
	if cap(r.seen) < len(s.features) {
		r.seen = make([]bool, len(s.features))
	}
	r.seen = r.seen[:len(s.features)]
	clear(r.seen)
	var b batch
	for i, in := range ins {
		if err := r.decodeInput(i, in, s, lim, &b, rows); err != nil {
			return err
		}
	}
	return nil
}

// decodeInput checks the i-th input and, when the schema lists it, adds its
// values to the rows.
func (r *Request) decodeInput(i int, in *fastjson.Value, s *Schema, lim Limits, b *batch, rows *[]features.Set) error {
	if in.Type() != fastjson.TypeObject {
		return badRequest("inputs[" + strconv.Itoa(i) + `] must be an object {"name", "datatype", "shape", "data"}, got ` + typeName(in.Type()))
	}
	nv := in.Get("name")
	if nv == nil {
		return badRequest("inputs[" + strconv.Itoa(i) + "]: name is required: the name of the feature the tensor holds")
	}
	name, err := nv.StringBytes()
	if err != nil {
		return badRequest("inputs[" + strconv.Itoa(i) + "]: name must be a string, got " + typeName(nv.Type()))
	}
	sv, dv, data := in.Get("shape"), in.Get("datatype"), in.Get("data")
	raw, isBinary, err := r.bin.take(name, in, data != nil)
	if err != nil {
		return err
	}
	switch {
	case sv == nil:
		return inputError(name, "shape is required, such as [2] for 2 rows")
	case dv == nil:
		return inputError(name, "datatype is required: FP32 (or another numeric type) for a numeric feature, BYTES for a categorical one")
	case data == nil && !isBinary:
		return inputError(name, "data is required: the tensor's values, flat in row-major order or nested as the shape")
	}
	dtName, err := dv.StringBytes()
	if err != nil {
		return inputError(name, "datatype must be a string such as FP32 or BYTES, got "+typeName(dv.Type()))
	}
	dims, prod, ok := shapeOf(sv, &r.dims)
	if !ok {
		return inputError(name, "shape must be a list of positive integers such as [2] or [2,1], got "+sv.String())
	}
	if b.rows == 0 {
		b.rows, b.first = dims[0], name
	} else if dims[0] != b.rows {
		return badRequest("inputs: every input must have the same batch size; " + strconv.Quote(string(b.first)) +
			" has " + strconv.Itoa(b.rows) + " rows, " + strconv.Quote(string(name)) + " has " + strconv.Itoa(dims[0]))
	}
	if dims[0] > lim.MaxRows {
		return badRequest("too many rows: " + strconv.Itoa(dims[0]) + " > " + strconv.Itoa(lim.MaxRows) + " (" + maxRowsKey + ")")
	}
	if prod < 0 || prod > math.MaxInt-b.elements {
		return badRequest("too many elements: input " + strconv.Quote(string(name)) + " of shape " + sv.String() +
			" alone exceeds " + strconv.Itoa(lim.MaxElements) + " (" + maxElementsKey + ")")
	}
	if prod > lim.MaxElements-b.elements {
		return badRequest("too many elements: " + strconv.Itoa(b.elements+prod) + " > " + strconv.Itoa(lim.MaxElements) + " (" + maxElementsKey + ")")
	}
	b.elements += prod
	if len(*rows) == 0 {
		growRows(rows, b.rows)
	}
	if !isBinary && data.Type() != fastjson.TypeArray {
		return inputError(name, "data must be a list, flat in row-major order or nested as the shape, got "+typeName(data.Type()))
	}
	fi, known := s.lookup(name)
	if !known {
		return nil // not a model input: ignored, as /v1 ignores extra features
	}
	if r.seen[fi] {
		return inputError(name, "given twice; send each feature as one input")
	}
	r.seen[fi] = true
	f := &s.features[fi]
	dt := parseDatatype(dtName)
	switch {
	case dt == dtInvalid:
		return inputError(name, "unknown datatype "+strconv.Quote(string(dtName))+"; use "+numericDatatypes+" for a numeric feature, BYTES for a categorical one")
	case !dtInfos[dt].supported:
		return inputError(name, "datatype "+dt.String()+" is not supported; send FP32 or FP64")
	case f.categorical && dt != dtBytes:
		return inputError(name, "feature is categorical: send datatype BYTES with string data, got "+dt.String())
	case !f.categorical && dt == dtBytes:
		return inputError(name, "feature is numeric: send datatype "+numericDatatypes+", got BYTES")
	}
	var elems []*fastjson.Value
	nested := false
	if !isBinary {
		if n := leaves(data); n != prod {
			return inputError(name, "shape "+sv.String()+" holds "+strconv.Itoa(prod)+" elements but data has "+strconv.Itoa(n))
		}
		elems, _ = data.Array()
		nested = elems[0].Type() == fastjson.TypeArray // prod > 0, so elems is not empty
		if nested && !matchesShape(data, dims) || !nested && !flat(elems) {
			return inputError(name, "data nesting does not match shape "+sv.String()+"; send data flat in row-major order, or nested exactly as the shape")
		}
	}
	if len(dims) > 2 || len(dims) == 2 && dims[1] != 1 {
		return inputError(name, "shape "+sv.String()+" is not one value per row: a feature's input has shape [N] or [N,1]")
	}
	if isBinary {
		return r.binaryFeature(name, f, dt, dtName, raw, sv, *rows)
	}
	rs := *rows
	for j := range rs {
		e := elems[j]
		if nested {
			inner, _ := e.Array()
			e = inner[0]
		}
		if f.categorical {
			str, err := e.StringBytes()
			if err != nil {
				return inputError(name, "datatype BYTES needs string data, got "+typeName(e.Type()))
			}
			rs[j].AddString(f.nameBytes, str)
			continue
		}
		x, problem := dt.number(e)
		if problem != "" {
			return inputError(name, problem)
		}
		rs[j].AddNumber(f.nameBytes, x)
	}
	return nil
}

// maxRank is the most dimensions a shape may have: far more than any
// feature input needs.
const maxRank = 8

// shapeOf parses the shape v into dims and returns its dimensions and their
// product, or -1 for a product that overflows an int. ok is false unless v
// is a list of 1 to maxRank positive integers.
func shapeOf(v *fastjson.Value, dims *[maxRank]int) (shape []int, prod int, ok bool) {
	a, err := v.Array()
	if err != nil || len(a) == 0 || len(a) > maxRank {
		return nil, 0, false
	}
	prod = 1
	for i, e := range a {
		if e.Type() != fastjson.TypeNumber {
			return nil, 0, false
		}
		d, err := e.Int()
		if err != nil || d <= 0 {
			return nil, 0, false
		}
		dims[i] = d
		switch {
		case prod < 0:
		case d > math.MaxInt/prod:
			prod = -1
		default:
			prod *= d
		}
	}
	return dims[:len(a)], prod, true
}

// leaves counts the scalar elements of v, at any depth.
func leaves(v *fastjson.Value) int {
	if v.Type() != fastjson.TypeArray {
		return 1
	}
	a, _ := v.Array()
	n := 0
	for _, e := range a {
		n += leaves(e)
	}
	return n
}

// matchesShape reports whether v is nested exactly as dims: a list of
// dims[0] lists of dims[1] … of scalars.
func matchesShape(v *fastjson.Value, dims []int) bool {
	a, err := v.Array()
	if err != nil || len(a) != dims[0] {
		return false
	}
	if len(dims) == 1 {
		return flat(a)
	}
	for _, e := range a {
		if !matchesShape(e, dims[1:]) {
			return false
		}
	}
	return true
}

// flat reports whether no element of a is a list.
func flat(a []*fastjson.Value) bool {
	for _, e := range a {
		if e.Type() == fastjson.TypeArray {
			return false
		}
	}
	return true
}

// growRows makes *rows n empty Sets, reusing the Sets (and their memory)
// that its capacity holds.
func growRows(rows *[]features.Set, n int) {
	rs := *rows
	if cap(rs) < n {
		rs = slices.Grow(rs[:cap(rs)], n-cap(rs))
	}
	rs = rs[:n]
	for i := range rs {
		rs[i].Reset()
	}
	*rows = rs
}

func (r *Request) decodeID(v *fastjson.Value) error {
	if v == nil {
		return nil
	}
	id, err := v.StringBytes()
	if err != nil {
		return badRequest("id must be a string, got " + typeName(v.Type()))
	}
	if id == nil {
		id = emptyID
	}
	r.ID = id
	return nil
}

// decodeParameters reads the request parameters infergate acts on:
// priority, timeout and binary_data_output. Others are ignored.
func (r *Request) decodeParameters(v *fastjson.Value) error {
	if v == nil {
		return nil
	}
	if v.Type() != fastjson.TypeObject {
		return badRequest(`parameters must be an object such as {"timeout": 250000}, got ` + typeName(v.Type()))
	}
	if p := v.Get("priority"); p != nil {
		x, ok := nonNegative(p)
		if !ok {
			return badRequest("parameters.priority must be an integer >= 0, got " + p.String())
		}
		r.Priority, r.HasPriority = x, true
	}
	if p := v.Get("timeout"); p != nil {
		x, ok := nonNegative(p)
		if !ok {
			return badRequest("parameters.timeout must be an integer >= 0, in microseconds (250000 is 250ms), got " + p.String())
		}
		r.TimeoutMicros, r.HasTimeout = x, x > 0
	}
	if p := v.Get("binary_data_output"); p != nil {
		var ok bool
		if r.BinaryOutput, ok = boolean(p); !ok {
			return badRequest("parameters.binary_data_output must be true or false, got " + p.String())
		}
	}
	return nil
}

// nonNegative returns v as an integer >= 0.
func nonNegative(v *fastjson.Value) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	x, err := v.Int64()
	return x, err == nil && x >= 0
}

func (r *Request) decodeOutputs(v *fastjson.Value, s *Schema) error {
	if v == nil {
		for range s.outputs {
			r.outBinary = append(r.outBinary, r.BinaryOutput)
		}
		return nil
	}
	if v.Type() != fastjson.TypeArray {
		return badRequest(`outputs must be a list such as [{"name": "probability"}], got ` + typeName(v.Type()))
	}
	outs, _ := v.Array()
	for i, o := range outs {
		if o.Type() != fastjson.TypeObject {
			return badRequest("outputs[" + strconv.Itoa(i) + `] must be an object such as {"name": "probability"}, got ` + typeName(o.Type()))
		}
		nv := o.Get("name")
		if nv == nil {
			return badRequest("outputs[" + strconv.Itoa(i) + "]: name is required: one of " + s.outputList())
		}
		name, err := nv.StringBytes()
		if err != nil {
			return badRequest("outputs[" + strconv.Itoa(i) + "]: name must be a string, got " + typeName(nv.Type()))
		}
		out, ok := s.parseOutput(name)
		if !ok {
			return badRequest("outputs: unknown output " + strconv.Quote(string(name)) + "; the model has " + s.outputList())
		}
		if slices.Contains(r.Outputs, out) {
			return badRequest("outputs: " + strconv.Quote(string(name)) + " is requested twice; list each output once")
		}
		bin, set, err := outputBinary(name, o.Get("parameters"))
		if err != nil {
			return err
		}
		r.Outputs = append(r.Outputs, out)
		r.outBinary = append(r.outBinary, bin || !set && r.BinaryOutput)
	}
	return nil
}

// binaryFeature adds each row's value of feature f from the input's binary
// data raw (shape [N] or [N,1], datatype dt, named dtName).
func (r *Request) binaryFeature(name []byte, f *schemaFeature, dt datatype, dtName, raw []byte, shape *fastjson.Value, rs []features.Set) error {
	if f.categorical {
		strs, problem := tensor.AppendWireStrings(r.strs[:0], raw, len(rs))
		r.strs = strs
		if problem != "" {
			return inputError(name, problem)
		}
		for j := range rs {
			rs[j].AddString(f.nameBytes, strs[j])
		}
		return nil
	}
	view := tensor.Tensor{DType: tensor.ParseV2(dtName), Data: raw}
	if problem := checkFixedSize(raw, len(rs), view.DType, shape); problem != "" {
		return inputError(name, problem)
	}
	for j := range rs {
		x := view.Float64At(j)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return inputError(name, "element "+strconv.Itoa(j)+" of the binary data is "+strconv.FormatFloat(x, 'g', -1, 64)+"; datatype "+dt.String()+" needs finite numbers")
		}
		rs[j].AddNumber(f.nameBytes, x)
	}
	return nil
}
