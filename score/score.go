package score

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/infergate/infergate/router"
)

// Defaults of Options.
const (
	// DefaultChunk is the number of rows served together with ServeAll.
	DefaultChunk = 256
	// DefaultConcurrency is the number of chunks served at once.
	DefaultConcurrency = 2
)

// Options says what Run scores and how.
type Options struct {
	// In is the input CSV: a header row, then one row per prediction.
	// Required.
	In io.Reader
	// Out receives the output CSV. Run buffers its writes and flushes them
	// before it returns; it never closes Out. Required.
	Out io.Writer
	// Pipeline answers the rows, as the server answers a request's rows
	// (gateway.NewOffline over the scored route, in the binary). Its
	// route's primary model's signature says which columns are features.
	// Required.
	Pipeline Pipeline
	// Concurrency is the number of chunks served at once. Concurrency ×
	// Chunk rows may wait in the route's batcher together: keep it within
	// the batcher's max_queue_size, or rows fail with a full queue.
	// Default 2.
	Concurrency int
	// Chunk is the number of rows served together (router.Route.ServeAll),
	// so that they reach the batcher at once and form full batches.
	// Default 256.
	Chunk int
	// Timeout is each row's deadline, counted from when its chunk is
	// served. Default 0: no deadline.
	Timeout time.Duration
	// IDColumn names the input column copied into the output's first
	// column. Default "": the first output column is "row", the row's
	// 1-based number among the input's data rows.
	IDColumn string
	// Progress, when set, is called after each chunk is written with the
	// rows written so far and how many of them are error rows. It is
	// called from Run's goroutine, one call at a time.
	Progress func(done, errors int)
}

// Pipeline answers requests together through a route: the serving
// pipeline, which Run gives each chunk of rows.
type Pipeline interface {
	// Route is the route the pipeline answers through.
	Route() *router.Route
	// AnswerAll answers reqs together: res[i] and errs[i] are reqs[i]'s
	// answer and error. A nil request is skipped.
	AnswerAll(reqs []*router.Request, res []router.Result, errs []error)
}

// Summary is what a run did.
type Summary struct {
	// Rows is the number of rows written to the output, error rows
	// included.
	Rows int
	// Errors is the number of error rows: rows whose error column is set.
	Errors int
	// Elapsed is the run's wall time, from Run's start to the output's
	// last flush.
	Elapsed time.Duration
	// RowsPerSecond is Rows over Elapsed.
	RowsPerSecond float64
}

// ErrInput classifies the errors about the input as a whole (no header, a
// header that lacks a required feature or the id column): Run returns them
// before it writes anything, and the input must be fixed.
var ErrInput = errors.New("the input cannot be scored")

// Run scores every row of opt.In through opt.Pipeline and writes one output
// row per input row, in input order, to opt.Out. A row that cannot be
// scored (a cell that is not a number, a field too many, a model error)
// becomes an error row; it never fails the run, and the Summary counts it.
//
// Run returns an error that is errors.Is ErrInput, before writing
// anything, when the header cannot be scored; an I/O error of In or Out;
// or ctx's error when ctx ended before the input did, after it has
// written the rows read so far.
func Run(ctx context.Context, opt Options) (Summary, error) {
	start := time.Now()
	switch {
	case opt.In == nil:
		return Summary{}, errors.New("score: Options.In is nil")
	case opt.Out == nil:
		return Summary{}, errors.New("score: Options.Out is nil")
	case opt.Pipeline == nil:
		return Summary{}, errors.New("score: Options.Pipeline is nil")
	case opt.Chunk < 0, opt.Concurrency < 0, opt.Timeout < 0:
		return Summary{}, fmt.Errorf("score: Chunk %d, Concurrency %d and Timeout %s must not be negative", opt.Chunk, opt.Concurrency, opt.Timeout)
	}
	if opt.Chunk == 0 {
		opt.Chunk = DefaultChunk
	}
	if opt.Concurrency == 0 {
		opt.Concurrency = DefaultConcurrency
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	m := opt.Pipeline.Route().Target()
	in, err := newInput(opt.In, &m.Meta().Signature, "model "+m.Name()+" "+m.Version(), opt.IDColumn)
	if err != nil {
		return Summary{}, err
	}
	out := newOutput(opt.Out, opt.IDColumn)
	if err := out.header(); err != nil {
		return Summary{}, err
	}
	p := &pipeline{opt: &opt, in: in, out: out}
	sum, err := p.run(ctx)
	sum.Elapsed = time.Since(start)
	if s := sum.Elapsed.Seconds(); s > 0 {
		sum.RowsPerSecond = float64(sum.Rows) / s
	}
	return sum, err
}

// chunk is a batch of rows on its way through the pipeline: filled by the
// reader, served by a worker, written by the writer, then reused.
type chunk struct {
	rows []row
	n    int // rows in use
	reqs []*router.Request
	res  []router.Result
	errs []error
	// done is closed by the worker when the chunk has been served.
	done chan struct{}
}

func newChunk(size int) *chunk {
	return &chunk{
		rows: make([]row, size),
		reqs: make([]*router.Request, size),
		res:  make([]router.Result, size),
		errs: make([]error, size),
	}
}

// serve answers the chunk's parsed rows together through the pipeline; a
// row's failure becomes its error.
func (c *chunk) serve(p Pipeline, timeout time.Duration) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	reqs := c.reqs[:c.n]
	for i := range reqs {
		r := &c.rows[i]
		reqs[i] = r.req // nil when the row failed to parse
		if r.req != nil {
			r.req.Deadline = deadline
		}
	}
	p.AnswerAll(reqs, c.res[:c.n], c.errs[:c.n])
	for i, req := range reqs {
		if req != nil && c.errs[i] != nil {
			c.rows[i].err = rowError(c.errs[i])
		}
	}
}

