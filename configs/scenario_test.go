package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/bench"
	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/configs"
)

func TestStandardScenario(t *testing.T) {
	t.Parallel()
	sc, err := configs.LoadScenario("bench/standard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "standard" || len(sc.Targets) != 8 || len(sc.Comparisons) != 6 {
		t.Errorf("standard scenario: name %q, %d targets, %d comparisons", sc.Name, len(sc.Targets), len(sc.Comparisons))
	}
	// Every gateway config the scenario starts is itself valid.
	for _, s := range sc.Servers {
		if s.Infergate == "" {
			continue
		}
		if _, err := configs.Load(filepath.Join("..", s.Infergate)); err != nil {
			t.Errorf("servers[%s]: %v", s.Name, err)
		}
	}
}

func TestShadowScenario(t *testing.T) {
	t.Parallel()
	sc, err := configs.LoadScenario("bench/shadow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Targets) != 6 || len(sc.Comparisons) != 5 {
		t.Errorf("shadow scenario: %d targets, %d comparisons", len(sc.Targets), len(sc.Comparisons))
	}
	fixed := map[string]string{}
	for _, s := range sc.Servers {
		if s.Listen != "" {
			fixed[s.Listen] = s.Name
		}
	}
	for _, s := range sc.Servers {
		if s.Infergate == "" {
			continue
		}
		cfg, err := configs.Load(filepath.Join("..", s.Infergate))
		if err != nil {
			t.Errorf("servers[%s]: %v", s.Name, err)
			continue
		}
		// Each shadow target is a server the scenario starts.
		for _, tg := range cfg.Routes[0].Targets {
			if tg.Remote != nil && fixed[strings.TrimPrefix(tg.Remote.URL, "http://")] == "" {
				t.Errorf("servers[%s]: shadow %s points at %s, which the scenario does not start", s.Name, tg.Name, tg.Remote.URL)
			}
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(yaml string, want ...string) {
		t.Helper()
		path := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := configs.LoadScenario(path)
		if err == nil {
			t.Fatalf("LoadScenario(%q): no error", yaml)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadScenario(%q):\n%v\nwant it to contain %q", yaml, err, w)
			}
		}
	}
	f("targets: [{name: a, url: 'http://x/'}]\nsteps: [{mode: closed, concurrency: [1]}]\nwindoww: 1s\n",
		"line 3: windoww: unknown key")
	f("targets: []\nsteps: []\n", "targets: at least one is needed", "steps: at least one is needed")
	f("targets: [{name: a, url: 'http://x/'}, {name: a, server: nope}]\nsteps: [{mode: closed, concurrency: [1]}]\n",
		`targets[a].name: duplicate target "a"`, `targets[a].server: no server named "nope"`)
	f("targets: [{name: a, url: 'ftp://x/'}]\nsteps: [{mode: sideways}]\n",
		`targets[a].url: "ftp://x/" must start with http://`, `steps[0].mode: "sideways" is not open or closed`)
	f("targets: [{name: a, url: 'http://x/'}]\nsteps: [{mode: open}, {mode: closed, concurrency: [0]}, {mode: open, rate_range: '10:5'}]\n",
		"steps[0].rate: mode open needs rate or rate_range", "steps[1].concurrency: must be at least 1, got 0",
		`steps[2].rate_range: "10:5": end is below start`)
	f("servers: [{name: s}]\ntargets: [{name: a, server: s, body: {dataset: x.csv}}]\nsteps: [{mode: closed, concurrency: [1]}]\ncomparisons: [{a: a, b: b}]\n",
		"servers[0]: set exactly one of infergate", "targets[a].body.model_id: needed with dataset",
		`comparisons[0]: no target named "b"`)
	f("targets: [{name: a, url: 'http://x/', body: {fixed: '{}', file: body.bin}}]\nsteps: [{mode: closed, concurrency: [1]}]\n",
		"targets[a].body: set at most one of dataset, fixed, file, template, signature")
	f("targets: [{name: a, url: 'http://x/'}]\nsteps: [{mode: closed, concurrency: [1], thresholds: {targets: [b], error_ratio: 2, ratios: [{a: a, b: c, min: 0}]}}, {mode: closed, concurrency: [2], thresholds: {}}]\n",
		`steps[0].thresholds.targets: no target named "b"`, "steps[0].thresholds.error_ratio: a share from 0 to 1 (0.01 is 1%), got 2",
		`steps[0].thresholds.ratios[0]: no target named "c"`, "steps[0].thresholds.ratios[0].min: must be above 0, got 0",
		"steps[1].thresholds: set p99, error_ratio or ratios")
}

func TestStepSweeps(t *testing.T) {
	t.Parallel()
	f := func(st bench.StepConfig, want ...loadgen.Load) {
		t.Helper()
		got, err := st.Loads()
		if err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d loads %+v, want %d", st, len(got), got, len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%+v: load %d = %+v, want %+v", st, i, got[i], want[i])
			}
		}
	}
	f(bench.StepConfig{Mode: loadgen.Closed, ConcurrencyRange: "16:64:16"},
		loadgen.Load{Mode: loadgen.Closed, Concurrency: 16}, loadgen.Load{Mode: loadgen.Closed, Concurrency: 32},
		loadgen.Load{Mode: loadgen.Closed, Concurrency: 48}, loadgen.Load{Mode: loadgen.Closed, Concurrency: 64})
	f(bench.StepConfig{Mode: loadgen.Open, RateRange: "1000:3000", Arrival: loadgen.Poisson},
		loadgen.Load{Mode: loadgen.Open, Rate: 1000, Arrival: loadgen.Poisson},
		loadgen.Load{Mode: loadgen.Open, Rate: 2000, Arrival: loadgen.Poisson},
		loadgen.Load{Mode: loadgen.Open, Rate: 3000, Arrival: loadgen.Poisson})
	f(bench.StepConfig{Mode: loadgen.Open, Rate: []float64{500}, Arrival: loadgen.Constant, Concurrency: []int{32}},
		loadgen.Load{Mode: loadgen.Open, Rate: 500, Arrival: loadgen.Constant, Concurrency: 32})
}
