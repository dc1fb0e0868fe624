package featurefetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/breaker"
	"github.com/infergate/infergate/internal/features"
)

// Errors of a lookup, wrapped in a *FeatureError when a policy fails the
// request.
var (
	// ErrStoreUnavailable: the store could not be read in time (down,
	// slow, its breaker open).
	ErrStoreUnavailable = errors.New("feature store unavailable")
	// ErrFeatureMissing: the store holds no value for the feature (or no
	// row for the entity).
	ErrFeatureMissing = errors.New("feature missing")
	// ErrFeatureStale: the value is older than the view's max_age.
	ErrFeatureStale = errors.New("feature stale")
)

// FeatureError is a lookup outcome whose policy is fail: the request cannot
// be served. Err is one of the errors above.
type FeatureError struct {
	View, Feature string
	Err           error
	Msg           string
}

func (e *FeatureError) Error() string { return e.Msg }
func (e *FeatureError) Unwrap() error { return e.Err }

// Fetcher looks feature rows up for requests: per view, a local cache in
// front of the store; around the store, a circuit breaker; and readers that
// take every lookup waiting at the moment into one round trip.
//
// # Concurrency model
//
// A request's goroutine checks the cache; on a miss it queues a lookup and
// waits for it until its own deadline. Readers (StoreConfig.Readers
// goroutines) each take the lookups queued at that moment, read them in one
// Store.Read and complete each exactly once: a lookup whose waiter gave up
// (its deadline passed) is returned to the pool by the reader instead. The
// cache is filled by the readers.
type Fetcher struct {
	cfg   StoreConfig
	store Store
	// breaker guards the store: while it is open, lookups are refused
	// without being queued; after its cool-down they go to it, and it lets
	// its probes by.
	breaker *breaker.Breaker
	views   map[string]*ViewFetcher
	queue   chan *lookup
	stop    chan struct{}
	readers sync.WaitGroup
	log     *slog.Logger

	reads, readKeys atomic.Uint64 // round trips to the store, and the keys they read

	set        *metrics.Set
	batchSize  *metrics.Histogram
	readTime   *metrics.Histogram
	readErrors *metrics.Counter
}

// New builds the store cfg names and the views, and starts the readers.
// cfg gets its defaults applied and is validated.
func New(cfg Config, log *slog.Logger) (*Fetcher, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var store Store
	var err error
	switch cfg.Store.Kind {
	case StoreRedis:
		rc := cfg.Store.Redis
		if rc.PasswordEnv != "" && rc.Password == "" {
			rc.Password = os.Getenv(rc.PasswordEnv)
		}
		store, err = NewRedisStore(rc)
	default:
		store, err = NewEmbeddedStore(cfg.Store.Snapshot, cfg.Store.ReloadInterval, log)
	}
	if err != nil {
		return nil, err
	}
	return NewWithStore(cfg, store, log)
}

// NewWithStore is New over a store the caller made; the Fetcher closes it.
func NewWithStore(cfg Config, store Store, log *slog.Logger) (*Fetcher, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		store.Close()
		return nil, err
	}
	f := &Fetcher{
		cfg:   cfg.Store,
		store: store,
		views: make(map[string]*ViewFetcher, len(cfg.Views)),
		queue: make(chan *lookup, max(1024, 4*cfg.Store.MaxBatch*cfg.Store.Readers)),
		stop:  make(chan struct{}),
		log:   log,
		set:   metrics.NewSet(),
	}
	f.batchSize = f.set.NewHistogram(`infergate_features_batch_size`)
	f.set.NewGauge(`infergate_features_store_reads_total`, func() float64 { return float64(f.reads.Load()) })
	f.readTime = f.set.NewHistogram(`infergate_features_read_duration_seconds`)
	f.readErrors = f.set.NewCounter(`infergate_features_store_errors_total`)
	f.breaker = breaker.New("feature store", cfg.Store.Breaker, nil, func(from, to string) {
		log.Warn("feature store breaker", "from", from, "to", to)
	})
	if f.breaker.Enabled() {
		f.set.NewGauge(`infergate_features_breaker_state`, f.breaker.StateValue)
	}
	for i := range cfg.Views {
		vf, err := newViewFetcher(f, &cfg.Views[i])
		if err != nil {
			f.Close()
			return nil, err
		}
		f.views[vf.view.Name] = vf
	}
	metrics.RegisterSet(f.set)
	for range cfg.Store.Readers {
		f.readers.Add(1)
		go f.read()
	}
	return f, nil
}

// Stats are a fetcher's store reads since it started.
type Stats struct {
	// Reads are the round trips to the store; Keys the entities they read.
	Reads, Keys uint64
}

