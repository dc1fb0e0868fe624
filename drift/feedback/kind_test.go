package feedback

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestClassesAndValues: a classifier's predictions are scored by class, a
// regression's by error; labels that do not fit are refused and leave the
// prediction waiting.
func TestClassesAndValues(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{})
	plans := s.TrackerOf("plans", "1.0.0", Classes, []string{"basic", "standard", "premium"})
	prices := s.TrackerOf("prices", "1.0.0", Value, nil)
	if plans.ClassIndex("premium") != 2 || plans.ClassIndex("gold") != -1 {
		t.Fatalf("ClassIndex: %d %d", plans.ClassIndex("premium"), plans.ClassIndex("gold"))
	}
	record := func(id string, tr *Tracker, p float64) {
		t.Helper()
		s.Record([]byte(id), tr, p, testStart)
	}
	label := func(id string, truth Truth) Outcome {
		t.Helper()
		out, err := s.Label([]byte(id), truth, testStart)
		if err != nil {
			t.Fatalf("Label(%q): %v", id, err)
		}
		return out
	}
	record("p1", plans, 2)
	record("p2", plans, 0)
	record("p3", plans, -1) // a class the tracker does not know: wrong whatever the label
	if out := label("p1", Truth{Text: "premium", IsText: true}); !out.Correct || out.Class != "premium" {
		t.Errorf("p1: %+v", out)
	}
	if out := label("p2", Truth{Number: 1}); out.Correct || out.Class != "basic" {
		t.Errorf("p2 labelled by index: %+v", out)
	}
	_, err := s.Label([]byte("p3"), Truth{Text: "gold", IsText: true}, testStart)
	var le *LabelError
	if !errors.As(err, &le) || !errors.Is(err, ErrBadLabel) || !strings.Contains(err.Error(), `"basic", "standard", "premium"`) {
		t.Errorf("an unknown class: %v", err)
	}
	if out := label("p3", Truth{Text: "basic", IsText: true}); out.Correct {
		t.Errorf("p3 after the refused label: %+v", out)
	}
	if r := plans.Report(); r.Kind != "classes" || r.Labels != 3 || r.Accuracy != 1.0/3 || r.AUC != nil {
		t.Errorf("plans report %+v", r)
	}

	record("v1", prices, 10)
	record("v2", prices, 4)
	record("bad", prices, math.Inf(1))
	if st := s.Stats(); st.InvalidProbabilities != 1 {
		t.Errorf("an infinite value was recorded: %+v", st)
	}
	if out := label("v1", Truth{Number: 12}); out.Correct || out.Value != 10 {
		t.Errorf("v1: %+v", out)
	}
	if _, err := s.Label([]byte("v2"), Truth{Text: "four", IsText: true}, testStart); !errors.Is(err, ErrBadLabel) {
		t.Errorf("a text label of a regression: %v", err)
	}
	label("v2", Truth{Number: 3})
	r := prices.Report()
	if r.Kind != "value" || r.Labels != 2 || *r.MAE != 1.5 || math.Abs(*r.RMSE-math.Sqrt(2.5)) > 1e-12 || *r.Bias != -0.5 {
		t.Errorf("prices report %+v (mae %v rmse %v bias %v)", r, *r.MAE, *r.RMSE, *r.Bias)
	}
	binary := s.Tracker("churn", "1.0.0")
	record("b", binary, 0.9)
	if _, err := s.Label([]byte("b"), Truth{Number: 2}, testStart); !errors.Is(err, ErrBadLabel) || !strings.Contains(err.Error(), "0, 1, false or true") {
		t.Errorf("label 2 of a binary classifier: %v", err)
	}
}
