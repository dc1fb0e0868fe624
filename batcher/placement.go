package batcher

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/infergate/infergate/runtime"
)

// Instance kinds and GPU policies.
const (
	KindCPU = "cpu"
	KindGPU = "gpu"

	// PreferGPU places a GPU instance that cannot go on its device (no
	// such device, not enough free memory, unhealthy, no GPU or no CUDA
	// provider at all) on the CPU instead, with a warning. The default.
	PreferGPU = "prefer_gpu"
	// RequireGPU makes that an error: the model does not load.
	RequireGPU = "require_gpu"
)

// InstanceGroup is one group of a model's instances, as Triton's
// instance_group: {kind: gpu, devices: [0, 1], count: 2} is two instances
// on each of devices 0 and 1; {kind: cpu, count: 4} four CPU instances.
type InstanceGroup struct {
	// Kind is cpu or gpu. Default cpu.
	Kind string `yaml:"kind"`
	// Count is the number of instances, per device for gpu. Default 1.
	Count int `yaml:"count"`
	// Devices are the GPUs (CUDA ordinals, as NVML numbers them) of a gpu
	// group. Default: every GPU found.
	Devices []int `yaml:"devices"`
	// MinFreeMemory is the free device memory, in bytes, each instance of
	// a gpu group needs at placement: a device with less takes no more of
	// them. Default 0: no check.
	MinFreeMemory int64 `yaml:"min_free_memory"`
	// CUDA are the CUDA execution provider's options of a gpu group's
	// sessions (arena limit, cuDNN convolution search). Default ONNX
	// Runtime's.
	CUDA runtime.CUDAOptions `yaml:"cuda"`
}

// GPU is one device as placement sees it (from NVML).
type GPU struct {
	Index       int
	Name        string
	MemoryFree  uint64
	MemoryTotal uint64
	Healthy     bool
	Problem     string // why it is unhealthy
}

// Slot is where one instance runs: the CPU (Device -1) or a GPU.
type Slot struct {
	Kind   string
	Device int
	CUDA   runtime.CUDAOptions
}

func (s Slot) String() string {
	if s.Kind == KindGPU {
		return "gpu " + strconv.Itoa(s.Device)
	}
	return "cpu"
}

// Devices are what placement knows of the machine: its GPUs (nil, with Err,
// when they cannot be listed: no NVML) and whether the ONNX Runtime library
// has a CUDA execution provider.
type Devices struct {
	GPUs    []GPU
	Err     error
	HasCUDA bool
}

// ErrPlacement: a GPU instance could not be placed and the policy is
// require_gpu.
var ErrPlacement = errors.New("cannot place the model's GPU instances")

// Place decides where each instance of cfg goes. With no instance groups,
// that is cfg.Instances CPU instances. A GPU instance goes on its device when
// the device exists, is healthy, the library has CUDA, and the device has
// min_free_memory free for it (the instances placed before it counted);
// otherwise require_gpu fails with ErrPlacement naming every problem, and
// prefer_gpu places it on the CPU and says why in warnings.
func Place(cfg Config, dev Devices) (slots []Slot, warnings []string, err error) {
	cfg.ApplyDefaults()
	if len(cfg.InstanceGroups) == 0 {
		for range cfg.Instances {
			slots = append(slots, Slot{Kind: KindCPU, Device: -1})
		}
		return slots, nil, nil
	}
	free := map[int]uint64{}
	byIndex := map[int]GPU{}
	for _, g := range dev.GPUs {
		byIndex[g.Index] = g
		free[g.Index] = g.MemoryFree
	}
	var problems []string
	for gi, g := range cfg.InstanceGroups {
		if g.Kind != KindGPU {
			for range g.Count {
				slots = append(slots, Slot{Kind: KindCPU, Device: -1})
			}
			continue
		}
		devices := g.Devices
		if len(devices) == 0 {
			for _, d := range dev.GPUs {
				devices = append(devices, d.Index)
			}
			if len(devices) == 0 {
				why := "no GPU was found"
				if dev.Err != nil {
					why = "the GPUs cannot be listed: " + dev.Err.Error()
				}
				problems = append(problems, fmt.Sprintf("instance_groups[%d]: %s", gi, why))
				for range g.Count {
					slots = append(slots, Slot{Kind: KindCPU, Device: -1})
				}
				continue
			}
		}
		for _, d := range devices {
			for range g.Count {
				why := gpuProblem(d, byIndex, free, dev, g.MinFreeMemory)
				if why == "" {
					free[d] -= uint64(g.MinFreeMemory)
					slots = append(slots, Slot{Kind: KindGPU, Device: d, CUDA: g.CUDA})
					continue
				}
				problems = append(problems, fmt.Sprintf("instance_groups[%d]: gpu %d: %s", gi, d, why))
				slots = append(slots, Slot{Kind: KindCPU, Device: -1})
			}
		}
	}
	if len(problems) > 0 && cfg.GPUPolicy == RequireGPU {
		return nil, nil, fmt.Errorf("%w (gpu_policy: require_gpu): %s", ErrPlacement, strings.Join(dedupe(problems), "; "))
	}
	for _, p := range dedupe(problems) {
		warnings = append(warnings, p+"; placed on the CPU instead (gpu_policy: prefer_gpu)")
	}
	return slots, warnings, nil
}

