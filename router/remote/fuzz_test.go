package remote

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/infergate/infergate/internal/jsonenc"

	"github.com/infergate/infergate/internal/features"
	"github.com/valyala/fastjson"
)

// FuzzAppendJSONString: whatever the bytes, the literal is JSON, and it
// decodes to them, or to them with invalid UTF-8 as U+FFFD.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f\x7f", "line\nbreak\r\t", "café ☕", "a\xffb", "\xe2\x82", "\u2028"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		lit := jsonenc.AppendBytes([]byte("prefix"), s)
		if !strings.HasPrefix(string(lit), "prefix") {
			t.Fatalf("%q: prefix lost", lit)
		}
		var got string
		if err := json.Unmarshal(lit[len("prefix"):], &got); err != nil {
			t.Fatalf("%q: not a JSON string: %v", lit, err)
		}
		if want := strings.ToValidUTF8(string(s), "\ufffd"); got != want && utf8.Valid(s) {
			t.Fatalf("%q decodes to %q, want %q", lit, got, want)
		}
		if !utf8.Valid(s) && strings.Count(got, "\ufffd") < 1 {
			t.Fatalf("%q: invalid UTF-8 %q not replaced: %q", lit, s, got)
		}
	})
}

// FuzzAppendJSONNumber: a finite number is written as JSON that reads back
// as the same float64, or float32 for a tensor element.
func FuzzAppendJSONNumber(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -24, 0.1, 1e-6, 9.99e-7, 1e21, 9.99e20, math.MaxFloat64, math.SmallestNonzeroFloat64, math.MaxFloat32} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if !isFinite(x) {
			return
		}
		var got float64
		b := appendJSONNumber(nil, x, 64)
		if err := json.Unmarshal(b, &got); err != nil || got != x {
			t.Fatalf("%v: wrote %s, read back %v (%v)", x, b, got, err)
		}
		x32 := float32(x)
		if !isFinite(float64(x32)) {
			return
		}
		b = appendJSONNumber(nil, float64(x32), 32)
		back, err := strconv.ParseFloat(string(b), 32)
		if err != nil || float32(back) != x32 || !json.Valid(b) {
			t.Fatalf("float32 %v: wrote %s, read back %v (%v)", x32, b, back, err)
		}
	})
}

// FuzzParseAnswer: no body makes the parsers panic, and an answer they accept
// has a finite probability.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"model_id":"churn","prediction":"churn","probability":0.83,"model_version":"1.2.0"}`,
		`{"probability":NaN}`, `{"probability":1e999}`, `{"probability":"1"}`, `[]`, `null`, ``, `{`,
		`{"outputs":[{"name":"p","datatype":"FP32","shape":[1,1],"data":[0.5]}]}`,
		`{"outputs":[{"name":"p","data":[[[[0.5]]]]}]}`, `{"outputs":[{"name":"p","data":[[]]}]}`,
		`{"outputs":[1,{"name":"p","data":[0.5]}]}`, `{"model_version":"3","outputs":[{"name":"q","data":[-inf]}]}`,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "p")
	}
	f.Fuzz(func(t *testing.T, body []byte, output string) {
		var p fastjson.Parser
		for _, parse := range []func(*Answer) error{
			func(a *Answer) error { return parseInfergate(&p, body, a) },
			func(a *Answer) error { return parseV2(&p, body, output, a) },
		} {
			a := Answer{Probability: 7}
			if err := parse(&a); err != nil {
				if a.Probability != 7 {
					t.Fatalf("%q: a failed parse wrote the answer: %+v", body, a)
				}
				continue
			}
			if !isFinite(a.Probability) {
				t.Fatalf("%q: accepted probability %v", body, a.Probability)
			}
		}
	})
}

