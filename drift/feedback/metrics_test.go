package feedback

import (
	"bytes"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/golden"
)

// The exposition of a store with three versions: one with both classes,
// one with positives only (no auc line), one without labels (labels_total
// only).
func TestWriteMetrics(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{Capacity: 64})
	a, b := s.Tracker(`ch"urn`, "1.0.0"), s.Tracker(`ch"urn`, "2.0.0")
	s.Tracker("fraud", "7")
	label := func(id string, tr *Tracker, p float64, positive bool) {
		s.Record([]byte(id), tr, p, testStart)
		if _, err := s.Label([]byte(id), bin(positive), testStart); err != nil {
			t.Fatal(err)
		}
	}
	label("a1", a, 0.9, true)
	label("a2", a, 0.2, false)
	label("a3", a, 0.6, false)
	label("a4", a, 0.4, true)
	label("b1", b, 0.75, true)
	s.Record([]byte("waiting"), a, 0.5, testStart)
	s.Record([]byte(strings.Repeat("x", MaxIDLen+1)), a, 0.5, testStart)
	_, _ = s.Label([]byte("a1"), bin(true), testStart)
	_, _ = s.Label([]byte("nope"), bin(true), testStart)
	var w bytes.Buffer
	s.WriteMetrics(&w)
	golden.Check(t, "metrics.txt", w.Bytes())
}

// Registering twice with one set writes each series once, and trackers made
// after registration are included.
func TestRegisterMetricsOnce(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{})
	set := metrics.NewSet()
	s.RegisterMetrics(set)
	s.RegisterMetrics(set)
	s.Tracker("churn", "1.0.0")
	var w bytes.Buffer
	set.WritePrometheus(&w)
	out := w.String()
	for _, line := range []string{"infergate_feedback_predictions_total 0\n", `infergate_feedback_labels_total{route="churn",version="1.0.0"} 0` + "\n"} {
		if n := strings.Count(out, line); n != 1 {
			t.Errorf("%q appears %d times in:\n%s", line, n, out)
		}
	}
}
