package batcher_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/runtime"
)

// rows returns a [n, testInWidth] input whose row k has id first+k.
func rows(first, n int) []tensor.Tensor {
	var data []float32
	for k := range n {
		data = append(data, row(first+k)...)
	}
	return []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{int64(n), testInWidth}, Data: tensor.BytesOf(data)}}
}

// checkRows checks out against what the fake computes for rows(first, n).
func checkRows(t *testing.T, out []tensor.Tensor, first, n int) {
	t.Helper()
	if !slices.Equal(out[0].Shape, []int64{int64(n), testOutWidth}) {
		t.Fatalf("output shape %v, want [%d %d]", out[0].Shape, n, testOutWidth)
	}
	got := tensor.Float32s(out[0].Data)
	for k := range n {
		if want := wantOutput(row(first+k), testOutWidth); !slices.Equal(got[k*testOutWidth:(k+1)*testOutWidth], want) {
			t.Errorf("row %d: %v, want %v", k, got[k*testOutWidth:(k+1)*testOutWidth], want)
		}
	}
}

// TestRequestsOfSeveralRows: requests of several rows batch together up to
// max_batch_size rows, each answered with its own rows; a request of more
// rows than max_batch_size is split into full batches and answered as one.
func TestRequestsOfSeveralRows(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.gate = make(chan struct{})
		b := start(t, batcher.Config{MaxBatchSize: 4, MaxQueueSize: 64}, f)
		first := goDo(t, b, 0, time.Time{}) // holds the instance
		synctest.Wait()
		var wg sync.WaitGroup
		for k, n := range []int{3, 2, 1, 10} {
			wg.Go(func() {
				out := make([]tensor.Tensor, 1)
				if err := b.Do(rows(100*(k+1), n), out, time.Time{}); err != nil {
					t.Errorf("request of %d rows: %v", n, err)
					return
				}
				checkRows(t, out, 100*(k+1), n)
			})
			synctest.Wait() // queue them in this order
		}
		close(f.gate)
		mustSucceed(t, first)
		wg.Wait()
		// 3 rows, then 2+1 (3 would not fit with the 2), then the 10 as
		// 4, 4 and 2.
		if sizes := batchSizes(f); !slices.Equal(sizes, []int{1, 3, 3, 4, 4, 2}) {
			t.Errorf("batch sizes %v, want [1 3 3 4 4 2]", sizes)
		}
	})
}

// TestSplitRequestUsesEveryInstance: the pieces of a split request run on
// the free instances at once.
func TestSplitRequestUsesEveryInstance(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fakes := []*fakeInstance{newFake(testInWidth, testOutWidth, 8), newFake(testInWidth, testOutWidth, 8)}
		for _, f := range fakes {
			// While one instance sleeps on the fake clock, the other is
			// runnable and takes the next piece, however the goroutines
			// are scheduled.
			f.sleep = 2 * time.Millisecond
		}
		b := start(t, batcher.Config{MaxBatchSize: 8, AlwaysQueue: true}, fakes...)
		out := make([]tensor.Tensor, 1)
		if err := b.Do(rows(1, 64), out, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		checkRows(t, out, 1, 64)
		a, c := len(fakes[0].Batches()), len(fakes[1].Batches())
		if a+c != 8 || a == 0 || c == 0 {
			t.Errorf("batches per instance %d and %d, want 8 shared by both", a, c)
		}
	})
}

// TestThousandRowRequest: a request of 1000 rows with max_batch_size 64
// runs as ⌈1000/64⌉ = 16 batches, in fixed and in adaptive batching, and is
// answered row for row.
func TestThousandRowRequest(t *testing.T) {
	t.Parallel()
	for _, cfg := range []batcher.Config{
		{MaxBatchSize: 64},
		{MaxBatchSize: 64, TargetLatency: 5 * time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			fakes := []*fakeInstance{newFake(testInWidth, testOutWidth, 64), newFake(testInWidth, testOutWidth, 64)}
			b := start(t, cfg, fakes...)
			out := make([]tensor.Tensor, 1)
			if err := b.Do(rows(1, 1000), out, time.Time{}); err != nil {
				t.Fatal(err)
			}
			checkRows(t, out, 1, 1000)
			sizes := append(batchSizes(fakes[0]), batchSizes(fakes[1])...)
			slices.Sort(sizes)
			want := []int{40, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64}
			if !slices.Equal(sizes, want) {
				t.Errorf("target_latency %s: batch sizes %v, want %v", cfg.TargetLatency, sizes, want)
			}
		})
	}
}

