package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
	"github.com/valyala/fasthttp"
)

// ocrRecognizerSignature declares PaddleOCR's recognizer's width paddable
// to a multiple of 32, its time steps cut back to what the unpadded width
// gives: floor((width + 3) / 8).
const ocrRecognizerSignature = `pad:
  - input: x
    dim: 3
    value: 0
    to_multiple_of: 32
    crop: [{output: softmax_11.tmp_0, dim: 1, divide: 8, add: 3}]
`

// TestOCRRecognizerServesWidths serves PaddleOCR's recognizer (x
// [-1, 3, 48, -1]: the width varies per image) through v2 JSON to
// concurrent requests of widths 96, 160 and 320, which batch by width
// (multiples of 32: never padded), and of 100 and 120, which its pad rule
// pads to 128 and batches together. Each answer is compared with a run of
// that request alone on an ONNX Runtime session: the same for the
// unpadded widths; for the padded ones, the same as the padded image run
// alone, cropped.
func TestOCRRecognizerServesWidths(t *testing.T) {
	t.Parallel()
	path := testmodels.Path(t, testmodels.OCRRecognizer)
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := registry.ParseSignatureFile([]byte(ocrRecognizerSignature), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(registry.ImportRequest{Model: "ocr-rec", Version: "1.0.0", Source: path, Signature: sig, Check: ortChecker(t)}); err != nil {
		t.Fatal(err)
	}
	env := servingtest.Env(t)
	table := loadTable(t, store, batcher.ONNXOpener{Env: env}, router.RouteConfig{Name: "ocr-rec",
		Batching: batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 100 * time.Millisecond}})
	g, err := newTestGateway(gateway.Config{MaxBodyBytes: 8 << 20, Timeout: time.Minute, MaxTimeout: time.Minute}, table)
	if err != nil {
		t.Fatal(err)
	}
	s := serveGateway(t, g)

	widths := []int64{96, 160, 320, 96, 160, 320, 96, 160, 320, 100, 120, 100, 120}
	rng := rand.New(rand.NewPCG(7, 7))
	images := make([][]float32, len(widths))
	for k, w := range widths {
		images[k] = make([]float32, 3*48*int(w))
		for i := range images[k] {
			images[k][i] = rng.Float32()*2 - 1
		}
	}
	type answer struct {
		Outputs []struct {
			Name  string    `json:"name"`
			Shape []int64   `json:"shape"`
			Data  []float32 `json:"data"`
		} `json:"outputs"`
	}
	answers := make([]answer, len(widths))
	var wg sync.WaitGroup
	for k, w := range widths {
		wg.Go(func() {
			body, err := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int64{1, 3, 48, w}, "data": images[k]}}})
			if err != nil {
				t.Error(err)
				return
			}
			r, err := send(s.public, fasthttp.MethodPost, "/v2/models/ocr-rec/infer", string(body))
			if err != nil || r.status != fasthttp.StatusOK {
				t.Errorf("image %d (width %d): %v, status %d: %.300s", k, w, err, r.status, r.body)
				return
			}
			if err := json.Unmarshal(r.body, &answers[k]); err != nil {
				t.Errorf("image %d: %v", k, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	m := do(t, s.admin, fasthttp.MethodGet, "/metrics", "")
	series := `{model="ocr-rec",version="1.0.0"}`
	batches, _ := metricValue(m.body, "infergate_batcher_batch_size_count"+series)
	rows, _ := metricValue(m.body, "infergate_batcher_batch_size_sum"+series)
	if rows != float64(len(widths)) || batches >= rows {
		t.Errorf("%v rows ran in %v batches: want %d rows, in fewer batches", rows, batches, len(widths))
	}

	sess, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	alone := func(image []float32, w int64) ([]int64, []float32) {
		in, err := sess.Input(0, []int64{1, 3, 48, w})
		if err != nil {
			t.Fatal(err)
		}
		copy(tensor.Float32s(in.Data), image)
		if err := sess.Run(); err != nil {
			t.Fatal(err)
		}
		out := sess.Output(0)
		return slices.Clone(out.Shape), slices.Clone(tensor.Float32s(out.Data))
	}
	worst, worstUnpadded := 0.0, 0.0
	for k, w := range widths {
		got := answers[k].Outputs[0]
		steps := (w + 3) / 8
		if want := []int64{1, steps, 6625}; !slices.Equal(got.Shape, want) {
			t.Fatalf("image %d (width %d): shape %v, want %v", k, w, got.Shape, want)
		}
		image, width := images[k], w
		if w%32 != 0 { // run the padded image alone, and crop it
			width = (w + 31) / 32 * 32
			image = make([]float32, 3*48*int(width))
			for row := range 3 * 48 {
				copy(image[row*int(width):], images[k][row*int(w):(row+1)*int(w)])
			}
		}
		shape, want := alone(image, width)
		want = want[:steps*6625] // [1, T, 6625]: the first steps time steps
		if shape[1] < steps {
			t.Fatalf("image %d: a run alone gave %v", k, shape)
		}
		d := maxDiff(got.Data, want)
		worst = max(worst, d)
		if w%32 != 0 {
			_, unpadded := alone(images[k], w)
			worstUnpadded = max(worstUnpadded, maxDiff(got.Data, unpadded))
		}
	}
	if worst > 1e-4 {
		t.Errorf("answers differ from the request run alone by up to %g", worst)
	}
	t.Logf("%d images of widths 96, 160, 320, 100 and 120: %v rows in %v batches; largest difference from a run alone %g; padded widths against their unpadded run alone %g",
		len(widths), rows, batches, worst, worstUnpadded)
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("maxDiff of %d and %d values", len(a), len(b)))
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
