package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The metrics Train reports match a computation from their definitions:
// the test rows rebuilt from the seed, predictions through the Dataset
// path, AUC by comparing every positive with every negative.
func TestMetricsIndependent(t *testing.T) {
	t.Parallel()
	d := GenerateChurn(DemoRows, DemoSeed)
	y := d.Column(ChurnTarget).Numbers
	// The split: a PCG permutation on the "split" stream; the test rows
	// come first, then the validation rows.
	perm := rand.New(rand.NewPCG(DemoSeed, 0x73706c6974)).Perm(d.Rows())
	nTest := int(math.Round(DefaultTestFraction * float64(d.Rows())))
	nVal := int(math.Round(DefaultValidationFraction * float64(d.Rows())))
	splits := map[string][]int{"": perm[:nTest], "validation_": perm[nTest : nTest+nVal], "train_": perm[nTest+nVal:]}

	for _, m := range []*Model{mustDemoModel(t), mustDemoMLP(t)} {
		p, err := m.Predict(d)
		if err != nil {
			t.Fatal(err)
		}
		for prefix, rows := range splits {
			var pos, neg []float64
			correct, logLoss, brier := 0, 0.0, 0.0
			for _, r := range rows {
				if y[r] == 1 {
					pos = append(pos, p[r])
				} else {
					neg = append(neg, p[r])
				}
				if (p[r] >= 0.5) == (y[r] == 1) {
					correct++
				}
				q := math.Min(math.Max(p[r], 1e-15), 1-1e-15)
				logLoss -= y[r]*math.Log(q) + (1-y[r])*math.Log(1-q)
				brier += (p[r] - y[r]) * (p[r] - y[r])
			}
			concordant := 0.0
			for _, a := range pos {
				for _, b := range neg {
					switch {
					case a > b:
						concordant++
					case a == b:
						concordant += 0.5
					}
				}
			}
			n := float64(len(rows))
			want := map[string]float64{
				"auc":      concordant / float64(len(pos)*len(neg)),
				"accuracy": float64(correct) / n,
				"log_loss": logLoss / n,
				"brier":    brier / n,
			}
			for name, w := range want {
				got, ok := m.Metrics[prefix+name]
				if !ok || math.Abs(got-w) > 1e-12 {
					t.Errorf("%s: metrics[%s%s] = %v, independent %v", m.Config.Algorithm, prefix, name, got, w)
				}
			}
			if prefix == "" {
				t.Logf("%s test: auc %.6f accuracy %.4f log_loss %.6f brier %.6f (trainer and independent agree to 1e-12)",
					m.Config.Algorithm, want["auc"], want["accuracy"], want["log_loss"], want["brier"])
			}
		}
		if got := m.Metrics["test_rows"]; got != float64(nTest) {
			t.Errorf("test_rows = %v, want %d", got, nTest)
		}
	}
}

func TestBrier(t *testing.T) {
	t.Parallel()
	f := func(y, p []float64, want float64) {
		t.Helper()
		if got := Brier(y, p); math.Abs(got-want) > 1e-12 && !(math.IsNaN(want) && math.IsNaN(got)) {
			t.Errorf("Brier(%v, %v) = %v, want %v", y, p, got, want)
		}
	}
	f([]float64{1, 0}, []float64{1, 0}, 0)
	f([]float64{1, 0}, []float64{0.5, 0.5}, 0.25)
	f([]float64{1, 0, 1}, []float64{0.9, 0.2, 0.4}, (0.01+0.04+0.36)/3)
	f(nil, nil, math.NaN())
}
