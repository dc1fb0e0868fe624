package remote

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// headerContentLength is the binary tensor data extension's header: the
// length of the JSON at the start of a body whose tensors follow it.
const headerContentLength = "Inference-Header-Content-Length"

// PredictTensors asks a v2 remote to run a tensor route's request: every
// input by its name, with its datatype and shape, and every output asked
// for, both as binary tensor data (Triton's extension; infergate and
// KServe's servers take it too), the call's remaining time as the timeout
// parameter. outs name the outputs to fill and their datatypes (the route's
// model's); each is filled in its own memory from the output of its name,
// which must have that datatype. a.Version is set to the remote's
// model_version. Calling it on an infergate remote is a bug, and panics.
func (c *Client) PredictTensors(in, outs []tensor.Tensor, deadline time.Time, a *Answer) error {
	if c.protocol != ProtocolV2 {
		panic("BUG: PredictTensors on a " + c.protocol + " remote (" + c.endpoint + "); tensor routes take v2 remotes")
	}
	st := callPool.Get().(*call)
	defer callPool.Put(st)
	b := appendParameters(st.body[:0], deadline, true)
	b = append(b, `"inputs":[`...)
	for i := range in {
		if i > 0 {
			b = append(b, ',')
		}
		b = tensor.AppendV2Head(b, &in[i])
		b = append(b, `,"parameters":{"binary_data_size":`...)
		b = strconv.AppendInt(b, int64(wireSize(&in[i])), 10)
		b = append(b, "}}"...)
	}
	b = append(b, "]}"...)
	st.headerLen = len(b)
	for i := range in {
		b = tensor.AppendWire(b, &in[i])
	}
	st.body, st.outs = b, outs
	defer func() { st.outs, st.headerLen = nil, 0 }()
	return c.do(st, deadline, a)
}

// wireSize is the bytes of t in the binary layout.
func wireSize(t *tensor.Tensor) int {
	if t.DType != tensor.String {
		return t.Len() * t.DType.Size()
	}
	n := 0
	for _, s := range t.Strings {
		n += 4 + len(s)
	}
	return n
}

// parseV2Tensors reads a v2 answer of tensors (binary data after a JSON
// header, or JSON data) into outs, matched by name, and the model version.
func parseV2Tensors(p *fastjson.Parser, resp *fasthttp.Response, outs []tensor.Tensor, scratch *tensor.Tensor, a *Answer) error {
	body, tail := resp.Body(), []byte(nil)
	if hl := resp.Header.Peek(headerContentLength); hl != nil {
		n, err := strconv.Atoi(string(hl))
		if err != nil || n < 0 || n > len(body) {
			return fmt.Errorf("%s %q for a body of %d bytes", headerContentLength, hl, len(body))
		}
		body, tail = body[:n], body[n:]
	}
	v, err := parseObject(p, body)
	if err != nil {
		return err
	}
	list, err := v.Get("outputs").Array()
	if err != nil {
		return errors.New(`"outputs" is missing or not an array`)
	}
	filled := 0
	off := 0
	for _, o := range list {
		name := string(o.GetStringBytes("name"))
		size := -1
		if bs := o.Get("parameters", "binary_data_size"); bs != nil {
			size = bs.GetInt()
		}
		k := -1
		for i := range outs {
			if outs[i].Name == name {
				k = i
			}
		}
		var raw []byte
		if size >= 0 {
			if size > len(tail)-off {
				return fmt.Errorf("output %q: binary_data_size %d, but %d bytes are left", name, size, len(tail)-off)
			}
			raw, off = tail[off:off+size], off+size
		}
		if k < 0 {
			continue // an output the route does not answer
		}
		if err := readOutput(o, raw, size >= 0, &outs[k], scratch); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		filled++
	}
	if filled != len(outs) {
		return fmt.Errorf("the answer has %d of the model's %d outputs", filled, len(outs))
	}
	version, err := optionalString(v, "model_version")
	if err != nil {
		return err
	}
	setString(&a.Version, version)
	return nil
}

// readOutput fills out (its Name and DType set) from the answer's output o:
// raw, its binary data, when binary, else o's JSON data.
func readOutput(o *fastjson.Value, raw []byte, binary bool, out, scratch *tensor.Tensor) error {
	if dt := string(o.GetStringBytes("datatype")); dt != out.DType.V2() {
		return fmt.Errorf("datatype %q, but the model's is %s", dt, out.DType.V2())
	}
	dims, err := o.Get("shape").Array()
	if err != nil {
		return errors.New("no shape")
	}
	scratch.Name, scratch.DType, scratch.Shape = out.Name, out.DType, scratch.Shape[:0]
	for _, d := range dims {
		x, err := d.Int64()
		if err != nil || x < 0 {
			return fmt.Errorf("shape %s", o.Get("shape"))
		}
		scratch.Shape = append(scratch.Shape, x)
	}
	n, ok := tensor.Elements(scratch.Shape)
	if !ok {
		return fmt.Errorf("shape %s", o.Get("shape"))
	}
	switch {
	case binary && out.DType == tensor.String:
		var problem string
		if scratch.Strings, problem = tensor.AppendWireStrings(scratch.Strings[:0], raw, n); problem != "" {
			return errors.New(problem)
		}
	case binary:
		if len(raw) != n*out.DType.Size() {
			return fmt.Errorf("binary_data_size %d for %d elements of %s", len(raw), n, out.DType.V2())
		}
		scratch.Data = raw
	default:
		if err := readJSONData(o.Get("data"), n, scratch); err != nil {
			return err
		}
	}
	out.CopyFrom(scratch)
	return nil
}

// readJSONData fills scratch, of n elements, from a JSON answer's data.
func readJSONData(data *fastjson.Value, n int, scratch *tensor.Tensor) error {
	var leaves []*fastjson.Value
	var walk func(v *fastjson.Value)
	walk = func(v *fastjson.Value) {
		if v.Type() == fastjson.TypeArray {
			a, _ := v.Array()
			for _, e := range a {
				walk(e)
			}
			return
		}
		leaves = append(leaves, v)
	}
	if data == nil {
		return errors.New("no data")
	}
	walk(data)
	if len(leaves) != n {
		return fmt.Errorf("%d elements for a shape of %d", len(leaves), n)
	}
	if scratch.DType == tensor.String {
		scratch.Strings = scratch.Strings[:0]
		for _, e := range leaves {
			s, err := e.StringBytes()
			if err != nil {
				return fmt.Errorf("BYTES data holds a %s", e.Type())
			}
			scratch.Strings = append(scratch.Strings, s)
		}
		return nil
	}
	scratch.Data = append(scratch.Data[:0], make([]byte, n*scratch.DType.Size())...)
	for i, e := range leaves {
		var x float64
		switch e.Type() {
		case fastjson.TypeTrue:
			x = 1
		case fastjson.TypeFalse:
		default:
			var err error
			if x, err = e.Float64(); err != nil {
				return fmt.Errorf("element %d is %s", i, e)
			}
		}
		if err := tensor.SetFloat64(scratch, i, x); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}