// TestSplitRequestDeadline: a split request whose pieces are still queued
// at its deadline fails with ErrDeadlineExceeded; its pieces are never
// computed, and the batcher serves the next request as usual.
func TestSplitRequestDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.gate = make(chan struct{})
		b := start(t, batcher.Config{MaxBatchSize: 4}, f)
		first := goDo(t, b, 0, time.Time{}) // holds the instance
		synctest.Wait()
		err := b.Do(rows(10, 9), make([]tensor.Tensor, 1), time.Now().Add(10*time.Millisecond))
		if !errors.Is(err, batcher.ErrDeadlineExceeded) {
			t.Errorf("split request at its deadline: %v, want ErrDeadlineExceeded", err)
		}
		close(f.gate)
		mustSucceed(t, first)
		out := make([]tensor.Tensor, 1)
		if err := b.Do(rows(50, 6), out, time.Time{}); err != nil {
			t.Fatal(err)
		}
		checkRows(t, out, 50, 6)
		if f.sawRow(10) || f.sawRow(14) {
			t.Error("a piece abandoned in the queue was computed")
		}
	})
}

// realModel writes a model for the batcher tests with onnxpb.
func realModel(t *testing.T, g onnxpb.Graph) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(p, (&onnxpb.Model{Graph: g}).Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var testEnv = sync.OnceValues(func() (*runtime.Environment, error) { return runtime.Open(runtime.Config{}) })

// openReal opens the model at path in real ONNX Runtime sessions behind a
// batcher.
func openReal(t *testing.T, path string, cfg batcher.Config, opts batcher.ModelOptions) *batcher.Batcher {
	t.Helper()
	env, err := testEnv()
	if err != nil {
		t.Fatal(err)
	}
	b, err := batcher.ONNXOpener{Env: env}.Open(path, t.Name(), "1", cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// batchCounts reads the batches and rows the Batchers of model model
// (openReal names them after their test) have run, from the exported
// metrics.
func batchCounts(t *testing.T, model string) (batches, rows int) {
	t.Helper()
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if !strings.Contains(line, `model="`+model+`"`) {
			continue
		}
		f := strings.Fields(line)
		n, _ := strconv.Atoi(f[len(f)-1])
		switch {
		case strings.HasPrefix(line, "infergate_batcher_batch_size_count"):
			batches += n
		case strings.HasPrefix(line, "infergate_batcher_batch_size_sum"):
			rows += n
		}
	}
	return batches, rows
}

// TestShapesBatchApart: a model whose second dimension is dynamic batches
// the requests that agree on it and runs the others apart; each gets its own
// answer.
func TestShapesBatchApart(t *testing.T) {
	t.Parallel()
	dims := []onnxpb.Dim{{Param: "batch"}, {Param: "n"}}
	path := realModel(t, onnxpb.Graph{
		Name:    "neg",
		Nodes:   []onnxpb.Node{{Op: "Neg", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Inputs:  []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: dims}},
		Outputs: []onnxpb.ValueInfo{{Name: "y", Type: onnxpb.Float, Shape: dims}},
	})
	b := openReal(t, path, batcher.Config{MaxBatchSize: 16, MaxQueueDelay: 5 * time.Millisecond, Instances: 2}, batcher.ModelOptions{})
	if !b.Spec().Batch {
		t.Fatal("the model does not batch")
	}
	var wg sync.WaitGroup
	for k := range 60 {
		wg.Go(func() {
			width := 1 + k%3
			x := make([]float32, width)
			for i := range x {
				x[i] = float32(k*10 + i)
			}
			in := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, int64(width)}, Data: tensor.BytesOf(x)}}
			out := make([]tensor.Tensor, 1)
			if err := b.Do(in, out, time.Now().Add(10*time.Second)); err != nil {
				t.Error(err)
				return
			}
			got := tensor.Float32s(out[0].Data)
			if !slices.Equal(out[0].Shape, []int64{1, int64(width)}) || len(got) != width {
				t.Errorf("request %d: output %v %v", k, out[0].Shape, got)
				return
			}
			for i := range got {
				if got[i] != -x[i] {
					t.Errorf("request %d: y[%d] = %g, want %g", k, i, got[i], -x[i])
				}
			}
		})
	}
	wg.Wait()
}

