package runtime

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// TestOpenNVML runs against whatever the machine has. Without libnvidia-ml
// (CI, any machine without an NVIDIA driver) OpenNVML fails with ErrNoNVML
// and the loader's reason, without panicking: this binary was built and
// linked without the library. With it, the devices are listed instead.
func TestOpenNVML(t *testing.T) {
	t.Parallel()
	n, err := OpenNVML()
	if err != nil {
		if !errors.Is(err, ErrNoNVML) {
			t.Fatalf("OpenNVML: got %v, want ErrNoNVML", err)
		}
		if !strings.Contains(err.Error(), nvmlLibrary) {
			t.Errorf("error %q does not name %s", err, nvmlLibrary)
		}
		t.Log(err)
		return
	}
	defer func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	}()
	devs, err := n.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 || devs[0].Name == "" {
		t.Errorf("NVML lists %+v, want at least one named device", devs)
	}
	for _, d := range devs {
		t.Logf("%+v", d)
	}
	t.Skip("libnvidia-ml is present: checked the devices instead of ErrNoNVML")
}

// fakeGPU is a mock device answering every query Devices makes; fields
// set to a failure make that query fail.
type fakeGPU struct {
	name, uuid  string
	mem         nvml.Memory
	util        nvml.Utilization
	temp, mw    uint32
	ecc         uint64
	fail        map[string]nvml.Return // query → failure
	noXIDEvents bool
}

