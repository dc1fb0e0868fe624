package target

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
)

func readModels(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/models.json")
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestSignatureFromJSON(t *testing.T) {
	t.Parallel()
	data := readModels(t)
	const n = 2000
	src, err := SignatureFromJSON(data, "customer-churn", n, 7)
	if err != nil {
		t.Fatal(err)
	}
	contracts := []string{"month-to-month", "one-year", "two-year"}
	payments := []string{"bank-transfer", "credit-card", "electronic-check", `mailed "check"`}
	present := map[string]int{}
	seen := map[string]map[any]bool{}
	for seq := range uint64(n) {
		body := src.Body(seq)
		if !bytes.Equal(body, src.Body(seq+n)) {
			t.Fatalf("Body(%d) and Body(%d) differ: the bodies do not cycle", seq, seq+n)
		}
		r := decode(t, body)
		if r.ModelID != "customer-churn" {
			t.Fatalf("body %d: model_id %q", seq, r.ModelID)
		}
		for _, req := range []string{"tenure_months", "constant", "contract", "region"} {
			if _, ok := r.Features[req]; !ok {
				t.Fatalf("body %d = %s: required feature %q missing", seq, body, req)
			}
		}
		for name, v := range r.Features {
			present[name]++
			if seen[name] == nil {
				seen[name] = map[any]bool{}
			}
			seen[name][v] = true
			switch name {
			case "contract", "payment_method", "region":
				s, ok := v.(string)
				switch {
				case !ok:
					t.Fatalf("body %d: %s = %v, want a string", seq, name, v)
				case name == "contract" && !slices.Contains(contracts, s),
					name == "payment_method" && !slices.Contains(payments, s),
					name == "region" && s != unknownCategory:
					t.Fatalf("body %d: %s = %q, not in the vocabulary", seq, name, s)
				}
			default:
				x, ok := v.(float64)
				if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("body %d: %s = %v, want a finite number", seq, name, v)
				}
				if math.Abs(x*100-math.Round(x*100)) > 1e-6 {
					t.Errorf("body %d: %s = %v, want 2 decimals at most", seq, name, x)
				}
				check := func(lo, hi float64) {
					if x < lo || x > hi {
						t.Errorf("body %d: %s = %v, want within [%v, %v]", seq, name, x, lo, hi)
					}
				}
				switch name {
				case "tenure_months": // mean >= 0: clipped at 0
					check(0, 32.37+3*24.56)
				case "monthly_charges":
					check(0, 64.76+3*30.09)
				case "balance_delta": // a negative mean: may go below 0
					check(-12.5-3*40, -12.5+3*40)
				case "constant":
					check(0, 0)
				default:
					t.Errorf("body %d: unexpected feature %q", seq, name)
				}
			}
		}
	}
	for _, opt := range []string{"monthly_charges", "balance_delta", "payment_method"} {
		if f := float64(present[opt]) / n; f < 0.75 || f > 0.85 {
			t.Errorf("optional feature %q is in %.1f%% of the bodies, want about 80%%", opt, 100*f)
		}
	}
	if len(seen["contract"]) != 3 || len(seen["payment_method"]) != 4 {
		t.Errorf("categorical values seen: contract %v, payment_method %v; want the whole vocabularies", seen["contract"], seen["payment_method"])
	}
	if len(seen["tenure_months"]) < n/10 {
		t.Errorf("tenure_months took %d distinct values in %d bodies: not random", len(seen["tenure_months"]), n)
	}
	var below0 bool
	for v := range seen["balance_delta"] {
		below0 = below0 || v.(float64) < 0
	}
	if !below0 {
		t.Error("balance_delta (mean -12.5) never went below zero")
	}

	// The same seed gives the same bodies; another seed others.
	same, _ := SignatureFromJSON(data, "customer-churn", n, 7)
	other, _ := SignatureFromJSON(data, "customer-churn", n, 8)
	differ := 0
	for seq := range uint64(n) {
		if !bytes.Equal(src.Body(seq), same.Body(seq)) {
			t.Fatalf("seed 7 twice: body %d differs: %s vs %s", seq, src.Body(seq), same.Body(seq))
		}
		if !bytes.Equal(src.Body(seq), other.Body(seq)) {
			differ++
		}
	}
	if differ < n/2 {
		t.Errorf("seeds 7 and 8 give the same body %d times in %d", n-differ, n)
	}
}

func TestSignatureFromJSONErrors(t *testing.T) {
	t.Parallel()
	models := readModels(t)
	f := func(data []byte, route string, n int, want ...string) {
		t.Helper()
		_, err := SignatureFromJSON(data, route, n, 1)
		if err == nil {
			t.Errorf("route %q n %d: no error, want %q", route, n, want)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("route %q n %d: error %q does not contain %q", route, n, err, w)
			}
		}
	}
	f(models, "fraud", 10, `unknown route "fraud"`, `["customer-churn" "churn-canary"]`)
	f(models, "", 10, "name the route to call", `["customer-churn" "churn-canary"]`)
	f(models, "customer-churn", 0, "n must be at least 1")
	f([]byte(`{"models": []}`), "x", 1, "the gateway serves no models")
	f([]byte(`{"models": [`), "x", 1, "cannot read the model list")
	f([]byte(`{"models": [{"route": "r", "features": [{"name": "a", "type": "text"}]}]}`), "r", 1,
		`route "r": features[0]: feature "a": unknown type "text"`)
	f([]byte(`{"models": [{"route": "r", "features": [{"type": "numeric"}]}]}`), "r", 1, "features[0]: the feature has no name")

	// With one route, the route may be left out.
	src, err := SignatureFromJSON([]byte(`{"models": [{"route": "only", "features": [{"name": "x", "type": "numeric", "required": true, "mean": 1, "std": 1}]}]}`), "", 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, src.Body(0)); r.ModelID != "only" {
		t.Errorf("model_id %q, want the only route", r.ModelID)
	}
}

func TestSignatureOverHTTP(t *testing.T) {
	t.Parallel()
	models := readModels(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/models" {
			http.Error(w, "no such endpoint", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(models)
	}))
	t.Cleanup(srv.Close)

	src, err := Signature(srv.URL+"/", "churn-canary", 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := SignatureFromJSON(models, "churn-canary", 5, 3)
	for seq := range uint64(5) {
		if got := src.Body(seq); !bytes.Equal(got, want.Body(seq)) {
			t.Errorf("body %d = %s, want %s", seq, got, want.Body(seq))
		}
	}

	if _, err := Signature(srv.URL+"/nested", "churn-canary", 5, 3); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("wrong path: error %v, want the 404", err)
	}
	if _, err := Signature(srv.URL, "nope", 5, 3); err == nil || !strings.Contains(err.Error(), srv.URL+"/v1/models: unknown route") {
		t.Errorf("unknown route: error %v, want it to name the URL and the route", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := Signature(closed.URL, "r", 1, 1); err == nil || !strings.Contains(err.Error(), "is the gateway's admin port at "+closed.URL) {
		t.Errorf("no server: error %v, want a hint naming the admin URL", err)
	}
}
