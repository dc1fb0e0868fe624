package feedback

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is what a tracker's predictions are, and so how their labels are
// scored.
type Kind uint8

// The kinds of predictions.
const (
	// Binary predictions are a probability of the positive class; a label
	// is 0 or 1 (false or true): accuracy at Threshold, AUC, log loss and
	// Brier score.
	Binary Kind = iota
	// Classes predictions are a class of Classes; a label is a class name
	// (or its index): accuracy.
	Classes
	// Value predictions are a number (a regression); a label is the true
	// number: mean absolute error, root mean squared error and bias.
	Value
)

// String names the kind as reports do.
func (k Kind) String() string {
	switch k {
	case Classes:
		return "classes"
	case Value:
		return "value"
	}
	return "binary"
}

// Truth is a label as a client sends it: a number (0 or 1 of a binary
// classifier, a class's index, a regression's value) or a text (a class's
// name).
type Truth struct {
	Number float64
	Text   string
	IsText bool
}

// ErrBadLabel classes labels that do not fit what the prediction was: not 0
// or 1 for a binary classifier, no class of a classifier's, not a finite
// number for a regression. The error is a *LabelError that says which.
var ErrBadLabel = errors.New("label does not fit the prediction")

// LabelError says why a label does not fit.
type LabelError struct{ Msg string }

func (e *LabelError) Error() string { return e.Msg }

// Unwrap makes every LabelError errors.Is ErrBadLabel.
func (e *LabelError) Unwrap() error { return ErrBadLabel }

// truthOf reads l as the tracker's kind takes it: the positive class (as 1
// or 0), a class's index, or a value.
func (t *Tracker) truthOf(l Truth) (float64, error) {
	switch t.kind {
	case Binary:
		if l.IsText || l.Number != 0 && l.Number != 1 {
			return 0, &LabelError{Msg: fmt.Sprintf("model %s %s is a binary classifier: the label must be 0, 1, false or true", t.route, t.version)}
		}
		return l.Number, nil
	case Classes:
		if l.IsText {
			if k, ok := t.classIndex[l.Text]; ok {
				return float64(k), nil
			}
		} else if k := l.Number; k == math.Trunc(k) && k >= 0 && int(k) < len(t.classes) {
			return k, nil
		}
		return 0, &LabelError{Msg: fmt.Sprintf("model %s %s classifies into %s: the label must be one of them (or its index)", t.route, t.version, classList(t.classes))}
	}
	if l.IsText || math.IsNaN(l.Number) || math.IsInf(l.Number, 0) {
		return 0, &LabelError{Msg: fmt.Sprintf("model %s %s is a regression: the label must be a finite number", t.route, t.version)}
	}
	return l.Number, nil
}

// classList names classes for a message, the first 20 of them.
func classList(classes []string) string {
	shown := classes[:min(len(classes), 20)]
	quoted := make([]string, len(shown))
	for i, c := range shown {
		quoted[i] = strconv.Quote(c)
	}
	s := strings.Join(quoted, ", ")
	if len(classes) > len(shown) {
		s += fmt.Sprintf(" and %d more", len(classes)-len(shown))
	}
	return s
}

// ClassIndex is the index of class among the tracker's classes, or -1: what
// Record takes as a classifier's prediction.
func (t *Tracker) ClassIndex(class string) int {
	if k, ok := t.classIndex[class]; ok {
		return k
	}
	return -1
}

// Kind is what the tracker's predictions are.
func (t *Tracker) Kind() Kind { return t.kind }
