package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/promtext"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// Defaults of CacheConfig.
const (
	DefaultCacheTTL      = time.Minute
	DefaultCacheMaxBytes = 64 << 20
)

// CacheConfig is one route's response cache (routes[].cache).
type CacheConfig struct {
	// Enabled turns the cache on. Default false.
	Enabled bool `yaml:"enabled"`
	// TTL is how long an answer stays. Default 1m.
	TTL time.Duration `yaml:"ttl"`
	// MaxBytes bounds the cache's size, keys and answers included. Default
	// 64 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// Round turns on similarity mode: each named numeric feature is rounded
	// to a multiple of its step before the request is keyed and computed,
	// so nearby requests share one answer (which is then exactly the
	// model's answer for the rounded values). Default none.
	Round map[string]float64 `yaml:"round"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *CacheConfig) ApplyDefaults() {
	defaults.Set(&c.TTL, DefaultCacheTTL)
	defaults.Set(&c.MaxBytes, DefaultCacheMaxBytes)
}

// Validate checks c after ApplyDefaults; path is the config path of c, such
// as "routes[churn].cache".
func (c *CacheConfig) Validate(path string) error {
	var errs []error
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("%s.ttl: must be positive, got %s", path, c.TTL))
	}
	if c.MaxBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("%s.max_bytes: must be at least 1024, got %d", path, c.MaxBytes))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Round)) {
		if step := c.Round[name]; !(step > 0) || math.IsInf(step, 0) {
			errs = append(errs, fmt.Errorf("%s.round[%s]: the step must be a positive number, got %v", path, name, step))
		}
	}
	return errors.Join(errs...)
}

// cacheEntry is one cached answer. It holds its whole key: ristretto finds
// entries by a 128-bit hash, and two keys with the same hash must never
// share an answer, so a hit is only a hit when the keys are equal.
type cacheEntry struct {
	key []byte
	// The answer of a route that takes features: the answer fields of
	// router.Result, the cache's own copies.
	kind        router.AnswerKind
	probability float64
	label       string
	value       float64
	probs       []float32
	// outputs are a tensor route's answer, the cache's own copy: read, never
	// written, by the requests that hit it.
	outputs []tensor.Tensor
}

// entryOverhead approximates an entry's memory beside its key.
const entryOverhead = 64

// routeCache is one route's cache for one routing snapshot. A new snapshot
// (a new model version, a moved alias) gets new caches, so an old version's
// answers are unreachable by construction; its key also carries the version.
type routeCache struct {
	// mu orders close against get and put: ristretto's Close must not run
	// beside a Get or Set (they would send on a closed channel), and a
	// request may outlive its snapshot (a batch that runs past its deadline).
	mu     sync.RWMutex
	closed atomic.Bool // also read by onEvict, on ristretto's goroutine
	cache  *ristretto.Cache[[]byte, *cacheEntry]
	ttl    time.Duration
	round  []roundFeature // similarity mode; nil when off

	hits, misses, collisions, evictions *metrics.Counter
}

// roundFeature is one feature the similarity mode rounds.
type roundFeature struct {
	name string
	step float64
}

// roundFeatures rounds the similarity mode's numeric features of f in place,
// before the request is keyed and computed.
func (c *routeCache) roundFeatures(f *features.Set) {
	for _, r := range c.round {
		if v := f.Get(r.name); v != nil && v.Kind == features.Number {
			v.Num = math.Round(v.Num/r.step) * r.step
		}
	}
}

// keyHasher replaces ristretto's key hash in tests, to force collisions.
type keyHasher func([]byte) (uint64, uint64)

func newRouteCache(set *metrics.Set, route string, cfg CacheConfig, enc *registry.Encoder, hash keyHasher) (*routeCache, error) {
	cfg.ApplyDefaults()
	if enc == nil && len(cfg.Round) > 0 {
		return nil, fmt.Errorf("routes[%s].cache.round: the route takes tensors; rounding applies to the features of a tabular model", route)
	}
	var round []roundFeature
	for _, name := range slices.Sorted(maps.Keys(cfg.Round)) {
		i, ok := enc.Lookup([]byte(name))
		if !ok {
			return nil, fmt.Errorf("routes[%s].cache.round[%s]: the model has no such feature (it has %s)", route, name, featureNames(enc))
		}
		if enc.Feature(i).Type != registry.Numeric {
			return nil, fmt.Errorf("routes[%s].cache.round[%s]: only numeric features can be rounded", route, name)
		}
		round = append(round, roundFeature{name: name, step: cfg.Round[name]})
	}
	label := `{route="` + promtext.EscapeLabel(route) + `"`
	c := &routeCache{
		ttl:        cfg.TTL,
		round:      round,
		hits:       set.GetOrCreateCounter(`infergate_cache_requests_total` + label + `,result="hit"}`),
		misses:     set.GetOrCreateCounter(`infergate_cache_requests_total` + label + `,result="miss"}`),
		collisions: set.GetOrCreateCounter(`infergate_cache_collisions_total` + label + `}`),
		evictions:  set.GetOrCreateCounter(`infergate_cache_evictions_total` + label + `}`),
	}
	rc := &ristretto.Config[[]byte, *cacheEntry]{
		// About 10 counters per entry that fits, as ristretto advises.
		NumCounters: max(cfg.MaxBytes/(entryOverhead+64)*10, 1000),
		MaxCost:     cfg.MaxBytes,
		BufferItems: 64,
		OnEvict:     c.onEvict,
	}
	if hash != nil {
		rc.KeyToHash = hash
	}
	var err error
	if c.cache, err = ristretto.NewCache(rc); err != nil {
		return nil, fmt.Errorf("routes[%s].cache: %w", route, err)
	}
	return c, nil
}

func featureNames(enc *registry.Encoder) string {
	var names []string
	for _, f := range enc.Signature().Features {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// appendKey appends the cache key of an encoded row for version: the version,
// a separator no version contains, and the row's float32 bits. The encoded
// row is the canonical form of the request's features: order, spelling of
// numbers, absent optional features and ignored extras no longer matter.
func appendKey(b []byte, version string, row []float32) []byte {
	b = append(b, version...)
	b = append(b, 0)
	for _, v := range row {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// appendTensorKey appends the cache key of a tensor request for version:
// the version, a separator, then each input's element type, rank, dimensions
// and bytes (strings length-prefixed), in the order the codec decoded them
// (the model's), so that two requests share a key only when the model would
// see the same tensors.
func appendTensorKey(b []byte, version string, inputs []tensor.Tensor) []byte {
	b = append(b, version...)
	b = append(b, 0)
	for i := range inputs {
		t := &inputs[i]
		b = append(b, byte(t.DType), byte(len(t.Shape)))
		for _, d := range t.Shape {
			b = binary.AppendUvarint(b, uint64(d))
		}
		if t.DType == tensor.String {
			for _, s := range t.Strings {
				b = binary.AppendUvarint(b, uint64(len(s)))
				b = append(b, s...)
			}
			continue
		}
		b = append(b, t.Data...)
	}
	return b
}

// onEvict counts entries pushed out for room: not those that expired, and
// not those dropped when the cache closes.
func (c *routeCache) onEvict(item *ristretto.Item[*cacheEntry]) {
	if c.closed.Load() || (!item.Expiration.IsZero() && !item.Expiration.After(time.Now())) {
		return
	}
	c.evictions.Inc()
}

// get returns the answer cached under key, if any.
func (c *routeCache) get(key []byte) (*cacheEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed.Load() {
		c.misses.Inc()
		return nil, false
	}
	e, ok := c.cache.Get(key)
	if !ok {
		c.misses.Inc()
		return nil, false
	}
	if !bytes.Equal(e.key, key) {
		// Same hash, another request: not its answer.
		c.collisions.Inc()
		c.misses.Inc()
		return nil, false
	}
	c.hits.Inc()
	return e, true
}

// put caches a model's answer to req under a copy of key: a tensor
// request's outputs, or a row's answer fields.
func (c *routeCache) put(key []byte, req *router.Request, res *router.Result) {
	e := &cacheEntry{key: bytes.Clone(key)}
	cost := len(e.key) + entryOverhead
	if req.Tensors != nil {
		e.outputs = make([]tensor.Tensor, len(res.Outputs))
		for j := range res.Outputs {
			e.outputs[j].CopyFrom(&res.Outputs[j])
			cost += len(e.outputs[j].Data) + 24*len(e.outputs[j].Strings) + entryOverhead
		}
	} else {
		e.kind, e.probability, e.label = res.Kind, res.Probability, strings.Clone(res.Label)
		e.value, e.probs = res.Value, slices.Clone(res.Probabilities)
		cost += len(e.label) + 4*len(e.probs)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed.Load() {
		c.cache.SetWithTTL(e.key, e, int64(cost), c.ttl)
	}
}

// answer fills res with the entry's answer, as model at version gave it.
func (e *cacheEntry) answer(res *router.Result, version string, t *router.Target) {
	*res = router.Result{Kind: e.kind, Probability: e.probability, Label: e.label, Value: e.value, Probabilities: e.probs,
		Outputs: e.outputs, ModelVersion: version, Target: t}
}

// close frees the cache; get and put after it find nothing and store
// nothing.
func (c *routeCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed.Load() {
		// closed first: Close drops every entry through onEvict.
		c.closed.Store(true)
		c.cache.Close()
	}
}
