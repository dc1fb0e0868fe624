package gateway_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
)

// v2Tensor is a tensor of a v2 JSON request or answer.
type v2Tensor struct {
	Name       string         `json:"name"`
	Datatype   string         `json:"datatype"`
	Shape      []int64        `json:"shape"`
	Data       []any          `json:"data,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

type v2Message struct {
	ID         string         `json:"id,omitempty"`
	ModelName  string         `json:"model_name,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Inputs     []v2Tensor     `json:"inputs,omitempty"`
	Outputs    []v2Tensor     `json:"outputs,omitempty"`
}

// binaryElements lays out a JSON tensor's data as the binary extension
// does (encoding/json decodes numbers as float64: every value the tests
// send is exact in one).
func binaryElements(tb testing.TB, t v2Tensor) []byte {
	tb.Helper()
	var b []byte
	for _, v := range t.Data {
		switch t.Datatype {
		case "FP32":
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.(float64))))
		case "FP64":
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.(float64)))
		case "INT64":
			b = binary.LittleEndian.AppendUint64(b, uint64(int64(v.(float64))))
		case "BOOL":
			c := byte(0)
			if v.(bool) {
				c = 1
			}
			b = append(b, c)
		case "BYTES":
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v.(string))))
			b = append(b, v.(string)...)
		default:
			tb.Fatalf("no binary layout for %s in this test", t.Datatype)
		}
	}
	return b
}

// toBinary turns a v2 JSON request (flat data) into the binary extension's:
// every input's data after the header, and outputs asked as binary with
// binary_data_output when binaryOut.
func toBinary(tb testing.TB, body string, binaryOut bool) (string, []string) {
	tb.Helper()
	var m v2Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		tb.Fatal(err)
	}
	var tail []byte
	for i, in := range m.Inputs {
		data := binaryElements(tb, in)
		tail = append(tail, data...)
		m.Inputs[i].Data = nil
		m.Inputs[i].Parameters = map[string]any{"binary_data_size": len(data)}
	}
	if binaryOut {
		if m.Parameters == nil {
			m.Parameters = map[string]any{}
		}
		m.Parameters["binary_data_output"] = true
	}
	header, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(header) + string(tail), []string{"Inference-Header-Content-Length", strconv.Itoa(len(header))}
}

// splitAnswer parses a binary answer: its header's outputs and each binary
// output's bytes.
func splitAnswer(tb testing.TB, r reply) (v2Message, map[string][]byte) {
	tb.Helper()
	n, err := strconv.Atoi(r.get("Inference-Header-Content-Length"))
	if r.status != 200 || err != nil || n > len(r.body) || r.get("Content-Type") != "application/octet-stream" {
		tb.Fatalf("%d, Inference-Header-Content-Length %q, Content-Type %q: %s", r.status, r.get("Inference-Header-Content-Length"), r.get("Content-Type"), r.body)
	}
	var m v2Message
	if err := json.Unmarshal(r.body[:n], &m); err != nil {
		tb.Fatalf("header %q: %v", r.body[:n], err)
	}
	raw := map[string][]byte{}
	tail := r.body[n:]
	for _, o := range m.Outputs {
		size, ok := o.Parameters["binary_data_size"].(float64)
		if !ok && o.Data != nil {
			continue // a JSON output
		}
		if !ok || o.Data != nil || int(size) > len(tail) {
			tb.Fatalf("output %s: %v, data %v, %d bytes left", o.Name, o.Parameters, o.Data, len(tail))
		}
		raw[o.Name], tail = tail[:int(size)], tail[int(size):]
	}
	if len(tail) != 0 {
		tb.Fatalf("%d bytes after the outputs", len(tail))
	}
	return m, raw
}

