package runtime

import "slices"

// DeviceInfo is one GPU at one moment, as NVML reports it.
type DeviceInfo struct {
	// Index is NVML's index of the device (PCI bus order). It is the CUDA
	// ordinal only when CUDA_DEVICE_ORDER=PCI_BUS_ID and CUDA_VISIBLE_DEVICES
	// is unset; compare UUIDs otherwise.
	Index int    `json:"index"`
	Name  string `json:"name"`
	UUID  string `json:"uuid"`

	// Device memory in bytes. Used includes what the driver reserves.
	MemoryTotal uint64 `json:"memory_total"`
	MemoryUsed  uint64 `json:"memory_used"`
	MemoryFree  uint64 `json:"memory_free"`

	// UtilizationGPU and UtilizationMemory are the percentages of the last
	// sample period in which a kernel ran, and in which device memory was
	// read or written. 0 where the device does not report them.
	UtilizationGPU    uint32 `json:"utilization_gpu"`
	UtilizationMemory uint32 `json:"utilization_memory"`

	// TemperatureC is the GPU core temperature in °C, and PowerWatts the
	// board's power draw; 0 where the device does not report them.
	TemperatureC uint32  `json:"temperature_c"`
	PowerWatts   float64 `json:"power_watts"`

	// Healthy is false when a query that should work failed, device memory is
	// exhausted (under 1% free) or the device raised a critical XID error;
	// Problem then says which, and is "" when Healthy.
	Healthy bool   `json:"healthy"`
	Problem string `json:"problem,omitempty"`

	// XIDErrors counts the critical XID events the device raised since the
	// inventory was opened, including those a faulty application causes,
	// which do not make the device unhealthy.
	XIDErrors uint64 `json:"xid_errors"`
	// ECCUncorrected is the device's volatile (since the driver loaded)
	// uncorrected ECC error count; 0 where ECC is off or not reported.
	ECCUncorrected uint64 `json:"ecc_uncorrected"`
}

// Inventory lists the machine's GPUs. Devices returns one consistent snapshot
// of every device, in a new slice that the caller owns. Implementations are
// safe for concurrent use.
type Inventory interface {
	Devices() ([]DeviceInfo, error)
}

var (
	_ Inventory = StaticInventory(nil)
	_ Inventory = (*NVML)(nil)
)

// StaticInventory is an Inventory of fixed devices, for tests and for
// machines without GPUs (a nil StaticInventory lists none).
type StaticInventory []DeviceInfo

// Devices returns a copy of the devices.
func (s StaticInventory) Devices() ([]DeviceInfo, error) { return slices.Clone([]DeviceInfo(s)), nil }
