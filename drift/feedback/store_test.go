package feedback

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestStore(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestEntrySize(t *testing.T) {
	t.Parallel()
	if EntrySize != 161 {
		t.Errorf("EntrySize = %d; the package documentation says 161", EntrySize)
	}
	s := newTestStore(t, Config{})
	if got := s.Stats().Capacity; got != DefaultCapacity {
		t.Errorf("capacity %d, want %d", got, DefaultCapacity)
	}
}

func TestRecordThenLabel(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{Threshold: 0.6})
	churn1, churn2 := s.Tracker("churn", "1.0.0"), s.Tracker("churn", "2.0.0")
	f := func(id string, tr *Tracker, p float64, positive, wantPredicted bool) {
		t.Helper()
		s.Record([]byte(id), tr, p, testStart)
		got, err := s.Label([]byte(id), bin(positive), testStart.Add(time.Hour))
		want := Outcome{Route: tr.Route(), Version: tr.Version(), Probability: p, PredictedPositive: wantPredicted, Correct: wantPredicted == positive}
		if err != nil || got != want {
			t.Errorf("Label(%q) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	f("a", churn1, 0.7, true, true)
	f("b", churn1, 0.6, false, true) // at the threshold: positive
	f("c", churn2, 0.599, false, false)
	f("d", churn2, 0, true, false)
	f("e", churn2, 1, true, true)
	f(strings.Repeat("x", MaxIDLen), churn1, 0.1, false, false)
	r1, r2 := churn1.Report(), churn2.Report()
	if r1.Labels != 3 || r1.Positives != 1 || r1.Accuracy != 2.0/3 {
		t.Errorf("churn 1.0.0: %+v", r1)
	}
	if r2.Labels != 3 || r2.Positives != 2 || r2.Accuracy != 2.0/3 || r2.PredictedPositiveRate != 1.0/3 {
		t.Errorf("churn 2.0.0: %+v", r2)
	}
	if st := s.Stats(); st.Recorded != 6 || st.UnknownLabels != 0 || st.Evicted != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Every refusal: the error, and the counter it adds to.
func TestLabelErrors(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{TTL: time.Hour})
	tr := s.Tracker("churn", "1.0.0")
	s.Record([]byte("req-1"), tr, 0.3, testStart)
	s.Record([]byte("req-2"), tr, 0.3, testStart)
	s.Record([]byte("req-3"), tr, 0.3, testStart)
	f := func(id string, at time.Duration, wantErr error) {
		t.Helper()
		got, err := s.Label([]byte(id), bin(true), testStart.Add(at))
		if !errors.Is(err, wantErr) || (err != nil && got != Outcome{}) {
			t.Errorf("Label(%q) at +%s = %+v, %v; want %v", id, at, got, err, wantErr)
		}
	}
	f("req-9", 0, ErrUnknownRequest)
	f("req-", 0, ErrUnknownRequest)
	f("req-10", 0, ErrUnknownRequest)
	f("", 0, ErrUnknownRequest)
	f(strings.Repeat("r", MaxIDLen+1), 0, ErrUnknownRequest)
	f("req-1", time.Hour+time.Nanosecond, ErrUnknownRequest) // expired
	f("req-1", time.Hour+time.Nanosecond, ErrUnknownRequest) // still expired, not labelled
	f("req-2", time.Hour, nil)                               // the TTL's last instant
	f("req-2", time.Hour, ErrAlreadyLabelled)
	f("req-2", 0, ErrAlreadyLabelled)
	f("req-3", -time.Minute, nil) // a clock behind Record's
	f("req-3", 2*time.Hour, ErrUnknownRequest)
	st := s.Stats()
	if st.UnknownLabels != 8 || st.DuplicateLabels != 2 {
		t.Errorf("unknown %d (want 8), duplicates %d (want 2)", st.UnknownLabels, st.DuplicateLabels)
	}
	if r := tr.Report(); r.Labels != 2 || r.Positives != 2 {
		t.Errorf("report %+v, want 2 labels", r)
	}
}

// What Record refuses is counted and cannot be labelled.
func TestRecordRefuses(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{})
	tr := s.Tracker("churn", "1.0.0")
	long := strings.Repeat("L", MaxIDLen+1)
	s.Record([]byte(long), tr, 0.5, testStart)
	s.Record([]byte("nan"), tr, math.NaN(), testStart)
	s.Record([]byte("big"), tr, 1.5, testStart)
	s.Record([]byte("neg"), tr, -0.1, testStart)
	s.Record(nil, tr, 0.5, testStart)
	s.Record([]byte("nil"), nil, 0.5, testStart)
	want := Stats{Capacity: DefaultCapacity, IDsTooLong: 1, InvalidProbabilities: 3}
	if st := s.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	for _, id := range []string{long, "nan", "big", "neg", "nil"} {
		if _, err := s.Label([]byte(id), bin(true), testStart); !errors.Is(err, ErrUnknownRequest) {
			t.Errorf("Label(%.10q) = %v, want ErrUnknownRequest", id, err)
		}
	}

	other := newTestStore(t, Config{}).Tracker("churn", "1.0.0")
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "BUG: ") {
			t.Errorf("Record with another store's tracker: panic %v, want a BUG panic", r)
		}
	}()
	s.Record([]byte("x"), other, 0.5, testStart)
}

