package drift

import "math"

// psiEpsilon replaces an empty bin's proportion in the PSI sum, so that a bin
// empty on one side adds a large but finite term instead of an infinite one.
// 1e-4 is the value most implementations use.
const psiEpsilon = 1e-4

// PSI returns the population stability index of actual against expected, two
// distributions over the same bins: Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ), where a
// proportion below 1e-4 counts as 1e-4. The slices must have equal lengths;
// each should sum to 1.
func PSI(expected, actual []float64) float64 {
	if len(expected) != len(actual) {
		panic("BUG: drift.PSI on distributions of different lengths")
	}
	var sum float64
	for i := range expected {
		e := max(expected[i], psiEpsilon)
		a := max(actual[i], psiEpsilon)
		sum += (a - e) * math.Log(a/e)
	}
	return sum
}

// KSPValue returns the asymptotic p-value of a two-sample Kolmogorov–Smirnov
// statistic d between samples of sizes n and m: Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·d)
// with nₑ = n·m/(n+m), Stephens' small-sample correction of the Kolmogorov
// distribution (Numerical Recipes §14.3; scipy's ks_2samp method="asymp" in
// its older releases). It returns 1 when either sample is empty.
func KSPValue(d float64, n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	en := math.Sqrt(float64(n) * float64(m) / (float64(n) + float64(m)))
	return KolmogorovQ((en + 0.12 + 0.11/en) * d)
}

// KolmogorovQ is the survival function of the Kolmogorov distribution,
// Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}: the probability that √n·D of a
// sample from the reference distribution exceeds λ, for large n. Below
// λ = 1.18 the alternating series converges slowly, so it uses the dual form
// 1 − (√(2π)/λ) Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)} there.
func KolmogorovQ(lambda float64) float64 {
	switch {
	case math.IsNaN(lambda):
		return math.NaN()
	case lambda <= 0.04:
		return 1 // P < 1e-300: Q is 1 to double precision
	case lambda < 1.18:
		y := -math.Pi * math.Pi / (8 * lambda * lambda)
		var sum float64
		for j := 1; j < 20; j++ {
			k := float64(2*j - 1)
			t := math.Exp(k * k * y)
			sum += t
			if t < 1e-17*sum {
				break
			}
		}
		return clamp01(1 - math.Sqrt(2*math.Pi)/lambda*sum)
	default:
		var sum float64
		sign := 1.0
		for j := 1; j < 100; j++ {
			fj := float64(j)
			t := math.Exp(-2 * fj * fj * lambda * lambda)
			sum += sign * t
			if t < 1e-17*math.Abs(sum) {
				break
			}
			sign = -sign
		}
		return clamp01(2 * sum)
	}
}

// ChiSquareSF is the survival function of the chi-square distribution with
// df degrees of freedom: the p-value of statistic x, Q(df/2, x/2). It returns
// 1 for df ≤ 0 (no freedom, no evidence) or x ≤ 0.
func ChiSquareSF(x float64, df int) float64 {
	if df <= 0 || x <= 0 {
		return 1
	}
	return GammaQ(float64(df)/2, x/2)
}

// GammaP is the regularized lower incomplete gamma function
// P(a, x) = γ(a, x)/Γ(a), for a > 0 and x ≥ 0; NaN outside.
func GammaP(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 0
	case math.IsInf(x, 1):
		return 1
	case x < a+1:
		return gammaSeries(a, x)
	default:
		return 1 - gammaFraction(a, x)
	}
}

// GammaQ is the regularized upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a) = 1 − P(a, x), for a > 0 and x ≥ 0; NaN outside.
// It is computed directly where it is small, so tiny p-values keep their
// relative precision.
func GammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return 1 - gammaSeries(a, x)
	default:
		return gammaFraction(a, x)
	}
}

// gammaPrefix is x^a·e^{−x}/Γ(a), computed in logarithms so that it neither
// overflows nor underflows early.
func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return math.Exp(a*math.Log(x) - x - lg)
}

// gammaMaxIter bounds both expansions. Each converges in O(√a) terms where it
// is used (x < a+1 for the series, x ≥ a+1 for the fraction), so this is
// enough for any a a test's degrees of freedom can reach.
const gammaMaxIter = 100000

// gammaSeries is P(a, x) by its power series, which converges fast for
// x < a+1: P = x^a e^{−x}/Γ(a+1) · Σ_{n≥0} xⁿ/((a+1)…(a+n)).
func gammaSeries(a, x float64) float64 {
	ap := a
	term := 1 / a
	sum := term
	for range gammaMaxIter {
		ap++
		term *= x / ap
		sum += term
		if math.Abs(term) < math.Abs(sum)*1e-16 {
			break
		}
	}
	return clamp01(sum * gammaPrefix(a, x))
}

// gammaFraction is Q(a, x) by its continued fraction, which converges fast
// for x ≥ a+1, evaluated with the modified Lentz method (Numerical Recipes
// §6.2, gcf).
func gammaFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= gammaMaxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return clamp01(gammaPrefix(a, x) * h)
}

// ChiSquareHomogeneity tests whether two samples of a categorical variable,
// given as counts per category, come from one distribution: Pearson's
// chi-square on the 2×k contingency table, with expected counts from the
// pooled column totals. Categories empty in both samples are left out, so
// df = (non-empty categories) − 1. It returns statistic 0 and p-value 1 when
// either sample is empty or df is 0.
func ChiSquareHomogeneity(ref, live []float64) (stat float64, df int, p float64) {
	if len(ref) != len(live) {
		panic("BUG: drift.ChiSquareHomogeneity on tables of different widths")
	}
	var r, l float64
	for i := range ref {
		r += ref[i]
		l += live[i]
	}
	if r <= 0 || l <= 0 {
		return 0, 0, 1
	}
	t := r + l
	cols := 0
	for i := range ref {
		c := ref[i] + live[i]
		if c <= 0 {
			continue
		}
		cols++
		er, el := r*c/t, l*c/t
		stat += (ref[i]-er)*(ref[i]-er)/er + (live[i]-el)*(live[i]-el)/el
	}
	df = cols - 1
	if df <= 0 {
		return 0, 0, 1
	}
	return stat, df, ChiSquareSF(stat, df)
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }
