package loadgen

import (
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision: microseconds from 1µs to 1h, 3
// significant digits (a value is known to within 0.1%).
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// plotPercentiles are the points of Summary.Percentiles, dense near the tail.
var plotPercentiles = [...]float64{0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100}

// NewHistogram returns an empty latency histogram with the range and
// precision the generator records with (values in µs, 1µs–1h, 3 digits).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// Summarize reads a Summary from h, whose values are microseconds. Min,
// Max and Mean are h's approximations (within its precision); Run's own
// summaries replace them with exact figures.
func Summarize(h *hdrhistogram.Histogram) Summary {
	n := h.TotalCount()
	if n == 0 {
		return Summary{}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	s := Summary{
		Count: n,
		Min:   us(histMin(h)),
		Mean:  time.Duration(h.Mean() * float64(time.Microsecond)),
		P50:   us(h.ValueAtPercentile(50)),
		P90:   us(h.ValueAtPercentile(90)),
		P99:   us(h.ValueAtPercentile(99)),
		P999:  us(h.ValueAtPercentile(99.9)),
		Max:   us(h.Max()),
	}
	s.Percentiles = make([]Percentile, len(plotPercentiles))
	for i, p := range plotPercentiles {
		v := s.Max
		switch p {
		case 0:
			v = s.Min
		case 100:
		default:
			v = us(h.ValueAtPercentile(p))
		}
		s.Percentiles[i] = Percentile{Percentile: p, Latency: v}
	}
	return s
}

// histMin works around Histogram.Min, which skips a recorded 0 and returns
// the next value instead.
func histMin(h *hdrhistogram.Histogram) int64 {
	if h.ValueAtPercentile(100/float64(h.TotalCount())) == 0 {
		return 0
	}
	return h.Min()
}

// stats is what one stretch of a run measured: a window, the warm-up, the
// drain, or their merge.
type stats struct {
	lat, lag   *hdrhistogram.Histogram // µs
	completed  uint64
	lagged     uint64 // samples in lag
	minNs      int64
	maxNs      int64
	sumNs      float64
	statuses   [statusArray]uint64
	statusRest map[int]uint64 // statuses outside [0, statusArray)
	errors     map[string]uint64
}

const (
	statusArray = 600 // statuses counted in an array; others in a map
	maxErrKinds = 100 // distinct error messages kept; the rest are "other errors"
	otherErrors = "other errors"
)

func newStats() *stats {
	s := &stats{lat: NewHistogram(), lag: NewHistogram()}
	s.reset()
	return s
}

func (s *stats) reset() {
	s.lat.Reset()
	s.lag.Reset()
	s.completed, s.lagged = 0, 0
	s.minNs, s.maxNs, s.sumNs = math.MaxInt64, 0, 0
	s.statuses = [statusArray]uint64{}
	s.statusRest = nil
	s.errors = nil
}

// add records one completed request: its latency, send lag (lagNs < 0: not
// measured) and outcome.
func (s *stats) add(latNs, lagNs int64, status int, err error) {
	s.completed++
	_ = s.lat.RecordValue(toMicros(latNs)) // in range: toMicros clamps
	s.minNs = min(s.minNs, latNs)
	s.maxNs = max(s.maxNs, latNs)
	s.sumNs += float64(latNs)
	if lagNs >= 0 {
		s.lagged++
		_ = s.lag.RecordValue(toMicros(lagNs))
	}
	if err != nil {
		s.addError(err.Error(), 1)
		return
	}
	s.addStatus(status, 1)
}

func (s *stats) addStatus(status int, n uint64) {
	if status >= 0 && status < statusArray {
		s.statuses[status] += n
		return
	}
	if s.statusRest == nil {
		s.statusRest = make(map[int]uint64)
	}
	s.statusRest[status] += n
}

func (s *stats) addError(msg string, n uint64) {
	if s.errors == nil {
		s.errors = make(map[string]uint64)
	}
	if _, ok := s.errors[msg]; !ok && len(s.errors) >= maxErrKinds {
		msg = otherErrors
	}
	s.errors[msg] += n
}

// merge adds o to s.
func (s *stats) merge(o *stats) {
	if o.completed == 0 && len(o.errors) == 0 {
		return
	}
	s.lat.Merge(o.lat)
	s.lag.Merge(o.lag)
	s.completed += o.completed
	s.lagged += o.lagged
	s.minNs = min(s.minNs, o.minNs)
	s.maxNs = max(s.maxNs, o.maxNs)
	s.sumNs += o.sumNs
	for i, n := range o.statuses {
		s.statuses[i] += n
	}
	for code, n := range o.statusRest {
		s.addStatus(code, n)
	}
	for msg, n := range o.errors {
		s.addError(msg, n)
	}
}

// ok counts the 2xx statuses.
func (s *stats) ok() uint64 {
	var n uint64
	for _, c := range s.statuses[200:300] {
		n += c
	}
	return n
}

// summary is Summarize with exact Min, Max and Mean.
func (s *stats) summary() Summary {
	sum := Summarize(s.lat)
	if s.completed == 0 {
		return sum
	}
	sum.Min = time.Duration(s.minNs)
	sum.Max = time.Duration(s.maxNs)
	sum.Mean = time.Duration(s.sumNs / float64(s.completed))
	sum.Percentiles[0].Latency = sum.Min
	sum.Percentiles[len(sum.Percentiles)-1].Latency = sum.Max
	return sum
}

func (s *stats) statusMap() map[int]uint64 {
	m := make(map[int]uint64, len(s.statusRest)+2)
	for code, n := range s.statuses {
		if n != 0 {
			m[code] = n
		}
	}
	for code, n := range s.statusRest {
		m[code] += n
	}
	return m
}

func (s *stats) errorMap() map[string]uint64 {
	m := make(map[string]uint64, len(s.errors))
	for msg, n := range s.errors {
		m[msg] = n
	}
	return m
}

// toMicros converts ns to the histogram's µs, clamped to its range.
func toMicros(ns int64) int64 {
	return min(max(ns/int64(time.Microsecond), 0), histHighest)
}
