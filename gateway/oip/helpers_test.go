package oip_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/registry"
)

// testSignature is a churn model's: numeric and categorical features.
func testSignature() *registry.Signature {
	return &registry.Signature{
		Input: "input",
		Features: []registry.Feature{
			{Name: "tenure_months", Type: registry.Numeric, Required: true, Mean: 30, Std: 20},
			{Name: "monthly_charges", Type: registry.Numeric, Mean: 60, Std: 30},
			{Name: "has_partner", Type: registry.Numeric},
			{Name: "contract", Type: registry.Categorical, Vocabulary: []string{"monthly", "one-year", "two-year"}},
		},
		Output: registry.Output{Name: "probability", Labels: []registry.Label{{Min: 0, Label: "stays"}, {Min: 0.5, Label: "churns"}}},
	}
}

var (
	testSchema = oip.NewSchema(testSignature())
	testLimits = oip.Limits{MaxRows: 1000, MaxElements: 10000}
)

// rowText renders a decoded row as `name=value ...`, in the row's order:
// numbers in their shortest form, strings quoted.
func rowText(s *features.Set) string {
	var b strings.Builder
	for i := 0; i < s.Len(); i++ {
		f := s.At(i)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(f.Name)
		b.WriteByte('=')
		switch f.Kind {
		case features.Number:
			b.WriteString(strconv.FormatFloat(f.Num, 'f', -1, 64))
		case features.String:
			b.WriteString(strconv.Quote(string(f.Str)))
		default:
			b.WriteString("?" + f.TypeName())
		}
	}
	return b.String()
}

func rowsText(rows []features.Set) []string {
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = rowText(&rows[i])
	}
	return out
}

// decode decodes body with the test schema and lim into a fresh request.
func decode(t testing.TB, body string, lim oip.Limits) (*oip.Request, []features.Set, error) {
	t.Helper()
	r := oip.AcquireRequest()
	t.Cleanup(func() { oip.ReleaseRequest(r) })
	var rows []features.Set
	err := r.Decode([]byte(body), nil, testSchema, lim, &rows)
	return r, rows, err
}
