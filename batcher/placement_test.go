package batcher_test

import (
	"errors"

	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
)

const gib = 1 << 30

// twoGPUs is a fake inventory: device 0 with 40 GiB free, device 1 with
// 3 GiB free, both healthy, and a library with CUDA.
func twoGPUs() batcher.Devices {
	return batcher.Devices{HasCUDA: true, GPUs: []batcher.GPU{
		{Index: 0, Name: "H100", MemoryFree: 40 * gib, MemoryTotal: 80 * gib, Healthy: true},
		{Index: 1, Name: "H100", MemoryFree: 3 * gib, MemoryTotal: 80 * gib, Healthy: true},
	}}
}

func slotsText(slots []batcher.Slot) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

// TestPlace walks the placement rules against fake inventories: count per
// device, every device by default, headroom per instance, an unhealthy or
// missing device, no CUDA, no NVML; prefer_gpu falls back to the CPU and
// says why, require_gpu refuses.
func TestPlace(t *testing.T) {
	t.Parallel()
	gpu := func(count int, minFree int64, devices ...int) batcher.InstanceGroup {
		return batcher.InstanceGroup{Kind: batcher.KindGPU, Count: count, Devices: devices, MinFreeMemory: minFree}
	}
	cpu := func(count int) batcher.InstanceGroup {
		return batcher.InstanceGroup{Kind: batcher.KindCPU, Count: count}
	}
	unhealthy := twoGPUs()
	unhealthy.GPUs[1].Healthy, unhealthy.GPUs[1].Problem = false, "XID 79 (fallen off the bus)"
	noCUDA := twoGPUs()
	noCUDA.HasCUDA = false
	noNVML := batcher.Devices{HasCUDA: true, Err: errors.New("libnvidia-ml.so.1: cannot open shared object file")}

	for _, c := range []struct {
		name     string
		groups   []batcher.InstanceGroup
		dev      batcher.Devices
		want     string // the slots
		warnings []string
	}{
		{"count per device", []batcher.InstanceGroup{gpu(2, 0, 0, 1), cpu(1)}, twoGPUs(), "gpu 0, gpu 0, gpu 1, gpu 1, cpu", nil},
		{"every device by default", []batcher.InstanceGroup{gpu(1, 0)}, twoGPUs(), "gpu 0, gpu 1", nil},
		{"headroom per instance", []batcher.InstanceGroup{gpu(2, 2*gib, 0, 1)}, twoGPUs(), "gpu 0, gpu 0, gpu 1, cpu",
			[]string{"gpu 1: 1.0 GiB free, min_free_memory asks 2.0 GiB per instance"}},
		{"unhealthy device", []batcher.InstanceGroup{gpu(1, 0, 0, 1)}, unhealthy, "gpu 0, cpu",
			[]string{"gpu 1: the device is unhealthy: XID 79 (fallen off the bus)"}},
		{"missing device", []batcher.InstanceGroup{gpu(1, 0, 0, 7)}, twoGPUs(), "gpu 0, cpu", []string{"gpu 7: no such device (2 found)"}},
		{"no CUDA in the library", []batcher.InstanceGroup{gpu(1, 0, 0)}, noCUDA, "cpu", []string{"no CUDA execution provider"}},
		{"no NVML", []batcher.InstanceGroup{gpu(2, 0)}, noNVML, "cpu, cpu", []string{"the GPUs cannot be listed: libnvidia-ml.so.1"}},
		{"no groups", nil, twoGPUs(), "cpu, cpu", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := batcher.Config{InstanceGroups: c.groups}
			if c.groups == nil {
				cfg.Instances = 2
			}
			slots, warnings, err := batcher.Place(cfg, c.dev)
			if err != nil {
				t.Fatal(err)
			}
			if got := slotsText(slots); got != c.want {
				t.Errorf("slots %s, want %s", got, c.want)
			}
			if len(warnings) != len(c.warnings) {
				t.Fatalf("warnings %q, want %d like %q", warnings, len(c.warnings), c.warnings)
			}
			for i, w := range c.warnings {
				if !strings.Contains(warnings[i], w) || !strings.HasSuffix(warnings[i], "placed on the CPU instead (gpu_policy: prefer_gpu)") {
					t.Errorf("warning %q, want it to say %q and the fallback", warnings[i], w)
				}
			}
			// require_gpu: the same problems refuse the load.
			cfg.GPUPolicy = batcher.RequireGPU
			_, _, err = batcher.Place(cfg, c.dev)
			if (err != nil) != (len(c.warnings) > 0) {
				t.Fatalf("require_gpu: err %v", err)
			}
			if err != nil && (!errors.Is(err, batcher.ErrPlacement) || !strings.Contains(err.Error(), c.warnings[0])) {
				t.Errorf("require_gpu: %v", err)
			}
		})
	}
}

