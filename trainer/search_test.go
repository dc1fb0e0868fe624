package trainer

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSearchPlan(t *testing.T) {
	t.Parallel()
	f := func(cfg Config, n int, first Trial) []Trial {
		t.Helper()
		cfg = cfg.WithDefaults()
		trials := plan(cfg)
		if len(trials) != n {
			t.Fatalf("%s/%s: %d trials, want %d", cfg.Search, cfg.Algorithm, len(trials), n)
		}
		if !reflect.DeepEqual(trials[0], first) {
			t.Fatalf("%s/%s: first trial %+v, want %+v", cfg.Search, cfg.Algorithm, trials[0], first)
		}
		seen := map[string]bool{}
		for _, tr := range trials {
			key := tr.String()
			if seen[key] {
				t.Fatalf("%s/%s: trial %s twice", cfg.Search, cfg.Algorithm, key)
			}
			seen[key] = true
		}
		return trials
	}
	f(Config{Target: "y", Algorithm: MLP, Search: SearchGrid}, 12, Trial{LearningRate: 0.003, L2: 0, Hidden: []int{16}})
	f(Config{Target: "y", Search: SearchGrid}, 12, Trial{LearningRate: 0.01, L2: 0})
	// A smaller trial count keeps the start of the grid, in order.
	all := plan(Config{Target: "y", Algorithm: MLP, Search: SearchGrid}.WithDefaults())
	five := f(Config{Target: "y", Algorithm: MLP, Search: SearchGrid, SearchTrials: 5}, 5, all[0])
	if !reflect.DeepEqual(five, all[:5]) {
		t.Fatalf("5 trials = %v, want the grid's first 5", five)
	}
	// Random: drawn from the seed, within the ranges.
	cfg := Config{Target: "y", Algorithm: MLP, Search: SearchRandom, SearchTrials: 40, Seed: 9}.WithDefaults()
	a, b := plan(cfg), plan(cfg)
	if !reflect.DeepEqual(a, b) || len(a) != 40 {
		t.Fatalf("random plan: %d trials, deterministic %v", len(a), reflect.DeepEqual(a, b))
	}
	cfg.Seed++
	if reflect.DeepEqual(a, plan(cfg)) {
		t.Fatal("another seed drew the same random plan")
	}
	zeros := 0
	for _, tr := range a {
		if tr.LearningRate < randomMLPLR || tr.LearningRate > randomMLPLR*randomLRSpan || tr.L2 > randomL2Min*randomL2Span ||
			(tr.L2 != 0 && tr.L2 < randomL2Min) || !slices.ContainsFunc(randomHidden, func(h []int) bool { return slices.Equal(h, tr.Hidden) }) {
			t.Fatalf("random trial %s out of range", tr.String())
		}
		if tr.L2 == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros > 20 {
		t.Fatalf("%d of 40 random trials without L2, want about a quarter", zeros)
	}
}

// searchData and searchConfig make a search small enough for the race
// detector.
func searchData() *Dataset { return GenerateChurn(1500, 7) }

func searchConfig() Config {
	return Config{Target: ChurnTarget, Algorithm: MLP, Search: SearchGrid, SearchTrials: 4, Epochs: 20, Seed: 3}
}

// searched is the search of searchData with searchConfig, run once for the
// tests that only read it.
var searched = sync.OnceValues(func() (*Model, error) { return Train(searchData(), searchConfig()) })

func mustSearched(t testing.TB) *Model {
	t.Helper()
	m, err := searched()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// trialResults drops the wall-clock times, which differ from run to run.
func trialResults(trials []Trial) []Trial {
	out := slices.Clone(trials)
	for i := range out {
		out[i].Elapsed = 0
	}
	return out
}

func TestSearch(t *testing.T) {
	t.Parallel()
	d := searchData()
	m := mustSearched(t)
	s := m.Search
	if s == nil || s.Strategy != SearchGrid || s.Planned != 4 || len(s.Trials) != 4 || s.Stopped || s.Budget != DefaultSearchBudget {
		t.Fatalf("search = %+v", s)
	}
	for i, tr := range s.Trials {
		if want := plan(searchConfig().WithDefaults())[i]; tr.LearningRate != want.LearningRate || tr.L2 != want.L2 || !slices.Equal(tr.Hidden, want.Hidden) {
			t.Fatalf("trial %d = %s, want the plan's %s", i+1, tr.String(), want.String())
		}
		if tr.ValidationLogLoss < s.Trials[s.Chosen].ValidationLogLoss {
			t.Fatalf("chose trial %d (%v) over trial %d (%v)", s.Chosen+1, s.Trials[s.Chosen].ValidationLogLoss, i+1, tr.ValidationLogLoss)
		}
	}
	// The model is the chosen trial's, with its settings.
	chosen := s.Trials[s.Chosen]
	if m.Config.LearningRate != chosen.LearningRate || *m.Config.L2 != chosen.L2 || !slices.Equal(m.Config.Hidden, chosen.Hidden) ||
		m.Metrics["validation_log_loss"] != chosen.ValidationLogLoss || m.Metrics["epochs"] != float64(chosen.Epochs) {
		t.Fatalf("model config %+v, metrics %v; chosen trial %s", m.Config, m.Metrics, chosen.String())
	}
	// Its parameters record the search.
	p := m.Params()
	for k, want := range map[string]string{
		"search": "grid", "search_budget": "30s", "search_max_trials": "4", "search_planned": "4", "search_ran": "4",
		"search_stopped_by_budget": "false", "search_chosen": fmt.Sprint(s.Chosen + 1),
		"learning_rate": formatFloat(chosen.LearningRate), "hidden": formatInts(chosen.Hidden), "l2": formatFloat(chosen.L2),
		"search_trial_1": s.Trials[0].String(),
	} {
		if p[k] != want {
			t.Errorf("params[%s] = %q, want %q", k, p[k], want)
		}
	}
	if !strings.HasPrefix(p["search_trial_4"], "learning_rate=0.003 l2=0.001 hidden=16 epochs=") {
		t.Errorf("params[search_trial_4] = %q", p["search_trial_4"])
	}
	// The same search again: the same trials and bytes.
	again, err := Train(d, searchConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.ONNX(), again.ONNX()) || !reflect.DeepEqual(trialResults(s.Trials), trialResults(again.Search.Trials)) {
		t.Fatal("the same search gave another model")
	}
}

// fakeClock advances by step each time it is read.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

// The budget decides how many trials run, never what they compute: a
// budgeted search ran a prefix of the unbounded one's trials, identical.
func TestSearchBudget(t *testing.T) {
	t.Parallel()
	d := searchData()
	full := mustSearched(t)
	ran := func(budget time.Duration) int {
		t.Helper()
		cfg := searchConfig()
		cfg.SearchBudget = budget
		clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Second}
		m, err := TrainWith(d, cfg, Options{Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		s := m.Search
		n := len(s.Trials)
		if n < 1 || s.Stopped != (n < 4) {
			t.Fatalf("budget %s: ran %d trials, stopped %v", budget, n, s.Stopped)
		}
		if !reflect.DeepEqual(trialResults(s.Trials), trialResults(full.Search.Trials[:n])) {
			t.Fatalf("budget %s: the trials differ from the unbounded search's first %d", budget, n)
		}
		if s.Trials[0].Elapsed <= 0 {
			t.Fatalf("trial elapsed %v, want the clock's", s.Trials[0].Elapsed)
		}
		best := 0
		for i := range s.Trials {
			if s.Trials[i].ValidationLogLoss < s.Trials[best].ValidationLogLoss {
				best = i
			}
		}
		if s.Chosen != best || m.Metrics["validation_log_loss"] != s.Trials[best].ValidationLogLoss {
			t.Fatalf("budget %s: chose %d, want %d", budget, s.Chosen+1, best+1)
		}
		if m.Params()["search_stopped_by_budget"] != fmt.Sprint(s.Stopped) || m.Params()["search_ran"] != fmt.Sprint(n) {
			t.Fatalf("params: %v", m.Params())
		}
		return n
	}
	// The clock advances a second per read, about one read per epoch: a
	// trial takes at most about 25 seconds of it. The first trial always
	// completes, even past the budget; more budget never runs fewer trials.
	counts := map[int]bool{}
	last := 0
	for _, budget := range []time.Duration{time.Nanosecond, 4 * time.Second, 15 * time.Second, 30 * time.Second, 45 * time.Second, 60 * time.Second, time.Hour} {
		n := ran(budget)
		if n < last {
			t.Fatalf("budget %s ran %d trials, a smaller one %d", budget, n, last)
		}
		t.Logf("budget %s of the fake clock: %d trials", budget, n)
		counts[n], last = true, n
	}
	if !counts[1] || !counts[4] || len(counts) < 3 {
		t.Fatalf("trial counts %v: want 1, 4 and some in between", counts)
	}
}
