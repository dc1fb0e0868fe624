package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Search is a hyperparameter search: the trials it ran, in order, and the
// one it chose.
type Search struct {
	// Strategy is SearchGrid or SearchRandom.
	Strategy string
	// Budget is the time the search was allowed (Config.SearchBudget).
	Budget time.Duration
	// Planned is how many trials the search meant to run: the grid's size
	// or Config.SearchTrials, whichever is smaller.
	Planned int
	// Trials ran in this order, the first len(Trials) of the plan.
	Trials []Trial
	// Chosen is the index in Trials of the trial with the lowest
	// validation loss (the first of equals): the model Train returns.
	Chosen int
	// Stopped is set when the budget ran out before the plan did.
	Stopped bool
}

// Trial is one setting a search tried and how it did.
type Trial struct {
	LearningRate float64
	L2           float64
	Hidden       []int // nil for a logistic regression
	// Epochs run, and the epoch whose weights were kept (the last, for a
	// logistic regression).
	Epochs, BestEpoch int
	// Task is the model's task (Config.Task); "" in a Trial made by hand
	// reads as binary.
	Task string
	// ValidationLoss is what the search compares, the trial's validation
	// loss — log loss for a classifier, mean squared error for a
	// regression —, and ValidationMetric the task's headline metric (auc,
	// accuracy, r2: measures), both of the trial's float32 model.
	ValidationLoss, ValidationMetric float64
	// ValidationLogLoss and ValidationAUC of the trial's float32 model: a
	// classifier's log loss and a binary classifier's (or two-class
	// one's) AUC, NaN for the tasks that have none.
	ValidationLogLoss, ValidationAUC float64
	Elapsed                          time.Duration
}

// The grids, in the order a grid search tries them.
var (
	gridLogRegLR  = []float64{0.01, 0.05, 0.2}
	gridLogRegL2  = []float64{0, 1e-4, 1e-3, 1e-2}
	gridMLPHidden = [][]int{{16}, {32, 16}}
	gridMLPL2     = []float64{0, 1e-3}
	gridMLPLR     = []float64{0.003, 0.01, 0.03}
)

// Random search ranges: learning rate and L2 are log-uniform, hidden
// layouts uniform over the list; a quarter of the trials have no L2.
var randomHidden = [][]int{{8}, {16}, {32}, {64}, {16, 8}, {32, 16}, {64, 32}}

const (
	randomLogRegLR = 0.003 // to 0.3
	randomMLPLR    = 0.001 // to 0.1
	randomLRSpan   = 100
	randomL2Min    = 1e-6 // to 1e-2
	randomL2Span   = 1e4
)

// plan returns the settings a search of cfg tries, in order.
func plan(cfg Config) []Trial {
	var trials []Trial
	switch {
	case cfg.Search == SearchGrid && cfg.Algorithm == MLP:
		for _, h := range gridMLPHidden {
			for _, l2 := range gridMLPL2 {
				for _, lr := range gridMLPLR {
					trials = append(trials, Trial{LearningRate: lr, L2: l2, Hidden: slices.Clone(h)})
				}
			}
		}
	case cfg.Search == SearchGrid:
		for _, l2 := range gridLogRegL2 {
			for _, lr := range gridLogRegLR {
				trials = append(trials, Trial{LearningRate: lr, L2: l2})
			}
		}
	default:
		rng := rand.New(rand.NewPCG(cfg.Seed, searchStream))
		logUniform := func(lo, span float64) float64 { return round2(lo * math.Pow(span, rng.Float64())) }
		for range cfg.SearchTrials {
			t := Trial{}
			if cfg.Algorithm == MLP {
				t.LearningRate = logUniform(randomMLPLR, randomLRSpan)
				t.Hidden = slices.Clone(randomHidden[rng.IntN(len(randomHidden))])
			} else {
				t.LearningRate = logUniform(randomLogRegLR, randomLRSpan)
			}
			if rng.IntN(4) > 0 {
				t.L2 = logUniform(randomL2Min, randomL2Span)
			}
			trials = append(trials, t)
		}
	}
	return trials[:min(len(trials), cfg.SearchTrials)]
}

// round2 rounds v to two significant digits, so the settings read well in
// the lineage and the summary.
func round2(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 2, 64), 64)
	return f
}

// apply returns cfg with the trial's settings.
func (t *Trial) apply(cfg Config) Config {
	cfg.LearningRate = t.LearningRate
	cfg.L2 = Float(t.L2)
	if cfg.Algorithm == MLP {
		cfg.Hidden = slices.Clone(t.Hidden)
	}
	return cfg
}

// search fits every planned trial in order until the budget runs out, and
// returns the one with the lowest validation loss. The first trial
// always completes; a later one the budget interrupts is discarded, so the
// budget decides how many trials ran, never what any of them computed.
func (rn *run) search(cfg Config) (*fitted, *Search) {
	trials := plan(cfg)
	s := &Search{Strategy: cfg.Search, Budget: cfg.SearchBudget, Planned: len(trials)}
	deadline := rn.now().Add(cfg.SearchBudget)
	var best *fitted
	for i := range trials {
		mon := monitor{trial: i + 1, trials: len(trials)}
		if i > 0 {
			if rn.expired(monitor{deadline: deadline}) {
				s.Stopped = true
				break
			}
			mon.deadline = deadline
		}
		began := rn.now()
		f, err := rn.fit(trials[i].apply(cfg), mon)
		if err != nil { // errBudget, the only way a fit fails
			s.Stopped = true
			break
		}
		t := trials[i]
		t.Epochs, t.BestEpoch = f.epochs, f.bestEpoch
		t.Task, t.ValidationLoss, t.ValidationMetric = cfg.Task, f.valLoss, f.valMetric
		t.ValidationLogLoss, t.ValidationAUC = f.valLogLoss, f.valAUC
		t.Elapsed = rn.now().Sub(began)
		s.Trials = append(s.Trials, t)
		if best == nil || f.valLoss < best.valLoss {
			best, s.Chosen = f, i
		}
	}
	return best, s
}
