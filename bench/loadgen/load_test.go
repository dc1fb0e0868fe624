package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestLoadValidate(t *testing.T) {
	t.Parallel()
	f := func(l Load, want ...string) {
		t.Helper()
		l.ApplyDefaults()
		err := l.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("%+v: unexpected error %v", l, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("%+v: no error, want %q", l, want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not contain %q", l, err, w)
			}
		}
	}
	f(Load{Mode: Open, Rate: 100})
	f(Load{Mode: Closed, Concurrency: 4})
	f(Load{Mode: Open, Rate: 100, Arrival: Poisson, Concurrency: 5, Warmup: time.Second, Window: time.Second, MaxWindows: 1, Tolerance: 0.5})
	f(Load{}, `mode: must be "open" or "closed", got ""`)
	f(Load{Mode: "half-open"}, `mode: must be "open" or "closed", got "half-open"`)
	f(Load{Mode: Open}, "rate: must be > 0 in open mode, got 0")
	f(Load{Mode: Open, Rate: -5}, "rate: must be > 0 in open mode, got -5")
	f(Load{Mode: Open, Rate: math.NaN()}, "rate: must be > 0 in open mode")
	f(Load{Mode: Open, Rate: 1e9}, "rate: must be at most 1e+07 req/s")
	f(Load{Mode: Open, Rate: 10, Arrival: "bursty"}, `arrival: must be "constant" or "poisson", got "bursty"`)
	f(Load{Mode: Open, Rate: 10, Concurrency: -1}, "concurrency: must be in [1, 1000000] (the open model's in-flight cap), got -1")
	f(Load{Mode: Open, Rate: 10, Concurrency: 1e9}, "concurrency: must be in [1, 1000000] (the open model's in-flight cap), got 1000000000")
	f(Load{Mode: Closed}, "concurrency: must be in [1, 1000000] in closed mode, got 0")
	f(Load{Mode: Closed, Concurrency: MaxConcurrency + 1}, "concurrency: must be in [1, 1000000] in closed mode, got 1000001")
	f(Load{Mode: Closed, Concurrency: 2, Rate: 50}, "rate: must not be set in closed mode")
	f(Load{Mode: Closed, Concurrency: 2, Arrival: Poisson}, `arrival: applies to open mode only, got "poisson"`)
	f(Load{Mode: Open, Rate: 10, Warmup: -time.Second}, "warmup: must be >= 0, got -1s")
	f(Load{Mode: Open, Rate: 10, Window: -time.Second}, "window: must be > 0, got -1s")
	f(Load{Mode: Open, Rate: 10, MaxWindows: -1}, "max_windows: must be >= 1, got -1")
	f(Load{Mode: Open, Rate: 10, Tolerance: 1.5}, "tolerance: must be in (0, 1), got 1.5")
	f(Load{Mode: Open, Rate: 10, Drain: -time.Second}, "drain: must be >= 0, got -1s")
	// Every invalid field is reported, not only the first.
	f(Load{Mode: Closed, Warmup: -1, Tolerance: -1}, "concurrency:", "warmup:", "tolerance:")
}

func TestLoadApplyDefaults(t *testing.T) {
	t.Parallel()
	l := Load{Mode: Open, Rate: 10}
	l.ApplyDefaults()
	want := Load{Mode: Open, Rate: 10, Arrival: Constant, Concurrency: 10000, Window: 5 * time.Second,
		MaxWindows: 5, Tolerance: 0.10, Drain: 5 * time.Second}
	if l != want {
		t.Errorf("open defaults = %+v, want %+v", l, want)
	}
	l = Load{Mode: Closed, Concurrency: 3, Window: time.Second, MaxWindows: 1, Tolerance: 0.2}
	l.ApplyDefaults()
	want = Load{Mode: Closed, Concurrency: 3, Window: time.Second, MaxWindows: 1, Tolerance: 0.2, Drain: 5 * time.Second}
	if l != want {
		t.Errorf("closed defaults = %+v, want %+v", l, want)
	}
}
