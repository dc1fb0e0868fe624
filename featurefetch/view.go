package featurefetch

import (
	"fmt"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/infergate/infergate/internal/features"
)

// ViewFetcher fetches one view's features into requests.
type ViewFetcher struct {
	f        *Fetcher
	view     *View
	joinKey  string
	features []featurePolicy
	maxAge   time.Duration
	cache    *ristretto.Cache[[]byte, *cachedRow] // nil when off
	ttl      time.Duration

	lookups  map[string]*metrics.Counter // by result
	outcomes [numStatuses]*metrics.Counter
	// wait is how long lookups that went to the store waited for it.
	wait *metrics.Histogram
}

// featurePolicy is one feature: its name as requests carry it, and what
// its absence does.
type featurePolicy struct {
	name                        []byte
	nameStr                     string
	def                         Value
	onMissing, onStale, onError string
}

// Per-feature statuses, as the outcomes metric labels them.
const (
	statusFound   = iota // the store's value was used
	statusRequest        // the request carried it
	statusMissing        // the store lacks it
	statusStale          // older than max_age
	statusError          // the store could not be read
	numStatuses
)

var statusNames = [numStatuses]string{"found", "request", "missing", "stale", "store_error"}

func newViewFetcher(f *Fetcher, cfg *ViewConfig) (*ViewFetcher, error) {
	keyType, _ := ParseValueType(cfg.KeyType)
	feats := make([]Feature, len(cfg.Features))
	vf := &ViewFetcher{f: f, joinKey: cfg.JoinKey, maxAge: cfg.MaxAge, ttl: cfg.CacheTTL, lookups: map[string]*metrics.Counter{}}
	for i, fc := range cfg.Features {
		t, _ := ParseValueType(fc.Type)
		feats[i] = Feature{Name: fc.Name, Type: t}
		def, _ := valueOf(fc.Default, t)
		vf.features = append(vf.features, featurePolicy{name: []byte(fc.Name), nameStr: fc.Name, def: def, onMissing: fc.OnMissing, onStale: fc.OnStale, onError: fc.OnError})
	}
	v, err := NewView(cfg.Name, cfg.JoinKey, keyType, feats)
	if err != nil {
		return nil, err
	}
	vf.view = v
	if !cfg.NoCache {
		vf.cache, err = ristretto.NewCache(&ristretto.Config[[]byte, *cachedRow]{
			NumCounters: max(cfg.CacheMaxBytes/64, 1000),
			MaxCost:     cfg.CacheMaxBytes,
			BufferItems: 64,
		})
		if err != nil {
			return nil, fmt.Errorf("view %q: cannot make its cache: %w", cfg.Name, err)
		}
	}
	lbl := `view=` + strconv.Quote(cfg.Name)
	for _, r := range results {
		vf.lookups[r] = f.set.NewCounter(`infergate_features_lookups_total{` + lbl + `,result="` + r + `"}`)
	}
	vf.wait = f.set.NewHistogram(`infergate_features_lookup_duration_seconds{` + lbl + `}`)
	for s := range numStatuses {
		vf.outcomes[s] = f.set.NewCounter(`infergate_features_values_total{` + lbl + `,status="` + statusNames[s] + `"}`)
	}
	return vf, nil
}

// Name is the view's name.
func (vf *ViewFetcher) Name() string { return vf.view.Name }

// JoinKey is the request feature that carries the entity key.
func (vf *ViewFetcher) JoinKey() string { return vf.joinKey }

// KeyIsString reports whether the entity key is a string (else an int64).
func (vf *ViewFetcher) KeyIsString() bool { return vf.view.KeyType == TypeString }

// Features are the view's feature names, in order; Result.Defaulted
// indexes them.
func (vf *ViewFetcher) Features() []string {
	out := make([]string, len(vf.features))
	for i, f := range vf.features {
		out[i] = string(f.name)
	}
	return out
}

// Result is what Fetch did to a request.
type Result struct {
	// Fallback is set when a feature's policy is fallback: the route's
	// model targets cannot take the request.
	Fallback bool
	// Defaulted has bit i set when feature i (Features()[i]) was not the
	// store's value: its default was used, or it was left out.
	Defaulted uint64
	// Lookup is how the row was found: cache_hit, store_hit, not_found,
	// error, timeout, breaker_open, queue_full, no_entity_key, not_needed.
	Lookup string
}

// Fetch adds to set the view's features the request lacks (a value the
// request carries wins), looked up by the entity key set carries, waiting
// for the store at most until half of what is left to deadline (and the
// store's timeout). A feature the store cannot give gets its policy: a
// default (or nothing), Result.Fallback, or an error (*FeatureError) that
// fails the request. The values added refer to the fetcher's rows, which
// never change.
func (vf *ViewFetcher) Fetch(set *features.Set, deadline time.Time) (Result, error) {
	key, need := vf.needs(set)
	switch {
	case !need:
		return vf.apply(set, key, pending{result: resultSkipped})
	case key == nil:
		return vf.apply(set, key, pending{result: resultNoKey})
	}
	now := time.Now()
	p := vf.start(key, now, vf.f.waitFor(now, deadline))
	if p.l != nil {
		t, fired := acquireTimer(vf.f.waitFor(now, deadline)), false
		p.await(t, &fired)
		releaseTimer(t)
		vf.wait.UpdateDuration(now)
	}
	return vf.apply(set, key, p)
}

