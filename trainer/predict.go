package trainer

import (
	"fmt"
	"math"
	"strconv"

	"github.com/infergate/infergate/registry"
)

// Encode encodes every row of d into an input row, through the model's
// registry.Encoder. Columns are matched by name; columns the signature does
// not know (ids, the target) are skipped, absent or missing optional
// features are imputed, and an absent required feature is an error naming
// the row.
func (m *Model) Encode(d *Dataset) ([][]float32, error) {
	enc, err := m.Encoder()
	if err != nil {
		return nil, err
	}
	type binding struct {
		feature int
		col     *Column
	}
	var bound []binding
	for _, c := range d.Columns {
		if i, ok := enc.Lookup([]byte(c.Name)); ok {
			bound = append(bound, binding{i, c})
		}
	}
	out := make([][]float32, d.Rows())
	flat := make([]float32, d.Rows()*enc.Width())
	row := enc.NewRow()
	var buf []byte
	for r := range d.Rows() {
		row.Reset()
		for _, b := range bound {
			if b.col.Missing(r) {
				continue
			}
			f := enc.Feature(b.feature)
			switch {
			case f.Type == registry.Categorical && b.col.Kind == Categorical:
				buf = append(buf[:0], b.col.Strings[r]...)
				row.SetCategory(b.feature, buf)
			case f.Type == registry.Categorical:
				// A categorical feature whose values all look like numbers.
				buf = strconv.AppendFloat(buf[:0], b.col.Numbers[r], 'f', -1, 64)
				row.SetCategory(b.feature, buf)
			case b.col.Kind == Numeric:
				row.SetNumber(b.feature, b.col.Numbers[r])
			default:
				v, err := strconv.ParseFloat(b.col.Strings[r], 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("row %d, column %q: %q is not a number, and the model takes it as numeric", r+1, b.col.Name, b.col.Strings[r])
				}
				row.SetNumber(b.feature, v)
			}
		}
		values, err := row.Finish()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r+1, err)
		}
		dst := flat[r*enc.Width() : (r+1)*enc.Width() : (r+1)*enc.Width()]
		copy(dst, values)
		out[r] = dst
	}
	return out, nil
}

// Predict returns the score of every row of d (Encode, PredictRow).
func (m *Model) Predict(d *Dataset) ([]float64, error) {
	x, err := m.Encode(d)
	if err != nil {
		return nil, err
	}
	p := make([]float64, len(x))
	for i := range x {
		p[i] = m.PredictRow(x[i])
	}
	return p, nil
}

// PredictRow returns the score of an encoded row, the one number the
// gateway records of an answer: a binary classifier's probability, a
// multi-class classifier's probability of the class it predicts (of the
// second class, as of a binary classifier's positive one, when there are
// two), a regression's value. It is computed in float64 from the float32
// weights the ONNX file holds; ONNX Runtime agrees within float32 rounding.
// It panics when the row's width is not the model's.
func (m *Model) PredictRow(row []float32) float64 {
	switch m.Task() {
	case TaskMulticlass:
		p := m.PredictRowK(row)
		if len(p) == 2 {
			return p[1]
		}
		return p[predictedClass(p)]
	case TaskRegression:
		return m.outputs(row)[0]
	}
	if len(m.Layers) > 0 {
		return m.predictMLP(row)
	}
	if len(row) != len(m.Weights) {
		panic(fmt.Sprintf("BUG: trainer: PredictRow: row has %d columns, the model takes %d", len(row), len(m.Weights)))
	}
	z := float64(m.Bias)
	for i, w := range m.Weights {
		z += float64(w) * float64(row[i])
	}
	return sigmoid(z)
}

// PredictRowK returns the model's output row for an encoded row, what its
// ONNX file computes: a binary classifier's one probability, a multi-class
// classifier's probability of each class (in the order of Classes), a
// regression's one value. Like PredictRow, it is computed in float64 from
// the float32 weights and panics on a row of the wrong width.
func (m *Model) PredictRowK(row []float32) []float64 {
	switch m.Task() {
	case TaskMulticlass:
		z := m.outputs(row)
		softmax(z, z)
		return z
	case TaskRegression:
		return m.outputs(row)
	}
	return []float64{m.PredictRow(row)}
}

// Task is what the model does: TaskBinary, TaskMulticlass or
// TaskRegression (Config.Task; binary for a Model built by hand without
// one, as every model was before tasks existed).
func (m *Model) Task() string {
	if m.Config.Task == TaskAuto {
		return TaskBinary
	}
	return m.Config.Task
}

// Classes are a multi-class classifier's class names in the order of its
// probabilities (its output's labels); nil for the other tasks.
func (m *Model) Classes() []string {
	if m.Task() != TaskMulticlass || len(m.Signature.Outputs) == 0 {
		return nil
	}
	return m.Signature.Outputs[0].Labels
}
