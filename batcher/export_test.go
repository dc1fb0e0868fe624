package batcher

import "time"

// EnqueueNoWait queues a row as Do does, but without the caller's deadline
// timer, so that tests can reach the worker's own deadline check. The
// returned function waits for the result.
func EnqueueNoWait(b *Batcher, input, output []float32, deadline time.Time) (wait func() error, err error) {
	r := b.acquire(input, output, time.Now(), deadline)
	if err := b.enqueue(r); err != nil {
		b.release(r)
		return nil, err
	}
	return func() error {
		<-r.done
		err := r.err
		b.release(r)
		return err
	}, nil
}