// With one set (capacity Ways), the ninth id replaces the entry that is done
// (labelled or past its TTL), the oldest first, and only then the oldest
// waiting one, which counts as evicted.
func TestEviction(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{Capacity: 3, TTL: time.Hour})
	if c := s.Stats().Capacity; c != Ways {
		t.Fatalf("capacity %d, want %d", c, Ways)
	}
	tr := s.Tracker("churn", "1.0.0")
	id := func(i int) []byte { return []byte("id-" + strconv.Itoa(i)) }
	at := func(i int) time.Time { return testStart.Add(time.Duration(i) * time.Minute) }
	for i := range Ways {
		s.Record(id(i), tr, 0.5, at(i))
	}
	if _, err := s.Label(id(5), bin(true), at(8)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Label(id(3), bin(true), at(8)); err != nil {
		t.Fatal(err)
	}
	step := func(i int, now time.Time, gone int, evicted, expired uint64) {
		t.Helper()
		s.Record(id(i), tr, 0.5, now)
		st := s.Stats()
		if st.Evicted != evicted || st.Expired != expired {
			t.Errorf("after id-%d: evicted %d, expired %d; want %d, %d", i, st.Evicted, st.Expired, evicted, expired)
		}
		if _, err := s.Label(id(gone), bin(false), now); !errors.Is(err, ErrUnknownRequest) {
			t.Errorf("after id-%d: Label(id-%d) = %v, want ErrUnknownRequest (replaced)", i, gone, err)
		}
	}
	step(8, at(9), 3, 0, 0)  // labelled, the older of 3 and 5
	step(9, at(10), 5, 0, 0) // labelled
	step(10, at(11), 0, 1, 0)
	step(11, at(12), 1, 2, 0)
	// At 63 minutes id-2 (recorded at 2) is past its TTL: it is replaced
	// as expired, not evicted; at 64 id-4 is exactly at its TTL, still
	// waiting, and at 65 past it.
	step(12, at(63), 2, 2, 1)
	step(13, at(65), 4, 2, 2)
	for _, i := range []int{6, 7, 8, 9, 10, 11, 12, 13} {
		if _, err := s.Label(id(i), bin(true), at(65)); err != nil {
			t.Errorf("Label(id-%d): %v", i, err)
		}
	}
	if _, err := s.Label(id(13), bin(true), at(65)); !errors.Is(err, ErrAlreadyLabelled) {
		t.Errorf("id-13 labelled twice: %v", err)
	}
}

