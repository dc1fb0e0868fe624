package remote_test

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
)

func churnFeatures(tenure float64) *features.Set {
	var f features.Set
	f.AddString([]byte("customer_id"), []byte("C000001"))
	f.AddNumber([]byte("tenure_months"), tenure)
	f.AddString([]byte("contract"), []byte("month-to-month"))
	return &f
}

func TestPredictFeaturesRequest(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url + "/prefix/", Model: "churn"})
	if c.Protocol() != remote.ProtocolInfergate {
		t.Errorf("Protocol() = %q, want %q", c.Protocol(), remote.ProtocolInfergate)
	}
	var f features.Set
	f.AddNumber([]byte("tenure_months"), 24)
	f.AddNumber([]byte("monthly_charges"), 89.5)
	f.AddNumber([]byte("tiny"), 1e-9)
	f.AddNumber([]byte("huge"), -3e25)
	f.AddString([]byte("contract"), []byte("month-to-month"))
	f.AddString([]byte(`quote"back\slash`), []byte("line\nbreak\ttab\x01ctl"))
	f.AddString([]byte("unicode"), []byte("café ☕"))
	f.AddString([]byte("not utf-8"), []byte("a\xffb"))
	var a remote.Answer
	if err := c.PredictFeatures(&f, time.Now().Add(2*time.Second), &a); err != nil {
		t.Fatal(err)
	}

	req := s.last(t)
	if got := string(req.Header.Method()); got != fasthttp.MethodPost {
		t.Errorf("method %s, want POST", got)
	}
	if got := string(req.URI().Path()); got != "/prefix/v1/predictions" {
		t.Errorf("path %q, want /prefix/v1/predictions", got)
	}
	if got := string(req.Header.ContentType()); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	timeout, err := time.ParseDuration(string(req.Header.Peek("X-Request-Timeout")))
	if err != nil || timeout <= 0 || timeout > 2*time.Second || !strings.HasSuffix(string(req.Header.Peek("X-Request-Timeout")), "ms") {
		t.Errorf("X-Request-Timeout %q (%v), want whole milliseconds in (0, 2s]", req.Header.Peek("X-Request-Timeout"), err)
	}
	const want = `{"model_id":"churn","features":{"tenure_months":24,"monthly_charges":89.5,"tiny":1e-09,"huge":-3e+25,` +
		`"contract":"month-to-month","quote\"back\\slash":"line\nbreak\ttab\u0001ctl","unicode":"café ☕","not utf-8":"a\ufffdb"}}`
	if got := string(req.Body()); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	var decoded map[string]any
	if err := json.Unmarshal(req.Body(), &decoded); err != nil {
		t.Errorf("the body is not JSON: %v", err)
	}
}

func TestPredictFeaturesAnswer(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	f := func(tenure float64, want remote.Answer) {
		t.Helper()
		var a remote.Answer
		if err := c.PredictFeatures(churnFeatures(tenure), deadline(), &a); err != nil {
			t.Fatal(err)
		}
		if a != want {
			t.Errorf("tenure %v: answer %+v, want %+v", tenure, a, want)
		}
	}
	f(24, remote.Answer{Probability: 0.24, Label: "stay", Version: "1.2.0"})
	f(83, remote.Answer{Probability: 0.83, Label: "churn", Version: "1.2.0"})
}

