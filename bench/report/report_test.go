package report

import (
	"strings"
	"testing"
)

func TestRatios(t *testing.T) {
	t.Parallel()
	got := fixture().Ratios()
	// closed c=256 has no fixedbody step: no ratio.
	want := []Ratio{
		{Comparison: "gateway vs fixed-body fasthttp", Label: "closed c=16", Throughput: 0.5,
			P50Diff: 90 * us1, P99Diff: 4760 * us1, P50A: 150 * us1, P50B: 60 * us1, P99A: 8600 * us1, P99B: 3840 * us1, Trusted: true},
		{Comparison: "gateway vs fixed-body fasthttp", Label: "closed c=64", Throughput: 0.5,
			P50Diff: 350 * us1, P99Diff: 6860 * us1, P50A: 580 * us1, P50B: 230 * us1, P99A: 11700 * us1, P99B: 4840 * us1,
			Why: "fixedbody: unstable: the last 3 of 6 windows differ by more than 10%"},
		{Comparison: "gateway vs fixed-body fasthttp", Label: "open 20000/s", Throughput: 0.9995,
			P50Diff: 139 * us1, P99Diff: 890 * us1, P50A: 180 * us1, P50B: 41 * us1, P99A: 1200 * us1, P99B: 310 * us1, Trusted: true},
		{Comparison: "gateway vs fixed-body fasthttp", Label: "open 100000/s", Throughput: 88000.0 / 99800,
			P50Diff: 2805 * us1, P99Diff: 46100 * us1, P50A: 2900 * us1, P50B: 95 * us1, P99A: 48000 * us1, P99B: 1900 * us1,
			Why: "gateway: generator fell behind (p99 send lag 31ms, 9% of requests late)"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d ratios, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ratio %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestRatiosPairing(t *testing.T) {
	t.Parallel()
	base := fixture()
	a := base.Steps[0] // gateway closed c=16, 80000 req/s
	b := base.Steps[1] // fixedbody closed c=16, 160000 req/s
	f := func(name string, steps []Step, cmp []Comparison, want int, check func([]Ratio)) {
		t.Helper()
		r := &Report{Steps: steps, Comparisons: cmp}
		got := r.Ratios()
		if len(got) != want {
			t.Errorf("%s: got %d ratios, want %d: %+v", name, len(got), want, got)
			return
		}
		if check != nil {
			check(got)
		}
	}
	gf := []Comparison{{Name: "g/f", A: "gateway", B: "fixedbody"}}
	f("no comparisons", []Step{a, b}, nil, 0, nil)
	f("B missing", []Step{a}, gf, 0, nil)
	f("A missing", []Step{b}, gf, 0, nil)
	f("unknown target", []Step{a, b}, []Comparison{{Name: "x", A: "gateway", B: "nope"}}, 0, nil)
	f("B did not run", []Step{a, {Target: "fixedbody", Label: a.Label}}, gf, 0, nil)
	f("labels differ", []Step{a, {Target: "fixedbody", Label: "closed c=17", Result: b.Result}}, gf, 0, nil)
	f("reversed", []Step{a, b}, []Comparison{{Name: "f/g", A: "fixedbody", B: "gateway"}}, 1, func(q []Ratio) {
		if q[0].Throughput != 2 || q[0].P50Diff != -90*us1 {
			t.Errorf("reversed: got %+v", q[0])
		}
	})
	// Rounds: the k-th run of A pairs with the k-th run of B.
	a2 := Step{Target: a.Target, Label: a.Label, Result: result("closed", 0, 40000, 150, 8600, 41000)}
	f("rounds", []Step{a, b, a2, b, a}, gf, 2, func(q []Ratio) {
		if q[0].Throughput != 0.5 || q[1].Throughput != 0.25 {
			t.Errorf("rounds: got %v and %v, want 0.5 and 0.25", q[0].Throughput, q[1].Throughput)
		}
	})
	// B completed nothing: no ratio to divide by, flagged.
	zero := *b.Result
	zero.Achieved = 0
	f("B zero", []Step{a, {Target: "fixedbody", Label: a.Label, Result: &zero}}, gf, 1, func(q []Ratio) {
		if q[0].Trusted || q[0].Throughput != 0 || !strings.Contains(q[0].Why, "completed nothing") {
			t.Errorf("B zero: got %+v", q[0])
		}
	})
	// Both untrusted: both reasons, A first.
	ua, ub := *a.Result, *b.Result
	ua.FellBehind, ua.FellBehindReason = true, "out of in-flight slots"
	ub.Stable, ub.Windows = false, 1
	f("both", []Step{{Target: "gateway", Label: a.Label, Result: &ua}, {Target: "fixedbody", Label: a.Label, Result: &ub}}, gf, 1, func(q []Ratio) {
		want := "gateway: generator fell behind (out of in-flight slots); fixedbody: unstable: 1 window(s), stability needs 3 that agree"
		if q[0].Trusted || q[0].Why != want {
			t.Errorf("both: got %q, want %q", q[0].Why, want)
		}
	})
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		if got := cpuModel(strings.NewReader(in)); got != want {
			t.Errorf("cpuModel(%q) = %q, want %q", in, got, want)
		}
	}
	f("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nprocessor\t: 1\nmodel name\t: other\n", "Intel(R) Xeon(R) Processor")
	f("processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\n", "BCM2835")
	f("", "")
}

func TestDetectMachine(t *testing.T) {
	t.Parallel()
	m := DetectMachine()
	if m.OS == "" || m.Arch == "" || m.Cores < 1 || !strings.HasPrefix(m.GoVersion, "go") {
		t.Errorf("DetectMachine() = %+v", m)
	}
}
