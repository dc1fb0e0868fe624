package oip_test

import (
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
)

func benchmarkDecode(b *testing.B, body string) {
	data := []byte(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.RunParallel(func(pb *testing.PB) {
		var rows []features.Set
		for pb.Next() {
			r := oip.AcquireRequest()
			if err := r.Decode(data, nil, testSchema, testLimits, &rows); err != nil {
				b.Fatal(err)
			}
			oip.ReleaseRequest(r)
		}
	})
}

func BenchmarkDecodeOneRow(b *testing.B) { benchmarkDecode(b, oneRowBody) }
func BenchmarkDecodeBatch(b *testing.B)  { benchmarkDecode(b, batchBody) }

func BenchmarkAppendResponse(b *testing.B) {
	rows := []oip.Row{
		{Probability: 0.1, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 0.7, Label: "churns", ModelVersion: "3", Target: "primary"},
		{Probability: 0.25, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 0.5, Label: "churns", ModelVersion: "3", Target: "primary"},
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 4096)
		for pb.Next() {
			buf, _ = oip.AppendResponse(buf[:0], "customer-churn", testSchema, nil, rows)
		}
	})
}
