package runtime

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/dl"
	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlLibrary is the file go-nvml loads, through the dynamic loader's search
// path.
const nvmlLibrary = "libnvidia-ml.so.1"

// xidWaitTimeout bounds each wait for an XID event, and so how long Close
// waits for the watcher to notice it must stop.
const xidWaitTimeout = 500 * time.Millisecond

// applicationXIDs are the XIDs a faulty application raises (an illegal
// memory access, a kernel that ran too long) rather than the hardware: they
// are counted but leave the device healthy, as NVIDIA's Kubernetes device
// plugin does. 13 graphics engine exception, 31 memory page fault, 43 GPU
// stopped processing, 45 preemptive cleanup, 68 video processor exception,
// 109 context switch timeout.
var applicationXIDs = []uint64{13, 31, 43, 45, 68, 109}

// NVML is the machine's GPU inventory, read through NVML (libnvidia-ml, part
// of the NVIDIA driver). It also watches every device for critical XID error
// events on a goroutine of its own, and counts them. Its methods are safe for
// concurrent use.
type NVML struct {
	lib nvml.Interface
	// tempV says that the driver has nvmlDeviceGetTemperatureV; older ones
	// have only the deprecated nvmlDeviceGetTemperature.
	tempV bool
	devs  []*nvmlDevice

	// mu orders Close against Devices: calling into NVML after Shutdown would
	// jump into an unloaded library.
	mu     sync.RWMutex
	closed bool

	events     nvml.EventSet // nil when no device reports XID events
	stop, done chan struct{}
}

// nvmlDevice is one device's handle and what the XID watcher counted.
type nvmlDevice struct {
	handle    nvml.Device // nil when NVML could not give one
	handleErr nvml.Return
	xids      atomic.Uint64 // every critical XID event
	fatalXID  atomic.Uint64 // the last XID not in applicationXIDs; 0 if none
}

// OpenNVML loads libnvidia-ml, initialises NVML and starts watching every
// device for critical XID errors. Without the library (a machine without an
// NVIDIA driver) or a usable driver it returns an error matching ErrNoNVML
// that says what it tried; it never panics, and needs nothing at build or
// link time: go-nvml opens the library at run time. Close it when done.
func OpenNVML() (*NVML, error) {
	return openNVML(nvml.New())
}

// openNVML is OpenNVML over any implementation of go-nvml's interface, so
// that tests can hand it go-nvml's mock.
func openNVML(lib nvml.Interface) (*NVML, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, nvmlInitError(ret)
	}
	n := &NVML{lib: lib}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		_ = lib.Shutdown()
		return nil, fmt.Errorf("runtime: NVML cannot count the devices: %s", ret.Error())
	}
	n.tempV = lib.Extensions().LookupSymbol("nvmlDeviceGetTemperatureV") == nil
	n.devs = make([]*nvmlDevice, count)
	for i := range n.devs {
		h, ret := lib.DeviceGetHandleByIndex(i)
		d := &nvmlDevice{handleErr: ret}
		if ret == nvml.SUCCESS {
			d.handle = h
		}
		n.devs[i] = d
	}
	n.watchXIDs()
	return n, nil
}

// nvmlInitError explains why nvmlInit failed. go-nvml reports a library that
// does not load as ERROR_LIBRARY_NOT_FOUND and drops the loader's message,
// so this asks the loader again for it.
func nvmlInitError(ret nvml.Return) error {
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		why := "not found"
		lib := dl.New(nvmlLibrary, dl.RTLD_LAZY|dl.RTLD_GLOBAL)
		if err := lib.Open(); err != nil {
			why = err.Error()
		} else {
			_ = lib.Close()
		}
		return fmt.Errorf("runtime: %w: cannot load %s (%s); this machine has no NVIDIA driver, or its library is not on the loader path (LD_LIBRARY_PATH, or the container runtime's GPU support)",
			ErrNoNVML, nvmlLibrary, why)
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Errorf("runtime: %w: %s loaded but the NVIDIA kernel driver is not running (nvmlInit: %s)",
			ErrNoNVML, nvmlLibrary, ret.Error())
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return fmt.Errorf("runtime: %w: %s does not match the running NVIDIA kernel driver (nvmlInit: %s); reboot or reload the driver after an upgrade",
			ErrNoNVML, nvmlLibrary, ret.Error())
	}
	return fmt.Errorf("runtime: %w: nvmlInit from %s failed: %s", ErrNoNVML, nvmlLibrary, ret.Error())
}

// watchXIDs registers every device that supports it for critical XID events
// and starts the goroutine that counts them. Devices that cannot be watched
// are listed without XID counts.
func (n *NVML) watchXIDs() {
	set, ret := n.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return
	}
	watched := 0
	for _, d := range n.devs {
		if d.handle == nil {
			continue
		}
		supported, ret := d.handle.GetSupportedEventTypes()
		if ret != nvml.SUCCESS || supported&nvml.EventTypeXidCriticalError == 0 {
			continue
		}
		if d.handle.RegisterEvents(nvml.EventTypeXidCriticalError, set) == nvml.SUCCESS {
			watched++
		}
	}
	if watched == 0 {
		_ = set.Free()
		return
	}
	n.events = set
	n.stop, n.done = make(chan struct{}), make(chan struct{})
	go n.waitXIDs()
}

