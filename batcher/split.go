package batcher

import (
	"time"

	"github.com/infergate/infergate/internal/tensor"
)

// maxPooledBytes is the largest output buffer a pooled piece keeps: one
// huge request should not pin its memory in the pool.
const maxPooledBytes = 1 << 20

// piece is the memory a request owns when it is one piece of a split
// request: row views of the caller's inputs, and outputs of its own that
// the caller's are concatenated from.
type piece struct {
	views  []tensor.Tensor
	shapes [][]int64
	own    []tensor.Tensor
}

// view points the piece's inputs at rows [from, to) of in.
func (p *piece) view(in []tensor.Tensor, from, to int) []tensor.Tensor {
	for len(p.views) < len(in) {
		p.views = append(p.views, tensor.Tensor{})
		p.shapes = append(p.shapes, nil)
	}
	for i := range in {
		p.views[i] = in[i].RowView(from, to, p.shapes[i])
		p.shapes[i] = p.views[i].Shape
	}
	return p.views[:len(in)]
}

func (p *piece) outputs(n int) []tensor.Tensor {
	for len(p.own) < n {
		p.own = append(p.own, tensor.Tensor{})
	}
	return p.own[:n]
}

// trim drops the views' references to a caller's memory and outputs too
// large to keep in the pool.
func (p *piece) trim() {
	for i := range p.views {
		p.views[i] = tensor.Tensor{}
	}
	for i := range p.own {
		if cap(p.own[i].Data) > maxPooledBytes || cap(p.own[i].Strings) > maxPooledBytes/8 {
			p.own[i] = tensor.Tensor{}
		}
	}
}

// doSplit runs a request of more rows than max_batch_size as pieces of at
// most max_batch_size rows, queued together so that free instances take
// them at once, and answers with their outputs concatenated. Every piece
// that was queued is waited for, even after another failed: a running piece
// reads the caller's inputs. The first error is the request's.
func (b *Batcher) doSplit(in, out []tensor.Tensor, rows int, lv uint8, now, deadline time.Time) error {
	n := (rows + b.maxBatch - 1) / b.maxBatch
	pieces := make([]*request, 0, n)
	var err error
	for k := range n {
		from, to := k*b.maxBatch, min((k+1)*b.maxBatch, rows)
		r := b.acquire(nil, nil, to-from, lv, now, deadline)
		r.in, r.out = r.piece.view(in, from, to), r.piece.outputs(len(out))
		if err = b.enqueue(r); err != nil {
			b.release(r)
			break
		}
		pieces = append(pieces, r)
	}
	late := false
	for k, r := range pieces {
		if !deadline.IsZero() {
			if werr := r.waitUntil(deadline); werr != nil {
				// Abandoned: the worker puts the piece back in the pool.
				pieces[k], late = nil, true
				if err == nil {
					err = werr
				}
				continue
			}
		} else {
			<-r.done
		}
		if err == nil {
			err = r.err
		}
	}
	if late {
		b.metrics.rejectedDeadline.Inc()
	}
	if err == nil {
		parts := make([]*tensor.Tensor, n)
		for j := range out {
			for k, r := range pieces {
				parts[k] = &r.out[j]
			}
			out[j].Concat(parts)
		}
	}
	for _, r := range pieces {
		if r != nil {
			b.release(r)
		}
	}
	return err
}
