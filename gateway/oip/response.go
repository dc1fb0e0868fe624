package oip

import (
	"strconv"
	"unsafe"

	"github.com/infergate/infergate/internal/jsonenc"
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
)

// AllOutputs are every output, in the order a response lists them when the
// request names none.
var AllOutputs = [...]Output{OutputProbability, OutputLabel, OutputModelVersion, OutputTarget}

var outputInfos = [...]struct{ name, datatype string }{
	OutputProbability:  {"probability", "FP32"},
	OutputLabel:        {"label", "BYTES"},
	OutputModelVersion: {"model_version", "BYTES"},
	OutputTarget:       {"target", "BYTES"},
}

// outputList names the outputs for messages.
const outputList = `"probability", "label", "model_version" and "target"`

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

// parseOutput returns the output named name.
func parseOutput(name []byte) (Output, bool) {
	for _, o := range AllOutputs {
		if string(name) == outputInfos[o].name {
			return o, true
		}
	}
	return 0, false
}

// Row is one row's answer.
type Row struct {
	// Probability must be finite: JSON has no NaN.
	Probability float32
	// Label is the prediction; ModelVersion the version that computed it,
	// "" for a target without one; Target the route's target that answered.
	Label, ModelVersion, Target string
}

// AppendResponse appends to b the inference response for r's rows:
//
//	{"model_name": model, "model_version": V, "id": ID, "outputs": [
//	  {"name": "probability", "datatype": "FP32", "shape": [N], "data": [...]}, ...]}
//
// with the outputs r requested in its order, or all of them (AllOutputs).
// "model_version" is present when every row has the same non-empty version,
// "id" when the request had one. r may be nil: every output, no id. It does
// not allocate beyond growing b.
func AppendResponse(b []byte, model string, r *Request, rows []Row) []byte {
	b = append(b, `{"model_name":`...)
	b = jsonenc.AppendString(b, model)
	if v, ok := commonVersion(rows); ok {
		b = append(b, `,"model_version":`...)
		b = jsonenc.AppendString(b, v)
	}
	outs := AllOutputs[:]
	if r != nil {
		if r.ID != nil {
			b = append(b, `,"id":`...)
			b = jsonenc.AppendString(b, unsafe.String(unsafe.SliceData(r.ID), len(r.ID)))
		}
		if len(r.Outputs) > 0 {
			outs = r.Outputs
		}
	}
	b = append(b, `,"outputs":[`...)
	for i, o := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOutput(b, o, rows)
	}
	return append(b, "]}"...)
}

// appendOutput appends one output tensor of rows.
func appendOutput(b []byte, o Output, rows []Row) []byte {
	b = append(b, `{"name":"`...)
	b = append(b, o.String()...)
	b = append(b, `","datatype":"`...)
	b = append(b, o.Datatype()...)
	b = append(b, `","shape":[`...)
	b = strconv.AppendInt(b, int64(len(rows)), 10)
	b = append(b, `],"data":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		row := &rows[i]
		switch o {
		case OutputProbability:
			b = strconv.AppendFloat(b, float64(row.Probability), 'g', -1, 32)
		case OutputLabel:
			b = jsonenc.AppendString(b, row.Label)
		case OutputModelVersion:
			b = jsonenc.AppendString(b, row.ModelVersion)
		case OutputTarget:
			b = jsonenc.AppendString(b, row.Target)
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
