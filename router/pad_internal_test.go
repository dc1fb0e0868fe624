package router

import (
	"slices"
	"testing"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// TestPadAndCrop pads a [2, 3] uint8 input along dimension 1 to a multiple
// of 4 with 9s, then crops a [2, 4, 2] output back to 3 steps.
func TestPadAndCrop(t *testing.T) {
	rule := registry.PadRule{Input: "x", Dim: 1, Value: 9, ToMultipleOf: 4, Crop: []registry.CropRule{{Output: "y", Dim: 1}}}
	elem, err := registry.PadElement(tensor.Uint8, rule.Value)
	if err != nil {
		t.Fatal(err)
	}
	p := padder{input: 0, dim: 1, elem: elem, rule: rule, crops: []cropper{{output: 0, rule: rule.Crop[0]}}}
	in := []tensor.Tensor{{Name: "x", DType: tensor.Uint8, Shape: []int64{2, 3}, Data: []byte{1, 2, 3, 4, 5, 6}}}
	var buf tensor.Tensor
	n := p.pad(in, &buf)
	if n != 3 || !slices.Equal(in[0].Shape, []int64{2, 4}) || !slices.Equal(in[0].Data, []byte{1, 2, 3, 9, 4, 5, 6, 9}) {
		t.Fatalf("padded to %v %v (unpadded %d), want [2 4] [1 2 3 9 4 5 6 9] (3)", in[0].Shape, in[0].Data, n)
	}
	if again := p.pad([]tensor.Tensor{{Name: "x", DType: tensor.Uint8, Shape: []int64{1, 8}, Data: make([]byte, 8)}}, &buf); again != 0 {
		t.Errorf("a length that is a multiple was padded (unpadded %d)", again)
	}
	out := []tensor.Tensor{{Name: "y", DType: tensor.Uint8, Shape: []int64{2, 4, 2}, Data: []byte{1, 1, 2, 2, 3, 3, 0, 0, 4, 4, 5, 5, 6, 6, 0, 0}}}
	if err := p.crop(out, n); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Shape, []int64{2, 3, 2}) || !slices.Equal(out[0].Data, []byte{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6}) {
		t.Errorf("cropped to %v %v, want [2 3 2] [1 1 2 2 3 3 4 4 5 5 6 6]", out[0].Shape, out[0].Data)
	}
}
