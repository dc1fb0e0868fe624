package gateway_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
	"github.com/valyala/fasthttp"
)

var importEnv = sync.OnceValues(func() (*runtime.Environment, error) { return runtime.Open(runtime.Config{}) })

// ortChecker is what `infergate serve` gives SetModelChecker: real ONNX
// Runtime.
func ortChecker(t testing.TB) registry.CheckFunc {
	t.Helper()
	env, err := importEnv()
	if err != nil {
		t.Fatal(err)
	}
	specs := func(infos []runtime.TensorInfo) []registry.TensorSpec {
		out := make([]registry.TensorSpec, len(infos))
		for i, ti := range infos {
			out[i] = registry.TensorSpec{Name: ti.Name, DType: ti.DType.String(), Shape: ti.Shape}
		}
		return out
	}
	return func(path string, shapes map[string][]int64, noBatch bool) ([]registry.TensorSpec, []registry.TensorSpec, error) {
		ins, outs, err := env.Check(path, runtime.SessionOptions{Shapes: shapes, NoBatch: noBatch})
		if err != nil {
			return nil, nil, err
		}
		return specs(ins), specs(outs), nil
	}
}

// upload posts body with contentType and the admin token.
func upload(t *testing.T, c *fasthttp.HostClient, path, contentType string, body []byte, token bool) reply {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://infergate.test" + path)
	req.Header.SetContentType(contentType)
	if token {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	req.SetBody(body)
	if err := c.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...),
		header: map[string][]string{"Content-Type": {string(resp.Header.ContentType())}}}
}

