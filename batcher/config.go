package batcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/infergate/infergate/internal/defaults"
)

// Defaults applied by Config.ApplyDefaults to fields left at their zero value.
const (
	// DefaultMaxBatchSize is the largest batch an instance is given.
	DefaultMaxBatchSize = 32
	// DefaultMaxQueueDelay is how long a partial batch waits for more
	// requests: zero, as in Triton, so a batch holds what is already queued.
	DefaultMaxQueueDelay time.Duration = 0
	// DefaultMaxQueueSize is how many requests may wait before new ones are
	// rejected with ErrQueueFull.
	DefaultMaxQueueSize = 1024
	// DefaultInstances is the number of instances (and worker goroutines).
	DefaultInstances = 1
	// DefaultPriorityLevels is one level: a request's priority is ignored.
	DefaultPriorityLevels = 1
	// DefaultStarvationShare is the share of the rows dispatched that lower
	// priority levels get, at least, while they have requests waiting.
	DefaultStarvationShare = 0.05
)

// Queue orders (Config.Order).
const (
	// OrderFIFO serves a level's requests in arrival order.
	OrderFIFO = "fifo"
	// OrderDeadline serves a level's requests nearest deadline first;
	// requests without a deadline come after those with one, in arrival
	// order.
	OrderDeadline = "deadline"
)

// configPath is the name of the configuration block that holds a Config;
// Validate prefixes field paths with it.
const configPath = "batching"

// Config is the batching block of one model version.
//
// Config is data: New copies it, and changing a Config after New has no effect
// on the Batcher.
type Config struct {
	// MaxBatchSize is the largest number of rows given to an instance in one
	// run. 1 disables batching. Default 32.
	MaxBatchSize int `yaml:"max_batch_size"`
	// MaxQueueDelay is how long a partial batch may wait for more requests,
	// counted from the enqueue time of its oldest request, e.g. "2ms".
	// Default 0: a batch is dispatched with what is queued at once.
	MaxQueueDelay time.Duration `yaml:"max_queue_delay"`
	// TargetLatency turns on adaptive batching: the batcher learns how long
	// a run of each batch size takes and how fast rows arrive, and, while
	// the instances or the CPUs are busy, waits for enough rows to run
	// efficiently, never longer than lets the oldest request's wait plus
	// its batch's run stay under TargetLatency, e.g. "5ms". While they are
	// not busy it runs what is queued at once. It replaces
	// max_queue_delay and preferred_batch_sizes (set one or the other).
	// Default 0: fixed batching, as Triton's dynamic batcher.
	TargetLatency time.Duration `yaml:"target_latency"`
	// PreferredBatchSizes are batch sizes that are dispatched as soon as they
	// can be formed, without waiting for MaxQueueDelay. Each is in
	// [1, max_batch_size]. Default none: only max_batch_size ends the wait.
	PreferredBatchSizes []int `yaml:"preferred_batch_sizes"`
	// AlwaysQueue sends every request through the queue to a worker, even
	// when the queue is empty and an instance is idle. Default false: then,
	// with max_queue_delay 0, such a request runs on its caller's goroutine
	// (a direct run), saving two goroutine hand-offs, when its deadline is
	// at least four recent single-row runs away. Set it when a model's run
	// time can jump (a model that may hang): a direct run cannot be left at
	// the caller's deadline, a queued one can.
	AlwaysQueue bool `yaml:"always_queue"`
	// MaxQueueSize bounds the requests waiting for an instance; a request
	// that finds the queue full is rejected at once. Default 1024.
	MaxQueueSize int `yaml:"max_queue_size"`
	// PriorityLevels is the number of priority levels, as Triton's
	// priority_levels: 1 is the highest, and a level's requests are
	// dispatched only when no higher level's are waiting (but see
	// StarvationShare). A request names its level with the v2 priority
	// parameter or the X-Priority header; 0, none or a level above
	// PriorityLevels is DefaultPriorityLevel, as in Triton. Default 1.
	PriorityLevels int `yaml:"priority_levels"`
	// DefaultPriorityLevel is the level of a request that names none.
	// Default PriorityLevels: the lowest.
	DefaultPriorityLevel int `yaml:"default_priority_level"`
	// PriorityQueueSizes bounds the requests waiting at each level, one
	// entry per level, [1024, 64]: a level whose queue is full sheds its
	// new requests while the others still queue. Default max_queue_size
	// for every level.
	PriorityQueueSizes []int `yaml:"priority_queue_sizes"`
	// StarvationShare is the share of the rows dispatched that goes, at
	// least, to lower levels while they have requests waiting: a
	// lower-level request joins a batch once the higher levels have had
	// their rows' worth. In (0, 0.5]; default 0.05.
	StarvationShare float64 `yaml:"starvation_share"`
	// Order is the order of a level's queue: fifo (default) or deadline
	// (nearest deadline first).
	Order string `yaml:"order"`
	// Instances is the number of model instances, each served by one worker
	// goroutine, on the CPU. Default 1. InstanceGroups replaces it.
	Instances int `yaml:"instances"`
	// InstanceGroups place the instances, as Triton's instance_group:
	// [{kind: gpu, devices: [0, 1], count: 2}, {kind: cpu, count: 2}].
	// Default none: Instances CPU instances.
	InstanceGroups []InstanceGroup `yaml:"instance_groups"`
	// GPUPolicy says what a GPU instance that cannot be placed does:
	// prefer_gpu (default) runs it on the CPU, with a warning; require_gpu
	// fails the load.
	GPUPolicy string `yaml:"gpu_policy"`
}

