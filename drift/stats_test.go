package drift

import (
	"math"
	"testing"
)

// close reports whether got is within rel of want (relative), or within rel
// absolutely when want is 0.
func closeTo(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) <= rel
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// The expected values come from mpmath (30 digits): gammainc(a, x, inf,
// regularized=True) and the Kolmogorov series summed with nsum.
func TestGammaPQ(t *testing.T) {
	t.Parallel()
	f := func(a, x, wantQ float64) {
		t.Helper()
		if q := GammaQ(a, x); !closeTo(q, wantQ, 1e-12) {
			t.Errorf("GammaQ(%g, %g) = %.17g, want %.17g", a, x, q, wantQ)
		}
		if p := GammaP(a, x); !closeTo(p, 1-wantQ, 1e-10) && !closeTo(1-p, wantQ, 1e-10) {
			t.Errorf("GammaP(%g, %g) = %.17g, want %.17g", a, x, p, 1-wantQ)
		}
	}
	f(0.5, 0.1, 0.65472084601857702)
	f(1, 1, 0.36787944117144232)
	f(2.5, 1.7, 0.63856992310379509)
	f(3, 10, 0.0027693957155115759)
	f(10, 5, 0.96817194269379519)
	f(10, 15, 0.069853660699409768)
	f(50, 45, 0.75319796559982973)
	f(250, 260, 0.25938948260764727)
	f(0.1, 3, 0.0015652717471143538)
	f(7.5, 7.5, 0.45141721122572524)
	// Where P is tiny, P keeps its relative precision.
	if p := GammaP(500, 400); !closeTo(p, 8.1093810787991598e-7, 1e-9) {
		t.Errorf("GammaP(500, 400) = %.17g, want 8.1093810787991598e-7", p)
	}

	// Closed forms: P(1, x) = 1 − e^{−x}; Q(½, x) = erfc(√x); for an
	// integer a, Q(a, x) = e^{−x} Σ_{k<a} x^k/k!.
	for _, x := range []float64{0.01, 0.5, 1, 2.5, 7, 30, 80} {
		if p := GammaP(1, x); !closeTo(p, -math.Expm1(-x), 1e-13) {
			t.Errorf("GammaP(1, %g) = %.17g, want %.17g", x, p, -math.Expm1(-x))
		}
		if q := GammaQ(0.5, x); !closeTo(q, math.Erfc(math.Sqrt(x)), 1e-12) {
			t.Errorf("GammaQ(0.5, %g) = %.17g, want %.17g", x, q, math.Erfc(math.Sqrt(x)))
		}
		for a := 2; a <= 12; a++ {
			var sum, term float64 = 0, 1
			for k := range a {
				if k > 0 {
					term *= x / float64(k)
				}
				sum += term
			}
			want := math.Exp(-x) * sum
			if q := GammaQ(float64(a), x); !closeTo(q, want, 1e-11) {
				t.Errorf("GammaQ(%d, %g) = %.17g, want %.17g", a, x, q, want)
			}
		}
	}

	// Edges of the domain.
	if GammaP(2, 0) != 0 || GammaQ(2, 0) != 1 || GammaP(2, math.Inf(1)) != 1 || GammaQ(2, math.Inf(1)) != 0 {
		t.Error("GammaP/GammaQ at x = 0 or +Inf are not 0/1")
	}
	for _, v := range []float64{GammaP(0, 1), GammaQ(-1, 1), GammaP(1, -1), GammaQ(math.NaN(), 1)} {
		if !math.IsNaN(v) {
			t.Errorf("GammaP/GammaQ outside the domain = %g, want NaN", v)
		}
	}
}

func TestChiSquareSF(t *testing.T) {
	t.Parallel()
	f := func(x float64, df int, want float64) {
		t.Helper()
		if p := ChiSquareSF(x, df); !closeTo(p, want, 1e-12) {
			t.Errorf("ChiSquareSF(%g, %d) = %.17g, want %.17g", x, df, p, want)
		}
	}
	// The textbook critical values at 5%.
	f(3.841458820694124, 1, 0.05)
	f(5.991464547107979, 2, 0.05)
	f(18.307038053275146, 10, 0.05)
	f(1, 1, 0.3173105078629141)
	f(10, 3, 0.018566135463043233)
	f(100, 50, 3.4549313829848639e-5)
	f(0.5, 7, 0.99944648139042497)
	f(0, 3, 1)
	f(5, 0, 1)
}

