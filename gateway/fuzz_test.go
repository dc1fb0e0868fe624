package gateway_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzPredictions feeds arbitrary bodies to POST /v1/predictions over the real
// serving stack: the handler must never panic, and must always answer one of
// the statuses the API documents for a request body with JSON that parses:
// a prediction with a finite probability, or an error with a code.
func FuzzPredictions(f *testing.F) {
	for _, seed := range []string{
		validBody,
		without("total_charges"),
		without("contract"),
		withFeature("contract", `"not-a-contract"`),
		withFeature("contract", `1`),
		withFeature("tenure_months", `"24"`),
		withFeature("tenure_months", `-0`),
		withFeature("payment_method", `null`),
		`{"model_id":"customer-churn","features":{}}`,
		`{"model_id":"nope","features":{}}`,
		`{"model_id":"customer-churn"}`,
		`{"features":{}}`,
		`{}`, `[]`, `null`, `1`, `""`, ``, `{`, `{"model_id":`,
		`{"model_id":"customer-churn","features":{"tenure_months":1,"tenure_months":"x"}}`,
		`{"model_id":"customer-\u0000churn","features":{}}`,
		`{"model_id":"\ud800","features":{}}`,
		strings.Repeat(`[`, 10000),
		// Regressions: fastjson takes NaN and 1e999 as numbers, and values
		// beyond float32 once standardised; they answered "probability":NaN.
		withFeature("monthly_charges", `NaN`),
		withFeature("tenure_months", `1e999`),
		withFeature("support_calls", `-1e300`),
		`{"model_id":"customer-churn","features":{"tenure_months":3e39,"monthly_charges":3e39,"total_charges":-3e39,"support_calls":-3e39,"contract":"two-year"}}`,
	} {
		f.Add([]byte(seed))
	}
	s := newServer(f, options{})
	h := s.g.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", "")
		ctx.Request.SetBody(body)
		h(ctx)
		status, out := ctx.Response.StatusCode(), ctx.Response.Body()
		switch status {
		case fasthttp.StatusOK:
			var p struct {
				Probability *float64 `json:"probability"`
				Prediction  string   `json:"prediction"`
			}
			if err := json.Unmarshal(out, &p); err != nil || p.Probability == nil ||
				math.IsNaN(*p.Probability) || *p.Probability < 0 || *p.Probability > 1 || p.Prediction == "" {
				t.Fatalf("200 with body %q (%v)", out, err)
			}
		case fasthttp.StatusBadRequest, fasthttp.StatusNotFound, fasthttp.StatusRequestEntityTooLarge,
			fasthttp.StatusTooManyRequests, fasthttp.StatusGatewayTimeout:
			var e errorBody
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d with body %q (%v)", status, out, err)
			}
		default:
			t.Fatalf("status %d, body %q", status, out)
		}
	})
}
