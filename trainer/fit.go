package trainer

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// run holds what every fit of one TrainWith call shares: the encoded rows,
// the targets and the head of their task, the split, and the observer.
type run struct {
	x          [][]float32
	xs         [][]float64 // x in float64, made by rows64 on first use
	y          []float64   // target.y
	head       head
	train, val []int
	opts       Options
	now        func() time.Time
	start      time.Time
	proto      *Model // the signature and encoder every candidate shares
}

// monitor says which search trial a fit is, and until when it may run.
type monitor struct {
	trial, trials int
	deadline      time.Time // zero: no deadline
}

// fitted is one fit's model, without metrics.
type fitted struct {
	model             *Model
	epochs, bestEpoch int
	// valLoss and valMetric are the task's measures (measures) on the
	// validation rows, and valLogLoss and valAUC those of a classifier
	// (NaN where the task has none), all with the model's float32
	// weights, as its metrics will be.
	valLoss, valMetric, valLogLoss, valAUC float64
}

// errBudget stops a search trial that the search budget interrupted.
var errBudget = errors.New("search budget spent")

// fit trains one model with cfg (defaults applied, the task resolved). It
// fails only with errBudget, when mon has a deadline that passes.
func (rn *run) fit(cfg Config, mon monitor) (*fitted, error) {
	m := &Model{Signature: rn.proto.Signature, Config: cfg, encoder: rn.proto.encoder}
	f := &fitted{model: m}
	switch {
	case cfg.Algorithm == MLP:
		n, epochs, best, err := rn.fitMLP(cfg, mon)
		if err != nil {
			return nil, err
		}
		m.Layers = rn.head.export(n)
		f.epochs, f.bestEpoch = epochs, best
	case cfg.Task == TaskBinary:
		// The logistic regression keeps its own loop, older than the
		// heads: its arithmetic (a division by the row count where
		// descend multiplies by its inverse) is what binary models'
		// bytes have always been.
		w, b, err := rn.fitLogReg(cfg, mon)
		if err != nil {
			return nil, err
		}
		m.Weights = make([]float32, len(w))
		for i := range w {
			m.Weights[i] = float32(w[i])
		}
		m.Bias = float32(b)
		f.epochs, f.bestEpoch = cfg.Epochs, cfg.Epochs
	default:
		n, err := rn.fitLinear(cfg, mon)
		if err != nil {
			return nil, err
		}
		m.Layers = rn.head.export(n)
		f.epochs, f.bestEpoch = cfg.Epochs, cfg.Epochs
	}
	val := m.evaluate(rn.x, rn.y, rn.val)
	loss, metric := measures(cfg.Task)
	if loss == "mse" {
		f.valLoss = val["rmse"] * val["rmse"]
	} else {
		f.valLoss = val[loss]
	}
	f.valMetric = val[metric]
	f.valLogLoss, f.valAUC = metricOrNaN(val, "log_loss"), metricOrNaN(val, "auc")
	return f, nil
}

func metricOrNaN(metrics map[string]float64, name string) float64 {
	if v, ok := metrics[name]; ok {
		return v
	}
	return math.NaN()
}

// expired reports whether mon's deadline has passed.
func (rn *run) expired(mon monitor) bool {
	return !mon.deadline.IsZero() && !rn.now().Before(mon.deadline)
}

// report sends e to the progress observer, completed with mon and the time.
func (rn *run) report(mon monitor, e EpochReport) {
	e.Trial, e.Trials = mon.trial, mon.trials
	e.Elapsed = rn.now().Sub(rn.start)
	rn.opts.Progress(e)
}

// validation returns the log loss and AUC of the probabilities predict
// gives the validation rows.
func (rn *run) validation(predict func(row int) float64) (loss, auc float64) {
	p := make([]float64, len(rn.val))
	y := make([]float64, len(rn.val))
	for i, r := range rn.val {
		p[i], y[i] = predict(r), rn.y[r]
	}
	return LogLoss(y, p), AUC(y, p)
}

