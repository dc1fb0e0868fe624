package gateway_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/valyala/fasthttp"
)

// without returns validBody with the named feature left out.
func without(name string) string {
	return withFeature(name, "")
}

// withFeature returns validBody with the named feature's value replaced by
// raw JSON, or left out when raw is "".
func withFeature(name, raw string) string {
	start := strings.Index(validBody, `"`+name+`":`)
	if start < 0 {
		panic("BUG: validBody has no feature " + name)
	}
	end := start + strings.IndexAny(validBody[start:], ",}")
	if raw != "" {
		return validBody[:start] + `"` + name + `":` + raw + validBody[end:]
	}
	if validBody[end] == ',' {
		end++
	} else if validBody[start-1] == ',' {
		start--
	}
	return validBody[:start] + validBody[end:]
}

// wantError checks that r is a JSON error with the given status, code and
// field, and returns it.
func wantError(tb testing.TB, r reply, status int, code, field string) errorBody {
	tb.Helper()
	var e errorBody
	decode(tb, r, &e)
	if r.status != status || e.Error.Code != code || e.Error.Field != field {
		tb.Errorf("got %d %q field %q (%s), want %d %q field %q", r.status, e.Error.Code, e.Error.Field, e.Error.Message, status, code, field)
	}
	if e.Error.Message == "" {
		tb.Errorf("status %d: empty error message", r.status)
	}
	if ct := r.get("Content-Type"); ct != "application/json" {
		tb.Errorf("status %d: Content-Type %q, want application/json", r.status, ct)
	}
	return e
}

func TestPredictErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	type tc struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code, field              string
	}
	post := func(name, body string, status int, code, field string, headers ...string) tc {
		return tc{name, fasthttp.MethodPost, "/v1/predictions", body, headers, status, code, field}
	}
	const bad = fasthttp.StatusBadRequest
	for _, c := range []tc{
		post("malformed JSON", `{"model_id":`, bad, "invalid_json", ""),
		post("trailing garbage", validBody+`x`, bad, "invalid_json", ""),
		post("empty body", ``, bad, "invalid_json", ""),
		post("array body", `[1,2]`, bad, "invalid_json", ""),
		post("string body", `"customer-churn"`, bad, "invalid_json", ""),
		post("null body", `null`, bad, "invalid_json", ""),
		post("model_id missing", `{"features":{}}`, bad, "missing_field", "model_id"),
		post("model_id number", `{"model_id":1,"features":{}}`, bad, "invalid_field", "model_id"),
		post("model_id null", `{"model_id":null,"features":{}}`, bad, "invalid_field", "model_id"),
		post("unknown model", `{"model_id":"no-such-model","features":{}}`, fasthttp.StatusNotFound, "model_not_found", "model_id"),
		post("features missing", `{"model_id":"customer-churn"}`, bad, "missing_field", "features"),
		post("features array", `{"model_id":"customer-churn","features":[1]}`, bad, "invalid_field", "features"),
		post("features string", `{"model_id":"customer-churn","features":"x"}`, bad, "invalid_field", "features"),
		post("number for categorical", withFeature("contract", `1`), bad, "invalid_field", "features.contract"),
		post("object for categorical", withFeature("payment_method", `{}`), bad, "invalid_field", "features.payment_method"),
		post("string for numeric", withFeature("tenure_months", `"24"`), bad, "invalid_field", "features.tenure_months"),
		post("bool for numeric", withFeature("total_charges", `true`), bad, "invalid_field", "features.total_charges"),
		post("NaN for numeric", withFeature("monthly_charges", `NaN`), bad, "invalid_field", "features.monthly_charges"),
		post("overflow for numeric", withFeature("tenure_months", `1e999`), bad, "invalid_field", "features.tenure_months"),
		post("beyond float32 for numeric", withFeature("support_calls", `1e300`), bad, "invalid_field", "features.support_calls"),
		post("missing required", without("support_calls"), bad, "missing_feature", "features.support_calls"),
		post("null required", withFeature("contract", `null`), bad, "missing_feature", "features.contract"),
		post("bad timeout", validBody, bad, "invalid_field", "header.X-Request-Timeout", "X-Request-Timeout", "soon"),
		post("negative timeout", validBody, bad, "invalid_field", "header.X-Request-Timeout", "X-Request-Timeout", "-1s"),
		post("zero timeout", validBody, bad, "invalid_field", "header.X-Request-Timeout", "X-Request-Timeout", "0s"),
		post("unit-less timeout", validBody, bad, "invalid_field", "header.X-Request-Timeout", "X-Request-Timeout", "250"),
		post("body too large", `{"model_id":"customer-churn","features":{"pad":"`+strings.Repeat("x", testMaxBodyBytes)+`"}}`,
			fasthttp.StatusRequestEntityTooLarge, "body_too_large", ""),
		post("headers too large", validBody, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large", "",
			"X-Padding", strings.Repeat("p", testMaxHeaderBytes)),
		{"GET predictions", fasthttp.MethodGet, "/v1/predictions", "", nil, fasthttp.StatusMethodNotAllowed, "method_not_allowed", ""},
		{"PUT predictions", fasthttp.MethodPut, "/v1/predictions", validBody, nil, fasthttp.StatusMethodNotAllowed, "method_not_allowed", ""},
		{"unknown path", fasthttp.MethodGet, "/v1/predict", "", nil, fasthttp.StatusNotFound, "not_found", ""},
		{"predictions subpath", fasthttp.MethodPost, "/v1/predictions/x", validBody, nil, fasthttp.StatusNotFound, "not_found", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, s.public, c.method, c.path, c.body, c.headers...)
			wantError(t, r, c.status, c.code, c.field)
			if c.status == fasthttp.StatusMethodNotAllowed && r.get("Allow") != fasthttp.MethodPost {
				t.Errorf("Allow %q, want POST", r.get("Allow"))
			}
		})
	}
	if s.gate.Rows() != 0 {
		t.Errorf("the model computed %d rows for requests that all failed", s.gate.Rows())
	}
}