// FuzzFeaturesBody: any names and strings make a JSON body that carries
// them; non-finite numbers fail the call before it is sent.
func FuzzFeaturesBody(f *testing.F) {
	f.Add([]byte("tenure_months"), 24.0, []byte("contract"), []byte("month-to-month"))
	f.Add([]byte(`"`), math.Inf(1), []byte("\xff"), []byte("\x00"))
	f.Fuzz(func(t *testing.T, numName []byte, x float64, strName, str []byte) {
		var set features.Set
		set.AddNumber(numName, x)
		set.AddString(strName, str)
		b, err := appendFeaturesBody(nil, jsonenc.AppendBytes(nil, []byte("m")), &set)
		if !isFinite(x) {
			if err == nil {
				t.Fatalf("%v: encoded as %s", x, b)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var decoded struct {
			ModelID  string                     `json:"model_id"`
			Features map[string]json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(b, &decoded); err != nil || decoded.ModelID != "m" {
			t.Fatalf("%s: %v", b, err)
		}
		if len(decoded.Features) == 0 || len(decoded.Features) > 2 {
			t.Fatalf("%s: %d features", b, len(decoded.Features))
		}
	})
}

// splitTimeout checks that a v2 body starts with the timeout parameter, a
// call's remaining time of at most 250ms, and returns the body without it.
func splitTimeout(t *testing.T, b []byte) string {
	t.Helper()
	rest, ok := strings.CutPrefix(string(b), `{"parameters":{"timeout":`)
	if !ok {
		t.Fatalf("%s: no timeout parameter first", b)
	}
	n, rest, _ := strings.Cut(rest, "},")
	if us, err := strconv.Atoi(n); err != nil || us > 250000 || us < 200000 {
		t.Errorf("timeout %q µs, want the call's remaining time, up to 250000", n)
	}
	return "{" + rest
}

func TestAppendTensorBody(t *testing.T) {
	t.Parallel()
	f := func(input, output string, row []float32, want string) {
		t.Helper()
		head, tail := tensorBodyParts(input, output)
		b, err := appendTensorBody([]byte("old"), head, tail, row, time.Now().Add(250*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b[len("old"):]) {
			t.Errorf("%s is not JSON", b)
		}
		if got := splitTimeout(t, b[len("old"):]); got != want {
			t.Errorf("body\n%s\nwant\n%s", got, want)
		}
	}
	f("input", "", []float32{0.5}, `{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[0.5]}]}`)
	f("in\"put", "prob", []float32{1, -0.1, 3e-7, 1e30},
		`{"inputs":[{"name":"in\"put","shape":[1,4],"datatype":"FP32","data":[1,-0.1,3e-07,1e+30]}],"outputs":[{"name":"prob"}]}`)
	_, err := appendTensorBody(nil, nil, nil, []float32{1, float32(math.NaN())}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "column 1") {
		t.Errorf("NaN: error %v, want one naming column 1", err)
	}
}

// TestAppendV2FeaturesBody: a v2 remote of inputs: features gets one input
// per feature, named after it, FP32 for a number and BYTES for a string.
func TestAppendV2FeaturesBody(t *testing.T) {
	t.Parallel()
	var f features.Set
	f.AddNumber([]byte("tenure_months"), 24)
	f.AddString([]byte("contract"), []byte("month-to-month"))
	f.AddNumber([]byte("monthly_charges"), 89.99)
	b, err := appendV2FeaturesBody(nil, &f, outputsTail("probability"), time.Now().Add(250*time.Millisecond))
	if err != nil || !json.Valid(b) {
		t.Fatalf("%s: %v", b, err)
	}
	const want = `{"inputs":[{"name":"tenure_months","shape":[1],"datatype":"FP32","data":[24]},` +
		`{"name":"contract","shape":[1],"datatype":"BYTES","data":["month-to-month"]},` +
		`{"name":"monthly_charges","shape":[1],"datatype":"FP32","data":[89.99]}],"outputs":[{"name":"probability"}]}`
	if got := splitTimeout(t, b); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	f.AddNumber([]byte("support_calls"), math.Inf(1))
	if _, err := appendV2FeaturesBody(nil, &f, outputsTail(""), time.Now()); err == nil || !strings.Contains(err.Error(), `"support_calls"`) {
		t.Errorf("+Inf: error %v, want one naming the feature", err)
	}
}

func TestRemoteMessage(t *testing.T) {
	t.Parallel()
	var p fastjson.Parser
	f := func(body, want string) {
		t.Helper()
		if got := remoteMessage(&p, []byte(body)); got != want {
			t.Errorf("%q: %q, want %q", body, got, want)
		}
	}
	f(`{"error":{"code":"queue_full","message":"full","field":""}}`, "queue_full: full")
	f(`{"error":{"message":"only a message"}}`, "only a message")
	f(`{"error":{"code":"only_code"}}`, `{"error":{"code":"only_code"}}`)
	f(`{"error":"v2 says\nno"}`, "v2 says no")
	f(`{"detail":"not ours"}`, `{"detail":"not ours"}`)
	f("  \n", "(no body)")
	f("", "(no body)")
	f("\xff\xfe", "\ufffd\ufffd")
	long := strings.Repeat("é", 300)
	if got := remoteMessage(&p, []byte(long)); len(got) > maxExcerpt+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("long body: %d bytes %q", len(got), got)
	}
}

// TestNewHostClient: the URL's scheme and port become the HostClient's.
func TestNewHostClient(t *testing.T) {
	t.Parallel()
	f := func(url, wantAddr, wantEndpoint string, wantTLS bool) {
		t.Helper()
		c, err := New(Config{URL: url, Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.hc.Addr != wantAddr || c.hc.IsTLS != wantTLS || c.endpoint != wantEndpoint {
			t.Errorf("%s: addr %q TLS %v endpoint %q, want %q %v %q", url, c.hc.Addr, c.hc.IsTLS, c.endpoint, wantAddr, wantTLS, wantEndpoint)
		}
	}
	f("http://churn-b", "churn-b:80", "http://churn-b/v1/predictions", false)
	f("https://churn-b", "churn-b:443", "https://churn-b/v1/predictions", true)
	f("https://churn-b:8443/a/b/", "churn-b:8443", "https://churn-b:8443/a/b/v1/predictions", true)
	f("http://[::1]:8080", "[::1]:8080", "http://[::1]:8080/v1/predictions", false)
	if _, err := New(Config{URL: "ftp://x", Model: "m"}); err == nil || !strings.HasPrefix(err.Error(), "url: ") {
		t.Errorf("New with a bad URL: error %v, want Validate's", err)
	}
}
