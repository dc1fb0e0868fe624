package runtime

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
)

// DefaultTelemetryInterval is how often a Telemetry samples its inventory
// when NewTelemetry is given no interval.
const DefaultTelemetryInterval = 5 * time.Second

// maxDeviceIndex bounds the device indexes Healthy answers for, so that a
// wrong index from an inventory cannot size the lookup table.
const maxDeviceIndex = 1023

// Telemetry samples an Inventory on a goroutine of its own and publishes each
// snapshot with one atomic store, so that a batcher worker can ask whether
// its GPU is healthy before every batch at the cost of one atomic load, and
// the metrics exposition reads the same snapshot. Nothing on the request
// path waits for NVML.
//
// Lifecycle: NewTelemetry, Start (which takes the first sample before it
// returns), Close (which stops the sampler and waits for it). Close works on a
// Telemetry never started. Every method is safe for concurrent use.
type Telemetry struct {
	inv   Inventory
	every time.Duration
	log   *slog.Logger

	snap atomic.Pointer[telemetrySnapshot]
	errs atomic.Uint64

	mu      sync.Mutex // orders Start and Close
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}

	// Owned by whoever samples: Start, then the sampler goroutine.
	lastErr string // the last error logged, "" after a good sample
}

// telemetrySnapshot is one sample, immutable once published.
type telemetrySnapshot struct {
	devices []DeviceInfo
	// healthy[i] is the health of the device with Index i; indexes not
	// listed are false.
	healthy []bool
}

// NewTelemetry samples inv every interval (DefaultTelemetryInterval when
// every <= 0) once started, logging to log (nothing when nil).
func NewTelemetry(inv Inventory, every time.Duration, log *slog.Logger) *Telemetry {
	if every <= 0 {
		every = DefaultTelemetryInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Telemetry{inv: inv, every: every, log: log}
}

// Start takes the first sample, so that Latest and Healthy answer as soon as
// it returns, then samples every interval on a goroutine of its own until
// Close. Starting twice, or after Close, does nothing.
func (t *Telemetry) Start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.closed {
		return
	}
	t.started = true
	t.sample()
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go t.run()
}

func (t *Telemetry) run() {
	defer close(t.done)
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.sample()
		}
	}
}

// Close stops the sampler and waits for it to return (a sample in progress
// finishes first). The last snapshot stays readable. A second Close is a
// no-op; Close does not close the inventory.
func (t *Telemetry) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.started {
		close(t.stop)
		<-t.done
	}
	return nil
}

// sample reads the inventory once and publishes what it found. A failure
// keeps the last snapshot, counts the error and logs it unless it is the
// error logged last.
func (t *Telemetry) sample() {
	devs, err := t.inv.Devices()
	if err != nil {
		t.errs.Add(1)
		if msg := err.Error(); msg != t.lastErr {
			t.lastErr = msg
			t.log.Warn("gpu telemetry: cannot read the devices; keeping the last sample", "err", err)
		}
		return
	}
	if t.lastErr != "" {
		t.lastErr = ""
		t.log.Info("gpu telemetry: reading the devices again")
	}
	next := &telemetrySnapshot{devices: devs}
	size := 0
	for _, d := range devs {
		if d.Index >= 0 && d.Index <= maxDeviceIndex {
			size = max(size, d.Index+1)
		}
	}
	next.healthy = make([]bool, size)
	for _, d := range devs {
		if d.Index >= 0 && d.Index <= maxDeviceIndex {
			next.healthy[d.Index] = d.Healthy
		}
	}
	t.logHealthChanges(t.snap.Load(), next)
	t.snap.Store(next)
}

// logHealthChanges logs every device that became unhealthy or disappeared
// (WARN) and every one that recovered (INFO) between prev and next.
func (t *Telemetry) logHealthChanges(prev, next *telemetrySnapshot) {
	var before []DeviceInfo
	if prev != nil {
		before = prev.devices
	}
	find := func(devs []DeviceInfo, index int) (DeviceInfo, bool) {
		for _, d := range devs {
			if d.Index == index {
				return d, true
			}
		}
		return DeviceInfo{}, false
	}
	for _, d := range next.devices {
		old, known := find(before, d.Index)
		switch {
		case !d.Healthy && (!known || old.Healthy):
			t.log.Warn("gpu unhealthy", "device", d.Index, "uuid", d.UUID, "name", d.Name, "problem", d.Problem)
		case d.Healthy && known && !old.Healthy:
			t.log.Info("gpu healthy again", "device", d.Index, "uuid", d.UUID, "name", d.Name)
		}
	}
	for _, d := range before {
		if _, ok := find(next.devices, d.Index); !ok {
			t.log.Warn("gpu no longer listed", "device", d.Index, "uuid", d.UUID, "name", d.Name)
		}
	}
}