// release returns the chunk's requests to their pool.
func (c *chunk) release() {
	for i := range c.rows[:c.n] {
		c.rows[i].release()
	}
	c.n = 0
}

// pipeline streams the input through three stages that overlap: one reader
// goroutine parses chunks, Concurrency workers serve them, and Run's own
// goroutine writes them in input order. Concurrency + 2 chunks exist in
// all, handed around on channels, so memory is bounded by the chunk size
// whatever the input's length.
type pipeline struct {
	opt *Options
	in  *input
	out *output

	// Written by the reader before it closes order; read after.
	readErr  error
	canceled bool
}

func (p *pipeline) run(ctx context.Context) (Summary, error) {
	n := p.opt.Concurrency + 2
	free := make(chan *chunk, n)
	for range n {
		free <- newChunk(p.opt.Chunk)
	}
	work := make(chan *chunk, n)  // to the workers
	order := make(chan *chunk, n) // to the writer, in input order
	abort := make(chan struct{})  // closed by the writer when it fails

	go p.read(ctx, free, work, order, abort)
	var wg sync.WaitGroup
	for range p.opt.Concurrency {
		wg.Go(func() {
			for c := range work {
				c.serve(p.opt.Pipeline, p.opt.Timeout)
				close(c.done)
			}
		})
	}

	var sum Summary
	var writeErr error
	for c := range order {
		<-c.done
		if writeErr == nil {
			for i := range c.rows[:c.n] {
				r := &c.rows[i]
				if writeErr = p.out.write(r, &c.res[i]); writeErr != nil {
					close(abort)
					break
				}
				sum.Rows++
				if r.err != "" {
					sum.Errors++
				}
			}
			if writeErr == nil && p.opt.Progress != nil {
				p.opt.Progress(sum.Rows, sum.Errors)
			}
		}
		c.release()
		free <- c
	}
	wg.Wait()
	if writeErr == nil {
		writeErr = p.out.flush()
	}
	switch {
	case writeErr != nil:
		return sum, writeErr
	case p.readErr != nil:
		return sum, p.readErr
	case p.canceled:
		return sum, ctx.Err()
	}
	return sum, nil
}

// read fills free chunks from the input and hands each to the workers and,
// in the same order, to the writer, until the input ends, ctx ends or the
// writer aborts.
func (p *pipeline) read(ctx context.Context, free <-chan *chunk, work, order chan<- *chunk, abort <-chan struct{}) {
	defer close(order)
	defer close(work)
	for {
		var c *chunk
		select {
		case <-ctx.Done():
			p.canceled = true
			return
		case <-abort:
			return
		case c = <-free:
		}
		// select picks at random among ready cases: look again.
		if ctx.Err() != nil {
			p.canceled = true
			return
		}
		err := p.in.fill(c)
		if c.n > 0 {
			c.done = make(chan struct{})
			work <- c
			order <- c
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.readErr = err
			}
			return
		}
	}
}

// output writes the output CSV.
type output struct {
	w      *csv.Writer
	byID   bool
	idName string
	rec    [6]string
	buf    []byte
}

// The output's columns after the first (the id column or "row").
const (
	ColumnRow          = "row"
	ColumnPrediction   = "prediction"
	ColumnProbability  = "probability"
	ColumnModelVersion = "model_version"
	ColumnTarget       = "target"
	ColumnError        = "error"
)

func newOutput(w io.Writer, idColumn string) *output {
	o := &output{w: csv.NewWriter(w), byID: idColumn != "", idName: idColumn}
	if !o.byID {
		o.idName = ColumnRow
	}
	return o
}

func (o *output) header() error {
	o.rec = [6]string{o.idName, ColumnPrediction, ColumnProbability, ColumnModelVersion, ColumnTarget, ColumnError}
	return o.put()
}

func (o *output) write(r *row, res *router.Result) error {
	id := r.id
	if !o.byID {
		o.buf = appendInt(o.buf[:0], r.num)
		id = string(o.buf)
	}
	if r.err != "" {
		o.rec = [6]string{id, "", "", "", "", r.err}
		return o.put()
	}
	target := ""
	if res.Target != nil {
		target = res.Target.Name()
	}
	o.buf = appendProbability(o.buf[:0], res.Probability)
	o.rec = [6]string{id, res.Label, string(o.buf), res.ModelVersion, target, ""}
	return o.put()
}

func (o *output) put() error {
	if err := o.w.Write(o.rec[:]); err != nil {
		return fmt.Errorf("cannot write the output: %w", err)
	}
	return nil
}

func (o *output) flush() error {
	o.w.Flush()
	if err := o.w.Error(); err != nil {
		return fmt.Errorf("cannot write the output: %w", err)
	}
	return nil
}
