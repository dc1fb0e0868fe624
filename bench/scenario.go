package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/fieldpath"
)

// Defaults of a Scenario.
const (
	DefaultWarmup     = 2 * time.Second
	DefaultWindow     = 3 * time.Second
	DefaultMaxWindows = 3
	DefaultTolerance  = 0.10
	DefaultTimeout    = 5 * time.Second
)

// Scenario is one benchmark run: the servers it starts, the targets it loads
// and the load steps it applies to every target, side by side (each step runs
// on every target before the next step starts, so machine noise falls on all
// of them alike). It is decoded from YAML (configs/bench/*.yaml) by package
// configs.
type Scenario struct {
	// Name titles the report.
	Name string `yaml:"name"`
	// Warmup runs before each measurement and is not counted. Default 2s.
	Warmup time.Duration `yaml:"warmup"`
	// Window is one measurement window. Default 3s.
	Window time.Duration `yaml:"window"`
	// MaxWindows: windows repeat until the last 3 agree within Tolerance
	// (p50 and throughput) or MaxWindows have run. Default 3.
	MaxWindows int `yaml:"max_windows"`
	// Tolerance of the stability rule, relative. Default 0.10.
	Tolerance float64 `yaml:"tolerance"`
	// Servers the harness starts on loopback before the run and stops after.
	Servers []ServerConfig `yaml:"servers"`
	// Targets receive the load.
	Targets []TargetConfig `yaml:"targets"`
	// Steps are applied to every target, in order.
	Steps []StepConfig `yaml:"steps"`
	// Comparisons are the ratios the report computes (A ÷ B).
	Comparisons []ComparisonConfig `yaml:"comparisons"`
}

// ServerConfig is a server the harness runs for the scenario.
type ServerConfig struct {
	// Name is how targets refer to the server. Required.
	Name string `yaml:"name"`
	// Infergate is a gateway config file: the harness runs
	// `infergate serve --config FILE` on free loopback ports and waits for
	// /readyz.
	Infergate string `yaml:"infergate"`
	// FixedBody starts a bare fasthttp server answering every request with
	// this body: the baseline of what HTTP alone costs.
	FixedBody string `yaml:"fixed_body"`
	// Listen is a fixed_body server's address, so that a gateway config
	// can name it (as a remote target). Default: a free loopback port.
	Listen string `yaml:"listen"`
	// Status of a fixed_body server's answers. Default 200.
	Status int `yaml:"status"`
	// Delay before each of a fixed_body server's answers, e.g. "1h" for a
	// server that hangs. Default none.
	Delay time.Duration `yaml:"delay"`
}

// TargetConfig is one thing to load: an HTTP endpoint or the in-process
// runtime baseline.
type TargetConfig struct {
	// Name labels the target in the report. Required.
	Name string `yaml:"name"`
	// Server names a started server; the URL is http://ADDR + Path.
	Server string `yaml:"server"`
	// URL is any HTTP endpoint, when Server is empty.
	URL string `yaml:"url"`
	// Path is the request path on Server. Default /v1/predictions.
	Path string `yaml:"path"`
	// Method is the HTTP method. Default POST.
	Method string `yaml:"method"`
	// Timeout of one request. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Headers are sent with every request, e.g. {X-Priority: "1"}.
	Headers map[string]string `yaml:"headers"`
	// Body is what each request carries.
	Body BodyConfig `yaml:"body"`
	// Runtime makes this target the in-process baseline: the model called
	// through package runtime, with no HTTP and no batcher.
	Runtime *RuntimeTargetConfig `yaml:"runtime"`
}

