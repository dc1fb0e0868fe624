package report

import (
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

// jsonFormat is the "format" of documents WriteJSON writes; it changes
// only when a field changes meaning.
const jsonFormat = 1

// The JSON document. Units are in the names: _us integer microseconds,
// _rps float64 requests per second.
type (
	jsonReport struct {
		Format      int              `json:"format"`
		Title       string           `json:"title"`
		Scenario    string           `json:"scenario"`
		Started     string           `json:"started,omitempty"` // RFC 3339
		DurationUS  int64            `json:"duration_us"`
		Machine     jsonMachine      `json:"machine"`
		Steps       []jsonStep       `json:"steps"`
		Comparisons []jsonComparison `json:"comparisons"`
		Ratios      []jsonRatio      `json:"ratios"`
		Notes       []string         `json:"notes"`
	}
	jsonMachine struct {
		Hostname         string `json:"hostname"`
		OS               string `json:"os"`
		Arch             string `json:"arch"`
		CPU              string `json:"cpu"`
		Cores            int    `json:"cores"`
		GoVersion        string `json:"go_version"`
		InfergateVersion string `json:"infergate_version"`
		ORTVersion       string `json:"ort_version"`
	}
	jsonStep struct {
		Target string `json:"target"`
		Label  string `json:"label"`
		// Result is null when the step did not run.
		Result *jsonResult `json:"result"`
	}
	jsonResult struct {
		Load        jsonLoad          `json:"load"`
		OfferedRPS  float64           `json:"offered_rps"`
		AchievedRPS float64           `json:"achieved_rps"`
		Sent        uint64            `json:"sent"`
		Completed   uint64            `json:"completed"`
		Statuses    map[string]uint64 `json:"statuses"` // HTTP status → count
		Errors      map[string]uint64 `json:"errors"`   // message → count
		ErrorCount  uint64            `json:"error_count"`
		Latency     jsonSummary       `json:"latency"`
		Windows     int               `json:"windows"`
		Stable      bool              `json:"stable"`
		ElapsedUS   int64             `json:"elapsed_us"`
		FellBehind  bool              `json:"fell_behind"`
		FellReason  string            `json:"fell_behind_reason,omitempty"`
		SendLagUS   int64             `json:"send_lag_p99_us"`
		Trusted     bool              `json:"trusted"`
		Why         string            `json:"why,omitempty"`
	}
	jsonLoad struct {
		Mode        string  `json:"mode"`
		RateRPS     float64 `json:"rate_rps"`
		Arrival     string  `json:"arrival,omitempty"`
		Concurrency int     `json:"concurrency"`
		WarmupUS    int64   `json:"warmup_us"`
		WindowUS    int64   `json:"window_us"`
		MaxWindows  int     `json:"max_windows"`
		Tolerance   float64 `json:"tolerance"`
		Seed        uint64  `json:"seed"`
	}
	jsonSummary struct {
		Count       int64            `json:"count"`
		MinUS       int64            `json:"min_us"`
		MeanUS      int64            `json:"mean_us"`
		P50US       int64            `json:"p50_us"`
		P90US       int64            `json:"p90_us"`
		P99US       int64            `json:"p99_us"`
		P999US      int64            `json:"p999_us"`
		MaxUS       int64            `json:"max_us"`
		Percentiles []jsonPercentile `json:"percentiles"`
	}
	jsonPercentile struct {
		Percentile float64 `json:"percentile"` // 0–100
		LatencyUS  int64   `json:"latency_us"`
	}
	jsonComparison struct {
		Name string `json:"name"`
		A    string `json:"a"`
		B    string `json:"b"`
	}
	jsonRatio struct {
		Comparison string  `json:"comparison"`
		Label      string  `json:"label"`
		Throughput float64 `json:"throughput_ratio"` // A ÷ B
		P50DiffUS  int64   `json:"p50_diff_us"`      // A − B
		P99DiffUS  int64   `json:"p99_diff_us"`      // A − B
		P50AUS     int64   `json:"p50_a_us"`
		P50BUS     int64   `json:"p50_b_us"`
		P99AUS     int64   `json:"p99_a_us"`
		P99BUS     int64   `json:"p99_b_us"`
		Trusted    bool    `json:"trusted"`
		Why        string  `json:"why,omitempty"`
	}
)

// WriteJSON writes everything in the report, percentile curves and ratios
// included, as one indented JSON document. Durations are integer
// microseconds in fields ending in _us, rates float64 req/s in fields
// ending in _rps, times RFC 3339; see the package documentation.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{
		Format:     jsonFormat,
		Title:      r.Title,
		Scenario:   r.Scenario,
		DurationUS: us(r.Duration),
		Machine: jsonMachine{
			Hostname:         r.Machine.Hostname,
			OS:               r.Machine.OS,
			Arch:             r.Machine.Arch,
			CPU:              r.Machine.CPU,
			Cores:            r.Machine.Cores,
			GoVersion:        r.Machine.GoVersion,
			InfergateVersion: r.Machine.InfergateVersion,
			ORTVersion:       r.Machine.ORTVersion,
		},
		Steps:       make([]jsonStep, 0, len(r.Steps)),
		Comparisons: make([]jsonComparison, 0, len(r.Comparisons)),
		Ratios:      []jsonRatio{},
		Notes:       append([]string{}, r.Notes...),
	}
	if !r.Started.IsZero() {
		doc.Started = r.Started.Format(time.RFC3339Nano)
	}
	for _, s := range r.Steps {
		doc.Steps = append(doc.Steps, jsonStep{Target: s.Target, Label: s.Label, Result: newJSONResult(s.Result)})
	}
	for _, c := range r.Comparisons {
		doc.Comparisons = append(doc.Comparisons, jsonComparison(c))
	}
	for _, q := range r.Ratios() {
		doc.Ratios = append(doc.Ratios, jsonRatio{
			Comparison: q.Comparison,
			Label:      q.Label,
			Throughput: finite(q.Throughput),
			P50DiffUS:  us(q.P50Diff),
			P99DiffUS:  us(q.P99Diff),
			P50AUS:     us(q.P50A),
			P50BUS:     us(q.P50B),
			P99AUS:     us(q.P99A),
			P99BUS:     us(q.P99B),
			Trusted:    q.Trusted,
			Why:        q.Why,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func newJSONResult(res *loadgen.Result) *jsonResult {
	if res == nil {
		return nil
	}
	l := res.Load
	j := &jsonResult{
		Load: jsonLoad{
			Mode:        string(l.Mode),
			RateRPS:     finite(l.Rate),
			Arrival:     string(l.Arrival),
			Concurrency: l.Concurrency,
			WarmupUS:    us(l.Warmup),
			WindowUS:    us(l.Window),
			MaxWindows:  l.MaxWindows,
			Tolerance:   finite(l.Tolerance),
			Seed:        l.Seed,
		},
		OfferedRPS:  finite(res.Offered),
		AchievedRPS: finite(res.Achieved),
		Sent:        res.Sent,
		Completed:   res.Completed,
		Statuses:    make(map[string]uint64, len(res.Statuses)),
		Errors:      make(map[string]uint64, len(res.Errors)),
		ErrorCount:  errorCount(res),
		Windows:     res.Windows,
		Stable:      res.Stable,
		ElapsedUS:   us(res.Elapsed),
		FellBehind:  res.FellBehind,
		FellReason:  res.FellBehindReason,
		SendLagUS:   us(res.SendLag),
		Why:         untrusted(res),
	}
	j.Trusted = j.Why == ""
	for st, n := range res.Statuses {
		j.Statuses[strconv.Itoa(st)] = n
	}
	for m, n := range res.Errors {
		j.Errors[m] = n
	}
	s := res.Latency
	j.Latency = jsonSummary{
		Count:       s.Count,
		MinUS:       us(s.Min),
		MeanUS:      us(s.Mean),
		P50US:       us(s.P50),
		P90US:       us(s.P90),
		P99US:       us(s.P99),
		P999US:      us(s.P999),
		MaxUS:       us(s.Max),
		Percentiles: make([]jsonPercentile, 0, len(s.Percentiles)),
	}
	pts := append([]loadgen.Percentile(nil), s.Percentiles...)
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].Percentile < pts[b].Percentile })
	for _, p := range pts {
		j.Latency.Percentiles = append(j.Latency.Percentiles, jsonPercentile{Percentile: finite(p.Percentile), LatencyUS: us(p.Latency)})
	}
	return j
}

// us converts a duration to whole microseconds, rounding to nearest.
func us(d time.Duration) int64 {
	return d.Round(time.Microsecond).Microseconds()
}

// finite replaces NaN and ±Inf, which JSON cannot carry, by 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
