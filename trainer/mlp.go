package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Layer is one dense layer of an MLP: out = in·W + B, as float32, exactly
// the values the ONNX file holds (a Gemm with W as its [In, Out] input).
type Layer struct {
	In, Out int
	// W is row-major [In][Out]: W[i*Out+j] joins input i to output j.
	W []float32
	// B has one bias per output.
	B []float32
}

// net is an MLP in training — or, without hidden layers, the linear model
// of a multi-class classifier or a regression: float64 parameters in one
// flat slice, layer by layer, each layer's weights (row-major [in][out])
// then its biases, so the optimiser and early stopping handle them as one
// vector.
type net struct {
	sizes  []int // input width, hidden widths, output units (the head's)
	params []float64
	wOff   []int // where each layer's weights start in params
	bOff   []int // where each layer's biases start in params
}

func newNet(sizes []int) *net {
	n := &net{sizes: sizes}
	off := 0
	for l := range len(sizes) - 1 {
		n.wOff = append(n.wOff, off)
		off += sizes[l] * sizes[l+1]
		n.bOff = append(n.bOff, off)
		off += sizes[l+1]
	}
	n.params = make([]float64, off)
	return n
}

func (n *net) layers() int { return len(n.sizes) - 1 }

// weights and biases of layer l within p, a vector laid out like n.params.
func (n *net) weights(p []float64, l int) []float64 {
	return p[n.wOff[l] : n.wOff[l]+n.sizes[l]*n.sizes[l+1]]
}

func (n *net) biases(p []float64, l int) []float64 {
	return p[n.bOff[l] : n.bOff[l]+n.sizes[l+1]]
}

// decayMask is 1 for the weights and 0 for the biases: L2 applies to the
// weights only.
func (n *net) decayMask() []float64 {
	mask := make([]float64, len(n.params))
	for l := range n.layers() {
		for i := range n.weights(mask, l) {
			mask[n.wOff[l]+i] = 1
		}
	}
	return mask
}

// heInit initialises a net of one output unit, whose bias is bias
// (heInitOutputs).
func (n *net) heInit(rng *rand.Rand, bias float64) { n.heInitOutputs(rng, []float64{bias}) }

// heInitOutputs draws every weight from N(0, 2/fan_in) (He et al., for ReLU
// layers) and sets the biases to zero, the output layer's to biases. The
// draws depend on the layer sizes alone, not on the biases.
func (n *net) heInitOutputs(rng *rand.Rand, biases []float64) {
	clear(n.params)
	for l := range n.layers() {
		scale := math.Sqrt(2 / float64(n.sizes[l]))
		w := n.weights(n.params, l)
		for i := range w {
			w[i] = scale * rng.NormFloat64()
		}
	}
	copy(n.biases(n.params, n.layers()-1), biases)
}

// buffers returns per-layer activation and delta buffers for forward and
// backward: acts[l+1] is layer l's output, deltas[l] its gradient with
// respect to its pre-activation.
func (n *net) buffers() (acts, deltas [][]float64) {
	acts = make([][]float64, len(n.sizes))
	deltas = make([][]float64, n.layers())
	for l := 1; l < len(n.sizes); l++ {
		acts[l] = make([]float64, n.sizes[l])
		deltas[l-1] = make([]float64, n.sizes[l])
	}
	return acts, deltas
}

// forward computes the probability of row x of a binary classifier (one
// output unit, a sigmoid) with parameters p, leaving the activations in
// acts (pass).
func (n *net) forward(p, x []float64, acts [][]float64) float64 {
	return sigmoid(n.pass(p, x, acts)[0])
}

// pass computes the output layer's values for row x with parameters p —
// before the head's activation (sigmoid, softmax, none) — leaving the
// activations in acts (acts[0] = x); the result is acts' last slice.
func (n *net) pass(p, x []float64, acts [][]float64) []float64 {
	acts[0] = x
	last := n.layers() - 1
	for l := range n.layers() {
		in, out := acts[l], acts[l+1]
		copy(out, n.biases(p, l))
		w := n.weights(p, l)
		width := len(out)
		for i, v := range in {
			if v == 0 {
				continue // one-hot and ReLU zeros are common
			}
			for j, wij := range w[i*width : (i+1)*width] {
				out[j] += v * wij
			}
		}
		if l < last {
			for j, z := range out {
				out[j] = max(z, 0)
			}
		}
	}
	return acts[len(acts)-1]
}

// backward adds to grad the gradient of the log loss of the row forward
// last saw, given dz = p - y, the gradient at a binary classifier's one
// output logit (backprop).
func (n *net) backward(p, grad []float64, acts, deltas [][]float64, dz float64) {
	deltas[n.layers()-1][0] = dz
	n.backprop(p, grad, acts, deltas)
}

