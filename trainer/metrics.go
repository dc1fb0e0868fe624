package trainer

import (
	"cmp"
	"math"
	"slices"
)

// evaluate scores the model's float32 weights — those ONNX serves — on
// rows, with the metrics of its task.
func (m *Model) evaluate(x [][]float32, y []float64, rows []int) map[string]float64 {
	switch m.Task() {
	case TaskMulticlass:
		return m.evaluateClasses(x, y, rows)
	case TaskRegression:
		return m.evaluateValues(x, y, rows)
	}
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

// evaluateClasses scores a multi-class classifier. With two classes it adds
// the AUC of the second class's probability, which the registry's promotion
// gate compares for a model whose signature makes it a binary classifier.
func (m *Model) evaluateClasses(x [][]float32, y []float64, rows []int) map[string]float64 {
	p := make([][]float64, len(rows))
	labels := make([]int, len(rows))
	for i, r := range rows {
		p[i], labels[i] = m.PredictRowK(x[r]), int(y[r])
	}
	metrics := map[string]float64{
		"accuracy": ClassAccuracy(labels, p),
		"log_loss": CrossEntropy(labels, p),
		"macro_f1": MacroF1(labels, p),
		"brier":    MulticlassBrier(labels, p),
	}
	if len(m.Classes()) == 2 {
		positive, second := make([]float64, len(rows)), make([]float64, len(rows))
		for i := range rows {
			positive[i], second[i] = float64(labels[i]), p[i][1]
		}
		metrics["auc"] = AUC(positive, second)
	}
	return metrics
}

// evaluateValues scores a regression, on the target's own scale.
func (m *Model) evaluateValues(x [][]float32, y []float64, rows []int) map[string]float64 {
	want, got := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		want[i], got[i] = y[r], m.PredictRow(x[r])
	}
	return map[string]float64{"rmse": RMSE(want, got), "mae": MAE(want, got), "r2": R2(want, got)}
}

// ClassAccuracy is the fraction of rows whose most probable class (the
// first of equals) is the label y, a class index into each row of p.
func ClassAccuracy(y []int, p [][]float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	correct := 0
	for i := range y {
		if predictedClass(p[i]) == y[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(y))
}

// CrossEntropy is the mean multi-class log loss, -log p[y], with p clipped
// to [1e-15, 1-1e-15] as LogLoss clips it.
func CrossEntropy(y []int, p [][]float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	loss := 0.0
	for i := range y {
		loss += crossEntropy1(p[i], y[i])
	}
	return loss / float64(len(y))
}

func crossEntropy1(p []float64, y int) float64 {
	return -math.Log(math.Min(math.Max(p[y], 1e-15), 1-1e-15))
}

// MacroF1 is the unweighted mean, over the classes that are the label or
// the prediction of some row, of each class's F1 score 2·TP / (2·TP + FP +
// FN), the prediction being the most probable class: every class counts
// the same, however rare, so a model that ignores a small class scores
// low even when its accuracy is high.
func MacroF1(y []int, p [][]float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	k := len(p[0])
	tp, fp, fn := make([]int, k), make([]int, k), make([]int, k)
	for i := range y {
		got := predictedClass(p[i])
		if got == y[i] {
			tp[got]++
		} else {
			fp[got]++
			fn[y[i]]++
		}
	}
	sum, classes := 0.0, 0
	for c := range k {
		if d := 2*tp[c] + fp[c] + fn[c]; d > 0 {
			sum += 2 * float64(tp[c]) / float64(d)
			classes++
		}
	}
	return sum / float64(classes)
}

// MulticlassBrier is the mean over rows of the squared distance between
// the probabilities p and the one-hot label: sum_k (p_k - [k == y])². 0 is
// perfect, 2 the worst; predicting the uniform 1/K always scores 1 - 1/K.
func MulticlassBrier(y []int, p [][]float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i := range y {
		for k, pk := range p[i] {
			d := pk
			if k == y[i] {
				d--
			}
			sum += d * d
		}
	}
	return sum / float64(len(y))
}

// MSE is the mean squared difference between the values v and the targets
// y.
func MSE(y, v []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i := range y {
		d := v[i] - y[i]
		sum += d * d
	}
	return sum / float64(len(y))
}

// RMSE is the root of MSE, in the target's unit.
func RMSE(y, v []float64) float64 { return math.Sqrt(MSE(y, v)) }

// MAE is the mean absolute difference between the values v and the targets
// y, in the target's unit.
func MAE(y, v []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i := range y {
		sum += math.Abs(v[i] - y[i])
	}
	return sum / float64(len(y))
}

// R2 is the coefficient of determination, 1 - SSE/SST: the share of the
// targets' variance around their mean that the values v explain (1 is
// perfect, 0 is what predicting the mean scores, and it is negative for
// worse). Targets without variance score 1 when v matches them exactly,
// else 0 — finite, as the registry wants its metrics (scikit-learn's
// force_finite).
func R2(y, v []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	mean := 0.0
	for _, t := range y {
		mean += t
	}
	mean /= float64(len(y))
	var sse, sst float64
	for i, t := range y {
		sse += (v[i] - t) * (v[i] - t)
		sst += (t - mean) * (t - mean)
	}
	switch {
	case sst > 0:
		return 1 - sse/sst
	case sse == 0:
		return 1
	}
	return 0
}
