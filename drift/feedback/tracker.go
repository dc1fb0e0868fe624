package feedback

import (
	"math"
	"sync/atomic"
)

// Bins is the number of bins of a tracker's probability histograms, from
// which the AUC is computed. They are equal in log-odds, ln(p/(1−p)), over
// [−LogitRange, LogitRange] (the outer two reach on to 0 and 1): 1/128 of a
// unit of log-odds each, so a bin is about 0.8% of p wide near 0 (and of
// 1−p near 1), and 0.002 wide at p = 0.5.
const Bins = 4096

// LogitRange bounds the log-odds the histogram bins resolve: probabilities
// below 1/(1+e¹⁶) ≈ 1.1e-7 share the first bin, and those as close to 1
// the last.
const LogitRange = 16

// epsilon clips probabilities to [epsilon, 1−epsilon] in the log loss, as
// scikit-learn does, so that a confident mistake costs about 34.5, not +Inf.
const epsilon = 1e-15

// edges[k] is the lowest probability of bin k+1: the bin of p is the number
// of edges at or below p.
var edges = func() []float64 {
	e := make([]float64, Bins-1)
	for k := range e {
		z := -LogitRange + 2*LogitRange*float64(k+1)/Bins
		e[k] = 1 / (1 + math.Exp(-z))
	}
	return e
}()

// binOf returns the histogram bin of probability p: bins are ordered as
// their probabilities, whatever rounding does, since they are found by
// comparison with the edges.
func binOf(p float64) int {
	lo, hi := 0, len(edges) // edges[:lo] ≤ p < edges[hi:]
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] <= p {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Tracker holds the statistics of the labelled predictions of one model
// version of a route. Its counters are atomics: Label adds to them and
// Report reads them without a lock. Trackers are made by Store.Tracker.
type Tracker struct {
	route, version string
	threshold      float64
	store          *Store
	num            uint32 // index in store.trackers
	kind           Kind
	classes        []string       // Classes
	classIndex     map[string]int // class → its index in classes

	// Value: sums of |prediction − label|, of its square, and of
	// prediction − label.
	absErr, sqErr, err atomic.Uint64

	labels    atomic.Uint64
	positives atomic.Uint64
	predicted atomic.Uint64 // probability ≥ threshold
	correct   atomic.Uint64 // predicted as labelled
	logLoss   atomic.Uint64 // float64 bits: sum of the log loss
	brier     atomic.Uint64 // float64 bits: sum of (p − y)²
	pos, neg  [Bins]atomic.Uint64
}

// Route returns the tracker's route.
func (t *Tracker) Route() string { return t.route }

// Version returns the tracker's model version.
func (t *Tracker) Version() string { return t.version }

// add counts a prediction p (a probability, a class's index or a value, as
// the tracker's kind says) labelled y (the positive class as 1 or 0, a
// class's index, a value) and reports whether the prediction was right
// (for a value: whether it was the label exactly).
func (t *Tracker) add(p, y float64) bool {
	switch t.kind {
	case Classes:
		t.labels.Add(1)
		right := p == y
		if right {
			t.correct.Add(1)
		}
		return right
	case Value:
		t.labels.Add(1)
		d := p - y
		addFloat(&t.absErr, math.Abs(d))
		addFloat(&t.sqErr, d*d)
		addFloat(&t.err, d)
		return d == 0
	}
	predicted := t.addBinary(p, y == 1)
	return predicted == (y == 1)
}

// addBinary counts a labelled prediction of probability p, and reports
// whether it predicted the positive class. labels is counted first and read
// last by Report, so that a report never counts more positives or correct
// predictions than labels.
func (t *Tracker) addBinary(p float64, positive bool) bool {
	t.labels.Add(1)
	predicted := p >= t.threshold
	if predicted {
		t.predicted.Add(1)
	}
	if predicted == positive {
		t.correct.Add(1)
	}
	q := min(max(p, epsilon), 1-epsilon)
	y := 0.0
	if positive {
		t.positives.Add(1)
		y = 1
		addFloat(&t.logLoss, -math.Log(q))
		t.pos[binOf(p)].Add(1)
	} else {
		addFloat(&t.logLoss, -math.Log1p(-q))
		t.neg[binOf(p)].Add(1)
	}
	addFloat(&t.brier, (p-y)*(p-y))
	return predicted
}

// addFloat adds x to the float64 whose bits a holds.
func addFloat(a *atomic.Uint64, x float64) {
	for {
		old := a.Load()
		if a.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+x)) {
			return
		}
	}
}