// rows64 returns the encoded rows in float64, converted once per run.
func (rn *run) rows64() [][]float64 {
	if rn.xs == nil {
		width := len(rn.x[0])
		flat := make([]float64, len(rn.x)*width)
		rn.xs = make([][]float64, len(rn.x))
		for i, row := range rn.x {
			dst := flat[i*width : (i+1)*width : (i+1)*width]
			for j, v := range row {
				dst[j] = float64(v)
			}
			rn.xs[i] = dst
		}
	}
	return rn.xs
}

// baseLogit is the log-odds of the positive rate of the train rows, the
// starting bias of a logistic regression.
func (rn *run) baseLogit() float64 { return baseLogit(rn.y, rn.train) }

// Adam's constants (Kingma and Ba's defaults).
const beta1, beta2, adamEps = 0.9, 0.999, 1e-8

// fitLogReg fits a binary classifier's logistic regression: it runs
// full-batch Adam on the train rows with L2 decay for cfg.Epochs epochs and
// returns the final weights: the problem is convex, so it is trained to
// convergence.
func (rn *run) fitLogReg(cfg Config, mon monitor) (w []float64, b float64, err error) {
	x, y, train := rn.x, rn.y, rn.train
	width := len(x[0])
	w = make([]float64, width)
	b = rn.baseLogit()
	l2 := cfg.l2()
	progress := rn.opts.Progress != nil
	bestLoss := math.Inf(1)

	gw := make([]float64, width)
	mw, vw := make([]float64, width), make([]float64, width)
	var mb, vb float64
	n := float64(len(train))
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if rn.expired(mon) {
			return nil, 0, errBudget
		}
		clear(gw)
		gb, loss := 0.0, 0.0
		for _, r := range train {
			xi := x[r]
			z := b
			for j, v := range xi {
				z += w[j] * float64(v)
			}
			p := sigmoid(z)
			if progress {
				loss += logLoss1(y[r], p)
			}
			e := p - y[r]
			gb += e
			for j, v := range xi {
				gw[j] += e * float64(v)
			}
		}
		c1 := 1 - math.Pow(beta1, float64(epoch))
		c2 := 1 - math.Pow(beta2, float64(epoch))
		for j := range w {
			g := gw[j]/n + l2*w[j]
			mw[j] = beta1*mw[j] + (1-beta1)*g
			vw[j] = beta2*vw[j] + (1-beta2)*g*g
			w[j] -= cfg.LearningRate * (mw[j] / c1) / (math.Sqrt(vw[j]/c2) + adamEps)
		}
		g := gb / n
		mb = beta1*mb + (1-beta1)*g
		vb = beta2*vb + (1-beta2)*g*g
		b -= cfg.LearningRate * (mb / c1) / (math.Sqrt(vb/c2) + adamEps)

		if progress {
			vl, va := rn.validation(func(r int) float64 {
				z := b
				for j, v := range x[r] {
					z += w[j] * float64(v)
				}
				return sigmoid(z)
			})
			best := vl < bestLoss
			if best {
				bestLoss = vl
			}
			rn.report(mon, EpochReport{
				Epoch: epoch, MaxEpochs: cfg.Epochs,
				TrainLoss: loss / n, ValidationLoss: vl, ValidationAUC: va, Metric: "auc", ValidationMetric: va,
				Best: best, Last: epoch == cfg.Epochs,
			})
		}
	}
	return w, b, nil
}

// fitLinear fits the linear model of a multi-class classifier (a softmax
// regression) or of a regression: a net without hidden layers, its weights
// zero and its biases the head's, trained like the logistic regression by
// full-batch Adam for cfg.Epochs epochs — convex, so to convergence.
func (rn *run) fitLinear(cfg Config, mon monitor) (*net, error) {
	n := newNet([]int{len(rn.x[0]), rn.head.units()})
	copy(n.biases(n.params, 0), rn.head.initialBiases())
	if _, _, err := rn.descend(cfg, mon, n, descent{batchSize: len(rn.train)}); err != nil {
		return nil, err
	}
	return n, nil
}