// An id recorded again replaces the first prediction in place: the label
// joins the second, and the set does not fill up.
func TestRerecord(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{Capacity: Ways})
	a, b := s.Tracker("churn", "1.0.0"), s.Tracker("churn", "2.0.0")
	s.Record([]byte("dup"), a, 0.9, testStart)
	s.Record([]byte("dup"), b, 0.2, testStart.Add(time.Second))
	for i := range Ways - 1 {
		s.Record([]byte("other-"+strconv.Itoa(i)), a, 0.5, testStart)
	}
	if st := s.Stats(); st.Recorded != Ways+1 || st.Evicted != 0 {
		t.Errorf("stats %+v: want %d recorded, none evicted", st, Ways+1)
	}
	got, err := s.Label([]byte("dup"), bin(true), testStart.Add(time.Minute))
	want := Outcome{Route: "churn", Version: "2.0.0", Probability: 0.2}
	if err != nil || got != want {
		t.Errorf("Label = %+v, %v; want %+v", got, err, want)
	}
	// Recorded again after its label: it takes a new one.
	s.Record([]byte("dup"), a, 0.7, testStart.Add(2*time.Minute))
	got, err = s.Label([]byte("dup"), bin(false), testStart.Add(3*time.Minute))
	want = Outcome{Route: "churn", Version: "1.0.0", Probability: 0.7, PredictedPositive: true}
	if err != nil || got != want {
		t.Errorf("second Label = %+v, %v; want %+v", got, err, want)
	}
	if ra, rb := a.Report(), b.Report(); ra.Labels != 1 || rb.Labels != 1 {
		t.Errorf("labels %d and %d, want 1 and 1", ra.Labels, rb.Labels)
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{Disabled: true, Capacity: -1})
	if s.Enabled() {
		t.Error("a disabled store is enabled")
	}
	tr := s.Tracker("churn", "1.0.0")
	s.Record([]byte("a"), tr, 0.5, testStart)
	if _, err := s.Label([]byte("a"), bin(true), testStart); !errors.Is(err, ErrDisabled) {
		t.Errorf("Label = %v, want ErrDisabled", err)
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Errorf("stats %+v, want none", st)
	}
}

// Store.Tracker returns one tracker per pair, so statistics survive a
// routing table reload; reports are ordered by route then version.
func TestTrackerReuse(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, Config{})
	a := s.Tracker("churn", "1.0.0")
	s.Record([]byte("a"), a, 0.8, testStart)
	if _, err := s.Label([]byte("a"), bin(true), testStart); err != nil {
		t.Fatal(err)
	}
	if again := s.Tracker("churn", "1.0.0"); again != a {
		t.Fatal("a second Tracker call made a new tracker")
	}
	s.Tracker("fraud", "3")
	s.Tracker("churn", "0.9.0")
	s.Tracker("churn\x00", "1")
	if b := s.Tracker("churn", "1.0.1"); b == a || b.Report().Labels != 0 {
		t.Error("another version shares the tracker")
	}
	key := func(rs []Report) string {
		var b strings.Builder
		for _, r := range rs {
			fmt.Fprintf(&b, "%q/%s:%d ", r.Route, r.Version, r.Labels)
		}
		return b.String()
	}
	if got, want := key(s.Reports()), `"churn"/0.9.0:0 "churn"/1.0.0:1 "churn"/1.0.1:0 "churn\x00"/1:0 "fraud"/3:0 `; got != want {
		t.Errorf("Reports: %s\nwant      %s", got, want)
	}
	if got, want := key(s.RouteReports("churn")), `"churn"/0.9.0:0 "churn"/1.0.0:1 "churn"/1.0.1:0 `; got != want {
		t.Errorf("RouteReports: %s, want %s", got, want)
	}
	if got := s.RouteReports("nope"); len(got) != 0 {
		t.Errorf("RouteReports(nope) = %v", got)
	}
}

