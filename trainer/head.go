package trainer

import (
	"math"
)

// head is what a task puts on top of a net: the width of its last layer and
// how that layer starts, the activation that turns the layer's values into
// predictions with the loss they are trained on, the validation measures
// early stopping and the search compare, and how the trained layers are
// exported. The nets, the optimiser and the training loop are the same for
// every task; only the head differs.
type head interface {
	// units is the width of the last layer.
	units() int
	// initialBiases are the last layer's starting biases: the best
	// constant prediction, so that training starts from the base rate
	// rather than spending its first epochs finding it.
	initialBiases() []float64
	// lossGrad returns the training loss of a row whose last layer
	// computed z and whose target is y, and writes the loss's gradient
	// with respect to z into dz (len(z) values).
	lossGrad(z []float64, y float64, dz []float64) float64
	// validate returns the loss and headline metric (measures) of the
	// predictions for rows, whose targets are in y and whose last-layer
	// values out gives (a slice out may reuse from call to call).
	validate(rows []int, y []float64, out func(r int) []float64) (loss, metric float64)
	// export returns the trained net's layers as float32, as ONNX holds
	// them.
	export(n *net) []Layer
}

// newHead returns the head of t's task, its starting point learned from
// the train rows.
func newHead(t *target, train []int) head {
	switch t.task {
	case TaskMulticlass:
		return newMulticlassHead(t, train)
	case TaskRegression:
		return newRegressionHead(t, train)
	}
	return &binaryHead{bias: baseLogit(t.y, train)}
}

// baseLogit is the log-odds of the positive rate of the train rows, the
// starting bias of a binary classifier.
func baseLogit(y []float64, train []int) float64 {
	rate := float64(countPositive(y, train)) / float64(len(train))
	return math.Log(rate / (1 - rate))
}

// binaryHead is a binary classifier's: one unit, a sigmoid, the log loss.
// Its arithmetic is the one the trainer had before it learned other tasks,
// operation for operation, so binary models keep their bytes.
type binaryHead struct{ bias float64 }

func (h *binaryHead) units() int               { return 1 }
func (h *binaryHead) initialBiases() []float64 { return []float64{h.bias} }
func (h *binaryHead) export(n *net) []Layer    { return n.export() }

func (h *binaryHead) lossGrad(z []float64, y float64, dz []float64) float64 {
	p := sigmoid(z[0])
	dz[0] = p - y
	return logLoss1(y, p)
}

func (h *binaryHead) validate(rows []int, y []float64, out func(r int) []float64) (loss, auc float64) {
	p := make([]float64, len(rows))
	labels := make([]float64, len(rows))
	for i, r := range rows {
		p[i], labels[i] = sigmoid(out(r)[0]), y[r]
	}
	return LogLoss(labels, p), AUC(labels, p)
}

// multiclassHead is a multi-class classifier's: one unit per class, a
// softmax, the cross-entropy.
type multiclassHead struct {
	// logPriors are the log class frequencies of the train rows,
	// add-one smoothed so that a class seen only in the held-out rows
	// starts finite.
	logPriors []float64
}

func newMulticlassHead(t *target, train []int) *multiclassHead {
	k := len(t.classes)
	counts := make([]float64, k)
	for _, r := range train {
		counts[int(t.y[r])]++
	}
	h := &multiclassHead{logPriors: make([]float64, k)}
	for c, n := range counts {
		h.logPriors[c] = math.Log((n + 1) / (float64(len(train)) + float64(k)))
	}
	return h
}

func (h *multiclassHead) units() int               { return len(h.logPriors) }
func (h *multiclassHead) initialBiases() []float64 { return h.logPriors }
func (h *multiclassHead) export(n *net) []Layer    { return n.export() }

func (h *multiclassHead) lossGrad(z []float64, y float64, dz []float64) float64 {
	// d(-log p_y)/dz_k = p_k - [k == y].
	softmax(dz, z)
	k := int(y)
	loss := crossEntropy1(dz, k)
	dz[k]--
	return loss
}

func (h *multiclassHead) validate(rows []int, y []float64, out func(r int) []float64) (loss, accuracy float64) {
	p := make([]float64, len(h.logPriors))
	correct := 0
	for _, r := range rows {
		softmax(p, out(r))
		k := int(y[r])
		loss += crossEntropy1(p, k)
		if predictedClass(p) == k {
			correct++
		}
	}
	n := float64(len(rows))
	return loss / n, float64(correct) / n
}

// regressionHead is a regression's: one unit, no activation, the squared
// error. The net learns the target standardised with the train rows' mean
// and standard deviation, so that one learning rate suits targets of any
// scale and the output starts at the mean; losses are reported, and the
// exported layers predict, on the target's own scale.
type regressionHead struct{ mean, std float64 }

func newRegressionHead(t *target, train []int) *regressionHead {
	values := make([]float64, len(train))
	for i, r := range train {
		values[i] = t.y[r]
	}
	mean, std := meanStd(values)
	if std == 0 {
		std = 1 // a constant target: nothing to scale
	}
	return &regressionHead{mean: mean, std: std}
}

func (h *regressionHead) units() int               { return 1 }
func (h *regressionHead) initialBiases() []float64 { return []float64{0} }

// export folds the de-standardisation into the last layer, so the float32
// layers, PredictRow and the ONNX file all give the target's own scale.
func (h *regressionHead) export(n *net) []Layer { return n.exportScaled(h.std, h.mean) }

func (h *regressionHead) lossGrad(z []float64, y float64, dz []float64) float64 {
	// The loss is half the squared error on the standardised scale, whose
	// gradient is the error itself; reported as the squared error on the
	// target's scale.
	e := z[0] - (y-h.mean)/h.std
	dz[0] = e
	return e * e * h.std * h.std
}

func (h *regressionHead) validate(rows []int, y []float64, out func(r int) []float64) (mse, r2 float64) {
	want := make([]float64, len(rows))
	got := make([]float64, len(rows))
	for i, r := range rows {
		want[i], got[i] = y[r], out(r)[0]*h.std+h.mean
	}
	return MSE(want, got), R2(want, got)
}

// softmax writes into p the softmax of z (p and z may be the same slice),
// shifted by the largest value so that no exponential overflows.
func softmax(p, z []float64) {
	top := math.Inf(-1)
	for _, v := range z {
		top = max(top, v)
	}
	sum := 0.0
	for k, v := range z {
		p[k] = math.Exp(v - top)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
}

// predictedClass is the index of the largest probability of p, the first
// of equals, as the gateway picks the predicted class.
func predictedClass(p []float64) int {
	best := 0
	for k, v := range p {
		if v > p[best] {
			best = k
		}
	}
	return best
}
