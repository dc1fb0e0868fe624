package oip

import (
	"strconv"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/valyala/fastjson"
)

// HeaderContentLength is the HTTP header of the binary tensor data
// extension: the length in bytes of the JSON object that starts the body;
// the tensors' raw bytes follow it, on requests and on responses.
const HeaderContentLength = "Inference-Header-Content-Length"

// SplitBody splits a request body by the value of its
// Inference-Header-Content-Length header (nil when the request has none:
// the body is all JSON) into the JSON header and the binary data after it.
// tail is nil for a body without the header, and empty, not nil, for one
// whose header says the whole body is JSON. Errors are *Error.
func SplitBody(body, headerLength []byte) (header, tail []byte, err error) {
	if headerLength == nil {
		return body, nil, nil
	}
	n, perr := strconv.Atoi(string(headerLength))
	if perr != nil || n < 0 {
		return nil, nil, badRequest(HeaderContentLength + " must be the byte length of the JSON header at the start of the body, an integer >= 0, got " + strconv.Quote(string(headerLength)))
	}
	if n > len(body) {
		return nil, nil, badRequest(HeaderContentLength + " is " + strconv.Itoa(n) + ", but the body has " + strconv.Itoa(len(body)) + " bytes")
	}
	return body[:n], body[n:len(body):len(body)], nil
}

// binaryIn reads the inputs' binary data, in the order the inputs come in
// the JSON header, from the body's tail.
type binaryIn struct {
	tail []byte // nil: the request has no binary data
	off  int
}

func (b *binaryIn) reset(tail []byte) { b.tail, b.off = tail, 0 }

// take returns the binary data of input name (in, its JSON object), and
// whether it has any: parameters.binary_data_size says how many bytes of the
// tail are its own. hasData says whether the input also has "data".
func (b *binaryIn) take(name []byte, in *fastjson.Value, hasData bool) (data []byte, ok bool, err error) {
	p := in.Get("parameters")
	if p == nil {
		return nil, false, nil
	}
	if p.Type() != fastjson.TypeObject {
		return nil, false, inputError(name, "parameters must be an object such as {\"binary_data_size\": 64}, got "+typeName(p.Type()))
	}
	if p.Get("shared_memory_region") != nil {
		return nil, false, inputError(name, "shared memory is not supported: send the tensor in the body, as JSON data or binary data")
	}
	sv := p.Get("binary_data_size")
	if sv == nil {
		return nil, false, nil
	}
	size, valid := nonNegative(sv)
	switch {
	case !valid:
		return nil, false, inputError(name, "parameters.binary_data_size must be the byte length of the input's binary data, an integer >= 0, got "+sv.String())
	case hasData:
		return nil, false, inputError(name, "has both data and parameters.binary_data_size: send the tensor one way, as JSON data or as binary data after the header")
	case b.tail == nil:
		return nil, false, inputError(name, "parameters.binary_data_size is "+strconv.FormatInt(size, 10)+", but the request has no "+HeaderContentLength+
			" header: set it to the JSON header's length, and send the tensors' bytes after the header")
	case size > int64(len(b.tail)-b.off):
		return nil, false, inputError(name, "binary_data_size "+strconv.FormatInt(size, 10)+", but "+strconv.Itoa(len(b.tail)-b.off)+
			" bytes of binary data follow the header and the inputs before this one")
	}
	data = b.tail[b.off : b.off+int(size) : b.off+int(size)]
	b.off += int(size)
	return data, true, nil
}

// finish reports binary data that no input claimed.
func (b *binaryIn) finish() error {
	if left := len(b.tail) - b.off; left > 0 {
		return badRequest(strconv.Itoa(len(b.tail)) + " bytes of binary data follow the JSON header, but the inputs' binary_data_size add up to " +
			strconv.Itoa(b.off) + ": every byte after the header belongs to an input, in the order of the inputs")
	}
	return nil
}

// checkFixedSize says whether data holds exactly n elements of dt (not
// BYTES), and what is wrong if not; shape is the input's, for the message.
func checkFixedSize(data []byte, n int, dt tensor.DType, shape *fastjson.Value) string {
	if want := n * dt.Size(); len(data) != want {
		return "binary_data_size " + strconv.Itoa(len(data)) + ", but shape " + shape.String() + " of " + dt.V2() + " needs " +
			strconv.Itoa(want) + " bytes (" + strconv.Itoa(dt.Size()) + " per element)"
	}
	if dt == tensor.Bool {
		for i, c := range data {
			if c > 1 {
				return "BOOL element " + strconv.Itoa(i) + " is the byte " + strconv.Itoa(int(c)) + "; true is 1 and false 0"
			}
		}
	}
	return ""
}

// outputBinary reads an output's parameters.binary_data: set says whether
// it has one.
func outputBinary(name []byte, p *fastjson.Value) (binary, set bool, err error) {
	if p == nil {
		return false, false, nil
	}
	v := p.Get("binary_data")
	if v == nil {
		return false, false, nil
	}
	if binary, ok := boolean(v); ok {
		return binary, true, nil
	}
	return false, false, badRequest("outputs[" + strconv.Quote(string(name)) + "].parameters.binary_data must be true or false, got " + v.String())
}

// boolean is v as a bool; ok is false when v is not true or false.
func boolean(v *fastjson.Value) (value, ok bool) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, true
	case fastjson.TypeFalse:
		return false, true
	}
	return false, false
}

// appendBinarySize appends an output's parameters in place of its data.
func appendBinarySize(b []byte, size int) []byte {
	b = append(b, `"parameters":{"binary_data_size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	return append(b, "}}"...)
}