func TestPredictTensorRequest(t *testing.T) {
	t.Parallel()
	s := serve(t, v2)
	c := newClient(t, remote.Config{
		URL: s.url, Protocol: remote.ProtocolV2, Model: "churn/π", Version: "3 beta",
		Input: "dense_input", Output: "probability",
	})
	if c.Protocol() != remote.ProtocolV2 {
		t.Errorf("Protocol() = %q, want %q", c.Protocol(), remote.ProtocolV2)
	}
	row := []float32{0.1, -1.25, 3.4028235e38, 1e-7, 0, float32(math.Pi)}
	var a remote.Answer
	_ = c.PredictTensor(row, deadline(), &a) // the fake has no such model

	req := s.last(t)
	if got, want := string(req.Header.RequestURI()), "/v2/models/churn%2F%CF%80/versions/3%20beta/infer"; got != want {
		t.Errorf("request URI %q, want %q", got, want)
	}
	if h := req.Header.Peek("X-Request-Timeout"); h != nil {
		t.Errorf("X-Request-Timeout %q sent to a v2 remote", h)
	}
	var body struct {
		Inputs []struct {
			Name     string        `json:"name"`
			Shape    []int         `json:"shape"`
			Datatype string        `json:"datatype"`
			Data     []json.Number `json:"data"`
		} `json:"inputs"`
		Outputs []struct {
			Name string `json:"name"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(req.Body(), &body); err != nil {
		t.Fatalf("body %s: %v", req.Body(), err)
	}
	if len(body.Inputs) != 1 {
		t.Fatalf("body %s: want one input", req.Body())
	}
	in := body.Inputs[0]
	if in.Name != "dense_input" || in.Datatype != "FP32" || len(in.Shape) != 2 || in.Shape[0] != 1 || in.Shape[1] != len(row) {
		t.Errorf("input %+v, want dense_input FP32 [1,%d]", in, len(row))
	}
	for i, n := range in.Data {
		x, err := strconv.ParseFloat(string(n), 32)
		if err != nil || float32(x) != row[i] {
			t.Errorf("data[%d] = %s, want %v exactly", i, n, row[i])
		}
	}
	if len(body.Outputs) != 1 || body.Outputs[0].Name != "probability" {
		t.Errorf("outputs %+v, want the configured output requested", body.Outputs)
	}
}

func TestPredictTensorAnswer(t *testing.T) {
	t.Parallel()
	s := serve(t, v2)
	f := func(cfg remote.Config, row []float32, want remote.Answer) {
		t.Helper()
		cfg.URL, cfg.Protocol, cfg.Model = s.url, remote.ProtocolV2, "churn"
		c := newClient(t, cfg)
		var a remote.Answer
		if err := c.PredictTensor(row, deadline(), &a); err != nil {
			t.Fatal(err)
		}
		if a != want {
			t.Errorf("%+v: answer %+v, want %+v", cfg, a, want)
		}
		if got := s.last(t).Body(); !strings.Contains(string(got), `"outputs"`) != (cfg.Output == "") {
			t.Errorf("%+v: body %s: outputs requested only when output is set", cfg, got)
		}
	}
	// The first output is the label tensor, an INT64.
	f(remote.Config{}, []float32{1, 0, 1, 1}, remote.Answer{Probability: 1, Version: "3"})
	f(remote.Config{Output: "probability"}, []float32{1, 0, 1, 1}, remote.Answer{Probability: 0.75, Version: "3"})
	f(remote.Config{Output: "probability", Version: "3"}, []float32{0.25}, remote.Answer{Probability: 0.25, Version: "3"})
}

// TestV2AnswerShapes: the probability is the first element of the chosen
// output whatever its datatype and nesting; anything else is a bad
// response.
func TestV2AnswerShapes(t *testing.T) {
	t.Parallel()
	f := func(output, body string, want remote.Answer, wantErr error) {
		t.Helper()
		s := serve(t, answer(fasthttp.StatusOK, body))
		c := newClient(t, remote.Config{URL: s.url, Protocol: remote.ProtocolV2, Model: "m", Output: output})
		a := remote.Answer{Label: "previous", Version: "previous"}
		err := c.PredictTensor([]float32{1}, deadline(), &a)
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: error %v, want %v", body, err, wantErr)
		}
		if err != nil {
			want = remote.Answer{Label: "previous", Version: "previous"}
		}
		if a != want {
			t.Errorf("%s: answer %+v, want %+v", body, a, want)
		}
	}
	f("", `{"outputs":[{"name":"p","datatype":"FP32","data":[0.5]}]}`, remote.Answer{Probability: 0.5}, nil)
	f("", `{"outputs":[{"name":"p","datatype":"FP64","shape":[1,2],"data":[[0.25,0.75]]}]}`, remote.Answer{Probability: 0.25}, nil)
	f("", `{"outputs":[{"name":"p","datatype":"INT8","data":[[[1]]]}]}`, remote.Answer{Probability: 1}, nil)
	f("q", `{"model_version":"7","outputs":[{"name":"p","data":[0.1]},{"name":"q","data":[0.9]}]}`, remote.Answer{Probability: 0.9, Version: "7"}, nil)
	f("", `{"model_version":null,"outputs":[{"name":"p","data":[2e-1]}]}`, remote.Answer{Probability: 0.2}, nil)

	f("", `{"outputs":[]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"model_name":"m"}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":{"name":"p"}}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","data":[]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","data":[[]]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p"}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","datatype":"BYTES","data":["0.5"]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","datatype":"BOOL","data":[true]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","data":[NaN]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[{"name":"p","data":[1e999]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"outputs":[7]}`, remote.Answer{}, remote.ErrBadResponse)
	f("", `{"model_version":3,"outputs":[{"name":"p","data":[0.5]}]}`, remote.Answer{}, remote.ErrBadResponse)
	f("missing", `{"outputs":[{"name":"p","data":[0.5]}]}`, remote.Answer{}, remote.ErrBadResponse)
}

// TestErrorClasses: every way a call can fail maps to its class, and the
// error carries the status, the remote's reason and the URL.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<p>server error</p>\n", 100)
	f := func(protocol string, status int, body string, wantErr error, wantIn ...string) {
		t.Helper()
		s := serve(t, answer(status, body))
		c := newClient(t, remote.Config{URL: s.url, Protocol: protocol, Model: "churn"})
		var err error
		a := remote.Answer{Probability: 0.5, Label: "kept"}
		start := time.Now()
		if protocol == remote.ProtocolV2 {
			err = c.PredictTensor([]float32{1}, start.Add(testTimeout), &a)
		} else {
			err = c.PredictFeatures(churnFeatures(1), start.Add(testTimeout), &a)
		}
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s %d %q: error %v, want %v", protocol, status, body, err, wantErr)
		}
		for _, other := range []error{remote.ErrUnavailable, remote.ErrTimeout, remote.ErrRejected, remote.ErrBadResponse} {
			if !errors.Is(other, wantErr) && errors.Is(err, other) {
				t.Errorf("%s %d: error %v is also %v", protocol, status, err, other)
			}
		}
		if elapsed := time.Since(start); elapsed > testTimeout/2 {
			t.Errorf("%s %d: took %v; an answer must fail the call at once", protocol, status, elapsed)
		}
		msg := err.Error()
		for _, w := range append(wantIn, s.url) {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %d: error %q does not contain %q", protocol, status, msg, w)
			}
		}
		if strings.Contains(msg, "\n") || len(msg) > 400 {
			t.Errorf("%s %d: error of %d bytes, or on several lines: %q", protocol, status, len(msg), msg)
		}
		if a != (remote.Answer{Probability: 0.5, Label: "kept"}) {
			t.Errorf("%s %d: a failed call changed the answer to %+v", protocol, status, a)
		}
	}
	const ig, v2 = remote.ProtocolInfergate, remote.ProtocolV2
	f(ig, 500, `{"error":{"code":"model_failed","message":"model \"churn\" failed: onnx"}}`, remote.ErrUnavailable,
		"500 Internal Server Error", `model_failed: model "churn" failed: onnx`)
	f(ig, 503, `{"error":{"code":"unavailable","message":"model \"churn\" is shutting down"}}`, remote.ErrUnavailable, "503", "shutting down")
	f(ig, 429, `{"error":{"code":"queue_full","message":"full queue"}}`, remote.ErrUnavailable, "429", "queue_full: full queue")
	f(ig, 502, "", remote.ErrUnavailable, "502 Bad Gateway", "(no body)")
	f(v2, 500, long, remote.ErrUnavailable, "500", "<p>server error</p> <p>", "…")
	f(ig, 504, `{"error":{"code":"deadline_exceeded","message":"the request's deadline passed"}}`, remote.ErrTimeout, "504", "deadline passed")
	f(v2, 408, "", remote.ErrTimeout, "408")
	f(ig, 400, `{"error":{"code":"invalid_field","message":"feature \"tenure_months\" must be a number","field":"features.tenure_months"}}`,
		remote.ErrRejected, "400 Bad Request", `invalid_field: feature "tenure_months" must be a number`)
	f(ig, 404, `{"error":{"code":"model_not_found","message":"unknown model \"churn\""}}`, remote.ErrRejected, "404", "unknown model")
	f(v2, 400, `{"error":"unexpected shape for input 'input' for model 'churn'"}`, remote.ErrRejected, "400", "unexpected shape")
	f(v2, 413, "too large", remote.ErrRejected, "413", "too large")
	f(ig, 200, "<html>garbage</html>", remote.ErrBadResponse, "not JSON", "<html>garbage")
	f(ig, 200, `["probability", 0.5]`, remote.ErrBadResponse, "array")
	f(ig, 200, `{"prediction":"churn"}`, remote.ErrBadResponse, `"probability" is missing`)
	f(ig, 200, `{"probability":"0.5"}`, remote.ErrBadResponse, "not a number")
	f(ig, 200, `{"probability":1e999}`, remote.ErrBadResponse, "not a finite number")
	f(ig, 200, `{"probability":0.5,"prediction":1}`, remote.ErrBadResponse, `"prediction" is a number`)
	f(v2, 200, "", remote.ErrBadResponse, "not JSON")
	f(v2, 204, "", remote.ErrBadResponse)

	// A redirect is not followed: the URL is a config to fix.
	s := serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Redirect("https://elsewhere/v1/predictions", fasthttp.StatusMovedPermanently)
	})
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	var a remote.Answer
	if err := c.PredictFeatures(churnFeatures(1), deadline(), &a); !errors.Is(err, remote.ErrRejected) || !strings.Contains(err.Error(), "redirected to https://elsewhere/v1/predictions") {
		t.Errorf("redirect: error %v, want ErrRejected naming the new location", err)
	}
}

