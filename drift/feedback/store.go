package feedback

import (
	"bytes"
	"cmp"
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
)

// MaxIDLen is the longest request id recorded, in bytes. A longer id is not
// recorded (counted in Stats.IDsTooLong), so a label for it is refused.
const MaxIDLen = 128

// Ways is the number of entries in a set: a prediction can only be kept in
// the set its id hashes to.
const Ways = 8

// EntrySize is the memory one kept prediction takes, in bytes: its entry
// and its share of the set's lock.
const EntrySize = int(unsafe.Sizeof(set{})) / Ways

// The errors of Label, checked with errors.Is.
var (
	// ErrUnknownRequest: no prediction with this id waits for a label. It
	// was never recorded (its id was empty or longer than MaxIDLen, or
	// feedback was off), was evicted from its set, or is older than
	// Config.TTL.
	ErrUnknownRequest = errors.New("unknown request_id: no prediction with this id is waiting for a label (never made, evicted, or older than feedback.ttl)")
	// ErrAlreadyLabelled: the prediction has had its label; a second one is
	// not counted.
	ErrAlreadyLabelled = errors.New("request_id already labelled: a prediction takes one label")
	// ErrDisabled: feedback is turned off (feedback.disabled).
	ErrDisabled = errors.New("feedback is disabled: set feedback.disabled to false to record predictions and take labels")
)

// Outcome is what Label joined a label to: the prediction's model and what
// it predicted.
type Outcome struct {
	Route   string `json:"route"`
	Version string `json:"version"`
	// Kind is what the version predicts.
	Kind Kind `json:"-"`
	// Probability is a binary classifier's probability of the positive
	// class; PredictedPositive says it is at or above Config.Threshold.
	Probability       float64 `json:"probability"`
	PredictedPositive bool    `json:"predicted_positive"`
	// Class is a classifier's predicted class ("" when it predicted one
	// its tracker does not know); Value a regression's prediction.
	Class string  `json:"class,omitempty"`
	Value float64 `json:"value,omitempty"`
	// Correct says the prediction was the label (the side of the
	// threshold, the class; for a value, exactly).
	Correct bool `json:"correct"`
}

// Stats are a store's counters since New.
type Stats struct {
	// Capacity is the number of predictions the table holds: Config.Capacity
	// rounded up to a multiple of Ways.
	Capacity int `json:"capacity"`
	// Recorded predictions (a re-recorded id counts again).
	Recorded uint64 `json:"recorded"`
	// IDsTooLong: predictions not recorded, their id longer than MaxIDLen.
	IDsTooLong uint64 `json:"ids_too_long"`
	// InvalidProbabilities: predictions not recorded, their probability
	// outside [0, 1] or NaN.
	InvalidProbabilities uint64 `json:"invalid_probabilities"`
	// Evicted: predictions pushed out of a full set within their TTL,
	// before a label came. Many mean Capacity is too small for the traffic
	// of one TTL.
	Evicted uint64 `json:"evicted"`
	// Expired: predictions whose slot was reused after their TTL without a
	// label having come (counted when the slot is reused).
	Expired uint64 `json:"expired"`
	// UnknownLabels: labels refused with ErrUnknownRequest.
	UnknownLabels uint64 `json:"unknown_labels"`
	// DuplicateLabels: labels refused with ErrAlreadyLabelled.
	DuplicateLabels uint64 `json:"duplicate_labels"`
}

// Store keeps the predictions waiting for their label, and the statistics of
// the labelled ones per model version. It is safe for concurrent use; see
// the package documentation for its concurrency model.
type Store struct {
	cfg   Config
	ttl   int64 // ns
	seed  maphash.Seed
	sets  []set // nil when disabled
	nsets uint64

	shards     [counterShards]shard
	tooLong    atomic.Uint64
	invalid    atomic.Uint64
	unknown    atomic.Uint64
	duplicates atomic.Uint64

	// trackers[i] is the tracker numbered i (0: none), copied on write:
	// Label reads it without a lock.
	trackers atomic.Pointer[[]*Tracker]

	mu         sync.Mutex // guards byKey, registered and writes of trackers
	byKey      map[trackerKey]*Tracker
	registered map[*metrics.Set]struct{} // the sets RegisterMetrics added to
}

type trackerKey struct{ route, version string }

// set is Ways entries and the lock that guards them. It holds no pointer,
// so the garbage collector never scans the table.
type set struct {
	mu   sync.Mutex
	ways [Ways]entry
}

// entry is one kept prediction; tracker 0 marks an empty entry.
type entry struct {
	at       int64   // Record's time, Unix ns
	prob     float64 // the prediction's probability
	tag      uint32  // the id hash's low bits, compared before the id
	tracker  uint32  // index in Store.trackers
	n        uint8   // len(id)
	labelled bool
	id       [MaxIDLen]byte
}

