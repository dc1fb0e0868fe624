package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/trainer"
	"github.com/valyala/fasthttp"
)

// feedbackAnswer is the body of a 200 from POST /v1/feedback.
type feedbackAnswer struct {
	RequestID    string  `json:"request_id"`
	Route        string  `json:"route"`
	ModelVersion string  `json:"model_version"`
	Probability  float64 `json:"probability"`
	Label        bool    `json:"label"`
	Correct      bool    `json:"correct"`
}

func label(t *testing.T, s *server, id string, value string, status int, headers ...string) reply {
	t.Helper()
	r := do(t, s.public, fasthttp.MethodPost, "/v1/feedback", `{"request_id":"`+id+`","label":`+value+`}`, headers...)
	if r.status != status {
		t.Fatalf("label %s=%s: status %d, body %s; want %d", id, value, r.status, r.body, status)
	}
	return r
}

// exactAUC is the Mann-Whitney AUC of scores against labels, ties counted
// half: the definition, by sorting.
func exactAUC(p []float64, y []bool) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var pos, neg, sum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		var tiedPos, tiedNeg float64
		for _, k := range idx[i:j] {
			if y[k] {
				tiedPos++
			} else {
				tiedNeg++
			}
		}
		sum += tiedPos * (neg + tiedNeg/2)
		pos, neg = pos+tiedPos, neg+tiedNeg
		i = j
	}
	return sum / (pos * neg)
}

// TestFeedback: ground truth sent for predictions made through every
// protocol joins them: the report's accuracy and AUC equal an independent
// computation over the same answers and labels, and every refusal says why.
func TestFeedback(t *testing.T) {
	t.Parallel()
	const route = "churn-feedback"
	s := newServer(t, options{route: route})
	_, d := servingtest.Demo(t)
	churned := d.Column(trainer.ChurnTarget)

	const rows = 300
	probs := make([]float64, rows)
	truth := make([]bool, rows)
	for i := range rows {
		id := fmt.Sprintf("fb-%d", i)
		r := s.predict(t, strings.Replace(requestBody(t, d, i), `"customer-churn"`, `"`+route+`"`, 1), "X-Request-Id", id)
		if r.status != fasthttp.StatusOK {
			t.Fatalf("row %d: status %d, body %s", i, r.status, r.body)
		}
		var p prediction
		decode(t, r, &p)
		probs[i], truth[i] = *p.Probability, churned.Numbers[i] == 1
	}
	for i := range rows {
		value := "0"
		if truth[i] {
			value = "true" // both spellings are labels
		}
		var a feedbackAnswer
		decode(t, label(t, s, fmt.Sprintf("fb-%d", i), value, 200), &a)
		if a.Route != route || a.ModelVersion != "1.0.0" || a.Probability != probs[i] || a.Label != truth[i] || a.Correct != ((probs[i] >= 0.5) == truth[i]) {
			t.Fatalf("row %d: %+v; predicted %v, truth %v", i, a, probs[i], truth[i])
		}
	}

	var rep struct {
		Route    string
		Versions []feedback.Report
		Store    feedback.Stats
	}
	r := do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/feedback", "")
	if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 {
		t.Fatalf("report: status %d, body %s (%v)", r.status, r.body, err)
	}
	if len(rep.Versions) != 1 || rep.Versions[0].Version != "1.0.0" || rep.Versions[0].Labels != rows {
		t.Fatalf("report versions %+v, want 1.0.0 with %d labels", rep.Versions, rows)
	}
	v := rep.Versions[0]
	correct, positives := 0, 0
	var logLoss float64
	for i := range rows {
		if (probs[i] >= 0.5) == truth[i] {
			correct++
		}
		p := min(max(probs[i], 1e-15), 1-1e-15)
		if truth[i] {
			positives++
			logLoss -= math.Log(p)
		} else {
			logLoss -= math.Log(1 - p)
		}
	}
	auc := exactAUC(probs, truth)
	if v.Accuracy != float64(correct)/rows || v.Positives != uint64(positives) || math.Abs(v.LogLoss-logLoss/rows) > 1e-6 ||
		v.AUC == nil || v.AUCErrorBound == nil || math.Abs(*v.AUC-auc) > *v.AUCErrorBound+1e-12 {
		t.Fatalf("report %+v; want accuracy %v, %d positives, log loss %v, AUC %v", v, float64(correct)/rows, positives, logLoss/rows, auc)
	}
	t.Logf("%d labels: accuracy %.4f, AUC %.4f (exact %.4f, bound %.2g), log loss %.4f", rows, v.Accuracy, *v.AUC, auc, *v.AUCErrorBound, v.LogLoss)

	// Refusals.
	wantError(t, label(t, s, "fb-0", "1", 409), 409, "conflict", "request_id")
	wantError(t, label(t, s, "never-made", "1", 404), 404, "not_found", "request_id")
	wantError(t, label(t, s, "fb-1", "2", 400), 400, "invalid_field", "label")
	wantError(t, label(t, s, "fb-1", `"yes"`, 400), 400, "invalid_field", "label")
	wantError(t, do(t, s.public, "POST", "/v1/feedback", `{"label":1}`), 400, "missing_field", "request_id")
	wantError(t, do(t, s.public, "POST", "/v1/feedback", `{"request_id":"fb-1"}`), 400, "missing_field", "label")
	wantError(t, do(t, s.public, "POST", "/v1/feedback", `[1]`), 400, "invalid_json", "")
	wantError(t, do(t, s.public, "GET", "/v1/feedback", ""), 405, "method_not_allowed", "")

	// Rows of one request: ID/i.
	body := `{"model_id":"` + route + `","instances":[` + strings.Join([]string{
		features(t, requestBody(t, d, 0)), features(t, requestBody(t, d, 1))}, ",") + `]}`
	if r := s.predict(t, body, "X-Request-Id", "fb-batch"); r.status != 200 {
		t.Fatalf("instances: %d %s", r.status, r.body)
	}
	label(t, s, "fb-batch/1", "1", 200)
	label(t, s, "fb-batch", "1", 404)

	// The Open Inference Protocol: the answer's X-Request-Id, one row.
	v2 := do(t, s.public, "POST", "/v2/models/"+route+"/infer", `{"inputs":[`+
		`{"name":"tenure_months","shape":[1],"datatype":"FP32","data":[24]},{"name":"monthly_charges","shape":[1],"datatype":"FP32","data":[89.99]},`+
		`{"name":"contract","shape":[1],"datatype":"BYTES","data":["month-to-month"]},{"name":"support_calls","shape":[1],"datatype":"INT32","data":[3]}]}`)
	id := v2.get("X-Request-Id")
	if v2.status != 200 || id == "" {
		t.Fatalf("v2: %d %s, X-Request-Id %q", v2.status, v2.body, id)
	}
	label(t, s, id, "0", 200)

	r = do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/feedback", "")
	if err := json.Unmarshal(r.body, &rep); err != nil || rep.Versions[0].Labels != rows+2 || rep.Store.DuplicateLabels != 1 || rep.Store.UnknownLabels != 2 {
		t.Fatalf("report after the refusals: %s (%v)", r.body, err)
	}
	// The figures are metrics too.
	m := do(t, s.admin, fasthttp.MethodGet, "/metrics", "").body
	if got, ok := metricValue(m, `infergate_feedback_labels_total{route="`+route+`",version="1.0.0"}`); !ok || got != rows+2 {
		t.Errorf("infergate_feedback_labels_total = %v (present %v), want %d", got, ok, rows+2)
	}
}