// Latest is the last good sample, or nil before one. The slice is shared by
// every caller and must not be modified; it is never modified once returned,
// so it may be kept. (Sharing it keeps Latest free of allocation.)
func (t *Telemetry) Latest() []DeviceInfo {
	if s := t.snap.Load(); s != nil {
		return s.devices
	}
	return nil
}

// Healthy reports whether the device with NVML index index was healthy in the
// last good sample. It is false for a device the sample did not list and
// before the first sample. It costs one atomic load and allocates nothing: a
// batcher worker asks it before each batch.
func (t *Telemetry) Healthy(index int) bool {
	s := t.snap.Load()
	if s == nil || uint(index) >= uint(len(s.healthy)) {
		return false
	}
	return s.healthy[index]
}

// Errors is the number of samples that failed since NewTelemetry.
func (t *Telemetry) Errors() uint64 { return t.errs.Load() }

// RegisterMetrics adds the telemetry's metrics to set; WriteMetrics computes
// them from the last sample at every scrape. set.UnregisterAllMetrics removes
// them.
func (t *Telemetry) RegisterMetrics(set *metrics.Set) {
	set.RegisterMetricsWriter(t.WriteMetrics)
}

// WriteMetrics writes, in the Prometheus text format, the last sample's
// series, each labelled device (NVML index), uuid and name:
//
//	infergate_gpu_memory_used_bytes           device memory in use
//	infergate_gpu_memory_total_bytes
//	infergate_gpu_utilization_percent         time a kernel ran, last period
//	infergate_gpu_memory_utilization_percent  time memory was read or written
//	infergate_gpu_temperature_celsius
//	infergate_gpu_power_watts
//	infergate_gpu_healthy                     1 healthy, 0 not
//	infergate_gpu_xid_errors_total            critical XID events since start
//
// and infergate_gpu_telemetry_errors_total, the samples that failed. Before
// the first good sample only the error count is written.
func (t *Telemetry) WriteMetrics(w io.Writer) {
	metrics.WriteCounterUint64(w, "infergate_gpu_telemetry_errors_total", t.errs.Load())
	devs := t.Latest()
	if len(devs) == 0 {
		return
	}
	lbl := make([]string, len(devs))
	for i, d := range devs {
		lbl[i] = `{device="` + strconv.Itoa(d.Index) + `",uuid="` + promtext.EscapeLabel(d.UUID) +
			`",name="` + promtext.EscapeLabel(d.Name) + `"}`
	}
	gauges := []struct {
		name string
		get  func(*DeviceInfo) uint64
	}{
		{"infergate_gpu_memory_used_bytes", func(d *DeviceInfo) uint64 { return d.MemoryUsed }},
		{"infergate_gpu_memory_total_bytes", func(d *DeviceInfo) uint64 { return d.MemoryTotal }},
		{"infergate_gpu_utilization_percent", func(d *DeviceInfo) uint64 { return uint64(d.UtilizationGPU) }},
		{"infergate_gpu_memory_utilization_percent", func(d *DeviceInfo) uint64 { return uint64(d.UtilizationMemory) }},
		{"infergate_gpu_temperature_celsius", func(d *DeviceInfo) uint64 { return uint64(d.TemperatureC) }},
	}
	for _, g := range gauges {
		for i := range devs {
			metrics.WriteGaugeUint64(w, g.name+lbl[i], g.get(&devs[i]))
		}
	}
	for i := range devs {
		metrics.WriteGaugeFloat64(w, "infergate_gpu_power_watts"+lbl[i], devs[i].PowerWatts)
	}
	for i := range devs {
		healthy := uint64(0)
		if devs[i].Healthy {
			healthy = 1
		}
		metrics.WriteGaugeUint64(w, "infergate_gpu_healthy"+lbl[i], healthy)
	}
	for i := range devs {
		metrics.WriteCounterUint64(w, "infergate_gpu_xid_errors_total"+lbl[i], devs[i].XIDErrors)
	}
}
