package oip

import (
	"encoding/binary"
	"math"
	"strconv"
	"unsafe"

	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/infergate/infergate/internal/tensor"
)

// Output is one of the outputs every model has.
type Output uint8

// The outputs, in the order a response lists them when the request names
// none.
const (
	// OutputProbability is the probability of the positive class: FP32.
	OutputProbability Output = iota
	// OutputLabel is the prediction, the probability's label: BYTES.
	OutputLabel
	// OutputModelVersion is the model version that answered the row (a
	// canary or a fallback may answer some rows): BYTES, "" for targets
	// without a version (rules, static).
	OutputModelVersion
	// OutputTarget is the route's target that answered the row: BYTES.
	OutputTarget
	// OutputProbabilities are a classifier's probabilities per class, in
	// its classes' order: FP32 of shape [N, classes].
	OutputProbabilities
	// OutputValue is a regression's answer: FP64.
	OutputValue
)

// AllOutputs are every output of a binary classifier, in the order a
// response lists them when the request names none; a Schema lists its
// model's (Outputs).
var AllOutputs = [...]Output{OutputProbability, OutputLabel, OutputModelVersion, OutputTarget}

var outputInfos = [...]struct{ name, datatype string }{
	OutputProbability:   {"probability", "FP32"},
	OutputLabel:         {"label", "BYTES"},
	OutputModelVersion:  {"model_version", "BYTES"},
	OutputTarget:        {"target", "BYTES"},
	OutputProbabilities: {"probabilities", "FP32"},
	OutputValue:         {"value", "FP64"},
}

// String is the output's name in the protocol.
func (o Output) String() string {
	if int(o) < len(outputInfos) {
		return outputInfos[o].name
	}
	return "output(" + strconv.Itoa(int(o)) + ")"
}

// Datatype is the output's tensor datatype.
func (o Output) Datatype() string {
	if int(o) < len(outputInfos) {
		return outputInfos[o].datatype
	}
	return ""
}

// parseOutput returns the output of s named name.
func (s *Schema) parseOutput(name []byte) (Output, bool) {
	for _, o := range s.outputs {
		if string(name) == outputInfos[o].name {
			return o, true
		}
	}
	return 0, false
}

// outputList names the schema's outputs for messages.
func (s *Schema) outputList() string {
	b := []byte{}
	for i, o := range s.outputs {
		switch {
		case i == len(s.outputs)-1 && i > 0:
			b = append(b, " and "...)
		case i > 0:
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, o.String())
	}
	return string(b)
}

// Row is one row's answer.
type Row struct {
	// Probability must be finite: JSON has no NaN.
	Probability float32
	// Label is the prediction; ModelVersion the version that computed it,
	// "" for a target without one; Target the route's target that answered.
	Label, ModelVersion, Target string
	// Value is a regression's answer; Probabilities a classifier's per
	// class.
	Value         float64
	Probabilities []float32
}

// AppendResponse appends to b the inference response for r's rows:
//
//	{"model_name": model, "model_version": V, "id": ID, "outputs": [
//	  {"name": "probability", "datatype": "FP32", "shape": [N], "data": [...]}, ...]}
//
// with the outputs r requested in its order, or every output of the
// schema's model. "model_version" is present when every row has the same
// non-empty version, "id" when the request had one. r may be nil: every
// output, no id. An output that r asks as binary data (binary_data, or
// binary_data_output) has parameters.binary_data_size in place of data, and
// its bytes follow the JSON; headerLen is then the JSON's length, for the
// Inference-Header-Content-Length header, and 0 when every output is JSON.
// It does not allocate beyond growing b and r's memory.
func AppendResponse(b []byte, model string, s *Schema, r *Request, rows []Row) (_ []byte, headerLen int) {
	start := len(b)
	b = append(b, `{"model_name":`...)
	b = jsonenc.AppendString(b, model)
	if v, ok := commonVersion(rows); ok {
		b = append(b, `,"model_version":`...)
		b = jsonenc.AppendString(b, v)
	}
	outs := s.outputs
	var binary []bool
	if r != nil {
		if r.ID != nil {
			b = append(b, `,"id":`...)
			b = jsonenc.AppendString(b, unsafe.String(unsafe.SliceData(r.ID), len(r.ID)))
		}
		if len(r.Outputs) > 0 {
			outs = r.Outputs
		}
		if len(r.outBinary) == len(outs) {
			binary = r.outBinary
		}
	}
	b = append(b, `,"outputs":[`...)
	tail := 0
	for i, o := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		if binary != nil && binary[i] {
			n := len(r.outTail)
			r.outTail = appendBinaryOutput(r.outTail, o, rows)
			b = appendOutputHead(b, o, rows)
			b = appendBinarySize(b, len(r.outTail)-n)
			tail++
			continue
		}
		b = appendOutput(b, o, rows)
	}
	b = append(b, "]}"...)
	if tail == 0 {
		return b, 0
	}
	headerLen = len(b) - start
	b = append(b, r.outTail...)
	r.outTail = r.outTail[:0]
	return b, headerLen
}