// features returns the features object of a /v1 body.
func features(t *testing.T, body string) string {
	t.Helper()
	var b struct{ Features json.RawMessage }
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	return string(b.Features)
}

// TestFeedbackTenants: a tenant's labels find only the predictions made with
// its own keys; another tenant's request id is unknown to it, even when it
// may call the same route.
func TestFeedbackTenants(t *testing.T) {
	t.Parallel()
	s, _ := securedServer(t)
	bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	for _, id := range []string{"t-batch", "t-other"} {
		key := keyBatch
		if id == "t-other" {
			key = keyOther
		}
		body := validBody
		if key == keyOther {
			body = strings.Replace(validBody, servingtest.Route, "other", 1)
		}
		if r := do(t, s.public, "POST", "/v1/predictions", body, slices.Concat(bearer(key), []string{"X-Request-Id", id})...); r.status != 200 {
			t.Fatalf("predict %s: %d %s", id, r.status, r.body)
		}
	}
	label(t, s, "t-batch", "1", 401)
	wantError(t, label(t, s, "t-batch", "1", 404, bearer(keyOther)...), 404, "not_found", "request_id")
	wantError(t, label(t, s, "t-other", "1", 404, bearer(keyBatch)...), 404, "not_found", "request_id")
	label(t, s, "t-batch", "1", 200, bearer(keyBatch)...)
	label(t, s, "t-other", "0", 200, bearer(keyOther)...)
}
