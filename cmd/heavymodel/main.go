// Command heavymodel registers, next to the demo churn model, a model whose
// compute dominates the HTTP cost, so that bench/README.md can measure what
// dynamic batching buys when the model is not almost free.
//
// It reads the signature of an existing version (the demo model's production
// version by default) and registers a new version of the same model with that
// exact signature: a multilayer perceptron width → hidden → … → hidden → 1
// with Relu between layers and a final Sigmoid, seeded random weights, written
// with internal/onnxpb. An alias ("heavy" by default) points at it, so a route
// with `version: heavy` serves it through the gateway unchanged. With
// --measure, it then times one ONNX Runtime session of the new file at batch
// 1 and at --max-batch, as a check that batch-1 compute is well above the
// cost of an HTTP request.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/runtime"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "heavymodel: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	root := flag.String("registry", "", "registry folder holding the model (required)")
	model := flag.String("model", "customer-churn", "registry model whose signature the new version reuses")
	from := flag.String("from", registry.ProductionAlias, "version or alias to read the signature from")
	alias := flag.String("alias", "heavy", "alias pointed at the new version")
	hidden := flag.Int("hidden", 256, "units per hidden layer")
	layers := flag.Int("layers", 2, "number of hidden layers")
	seed := flag.Uint64("seed", 1, "seed of the random weights")
	measure := flag.Bool("measure", false, "time the new model with ONNX Runtime at batch 1, 2, 4, … and --max-batch")
	maxBatch := flag.Int("max-batch", 64, "with --measure: the large batch size to time")
	flag.Parse()
	switch {
	case *root == "":
		return errors.New("--registry is required")
	case *hidden < 1 || *layers < 1:
		return fmt.Errorf("--hidden and --layers must be at least 1, got %d and %d", *hidden, *layers)
	}

	store, err := registry.Open(*root)
	if err != nil {
		return err
	}
	base, err := store.Resolve(*model, *from)
	if err != nil {
		return fmt.Errorf("cannot read the signature to reuse (train the demo model first): %w", err)
	}
	existing, err := store.Versions(*model)
	if err != nil {
		return err
	}
	v := &registry.Version{
		Model:     *model,
		Version:   registry.NextVersion(existing),
		Signature: base.Signature,
		Metrics:   map[string]float64{},
		Lineage: registry.Lineage{
			Parent: base.Version,
			Params: map[string]string{
				"algorithm": "random_mlp",
				"hidden":    fmt.Sprint(*hidden),
				"layers":    fmt.Sprint(*layers),
				"seed":      fmt.Sprint(*seed),
			},
			TrainerVersion: "cmd/heavymodel",
			TrainedAt:      time.Now().UTC(),
		},
	}
	width := base.Signature.Width()
	onnx := mlp(&base.Signature, width, *hidden, *layers, *seed)
	if err := store.Register(v, onnx); err != nil {
		return err
	}
	if err := store.SetAlias(*model, *alias, v.Version); err != nil {
		return err
	}
	flops := 2 * (width**hidden + (*layers-1)**hidden**hidden + *hidden)
	fmt.Printf("registered %s@%s (alias %s): MLP %d→%d×%d→1, %d KiB, %.2f MFLOP per row\n",
		v.Model, v.Version, *alias, width, *hidden, *layers, len(onnx)/1024, float64(flops)/1e6)
	if !*measure {
		return nil
	}
	return measureRuns(store.ModelPath(v.Model, v.Version), width, *maxBatch)
}

// mlp returns the ONNX file of a random MLP over sig's input tensor.
func mlp(sig *registry.Signature, width, hidden, layers int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x1eaf))
	var nodes []onnxpb.Node
	var inits []onnxpb.Tensor
	x := sig.Input
	in := width
	for l := 1; l <= layers+1; l++ {
		out := hidden
		if l == layers+1 {
			out = 1
		}
		w, b := fmt.Sprintf("W%d", l), fmt.Sprintf("B%d", l)
		// He initialisation keeps activations of a Relu network in range.
		scale := math.Sqrt(2 / float64(in))
		wd := make([]float32, in*out)
		for i := range wd {
			wd[i] = float32(rng.NormFloat64() * scale)
		}
		inits = append(inits,
			onnxpb.Tensor{Name: w, Dims: []int64{int64(in), int64(out)}, Data: wd},
			onnxpb.Tensor{Name: b, Dims: []int64{int64(out)}, Data: make([]float32, out)})
		y := fmt.Sprintf("h%d", l)
		nodes = append(nodes, onnxpb.Node{Name: fmt.Sprintf("dense%d", l), Op: "Gemm", Inputs: []string{x, w, b}, Outputs: []string{y}})
		if l <= layers {
			r := fmt.Sprintf("relu%d", l)
			nodes = append(nodes, onnxpb.Node{Name: r, Op: "Relu", Inputs: []string{y}, Outputs: []string{r}})
			y = r
		}
		x, in = y, out
	}
	nodes = append(nodes, onnxpb.Node{Name: "sigmoid", Op: "Sigmoid", Inputs: []string{x}, Outputs: []string{sig.Output.Name}})
	m := onnxpb.Model{
		ProducerName: "infergate-bench",
		DocString:    "random MLP with the demo model's signature, for load benchmarks (cmd/heavymodel)",
		Graph: onnxpb.Graph{
			Name:         "bench_mlp",
			Nodes:        nodes,
			Initializers: inits,
			Inputs: []onnxpb.ValueInfo{{
				Name: sig.Input, Type: onnxpb.Float,
				Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(width)}},
			}},
			Outputs: []onnxpb.ValueInfo{{
				Name: sig.Output.Name, Type: onnxpb.Float,
				Shape: []onnxpb.Dim{{Param: "batch"}, {Value: 1}},
			}},
		},
	}
	return m.Marshal()
}

// measureRuns times one single-threaded session (the gateway's default) at
// batch 1, 2, 4 and so on up to maxBatch, about half a second each: the run
// time per batch size that adaptive batching learns (ADR 17).
func measureRuns(path string, width, maxBatch int) (err error) {
	env, err := runtime.Open(runtime.Config{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, env.Close()) }()
	s, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: maxBatch})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	var sizes []int
	for n := 1; n < maxBatch; n *= 2 {
		sizes = append(sizes, n)
	}
	for _, rows := range append(sizes, maxBatch) {
		t, err := s.Input(0, []int64{int64(rows), int64(width)})
		if err != nil {
			return err
		}
		in := tensor.Float32s(t.Data)
		for i := range in {
			in[i] = float32(i%width) / float32(width)
		}
		n, start := 0, time.Now()
		for time.Since(start) < 500*time.Millisecond {
			if err := s.Run(); err != nil {
				return err
			}
			n++
		}
		per := time.Since(start) / time.Duration(n)
		fmt.Printf("batch %3d: %8v per run, %8v per row\n", rows, per.Round(100*time.Nanosecond), (per / time.Duration(rows)).Round(10*time.Nanosecond))
	}
	return nil
}
