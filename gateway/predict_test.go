package gateway_test

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/trainer"
	"github.com/valyala/fasthttp"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestPredictHappyPath(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	r := s.predict(t, validBody)
	if r.status != fasthttp.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	var p prediction
	decode(t, r, &p)
	if p.ModelID != servingtest.Route || p.Route != servingtest.Route {
		t.Errorf("model_id %q route %q, want %q", p.ModelID, p.Route, servingtest.Route)
	}
	if p.ModelVersion != "1.0.0" {
		t.Errorf("model_version %q, want 1.0.0", p.ModelVersion)
	}
	if p.Probability == nil || *p.Probability <= 0 || *p.Probability >= 1 {
		t.Fatalf("probability %v, want in (0, 1)", p.Probability)
	}
	m, _ := servingtest.Demo(t)
	if want := m.Signature.Output.LabelFor(*p.Probability); p.Prediction != want {
		t.Errorf("prediction %q for probability %v, want %q", p.Prediction, *p.Probability, want)
	}
	if p.LatencyMS == nil || *p.LatencyMS < 0 || *p.LatencyMS > 60_000 {
		t.Errorf("latency_ms %v, want a duration in milliseconds", p.LatencyMS)
	}
	if !generatedID.MatchString(p.RequestID) || r.get("X-Request-Id") != p.RequestID {
		t.Errorf("request_id %q, X-Request-Id %q: want the same generated 32-hex id", p.RequestID, r.get("X-Request-Id"))
	}
	for name, want := range map[string]string{
		"X-Infergate-Route":         servingtest.Route,
		"X-Infergate-Model-Version": "1.0.0",
		"Content-Type":              "application/json",
	} {
		if got := r.get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	seen := map[string]bool{}
	f := func(sent string, echoed bool) {
		t.Helper()
		var r reply
		if sent == "" {
			r = s.predict(t, validBody)
		} else {
			r = s.predict(t, validBody, "X-Request-Id", sent)
		}
		if r.status != fasthttp.StatusOK {
			t.Fatalf("X-Request-Id %q: status %d, body %s", sent, r.status, r.body)
		}
		var p prediction
		decode(t, r, &p)
		got := r.get("X-Request-Id")
		if got != p.RequestID {
			t.Errorf("X-Request-Id %q: header %q and body %q differ", sent, got, p.RequestID)
		}
		if echoed {
			if got != sent {
				t.Errorf("X-Request-Id %q: answered %q, want it echoed", sent, got)
			}
			return
		}
		if !generatedID.MatchString(got) {
			t.Errorf("X-Request-Id %q: answered %q, want a generated 32-hex id", sent, got)
		}
		if seen[got] {
			t.Errorf("generated id %q twice", got)
		}
		seen[got] = true
	}
	f("", false)
	f("", false)
	f("", false)
	f("abc-123", true)
	f("trace:0af7651916cd43dd8448eb211c80319c/span=b7ad6b7169203331", true)
	f(strings.Repeat("a", 128), true)
	f(strings.Repeat("a", 129), false) // too long
	f(`a"b`, false)                    // quote
	f(`a\b`, false)                    // backslash
	f("a\tb", false)                   // control character
	f("a b", false)                    // space
	f("caf\xc3\xa9", false)            // not ASCII

	// Characters fasthttp refuses in any header value never reach the
	// handler: the request is answered 400, as JSON, without echoing the
	// request back.
	for _, sent := range []string{"a\x01b", "a\x7fb", "a\x00b"} {
		r := s.predict(t, validBody, "X-Request-Id", sent, "X-Secret", "hunter2")
		var e errorBody
		decode(t, r, &e)
		if r.status != fasthttp.StatusBadRequest || strings.Contains(string(r.body), "hunter2") {
			t.Errorf("X-Request-Id %q: status %d, body %s; want 400 that does not echo the request", sent, r.status, r.body)
		}
	}
}

// TestPredictionsEqualPureGo posts rows of the demo dataset through the whole
// stack and compares each probability with the logistic model computed here
// in float64, from the model's weights and signature, without the registry
// encoder or ONNX Runtime.
func TestPredictionsEqualPureGo(t *testing.T) {
	t.Parallel()
	const rows, tolerance = 300, 1e-5
	s := newServer(t, options{batching: batcher.Config{MaxBatchSize: 32}})
	m, d := servingtest.Demo(t)
	if d.Rows() < rows {
		t.Fatalf("the demo dataset has %d rows, want %d", d.Rows(), rows)
	}

	// Hold the model while every request queues, so that batches form for
	// certain, then let them run.
	s.gate.Hold()
	got := make([]float64, rows)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Go(func() {
			r := s.predict(t, requestBody(t, d, i))
			if r.status != fasthttp.StatusOK {
				t.Errorf("row %d: status %d, body %s", i, r.status, r.body)
				return
			}
			var p prediction
			decode(t, r, &p)
			got[i] = *p.Probability
		})
	}
	target := s.table.Routes()[0].Target()
	waitFor(t, "every row to be queued or held", func() bool {
		return s.gate.Blocked()+target.QueueDepth() == rows
	})
	s.gate.Release()
	wg.Wait()
	if t.Failed() {
		return
	}
	if s.gate.Rows() != rows || s.gate.MaxBatch() < 2 {
		t.Errorf("the model computed %d rows in %d batches of at most %d, want %d rows in batches",
			s.gate.Rows(), s.gate.Batches(), s.gate.MaxBatch(), rows)
	}

	maxDiff := 0.0
	for i := range rows {
		want := logistic(t, m, d, i)
		diff := math.Abs(got[i] - want)
		maxDiff = max(maxDiff, diff)
		if diff > tolerance || math.IsNaN(got[i]) {
			t.Errorf("row %d: probability %v, pure Go %v (diff %.3g)", i, got[i], want, diff)
		}
	}
	t.Logf("%d rows in %d batches (largest %d): max |gateway - pure Go| = %.3g",
		rows, s.gate.Batches(), s.gate.MaxBatch(), maxDiff)
}

