package router

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLogHistBuckets(t *testing.T) {
	t.Parallel()
	prev := -1
	for v := uint64(0); v < 1<<20; v += 1 + v/64 {
		i := histBucket(v)
		if i < prev {
			t.Fatalf("bucket of %d is %d, below the previous value's %d", v, i, prev)
		}
		if up := histUpper(i); v > up {
			t.Fatalf("%d lands in bucket %d whose upper edge is %d", v, i, up)
		}
		if i > 0 {
			if low := histUpper(i-1) + 1; v < low {
				t.Fatalf("%d lands in bucket %d which starts at %d", v, i, low)
			}
		}
		prev = i
	}
}

func TestLogHistQuantiles(t *testing.T) {
	t.Parallel()
	var h logHist
	r := rand.New(rand.NewPCG(1, 2))
	values := make([]uint64, 10000)
	for i := range values {
		values[i] = uint64(r.ExpFloat64() * 1e6)
		h.record(values[i])
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := float64(values[int(q*float64(len(values)))-1])
		got := float64(h.quantile(q))
		if got < exact || got > exact*1.13 {
			t.Errorf("quantile(%g) = %.0f, exact %.0f: outside the bucket width", q, got, exact)
		}
	}
	if h.quantile(1) != values[len(values)-1] {
		t.Errorf("quantile(1) = %d, want the maximum %d", h.quantile(1), values[len(values)-1])
	}
	var empty logHist
	if empty.quantile(0.99) != 0 || empty.mean() != 0 {
		t.Errorf("an empty histogram reports non-zero figures")
	}
}