// Stats returns the store reads so far.
func (f *Fetcher) Stats() Stats { return Stats{Reads: f.reads.Load(), Keys: f.readKeys.Load()} }

// View returns the fetcher of the named view, or nil.
func (f *Fetcher) View(name string) *ViewFetcher { return f.views[name] }

// Close stops the readers, closes the store and the caches, and
// unregisters the metrics. Lookups still queued get ErrStoreUnavailable.
func (f *Fetcher) Close() {
	select {
	case <-f.stop:
		return
	default:
		close(f.stop)
	}
	f.readers.Wait()
	for {
		select {
		case l := <-f.queue:
			l.complete(Row{}, ErrStoreUnavailable)
			continue
		default:
		}
		break
	}
	for _, vf := range f.views {
		if vf.cache != nil {
			vf.cache.Close()
		}
	}
	f.store.Close()
	metrics.UnregisterSet(f.set, true)
}

// read is a reader: it takes the lookups waiting, reads them in one round
// trip per view, and completes them.
func (f *Fetcher) read() {
	defer f.readers.Done()
	batch := make([]*lookup, 0, f.cfg.MaxBatch)
	var keys []EntityKey
	var rows []Row
	for {
		select {
		case <-f.stop:
			return
		case l := <-f.queue:
			batch = append(batch[:0], l)
		}
	more:
		for len(batch) < f.cfg.MaxBatch {
			select {
			case l := <-f.queue:
				batch = append(batch, l)
			default:
				break more
			}
		}
		f.batchSize.Update(float64(len(batch)))
		// Most batches hold one view; each view is one Read.
		for len(batch) > 0 {
			vf := batch[0].vf
			keys, rows = keys[:0], rows[:0]
			n := 0
			for _, l := range batch {
				if l.vf == vf {
					keys = append(keys, l.entity())
				}
			}
			// The rows' values go into the cache and to the waiters: a
			// Read fills fresh Row values, so reusing the slice is safe.
			rows = slices.Grow(rows, len(keys))[:len(keys)]
			clear(rows)
			err := f.readStore(vf.view, keys, rows)
			rest := batch[:0]
			for _, l := range batch {
				if l.vf != vf {
					rest = append(rest, l)
					continue
				}
				if err == nil {
					vf.fill(l.key, &rows[n])
				}
				l.complete(rows[n], err)
				n++
			}
			batch = rest
		}
	}
}

// readStore reads through the breaker, bounded by the store timeout.
func (f *Fetcher) readStore(v *View, keys []EntityKey, rows []Row) error {
	f.reads.Add(1)
	f.readKeys.Add(uint64(len(keys)))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.Timeout)
	defer cancel()
	err := f.breaker.Do(func() (struct{}, error) { return struct{}{}, f.store.Read(ctx, v, keys, rows) })
	f.readTime.UpdateDuration(start)
	if err != nil {
		f.readErrors.Inc()
		if !errors.Is(err, breaker.ErrOpen) {
			f.log.Debug("feature store read failed", "view", v.Name, "keys", len(keys), "err", err)
		}
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return nil
}

// lookup is one entity's pending read. It is pooled: the waiter returns it
// once it has the answer, or the reader does when the waiter gave up.
type lookup struct {
	vf    *ViewFetcher
	key   []byte // the entity key's bytes (a number key in decimal)
	isNum bool
	num   float64
	row   Row
	err   error
	done  chan struct{}
	state atomic.Int32
}

const (
	lookupWaiting int32 = iota
	lookupDone
	lookupAbandoned
)

var lookupPool = sync.Pool{New: func() any { return &lookup{done: make(chan struct{}, 1)} }}

func (l *lookup) entity() EntityKey {
	if l.isNum {
		return EntityKey{Num: l.num, IsNum: true}
	}
	return EntityKey{Str: l.key}
}

// complete hands the answer to the waiter, exactly once; if the waiter has
// given up, the lookup goes back to the pool.
func (l *lookup) complete(row Row, err error) {
	l.row, l.err = row, err
	if l.state.CompareAndSwap(lookupWaiting, lookupDone) {
		l.done <- struct{}{}
		return
	}
	l.release()
}

func (l *lookup) release() {
	l.vf, l.row, l.err = nil, Row{}, nil
	l.key = l.key[:0]
	l.state.Store(lookupWaiting)
	lookupPool.Put(l)
}

// numKeyPool holds buffers for number keys in decimal.
var numKeyPool = sync.Pool{New: func() any { return new([24]byte) }}