// FetchAll is Fetch for the rows of one request: every lookup is queued
// before any is awaited, so that they share round trips. A nil set is
// skipped; res[i] and errs[i] are sets[i]'s.
func (vf *ViewFetcher) FetchAll(sets []*features.Set, deadline time.Time, res []Result, errs []error) {
	now := time.Now()
	wait := vf.f.waitFor(now, deadline)
	ps := make([]pending, len(sets))
	keys := make([]*features.Feature, len(sets))
	for i, set := range sets {
		if set == nil {
			continue
		}
		var need bool
		keys[i], need = vf.needs(set)
		switch {
		case !need:
			ps[i] = pending{result: resultSkipped}
		case keys[i] == nil:
			ps[i] = pending{result: resultNoKey}
		default:
			ps[i] = vf.start(keys[i], now, wait)
		}
	}
	t, fired := acquireTimer(wait), false
	waited := false
	for i := range ps {
		waited = waited || ps[i].l != nil
		ps[i].await(t, &fired)
	}
	releaseTimer(t)
	if waited {
		vf.wait.UpdateDuration(now)
	}
	for i, set := range sets {
		if set != nil {
			res[i], errs[i] = vf.apply(set, keys[i], ps[i])
		}
	}
}

// needs reports whether set lacks a feature of the view, and its entity
// key (nil without one usable).
func (vf *ViewFetcher) needs(set *features.Set) (*features.Feature, bool) {
	need := false
	for i := range vf.features {
		if set.Get(vf.features[i].nameStr) == nil {
			need = true
			break
		}
	}
	key := set.Get(vf.joinKey)
	if key != nil && key.Kind != features.String && key.Kind != features.Number {
		key = nil
	}
	return key, need
}

// apply adds the row's values (or the policies' answers) for the features
// set lacks.
func (vf *ViewFetcher) apply(set *features.Set, key *features.Feature, p pending) (Result, error) {
	var res Result
	row, err := p.row, p.err
	res.Lookup = p.result
	vf.lookups[res.Lookup].Inc()
	if res.Lookup == resultSkipped {
		vf.outcomes[statusRequest].Add(len(vf.features))
		return res, nil
	}
	stale := row.Found && vf.maxAge > 0 && !row.EventTime.IsZero() && time.Since(row.EventTime) > vf.maxAge
	for i := range vf.features {
		fp := &vf.features[i]
		if set.Get(fp.nameStr) != nil {
			vf.outcomes[statusRequest].Inc()
			continue
		}
		status, policy := statusFound, ""
		var v Value
		switch {
		case err != nil:
			status, policy = statusError, fp.onError
		case !row.Found || row.Values[i].Kind == Missing:
			status, policy = statusMissing, fp.onMissing
		case stale:
			status, policy = statusStale, fp.onStale
		default:
			v = row.Values[i]
		}
		vf.outcomes[status].Inc()
		if status != statusFound {
			res.Defaulted |= 1 << uint(i%64)
			switch policy {
			case PolicyFail:
				return res, vf.failure(fp, status, key, row, err)
			case PolicyFallback:
				res.Fallback = true
				continue
			}
			v = fp.def
		}
		switch v.Kind {
		case Number:
			set.AddNumber(fp.name, v.Num)
		case String:
			set.AddString(fp.name, v.Str)
		}
	}
	return res, nil
}

// failure is the error of a feature whose policy fails the request.
func (vf *ViewFetcher) failure(fp *featurePolicy, status int, key *features.Feature, row Row, err error) error {
	entity := "the request's " + vf.joinKey
	if key != nil {
		entity = vf.joinKey + " " + strconv.Quote(string(key.AppendKey(nil)))
	}
	fe := &FeatureError{View: vf.view.Name, Feature: string(fp.name)}
	switch status {
	case statusError:
		fe.Err = ErrStoreUnavailable
		fe.Msg = fmt.Sprintf("feature %q of view %q cannot be read for %s: %v (on_error: fail)", fp.name, vf.view.Name, entity, err)
	case statusStale:
		fe.Err = ErrFeatureStale
		fe.Msg = fmt.Sprintf("feature %q of view %q for %s is from %s, older than max_age %s (on_stale: fail); send it in the request",
			fp.name, vf.view.Name, entity, row.EventTime.Format(time.RFC3339), vf.maxAge)
	default:
		fe.Err = ErrFeatureMissing
		what := "has no value of it"
		if !row.Found {
			what = "has no row"
		}
		if key == nil {
			what = "is not in the request"
		}
		fe.Msg = fmt.Sprintf("feature %q of view %q: the store %s for %s (on_missing: fail); send the feature in the request", fp.name, vf.view.Name, what, entity)
	}
	return fe
}