// counterShards spreads the counters every Record touches over cache lines,
// by set, so that cores recording at once do not contend on one.
const counterShards = 64

type shard struct {
	recorded atomic.Uint64
	evicted  atomic.Uint64
	expired  atomic.Uint64
	_        [40]byte // one shard per cache line
}

// New returns a store configured by cfg, its zero fields taking their
// defaults; it allocates the whole table (Stats.Capacity × EntrySize bytes)
// unless feedback is disabled.
func New(cfg Config) (*Store, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:        cfg,
		ttl:        int64(cfg.TTL),
		seed:       maphash.MakeSeed(),
		byKey:      map[trackerKey]*Tracker{},
		registered: map[*metrics.Set]struct{}{},
	}
	s.trackers.Store(&[]*Tracker{nil})
	if !cfg.Disabled {
		s.nsets = uint64((cfg.Capacity + Ways - 1) / Ways)
		s.sets = make([]set, s.nsets)
	}
	return s, nil
}

// Config returns the store's configuration, defaults applied.
func (s *Store) Config() Config { return s.cfg }

// Enabled reports whether the store records predictions (Config.Disabled
// is false).
func (s *Store) Enabled() bool { return s.sets != nil }

// Tracker returns the tracker of a route's model version, a binary
// classifier's (TrackerOf).
func (s *Store) Tracker(route, version string) *Tracker {
	return s.TrackerOf(route, version, Binary, nil)
}

// TrackerOf returns the tracker of a route's model version whose
// predictions are of kind (a classifier's over classes), making it on the
// first call for the pair: a routing table reloaded with the same version
// keeps its statistics (and its first kind). It takes a lock; call it when
// a routing table loads, not per request.
func (s *Store) TrackerOf(route, version string, kind Kind, classes []string) *Tracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := trackerKey{route, version}
	if t := s.byKey[k]; t != nil {
		return t
	}
	old := *s.trackers.Load()
	t := &Tracker{route: route, version: version, threshold: s.cfg.Threshold, store: s, num: uint32(len(old)), kind: kind}
	if kind == Classes {
		t.classes = slices.Clone(classes)
		t.classIndex = make(map[string]int, len(classes))
		for i, c := range classes {
			t.classIndex[c] = i
		}
	}
	list := append(slices.Clip(old), t)
	s.trackers.Store(&list)
	s.byKey[k] = t
	return t
}

// Record keeps a prediction until its label comes: id is the request's id,
// tr the tracker of the model version that answered, prediction what it
// predicted (as the tracker's kind takes it: a probability of the positive
// class, a class's index — tr.ClassIndex, -1 for one it does not know — or
// a value) and now the time it answered. It is on
// the request path: it takes one set's lock for a scan of Ways entries and
// a copy of id, and allocates nothing. id is copied, not retained.
//
// An id recorded again replaces its earlier prediction, labelled or not:
// request ids come from clients and can repeat, and the label that follows
// is taken to be for the latest. A full set replaces, in this order, an
// entry that has had its label or is older than the TTL, the oldest first,
// or else its oldest entry (counted in Stats.Evicted). Nothing is recorded
// when the store is disabled, tr is nil, id is empty or longer than
// MaxIDLen, or prediction does not fit the kind (a probability outside
// [0, 1], NaN, an infinite value). tr must come from s.Tracker.
func (s *Store) Record(id []byte, tr *Tracker, prediction float64, now time.Time) {
	if s.sets == nil || tr == nil || len(id) == 0 {
		return
	}
	if tr.store != s {
		panic("BUG: feedback: Record with a tracker of another store")
	}
	if len(id) > MaxIDLen {
		s.tooLong.Add(1)
		return
	}
	if !tr.fits(prediction) {
		s.invalid.Add(1)
		return
	}
	at := now.UnixNano()
	i, tag := s.locate(id)
	st := &s.sets[i]
	sh := &s.shards[i%counterShards]
	st.mu.Lock()
	e, evicted, expired := st.victim(tag, id, at, s.ttl)
	e.at, e.prob, e.tag, e.tracker, e.n, e.labelled = at, prediction, tag, tr.num, uint8(len(id)), false
	copy(e.id[:], id)
	st.mu.Unlock()
	sh.recorded.Add(1)
	if evicted {
		sh.evicted.Add(1)
	}
	if expired {
		sh.expired.Add(1)
	}
}

// locate returns the number of the set id belongs to, and its tag.
func (s *Store) locate(id []byte) (uint64, uint32) {
	h := maphash.Bytes(s.seed, id)
	return (h >> 32) * s.nsets >> 32, uint32(h) // nsets < 2³²
}