// waitXIDs counts XID events until Close. Each wait is bounded so that a
// stop is noticed within xidWaitTimeout.
func (n *NVML) waitXIDs() {
	defer close(n.done)
	timeoutMs := uint32(xidWaitTimeout / time.Millisecond)
	for {
		select {
		case <-n.stop:
			return
		default:
		}
		e, ret := n.events.Wait(timeoutMs)
		switch {
		case ret == nvml.ERROR_TIMEOUT:
			continue
		case ret != nvml.SUCCESS:
			// A lost GPU makes every wait fail at once: back off rather than
			// spin. Devices reports the lost GPU through its own queries.
			select {
			case <-n.stop:
				return
			case <-time.After(xidWaitTimeout):
			}
			continue
		}
		if e.EventType&nvml.EventTypeXidCriticalError != 0 {
			n.recordXID(e.Device, e.EventData)
		}
	}
}

// recordXID counts XID xid against the device it names; an event for a
// device NVML did not list counts against all of them, as NVIDIA's
// Kubernetes device plugin does, since it cannot be told apart.
func (n *NVML) recordXID(dev nvml.Device, xid uint64) {
	var hit []*nvmlDevice
	for _, d := range n.devs {
		if d.handle != nil && d.handle == dev {
			hit = append(hit, d)
		}
	}
	if len(hit) == 0 {
		hit = n.devs
	}
	for _, d := range hit {
		d.xids.Add(1)
		if !slices.Contains(applicationXIDs, xid) {
			d.fatalXID.Store(xid)
		}
	}
}

// Devices reads every device now. A device whose queries fail is listed
// unhealthy, its Problem naming the queries; fields a device does not support
// (utilization, temperature, power, ECC on some boards and in MIG mode) are 0
// and not a problem. The error is ErrClosed after Close.
func (n *NVML) Devices() ([]DeviceInfo, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return nil, fmt.Errorf("runtime: cannot read GPUs: NVML %w", ErrClosed)
	}
	out := make([]DeviceInfo, len(n.devs))
	for i, d := range n.devs {
		out[i] = n.device(i, d)
	}
	return out, nil
}

// device reads one device. The caller holds n.mu.
func (n *NVML) device(i int, d *nvmlDevice) DeviceInfo {
	info := DeviceInfo{Index: i, XIDErrors: d.xids.Load()}
	var problems []string
	// failed records a failed query: always for required ones, and for
	// optional ones unless the device does not support them.
	failed := func(query string, ret nvml.Return, optional bool) bool {
		if ret == nvml.SUCCESS {
			return false
		}
		if !optional || ret != nvml.ERROR_NOT_SUPPORTED {
			problems = append(problems, query+": "+ret.Error())
		}
		return true
	}
	h := d.handle
	if h == nil {
		failed("handle", d.handleErr, false)
		info.Problem = strings.Join(problems, "; ")
		return info
	}
	if name, ret := h.GetName(); !failed("name", ret, false) {
		info.Name = name
	}
	if uuid, ret := h.GetUUID(); !failed("uuid", ret, false) {
		info.UUID = uuid
	}
	if mem, ret := h.GetMemoryInfo(); !failed("memory", ret, false) {
		info.MemoryTotal, info.MemoryUsed, info.MemoryFree = mem.Total, mem.Used, mem.Free
		if mem.Total > 0 && mem.Free < mem.Total/100 {
			problems = append(problems, fmt.Sprintf("memory exhausted: %d of %d bytes free", mem.Free, mem.Total))
		}
	}
	if u, ret := h.GetUtilizationRates(); !failed("utilization", ret, true) {
		info.UtilizationGPU, info.UtilizationMemory = u.Gpu, u.Memory
	}
	if t, ret := n.temperature(h); !failed("temperature", ret, true) {
		info.TemperatureC = t
	}
	if mw, ret := h.GetPowerUsage(); !failed("power", ret, true) {
		info.PowerWatts = float64(mw) / 1000
	}
	if ecc, ret := h.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC); !failed("ecc", ret, true) {
		info.ECCUncorrected = ecc
	}
	if xid := d.fatalXID.Load(); xid != 0 {
		problems = append(problems, fmt.Sprintf("critical XID %d seen (%d XID events since start)", xid, info.XIDErrors))
	}
	info.Problem = strings.Join(problems, "; ")
	info.Healthy = info.Problem == ""
	return info
}

// temperature reads the GPU core temperature with the newest call the driver
// has.
func (n *NVML) temperature(h nvml.Device) (uint32, nvml.Return) {
	if n.tempV {
		t, ret := h.GetTemperatureV().V1()
		return uint32(max(t.Temperature, 0)), ret
	}
	// Deprecated in NVML, but the only call older drivers have.
	return h.GetTemperature(nvml.TEMPERATURE_GPU)
}

// Close stops the XID watcher and shuts NVML down. A second Close is a no-op.
func (n *NVML) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.events != nil {
		close(n.stop)
		<-n.done
		_ = n.events.Free()
	}
	if ret := n.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("runtime: NVML shutdown: %s", ret.Error())
	}
	return nil
}
