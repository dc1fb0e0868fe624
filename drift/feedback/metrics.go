package feedback

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
)

// RegisterMetrics adds the store's metrics to set: they are written by
// WriteMetrics at every scrape, so trackers made later are included. A
// second call with the same set adds nothing. The store outlives routing
// tables: register it with a set that lives as long as it does.
// set.UnregisterAllMetrics removes them.
func (s *Store) RegisterMetrics(set *metrics.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.registered[set]; ok {
		return
	}
	s.registered[set] = struct{}{}
	set.RegisterMetricsWriter(s.WriteMetrics)
}

// WriteMetrics writes the store's metrics in the Prometheus text format,
// from Stats and Reports taken now (off the request path: a report reads
// every counter of a tracker once):
//
//	infergate_feedback_predictions_total                  predictions recorded
//	infergate_feedback_ids_too_long_total                 not recorded: id longer than MaxIDLen
//	infergate_feedback_invalid_probabilities_total        not recorded: probability not in [0, 1]
//	infergate_feedback_evicted_total                      pushed out before their label and TTL
//	infergate_feedback_expired_total                      slot reused after the TTL, never labelled
//	infergate_feedback_unknown_labels_total               labels refused: ErrUnknownRequest
//	infergate_feedback_duplicate_labels_total             labels refused: ErrAlreadyLabelled
//	infergate_feedback_labels_total{route,version}        labelled predictions
//	infergate_feedback_accuracy{route,version}            a classifier's (a binary one's at Threshold)
//	infergate_feedback_auc{route,version}                 a binary classifier's
//	infergate_feedback_log_loss{route,version}            a binary classifier's
//	infergate_feedback_brier{route,version}               a binary classifier's
//	infergate_feedback_mae{route,version}                 a regression's
//	infergate_feedback_rmse{route,version}                a regression's
//
// A version without labels has only its labels_total line, and one whose
// labels are all of one class has no auc line.
func (s *Store) WriteMetrics(w io.Writer) {
	st := s.Stats()
	metrics.WriteCounterUint64(w, "infergate_feedback_predictions_total", st.Recorded)
	metrics.WriteCounterUint64(w, "infergate_feedback_ids_too_long_total", st.IDsTooLong)
	metrics.WriteCounterUint64(w, "infergate_feedback_invalid_probabilities_total", st.InvalidProbabilities)
	metrics.WriteCounterUint64(w, "infergate_feedback_evicted_total", st.Evicted)
	metrics.WriteCounterUint64(w, "infergate_feedback_expired_total", st.Expired)
	metrics.WriteCounterUint64(w, "infergate_feedback_unknown_labels_total", st.UnknownLabels)
	metrics.WriteCounterUint64(w, "infergate_feedback_duplicate_labels_total", st.DuplicateLabels)
	rs := s.Reports()
	lbl := make([]string, len(rs))
	for i := range rs {
		lbl[i] = `{route="` + promtext.EscapeLabel(rs[i].Route) + `",version="` + promtext.EscapeLabel(rs[i].Version) + `"}`
	}
	for i := range rs {
		metrics.WriteCounterUint64(w, "infergate_feedback_labels_total"+lbl[i], rs[i].Labels)
	}
	gauges := []struct {
		name string
		get  func(*Report) (float64, bool)
	}{
		{"infergate_feedback_accuracy", func(r *Report) (float64, bool) { return r.Accuracy, r.Labels > 0 && r.Kind != Value.String() }},
		{"infergate_feedback_auc", func(r *Report) (float64, bool) {
			if r.AUC == nil {
				return 0, false
			}
			return *r.AUC, true
		}},
		{"infergate_feedback_log_loss", func(r *Report) (float64, bool) { return r.LogLoss, r.Labels > 0 && r.Kind == Binary.String() }},
		{"infergate_feedback_brier", func(r *Report) (float64, bool) { return r.Brier, r.Labels > 0 && r.Kind == Binary.String() }},
		{"infergate_feedback_mae", func(r *Report) (float64, bool) { return deref(r.MAE) }},
		{"infergate_feedback_rmse", func(r *Report) (float64, bool) { return deref(r.RMSE) }},
	}
	for _, g := range gauges {
		for i := range rs {
			if v, ok := g.get(&rs[i]); ok {
				metrics.WriteGaugeFloat64(w, g.name+lbl[i], v)
			}
		}
	}
}

func deref(x *float64) (float64, bool) {
	if x == nil {
		return 0, false
	}
	return *x, true
}