// victim returns the entry to record id in: its own, an empty one, the
// oldest done one (labelled or older than ttl) or the oldest; and whether
// that entry held a prediction still waiting for its label (evicted) or one
// that waited in vain (expired). The set's lock is held.
func (st *set) victim(tag uint32, id []byte, now, ttl int64) (e *entry, evicted, expired bool) {
	var empty, done, oldest *entry
	for i := range st.ways {
		w := &st.ways[i]
		switch {
		case w.tracker == 0:
			if empty == nil {
				empty = w
			}
		case w.tag == tag && int(w.n) == len(id) && bytes.Equal(w.id[:w.n], id):
			return w, false, false
		case w.labelled || now-w.at > ttl:
			if done == nil || w.at < done.at {
				done = w
			}
		default:
			if oldest == nil || w.at < oldest.at {
				oldest = w
			}
		}
	}
	switch {
	case empty != nil:
		return empty, false, false
	case done != nil:
		return done, false, !done.labelled
	}
	return oldest, true, false
}

// find returns id's entry, or nil. The set's lock is held.
func (st *set) find(tag uint32, id []byte) *entry {
	for i := range st.ways {
		w := &st.ways[i]
		if w.tracker != 0 && w.tag == tag && int(w.n) == len(id) && bytes.Equal(w.id[:w.n], id) {
			return w
		}
	}
	return nil
}

// Label joins a ground-truth label to the prediction recorded with id, adds
// the pair to its version's tracker and returns what was predicted. It
// fails with ErrUnknownRequest when no such prediction waits (never
// recorded, evicted, or older than the TTL at now), ErrAlreadyLabelled when
// it has had its label, ErrBadLabel when the label does not fit the
// prediction's kind (the prediction still waits), and ErrDisabled. It
// allocates nothing but on an error; id is not retained.
func (s *Store) Label(id []byte, truth Truth, now time.Time) (Outcome, error) {
	if s.sets == nil {
		return Outcome{}, ErrDisabled
	}
	if len(id) == 0 || len(id) > MaxIDLen {
		s.unknown.Add(1)
		return Outcome{}, ErrUnknownRequest
	}
	i, tag := s.locate(id)
	st := &s.sets[i]
	st.mu.Lock()
	e := st.find(tag, id)
	if e == nil || now.UnixNano()-e.at > s.ttl {
		st.mu.Unlock()
		s.unknown.Add(1)
		return Outcome{}, ErrUnknownRequest
	}
	// A label that cannot be the prediction's is refused as such, even
	// when the prediction has one already.
	tr := (*s.trackers.Load())[e.tracker]
	y, err := tr.truthOf(truth)
	if err != nil {
		st.mu.Unlock()
		return Outcome{}, err
	}
	if e.labelled {
		st.mu.Unlock()
		s.duplicates.Add(1)
		return Outcome{}, ErrAlreadyLabelled
	}
	e.labelled = true
	p := e.prob
	st.mu.Unlock()
	out := Outcome{Route: tr.route, Version: tr.version, Kind: tr.kind}
	out.Correct = tr.add(p, y)
	switch tr.kind {
	case Binary:
		out.Probability, out.PredictedPositive = p, p >= tr.threshold
	case Classes:
		if k := int(p); k >= 0 && k < len(tr.classes) {
			out.Class = tr.classes[k]
		}
	case Value:
		out.Value = p
	}
	return out, nil
}

// fits reports whether prediction is one the tracker's kind records.
func (t *Tracker) fits(prediction float64) bool {
	switch t.kind {
	case Classes:
		return prediction == math.Trunc(prediction) && prediction >= -1 && prediction < float64(len(t.classes))
	case Value:
		return !math.IsNaN(prediction) && !math.IsInf(prediction, 0)
	}
	return prediction >= 0 && prediction <= 1
}

// Stats returns the store's counters. They are read one by one while
// predictions and labels arrive.
func (s *Store) Stats() Stats {
	st := Stats{
		Capacity:             len(s.sets) * Ways,
		IDsTooLong:           s.tooLong.Load(),
		InvalidProbabilities: s.invalid.Load(),
		UnknownLabels:        s.unknown.Load(),
		DuplicateLabels:      s.duplicates.Load(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		st.Recorded += sh.recorded.Load()
		st.Evicted += sh.evicted.Load()
		st.Expired += sh.expired.Load()
	}
	return st
}

// Reports returns the report of every tracker, by route then version
// (ordered as strings).
func (s *Store) Reports() []Report {
	return s.reports(func(*Tracker) bool { return true })
}

// RouteReports returns the reports of route's versions, by version; none
// when the route has no tracker.
func (s *Store) RouteReports(route string) []Report {
	return s.reports(func(t *Tracker) bool { return t.route == route })
}

func (s *Store) reports(keep func(*Tracker) bool) []Report {
	list := (*s.trackers.Load())[1:]
	rs := make([]Report, 0, len(list))
	for _, t := range list {
		if keep(t) {
			rs = append(rs, t.Report())
		}
	}
	slices.SortFunc(rs, func(a, b Report) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Version, b.Version))
	})
	return rs
}
