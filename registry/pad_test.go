package registry

import (
	"strings"
	"testing"
)

// ocrSignature is a recognizer's: x [-1, 3, 48, -1] in, y [-1, -1, 10] out.
func ocrSignature() *Signature {
	return &Signature{
		Inputs:  []TensorSpec{{Name: "x", DType: "float32", Shape: []int64{-1, 3, 48, -1}}},
		Outputs: []OutputSpec{{TensorSpec: TensorSpec{Name: "y", DType: "float32", Shape: []int64{-1, -1, 10}}, Kind: KindRaw}},
		Pad: []PadRule{{Input: "x", Dim: 3, ToMultipleOf: 32,
			Crop: []CropRule{{Output: "y", Dim: 1, Divide: 8, Add: 3}}}},
	}
}

func TestPadRuleValidate(t *testing.T) {
	t.Parallel()
	f := func(mutate func(*Signature), want string) {
		t.Helper()
		s := ocrSignature()
		mutate(s)
		err := s.Validate()
		switch {
		case want == "" && err != nil:
			t.Errorf("Validate = %v, want nil", err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("Validate = %v, want mention of %q", err, want)
		}
	}
	f(func(*Signature) {}, "")
	f(func(s *Signature) { s.Pad[0].Input = "z" }, `signature.pad[0].input: the model has no input "z"`)
	f(func(s *Signature) { s.Pad = append(s.Pad, s.Pad[0]) }, `signature.pad[1].input: "x" has a pad rule already`)
	f(func(s *Signature) { s.Pad[0].Dim = 0 }, "signature.pad[0].dim: 0 is not a dimension after the batch")
	f(func(s *Signature) { s.Pad[0].Dim = 4 }, "signature.pad[0].dim: 4 is not a dimension after the batch")
	f(func(s *Signature) { s.Pad[0].Dim = 2 }, "signature.pad[0].dim: dimension 2 of x [-1,3,48,-1] is fixed")
	f(func(s *Signature) { s.Pad[0].ToMultipleOf = 1 }, "signature.pad[0].to_multiple_of: must be 2 or more, got 1")
	f(func(s *Signature) { s.Inputs[0].DType = "uint8"; s.Pad[0].Value = 300 }, "signature.pad[0].value: 300 does not fit uint8")
	f(func(s *Signature) { s.Pad[0].Crop[0].Output = "z" }, `signature.pad[0].crop[0].output: the model has no output "z"`)
	f(func(s *Signature) { s.Pad[0].Crop[0].Dim = 2 }, "signature.pad[0].crop[0].dim: dimension 2 of y [-1,-1,10] is fixed")
	f(func(s *Signature) { s.Pad[0].Crop[0].Divide = -8 }, "signature.pad[0].crop[0].divide: must be 1 or more")
}

func TestPadRuleLengths(t *testing.T) {
	t.Parallel()
	p := ocrSignature().Pad[0]
	for _, c := range []struct{ n, padTo, steps int64 }{{96, 96, 12}, {97, 128, 12}, {100, 128, 12}, {101, 128, 13}, {128, 128, 16}, {1, 32, 0}} {
		if got := p.PadTo(c.n); got != c.padTo {
			t.Errorf("PadTo(%d) = %d, want %d", c.n, got, c.padTo)
		}
		if got := p.Crop[0].Length(c.n); got != c.steps {
			t.Errorf("crop Length(%d) = %d, want %d", c.n, got, c.steps)
		}
	}
}
