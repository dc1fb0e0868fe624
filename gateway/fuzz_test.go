package gateway_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
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
		`{"model_id":"customer-churn","instances":[` + featuresObject + `,{"tenure_months":"x"},3]}`,
		`{"model_id":"customer-churn","instances":[]}`,
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
				answer
				Predictions []struct {
					answer
					Error *struct{ Code, Message string }
				}
			}
			if err := json.Unmarshal(out, &p); err != nil {
				t.Fatalf("200 with body %q (%v)", out, err)
			}
			if p.Predictions == nil {
				p.check(t, out)
			}
			for _, one := range p.Predictions {
				if one.Error == nil {
					one.check(t, out)
				} else if one.Error.Code == "" || one.Error.Message == "" {
					t.Fatalf("an instance's error without code or message: %q", out)
				}
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

// featuresObject is validBody's features object.
const featuresObject = `{"customer_id":"C000001","tenure_months":3,"monthly_charges":89.5,"total_charges":268.5,` +
	`"contract":"month-to-month","support_calls":4,"payment_method":"electronic-check","paperless_billing":"yes"}`

// answer is one prediction of a 200 body.
type answer struct {
	Probability *float64 `json:"probability"`
	Prediction  string   `json:"prediction"`
}

func (a *answer) check(t *testing.T, body []byte) {
	t.Helper()
	if a.Probability == nil || math.IsNaN(*a.Probability) || *a.Probability < 0 || *a.Probability > 1 || a.Prediction == "" {
		t.Fatalf("200 with body %q", body)
	}
}

// FuzzV2Infer feeds arbitrary bodies to the Open Inference Protocol's infer
// endpoint: the handler never panics, a 200 has every output with one value
// per row and finite probabilities, and anything else is {"error": "..."}
// with a status the protocol uses.
func FuzzV2Infer(f *testing.F) {
	row := `{"name":"tenure_months","shape":[1],"datatype":"FP32","data":[3]},` +
		`{"name":"monthly_charges","shape":[1],"datatype":"FP64","data":[89.5]},` +
		`{"name":"contract","shape":[1],"datatype":"BYTES","data":["month-to-month"]},` +
		`{"name":"support_calls","shape":[1,1],"datatype":"INT32","data":[[4]]}`
	for _, seed := range []string{
		`{"id":"1","inputs":[` + row + `]}`,
		`{"inputs":[` + row + `],"outputs":[{"name":"label"}],"parameters":{"timeout":1000000,"priority":1}}`,
		`{"inputs":[{"name":"tenure_months","shape":[2],"datatype":"BOOL","data":[true,false]},{"name":"contract","shape":[2],"datatype":"BYTES","data":["a","b"]}]}`,
		`{"inputs":[{"name":"tenure_months","shape":[2],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[]}`, `{}`, `[]`, ``, `{"inputs":[{"name":"x"}]}`,
		`{"id":"42","inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT32","data":[1,2,3,4]}]}`,
	} {
		f.Add([]byte(seed))
	}
	s := newServer(f, options{})
	h := s.g.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := directRequest(fasthttp.MethodPost, "/v2/models/customer-churn/infer", "")
		ctx.Request.SetBody(body)
		h(ctx)
		status, out := ctx.Response.StatusCode(), ctx.Response.Body()
		switch status {
		case fasthttp.StatusOK:
			var r struct {
				Outputs []struct {
					Name  string
					Shape []int
					Data  []any
				}
			}
			if err := json.Unmarshal(out, &r); err != nil || len(r.Outputs) == 0 {
				t.Fatalf("200 with body %q (%v)", out, err)
			}
			for _, o := range r.Outputs {
				if len(o.Shape) != 1 || len(o.Data) != o.Shape[0] {
					t.Fatalf("output %s: shape %v with %d values: %q", o.Name, o.Shape, len(o.Data), out)
				}
				if o.Name == "probability" {
					for _, v := range o.Data {
						if p, ok := v.(float64); !ok || p < 0 || p > 1 {
							t.Fatalf("probability %v: %q", v, out)
						}
					}
				}
			}
		case fasthttp.StatusBadRequest, fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
			var e struct{ Error string }
			if err := json.Unmarshal(out, &e); err != nil || e.Error == "" {
				t.Fatalf("%d with body %q (%v)", status, out, err)
			}
		default:
			t.Fatalf("status %d, body %q", status, out)
		}
	})
}

// FuzzFeedback feeds arbitrary bodies to POST /v1/feedback, whose store
// holds predictions logged under ids p0…p9: the handler never panics; a 200
// names one of them with a 0/1 label, and a prediction is labelled at most
// once; anything else is an error body with its code.
func FuzzFeedback(f *testing.F) {
	for _, seed := range []string{
		`{"request_id":"p0","label":1}`, `{"request_id":"p1","label":false}`, `{"request_id":"p2","label":true}`,
		`{"request_id":"p3","label":0.5}`, `{"request_id":"p4","label":"1"}`, `{"request_id":"nope","label":1}`,
		`{"request_id":1,"label":1}`, `{"label":1}`, `{"request_id":"p5"}`, `{}`, `[]`, ``, `{`,
		`{"request_id":"p6","label":1,"request_id":"p7"}`, `{"request_id":"p8\u0000","label":1}`,
		`{"request_id":"` + strings.Repeat("x", 200) + `","label":1}`,
	} {
		f.Add([]byte(seed))
	}
	s := newServer(f, options{})
	h := s.g.Handler()
	for i := range 10 {
		ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", "")
		ctx.Request.Header.Set("X-Request-Id", "p"+strconv.Itoa(i))
		ctx.Request.SetBodyString(validBody)
		h(ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			f.Fatalf("prediction p%d: %d %s", i, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	var mu sync.Mutex
	labelled := map[string]bool{}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := directRequest(fasthttp.MethodPost, "/v1/feedback", "")
		ctx.Request.SetBody(body)
		h(ctx)
		status, out := ctx.Response.StatusCode(), ctx.Response.Body()
		switch status {
		case fasthttp.StatusOK:
			var a struct {
				RequestID   string  `json:"request_id"`
				Probability float64 `json:"probability"`
			}
			if err := json.Unmarshal(out, &a); err != nil || len(a.RequestID) != 2 || a.RequestID[0] != 'p' || !(a.Probability > 0 && a.Probability < 1) {
				t.Fatalf("200 with body %q (%v)", out, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if labelled[a.RequestID] {
				t.Fatalf("%s labelled twice: %q", a.RequestID, out)
			}
			labelled[a.RequestID] = true
		case fasthttp.StatusBadRequest, fasthttp.StatusNotFound, fasthttp.StatusConflict:
			var e errorBody
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d with body %q (%v)", status, out, err)
			}
		default:
			t.Fatalf("status %d, body %q", status, out)
		}
	})
}
