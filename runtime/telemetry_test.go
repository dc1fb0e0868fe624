package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/golden"
)

// fakeInventory lists what the test last set, and counts the calls.
type fakeInventory struct {
	mu    sync.Mutex
	devs  []DeviceInfo
	err   error
	calls int
}

func (f *fakeInventory) set(devs []DeviceInfo, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devs, f.err = slices.Clone(devs), err
}

func (f *fakeInventory) Devices() ([]DeviceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.devs), nil
}

func (f *fakeInventory) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// logRecorder is a slog handler that keeps "LEVEL message key=value…" lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	return nil
}

// take returns the lines logged since the last take.
func (r *logRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	r.lines = nil
	return l
}

func twoGPUs() []DeviceInfo {
	return []DeviceInfo{
		{
			Index: 0, Name: "NVIDIA H200", UUID: "GPU-aaaa", MemoryTotal: 150 << 30, MemoryUsed: 10 << 30, MemoryFree: 140 << 30,
			UtilizationGPU: 42, UtilizationMemory: 17, TemperatureC: 38, PowerWatts: 123.25, Healthy: true, XIDErrors: 0,
		},
		{
			Index: 1, Name: `odd "name"`, UUID: "GPU-bbbb", MemoryTotal: 80 << 30, MemoryUsed: 80 << 30,
			Healthy: false, Problem: "memory exhausted", XIDErrors: 3,
		},
	}
}

// TestTelemetry follows a Telemetry through samples, health changes, failures
// and Close, in a synctest bubble so that the ticker runs on fake time.
func TestTelemetry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const every = time.Second
		inv := &fakeInventory{}
		inv.set(twoGPUs(), nil)
		logs := &logRecorder{}
		tel := NewTelemetry(inv, every, slog.New(logs))
		healthy := func(stage string, want ...bool) {
			t.Helper()
			var got []bool
			for i := -1; i <= 2; i++ {
				got = append(got, tel.Healthy(i))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: Healthy(-1…2) = %v, want %v", stage, got, want)
			}
		}
		expectLogs := func(stage string, want ...string) {
			t.Helper()
			if got := logs.take(); !slices.Equal(got, want) {
				t.Errorf("%s: logged\n%s\nwant\n%s", stage, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}

		healthy("before Start", false, false, false, false)
		if tel.Latest() != nil {
			t.Errorf("Latest before Start = %+v, want nil", tel.Latest())
		}
		tel.Start()
		healthy("after Start", false, true, false, false)
		if got := tel.Latest(); !slices.Equal(got, twoGPUs()) {
			t.Errorf("Latest after Start = %+v, want %+v", got, twoGPUs())
		}
		expectLogs("first sample", `WARN gpu unhealthy device=1 uuid=GPU-bbbb name=odd "name" problem=memory exhausted`)

		// Device 0 fails, device 1 recovers: seen after one interval.
		devs := twoGPUs()
		devs[0].Healthy, devs[0].Problem = false, "critical XID 79 seen"
		devs[1].Healthy, devs[1].Problem = true, ""
		inv.set(devs, nil)
		time.Sleep(every)
		synctest.Wait()
		healthy("after device 0 failed", false, false, true, false)
		expectLogs("device 0 failed",
			`WARN gpu unhealthy device=0 uuid=GPU-aaaa name=NVIDIA H200 problem=critical XID 79 seen`,
			`INFO gpu healthy again device=1 uuid=GPU-bbbb name=odd "name"`)

		// The inventory fails: the last sample stays, each failure counts,
		// and the same error is logged once.
		inv.set(nil, errors.New("nvml: ERROR_UNKNOWN"))
		time.Sleep(3 * every)
		synctest.Wait()
		healthy("while the inventory fails", false, false, true, false)
		if got := tel.Latest(); !slices.Equal(got, devs) {
			t.Errorf("Latest while the inventory fails = %+v, want the last sample %+v", got, devs)
		}
		if n := tel.Errors(); n != 3 {
			t.Errorf("Errors() = %d after 3 failed samples", n)
		}
		expectLogs("failing", `WARN gpu telemetry: cannot read the devices; keeping the last sample err=nvml: ERROR_UNKNOWN`)
		inv.set(nil, errors.New("nvml: ERROR_GPU_IS_LOST"))
		time.Sleep(every)
		synctest.Wait()
		expectLogs("another error", `WARN gpu telemetry: cannot read the devices; keeping the last sample err=nvml: ERROR_GPU_IS_LOST`)

		// Recovery, with device 1 gone.
		inv.set(twoGPUs()[:1], nil)
		time.Sleep(every)
		synctest.Wait()
		healthy("after recovery", false, true, false, false)
		expectLogs("recovery",
			`INFO gpu telemetry: reading the devices again`,
			`INFO gpu healthy again device=0 uuid=GPU-aaaa name=NVIDIA H200`,
			`WARN gpu no longer listed device=1 uuid=GPU-bbbb name=odd "name"`)

		// Close stops the sampler: no more calls, however long we wait.
		if err := tel.Close(); err != nil {
			t.Fatal(err)
		}
		calls := inv.count()
		if calls != 7 {
			t.Errorf("the inventory was read %d times, want 7 (Start, then 6 intervals)", calls)
		}
		time.Sleep(10 * every)
		synctest.Wait()
		if n := inv.count(); n != calls {
			t.Errorf("the inventory was read %d times after Close", n-calls)
		}
		healthy("after Close", false, true, false, false)
		if err := tel.Close(); err != nil {
			t.Errorf("second Close: %s", err)
		}
		tel.Start()
		if n := inv.count(); n != calls {
			t.Error("Start after Close sampled")
		}
		// synctest.Test also fails if the sampler goroutine outlived Close.
	})
}