func TestChiSquareHomogeneity(t *testing.T) {
	t.Parallel()
	// By hand: ref [10 20 30], live [20 20 20]; column totals [30 40 50] of
	// 120, so each sample expects [15 20 25]; χ² = 2·(25/15 + 0 + 25/25) =
	// 16/3, df 2, p = e^{−8/3}.
	stat, df, p := ChiSquareHomogeneity([]float64{10, 20, 30}, []float64{20, 20, 20})
	if !closeTo(stat, 16.0/3, 1e-14) || df != 2 || !closeTo(p, math.Exp(-8.0/3), 1e-12) {
		t.Errorf("ChiSquareHomogeneity = %g, %d, %g; want 16/3, 2, %g", stat, df, p, math.Exp(-8.0/3))
	}
	// A category empty on both sides adds no freedom.
	stat2, df2, p2 := ChiSquareHomogeneity([]float64{10, 0, 20, 30}, []float64{20, 0, 20, 20})
	if stat2 != stat || df2 != 2 || p2 != p {
		t.Errorf("with an empty category = %g, %d, %g; want %g, 2, %g", stat2, df2, p2, stat, p)
	}
	// Proportional samples: no evidence.
	if stat, _, p := ChiSquareHomogeneity([]float64{100, 200, 300}, []float64{1, 2, 3}); stat > 1e-12 || p < 1-1e-12 {
		t.Errorf("proportional samples: χ² %g, p %g; want 0, 1", stat, p)
	}
	// An empty sample, or one category: no test.
	if _, df, p := ChiSquareHomogeneity([]float64{1, 2}, []float64{0, 0}); df != 0 || p != 1 {
		t.Errorf("empty live sample: df %d, p %g; want 0, 1", df, p)
	}
	if _, df, p := ChiSquareHomogeneity([]float64{5, 0}, []float64{7, 0}); df != 0 || p != 1 {
		t.Errorf("one category: df %d, p %g; want 0, 1", df, p)
	}
}

func TestKolmogorovQ(t *testing.T) {
	t.Parallel()
	f := func(lambda, want float64) {
		t.Helper()
		if q := KolmogorovQ(lambda); !closeTo(q, want, 1e-10) {
			t.Errorf("KolmogorovQ(%g) = %.17g, want %.17g", lambda, q, want)
		}
	}
	f(0.3, 0.99999069419866543)
	f(0.5, 0.96394524366487509)
	f(0.8, 0.54414241157419808)
	f(1.0, 0.26999967167735452)
	f(1.1, 0.17771819260640118)
	f(1.17, 0.12939004218561883) // either side of the switch of series
	f(1.19, 0.11774229287977168)
	f(1.2238, 0.10002342783567782) // the textbook critical values: 10%, 5%, 1%
	f(1.3581, 0.049999630431667413)
	f(1.6276, 0.010001537333060772)
	f(1.5, 0.022217962616525129)
	f(2.0, 0.00067092525577969535)
	f(3.0, 3.0459959489425257e-8)
	f(0, 1)
	f(0.01, 1)
}

func TestKSPValue(t *testing.T) {
	t.Parallel()
	// n = m = 50: nₑ = 25, √nₑ = 5, λ = (5 + 0.12 + 0.11/5)·0.25 = 1.2855,
	// and Q(1.2855) = 0.0733932914045513 (mpmath).
	if p := KSPValue(0.25, 50, 50); !closeTo(p, 0.0733932914045513, 1e-12) {
		t.Errorf("KSPValue(0.25, 50, 50) = %.17g, want 0.0733932914045513", p)
	}
	if p := KSPValue(0.5, 0, 10); p != 1 {
		t.Errorf("KSPValue with an empty sample = %g, want 1", p)
	}
	if p := KSPValue(0, 1000, 1000); p != 1 {
		t.Errorf("KSPValue(0) = %g, want 1", p)
	}
}

func TestPSI(t *testing.T) {
	t.Parallel()
	f := func(e, a []float64, want float64) {
		t.Helper()
		if got := PSI(e, a); !closeTo(got, want, 1e-12) {
			t.Errorf("PSI(%v, %v) = %.17g, want %.17g", e, a, got, want)
		}
	}
	f([]float64{0.25, 0.25, 0.25, 0.25}, []float64{0.25, 0.25, 0.25, 0.25}, 0)
	// By hand: (0.2−0.5)·ln(0.4) + 0 + (0.5−0.2)·ln(2.5) = 0.3·ln(6.25).
	f([]float64{0.5, 0.3, 0.2}, []float64{0.2, 0.3, 0.5}, 0.3*math.Log(6.25))
	// An empty bin counts as 1e-4.
	f([]float64{0.5, 0.5, 0}, []float64{0.4, 0.5, 0.1}, -0.1*math.Log(0.8)+(0.1-1e-4)*math.Log(0.1/1e-4))
	// Symmetric in its arguments.
	if a, b := PSI([]float64{0.1, 0.9}, []float64{0.6, 0.4}), PSI([]float64{0.6, 0.4}, []float64{0.1, 0.9}); a != b {
		t.Errorf("PSI is not symmetric: %g, %g", a, b)
	}
}
