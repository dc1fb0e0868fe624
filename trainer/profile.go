package trainer

import (
	"math"
	"strconv"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
)

// referenceProfile returns the drift reference profile of the given rows of
// d (the train split): per signature feature, the raw values as a request
// carries them — not the standardised, imputed or one-hot columns the model
// sees, because the gateway's drift monitor observes requests before they
// are encoded — and the model's score on each row (PredictRow: a
// classifier's probability, a regression's value, what the gateway
// observes of its answers), from x, the rows Encode made of d. Columns of
// d that are not features (ids, the target) are left out, so the profile
// describes exactly what the gateway watches.
// It depends only on the data, the rows and the model, so the same training
// gives the same profile bytes.
func (m *Model) referenceProfile(d *Dataset, x [][]float32, rows []int) *drift.Profile {
	numeric := make(map[string][]float64)
	categorical := make(map[string][]string)
	for _, f := range m.Signature.Features {
		c := d.Column(f.Name)
		if f.Type == registry.Numeric {
			numeric[f.Name] = rawNumbers(c, rows)
		} else {
			categorical[f.Name] = rawStrings(c, rows)
		}
	}
	scores := make([]float64, len(rows))
	for i, r := range rows {
		scores[i] = m.PredictRow(x[r])
	}
	return drift.BuildProfile(numeric, categorical, scores, drift.DefaultBins)
}

// rawNumbers returns the values of a numeric feature in rows of c, NaN
// where missing. It reads a column the way Encode does: an absent column is
// missing in every row, and a categorical column's cells are parsed (Encode
// has already refused any that do not parse).
func rawNumbers(c *Column, rows []int) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		switch {
		case c == nil || c.Missing(r):
			out[i] = math.NaN()
		case c.Kind == Numeric:
			out[i] = c.Numbers[r]
		default:
			v, err := strconv.ParseFloat(c.Strings[r], 64)
			if err != nil {
				v = math.NaN()
			}
			out[i] = v
		}
	}
	return out
}

// rawStrings returns the values of a categorical feature in rows of c, ""
// where missing. Like Encode, it formats a numeric column's cells in the
// shortest form that reads back exactly, the category Encode looks up.
func rawStrings(c *Column, rows []int) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		switch {
		case c == nil || c.Missing(r):
		case c.Kind == Categorical:
			out[i] = c.Strings[r]
		default:
			out[i] = strconv.FormatFloat(c.Numbers[r], 'f', -1, 64)
		}
	}
	return out
}