func TestTelemetryCloseWithoutStart(t *testing.T) {
	t.Parallel()
	inv := &fakeInventory{}
	tel := NewTelemetry(inv, 0, nil)
	if tel.every != DefaultTelemetryInterval {
		t.Errorf("interval %s, want the default %s", tel.every, DefaultTelemetryInterval)
	}
	if err := tel.Close(); err != nil {
		t.Fatal(err)
	}
	tel.Start()
	if inv.count() != 0 || tel.Healthy(0) {
		t.Error("a closed Telemetry started")
	}
}

// TestTelemetryMetrics compares the exposition with testdata/telemetry.prom.
func TestTelemetryMetrics(t *testing.T) {
	t.Parallel()
	inv := &fakeInventory{}
	tel := NewTelemetry(inv, time.Hour, nil)
	set := metrics.NewSet()
	tel.RegisterMetrics(set)

	var before bytes.Buffer
	set.WritePrometheus(&before)
	if want := "infergate_gpu_telemetry_errors_total 0\n"; before.String() != want {
		t.Errorf("before a sample:\n%s\nwant\n%s", before.String(), want)
	}

	// A failed first sample, then a good one.
	inv.set(nil, errors.New("boom"))
	tel.Start()
	defer func() { _ = tel.Close() }()
	inv.set(twoGPUs(), nil)
	sampleNow(tel)

	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	golden.Check(t, "telemetry.prom", buf.Bytes())
}

// sampleNow takes one sample outside the schedule. Only a test whose sampler
// cannot tick (an interval of an hour) may: the sampler's state is its own.
func sampleNow(tel *Telemetry) {
	tel.mu.Lock()
	defer tel.mu.Unlock()
	tel.sample()
}

func TestStaticInventory(t *testing.T) {
	t.Parallel()
	s := StaticInventory(twoGPUs())
	got, err := s.Devices()
	if err != nil || !slices.Equal(got, twoGPUs()) {
		t.Fatalf("Devices() = %+v, %v", got, err)
	}
	got[0].Name = "changed"
	if again, _ := s.Devices(); again[0].Name != "NVIDIA H200" {
		t.Error("Devices returns the inventory's own slice")
	}
	if got, err := StaticInventory(nil).Devices(); len(got) != 0 || err != nil {
		t.Errorf("an empty StaticInventory lists %+v, %v", got, err)
	}
}

func ExampleTelemetry() {
	tel := NewTelemetry(StaticInventory{{Index: 0, Name: "NVIDIA H200", Healthy: true}}, time.Second, nil)
	tel.Start()
	defer func() { _ = tel.Close() }()
	// A batcher worker pinned to GPU 0, before each batch:
	fmt.Println(tel.Healthy(0), tel.Healthy(1))
	// Output: true false
}