// TestStringTensorsThroughBatches: string inputs and outputs batch, and
// each caller gets its own strings back.
func TestStringTensorsThroughBatches(t *testing.T) {
	t.Parallel()
	dims := []onnxpb.Dim{{Param: "batch"}, {Value: 2}}
	path := realModel(t, onnxpb.Graph{
		Name:    "echo",
		Nodes:   []onnxpb.Node{{Op: "Identity", Inputs: []string{"s"}, Outputs: []string{"t"}}},
		Inputs:  []onnxpb.ValueInfo{{Name: "s", Type: onnxpb.String, Shape: dims}},
		Outputs: []onnxpb.ValueInfo{{Name: "t", Type: onnxpb.String, Shape: dims}},
	})
	b := openReal(t, path, batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 2 * time.Millisecond}, batcher.ModelOptions{})
	var wg sync.WaitGroup
	for k := range 40 {
		wg.Go(func() {
			n := 1 + k%3
			var strs [][]byte
			for i := range 2 * n {
				strs = append(strs, []byte(fmt.Sprintf("caller %d, element %d", k, i)))
			}
			in := []tensor.Tensor{{Name: "s", DType: tensor.String, Shape: []int64{int64(n), 2}, Strings: strs}}
			out := make([]tensor.Tensor, 1)
			if err := b.Do(in, out, time.Now().Add(10*time.Second)); err != nil {
				t.Error(err)
				return
			}
			if !slices.EqualFunc(out[0].Strings, strs, bytes.Equal) {
				t.Errorf("caller %d got %q", k, out[0].Strings)
			}
		})
	}
	wg.Wait()
}