func jsonAnswer(tb testing.TB, r reply) v2Message {
	tb.Helper()
	var m v2Message
	if r.status != 200 || r.get("Content-Type") != "application/json" || r.get("Inference-Header-Content-Length") != "" {
		tb.Fatalf("%d, Content-Type %q, Inference-Header-Content-Length %q: %s", r.status, r.get("Content-Type"), r.get("Inference-Header-Content-Length"), r.body)
	}
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// checkBinaryAnswer: the binary answer has the JSON answer's outputs, each
// of the same datatype and shape, its bytes the JSON values' layout.
func checkBinaryAnswer(t *testing.T, what string, plain v2Message, bin v2Message, raw map[string][]byte) {
	t.Helper()
	if len(bin.Outputs) != len(plain.Outputs) || bin.ID != plain.ID || bin.ModelName != plain.ModelName {
		t.Fatalf("%s: %+v, want the outputs of %+v", what, bin, plain)
	}
	for i, want := range plain.Outputs {
		got := bin.Outputs[i]
		if got.Name != want.Name || got.Datatype != want.Datatype || !equalInts(got.Shape, want.Shape) {
			t.Errorf("%s: output %d is %s %s %v, want %s %s %v", what, i, got.Name, got.Datatype, got.Shape, want.Name, want.Datatype, want.Shape)
		}
		if w := binaryElements(t, want); !bytes.Equal(raw[want.Name], w) {
			t.Errorf("%s: output %s bytes % x, want % x (the JSON answer's %v)", what, want.Name, raw[want.Name], w, want.Data)
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// kindsTable loads routes over a registry holding testmodels.Kinds as
// model "kinds".
func kindsTable(t *testing.T, routes ...router.RouteConfig) *router.Table {
	t.Helper()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	importWritten(t, store, "kinds", testmodels.Kinds(), "")
	env, err := importEnv()
	if err != nil {
		t.Fatal(err)
	}
	return loadTable(t, store, batcher.ONNXOpener{Env: env}, routes...)
}

// TestV2BinaryTensors serves a model taking FP32, INT64, BOOL and BYTES
// inputs and answering the same four kinds: sent as binary data, the
// inputs give the answer the JSON request gets, byte for byte, and asked
// as binary data, every output holds the bytes of the JSON answer's values.
func TestV2BinaryTensors(t *testing.T) {
	t.Parallel()
	s := serveTable(t, kindsTable(t, router.RouteConfig{Name: "kinds", Batching: batcher.Config{MaxBatchSize: 8}}), gateway.Config{})
	const body = `{"id": "b-1", "inputs": [
		{"name": "x", "datatype": "FP32", "shape": [3, 2], "data": [1.5, -2, 0.25, 1e30, 0, 7]},
		{"name": "ids", "datatype": "INT64", "shape": [3], "data": [-9007199254740991, 0, 42]},
		{"name": "mask", "datatype": "BOOL", "shape": [3, 2], "data": [true, false, false, true, true, true]},
		{"name": "text", "datatype": "BYTES", "shape": [3], "data": ["", "héllo wörld", "a\"b\\c"]}]}`
	plainReply := do(t, s.public, "POST", "/v2/models/kinds/infer", body)
	plain := jsonAnswer(t, plainReply)
	if len(plain.Outputs) != 4 || plain.Outputs[3].Data[1] != "héllo wörld" || plain.Outputs[0].Data[0] != 3.0 || plain.Outputs[2].Data[0] != false {
		t.Fatalf("JSON answer %s", plainReply.body)
	}

	binBody, headers := toBinary(t, body, false)
	if r := do(t, s.public, "POST", "/v2/models/kinds/infer", binBody, headers...); !bytes.Equal(r.body, plainReply.body) {
		t.Errorf("binary inputs, JSON outputs: %d %s\nwant the JSON request's %s", r.status, r.body, plainReply.body)
	}
	binBody, headers = toBinary(t, body, true)
	bin, raw := splitAnswer(t, do(t, s.public, "POST", "/v2/models/kinds/infer", binBody, headers...))
	checkBinaryAnswer(t, "binary in and out", plain, bin, raw)

	// A JSON request may ask some outputs as binary.
	one := `{"id": "b-1", "outputs": [{"name": "words", "parameters": {"binary_data": true}}, {"name": "echo"}],` + body[len(`{"id": "b-1",`):]
	m, raw := splitAnswer(t, do(t, s.public, "POST", "/v2/models/kinds/infer", one))
	if len(m.Outputs) != 2 || m.Outputs[1].Data == nil || len(raw) != 1 || !bytes.Equal(raw["words"], binaryElements(t, plain.Outputs[3])) {
		t.Errorf("words binary, echo JSON: %+v %q", m, raw)
	}

	// A malformed one says what is wrong.
	r := do(t, s.public, "POST", "/v2/models/kinds/infer", binBody[:len(binBody)-3], headers...)
	if r.status != 400 || !bytes.Contains(r.body, []byte(`input \"text\": binary_data_size 30, but 27 bytes of binary data follow the header and the inputs before this one`)) {
		t.Errorf("a body 3 bytes short: %d %s", r.status, r.body)
	}
}

// TestV2BinaryTabular: the demo route's features sent as binary data (FP32,
// INT64 and BYTES inputs) get the JSON request's answer byte for byte; its
// outputs asked as binary hold the JSON answer's values.
func TestV2BinaryTabular(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	_, d := servingtest.Demo(t)
	path := "/v2/models/" + servingtest.Route + "/infer"
	body := v2Infer(t, d, 0, 1, 2)
	plainReply := do(t, s.public, "POST", path, body)
	plain := jsonAnswer(t, plainReply)

	binBody, headers := toBinary(t, body, false)
	if r := do(t, s.public, "POST", path, binBody, headers...); !bytes.Equal(r.body, plainReply.body) {
		t.Errorf("binary features: %d %s\nwant the JSON request's %s", r.status, r.body, plainReply.body)
	}
	binBody, headers = toBinary(t, body, true)
	bin, raw := splitAnswer(t, do(t, s.public, "POST", path, binBody, headers...))
	checkBinaryAnswer(t, "binary features and outputs", plain, bin, raw)
}

// TestV2TransportErrors: a body over server.max_body_bytes, found before a
// handler runs, answers a v2 path in the protocol's {"error": msg} shape,
// which Triton's and KServe's clients read, with the status /v1 gets.
// (Headers too large to read leave the path unknown: /v1's shape.)
func TestV2TransportErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	path := "/v2/models/" + servingtest.Route + "/infer"
	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		status  int
		want    string
	}{
		{"body too large", `{"inputs": [{"name": "contract", "datatype": "BYTES", "shape": [1], "data": ["` + string(bytes.Repeat([]byte("x"), testMaxBodyBytes)) + `"]}]}`, nil, 413, "request body is larger than server.max_body_bytes"},
	} {
		r := do(t, s.public, "POST", path, tc.body, tc.headers...)
		var e struct{ Error string }
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != tc.status || !bytes.Contains([]byte(e.Error), []byte(tc.want)) {
			t.Errorf("%s: %d %s, want %d {\"error\": %q…}", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
}

// TestRemoteTensorRoute: a tensor route's v2 remote target (another
// gateway on a real TCP port) gets the request's tensors by name and
// answers the route's outputs: FP32, INT64, BOOL and BYTES equal, byte for
// byte, to what the other gateway answers the same request itself, with its
// version.
func TestRemoteTensorRoute(t *testing.T) {
	t.Parallel()
	tableB := kindsTable(t, router.RouteConfig{Name: "kinds", Batching: batcher.Config{MaxBatchSize: 8}})
	b := startTCPGateway(t, tableB, "127.0.0.1:0")
	direct := serveTable(t, tableB, gateway.Config{})

	tableA := kindsTable(t, router.RouteConfig{
		Name: "kinds-via-b", Model: "kinds",
		Targets: []router.TargetConfig{{Name: "b", Remote: &remote.Config{URL: "http://" + b.ln.Addr().String(), Protocol: remote.ProtocolV2, Model: "kinds"}, Timeout: 2 * time.Second}},
		Canary:  &router.CanaryConfig{Target: "b", Weight: 100},
	})
	a := serveTable(t, tableA, gateway.Config{})
	const body = `{"inputs": [
		{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1.5, -2, 0.25, 7]},
		{"name": "ids", "datatype": "INT64", "shape": [2], "data": [-9007199254740991, 42]},
		{"name": "mask", "datatype": "BOOL", "shape": [2, 2], "data": [true, false, false, true]},
		{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["héllo", ""]}]}`
	want := jsonAnswer(t, do(t, direct.public, "POST", "/v2/models/kinds/infer", body))
	r := do(t, a.public, "POST", "/v2/models/kinds-via-b/infer", body)
	got := jsonAnswer(t, r)
	if r.get("X-Infergate-Target") != "b" || got.ModelName != "kinds-via-b" {
		t.Fatalf("answered by %q: %s", r.get("X-Infergate-Target"), r.body)
	}
	if len(got.Outputs) != len(want.Outputs) {
		t.Fatalf("%d outputs, want %d: %s", len(got.Outputs), len(want.Outputs), r.body)
	}
	for i, w := range want.Outputs {
		g := got.Outputs[i]
		if g.Name != w.Name || g.Datatype != w.Datatype || !equalInts(g.Shape, w.Shape) || !bytes.Equal(binaryElements(t, g), binaryElements(t, w)) {
			t.Errorf("output %s: %+v, want B's %+v", w.Name, g, w)
		}
	}
}