// form builds a multipart form: files by part name (name → filename,
// contents), then fields.
func form(t *testing.T, files [][3]string, fields map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range files {
		p, err := w.CreateFormFile(f[0], f[1])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Write([]byte(f[2]))
	}
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

// TestAdminImport uploads PaddleOCR's classifier through the admin API as a
// raw body and as a form with its signature; refusals say what is wrong,
// and every upload is in the audit log.
func TestAdminImport(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	gates := servingtest.NewGates(t)
	table := loadTable(t, store, gates, router.RouteConfig{Name: "churn-import", Model: servingtest.Route})
	releaseGates(t, gates)
	audit := filepath.Join(t.TempDir(), "audit.log")
	s := serveTable(t, table, gateway.Config{AdminMaxBodyBytes: 4 << 20, Auth: auth.Config{Mode: auth.ModeOff,
		Admin: auth.AdminConfig{Mode: auth.ModeToken, TokenSHA256: auth.HashKey(adminToken), AuditLog: audit}}})
	onnx, err := os.ReadFile(testmodels.Path(t, testmodels.OCRClassifier))
	if err != nil {
		t.Fatal(err)
	}
	const base = "/v1/registry/models/ocr/versions/"

	wantError(t, upload(t, s.admin, base+"1.0.0", "application/octet-stream", onnx, true), 501, "not_configured", "")
	s.g.SetModelChecker(ortChecker(t))
	wantError(t, upload(t, s.admin, base+"1.0.0", "application/octet-stream", onnx, false), 401, "unauthorized", "")

	r := upload(t, s.admin, base+"1.0.0", "application/octet-stream", onnx, true)
	if r.status != 201 {
		t.Fatalf("raw upload: %d %s", r.status, r.body)
	}
	var got struct {
		Version   string
		Aliases   []string
		Signature registry.Signature
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.0.0" || !slices.Equal(got.Aliases, []string{"production"}) || got.Signature.Inputs[0].Name != "x" {
		t.Errorf("raw upload answered %s", r.body)
	}

	sample := func(rows, height int) string {
		x := make([]float32, rows*3*height*192)
		for i := range x {
			x[i] = float32(i%7) / 7
		}
		b, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{rows, 3, height, 192}, "data": x}}})
		return string(b)
	}
	ct, body := form(t, [][3]string{{"model", "cls.onnx", string(onnx)}, {"sample", "a.json", sample(1, 48)}, {"sample", "b.json", sample(2, 48)}}, map[string]string{
		"alias": "staging", "reason": "a test",
		"signature": "inputs: [{name: x, shape: [-1, 3, 48, 192]}]\noutputs: [{name: softmax_0.tmp_0, kind: probabilities, labels: [\"0\", \"180\"]}]\n",
	})
	r = upload(t, s.admin, base+"1.1.0", ct, body, true)
	if r.status != 201 {
		t.Fatalf("form upload: %d %s", r.status, r.body)
	}
	v, err := store.Get("ocr", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if o := v.Signature.Outputs[0]; o.Kind != registry.KindProbabilities || !slices.Equal(v.Signature.Inputs[0].Shape, []int64{-1, 3, 48, 192}) {
		t.Errorf("form upload stored %+v", v.Signature)
	}
	if data, err := store.ReadFile("ocr", "1.1.0", registry.DriftProfileFile); err != nil || !strings.Contains(string(data), `"requests": 2`) {
		t.Errorf("the samples' drift reference: %s (%v)", data, err)
	}
	if a, _ := store.Aliases("ocr"); a["staging"] != "1.1.0" || a["production"] != "1.0.0" {
		t.Errorf("aliases %v", a)
	}

	// Refusals.
	e := wantError(t, upload(t, s.admin, base+"2.0.0", "application/octet-stream", []byte("not onnx"), true), 400, "invalid_model", "")
	if !strings.Contains(e.Error.Message, "the upload") || !strings.Contains(e.Error.Message, "not an ONNX model") || strings.Contains(e.Error.Message, store.Root()) {
		t.Errorf("garbage upload: %q", e.Error.Message)
	}
	ct, body = form(t, [][3]string{{"signature", "s.yaml", "batch: none\n"}}, nil)
	wantError(t, upload(t, s.admin, base+"2.0.0", ct, body, true), 400, "invalid_field", "model")
	ct, body = form(t, [][3]string{{"model", "m.onnx", string(onnx)}}, map[string]string{"signature": "outputs: [{name: softmax_0.tmp_0, knd: raw}]"})
	wantError(t, upload(t, s.admin, base+"2.0.0", ct, body, true), 400, "invalid_field", "signature")
	ct, body = form(t, [][3]string{{"model", "m.onnx", string(onnx)}, {"sample", "tall.json", sample(1, 64)}}, map[string]string{
		"signature": "inputs: [{name: x, shape: [-1, 3, 48, 192]}]\n",
	})
	e = wantError(t, upload(t, s.admin, base+"2.0.0", ct, body, true), 400, "invalid_field", "sample")
	if !strings.Contains(e.Error.Message, "tall.json") || !strings.Contains(e.Error.Message, "dimension 2 is 64, but the model takes 48") {
		t.Errorf("a sample of the wrong shape: %q", e.Error.Message)
	}
	wantError(t, upload(t, s.admin, base+"1.0.0", "application/octet-stream", onnx, true), 409, "conflict", "")
	small := serveTable(t, table, gateway.Config{AdminMaxBodyBytes: 16 << 10})
	e = wantError(t, upload(t, small.admin, base+"2.0.0", "application/octet-stream", make([]byte, 20<<10), true), 413, "body_too_large", "")
	if !strings.Contains(e.Error.Message, "server.admin_max_body_bytes (16384 bytes)") {
		t.Errorf("413: %q", e.Error.Message)
	}
	if vs, _ := store.Versions("ocr"); len(vs) != 2 {
		t.Errorf("versions after the refusals: %v", vs)
	}
	entries, _ := os.ReadDir(store.Root())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-import-") {
			t.Errorf("an upload left %s behind", e.Name())
		}
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var a struct{ Status int }
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, a.Status)
	}
	// The 501 and 401 happen before an import runs; the 413 before any
	// handler.
	if want := []int{501, 201, 201, 400, 400, 400, 400, 409}; !slices.Equal(statuses, want) {
		t.Errorf("audit statuses %v, want %v", statuses, want)
	}
}