func (g fakeGPU) mock() *mock.Device {
	ret := func(q string) nvml.Return {
		if r, ok := g.fail[q]; ok {
			return r
		}
		return nvml.SUCCESS
	}
	return &mock.Device{
		GetNameFunc:             func() (string, nvml.Return) { return g.name, ret("name") },
		GetUUIDFunc:             func() (string, nvml.Return) { return g.uuid, ret("uuid") },
		GetMemoryInfoFunc:       func() (nvml.Memory, nvml.Return) { return g.mem, ret("memory") },
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) { return g.util, ret("utilization") },
		GetTemperatureFunc: func(s nvml.TemperatureSensors) (uint32, nvml.Return) {
			if s != nvml.TEMPERATURE_GPU {
				return 0, nvml.ERROR_INVALID_ARGUMENT
			}
			return g.temp, ret("temperature")
		},
		GetPowerUsageFunc: func() (uint32, nvml.Return) { return g.mw, ret("power") },
		GetTotalEccErrorsFunc: func(e nvml.MemoryErrorType, c nvml.EccCounterType) (uint64, nvml.Return) {
			if e != nvml.MEMORY_ERROR_TYPE_UNCORRECTED || c != nvml.VOLATILE_ECC {
				return 0, nvml.ERROR_INVALID_ARGUMENT
			}
			return g.ecc, ret("ecc")
		},
		GetSupportedEventTypesFunc: func() (uint64, nvml.Return) {
			if g.noXIDEvents {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return nvml.EventTypeXidCriticalError | nvml.EventTypeSingleBitEccError, nvml.SUCCESS
		},
		RegisterEventsFunc: func(types uint64, _ nvml.EventSet) nvml.Return {
			if types != nvml.EventTypeXidCriticalError {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			return nvml.SUCCESS
		},
	}
}

// fakeNVML is go-nvml's mock library over devs, with an event set whose
// Wait delivers what is sent on events (and times out otherwise).
type fakeNVML struct {
	lib    *mock.Interface
	set    *mock.EventSet
	events chan nvml.EventData
}

func newFakeNVML(devs []nvml.Device, handleErr map[int]nvml.Return) *fakeNVML {
	f := &fakeNVML{events: make(chan nvml.EventData)}
	f.set = &mock.EventSet{
		WaitFunc: func(ms uint32) (nvml.EventData, nvml.Return) {
			select {
			case e := <-f.events:
				return e, nvml.SUCCESS
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	f.lib = &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if r, ok := handleErr[i]; ok {
				return nil, r
			}
			return devs[i], nvml.SUCCESS
		},
		EventSetCreateFunc: func() (nvml.EventSet, nvml.Return) { return f.set, nvml.SUCCESS },
		ExtensionsFunc: func() nvml.ExtendedInterface {
			return &mock.ExtendedInterface{LookupSymbolFunc: func(s string) error { return fmt.Errorf("symbol %q not found", s) }}
		},
	}
	return f
}

const gib = 1 << 30

// TestNVMLDevices drives NVML's logic over go-nvml's mock: what each query
// fills in, which failures make a device unhealthy, and XID counting.
func TestNVMLDevices(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		gpus := []fakeGPU{
			{ // 0: healthy
				name: "NVIDIA H200", uuid: "GPU-0", mem: nvml.Memory{Total: 140 * gib, Used: 40 * gib, Free: 100 * gib},
				util: nvml.Utilization{Gpu: 75, Memory: 30}, temp: 41, mw: 250500, ecc: 2,
			},
			{ // 1: reports no utilization, temperature, power or ECC (MIG, some boards): healthy, zeros
				name: "NVIDIA A100 MIG", uuid: "GPU-1", mem: nvml.Memory{Total: 40 * gib, Used: 1 * gib, Free: 39 * gib},
				util: nvml.Utilization{Gpu: 99}, temp: 99, mw: 99, ecc: 99,
				fail: map[string]nvml.Return{
					"utilization": nvml.ERROR_NOT_SUPPORTED, "temperature": nvml.ERROR_NOT_SUPPORTED,
					"power": nvml.ERROR_NOT_SUPPORTED, "ecc": nvml.ERROR_NOT_SUPPORTED,
				},
			},
			{ // 2: memory exhausted (under 1% free)
				name: "NVIDIA L4", uuid: "GPU-2", mem: nvml.Memory{Total: 100 * gib, Used: 100*gib - gib/2, Free: gib / 2},
				noXIDEvents: true,
			},
			{ // 3: lost; one optional query fails otherwise than NOT_SUPPORTED
				name: "NVIDIA T4", mem: nvml.Memory{Total: 16 * gib, Free: 16 * gib},
				fail: map[string]nvml.Return{"uuid": nvml.ERROR_GPU_IS_LOST, "power": nvml.ERROR_UNKNOWN},
			},
			{}, // 4: no handle
		}
		var handles []nvml.Device
		for _, g := range gpus {
			handles = append(handles, g.mock())
		}
		fake := newFakeNVML(handles, map[int]nvml.Return{4: nvml.ERROR_NO_PERMISSION})
		n, err := openNVML(fake.lib)
		if err != nil {
			t.Fatal(err)
		}

		want := []DeviceInfo{
			{
				Index: 0, Name: "NVIDIA H200", UUID: "GPU-0", MemoryTotal: 140 * gib, MemoryUsed: 40 * gib, MemoryFree: 100 * gib,
				UtilizationGPU: 75, UtilizationMemory: 30, TemperatureC: 41, PowerWatts: 250.5, ECCUncorrected: 2, Healthy: true,
			},
			{Index: 1, Name: "NVIDIA A100 MIG", UUID: "GPU-1", MemoryTotal: 40 * gib, MemoryUsed: gib, MemoryFree: 39 * gib, Healthy: true},
			{
				Index: 2, Name: "NVIDIA L4", UUID: "GPU-2", MemoryTotal: 100 * gib, MemoryUsed: 100*gib - gib/2, MemoryFree: gib / 2,
				Problem: "memory exhausted: 536870912 of 107374182400 bytes free",
			},
			{
				Index: 3, Name: "NVIDIA T4", MemoryTotal: 16 * gib, MemoryFree: 16 * gib,
				Problem: "uuid: ERROR_GPU_IS_LOST; power: ERROR_UNKNOWN",
			},
			{Index: 4, Problem: "handle: ERROR_NO_PERMISSION"},
		}
		check := func(stage string) {
			t.Helper()
			got, err := n.Devices()
			if err != nil {
				t.Fatalf("%s: %s", stage, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d devices, want %d", stage, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s: device %d:\n got %+v\nwant %+v", stage, i, got[i], want[i])
				}
			}
		}
		check("at open")

		// Device 2 does not report XID events, so it is not registered.
		for i, h := range handles {
			calls := len(h.(*mock.Device).RegisterEventsCalls())
			if wantCalls := map[bool]int{true: 1, false: 0}[i != 2 && i != 4]; calls != wantCalls {
				t.Errorf("device %d registered for events %d times, want %d", i, calls, wantCalls)
			}
		}

		// A hardware XID makes the device unhealthy for good; an
		// application's is counted only.
		fake.events <- nvml.EventData{Device: handles[0], EventType: nvml.EventTypeXidCriticalError, EventData: 79}
		fake.events <- nvml.EventData{Device: handles[1], EventType: nvml.EventTypeXidCriticalError, EventData: 13}
		fake.events <- nvml.EventData{Device: handles[1], EventType: nvml.EventTypeSingleBitEccError, EventData: 1}
		time.Sleep(10 * xidWaitTimeout) // waits that time out in between change nothing
		synctest.Wait()
		want[0].XIDErrors, want[0].Healthy, want[0].Problem = 1, false, "critical XID 79 seen (1 XID events since start)"
		want[1].XIDErrors = 1
		check("after XIDs 79 and 13")

		// An event for a device NVML did not list counts against all of them.
		fake.events <- nvml.EventData{Device: &mock.Device{}, EventType: nvml.EventTypeXidCriticalError, EventData: 31}
		synctest.Wait()
		for i := range 4 {
			want[i].XIDErrors++
		}
		want[0].Problem = "critical XID 79 seen (2 XID events since start)"
		want[4].XIDErrors = 1
		check("after an XID of an unknown device")

		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("second Close: %s", err)
		}
		if _, err := n.Devices(); !errors.Is(err, ErrClosed) {
			t.Errorf("Devices after Close: got %v, want ErrClosed", err)
		}
		if s, f := len(fake.lib.ShutdownCalls()), len(fake.set.FreeCalls()); s != 1 || f != 1 {
			t.Errorf("after two Closes: Shutdown called %d times, event set freed %d times; want 1, 1", s, f)
		}
		// synctest.Test fails if the XID watcher outlives Close.
	})
}