// TestAnswerWithoutLabel: an infergate-like remote that sends no prediction
// leaves the label to the router.
func TestAnswerWithoutLabel(t *testing.T) {
	t.Parallel()
	s := serve(t, answer(fasthttp.StatusOK, `{"probability":0.4}`))
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	a := remote.Answer{Label: "old", Version: "old"}
	if err := c.PredictFeatures(churnFeatures(1), deadline(), &a); err != nil {
		t.Fatal(err)
	}
	if a != (remote.Answer{Probability: 0.4}) {
		t.Errorf("answer %+v, want only the probability", a)
	}
}

func TestNonFiniteInputIsNotSent(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	var a remote.Answer
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		err := c.PredictFeatures(churnFeatures(x), deadline(), &a)
		if !errors.Is(err, remote.ErrRejected) || !strings.Contains(err.Error(), `"tenure_months"`) {
			t.Errorf("tenure %v: error %v, want ErrRejected naming the feature", x, err)
		}
	}
	tv := serve(t, v2)
	cv := newClient(t, remote.Config{URL: tv.url, Model: "churn", Protocol: remote.ProtocolV2})
	if err := cv.PredictTensor([]float32{1, float32(math.Inf(1))}, deadline(), &a); !errors.Is(err, remote.ErrRejected) || !strings.Contains(err.Error(), "column 1") {
		t.Errorf("row with +Inf: error %v, want ErrRejected naming the column", err)
	}
	if n := s.requests() + tv.requests(); n != 0 {
		t.Errorf("%d requests reached the remotes, want none", n)
	}
}