// Many goroutines record and label at once while reports are read; under
// -race this checks the locking, and afterwards every count is exact. The
// capacity leaves about one id in 16 slots, so that no set overflows.
func TestConcurrentRecordLabel(t *testing.T) {
	t.Parallel()
	const workers, each = 8, 500
	s := newTestStore(t, Config{Capacity: workers * each * 16})
	trs := []*Tracker{s.Tracker("churn", "1"), s.Tracker("churn", "2")}
	var wg, readers sync.WaitGroup
	stop := make(chan struct{})
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, r := range s.Reports() {
				if r.Positives > r.Labels || r.Accuracy > 1 || r.PredictedPositiveRate > 1 {
					t.Errorf("inconsistent report %+v", r)
					return
				}
			}
		}
	})
	for g := range workers {
		wg.Go(func() {
			var buf []byte
			for i := range each {
				buf = fmt.Appendf(buf[:0], "w%d-%d", g, i)
				p := float64(i%10) / 10 // 0 … 0.9
				s.Record(buf, trs[i%2], p, testStart)
				if i%5 == 4 {
					continue // never labelled
				}
				if _, err := s.Label(buf, bin(i%3 == 0), testStart); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					if _, err := s.Label(buf, bin(true), testStart); !errors.Is(err, ErrAlreadyLabelled) {
						t.Errorf("second label: %v", err)
					}
				}
				if _, err := s.Label(append(buf, '?'), bin(true), testStart); !errors.Is(err, ErrUnknownRequest) {
					t.Errorf("unknown id: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	// The same counts, computed one by one.
	var labels, positives, correct, dups [2]uint64
	var unknown uint64
	for range workers {
		for i := range each {
			if i%5 == 4 {
				continue
			}
			k := i % 2
			labels[k]++
			pos := i%3 == 0
			if pos {
				positives[k]++
			}
			if (float64(i%10)/10 >= 0.5) == pos {
				correct[k]++
			}
			if i%7 == 0 {
				dups[k]++
			}
			unknown++
		}
	}
	for k, tr := range trs {
		r := tr.Report()
		if r.Labels != labels[k] || r.Positives != positives[k] || r.Accuracy != float64(correct[k])/float64(labels[k]) {
			t.Errorf("tracker %d: labels %d positives %d accuracy %g; want %d, %d, %g",
				k, r.Labels, r.Positives, r.Accuracy, labels[k], positives[k], float64(correct[k])/float64(labels[k]))
		}
	}
	want := Stats{Capacity: workers * each * 16, Recorded: workers * each, UnknownLabels: unknown, DuplicateLabels: dups[0] + dups[1]}
	if st := s.Stats(); st != want {
		t.Errorf("stats %+v\nwant  %+v", st, want)
	}
}

// The request path allocates nothing: Record of a new id, of a repeated id,
// of a refused one, and Label, successful or not. Not parallel:
// AllocsPerRun counts every goroutine's allocations.
func TestAllocs(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 14})
	tr := s.Tracker("churn", "1.0.0")
	const runs = 1000
	ids := make([][]byte, runs+1) // AllocsPerRun runs once more to warm up
	for i := range ids {
		ids[i] = []byte("req-" + strconv.Itoa(i))
	}
	long := make([]byte, MaxIDLen+1)
	i := 0
	f := func(name string, fn func()) {
		t.Helper()
		i = 0
		if n := testing.AllocsPerRun(runs, fn); n != 0 {
			t.Errorf("%s allocates %g times", name, n)
		}
	}
	f("Record", func() { s.Record(ids[i], tr, 0.25, testStart); i++ })
	f("Record again", func() { s.Record(ids[0], tr, 0.25, testStart) })
	f("Record too long", func() { s.Record(long, tr, 0.25, testStart) })
	f("Label", func() {
		if _, err := s.Label(ids[i], bin(i%2 == 0), testStart); err != nil {
			t.Fatal(err)
		}
		i++
	})
	f("Label twice", func() { _, _ = s.Label(ids[1], bin(true), testStart) })
	f("Label unknown", func() { _, _ = s.Label(long[:20], bin(true), testStart) })
}

// The table holds no pointer, so the garbage collector never scans it; a
// pointer added to an entry (a *Tracker, say) would make it scan megabytes
// at every cycle.
func TestTableHoldsNoPointers(t *testing.T) {
	t.Parallel()
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(typ.Field(i).Type, path+"."+typ.Field(i).Name)
			}
		case reflect.Array:
			walk(typ.Elem(), path+"[]")
		case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.Map, reflect.String,
			reflect.Interface, reflect.Func, reflect.Chan:
			t.Errorf("%s is a %s: the table must hold no pointer", path, typ.Kind())
		}
	}
	walk(reflect.TypeFor[set](), "set")
}