// Report is how well a model version's predictions matched their labels,
// over every label since its tracker was made. The means and rates are 0
// while Labels is 0.
type Report struct {
	Route   string `json:"route"`
	Version string `json:"version"`
	// Kind is what the version predicts: binary, classes or value. The
	// figures below are a binary classifier's but for Accuracy (a
	// classifier's: the share of predicted classes that were the label's)
	// and MAE, RMSE and Bias (a regression's).
	Kind string `json:"kind"`
	// Labels is the number of labelled predictions; Positives of them had
	// the positive label.
	Labels    uint64 `json:"labels"`
	Positives uint64 `json:"positives"`
	// Accuracy is the share of predictions on the side of Threshold their
	// label is on.
	Accuracy float64 `json:"accuracy"`
	// AUC is the area under the ROC curve: the probability that a positive
	// has a higher probability than a negative, ties counting half; null
	// while either class has no label. It is computed from histograms of
	// the probability, and is within AUCErrorBound of the exact value.
	AUC           *float64 `json:"auc"`
	AUCErrorBound *float64 `json:"auc_error_bound"`
	// LogLoss is the mean of −ln(p) over the positives and −ln(1−p) over
	// the negatives, p clipped to [1e-15, 1−1e-15].
	LogLoss float64 `json:"log_loss"`
	// Brier is the mean of (p − y)², y 1 for a positive and 0 for a
	// negative.
	Brier float64 `json:"brier"`
	// PositiveRate is Positives/Labels; PredictedPositiveRate the share of
	// labelled predictions at or above Threshold.
	PositiveRate          float64 `json:"positive_rate"`
	PredictedPositiveRate float64 `json:"predicted_positive_rate"`
	Threshold             float64 `json:"threshold"`
	// MAE is the mean |prediction − label|, RMSE the root of the mean of
	// its square, Bias the mean of prediction − label: a regression's,
	// nil otherwise or while Labels is 0.
	MAE  *float64 `json:"mae,omitempty"`
	RMSE *float64 `json:"rmse,omitempty"`
	Bias *float64 `json:"bias,omitempty"`
}

// Report returns the tracker's statistics. It reads every counter once
// (2·Bins histogram bins), without a lock: labels that arrive meanwhile may
// be left out, or counted in some figures and not others.
func (t *Tracker) Report() Report {
	r := Report{Route: t.route, Version: t.version, Threshold: t.threshold, Kind: t.kind.String()}
	if t.kind != Binary {
		r.Labels, r.Threshold = t.labels.Load(), 0
		if r.Labels == 0 {
			return r
		}
		n := float64(r.Labels)
		if t.kind == Classes {
			r.Accuracy = float64(t.correct.Load()) / n
			return r
		}
		mae, rmse := math.Float64frombits(t.absErr.Load())/n, math.Sqrt(math.Float64frombits(t.sqErr.Load())/n)
		bias := math.Float64frombits(t.err.Load()) / n
		r.MAE, r.RMSE, r.Bias = &mae, &rmse, &bias
		return r
	}
	// Mann–Whitney over the bins: a positive outranks the negatives of
	// lower bins and ties with half of its own bin's.
	var np, nn, wins, ties float64
	for k := range Bins {
		p, n := float64(t.pos[k].Load()), float64(t.neg[k].Load())
		wins += p * nn
		ties += p * n
		np += p
		nn += n
	}
	if np > 0 && nn > 0 {
		auc := (wins + ties/2) / (np * nn)
		bound := ties / 2 / (np * nn)
		r.AUC, r.AUCErrorBound = &auc, &bound
	}
	r.Positives = t.positives.Load()
	predicted, correct := t.predicted.Load(), t.correct.Load()
	logLoss := math.Float64frombits(t.logLoss.Load())
	brier := math.Float64frombits(t.brier.Load())
	r.Labels = t.labels.Load()
	if r.Labels > 0 {
		n := float64(r.Labels)
		r.Accuracy = float64(correct) / n
		r.LogLoss = logLoss / n
		r.Brier = brier / n
		r.PositiveRate = float64(r.Positives) / n
		r.PredictedPositiveRate = float64(predicted) / n
	}
	return r
}
