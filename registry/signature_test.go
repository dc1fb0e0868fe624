package registry

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func encoderSignature() *Signature {
	return &Signature{
		Input: "features",
		Features: []Feature{
			{Name: "tenure", Type: Numeric, Required: true, Mean: 10, Std: 4, Impute: 8},
			{Name: "contract", Type: Categorical, Required: true, Vocabulary: []string{"monthly", "yearly"}},
			{Name: "charges", Type: Numeric, Mean: 50, Std: 0, Impute: 53}, // std 0 is treated as 1
			{Name: "payment", Type: Categorical, Vocabulary: []string{"card", "check", "bank"}},
		},
		Output: Output{Name: "probability", Labels: []Label{{0, "low"}, {0.3, "medium"}, {0.6, "high"}}},
	}
}

func TestEncoderRows(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		t.Fatal(err)
	}
	if enc.Width() != 1+3+1+4 || enc.Signature().Width() != enc.Width() {
		t.Fatalf("Width = %d, want 9", enc.Width())
	}
	lookup := func(name string) int {
		t.Helper()
		i, ok := enc.Lookup([]byte(name))
		if !ok {
			t.Fatalf("Lookup(%q) failed", name)
		}
		return i
	}
	if _, ok := enc.Lookup([]byte("customer_id")); ok {
		t.Fatal("Lookup of a name outside the signature succeeded")
	}
	if f := enc.Feature(lookup("payment")); f.Name != "payment" {
		t.Fatalf("Feature = %q", f.Name)
	}
	row := enc.NewRow()
	f := func(set func(*Row), want []float32) {
		t.Helper()
		row.Reset()
		set(row)
		got, err := row.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row = %v, want %v", got, want)
		}
	}
	// All features present: standardised numbers, one-hot categories.
	f(func(r *Row) {
		r.SetNumber(lookup("tenure"), 18)
		r.SetCategory(lookup("contract"), []byte("yearly"))
		r.SetNumber(lookup("charges"), 60)
		r.SetCategory(lookup("payment"), []byte("bank"))
	}, []float32{2, 0, 1, 0, 10, 0, 0, 1, 0})
	// Unknown categories go to the trailing bucket; optional features are
	// imputed (numeric) or unknown (categorical).
	f(func(r *Row) {
		r.SetNumber(lookup("tenure"), 8)
		r.SetCategory(lookup("contract"), []byte("weekly"))
	}, []float32{-0.5, 0, 0, 1, 3, 0, 0, 0, 1})
	// Setting a category twice keeps only the last value.
	f(func(r *Row) {
		r.SetNumber(lookup("tenure"), 10)
		r.SetCategory(lookup("contract"), []byte("monthly"))
		r.SetCategory(lookup("contract"), []byte("yearly"))
		r.SetCategory(lookup("payment"), []byte("card"))
	}, []float32{0, 0, 1, 0, 3, 1, 0, 0, 0})
}

func TestEncoderMissingRequired(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		t.Fatal(err)
	}
	f := func(set func(*Row), feature string) {
		t.Helper()
		row := enc.NewRow()
		set(row)
		_, err := row.Finish()
		if !errors.Is(err, ErrMissingFeature) {
			t.Fatalf("Finish: err = %v, want ErrMissingFeature", err)
		}
		var fe *FeatureError
		if !errors.As(err, &fe) || fe.Feature != feature {
			t.Fatalf("Finish: err = %#v, want a FeatureError for %q", err, feature)
		}
		if want := `missing required feature "` + feature + `"`; err.Error() != want {
			t.Fatalf("Finish: err = %q, want %q", err, want)
		}
	}
	// The first absent required feature in signature order is named.
	f(func(*Row) {}, "tenure")
	f(func(r *Row) { r.SetNumber(0, 1) }, "contract")
	f(func(r *Row) { r.SetCategory(1, []byte("monthly")); r.SetNumber(2, 1) }, "tenure")
}

func TestEncoderRowReuse(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		t.Fatal(err)
	}
	row := enc.NewRow()
	row.SetNumber(0, 14)
	row.SetCategory(1, []byte("monthly"))
	row.SetCategory(3, []byte("check"))
	if _, err := row.Finish(); err != nil {
		t.Fatal(err)
	}
	row.Reset()
	row.SetNumber(0, 14)
	row.SetCategory(1, []byte("monthly"))
	got, err := row.Finish()
	if err != nil {
		t.Fatal(err)
	}
	// Nothing of the previous request's payment survives the Reset.
	if want := []float32{1, 1, 0, 0, 3, 0, 0, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("row = %v, want %v", got, want)
	}
}

func TestLabelFor(t *testing.T) {
	t.Parallel()
	out := encoderSignature().Output
	f := func(p float64, want string) {
		t.Helper()
		if got := out.LabelFor(p); got != want {
			t.Errorf("LabelFor(%v) = %q, want %q", p, got, want)
		}
	}
	f(0, "low")
	f(0.2999, "low")
	f(0.3, "medium")
	f(0.5999, "medium")
	f(0.6, "high")
	f(1, "high")
	f(-0.1, "") // below every threshold
	empty := Output{}
	if got := empty.LabelFor(0.5); got != "" {
		t.Errorf("LabelFor with no labels = %q", got)
	}
}