// BodyConfig says where request bodies come from; set exactly one source, or
// none for an empty body.
type BodyConfig struct {
	// Dataset is a CSV or JSONL file whose rows become /v1/predictions
	// bodies for ModelID, without the Drop columns.
	Dataset string   `yaml:"dataset"`
	ModelID string   `yaml:"model_id"`
	Drop    []string `yaml:"drop"`
	// Fixed is sent as is.
	Fixed string `yaml:"fixed"`
	// File is a file sent as is, read once at start: a body that is not
	// text, such as a v2 request of the binary tensor extension (with its
	// Inference-Header-Content-Length in the target's headers).
	File string `yaml:"file"`
	// Template is rendered per request ({{seq}}, {{rand_int A B}},
	// {{rand_float A B}}, {{choice a|b}}).
	Template string `yaml:"template"`
	// Signature generates random valid rows for route ModelID from the
	// signature the server's admin API publishes (GET /v1/models).
	Signature bool `yaml:"signature"`
	// Rows is how many signature rows to generate. Default 1000.
	Rows int `yaml:"rows"`
}

// RuntimeTargetConfig is the in-process baseline.
type RuntimeTargetConfig struct {
	// Model is the ONNX file. Required.
	Model string `yaml:"model"`
	// Sessions is the number of sessions (one per concurrent caller, up to
	// this many). Default 2.
	Sessions int `yaml:"sessions"`
}

// StepConfig is a load step, or a sweep of them.
type StepConfig struct {
	// Mode is open (arrival rate) or closed (concurrent clients).
	Mode loadgen.Mode `yaml:"mode"`
	// Concurrency lists closed-model client counts (or, in the open model,
	// the cap on requests in flight, first value only).
	Concurrency []int `yaml:"concurrency"`
	// ConcurrencyRange is "start:end:step", like perf_analyzer's
	// --concurrency-range.
	ConcurrencyRange string `yaml:"concurrency_range"`
	// Rate lists open-model arrival rates in requests per second.
	Rate []float64 `yaml:"rate"`
	// RateRange is "start:end:step" in requests per second, like
	// perf_analyzer's --request-rate-range.
	RateRange string `yaml:"rate_range"`
	// Arrival is constant (default) or poisson.
	Arrival loadgen.Arrival `yaml:"arrival"`
	// Thresholds are the step's pass marks (thresholds.go).
	Thresholds *Thresholds `yaml:"thresholds"`
}

