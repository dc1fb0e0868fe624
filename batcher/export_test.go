package batcher

import (
	"time"

	"github.com/infergate/infergate/internal/tensor"
)

// EnqueueNoWait queues a one-row request as Do does, but without the
// caller's deadline timer, so that tests can reach the worker's own deadline
// check. The returned function waits for the result and copies the output
// row into output.
func EnqueueNoWait(b *Batcher, input, output []float32, deadline time.Time) (wait func() error, err error) {
	in := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, int64(len(input))}, Data: tensor.BytesOf(input)}}
	out := make([]tensor.Tensor, 1)
	r := b.acquire(in, out, 1, b.defaultLevel, time.Now(), deadline)
	if err := b.enqueue(r); err != nil {
		b.release(r)
		return nil, err
	}
	return func() error {
		<-r.done
		err := r.err
		b.release(r)
		if err == nil {
			copy(output, tensor.Float32s(out[0].Data))
		}
		return err
	}, nil
}

// IgnoreProcessCPU makes b's adaptive policy judge how busy compute is from
// its instances alone: under a fake clock (synctest) the process's real CPU
// time says nothing.
func IgnoreProcessCPU(b *Batcher) { b.adapt.cpu = nil }
