package trainer

import (
	"errors"
	"math"
	"time"
)

// run holds what every fit of one TrainWith call shares: the encoded rows,
// the split, and the observer.
type run struct {
	x          [][]float32
	xs         [][]float64 // x in float64, made by rows64 on first use
	y          []float64
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
	// valLoss and valAUC are measured on the validation rows with the
	// model's float32 weights, as its metrics will be.
	valLoss, valAUC float64
}

// errBudget stops a search trial that the search budget interrupted.
var errBudget = errors.New("search budget spent")

// fit trains one model with cfg (defaults applied). It fails only with
// errBudget, when mon has a deadline that passes.
func (rn *run) fit(cfg Config, mon monitor) (*fitted, error) {
	m := &Model{Signature: rn.proto.Signature, Config: cfg, encoder: rn.proto.encoder}
	f := &fitted{model: m}
	if cfg.Algorithm == MLP {
		n, epochs, best, err := rn.fitMLP(cfg, mon)
		if err != nil {
			return nil, err
		}
		m.Layers = n.export()
		f.epochs, f.bestEpoch = epochs, best
	} else {
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
	}
	val := m.evaluate(rn.x, rn.y, rn.val)
	f.valLoss, f.valAUC = val["log_loss"], val["auc"]
	return f, nil
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
// starting bias of both models.
func (rn *run) baseLogit() float64 {
	rate := float64(countPositive(rn.y, rn.train)) / float64(len(rn.train))
	return math.Log(rate / (1 - rate))
}

// Adam's constants (Kingma and Ba's defaults).
const beta1, beta2, adamEps = 0.9, 0.999, 1e-8

// fitLogReg runs full-batch Adam on the train rows with L2 decay for
// cfg.Epochs epochs and returns the final weights: the problem is convex,
// so it is trained to convergence.
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
				TrainLoss: loss / n, ValidationLoss: vl, ValidationAUC: va,
				Best: best, Last: epoch == cfg.Epochs,
			})
		}
	}
	return w, b, nil
}
