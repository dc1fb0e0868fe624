package runtime

import (
	"fmt"
	"unsafe"

	"github.com/infergate/infergate/internal/tensor"
	ort "github.com/yalue/onnxruntime_go"
)

// ortTypes maps package tensor's element types to ONNX Runtime's.
var ortTypes = [...]ort.TensorElementDataType{
	tensor.Float32:  ort.TensorElementDataTypeFloat,
	tensor.Float64:  ort.TensorElementDataTypeDouble,
	tensor.Float16:  ort.TensorElementDataTypeFloat16,
	tensor.BFloat16: ort.TensorElementDataTypeBFloat16,
	tensor.Int8:     ort.TensorElementDataTypeInt8,
	tensor.Int16:    ort.TensorElementDataTypeInt16,
	tensor.Int32:    ort.TensorElementDataTypeInt32,
	tensor.Int64:    ort.TensorElementDataTypeInt64,
	tensor.Uint8:    ort.TensorElementDataTypeUint8,
	tensor.Uint16:   ort.TensorElementDataTypeUint16,
	tensor.Uint32:   ort.TensorElementDataTypeUint32,
	tensor.Uint64:   ort.TensorElementDataTypeUint64,
	tensor.Bool:     ort.TensorElementDataTypeBool,
	tensor.String:   ort.TensorElementDataTypeString,
}

func toORT(dt tensor.DType) ort.TensorElementDataType { return ortTypes[dt] }

// fromORT returns the element type of ONNX Runtime's t, or Invalid for the
// ones infergate cannot exchange (complex numbers, 8-bit and 4-bit floats).
func fromORT(t ort.TensorElementDataType) tensor.DType {
	for dt, o := range ortTypes {
		if dt != int(tensor.Invalid) && o == t {
			return tensor.DType(dt)
		}
	}
	return tensor.Invalid
}

// scalarOps make and read rank-0 tensors of one element type:
// onnxruntime_go makes scalars only as ort.Scalar[T], and cannot receive
// one it allocated itself, so each type needs its own code.
type scalarOps struct {
	in   func(data []byte) (ort.Value, error)
	out  func() (ort.Value, error)
	read func(v ort.Value, dst []byte)
}

func opsOf[T ort.TensorData]() scalarOps {
	var zero T
	size := int(unsafe.Sizeof(zero))
	return scalarOps{
		in: func(data []byte) (ort.Value, error) {
			var x T
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&x)), size), data)
			return ort.NewScalar(x)
		},
		out: func() (ort.Value, error) { return ort.NewEmptyScalar[T]() },
		read: func(v ort.Value, dst []byte) {
			x := v.(*ort.Scalar[T]).GetData()
			copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(&x)), size))
		},
	}
}

var scalars = map[tensor.DType]scalarOps{
	tensor.Float32: opsOf[float32](),
	tensor.Float64: opsOf[float64](),
	tensor.Int8:    opsOf[int8](),
	tensor.Int16:   opsOf[int16](),
	tensor.Int32:   opsOf[int32](),
	tensor.Int64:   opsOf[int64](),
	tensor.Uint8:   opsOf[uint8](),
	tensor.Uint16:  opsOf[uint16](),
	tensor.Uint32:  opsOf[uint32](),
	tensor.Uint64:  opsOf[uint64](),
	tensor.Bool:    opsOf[bool](),
}

// newValue makes an ONNX Runtime value over t's memory (numeric tensors),
// or holding a copy of it (strings, scalars). The caller destroys it.
func newValue(t *tensor.Tensor) (ort.Value, error) {
	switch {
	case len(t.Shape) == 0:
		ops, ok := scalars[t.DType]
		if !ok {
			return nil, fmt.Errorf("a %s scalar cannot be made", t.DType)
		}
		return ops.in(t.Data)
	case t.DType == tensor.String:
		v, err := ort.NewStringTensor(ort.Shape(t.Shape).Clone())
		if err != nil {
			return nil, err
		}
		strs := make([]string, len(t.Strings))
		for i, s := range t.Strings {
			strs[i] = string(s)
		}
		if err := v.SetContents(strs); err != nil {
			_ = v.Destroy()
			return nil, err
		}
		return v, nil
	}
	return ort.NewCustomDataTensor(ort.Shape(t.Shape).Clone(), t.Data, toORT(t.DType))
}

// readValue copies the shape and contents of v, an output ONNX Runtime
// allocated, into p's tensor.
func (p *port) readValue(v ort.Value) error {
	shape := v.GetShape()
	p.t.Shape = append(p.t.Shape[:0], shape...)
	if st, ok := v.(*ort.StringTensor); ok {
		strs, err := st.GetContents()
		if err != nil {
			return err
		}
		n := 0
		for _, s := range strs {
			n += len(s)
		}
		p.grow(n)
		arena := p.t.Data[:0]
		p.t.Strings = p.t.Strings[:0]
		for _, s := range strs {
			arena = append(arena, s...)
			p.t.Strings = append(p.t.Strings, arena[len(arena)-len(s):len(arena):len(arena)])
		}
		return nil
	}
	data, err := valueBytes(v)
	if err != nil {
		return err
	}
	p.grow(len(data))
	copy(p.t.Data, data)
	return nil
}

// valueBytes views the data of a numeric value onnxruntime_go made.
func valueBytes(v ort.Value) ([]byte, error) {
	switch t := v.(type) {
	case *ort.CustomDataTensor:
		return t.GetData(), nil
	case *ort.Tensor[float32]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[float64]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[int8]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[int16]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[int32]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[int64]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[uint8]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[uint16]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[uint32]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[uint64]:
		return tensor.BytesOf(t.GetData()), nil
	case *ort.Tensor[bool]:
		d := t.GetData()
		if len(d) == 0 {
			return nil, nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), len(d)), nil
	}
	return nil, fmt.Errorf("BUG: output of Go type %T", v)
}
