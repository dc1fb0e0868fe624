package onnxpb

import (
	"encoding/binary"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Defaults for models written by the project: IR version 8 with opset 17 is
// understood by every ONNX Runtime release since 1.14.
const (
	DefaultIRVersion = 8
	DefaultOpset     = 17
)

// ElemType is an ONNX TensorProto.DataType.
type ElemType int32

// The element types of ONNX's TensorProto.DataType that tests and exports
// write.
const (
	Float     ElemType = 1
	Uint8     ElemType = 2
	Int8      ElemType = 3
	Uint16    ElemType = 4
	Int16     ElemType = 5
	Int32     ElemType = 6
	Int64     ElemType = 7
	String    ElemType = 8
	Bool      ElemType = 9
	Float16   ElemType = 10
	Double    ElemType = 11
	Uint32    ElemType = 12
	Uint64    ElemType = 13
	Complex64 ElemType = 14
	BFloat16  ElemType = 16
	// Float8E4M3FN needs opset 19; infergate cannot exchange it.
	Float8E4M3FN ElemType = 17
)

// Model is an ONNX ModelProto reduced to what the project needs.
type Model struct {
	IRVersion       int64 // 0 means DefaultIRVersion
	Opset           int64 // default domain opset; 0 means DefaultOpset
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           Graph
	// Metadata is written as metadata_props, in order.
	Metadata []KeyValue
}

// KeyValue is one metadata_props entry.
type KeyValue struct {
	Key, Value string
}

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is one operator application.
type Node struct {
	Name    string
	Op      string // op_type, e.g. "Gemm"
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// AttrType is an ONNX AttributeProto.AttributeType.
type AttrType int32

// The attribute types the project writes.
const (
	AttrFloat  AttrType = 1
	AttrInt    AttrType = 2
	AttrString AttrType = 3
	AttrFloats AttrType = 6
	AttrInts   AttrType = 7
)

// Attr is a node attribute; only the field matching Type is written.
type Attr struct {
	Name   string
	Type   AttrType
	F      float32
	I      int64
	S      string
	Floats []float32
	Ints   []int64
}

// IntAttr returns an integer attribute.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, I: v} }

// FloatAttr returns a float attribute.
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, Type: AttrFloat, F: v} }

// Tensor is a constant tensor (an initializer): float32 Data, or int64
// Int64s when Type is Int64. With External set, its data is not in the
// model: it is RawData() at ExternalOffset in the file External names
// (relative to the model's folder), which the caller writes.
type Tensor struct {
	Name           string
	Dims           []int64
	Type           ElemType // 0 means Float
	Data           []float32
	Int64s         []int64
	External       string
	ExternalOffset int64
}

// RawData is the tensor's data as ONNX stores it: little-endian elements.
func (t *Tensor) RawData() []byte {
	if t.Type == Int64 {
		raw := make([]byte, 8*len(t.Int64s))
		for i, v := range t.Int64s {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
		return raw
	}
	raw := make([]byte, 4*len(t.Data))
	for i, f := range t.Data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return raw
}

// Dim is one dimension of a value's shape: a fixed size, or a symbolic name
// (Param) such as "batch" for a dynamic dimension.
type Dim struct {
	Value int64
	Param string
}

// ValueInfo declares a graph input or output.
type ValueInfo struct {
	Name  string
	Type  ElemType
	Shape []Dim
}

// Marshal encodes m as an ONNX ModelProto.
func (m *Model) Marshal() []byte {
	ir := m.IRVersion
	if ir == 0 {
		ir = DefaultIRVersion
	}
	opset := m.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	var b []byte
	b = appendVarint(b, 1, uint64(ir))
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 6, m.DocString)
	b = appendMessage(b, 7, m.Graph.marshal())
	var op []byte
	op = appendVarint(op, 2, uint64(opset))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, op)
	for _, kv := range m.Metadata {
		var e []byte
		e = appendString(e, 1, kv.Key)
		e = appendString(e, 2, kv.Value)
		b = appendMessage(b, 14, e)
	}
	return b
}

func (g *Graph) marshal() []byte {
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, 1, g.Nodes[i].marshal())
	}
	b = appendString(b, 2, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, 5, g.Initializers[i].marshal())
	}
	for i := range g.Inputs {
		b = appendMessage(b, 11, g.Inputs[i].marshal())
	}
	for i := range g.Outputs {
		b = appendMessage(b, 12, g.Outputs[i].marshal())
	}
	return b
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.Op)
	for i := range n.Attrs {
		b = appendMessage(b, 5, n.Attrs[i].marshal())
	}
	return b
}

func (a *Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.S)
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = appendVarint(b, 20, uint64(a.Type))
	return b
}

func (t *Tensor) marshal() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	typ := t.Type
	if typ == 0 {
		typ = Float
	}
	b = appendVarint(b, 2, uint64(typ))
	b = appendString(b, 8, t.Name)
	raw := t.RawData()
	if t.External == "" {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		return protowire.AppendBytes(b, raw)
	}
	entry := func(key, value string) []byte {
		return appendString(appendString(nil, 1, key), 2, value)
	}
	b = appendMessage(b, 13, entry("location", t.External))
	b = appendMessage(b, 13, entry("offset", strconv.FormatInt(t.ExternalOffset, 10)))
	b = appendMessage(b, 13, entry("length", strconv.Itoa(len(raw))))
	return appendVarint(b, 14, 1) // data_location: EXTERNAL
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, 2, d.Param)
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = appendVarint(tensor, 1, uint64(v.Type))
	tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensor)
	var b []byte
	b = appendString(b, 1, v.Name)
	b = appendMessage(b, 2, typ)
	return b
}

// appendVarint writes a varint field, omitting zero as proto3 does.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// appendString writes a string field, omitting the empty string.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendMessage writes an embedded message, even when it is empty: an empty
// message still marks the field as present.
func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
