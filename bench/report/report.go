package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

// Machine is where a run happened. Versions the process cannot know by
// itself (the ONNX Runtime library a server loaded, a server binary's
// version) are left for the caller to fill in.
type Machine struct {
	Hostname string
	OS, Arch string
	// CPU is the processor's model name, from /proc/cpuinfo on Linux.
	CPU   string
	Cores int
	// GoVersion is the Go toolchain that built the load generator.
	GoVersion        string
	InfergateVersion string
	ORTVersion       string
}

// Step is one load step run against one target.
type Step struct {
	// Target names what was measured ("gateway", "fixedbody").
	Target string
	// Label names the load, the same for every target that ran it:
	// "closed c=64", "open 5000/s". Steps are compared by label.
	Label string
	// Result is nil when the step did not run.
	Result *loadgen.Result
}

// Comparison asks for the ratio of two targets' measurements.
type Comparison struct {
	// Name says what is compared: "gateway vs fixed-body fasthttp".
	Name string
	// A and B are target names; ratios are A ÷ B and differences A − B.
	A, B string
}

// Report is one benchmark run.
type Report struct {
	Title    string
	Scenario string
	Started  time.Time
	// Duration is the whole run's wall time, warm-ups and pauses included.
	Duration    time.Duration
	Machine     Machine
	Steps       []Step
	Comparisons []Comparison
	// Notes are free sentences shown under the tables.
	Notes []string
}

// Ratio compares two targets under one load label.
type Ratio struct {
	Comparison string
	Label      string
	// Throughput is A's achieved rate divided by B's; 0 when B completed
	// nothing (and the ratio is then not Trusted).
	Throughput float64
	// P50Diff and P99Diff are A's latency minus B's: the overhead of A.
	P50Diff, P99Diff       time.Duration
	P50A, P50B, P99A, P99B time.Duration
	// Trusted is false when either step fell behind or was unstable; Why
	// then says which and why.
	Trusted bool
	Why     string
}

// Ratios computes every Comparison under every load label both of its
// targets ran, in the order of A's steps. A label only one of them ran,
// or a step without a Result, gives no Ratio.
func (r *Report) Ratios() []Ratio {
	var out []Ratio
	for _, c := range r.Comparisons {
		seenA := map[string]int{}
		for _, a := range r.Steps {
			if a.Target != c.A || a.Result == nil {
				continue
			}
			k := seenA[a.Label]
			seenA[a.Label]++
			b := r.nthStep(c.B, a.Label, k)
			if b == nil {
				continue
			}
			out = append(out, newRatio(c, a, *b))
		}
	}
	return out
}

// nthStep returns the k-th step (from 0) with a result that target ran
// under label, or nil.
func (r *Report) nthStep(target, label string, k int) *Step {
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Target != target || s.Label != label || s.Result == nil {
			continue
		}
		if k == 0 {
			return s
		}
		k--
	}
	return nil
}

func newRatio(c Comparison, a, b Step) Ratio {
	ra, rb := a.Result, b.Result
	q := Ratio{
		Comparison: c.Name,
		Label:      a.Label,
		P50A:       ra.Latency.P50,
		P50B:       rb.Latency.P50,
		P99A:       ra.Latency.P99,
		P99B:       rb.Latency.P99,
		P50Diff:    ra.Latency.P50 - rb.Latency.P50,
		P99Diff:    ra.Latency.P99 - rb.Latency.P99,
		Trusted:    true,
	}
	var why []string
	if w := untrusted(ra); w != "" {
		why = append(why, a.Target+": "+w)
	}
	if w := untrusted(rb); w != "" {
		why = append(why, b.Target+": "+w)
	}
	if rb.Achieved > 0 {
		q.Throughput = ra.Achieved / rb.Achieved
	} else {
		why = append(why, b.Target+": completed nothing, no throughput ratio")
	}
	if len(why) > 0 {
		q.Trusted = false
		q.Why = strings.Join(why, "; ")
	}
	return q
}

// untrusted says why a result is not to be trusted, or "" when it is.
func untrusted(res *loadgen.Result) string {
	var why []string
	if res.FellBehind {
		w := "generator fell behind"
		if res.FellBehindReason != "" {
			w += " (" + res.FellBehindReason + ")"
		}
		why = append(why, w)
	}
	if !res.Stable {
		tol := res.Load.Tolerance
		if tol == 0 {
			tol = 0.10
		}
		if res.Windows < 3 {
			why = append(why, fmt.Sprintf("unstable: %d window(s), stability needs 3 that agree", res.Windows))
		} else {
			why = append(why, fmt.Sprintf("unstable: the last 3 of %d windows differ by more than %g%%", res.Windows, tol*100))
		}
	}
	return strings.Join(why, "; ")
}

// DetectMachine describes the machine this process runs on.
// InfergateVersion is the main module's version when the binary was built
// from a tagged or stamped module; ORTVersion is left empty.
func DetectMachine() Machine {
	m := Machine{
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
	}
	m.Hostname, _ = os.Hostname()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(f)
		_ = f.Close()
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		m.InfergateVersion = bi.Main.Version
	}
	return m
}

// cpuModel returns the first processor model name in a /proc/cpuinfo, or
// "" when it has none (some ARM kernels name only the hardware).
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	var hardware string
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "model name", "Model Name", "cpu model":
			if v := strings.TrimSpace(val); v != "" {
				return v
			}
		case "Hardware", "Model":
			if hardware == "" {
				hardware = strings.TrimSpace(val)
			}
		}
	}
	return hardware
}

// labels returns the load labels in order of first appearance.
func (r *Report) labels() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.Steps {
		if !seen[s.Label] {
			seen[s.Label] = true
			out = append(out, s.Label)
		}
	}
	return out
}

// targets returns the target names in order of first appearance.
func (r *Report) targets() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.Steps {
		if !seen[s.Target] {
			seen[s.Target] = true
			out = append(out, s.Target)
		}
	}
	return out
}
