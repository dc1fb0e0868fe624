package batcher

import (
	"math"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
	"sync/atomic"
)

// batcherMetrics are the metrics of one Batcher, held in a Set of their own
// so that Close can unregister them all at once.
type batcherMetrics struct {
	set *metrics.Set

	queueDuration   *metrics.PrometheusHistogram
	computeDuration *metrics.PrometheusHistogram
	batchSize       *metrics.PrometheusHistogram

	requests         *metrics.Counter
	rejectedFull     *metrics.Counter
	rejectedDeadline *metrics.Counter
	rejectedClosed   *metrics.Counter
	// rejectedUnreachable: turned away at once, the deadline nearer than
	// the estimated wait and run.
	rejectedUnreachable *metrics.Counter
	failed              *metrics.Counter
	direct              *metrics.Counter
	// unhealthy counts the instances whose worker waits for its device.
	unhealthy atomic.Int64
}

// newBatcherMetrics creates the metrics of b labelled with model and version.
// The set is registered for export by New once the Batcher is running.
func newBatcherMetrics(b *Batcher, model, version string) *batcherMetrics {
	labels := `model="` + promtext.EscapeLabel(model) + `",version="` + promtext.EscapeLabel(version) + `"`
	name := func(family string) string { return "infergate_batcher_" + family + "{" + labels + "}" }
	rejected := func(reason string) string {
		return "infergate_batcher_rejected_total{" + labels + `,reason="` + reason + `"}`
	}
	s := metrics.NewSet()
	m := &batcherMetrics{
		set:                 s,
		queueDuration:       s.NewPrometheusHistogramExt(name("queue_duration_seconds"), promtext.LatencyBuckets),
		computeDuration:     s.NewPrometheusHistogramExt(name("compute_duration_seconds"), promtext.LatencyBuckets),
		batchSize:           s.NewPrometheusHistogramExt(name("batch_size"), batchSizeBuckets(b.maxBatch)),
		requests:            s.NewCounter(name("requests_total")),
		rejectedFull:        s.NewCounter(rejected("queue_full")),
		rejectedDeadline:    s.NewCounter(rejected("deadline")),
		rejectedClosed:      s.NewCounter(rejected("closed")),
		rejectedUnreachable: s.NewCounter(rejected("deadline_unreachable")),
		failed:              s.NewCounter(name("failed_total")),
		direct:              s.NewCounter(name("direct_total")),
	}
	s.NewGauge(name("queue_depth"), func() float64 { return float64(b.QueueDepth()) })
	if a := b.adapt; a != nil {
		s.NewGauge(name("adaptive_wait_rows"), func() float64 { return float64(a.want.Load()) })
		s.NewGauge(name("adaptive_arrival_rows_per_second"), func() float64 { return math.Float64frombits(a.rateBits.Load()) })
	}
	b.levelMetrics(s, labels)
	s.NewGauge(name("unhealthy_instances"), func() float64 { return float64(m.unhealthy.Load()) })
	return m
}

// batchSizeBuckets returns powers of two below maxBatch, then maxBatch.
func batchSizeBuckets(maxBatch int) []float64 {
	var bounds []float64
	for size := 1; size < maxBatch; size *= 2 {
		bounds = append(bounds, float64(size))
	}
	return append(bounds, float64(maxBatch))
}