// TestRealModelsThroughTheBatcher: PaddleOCR's classifier batches images of
// one size (and answers each as a run of its own would); openWakeWord's
// detector, with no batch dimension, runs one request at a time.
func TestRealModelsThroughTheBatcher(t *testing.T) {
	t.Parallel()
	t.Run("ocr", func(t *testing.T) {
		t.Parallel()
		path := testmodels.Path(t, testmodels.OCRClassifier)
		b := openReal(t, path, batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 20 * time.Millisecond},
			batcher.ModelOptions{Shapes: map[string][]int64{"x": {-1, 3, 48, 192}}})
		alone := openReal(t, path, batcher.Config{MaxBatchSize: 1}, batcher.ModelOptions{Shapes: map[string][]int64{"x": {-1, 3, 48, 192}}})
		const images, size = 8, 3 * 48 * 192
		rng := rand.New(rand.NewPCG(3, 3))
		inputs := make([][]float32, images)
		for k := range inputs {
			inputs[k] = make([]float32, size)
			for i := range inputs[k] {
				inputs[k][i] = rng.Float32()*2 - 1
			}
		}
		image := func(k int) []tensor.Tensor {
			return []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, 3, 48, 192}, Data: tensor.BytesOf(inputs[k])}}
		}
		got := make([][]float32, images)
		var wg sync.WaitGroup
		for k := range images {
			wg.Go(func() {
				out := make([]tensor.Tensor, 1)
				if err := b.Do(image(k), out, time.Now().Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				got[k] = tensor.Float32s(out[0].Data)
			})
		}
		wg.Wait()
		worst := 0.0
		for k := range images {
			out := make([]tensor.Tensor, 1)
			if err := alone.Do(image(k), out, time.Time{}); err != nil {
				t.Fatal(err)
			}
			want := tensor.Float32s(out[0].Data)
			for c := range 2 {
				worst = max(worst, math.Abs(float64(got[k][c]-want[c])))
			}
		}
		if worst > 1e-5 {
			t.Errorf("batched answers differ from single runs by up to %g", worst)
		}
		t.Logf("8 images batched vs alone: largest difference %g", worst)
	})
	t.Run("ocr recognizer, widths 96, 160 and 320", func(t *testing.T) {
		t.Parallel()
		path := testmodels.Path(t, testmodels.OCRRecognizer)
		b := openReal(t, path, batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 50 * time.Millisecond}, batcher.ModelOptions{})
		alone := openReal(t, path, batcher.Config{MaxBatchSize: 1}, batcher.ModelOptions{})
		widths := []int64{96, 160, 320, 96, 160, 320, 96, 160, 320}
		rng := rand.New(rand.NewPCG(4, 4))
		inputs := make([][]float32, len(widths))
		for k, w := range widths {
			inputs[k] = make([]float32, 3*48*int(w))
			for i := range inputs[k] {
				inputs[k][i] = rng.Float32()*2 - 1
			}
		}
		image := func(k int) []tensor.Tensor {
			return []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, 3, 48, widths[k]}, Data: tensor.BytesOf(inputs[k])}}
		}
		got := make([]tensor.Tensor, len(widths))
		var wg sync.WaitGroup
		for k := range widths {
			wg.Go(func() {
				out := make([]tensor.Tensor, 1)
				if err := b.Do(image(k), out, time.Now().Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				got[k] = out[0]
			})
		}
		wg.Wait()
		// Before the runs alone: both Batchers carry this test's name.
		batches, rows := batchCounts(t, t.Name())
		if batches >= rows {
			t.Errorf("%d rows ran in %d batches: none held more than one row", rows, batches)
		}
		worst := 0.0
		for k := range widths {
			out := make([]tensor.Tensor, 1)
			if err := alone.Do(image(k), out, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[k].Shape, out[0].Shape) {
				t.Fatalf("image %d (width %d): shape %v batched, %v alone", k, widths[k], got[k].Shape, out[0].Shape)
			}
			g, w := tensor.Float32s(got[k].Data), tensor.Float32s(out[0].Data)
			for i := range w {
				worst = max(worst, math.Abs(float64(g[i]-w[i])))
			}
		}
		if worst > 1e-4 {
			t.Errorf("batched answers differ from single runs by up to %g", worst)
		}
		t.Logf("9 images of 3 widths: %d batches, largest difference from a run alone %g", batches, worst)
	})
	t.Run("wakeword", func(t *testing.T) {
		t.Parallel()
		b := openReal(t, testmodels.Path(t, testmodels.WakeWord), batcher.Config{MaxBatchSize: 32, MaxQueueDelay: 5 * time.Millisecond, Instances: 2}, batcher.ModelOptions{})
		if spec := b.Spec(); spec.Batch || b.MaxBatch() != 1 {
			t.Fatalf("Batch, MaxBatch = %v, %d; want false, 1", spec.Batch, b.MaxBatch())
		}
		var wg sync.WaitGroup
		for k := range 10 {
			wg.Go(func() {
				x := make([]float32, 25*96)
				for i := range x {
					x[i] = float32(math.Sin(float64(i * (k + 1))))
				}
				in := []tensor.Tensor{{Name: "onnx::Flatten_0", DType: tensor.Float32, Shape: []int64{1, 25, 96}, Data: tensor.BytesOf(x)}}
				out := make([]tensor.Tensor, 1)
				if err := b.Do(in, out, time.Now().Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				if p := tensor.Float32s(out[0].Data); !slices.Equal(out[0].Shape, []int64{1, 1}) || p[0] < 0 || p[0] > 1 {
					t.Errorf("request %d: %v %v", k, out[0].Shape, p)
				}
			})
		}
		wg.Wait()
		if got := metricValue(t, "infergate_batcher_batch_size_count", t.Name()); got != "10" {
			t.Errorf("batches = %s, want 10 (one per request)", got)
		}
		// A request of two rows does not fit a model with no batch.
		in := []tensor.Tensor{{Name: "onnx::Flatten_0", DType: tensor.Float32, Shape: []int64{2, 25, 96}, Data: make([]byte, 2*25*96*4)}}
		if err := b.Do(in, make([]tensor.Tensor, 1), time.Time{}); err == nil {
			t.Error("a request of 2 rows ran on a model whose first dimension is 1")
		}
	})
}
