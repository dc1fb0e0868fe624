package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/valyala/fasthttp"
)

// batchAnswer is the body of a /v1 request with instances.
type batchAnswer struct {
	ModelID     string `json:"model_id"`
	Predictions []struct {
		prediction
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	} `json:"predictions"`
	LatencyMS *float64 `json:"latency_ms"`
	RequestID string   `json:"request_id"`
	Route     string   `json:"route"`
}

// TestInstances: a /v1 request with instances answers each row in order,
// with the probability a single request gets, computed in batches; bad rows
// get their own error and do not fail the others.
func TestInstances(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{batching: batcher.Config{MaxBatchSize: 32}, cfg: gateway.Config{MaxBodyBytes: 1 << 20}})
	_, d := servingtest.Demo(t)
	const n = 100
	rows := make([]string, n)
	for i := range rows {
		rows[i] = featuresOf(t, requestBody(t, d, i))
	}
	// Rows 3, 10 and 50 are bad: not an object, a wrong type, a required
	// feature missing.
	rows[3] = `"row three"`
	rows[10] = `{"tenure_months": "ten"}`
	rows[50] = `{"contract": "one-year"}`
	body := `{"model_id":"` + servingtest.Route + `","instances":[` + strings.Join(rows, ",") + `]}`

	wantErr := map[int][2]string{
		3:  {"invalid_field", "instances[3]"},
		10: {"invalid_field", "instances[10].features.tenure_months"},
		50: {"missing_feature", "instances[50].features.tenure_months"},
	}
	// Hold the model until every good row is queued or held, so that the
	// rows are seen to reach the batcher together.
	s.gate.Hold()
	done := make(chan reply, 1)
	go func() { done <- s.predict(t, body) }()
	target := s.table.Routes()[0].Target()
	waitFor(t, "every good row to be queued or held", func() bool {
		return s.gate.Blocked()+target.QueueDepth() == n-len(wantErr)
	})
	s.gate.Release()
	r := <-done
	if r.status != fasthttp.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var got batchAnswer
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if len(got.Predictions) != n || got.Route != servingtest.Route || got.RequestID == "" || got.LatencyMS == nil {
		t.Fatalf("%d predictions, route %q, request id %q", len(got.Predictions), got.Route, got.RequestID)
	}
	for i, p := range got.Predictions {
		if want, bad := wantErr[i]; bad {
			if p.Error == nil || p.Error.Code != want[0] || p.Error.Field != want[1] || p.Error.Message == "" {
				t.Errorf("instance %d: %+v, want error %v", i, p.Error, want)
			}
			continue
		}
		if p.Error != nil {
			t.Errorf("instance %d: error %+v", i, p.Error)
			continue
		}
		single := s.predict(t, requestBody(t, d, i))
		var one prediction
		decode(t, single, &one)
		if *p.Probability != *one.Probability || p.Prediction != one.Prediction || p.ModelVersion != "1.0.0" || p.Target != "primary" {
			t.Errorf("instance %d: %+v, a single request got %v %q", i, p.prediction, *one.Probability, one.Prediction)
		}
	}
	if s.gate.MaxBatch() < 2 {
		t.Errorf("largest batch %d: the instances were not computed together", s.gate.MaxBatch())
	}
}

func TestInstancesErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{cfg: gateway.Config{MaxInstances: 3}})
	f := func(body string, status int, code, field string) {
		t.Helper()
		wantError(t, s.predict(t, body), status, code, field)
	}
	route := `{"model_id":"` + servingtest.Route + `",`
	f(route+`"instances":[]}`, 400, "invalid_field", "instances")
	f(route+`"instances":{"a":1}}`, 400, "invalid_field", "instances")
	f(route+`"instances":[{},{},{},{}]}`, 413, "too_many_instances", "instances")
	f(route+`"instances":[{}],"features":{}}`, 400, "invalid_field", "instances")
}

// featuresOf returns the features object of a single request's body.
func featuresOf(tb testing.TB, body string) string {
	tb.Helper()
	var v struct {
		Features json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		tb.Fatal(err)
	}
	return string(v.Features)
}