func TestHeadersSent(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn", Headers: map[string]string{
		"Authorization": "Bearer s3cret",
		"x-tenant":      "acme",
		"host":          "churn.default.example.com",
	}})
	var a remote.Answer
	if err := c.PredictFeatures(churnFeatures(50), deadline(), &a); err != nil {
		t.Fatal(err)
	}
	req := s.last(t)
	for name, want := range map[string]string{
		"Authorization": "Bearer s3cret",
		"X-Tenant":      "acme",
		"Content-Type":  "application/json",
	} {
		if got := string(req.Header.Peek(name)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := string(req.Header.Host()); got != "churn.default.example.com" {
		t.Errorf("Host %q, want the configured one", got)
	}

	// Without a Host header, the URL's host goes as written.
	s2 := serve(t, infergate)
	c2 := newClient(t, remote.Config{URL: strings.Replace(s2.url, "127.0.0.1", "localhost", 1), Model: "churn"})
	if err := c2.PredictFeatures(churnFeatures(50), deadline(), &a); err != nil {
		t.Fatal(err)
	}
	if got, want := string(s2.last(t).Header.Host()), strings.TrimPrefix(strings.Replace(s2.url, "127.0.0.1", "localhost", 1), "http://"); got != want {
		t.Errorf("Host %q, want %q", got, want)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	c := newClient(t, remote.Config{URL: url, Model: "churn"})
	start := time.Now()
	var a remote.Answer
	err = c.PredictFeatures(churnFeatures(1), start.Add(testTimeout), &a)
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), url) {
		t.Errorf("error %v, want ErrUnavailable naming %s", err, url)
	}
	if elapsed := time.Since(start); elapsed > testTimeout/2 {
		t.Errorf("took %v: a refused connection must fail at once", elapsed)
	}
}

