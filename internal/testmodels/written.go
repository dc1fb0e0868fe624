package testmodels

import "github.com/infergate/infergate/internal/onnxpb"

// The models the project writes with its ONNX writer, for what no
// downloaded or exported file covers.

// SklearnStyle is a classifier as skl2onnx exports one: from float_input
// [N, 2], an int64 "label" [N] (ArgMax) and "probabilities" [N, 3]
// (Softmax) over three classes; logits x·W with W = [[1, 0, -1], [0, 1, 1]].
func SklearnStyle() *onnxpb.Model {
	return &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "sklearn-style",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"float_input", "W", "B"}, Outputs: []string{"logits"}},
			{Op: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"probabilities"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1)}},
			{Op: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"label"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("axis", 1), onnxpb.IntAttr("keepdims", 0)}},
		},
		Initializers: []onnxpb.Tensor{
			{Name: "W", Dims: []int64{2, 3}, Data: []float32{1, 0, -1, 0, 1, 1}},
			{Name: "B", Dims: []int64{3}, Data: []float32{0, 0, 0}},
		},
		Inputs: []onnxpb.ValueInfo{{Name: "float_input", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 2}}}},
		Outputs: []onnxpb.ValueInfo{
			{Name: "label", Type: onnxpb.Int64, Shape: []onnxpb.Dim{{Param: "N"}}},
			{Name: "probabilities", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "N"}, {Value: 3}}},
		},
	}}
}

// Mixed takes two inputs of different types, x float32 and ids int64, both
// [batch, 2], and gives three outputs of two types: sum and product
// (float32, x with ids cast) and echo (ids, int64).
func Mixed() *onnxpb.Model {
	dims := []onnxpb.Dim{{Param: "batch"}, {Value: 2}}
	return &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "mixed",
		Nodes: []onnxpb.Node{
			{Op: "Cast", Inputs: []string{"ids"}, Outputs: []string{"idsf"}, Attrs: []onnxpb.Attr{onnxpb.IntAttr("to", int64(onnxpb.Float))}},
			{Op: "Add", Inputs: []string{"x", "idsf"}, Outputs: []string{"sum"}},
			{Op: "Mul", Inputs: []string{"x", "idsf"}, Outputs: []string{"product"}},
			{Op: "Identity", Inputs: []string{"ids"}, Outputs: []string{"echo"}},
		},
		Inputs: []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: dims}, {Name: "ids", Type: onnxpb.Int64, Shape: dims}},
		Outputs: []onnxpb.ValueInfo{
			{Name: "sum", Type: onnxpb.Float, Shape: dims}, {Name: "product", Type: onnxpb.Float, Shape: dims},
			{Name: "echo", Type: onnxpb.Int64, Shape: dims},
		},
	}}
}

// Kinds takes one input of each kind the v2 binary extension lays out
// differently, and answers each transformed: doubled (x float32 [batch, 2]
// added to itself), echo (ids int64 [batch]), flipped (mask bool
// [batch, 2], negated) and words (string [batch], as given).
func Kinds() *onnxpb.Model {
	pair := []onnxpb.Dim{{Param: "batch"}, {Value: 2}}
	one := []onnxpb.Dim{{Param: "batch"}}
	return &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "kinds",
		Nodes: []onnxpb.Node{
			{Op: "Add", Inputs: []string{"x", "x"}, Outputs: []string{"doubled"}},
			{Op: "Identity", Inputs: []string{"ids"}, Outputs: []string{"echo"}},
			{Op: "Not", Inputs: []string{"mask"}, Outputs: []string{"flipped"}},
			{Op: "Identity", Inputs: []string{"text"}, Outputs: []string{"words"}},
		},
		Inputs: []onnxpb.ValueInfo{
			{Name: "x", Type: onnxpb.Float, Shape: pair}, {Name: "ids", Type: onnxpb.Int64, Shape: one},
			{Name: "mask", Type: onnxpb.Bool, Shape: pair}, {Name: "text", Type: onnxpb.String, Shape: one},
		},
		Outputs: []onnxpb.ValueInfo{
			{Name: "doubled", Type: onnxpb.Float, Shape: pair}, {Name: "echo", Type: onnxpb.Int64, Shape: one},
			{Name: "flipped", Type: onnxpb.Bool, Shape: pair}, {Name: "words", Type: onnxpb.String, Shape: one},
		},
	}}
}