// gpuProblem says why one more instance cannot go on device d, or "".
func gpuProblem(d int, byIndex map[int]GPU, free map[int]uint64, dev Devices, need int64) string {
	g, ok := byIndex[d]
	switch {
	case dev.Err != nil && len(dev.GPUs) == 0:
		return "the GPUs cannot be listed: " + dev.Err.Error()
	case !ok:
		return fmt.Sprintf("no such device (%d found)", len(dev.GPUs))
	case !g.Healthy:
		return "the device is unhealthy: " + g.Problem
	case !dev.HasCUDA:
		return "the ONNX Runtime library has no CUDA execution provider (point runtime.library_path or INFERGATE_ORT_LIB at a CUDA-enabled build)"
	case need > 0 && free[d] < uint64(need):
		return fmt.Sprintf("%s free, min_free_memory asks %s per instance", bytesText(free[d]), bytesText(uint64(need)))
	}
	return ""
}

// dedupe keeps the first of equal messages (count 2 on a missing device
// would say it twice).
func dedupe(msgs []string) []string {
	out := msgs[:0:0]
	for _, m := range msgs {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func bytesText(n uint64) string {
	const gib = 1 << 30
	if n >= gib {
		return strconv.FormatFloat(float64(n)/gib, 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
}

// validateGroups reports the instance groups' problems with their paths.
func (c *Config) validateGroups(fail func(field, format string, args ...any)) {
	switch c.GPUPolicy {
	case PreferGPU, RequireGPU:
	default:
		fail("gpu_policy", "%q is not prefer_gpu or require_gpu", c.GPUPolicy)
	}
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		path := fmt.Sprintf("instance_groups[%d]", i)
		switch g.Kind {
		case KindCPU:
			if len(g.Devices) > 0 || g.MinFreeMemory != 0 {
				fail(path, "devices and min_free_memory apply to kind gpu only")
			}
		case KindGPU:
		default:
			fail(path+".kind", "%q is not cpu or gpu", g.Kind)
		}
		if g.Count < 1 {
			fail(path+".count", "must be at least 1, got %d", g.Count)
		}
		if g.Kind == KindGPU {
			if err := g.CUDA.Validate(); err != nil {
				// One problem a line, each "key: message".
				for _, line := range strings.Split(err.Error(), "\n") {
					key, msg, _ := strings.Cut(line, ": ")
					fail(path+".cuda."+key, "%s", msg)
				}
			}
		}
		if g.MinFreeMemory < 0 {
			fail(path+".min_free_memory", "must not be negative, got %d", g.MinFreeMemory)
		}
		for j, d := range g.Devices {
			switch {
			case d < 0:
				fail(fmt.Sprintf("%s.devices[%d]", path, j), "must not be negative, got %d", d)
			case slices.Contains(g.Devices[:j], d):
				fail(fmt.Sprintf("%s.devices[%d]", path, j), "device %d is listed twice", d)
			}
		}
	}
}
