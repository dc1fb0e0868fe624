package rules_test

import (
	"testing"

	"github.com/infergate/infergate/router/rules"
)

// BenchmarkEval measures a request that falls through three rules to the
// catch-all, reading features near both ends of a typical request.
func BenchmarkEval(b *testing.B) {
	s, err := rules.Compile([]rules.Rule{
		{When: []string{"contract == month-to-month", "tenure < 6"}, Probability: probability(0.9)},
		{When: []string{"payment in [electronic_check, mailed_check, bank_transfer]", "charges >= 70.5"}, Probability: probability(0.7)},
		{When: []string{"partner is missing"}, Probability: probability(0.6)},
		{Probability: probability(0.1)},
	})
	if err != nil {
		b.Fatal(err)
	}
	req := request("tenure", 12.0, "contract", "one_year", "charges", 50.0, "partner", "yes",
		"dependents", "no", "payment", "bank_transfer", "paperless", "yes", "senior", 0.0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if m, ok := s.Eval(req); !ok || m.Index != 3 {
				b.Errorf("Eval: got %+v, %v; want rule 3", m, ok)
				return
			}
		}
	})
}