// backprop adds to grad the gradient of the loss of the row pass last saw,
// given in deltas[layers-1] the loss's gradient with respect to each output
// unit's value (the head writes it there), and leaves every layer's delta
// in deltas.
func (n *net) backprop(p, grad []float64, acts, deltas [][]float64) {
	last := n.layers() - 1
	for l := last; l >= 0; l-- {
		in, d := acts[l], deltas[l]
		width := len(d)
		gb := n.biases(grad, l)
		for j, v := range d {
			gb[j] += v
		}
		gw := n.weights(grad, l)
		for i, v := range in {
			if v == 0 {
				continue
			}
			row := gw[i*width : (i+1)*width]
			for j, dj := range d {
				row[j] += v * dj
			}
		}
		if l == 0 {
			break
		}
		// Through the ReLU of the layer below: its output in[i] > 0 exactly
		// where its derivative is 1.
		w := n.weights(p, l)
		prev := deltas[l-1]
		for i := range prev {
			if in[i] <= 0 {
				prev[i] = 0
				continue
			}
			s := 0.0
			for j, wij := range w[i*width : (i+1)*width] {
				s += wij * d[j]
			}
			prev[i] = s
		}
	}
}

// export returns the layers as float32, as ONNX holds them.
func (n *net) export() []Layer {
	layers := make([]Layer, n.layers())
	for l := range layers {
		w, b := n.weights(n.params, l), n.biases(n.params, l)
		layers[l] = Layer{In: n.sizes[l], Out: n.sizes[l+1], W: make([]float32, len(w)), B: make([]float32, len(b))}
		for i, v := range w {
			layers[l].W[i] = float32(v)
		}
		for i, v := range b {
			layers[l].B[i] = float32(v)
		}
	}
	return layers
}

// exportScaled returns the layers as float32 with the last one's outputs
// mapped by v → v*scale + shift — computed in float64 before rounding — so
// that a net trained on a standardised target outputs the target itself.
func (n *net) exportScaled(scale, shift float64) []Layer {
	layers := n.export()
	last := n.layers() - 1
	for i, v := range n.weights(n.params, last) {
		layers[last].W[i] = float32(v * scale)
	}
	for i, v := range n.biases(n.params, last) {
		layers[last].B[i] = float32(v*scale + shift)
	}
	return layers
}

// fitMLP trains an MLP with mini-batch Adam and L2 decay, shuffling the
// train rows every epoch, and stops when the validation loss has not
// improved for cfg.Patience epochs (descend); it returns the net with the
// weights of the best epoch, the epochs run and the best epoch. Its output
// layer is the run's head's: one unit for a binary classifier or a
// regression, one per class for a multi-class classifier. The seed's mlp
// stream draws the initial weights, then the batch order.
func (rn *run) fitMLP(cfg Config, mon monitor) (n *net, epochs, bestEpoch int, err error) {
	xs := rn.rows64()
	rng := rand.New(rand.NewPCG(cfg.Seed, mlpStream))
	n = newNet(slices.Concat([]int{len(xs[0])}, cfg.Hidden, []int{rn.head.units()}))
	n.heInitOutputs(rng, rn.head.initialBiases())
	epochs, bestEpoch, err = rn.descend(cfg, mon, n, descent{batchSize: cfg.BatchSize, shuffle: rng, patience: cfg.Patience})
	return n, epochs, bestEpoch, err
}

// predictMLP computes a binary MLP's probability for row in float64 from
// the float32 layers.
func (m *Model) predictMLP(row []float32) float64 {
	return sigmoid(m.outputs(row)[0])
}

// outputs computes the last layer's values for row in float64 from the
// float32 layers: a ReLU after every layer but the last, whose values the
// task's head then turns into predictions (sigmoid, softmax, none).
func (m *Model) outputs(row []float32) []float64 {
	if len(row) != m.Layers[0].In {
		panic(fmt.Sprintf("BUG: trainer: PredictRow: row has %d columns, the model takes %d", len(row), m.Layers[0].In))
	}
	in := make([]float64, len(row))
	for i, v := range row {
		in[i] = float64(v)
	}
	last := len(m.Layers) - 1
	for l := range m.Layers {
		layer := &m.Layers[l]
		out := make([]float64, layer.Out)
		for j, b := range layer.B {
			out[j] = float64(b)
		}
		for i, v := range in {
			for j, w := range layer.W[i*layer.Out : (i+1)*layer.Out] {
				out[j] += v * float64(w)
			}
		}
		if l < last {
			for j, z := range out {
				out[j] = max(z, 0)
			}
		}
		in = out
	}
	return in
}
