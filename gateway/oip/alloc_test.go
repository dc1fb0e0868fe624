package oip_test

import (
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/internal/features"
)

// Bodies of typical requests, for the allocation guards and the benchmarks.
const (
	oneRowBody = `{"id": "req-1", "inputs": [
		{"name": "tenure_months", "datatype": "FP32", "shape": [1], "data": [24]},
		{"name": "monthly_charges", "datatype": "FP64", "shape": [1], "data": [70.35]},
		{"name": "has_partner", "datatype": "BOOL", "shape": [1], "data": [true]},
		{"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["one-year"]}]}`
	batchBody = `{"id": "req-2", "parameters": {"priority": 1, "timeout": 250000},
		"outputs": [{"name": "probability"}, {"name": "label"}],
		"inputs": [
		{"name": "tenure_months", "datatype": "INT32", "shape": [4, 1], "data": [[24], [3], [60], [1]]},
		{"name": "monthly_charges", "datatype": "FP32", "shape": [4, 1], "data": [70.35, 20, 99.9, 45.5]},
		{"name": "customer_id", "datatype": "BYTES", "shape": [4], "data": ["a", "b", "c", "d"]},
		{"name": "contract", "datatype": "BYTES", "shape": [4, 1], "data": [["one-year"], ["monthly"], ["two-year"], ["caf\u00e9 \"x\""]]}]}`
)

// TestDecodeDoesNotAllocate guards the request path: in steady state,
// acquiring a Request, decoding a typical body into reused rows and
// releasing it allocates nothing. Not parallel: AllocsPerRun counts every
// goroutine's allocations.
func TestDecodeDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	f := func(name, body string) {
		t.Helper()
		b := []byte(body)
		var rows []features.Set
		run := func() {
			r := oip.AcquireRequest()
			if err := r.Decode(b, nil, testSchema, testLimits, &rows); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			oip.ReleaseRequest(r)
		}
		run() // fill the pool and the rows
		if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
			t.Errorf("%s: %.2f allocations per request, want 0", name, allocs)
		}
	}
	f("one row", oneRowBody)
	f("batch, nested, parameters, outputs, an ignored input", batchBody)
}

// TestAppendResponseDoesNotAllocate: writing the answer into a buffer that
// is large enough allocates nothing.
func TestAppendResponseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	r := oip.AcquireRequest()
	defer oip.ReleaseRequest(r)
	var rows []features.Set
	if err := r.Decode([]byte(batchBody), nil, testSchema, testLimits, &rows); err != nil {
		t.Fatal(err)
	}
	answer := []oip.Row{
		{Probability: 0.1, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 0.7, Label: "churns", ModelVersion: "4", Target: "canary"},
		{Probability: 0.25, Label: "stays", ModelVersion: "3", Target: "primary"},
		{Probability: 0.5, Label: "churns", ModelVersion: "", Target: "rules"},
	}
	buf := make([]byte, 0, 4096)
	for _, req := range []*oip.Request{r, nil} {
		if allocs := testing.AllocsPerRun(1000, func() {
			buf, _ = oip.AppendResponse(buf[:0], "customer-churn", testSchema, req, answer)
		}); allocs != 0 {
			t.Errorf("request %v: %.2f allocations per response, want 0", req != nil, allocs)
		}
	}
}

// TestBinaryDoesNotAllocate: a tensor request of every binary layout, and
// its answer asked all binary, decode and encode without allocating in
// steady state.
func TestBinaryDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	body, hl := kindsBinary()
	header, tail, err := oip.SplitBody(body, []byte(hl))
	if err != nil {
		t.Fatal(err)
	}
	header = append(header[:len(header)-1:len(header)-1], `, "parameters": {"binary_data_output": true}}`...)
	outs := kindsOutputs()
	var tr oip.TensorRequest
	buf := make([]byte, 0, 4096)
	run := func() {
		r := oip.AcquireRequest()
		if err := r.DecodeTensors(header, tail, kindsSchema, testLimits, &tr); err != nil {
			t.Fatal(err)
		}
		var n int
		if buf, n, err = oip.AppendTensorResponse(buf[:0], "m", "1", r, &tr, kindsSchema, outs); err != nil || n == 0 {
			t.Fatalf("header %d, %v", n, err)
		}
		oip.ReleaseRequest(r)
	}
	run()
	if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
		t.Errorf("%.2f allocations per binary request and answer, want 0", allocs)
	}
}