// TestHangingRemoteTimesOut: a remote that never answers fails the call with
// ErrTimeout at its deadline, not later.
func TestHangingRemoteTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := serve(t, func(*fasthttp.RequestCtx) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's Shutdown waits for it
	for _, protocol := range []string{remote.ProtocolInfergate, remote.ProtocolV2} {
		c := newClient(t, remote.Config{URL: s.url, Model: "churn", Protocol: protocol})
		const timeout = 200 * time.Millisecond
		start := time.Now()
		var a remote.Answer
		var err error
		if protocol == remote.ProtocolV2 {
			err = c.PredictTensor([]float32{1}, start.Add(timeout), &a)
		} else {
			err = c.PredictFeatures(churnFeatures(1), start.Add(timeout), &a)
		}
		elapsed := time.Since(start)
		if !errors.Is(err, remote.ErrTimeout) || errors.Is(err, remote.ErrUnavailable) {
			t.Errorf("%s: error %v, want ErrTimeout only", protocol, err)
		}
		// Late by at most scheduling noise, generous under -race.
		if elapsed < timeout || elapsed > timeout+500*time.Millisecond {
			t.Errorf("%s: returned after %v, want about %v", protocol, elapsed, timeout)
		}
	}
}

func TestDeadlineAlreadyPassed(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	var a remote.Answer
	if err := c.PredictFeatures(churnFeatures(1), time.Now().Add(-time.Millisecond), &a); !errors.Is(err, remote.ErrTimeout) {
		t.Errorf("error %v, want ErrTimeout", err)
	}
	if n := s.requests(); n != 0 {
		t.Errorf("%d requests sent past their deadline", n)
	}
}

// TestRemoteRestart: while the remote is down, calls fail as unavailable at
// once; when it is back on the same port, the same client serves again.
func TestRemoteRestart(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn", MaxConns: 4})
	call := func() error {
		var a remote.Answer
		return c.PredictFeatures(churnFeatures(50), time.Now().Add(testTimeout), &a)
	}
	// Several connections in the pool, all about to go stale.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := call(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	s.kill()
	for i := range 6 {
		start := time.Now()
		err := call()
		if !errors.Is(err, remote.ErrUnavailable) {
			t.Fatalf("call %d while down: error %v, want ErrUnavailable", i, err)
		}
		if elapsed := time.Since(start); elapsed > testTimeout/2 {
			t.Errorf("call %d while down took %v; want it to fail at once", i, elapsed)
		}
	}

	s.restart(t, infergate)
	stop := time.Now().Add(5 * time.Second)
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			if attempt > 1 {
				t.Logf("served again on attempt %d", attempt)
			}
			break
		}
		if !errors.Is(err, remote.ErrUnavailable) || time.Now().After(stop) {
			t.Fatalf("attempt %d after the restart: %v", attempt, err)
		}
	}
}

// TestDroppedIdleConnection: a remote that closes the client's idle
// keep-alive connections (its idle timeout) costs the next calls nothing:
// they go out on a fresh connection.
func TestDroppedIdleConnection(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn"})
	var a remote.Answer
	for i := range 3 {
		if err := c.PredictFeatures(churnFeatures(50), deadline(), &a); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		s.ln.dropConns()
	}
}

// TestConcurrentCalls: more callers than connections all get their answer,
// waiting for a free connection rather than failing.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	s := serve(t, infergate)
	c := newClient(t, remote.Config{URL: s.url, Model: "churn", MaxConns: 2})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			var a remote.Answer
			for j := range 20 {
				tenure := float64((i + j) % 100)
				if err := c.PredictFeatures(churnFeatures(tenure), deadline(), &a); err != nil {
					t.Error(err)
					return
				}
				if a.Probability != tenure/100 {
					t.Errorf("tenure %v: probability %v", tenure, a.Probability)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestWrongProtocolPanics(t *testing.T) {
	t.Parallel()
	f := func(name string, call func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(r.(string), "BUG: ") {
				t.Errorf("%s: recovered %v, want a BUG panic", name, r)
			}
		}()
		call()
	}
	ig := newClient(t, remote.Config{URL: "http://127.0.0.1:1", Model: "m"})
	tv := newClient(t, remote.Config{URL: "http://127.0.0.1:1", Model: "m", Protocol: remote.ProtocolV2})
	var a remote.Answer
	f("tensor to infergate", func() { _ = ig.PredictTensor([]float32{1}, deadline(), &a) })
	f("features to v2", func() { _ = tv.PredictFeatures(churnFeatures(1), deadline(), &a) })
	f("empty row", func() { _ = tv.PredictTensor(nil, deadline(), &a) })
}
