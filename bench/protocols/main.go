// Command protocols writes what bench/protocols.sh measures: the same
// requests as /v1 JSON, v2 JSON and v2 binary (Triton's binary tensor
// extension) bodies, for the demo route (3 rows) and PaddleOCR's
// text-direction classifier (one 3×48×192 image, 27,648 floats), and the
// benchmark scenario that sends them side by side.
//
//	go run ./bench/protocols --out DIR --ocr-model PATH
//
// It prints the classifier's ONNX file (fetched and checked by
// internal/testmodels) with -print-ocr-model, for the script to import.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/infergate/infergate/internal/testmodels"
)

func main() {
	out := flag.String("out", "", "folder for the bodies and scenario.yaml (required unless -print-ocr-model)")
	config := flag.String("config", "", "the server's infergate.yaml, named in the scenario")
	printModel := flag.Bool("print-ocr-model", false, "print the path of PaddleOCR's classifier, fetching it first, and exit")
	flag.Parse()
	if *printModel {
		p, err := testmodels.Fetch(testmodels.OCRClassifier)
		if err != nil {
			fail(err)
		}
		fmt.Println(p)
		return
	}
	if *out == "" || *config == "" {
		fail(fmt.Errorf("-out and -config are required"))
	}
	if err := write(*out, *config); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "protocols:", err)
	os.Exit(1)
}

// tensor is a v2 input as JSON.
type tensor struct {
	Name       string         `json:"name"`
	Datatype   string         `json:"datatype"`
	Shape      []int          `json:"shape"`
	Data       any            `json:"data,omitempty"`
	Parameters map[string]int `json:"parameters,omitempty"`
}

// body is a request the scenario sends: its file and headers.
type body struct {
	target, path, file string
	headers            map[string]string
}

func write(dir, config string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rows := []map[string]any{
		{"tenure_months": 24.0, "monthly_charges": 89.99, "contract": "month-to-month", "support_calls": 3.0},
		{"tenure_months": 2.0, "monthly_charges": 99.25, "contract": "two-year", "support_calls": 0.0},
		{"tenure_months": 60.0, "monthly_charges": 20.5, "contract": "one-year", "support_calls": 9.0},
	}
	var bodies []body
	add := func(target, path, name string, data []byte, headers map[string]string) error {
		file := filepath.Join(dir, name)
		bodies = append(bodies, body{target, path, file, headers})
		return os.WriteFile(file, data, 0o644)
	}
	v1, _ := json.Marshal(map[string]any{"model_id": "customer-churn", "instances": rows})
	if err := add("demo-v1", "/v1/predictions", "demo-v1.json", v1, nil); err != nil {
		return err
	}
	column := func(name string) []any {
		var c []any
		for _, r := range rows {
			c = append(c, r[name])
		}
		return c
	}
	demo := []tensor{
		{Name: "tenure_months", Datatype: "FP32", Shape: []int{3}, Data: column("tenure_months")},
		{Name: "monthly_charges", Datatype: "FP32", Shape: []int{3}, Data: column("monthly_charges")},
		{Name: "contract", Datatype: "BYTES", Shape: []int{3}, Data: column("contract")},
		{Name: "support_calls", Datatype: "FP32", Shape: []int{3}, Data: column("support_calls")},
	}
	rng := rand.New(rand.NewPCG(27648, 1))
	image := make([]any, 3*48*192)
	for i := range image {
		image[i] = float64(rng.Float32()*2 - 1)
	}
	ocr := []tensor{{Name: "x", Datatype: "FP32", Shape: []int{1, 3, 48, 192}, Data: image}}
	for _, m := range []struct {
		name, route string
		inputs      []tensor
	}{{"demo", "customer-churn", demo}, {"ocr", "ocr", ocr}} {
		path := "/v2/models/" + m.route + "/infer"
		js, _ := json.Marshal(map[string]any{"inputs": m.inputs})
		if err := add(m.name+"-v2-json", path, m.name+"-v2.json", js, nil); err != nil {
			return err
		}
		header, tail := toBinary(m.inputs)
		if err := add(m.name+"-v2-binary", path, m.name+"-v2.bin", append(header, tail...),
			map[string]string{"Inference-Header-Content-Length": strconv.Itoa(len(header))}); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "scenario.yaml"), scenario(config, bodies), 0o644)
}

// toBinary lays the inputs out as the binary tensor extension does, and
// asks for every output as binary data too.
func toBinary(inputs []tensor) (header, tail []byte) {
	bin := make([]tensor, len(inputs))
	for i, in := range inputs {
		n := len(tail)
		for _, v := range in.Data.([]any) {
			switch in.Datatype {
			case "FP32":
				tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(float32(v.(float64))))
			case "BYTES":
				tail = binary.LittleEndian.AppendUint32(tail, uint32(len(v.(string))))
				tail = append(tail, v.(string)...)
			}
		}
		bin[i] = tensor{Name: in.Name, Datatype: in.Datatype, Shape: in.Shape, Parameters: map[string]int{"binary_data_size": len(tail) - n}}
	}
	header, _ = json.Marshal(map[string]any{"inputs": bin, "parameters": map[string]bool{"binary_data_output": true}})
	return header, tail
}

// scenario is the benchmark: every body against one server, closed loop,
// 1 and 16 clients.
func scenario(config string, bodies []body) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by bench/protocols (go run ./bench/protocols): the same requests
# as /v1 JSON, v2 JSON and v2 binary, side by side in one run.
name: protocols
warmup: 1s
window: 2s
max_windows: 4
tolerance: 0.10

servers:
  - name: gateway
    infergate: %s

targets:
`, config)
	for _, t := range bodies {
		fmt.Fprintf(&b, "  - name: %s\n    server: gateway\n    path: %s\n    body: {file: %s}\n", t.target, t.path, t.file)
		if len(t.headers) > 0 {
			b.WriteString("    headers:\n")
			for k, v := range t.headers {
				fmt.Fprintf(&b, "      %s: %q\n", k, v)
			}
		}
	}
	b.WriteString(`
steps:
  - mode: closed      # one client: each protocol's own cost
    concurrency: [1]
  - mode: closed      # 16 clients: throughput
    concurrency: [16]
    thresholds:        # issue 16: binary beats JSON on the classifier's large input
      ratios: [{a: ocr-v2-binary, b: ocr-v2-json, min: 1}]
      error_ratio: 0

comparisons:
  - {name: "OCR classifier: v2 binary vs v2 JSON", a: ocr-v2-binary, b: ocr-v2-json}
  - {name: "demo: v2 binary vs v2 JSON", a: demo-v2-binary, b: demo-v2-json}
  - {name: "demo: v2 JSON vs /v1", a: demo-v2-json, b: demo-v1}
`)
	return []byte(b.String())
}
