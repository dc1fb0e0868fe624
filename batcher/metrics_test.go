package batcher_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/infergate/infergate/batcher"
)

func TestMetricsExported(t *testing.T) {
	t.Parallel()
	f := newFake(testInWidth, testOutWidth, 2)
	f.failOn = map[int]error{1: errBoom}
	cfg := batcher.Config{MaxBatchSize: 2, MaxQueueSize: 4, Instances: 1}
	b, err := batcher.New("metrics-test", `v"1`, cfg, floatSpec(testInWidth, testOutWidth), []batcher.Instance{f})
	if err != nil {
		t.Fatal(err)
	}
	if err := do(t, b, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := do(t, b, 2, time.Time{}); err == nil {
		t.Fatal("the second batch should fail")
	}
	if err := do(t, b, 3, time.Now().Add(-time.Second)); err == nil {
		t.Fatal("an expired request succeeded")
	}

	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	exposed := buf.String()
	const labels = `model="metrics-test",version="v\"1"`
	for _, want := range []string{
		`infergate_batcher_queue_depth{` + labels + `} 0`,
		`infergate_batcher_queue_duration_seconds_bucket{` + labels + `,le="0.0001"}`,
		`infergate_batcher_queue_duration_seconds_count{` + labels + `} 2`,
		`infergate_batcher_compute_duration_seconds_count{` + labels + `} 2`,
		`infergate_batcher_batch_size_bucket{` + labels + `,le="1"} 2`,
		`infergate_batcher_batch_size_bucket{` + labels + `,le="2"} 2`,
		`infergate_batcher_batch_size_sum{` + labels + `} 2`,
		`infergate_batcher_requests_total{` + labels + `} 3`,
		`infergate_batcher_rejected_total{` + labels + `,reason="queue_full"} 0`,
		`infergate_batcher_rejected_total{` + labels + `,reason="deadline"} 1`,
		`infergate_batcher_rejected_total{` + labels + `,reason="closed"} 0`,
		`infergate_batcher_failed_total{` + labels + `} 1`,
	} {
		if !strings.Contains(exposed, want+"\n") && !strings.Contains(exposed, want+" ") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("exposed:\n%s", grepLines(exposed, labels))
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	metrics.WritePrometheus(&buf, false)
	if strings.Contains(buf.String(), labels) {
		t.Errorf("metrics still exported after Close:\n%s", grepLines(buf.String(), labels))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// metricValue returns the value of the series of family whose labels hold
// model and every label in more, or "" when there is none.
func metricValue(t testing.TB, family, model string, more ...string) string {
	t.Helper()
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	for line := range strings.Lines(buf.String()) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), "} ")
		if !ok || !strings.HasPrefix(name, family+"{") || !strings.Contains(name, `model="`+model+`"`) {
			continue
		}
		matches := true
		for _, label := range more {
			matches = matches && strings.Contains(name, label)
		}
		if matches {
			return value
		}
	}
	return ""
}