// TestNullFeatureIsAbsent: an optional feature sent as null gets the same
// answer as one left out (imputed, or the unknown bucket).
func TestNullFeatureIsAbsent(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	probability := func(body string) float64 {
		t.Helper()
		r := s.predict(t, body)
		if r.status != fasthttp.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		var p prediction
		decode(t, r, &p)
		return *p.Probability
	}
	for _, name := range []string{"total_charges", "payment_method", "paperless_billing"} {
		null, absent, given := probability(withFeature(name, "null")), probability(without(name)), probability(validBody)
		if null != absent {
			t.Errorf("%s: null gives %v, absent %v", name, null, absent)
		}
		if null == given {
			t.Errorf("%s: null gives %v, as the value does: was it read at all?", name, null)
		}
	}
}

// TestQueueFull fills the one-row queue while the instance is held: the next
// request is rejected at once with 429 and Retry-After, and the accepted
// ones complete once the model runs.
func TestQueueFull(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{batching: batcher.Config{MaxBatchSize: 1, MaxQueueSize: 1}})
	target := s.table.Routes()[0].Target()
	s.gate.Hold()
	var wg sync.WaitGroup
	accepted := func() {
		wg.Go(func() {
			if r := s.predict(t, validBody); r.status != fasthttp.StatusOK {
				t.Errorf("accepted request: status %d, body %s", r.status, r.body)
			}
		})
	}
	accepted()
	waitFor(t, "the first row to reach the model", func() bool { return s.gate.Blocked() == 1 })
	accepted()
	waitFor(t, "the second row to be queued", func() bool { return target.QueueDepth() == 1 })

	r := s.predict(t, validBody)
	wantError(t, r, fasthttp.StatusTooManyRequests, "queue_full", "")
	if r.get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.get("Retry-After"))
	}
	s.gate.Release()
	wg.Wait()
	if s.gate.Rows() != 2 {
		t.Errorf("the model computed %d rows, want the 2 accepted", s.gate.Rows())
	}
}

// TestDeadlineExceeded: a request whose deadline passes while it waits in the
// queue gets 504, and the model never computes its row.
func TestDeadlineExceeded(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{batching: batcher.Config{MaxBatchSize: 8}})
	s.gate.Hold()
	var wg sync.WaitGroup
	wg.Go(func() {
		if r := s.predict(t, validBody); r.status != fasthttp.StatusOK {
			t.Errorf("request ahead: status %d, body %s", r.status, r.body)
		}
	})
	waitFor(t, "the first row to reach the model", func() bool { return s.gate.Blocked() == 1 })

	// Queued behind the held batch until its deadline passes.
	r := s.predict(t, validBody, "X-Request-Timeout", "20ms")
	wantError(t, r, fasthttp.StatusGatewayTimeout, "deadline_exceeded", "")

	s.gate.Release()
	wg.Wait()
	// A request after it: once it is answered, the worker has taken the
	// expired row off the queue, and must have left it out of the batch.
	if r := s.predict(t, validBody); r.status != fasthttp.StatusOK {
		t.Fatalf("request after: status %d, body %s", r.status, r.body)
	}
	if s.gate.Rows() != 2 {
		t.Errorf("the model computed %d rows, want 2: the expired row was run", s.gate.Rows())
	}
}

// TestModelFailed: a batch that fails answers 500 model_failed; the next one
// succeeds again.
func TestModelFailed(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	s.gate.Fail(errors.New("injected fault"))
	e := wantError(t, s.predict(t, validBody), fasthttp.StatusInternalServerError, "model_failed", "")
	if !strings.Contains(e.Error.Message, "injected fault") {
		t.Errorf("message %q does not say why the model failed", e.Error.Message)
	}
	s.gate.Fail(nil)
	if r := s.predict(t, validBody); r.status != fasthttp.StatusOK {
		t.Errorf("after the fault: status %d, body %s", r.status, r.body)
	}
}

// TestTableClosed: once the routing table drains (a reload or shutdown
// closed it), requests get 503 with Retry-After.
func TestTableClosed(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	if err := s.table.Close(); err != nil {
		t.Fatal(err)
	}
	r := s.predict(t, validBody)
	wantError(t, r, fasthttp.StatusServiceUnavailable, "unavailable", "")
	if r.get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.get("Retry-After"))
	}
}