// timerPool holds the timers waiters use for their deadline.
var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// pending is a row on its way: either known at once (from the cache, or
// refused: l is nil) or a queued lookup to await.
type pending struct {
	row    Row
	result string
	err    error
	l      *lookup
}

// start looks key up in the cache and, on a miss, queues a lookup for the
// readers (unless the breaker is open or the queue full).
func (vf *ViewFetcher) start(key *features.Feature, now time.Time, wait time.Duration) pending {
	k := key.Str
	if key.Kind == features.Number {
		// A key on the stack would escape into the cache's Get; a string
		// key needs no buffer at all.
		nb := numKeyPool.Get().(*[24]byte)
		defer numKeyPool.Put(nb)
		k = key.AppendKey(nb[:0])
	}
	if row, ok := vf.cached(k); ok {
		return pending{row: row, result: resultCacheHit}
	}
	f := vf.f
	if f.breaker.Open() {
		return pending{result: resultBreakerOpen, err: ErrStoreUnavailable}
	}
	if wait <= 0 {
		return pending{result: resultTimeout, err: ErrStoreUnavailable}
	}
	l := lookupPool.Get().(*lookup)
	l.vf, l.isNum, l.num = vf, key.Kind == features.Number, key.Num
	l.key = append(l.key[:0], k...)
	select {
	case f.queue <- l:
		return pending{l: l}
	default:
		l.release()
		return pending{result: resultQueueFull, err: ErrStoreUnavailable}
	}
}

// await waits for p's lookup until the timer fires (a timer already fired
// makes it take only an answer that is there).
func (p *pending) await(t *time.Timer, fired *bool) {
	if p.l == nil {
		return
	}
	l := p.l
	p.l = nil
	if !*fired {
		select {
		case <-l.done:
			p.take(l)
			return
		case <-t.C:
			*fired = true
		}
	}
	if l.state.CompareAndSwap(lookupWaiting, lookupAbandoned) {
		p.result, p.err = resultTimeout, ErrStoreUnavailable
		return
	}
	// The reader completed it meanwhile.
	<-l.done
	p.take(l)
}

func (p *pending) take(l *lookup) {
	p.row, p.err = l.row, l.err
	l.release()
	switch {
	case p.err != nil:
		p.row, p.result = Row{}, resultError
	case p.row.Found:
		p.result = resultStoreHit
	default:
		p.result = resultNotFound
	}
}

// waitFor is how long a lookup made at now may wait: the store's timeout,
// and at most half of what is left to deadline (the rest is the model's).
func (f *Fetcher) waitFor(now, deadline time.Time) time.Duration {
	wait := f.cfg.Timeout
	if !deadline.IsZero() {
		wait = min(wait, deadline.Sub(now)/2)
	}
	return wait
}

// acquireTimer returns a pooled timer set to fire after d.
func acquireTimer(d time.Duration) *time.Timer {
	t := timerPool.Get().(*time.Timer)
	t.Reset(d)
	return t
}

// releaseTimer stops t and returns it to the pool. (Since Go 1.23 a
// stopped timer's channel holds nothing stale, so it need not be drained.)
func releaseTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// Lookup results, as the lookups metric labels them.
const (
	resultCacheHit    = "cache_hit"
	resultStoreHit    = "store_hit"
	resultNotFound    = "not_found"
	resultError       = "error"
	resultTimeout     = "timeout"
	resultBreakerOpen = "breaker_open"
	resultQueueFull   = "queue_full"
	resultNoKey       = "no_entity_key"
	resultSkipped     = "not_needed"
)

var results = []string{resultCacheHit, resultStoreHit, resultNotFound, resultError, resultTimeout, resultBreakerOpen, resultQueueFull, resultNoKey, resultSkipped}

// cachedRow is a cache entry: the row of one entity (possibly not found),
// with its whole key, so that two keys with one hash never share a row.
type cachedRow struct {
	key []byte
	row Row
}

func (vf *ViewFetcher) cached(key []byte) (Row, bool) {
	if vf.cache == nil {
		return Row{}, false
	}
	e, ok := vf.cache.Get(key)
	if !ok || !bytes.Equal(e.key, key) {
		return Row{}, false
	}
	return e.row, true
}

// fill stores a row the store answered in the cache.
func (vf *ViewFetcher) fill(key []byte, row *Row) {
	if vf.cache == nil {
		return
	}
	e := &cachedRow{key: append([]byte(nil), key...), row: *row}
	cost := int64(len(e.key) + 64 + 32*len(row.Values))
	for _, v := range row.Values {
		cost += int64(len(v.Str))
	}
	vf.cache.SetWithTTL(e.key, e, cost, vf.ttl)
}
