package feedback

import (
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type pair struct {
	p        float64
	positive bool
}

// exact computes the report's figures the plain way: sums, and the AUC by
// sorting, each positive counting the negatives below it and half of those
// with its very probability.
func exact(pairs []pair, threshold float64) (accuracy, logLoss, brier, auc float64) {
	var correct, np, nn float64
	for _, x := range pairs {
		y := 0.0
		if x.positive {
			y = 1
		}
		if (x.p >= threshold) == x.positive {
			correct++
		}
		q := math.Min(math.Max(x.p, 1e-15), 1-1e-15)
		logLoss -= y*math.Log(q) + (1-y)*math.Log(1-q)
		brier += (x.p - y) * (x.p - y)
	}
	sorted := slices.Clone(pairs)
	slices.SortFunc(sorted, func(a, b pair) int { return cmp.Compare(a.p, b.p) })
	var wins, below float64
	for i := 0; i < len(sorted); {
		j := i
		var gp, gn float64
		for ; j < len(sorted) && sorted[j].p == sorted[i].p; j++ {
			if sorted[j].positive {
				gp++
			} else {
				gn++
			}
		}
		wins += gp*below + gp*gn/2
		below += gn
		np += gp
		nn += gn
		i = j
	}
	n := float64(len(pairs))
	return correct / n, logLoss / n, brier / n, wins / (np * nn)
}

// The tracker's figures against the exact ones on a few thousand labelled
// predictions from several score distributions; the AUC is within its
// reported bound, and the bound is small.
func TestStatisticsAgainstExact(t *testing.T) {
	t.Parallel()
	f := func(name string, n int, draw func(*rand.Rand) float64, maxBound float64) {
		t.Helper()
		rng := rand.New(rand.NewPCG(7, uint64(len(name))))
		s := newTestStore(t, Config{Threshold: 0.3})
		tr := s.Tracker("route", name)
		pairs := make([]pair, n)
		for i := range pairs {
			p := draw(rng)
			// The label follows the probability, blurred so that the AUC
			// is neither 0.5 nor 1.
			positive := rng.Float64() < 0.2+0.6*p
			pairs[i] = pair{p, positive}
			id := []byte(name + "-" + strconv.Itoa(i))
			s.Record(id, tr, p, testStart)
			if _, err := s.Label(id, bin(positive), testStart); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		acc, ll, brier, auc := exact(pairs, 0.3)
		r := tr.Report()
		close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }
		if r.Labels != uint64(n) || r.Accuracy != acc || !close(r.LogLoss, ll) || !close(r.Brier, brier) {
			t.Errorf("%s: labels %d accuracy %g log loss %g brier %g; want %d, %g, %g, %g",
				name, r.Labels, r.Accuracy, r.LogLoss, r.Brier, n, acc, ll, brier)
		}
		if r.AUC == nil || r.AUCErrorBound == nil {
			t.Fatalf("%s: no AUC", name)
		}
		if d := math.Abs(*r.AUC - auc); d > *r.AUCErrorBound+1e-12 || *r.AUCErrorBound > maxBound {
			t.Errorf("%s: AUC %g, exact %g: off by %g, bound %g (want ≤ %g)", name, *r.AUC, auc, d, *r.AUCErrorBound, maxBound)
		}
		t.Logf("%s: AUC %.6f exact %.6f bound %.2g; equal-width 1024 bins: bound %.2g",
			name, *r.AUC, auc, *r.AUCErrorBound, equalWidthBound(pairs, 1024))
	}
	sigmoid := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	f("uniform", 5000, func(r *rand.Rand) float64 { return r.Float64() }, 0.001)
	f("logit-normal", 5000, func(r *rand.Rand) float64 { return sigmoid(r.NormFloat64() * 2) }, 0.001)
	// An imbalanced model: scores around 0.01.
	f("imbalanced", 5000, func(r *rand.Rand) float64 { return sigmoid(r.NormFloat64() - 4.5) }, 0.002)
	// Two decimals: many exact ties, which count half in both.
	f("ties", 5000, func(r *rand.Rand) float64 { return math.Round(r.Float64()*100) / 100 }, 0.01)
	// Certain predictions: the log loss is clipped.
	f("extremes", 2000, func(r *rand.Rand) float64 { return []float64{0, 1e-300, 1e-12, 0.5, 1 - 1e-12, 1}[r.IntN(6)] }, 0.5)
}

// equalWidthBound is the AUC error bound that n bins of equal width in p
// would have had, for comparison.
func equalWidthBound(pairs []pair, n int) float64 {
	pos, neg := make([]float64, n), make([]float64, n)
	var np, nn float64
	for _, x := range pairs {
		k := min(int(x.p*float64(n)), n-1)
		if x.positive {
			pos[k]++
			np++
		} else {
			neg[k]++
			nn++
		}
	}
	var ties float64
	for k := range n {
		ties += pos[k] * neg[k]
	}
	return ties / 2 / (np * nn)
}

// Without both classes there is no AUC; without labels the figures are 0,
// not NaN, and the report encodes as JSON.
func TestReportUndefined(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{})
	tr := s.Tracker("churn", "1.0.0")
	check := func(wantLabels uint64, wantJSON string) {
		t.Helper()
		r := tr.Report()
		if r.Labels != wantLabels || r.AUC != nil || r.AUCErrorBound != nil {
			t.Errorf("report %+v, want %d labels and no AUC", r, wantLabels)
		}
		b, err := json.Marshal(r)
		if err != nil || !strings.Contains(string(b), wantJSON) {
			t.Errorf("JSON %s, %v; want it to contain %s", b, err, wantJSON)
		}
	}
	check(0, `"labels":0,"positives":0,"accuracy":0,"auc":null,"auc_error_bound":null,"log_loss":0,"brier":0`)
	for i := range 3 {
		id := []byte{'a', byte(i)}
		s.Record(id, tr, 0.9, testStart)
		if _, err := s.Label(id, bin(true), testStart); err != nil {
			t.Fatal(err)
		}
	}
	check(3, `"labels":3,"positives":3,"accuracy":1,"auc":null`)
	s.Record([]byte("neg"), tr, 0.1, testStart)
	if _, err := s.Label([]byte("neg"), bin(false), testStart); err != nil {
		t.Fatal(err)
	}
	if r := tr.Report(); r.AUC == nil || *r.AUC != 1 || *r.AUCErrorBound != 0 {
		t.Errorf("with both classes: %+v, want AUC 1 exactly", r)
	}
}

// Bins are ordered as probabilities, begin at their edges and cover [0, 1].
func TestBins(t *testing.T) {
	t.Parallel()
	f := func(p float64, want int) {
		t.Helper()
		if got := binOf(p); got != want {
			t.Errorf("binOf(%g) = %d, want %d", p, got, want)
		}
	}
	f(0, 0)
	f(1e-300, 0)
	f(1, Bins-1)
	f(0.5, Bins/2)
	f(math.Nextafter(0.5, 0), Bins/2-1)
	for k, e := range edges {
		f(e, k+1)
		f(math.Nextafter(e, 0), k)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	ps := make([]float64, 10000)
	for i := range ps {
		ps[i] = 1 / (1 + math.Exp(-rng.NormFloat64()*8))
	}
	slices.Sort(ps)
	for i := 1; i < len(ps); i++ {
		if binOf(ps[i]) < binOf(ps[i-1]) {
			t.Fatalf("binOf(%g) = %d < binOf(%g) = %d", ps[i], binOf(ps[i]), ps[i-1], binOf(ps[i-1]))
		}
	}
}
