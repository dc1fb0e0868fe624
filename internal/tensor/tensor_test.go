package tensor

import (
	"math"
	"testing"
)

func TestFloat16RoundTrip(t *testing.T) {
	t.Parallel()
	for h := range 1 << 16 {
		f := Float16ToFloat32(uint16(h))
		if f != f {
			if got := Float32ToFloat16(f); Float16ToFloat32(got) == Float16ToFloat32(got) {
				t.Fatalf("NaN %#04x came back as %#04x, not a NaN", h, got)
			}
			continue
		}
		if got := Float32ToFloat16(f); got != uint16(h) {
			t.Fatalf("half %#04x → %g → %#04x", h, f, got)
		}
	}
}

func TestFloat32ToFloat16Rounds(t *testing.T) {
	t.Parallel()
	f := func(in float32, want uint16) {
		t.Helper()
		if got := Float32ToFloat16(in); got != want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", in, got, want)
		}
	}
	f(1, 0x3c00)
	f(-2, 0xc000)
	f(65504, 0x7bff)
	f(65520, 0x7c00) // rounds up to Inf
	f(1e6, 0x7c00)
	f(float32(math.Inf(-1)), 0xfc00)
	f(1+1.0/2048, 0x3c00)             // halfway to the next half: ties to even (down)
	f(1+3.0/2048, 0x3c02)             // halfway: ties to even (up)
	f(1+1.5/2048, 0x3c01)             // above halfway: up
	f(5.960464477539063e-08, 0x0001)  // the smallest subnormal
	f(2.9802322387695312e-08, 0x0000) // half of it: ties to even, 0
	f(1e-9, 0x0000)
}

func TestBFloat16(t *testing.T) {
	t.Parallel()
	for _, x := range []float32{0, 1, -1.5, 3.140625, 1e30, -1e-30} {
		if got := BFloat16ToFloat32(Float32ToBFloat16(x)); math.Abs(float64(got-x)) > math.Abs(float64(x))/128 {
			t.Errorf("bfloat16 round trip of %g gave %g", x, got)
		}
	}
	if got := Float32ToBFloat16(1 + 1.0/256); got != 0x3f80 { // tie to even
		t.Errorf("Float32ToBFloat16(1+2^-8) = %#04x, want 0x3f80", got)
	}
}

func TestElements(t *testing.T) {
	t.Parallel()
	f := func(shape []int64, want int, wantOK bool) {
		t.Helper()
		got, ok := Elements(shape)
		if got != want || ok != wantOK {
			t.Errorf("Elements(%v) = %d, %v; want %d, %v", shape, got, ok, want, wantOK)
		}
	}
	f(nil, 1, true)
	f([]int64{2, 3, 4}, 24, true)
	f([]int64{2, 0, 4}, 0, true)
	f([]int64{-1, 3}, 0, false)
	f([]int64{1 << 31, 1 << 31, 1 << 31}, 0, false)
}

func TestRowViewAndAccessors(t *testing.T) {
	t.Parallel()
	data := []float32{0, 1, 2, 3, 4, 5}
	x := Tensor{Name: "x", DType: Float32, Shape: []int64{3, 2}, Data: BytesOf(data)}
	if !x.Check() || x.Rows() != 3 || x.RowElements() != 2 || x.Len() != 6 {
		t.Fatalf("Check, Rows, RowElements, Len = %v %d %d %d", x.Check(), x.Rows(), x.RowElements(), x.Len())
	}
	var shape []int64
	v := x.RowView(1, 3, shape)
	if got := Float32s(v.Data); len(got) != 4 || got[0] != 2 || got[3] != 5 || v.Shape[0] != 2 || x.Shape[0] != 3 {
		t.Errorf("RowView(1, 3) = %v shape %v (source shape %v)", got, v.Shape, x.Shape)
	}
	if got := x.Float64At(5); got != 5 {
		t.Errorf("Float64At(5) = %g", got)
	}
	ints := Tensor{DType: Int64, Shape: []int64{2}, Data: BytesOf([]int64{-7, 9})}
	if v, ok := ints.Int64At(0); !ok || v != -7 {
		t.Errorf("Int64At(0) = %d, %v", v, ok)
	}
	s := Tensor{DType: String, Shape: []int64{2, 1}, Strings: [][]byte{[]byte("a"), []byte("bc")}}
	var c Tensor
	c.CopyFrom(&s)
	s.Strings[1][0] = 'X'
	if !c.Check() || string(c.Strings[1]) != "bc" {
		t.Errorf("CopyFrom shares memory or lost elements: %q", c.Strings)
	}
	if ShapeString([]int64{-1, 3, 48}) != "[-1,3,48]" {
		t.Errorf("ShapeString = %s", ShapeString([]int64{-1, 3, 48}))
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for d := Float32; d < numDTypes; d++ {
		if Parse(d.String()) != d || ParseV2([]byte(d.V2())) != d {
			t.Errorf("%s / %s do not parse back", d, d.V2())
		}
	}
	if Parse("float") != Invalid || ParseV2([]byte("FP8")) != Invalid {
		t.Error("unknown names parse")
	}
}