func TestInstanceGroupsValidate(t *testing.T) {
	t.Parallel()
	cfg := batcher.Config{Instances: 3, GPUPolicy: "maybe", InstanceGroups: []batcher.InstanceGroup{
		{Kind: "tpu"}, {Kind: batcher.KindCPU, Devices: []int{0}}, {Kind: batcher.KindGPU, Count: -1, Devices: []int{0, -2, 0}, MinFreeMemory: -1},
	}}
	cfg.ApplyDefaults()
	err := cfg.Validate()
	for _, want := range []string{
		`batching.instances: set instances or instance_groups, not both`,
		`batching.gpu_policy: "maybe" is not prefer_gpu or require_gpu`,
		`batching.instance_groups[0].kind: "tpu" is not cpu or gpu`,
		`batching.instance_groups[1]: devices and min_free_memory apply to kind gpu only`,
		`batching.instance_groups[2].count: must be at least 1, got -1`,
		`batching.instance_groups[2].min_free_memory: must not be negative`,
		`batching.instance_groups[2].devices[1]: must not be negative, got -2`,
		`batching.instance_groups[2].devices[2]: device 0 is listed twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// healthFake is a fake instance whose device health the test sets.
type healthFake struct {
	*fakeInstance
	healthy atomic.Bool
}

func (h *healthFake) Healthy() bool { return h.healthy.Load() }

// TestUnhealthyInstanceIsDrained: an instance whose device turns unhealthy
// takes no more batches; the other instance serves everything; once it
// recovers it takes batches again; a batcher whose every instance is
// unhealthy still closes, answering what was queued.
func TestUnhealthyInstanceIsDrained(t *testing.T) {
	t.Parallel()
	sick, well := &healthFake{fakeInstance: newFake(testInWidth, testOutWidth, 4)}, &healthFake{fakeInstance: newFake(testInWidth, testOutWidth, 4)}
	well.healthy.Store(true)
	b, err := batcher.New(t.Name(), "1", batcher.Config{MaxBatchSize: 4, InstanceGroups: []batcher.InstanceGroup{{Kind: batcher.KindGPU, Count: 2}}},
		floatSpec(testInWidth, testOutWidth), []batcher.Instance{sick, well})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 200 {
		if err := do(t, b, i, time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(batchSizes(sick.fakeInstance)); n != 0 {
		t.Fatalf("the unhealthy instance ran %d batches", n)
	}
	sick.healthy.Store(true)
	well.healthy.Store(false)
	// Within a health poll the recovered instance serves, the other stops.
	waitUntil(t, "the recovered instance to take batches", func() bool {
		_ = do(t, b, 1, time.Now().Add(5*time.Second))
		return len(batchSizes(sick.fakeInstance)) > 0
	})
	t.Logf("batches: recovered instance %d, the other %d", len(batchSizes(sick.fakeInstance)), len(batchSizes(well.fakeInstance)))
}

func TestCloseWithEveryInstanceUnhealthy(t *testing.T) {
	t.Parallel()
	sick := &healthFake{fakeInstance: newFake(testInWidth, testOutWidth, 4)}
	b, err := batcher.New(t.Name(), "1", batcher.Config{MaxBatchSize: 4, InstanceGroups: []batcher.InstanceGroup{{Kind: batcher.KindGPU}}},
		floatSpec(testInWidth, testOutWidth), []batcher.Instance{sick})
	if err != nil {
		t.Fatal(err)
	}
	queued := goDo(t, b, 7, time.Time{})
	waitUntil(t, "the request to queue", func() bool { return b.QueueDepth() == 1 })
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with every instance unhealthy")
	}
	if err := <-queued; err != nil {
		t.Fatalf("the queued request: %v (Close drains it)", err)
	}
}

// waitUntil polls cond every few milliseconds for at most 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