func TestOpenNVMLErrors(t *testing.T) {
	t.Parallel()
	f := func(lib *mock.Interface, wantNoNVML bool, wantParts ...string) {
		t.Helper()
		n, err := openNVML(lib)
		if err == nil {
			_ = n.Close()
			t.Fatal("openNVML: no error")
		}
		if errors.Is(err, ErrNoNVML) != wantNoNVML {
			t.Errorf("openNVML: %q: matches ErrNoNVML: %v, want %v", err, !wantNoNVML, wantNoNVML)
		}
		for _, part := range wantParts {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("openNVML: %q does not mention %q", err, part)
			}
		}
	}
	initFails := func(r nvml.Return) *mock.Interface {
		return &mock.Interface{InitFunc: func() nvml.Return { return r }}
	}
	f(initFails(nvml.ERROR_DRIVER_NOT_LOADED), true, "kernel driver is not running")
	f(initFails(nvml.ERROR_LIB_RM_VERSION_MISMATCH), true, "does not match the running NVIDIA kernel driver")
	f(initFails(nvml.ERROR_NO_PERMISSION), true, "nvmlInit", "ERROR_NO_PERMISSION")

	fake := newFakeNVML(nil, nil)
	fake.lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
	f(fake.lib, false, "cannot count the devices", "ERROR_UNKNOWN")
	if n := len(fake.lib.ShutdownCalls()); n != 1 {
		t.Errorf("a failed open called Shutdown %d times, want 1", n)
	}
}