// appendOutputHead appends an output's name, datatype and shape, up to the
// comma before its data.
func appendOutputHead(b []byte, o Output, rows []Row) []byte {
	b = append(b, `{"name":"`...)
	b = append(b, o.String()...)
	b = append(b, `","datatype":"`...)
	b = append(b, o.Datatype()...)
	b = append(b, `","shape":[`...)
	b = strconv.AppendInt(b, int64(len(rows)), 10)
	if o == OutputProbabilities {
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(classes(rows)), 10)
	}
	return append(b, "],"...)
}

// appendBinaryOutput appends output o of rows as binary data.
func appendBinaryOutput(tail []byte, o Output, rows []Row) []byte {
	k := classes(rows)
	for i := range rows {
		row := &rows[i]
		switch o {
		case OutputValue:
			tail = binary.LittleEndian.AppendUint64(tail, math.Float64bits(row.Value))
		case OutputProbability:
			tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(row.Probability))
		case OutputProbabilities:
			for c := range k {
				p := float32(0)
				if c < len(row.Probabilities) {
					p = row.Probabilities[c]
				}
				tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(p))
			}
		case OutputLabel, OutputModelVersion, OutputTarget:
			tail = tensor.AppendWireString(tail, row.text(o))
		}
	}
	return tail
}

// text is the row's value of a BYTES output: label, model_version or
// target.
func (r *Row) text(o Output) string {
	switch o {
	case OutputLabel:
		return r.Label
	case OutputModelVersion:
		return r.ModelVersion
	}
	return r.Target
}

// classes returns the most classes a row has: the probabilities output's
// second dimension.
func classes(rows []Row) int {
	k := 0
	for i := range rows {
		k = max(k, len(rows[i].Probabilities))
	}
	return k
}

// appendOutput appends one output tensor of rows.
func appendOutput(b []byte, o Output, rows []Row) []byte {
	b = appendOutputHead(b, o, rows)
	if o == OutputProbabilities {
		return appendProbabilities(b, rows)
	}
	b = append(b, `"data":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		row := &rows[i]
		switch o {
		case OutputValue:
			b = strconv.AppendFloat(b, row.Value, 'g', -1, 64)
		case OutputProbability:
			b = strconv.AppendFloat(b, float64(row.Probability), 'g', -1, 32)
		case OutputLabel, OutputModelVersion, OutputTarget:
			b = jsonenc.AppendString(b, row.text(o))
		}
	}
	return append(b, "]}"...)
}

// appendProbabilities ends the probabilities output: [N, K], K the most
// classes a row has (a row of fewer, answered by a fallback, is padded
// with zeros).
func appendProbabilities(b []byte, rows []Row) []byte {
	k := classes(rows)
	b = append(b, `"data":[`...)
	for i := range rows {
		for c := range k {
			if i > 0 || c > 0 {
				b = append(b, ',')
			}
			p := float32(0)
			if c < len(rows[i].Probabilities) {
				p = rows[i].Probabilities[c]
			}
			b = strconv.AppendFloat(b, float64(p), 'g', -1, 32)
		}
	}
	return append(b, "]}"...)
}

// commonVersion returns the model version of every row, if they share one.
func commonVersion(rows []Row) (string, bool) {
	if len(rows) == 0 || rows[0].ModelVersion == "" {
		return "", false
	}
	v := rows[0].ModelVersion
	for i := 1; i < len(rows); i++ {
		if rows[i].ModelVersion != v {
			return "", false
		}
	}
	return v, true
}

// AppendError appends the protocol's error object {"error": msg} to b.
func AppendError(b []byte, msg string) []byte {
	b = append(b, `{"error":`...)
	b = jsonenc.AppendString(b, msg)
	return append(b, '}')
}