// descent says how descend walks the train rows.
type descent struct {
	// batchSize is the rows per Adam step; len(train) for full batches.
	batchSize int
	// shuffle reorders the train rows before every epoch; nil keeps them
	// in split order.
	shuffle *rand.Rand
	// patience, when positive, stops training after that many epochs
	// without a lower validation loss and restores the best epoch's
	// weights; 0 trains every epoch and keeps the last weights.
	patience int
}

// descend trains n's parameters on the train rows with Adam and L2 decay
// on the weights, the run's head giving the loss, for at most cfg.Epochs
// epochs as d says, and returns the epochs run and the epoch whose weights
// n holds. The validation rows are measured after every epoch when early
// stopping or the progress observer needs them.
func (rn *run) descend(cfg Config, mon monitor, n *net, d descent) (epochs, bestEpoch int, err error) {
	xs, y, h := rn.rows64(), rn.y, rn.head
	size := len(n.params)
	grad, mom, vel := make([]float64, size), make([]float64, size), make([]float64, size)
	decay := n.decayMask()
	l2 := cfg.l2()
	acts, deltas := n.buffers()
	dz := deltas[n.layers()-1]
	order := slices.Clone(rn.train)
	var best []float64
	if d.patience > 0 {
		best = slices.Clone(n.params)
	}
	validate := d.patience > 0 || rn.opts.Progress != nil
	_, metric := measures(cfg.Task)
	bestLoss := math.Inf(1)
	step := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if rn.expired(mon) {
			return 0, 0, errBudget
		}
		if d.shuffle != nil {
			d.shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		loss := 0.0
		for lo := 0; lo < len(order); lo += d.batchSize {
			batch := order[lo:min(lo+d.batchSize, len(order))]
			clear(grad)
			for _, r := range batch {
				loss += h.lossGrad(n.pass(n.params, xs[r], acts), y[r], dz)
				n.backprop(n.params, grad, acts, deltas)
			}
			step++
			c1 := 1 - math.Pow(beta1, float64(step))
			c2 := 1 - math.Pow(beta2, float64(step))
			inv := 1 / float64(len(batch))
			for k, w := range n.params {
				g := grad[k]*inv + l2*decay[k]*w
				mom[k] = beta1*mom[k] + (1-beta1)*g
				vel[k] = beta2*vel[k] + (1-beta2)*g*g
				n.params[k] = w - cfg.LearningRate*(mom[k]/c1)/(math.Sqrt(vel[k]/c2)+adamEps)
			}
		}
		epochs++
		if !validate {
			continue
		}
		vl, vm := h.validate(rn.val, y, func(r int) []float64 { return n.pass(n.params, xs[r], acts) })
		improved := vl < bestLoss // false for NaN: a diverged epoch never wins
		if improved {
			bestLoss, bestEpoch = vl, epoch
			if best != nil {
				copy(best, n.params)
			}
		}
		stop := d.patience > 0 && epoch-bestEpoch >= d.patience
		if rn.opts.Progress != nil {
			e := EpochReport{
				Epoch: epoch, MaxEpochs: cfg.Epochs,
				TrainLoss: loss / float64(len(order)), ValidationLoss: vl, ValidationAUC: math.NaN(),
				Metric: metric, ValidationMetric: vm,
				Best: improved, Last: stop || epoch == cfg.Epochs,
			}
			if metric == "auc" {
				e.ValidationAUC = vm
			}
			rn.report(mon, e)
		}
		if stop {
			break
		}
	}
	if best == nil {
		return epochs, epochs, nil
	}
	copy(n.params, best)
	return epochs, bestEpoch, nil
}
