package onnxpb

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field: a varint, a fixed32, or bytes.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64
	bytes []byte
}

// decode splits one message into its fields, failing on malformed input.
func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var fs []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		fs = append(fs, f)
	}
	return fs
}

// all returns the fields numbered num, in order.
func all(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

// one returns the only field numbered num.
func one(t *testing.T, fs []field, num protowire.Number) field {
	t.Helper()
	got := all(fs, num)
	if len(got) != 1 {
		t.Fatalf("field %d appears %d times, want once", num, len(got))
	}
	return got[0]
}

func testModel() *Model {
	return &Model{
		ProducerName: "infergate-test",
		Graph: Graph{
			Name: "g",
			Nodes: []Node{
				{Name: "gemm", Op: "Gemm", Inputs: []string{"x", "W", "B"}, Outputs: []string{"z"}, Attrs: []Attr{FloatAttr("alpha", 1), IntAttr("transB", 0)}},
				{Name: "sig", Op: "Sigmoid", Inputs: []string{"z"}, Outputs: []string{"p"}},
			},
			Initializers: []Tensor{{Name: "W", Dims: []int64{2, 1}, Data: []float32{0.5, -2}}, {Name: "B", Dims: []int64{1}, Data: []float32{0.25}}},
			Inputs:       []ValueInfo{{Name: "x", Type: Float, Shape: []Dim{{Param: "batch"}, {Value: 2}}}},
			Outputs:      []ValueInfo{{Name: "p", Type: Float, Shape: []Dim{{Param: "batch"}, {Value: 1}}}},
		},
		Metadata: []KeyValue{{Key: "k", Value: "v"}},
	}
}

// TestMarshalStructure decodes the wire format independently of ONNX
// Runtime (which the runtime and trainer tests load these files into) and
// checks the ONNX field numbers the writer uses.
func TestMarshalStructure(t *testing.T) {
	t.Parallel()
	m := decode(t, testModel().Marshal())
	if v := one(t, m, 1).v; v != DefaultIRVersion {
		t.Errorf("ir_version = %d, want %d", v, DefaultIRVersion)
	}
	if s := string(one(t, m, 2).bytes); s != "infergate-test" {
		t.Errorf("producer_name = %q", s)
	}
	opset := decode(t, one(t, m, 8).bytes)
	if v := one(t, opset, 2).v; v != DefaultOpset {
		t.Errorf("opset_import.version = %d, want %d", v, DefaultOpset)
	}
	if len(all(opset, 1)) != 0 {
		t.Error("opset_import.domain is set; the default domain is the empty string")
	}
	meta := decode(t, one(t, m, 14).bytes)
	if k, v := string(one(t, meta, 1).bytes), string(one(t, meta, 2).bytes); k != "k" || v != "v" {
		t.Errorf("metadata_props = %q: %q", k, v)
	}

	g := decode(t, one(t, m, 7).bytes)
	nodes := all(g, 1)
	if len(nodes) != 2 {
		t.Fatalf("graph has %d nodes, want 2", len(nodes))
	}
	gemm := decode(t, nodes[0].bytes)
	var ins []string
	for _, f := range all(gemm, 1) {
		ins = append(ins, string(f.bytes))
	}
	if got := string(one(t, gemm, 4).bytes); got != "Gemm" || len(ins) != 3 || ins[1] != "W" {
		t.Errorf("node 0: op %q inputs %q", got, ins)
	}
	attrs := all(gemm, 5)
	alpha, transB := decode(t, attrs[0].bytes), decode(t, attrs[1].bytes)
	if math.Float32frombits(uint32(one(t, alpha, 2).v)) != 1 || one(t, alpha, 20).v != uint64(AttrFloat) {
		t.Error("attribute alpha is not the float 1")
	}
	if len(all(transB, 3)) != 1 || one(t, transB, 20).v != uint64(AttrInt) {
		t.Error("attribute transB is not an int (a zero int must still be written)")
	}

	w := decode(t, all(g, 5)[0].bytes)
	if dims := all(w, 1); len(dims) != 2 || dims[0].v != 2 || dims[1].v != 1 {
		t.Errorf("W dims = %v", dims)
	}
	raw := one(t, w, 9).bytes
	if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])); len(raw) != 8 || got != -2 {
		t.Errorf("W raw_data = %x, want two little-endian floats ending in -2", raw)
	}

	in := decode(t, one(t, g, 11).bytes)
	tensor := decode(t, one(t, decode(t, one(t, in, 2).bytes), 1).bytes)
	if one(t, tensor, 1).v != uint64(Float) {
		t.Error("input elem_type is not FLOAT")
	}
	dims := all(decode(t, one(t, tensor, 2).bytes), 1)
	batch, width := decode(t, dims[0].bytes), decode(t, dims[1].bytes)
	if string(one(t, batch, 2).bytes) != "batch" || one(t, width, 1).v != 2 {
		t.Error("input shape is not [batch, 2]")
	}
}

// TestMarshalDeterministic: equal models encode to equal bytes, which the
// trainer's byte-identical exports rely on.
func TestMarshalDeterministic(t *testing.T) {
	t.Parallel()
	a, b := testModel().Marshal(), testModel().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of the same model differ")
	}
	c := testModel()
	c.Graph.Initializers[0].Data[0] = 0.75
	if bytes.Equal(a, c.Marshal()) {
		t.Fatal("a different weight encodes to the same bytes")
	}
}
