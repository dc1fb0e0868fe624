package trainer

import (
	"cmp"
	"math"
	"slices"
)

// evaluate scores the model's float32 weights — those ONNX serves — on rows.
func (m *Model) evaluate(x [][]float32, y []float64, rows []int) map[string]float64 {
	p := make([]float64, len(rows))
	labels := make([]float64, len(rows))
	for i, r := range rows {
		p[i] = m.PredictRow(x[r])
		labels[i] = y[r]
	}
	return map[string]float64{
		"auc":      AUC(labels, p),
		"accuracy": Accuracy(labels, p, 0.5),
		"log_loss": LogLoss(labels, p),
		"brier":    Brier(labels, p),
	}
}

// AUC is the area under the ROC curve of scores p for 0/1 labels y: the
// probability that a random positive scores above a random negative, ties
// counting half (the rank-sum statistic with average ranks). It is NaN when
// y holds only one class.
func AUC(y, p []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	var rankSum, pos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 … j, averaged
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := float64(len(y)) - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Accuracy is the fraction of rows whose prediction p >= threshold matches
// the 0/1 label.
func Accuracy(y, p []float64, threshold float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	correct := 0
	for i := range y {
		if (p[i] >= threshold) == (y[i] == 1) {
			correct++
		}
	}
	return float64(correct) / float64(len(y))
}

// LogLoss is the mean binary cross-entropy, with p clipped to
// [1e-15, 1-1e-15].
func LogLoss(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	loss := 0.0
	for i := range y {
		loss += logLoss1(y[i], p[i])
	}
	return loss / float64(len(y))
}

func logLoss1(y, p float64) float64 {
	p = math.Min(math.Max(p, 1e-15), 1-1e-15)
	if y == 1 {
		return -math.Log(p)
	}
	return -math.Log(1 - p)
}

// Brier is the mean squared difference between the probability p and the
// 0/1 label: 0 is perfect, 0.25 is what p = 0.5 always scores. It measures
// calibration and sharpness together.
func Brier(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i := range y {
		d := p[i] - y[i]
		sum += d * d
	}
	return sum / float64(len(y))
}