// ComparisonConfig asks the report for A ÷ B at every load both ran.
type ComparisonConfig struct {
	Name string `yaml:"name"`
	A    string `yaml:"a"`
	B    string `yaml:"b"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (s *Scenario) ApplyDefaults() {
	defaults.Set(&s.Name, "benchmark")
	defaults.Set(&s.Warmup, DefaultWarmup)
	defaults.Set(&s.Window, DefaultWindow)
	defaults.Set(&s.MaxWindows, DefaultMaxWindows)
	defaults.Set(&s.Tolerance, DefaultTolerance)
	for i := range s.Targets {
		t := &s.Targets[i]
		defaults.Set(&t.Path, "/v1/predictions")
		defaults.Set(&t.Method, "POST")
		defaults.Set(&t.Timeout, DefaultTimeout)
		defaults.Set(&t.Body.Rows, 1000)
		if t.Runtime != nil {
			defaults.Set(&t.Runtime.Sessions, 2)
		}
	}
	for i := range s.Steps {
		defaults.Set(&s.Steps[i].Arrival, loadgen.Constant)
	}
}

// Validate reports every problem, one per line, with its field path.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Warmup < 0 {
		bad("warmup: must not be negative, got %s", s.Warmup)
	}
	if s.Window <= 0 {
		bad("window: must be positive, got %s", s.Window)
	}
	if s.MaxWindows < 1 {
		bad("max_windows: must be at least 1, got %d", s.MaxWindows)
	}
	if s.Tolerance <= 0 || s.Tolerance >= 1 {
		bad("tolerance: must be in (0, 1), got %v", s.Tolerance)
	}
	servers := map[string]bool{}
	for i, sv := range s.Servers {
		path := fmt.Sprintf("servers[%d]", i)
		if sv.Name == "" {
			bad("%s.name: must not be empty", path)
		} else if servers[sv.Name] {
			bad("%s.name: duplicate server %q", path, sv.Name)
		}
		servers[sv.Name] = true
		if (sv.Infergate == "") == (sv.FixedBody == "") {
			bad("%s: set exactly one of infergate (a gateway config file) or fixed_body", path)
		}
		if sv.Infergate != "" && (sv.Listen != "" || sv.Status != 0 || sv.Delay != 0) {
			bad("%s: listen, status and delay apply to fixed_body servers only (a gateway's addresses are picked free)", path)
		}
		if sv.Status != 0 && (sv.Status < 100 || sv.Status > 599) {
			bad("%s.status: %d is not an HTTP status", path, sv.Status)
		}
		if sv.Delay < 0 {
			bad("%s.delay: must not be negative, got %s", path, sv.Delay)
		}
	}
	targets := map[string]bool{}
	for i := range s.Targets {
		t := &s.Targets[i]
		path := fieldpath.Item("targets", t.Name, i)
		if t.Name == "" {
			bad("%s.name: must not be empty", path)
		} else if targets[t.Name] {
			bad("%s.name: duplicate target %q", path, t.Name)
		}
		targets[t.Name] = true
		kinds := 0
		for _, set := range []bool{t.Server != "", t.URL != "", t.Runtime != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			bad("%s: set exactly one of server, url or runtime", path)
		}
		if t.Server != "" && !servers[t.Server] {
			bad("%s.server: no server named %q in servers", path, t.Server)
		}
		if t.URL != "" && !strings.HasPrefix(t.URL, "http://") {
			bad("%s.url: %q must start with http://", path, t.URL)
		}
		if t.Runtime != nil && t.Runtime.Model == "" {
			bad("%s.runtime.model: must name an ONNX file", path)
		}
		if t.Timeout < 0 {
			bad("%s.timeout: must not be negative, got %s", path, t.Timeout)
		}
		b := &t.Body
		sources := 0
		for _, set := range []bool{b.Dataset != "", b.Fixed != "", b.File != "", b.Template != "", b.Signature} {
			if set {
				sources++
			}
		}
		if sources > 1 {
			bad("%s.body: set at most one of dataset, fixed, file, template, signature", path)
		}
		if (b.Dataset != "" || b.Signature) && b.ModelID == "" {
			bad("%s.body.model_id: needed with dataset or signature: the route the rows are for", path)
		}
		if b.Signature && t.Server == "" {
			bad("%s.body.signature: needs a server (its admin API publishes the signature)", path)
		}
	}
	if len(s.Targets) == 0 {
		bad("targets: at least one is needed")
	}
	if len(s.Steps) == 0 {
		bad("steps: at least one is needed")
	}
	for i := range s.Steps {
		if _, err := s.Steps[i].Loads(); err != nil {
			bad("steps[%d].%w", i, err)
		}
		if th := s.Steps[i].Thresholds; th != nil {
			path := fmt.Sprintf("steps[%d].thresholds", i)
			for _, name := range th.Targets {
				if !targets[name] {
					bad("%s.targets: no target named %q", path, name)
				}
			}
			if th.P99 < 0 {
				bad("%s.p99: must not be negative, got %s", path, th.P99)
			}
			if r := th.ErrorRatio; r != nil && (*r < 0 || *r > 1) {
				bad("%s.error_ratio: a share from 0 to 1 (0.01 is 1%%), got %g", path, *r)
			}
			for j, r := range th.Ratios {
				for _, name := range []string{r.A, r.B} {
					if !targets[name] {
						bad("%s.ratios[%d]: no target named %q", path, j, name)
					}
				}
				if r.Min <= 0 {
					bad("%s.ratios[%d].min: must be above 0, got %g", path, j, r.Min)
				}
			}
			if th.P99 == 0 && th.ErrorRatio == nil && len(th.Ratios) == 0 {
				bad("%s: set p99, error_ratio or ratios", path)
			}
		}
	}
	for i, c := range s.Comparisons {
		for _, name := range []string{c.A, c.B} {
			if !targets[name] {
				bad("comparisons[%d]: no target named %q", i, name)
			}
		}
	}
	return errors.Join(errs...)
}

// Loads expands a step (or sweep) into load steps, without the durations
// the scenario adds.
func (st *StepConfig) Loads() ([]loadgen.Load, error) {
	switch st.Mode {
	case loadgen.Closed:
		conc, err := intsOrRange(st.Concurrency, st.ConcurrencyRange, "concurrency")
		if err != nil {
			return nil, err
		}
		if len(st.Rate) > 0 || st.RateRange != "" {
			return nil, errors.New("rate: only for mode open")
		}
		loads := make([]loadgen.Load, 0, len(conc))
		for _, c := range conc {
			if c < 1 {
				return nil, fmt.Errorf("concurrency: must be at least 1, got %d", c)
			}
			loads = append(loads, loadgen.Load{Mode: loadgen.Closed, Concurrency: c})
		}
		return loads, nil
	case loadgen.Open:
		rates := st.Rate
		if st.RateRange != "" {
			if len(rates) > 0 {
				return nil, errors.New("rate_range: set rate or rate_range, not both")
			}
			r, err := parseRange(st.RateRange)
			if err != nil {
				return nil, fmt.Errorf("rate_range: %w", err)
			}
			rates = r
		}
		if len(rates) == 0 {
			return nil, errors.New("rate: mode open needs rate or rate_range")
		}
		if st.Arrival != loadgen.Constant && st.Arrival != loadgen.Poisson {
			return nil, fmt.Errorf("arrival: %q is not constant or poisson", st.Arrival)
		}
		inFlight := 0
		if len(st.Concurrency) > 0 {
			inFlight = st.Concurrency[0]
		}
		loads := make([]loadgen.Load, 0, len(rates))
		for _, r := range rates {
			if r <= 0 {
				return nil, fmt.Errorf("rate: must be positive, got %v", r)
			}
			loads = append(loads, loadgen.Load{Mode: loadgen.Open, Rate: r, Arrival: st.Arrival, Concurrency: inFlight})
		}
		return loads, nil
	default:
		return nil, fmt.Errorf("mode: %q is not open or closed", st.Mode)
	}
}

func intsOrRange(list []int, rng, name string) ([]int, error) {
	if rng == "" {
		if len(list) == 0 {
			return nil, fmt.Errorf("%s: mode closed needs %s or %s_range", name, name, name)
		}
		return list, nil
	}
	if len(list) > 0 {
		return nil, fmt.Errorf("%s_range: set %s or %s_range, not both", name, name, name)
	}
	vals, err := parseRange(rng)
	if err != nil {
		return nil, fmt.Errorf("%s_range: %w", name, err)
	}
	out := make([]int, len(vals))
	for i, v := range vals {
		out[i] = int(v)
	}
	return out, nil
}

// parseRange expands "start:end:step" (step defaults to start).
func parseRange(s string) ([]float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("%q is not start:end[:step]", s)
	}
	nums := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: %q is not a positive number", s, p)
		}
		nums[i] = v
	}
	start, end := nums[0], nums[1]
	step := start
	if len(nums) == 3 {
		step = nums[2]
	}
	if end < start {
		return nil, fmt.Errorf("%q: end is below start", s)
	}
	var out []float64
	for v := start; v <= end*(1+1e-9); v += step {
		out = append(out, v)
		if len(out) > 100 {
			return nil, fmt.Errorf("%q: more than 100 steps", s)
		}
	}
	return out, nil
}

// label names a load for tables and plots.
func label(l loadgen.Load) string {
	if l.Mode == loadgen.Closed {
		return fmt.Sprintf("closed c=%d", l.Concurrency)
	}
	s := fmt.Sprintf("open %s/s", strconv.FormatFloat(l.Rate, 'f', -1, 64))
	if l.Arrival == loadgen.Poisson {
		s += " poisson"
	}
	return s
}