// ApplyDefaults sets the fields left at their zero value to their defaults.
// Negative values are left for Validate to report.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.MaxBatchSize, DefaultMaxBatchSize)
	defaults.Set(&c.MaxQueueDelay, DefaultMaxQueueDelay)
	defaults.Set(&c.MaxQueueSize, DefaultMaxQueueSize)
	defaults.Set(&c.Instances, DefaultInstances)
	defaults.Set(&c.PriorityLevels, DefaultPriorityLevels)
	defaults.Set(&c.DefaultPriorityLevel, c.PriorityLevels)
	defaults.Set(&c.StarvationShare, DefaultStarvationShare)
	defaults.Set(&c.Order, OrderFIFO)
	defaults.Set(&c.GPUPolicy, PreferGPU)
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		defaults.Set(&g.Kind, KindCPU)
		defaults.Set(&g.Count, 1)
	}
}

// Validate reports every invalid field, one error per line, each prefixed
// with its path from the batching block, e.g.
//
//	batching.preferred_batch_sizes[1]: 128 is above max_batch_size 64
//
// Call ApplyDefaults first: Validate treats zero values as set by the user.
func (c *Config) Validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf(configPath+"."+field+": "+format, args...))
	}
	if c.MaxBatchSize < 1 {
		fail("max_batch_size", "must be at least 1, got %d", c.MaxBatchSize)
	}
	if c.MaxQueueDelay < 0 {
		fail("max_queue_delay", "must not be negative, got %s", c.MaxQueueDelay)
	}
	switch {
	case c.TargetLatency < 0:
		fail("target_latency", "must not be negative, got %s", c.TargetLatency)
	case c.TargetLatency > 0 && (c.MaxQueueDelay > 0 || len(c.PreferredBatchSizes) > 0):
		fail("target_latency", "adaptive batching (target_latency %s) replaces max_queue_delay and preferred_batch_sizes: set one or the other", c.TargetLatency)
	}
	for i, size := range c.PreferredBatchSizes {
		field := fmt.Sprintf("preferred_batch_sizes[%d]", i)
		switch {
		case size < 1:
			fail(field, "must be at least 1, got %d", size)
		case c.MaxBatchSize >= 1 && size > c.MaxBatchSize:
			fail(field, "%d is above max_batch_size %d", size, c.MaxBatchSize)
		default:
			for j, prev := range c.PreferredBatchSizes[:i] {
				if prev == size {
					fail(field, "%d repeats preferred_batch_sizes[%d]", size, j)
					break
				}
			}
		}
	}
	if c.MaxQueueSize < 1 {
		fail("max_queue_size", "must be at least 1, got %d", c.MaxQueueSize)
	}
	if c.Instances < 1 {
		fail("instances", "must be at least 1, got %d", c.Instances)
	}
	if len(c.InstanceGroups) > 0 && c.Instances != DefaultInstances {
		fail("instances", "set instances or instance_groups, not both (a cpu group of count %d says the same)", c.Instances)
	}
	c.validatePriorities(fail)
	c.validateGroups(fail)
	return errors.Join(errs...)
}

// validatePriorities reports the priority and order fields' problems.
func (c *Config) validatePriorities(fail func(field, format string, args ...any)) {
	if c.PriorityLevels < 1 || c.PriorityLevels > maxPriorityLevels {
		fail("priority_levels", "must be from 1 to %d, got %d", maxPriorityLevels, c.PriorityLevels)
	} else if c.DefaultPriorityLevel < 1 || c.DefaultPriorityLevel > c.PriorityLevels {
		fail("default_priority_level", "must be a level from 1 to priority_levels %d, got %d", c.PriorityLevels, c.DefaultPriorityLevel)
	}
	if n := len(c.PriorityQueueSizes); n > 0 && n != c.PriorityLevels {
		fail("priority_queue_sizes", "has %d entries for priority_levels %d: give one size per level", n, c.PriorityLevels)
	}
	for i, size := range c.PriorityQueueSizes {
		if size < 1 {
			fail(fmt.Sprintf("priority_queue_sizes[%d]", i), "must be at least 1, got %d", size)
		}
	}
	if c.StarvationShare <= 0 || c.StarvationShare > 0.5 {
		fail("starvation_share", "must be above 0 and at most 0.5, got %g", c.StarvationShare)
	}
	if c.Order != OrderFIFO && c.Order != OrderDeadline {
		fail("order", "%q is not fifo or deadline", c.Order)
	}
}

// maxPriorityLevels bounds priority_levels: a request's level is a byte.
const maxPriorityLevels = 255

// queueSizes is the bound of each level's queue.
func (c *Config) queueSizes() []int {
	if len(c.PriorityQueueSizes) > 0 {
		return c.PriorityQueueSizes
	}
	sizes := make([]int, c.PriorityLevels)
	for i := range sizes {
		sizes[i] = c.MaxQueueSize
	}
	return sizes
}
