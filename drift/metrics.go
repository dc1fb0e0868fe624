package drift

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
)

// RegisterMetrics adds m's metrics, labelled route and version, to set: they
// are computed by WriteMetrics at every scrape. set.UnregisterAllMetrics
// removes them.
func (m *Monitor) RegisterMetrics(set *metrics.Set, route, version string) {
	set.RegisterMetricsWriter(func(w io.Writer) { m.WriteMetrics(w, route, version) })
}

// WriteMetrics writes m's metrics in the Prometheus text format, from a
// report computed now (off the request path: a report reads every counter
// once):
//
//	infergate_drift_samples_total{route,version}                sampled requests since start
//	infergate_drift_window_samples{route,version}               sampled requests in the window
//	infergate_drift_verdict{route,version}                      overall: -1 insufficient data, 0 none, 1 warn, 2 drift
//	infergate_drift_feature_verdict{route,version,feature}      per feature, same values
//	infergate_drift_psi{route,version,feature}                  PSI against the reference
//	infergate_drift_ks_pvalue{route,version,feature}            numeric features
//	infergate_drift_chi2_pvalue{route,version,feature}          categorical features
//	infergate_drift_score_verdict{route,version}                the score's verdict
//	infergate_drift_score_psi{route,version}
//	infergate_drift_score_ks_pvalue{route,version}
//	infergate_schema_missing_total{route,version,feature}       every request, since start
//	infergate_schema_out_of_range_total{route,version,feature}       numeric features
//	infergate_schema_unknown_category_total{route,version,feature}   categorical features
//	infergate_schema_invalid_total{route,version,feature}
//	infergate_drift_input_verdict{route,version,input}          a tensor input's verdict
//	infergate_drift_input_mean_shift{route,version,input}       |Δmean| in reference stds
//	infergate_drift_input_std_change{route,version,input}       |Δstd| in reference stds
//	infergate_drift_input_nan_share{route,version,input}        live share of NaN or infinite elements
//
// A feature without enough samples has no psi or p-value line, an input
// without samples no shift lines.
func (m *Monitor) WriteMetrics(w io.Writer, route, version string) {
	r := m.Report(m.now())
	lbl := `route="` + promtext.EscapeLabel(route) + `",version="` + promtext.EscapeLabel(version) + `"`
	flbl := make([]string, len(r.Features))
	for i := range r.Features {
		flbl[i] = lbl + `,feature="` + promtext.EscapeLabel(r.Features[i].Name) + `"`
	}
	metrics.WriteCounterUint64(w, "infergate_drift_samples_total{"+lbl+"}", r.SampledTotal)
	metrics.WriteGaugeUint64(w, "infergate_drift_window_samples{"+lbl+"}", r.Samples)
	metrics.WriteGaugeFloat64(w, "infergate_drift_verdict{"+lbl+"}", r.Verdict.Value())
	for i := range r.Features {
		metrics.WriteGaugeFloat64(w, "infergate_drift_feature_verdict{"+flbl[i]+"}", r.Features[i].Verdict.Value())
	}
	for i := range r.Features {
		if r.Features[i].Samples > 0 {
			metrics.WriteGaugeFloat64(w, "infergate_drift_psi{"+flbl[i]+"}", r.Features[i].PSI)
		}
	}
	for i := range r.Features {
		if t := r.Features[i].KS; t != nil {
			metrics.WriteGaugeFloat64(w, "infergate_drift_ks_pvalue{"+flbl[i]+"}", t.PValue)
		}
	}
	for i := range r.Features {
		if t := r.Features[i].ChiSquare; t != nil {
			metrics.WriteGaugeFloat64(w, "infergate_drift_chi2_pvalue{"+flbl[i]+"}", t.PValue)
		}
	}
	if r.Score.Name != "" {
		metrics.WriteGaugeFloat64(w, "infergate_drift_score_verdict{"+lbl+"}", r.Score.Verdict.Value())
	}
	if r.Score.Samples > 0 {
		metrics.WriteGaugeFloat64(w, "infergate_drift_score_psi{"+lbl+"}", r.Score.PSI)
	}
	if t := r.Score.KS; t != nil {
		metrics.WriteGaugeFloat64(w, "infergate_drift_score_ks_pvalue{"+lbl+"}", t.PValue)
	}
	writeInputMetrics(w, lbl, r.Inputs)
	schema := []struct {
		name string
		only string // the feature type the metric applies to, or "" for both
		get  func(*SchemaCounts) uint64
	}{
		{"infergate_schema_missing_total", "", func(c *SchemaCounts) uint64 { return c.Missing }},
		{"infergate_schema_out_of_range_total", Numeric, func(c *SchemaCounts) uint64 { return c.OutOfRange }},
		{"infergate_schema_unknown_category_total", Categorical, func(c *SchemaCounts) uint64 { return c.UnknownCategory }},
		{"infergate_schema_invalid_total", "", func(c *SchemaCounts) uint64 { return c.Invalid }},
	}
	for _, s := range schema {
		for i := range r.Features {
			if s.only == "" || s.only == r.Features[i].Type {
				metrics.WriteCounterUint64(w, s.name+"{"+flbl[i]+"}", s.get(r.Features[i].Schema))
			}
		}
	}
}

func writeInputMetrics(w io.Writer, lbl string, ins []InputReport) {
	ilbl := make([]string, len(ins))
	for i := range ins {
		ilbl[i] = lbl + `,input="` + promtext.EscapeLabel(ins[i].Name) + `"`
	}
	for i := range ins {
		metrics.WriteGaugeFloat64(w, "infergate_drift_input_verdict{"+ilbl[i]+"}", ins[i].Verdict.Value())
	}
	for _, m := range []struct {
		name string
		get  func(*InputReport) float64
	}{
		{"infergate_drift_input_mean_shift", func(r *InputReport) float64 { return r.MeanShift }},
		{"infergate_drift_input_std_change", func(r *InputReport) float64 { return r.StdChange }},
		{"infergate_drift_input_nan_share", func(r *InputReport) float64 { return r.Live.NaNShare }},
	} {
		for i := range ins {
			if ins[i].Live != nil {
				metrics.WriteGaugeFloat64(w, m.name+"{"+ilbl[i]+"}", m.get(&ins[i]))
			}
		}
	}
}
