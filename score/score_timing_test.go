package score_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/score"
	"github.com/infergate/infergate/trainer"
)

// BenchmarkRun scores 10,000 demo rows per op through two instances.
func BenchmarkRun(b *testing.B) {
	const n = 10_000
	route := servingtest.Table(b, batcher.Config{MaxBatchSize: 64, Instances: 2}).Lookup([]byte(servingtest.Route))
	var in bytes.Buffer
	if err := trainer.WriteCSV(&in, trainer.GenerateChurn(n, 23)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		sum, err := score.Run(b.Context(), score.Options{In: bytes.NewReader(in.Bytes()), Out: io.Discard, Pipeline: gateway.NewOffline(route)})
		if err != nil || sum.Rows != n {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