// requestBody is row i of d as a prediction request: every column by its
// raw value, missing cells omitted, the entity key and target included (the
// gateway ignores what the signature does not list).
func requestBody(tb testing.TB, d *trainer.Dataset, i int) string {
	tb.Helper()
	features := map[string]any{}
	for _, c := range d.Columns {
		switch {
		case c.Missing(i):
		case c.Kind == trainer.Categorical:
			features[c.Name] = c.Strings[i]
		default:
			features[c.Name] = c.Numbers[i]
		}
	}
	b, err := json.Marshal(map[string]any{"model_id": servingtest.Route, "features": features})
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// logistic is sigmoid(w·x + b) for row i of d, with x encoded here from the
// signature's statistics in float64.
func logistic(tb testing.TB, m *trainer.Model, d *trainer.Dataset, i int) float64 {
	tb.Helper()
	z := float64(m.Bias)
	col := 0
	for _, f := range m.Signature.Features {
		c := d.Column(f.Name)
		missing := c == nil || c.Missing(i)
		switch f.Type {
		case registry.Numeric:
			v := f.Impute
			if !missing {
				v = c.Numbers[i]
			}
			std := f.Std
			if std == 0 {
				std = 1
			}
			z += float64(m.Weights[col]) * (v - f.Mean) / std
		case registry.Categorical:
			hot := len(f.Vocabulary) // the unknown bucket
			if !missing {
				for j, v := range f.Vocabulary {
					if v == c.Strings[i] {
						hot = j
					}
				}
			} else if f.Required {
				tb.Fatalf("row %d: required feature %q is missing", i, f.Name)
			}
			z += float64(m.Weights[col+hot])
		default:
			tb.Fatalf("feature %q: type %q", f.Name, f.Type)
		}
		col += f.Width()
	}
	if col != len(m.Weights) {
		tb.Fatalf("signature encodes %d columns, the model has %d weights", col, len(m.Weights))
	}
	return 1 / (1 + math.Exp(-z))
}