func TestSignatureValidate(t *testing.T) {
	t.Parallel()
	f := func(mutate func(*Signature), want string) {
		t.Helper()
		s := encoderSignature()
		mutate(s)
		err := s.Validate()
		if want == "" {
			if err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate = %v, want mention of %q", err, want)
		}
		if _, encErr := NewEncoder(s); encErr == nil {
			t.Fatal("NewEncoder accepted an invalid signature")
		}
	}
	f(func(*Signature) {}, "")
	f(func(s *Signature) { s.Input = "" }, "signature.input: must name")
	f(func(s *Signature) { s.Features = nil }, "signature.features: must list at least one")
	f(func(s *Signature) { s.Features[1].Name = "" }, "signature.features[1].name: must not be empty")
	f(func(s *Signature) { s.Features[2].Name = "tenure" }, `signature.features[2].name: duplicate feature "tenure"`)
	f(func(s *Signature) { s.Features[0].Std = -1 }, "signature.features[tenure]: mean and std must be finite")
	f(func(s *Signature) { s.Features[0].Mean = math.NaN() }, "signature.features[tenure]: mean and std must be finite")
	f(func(s *Signature) { s.Features[0].Std = math.Inf(1) }, "signature.features[tenure]")
	f(func(s *Signature) { s.Features[1].Vocabulary = nil }, "signature.features[contract].vocabulary: must not be empty")
	f(func(s *Signature) { s.Features[3].Type = "text" }, `signature.features[payment].type: unknown type "text"`)
	f(func(s *Signature) { s.Output.Name = "" }, "signature.output.name: must name")
	f(func(s *Signature) { s.Output.Labels = nil }, "signature.output.labels: must list at least one")
	f(func(s *Signature) { s.Output.Labels[0].Min = 0.9 }, "signature.output.labels: must be in ascending order")
}

func FuzzEncoderCategory(f *testing.F) {
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("yearly"), 1.5)
	f.Add([]byte(""), math.Inf(1))
	f.Fuzz(func(t *testing.T, value []byte, number float64) {
		row := enc.NewRow()
		row.SetNumber(0, number)
		row.SetCategory(1, value)
		got, err := row.Finish()
		if err != nil {
			t.Fatal(err)
		}
		hot := 0
		for _, v := range got[1:4] {
			if v == 1 {
				hot++
			} else if v != 0 {
				t.Fatalf("one-hot column holds %v", v)
			}
		}
		if hot != 1 {
			t.Fatalf("%d hot columns for %q", hot, value)
		}
	})
}

func TestEncoderPooledRows(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		t.Fatal(err)
	}
	r := enc.AcquireRow()
	r.SetNumber(0, 14)
	r.SetCategory(1, []byte("monthly"))
	r.SetCategory(3, []byte("check"))
	if _, err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	enc.ReleaseRow(r)
	// Whatever row comes back is cleared: nothing of the last request shows.
	r = enc.AcquireRow()
	defer enc.ReleaseRow(r)
	if _, err := r.Finish(); !errors.Is(err, ErrMissingFeature) {
		t.Fatalf("Finish of a fresh pooled row: err = %v, want ErrMissingFeature", err)
	}
	r.Reset()
	r.SetNumber(0, 10)
	r.SetCategory(1, []byte("yearly"))
	got, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 0, 1, 0, 3, 0, 0, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("row = %v, want %v", got, want)
	}
}

// The request path — acquire, look up, set, finish, release — allocates
// nothing once the pool is warm.
func TestEncoderZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector defeats sync.Pool")
	}
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		t.Fatal(err)
	}
	tenure, contract, payment := []byte("tenure"), []byte("contract"), []byte("payment")
	monthly, bank := []byte("monthly"), []byte("bank")
	allocs := testing.AllocsPerRun(1000, func() {
		r := enc.AcquireRow()
		i, _ := enc.Lookup(tenure)
		r.SetNumber(i, 12)
		i, _ = enc.Lookup(contract)
		r.SetCategory(i, monthly)
		i, _ = enc.Lookup(payment)
		r.SetCategory(i, bank)
		if _, err := r.Finish(); err != nil {
			panic(err)
		}
		enc.ReleaseRow(r)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func BenchmarkEncodeRow(b *testing.B) {
	enc, err := NewEncoder(encoderSignature())
	if err != nil {
		b.Fatal(err)
	}
	tenure, contract, monthly := []byte("tenure"), []byte("contract"), []byte("monthly")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := enc.AcquireRow()
			i, _ := enc.Lookup(tenure)
			r.SetNumber(i, 12)
			i, _ = enc.Lookup(contract)
			r.SetCategory(i, monthly)
			if _, err := r.Finish(); err != nil {
				b.Fatal(err)
			}
			enc.ReleaseRow(r)
		}
	})
}
