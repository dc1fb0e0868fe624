package batcher_test

import (
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
)

func TestConfigApplyDefaults(t *testing.T) {
	t.Parallel()
	var c batcher.Config
	c.ApplyDefaults()
	want := batcher.Config{
		MaxBatchSize:  batcher.DefaultMaxBatchSize,
		MaxQueueDelay: batcher.DefaultMaxQueueDelay,
		MaxQueueSize:  batcher.DefaultMaxQueueSize,
		Instances:     batcher.DefaultInstances,
	}
	if c.MaxBatchSize != want.MaxBatchSize || c.MaxQueueDelay != want.MaxQueueDelay ||
		c.MaxQueueSize != want.MaxQueueSize || c.Instances != want.Instances || c.PreferredBatchSizes != nil {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults are invalid: %s", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(c batcher.Config, want string) {
		t.Helper()
		c.ApplyDefaults()
		err := c.Validate()
		if want == "" {
			if err != nil {
				t.Errorf("Validate(%+v): %s, want no error", c, err)
			}
			return
		}
		if err == nil {
			t.Errorf("Validate(%+v) = nil, want %q", c, want)
			return
		}
		if err.Error() != want {
			t.Errorf("Validate(%+v):\n got %q\nwant %q", c, err, want)
		}
	}

	// Valid.
	f(batcher.Config{}, "")
	f(batcher.Config{MaxBatchSize: 1}, "")
	f(batcher.Config{MaxBatchSize: 64, PreferredBatchSizes: []int{64, 8, 32}, MaxQueueDelay: 2 * time.Millisecond}, "")

	f(batcher.Config{MaxBatchSize: 64, TargetLatency: 5 * time.Millisecond}, "")
	f(batcher.Config{PriorityLevels: 3, DefaultPriorityLevel: 2, PriorityQueueSizes: []int{64, 32, 8}, StarvationShare: 0.1, Order: batcher.OrderDeadline}, "")

	// One invalid field.
	f(batcher.Config{TargetLatency: -time.Millisecond},
		"batching.target_latency: must not be negative, got -1ms")
	f(batcher.Config{TargetLatency: 5 * time.Millisecond, MaxQueueDelay: time.Millisecond},
		"batching.target_latency: adaptive batching (target_latency 5ms) replaces max_queue_delay and preferred_batch_sizes: set one or the other")
	f(batcher.Config{MaxBatchSize: 8, TargetLatency: 5 * time.Millisecond, PreferredBatchSizes: []int{4}},
		"batching.target_latency: adaptive batching (target_latency 5ms) replaces max_queue_delay and preferred_batch_sizes: set one or the other")
	f(batcher.Config{MaxBatchSize: -1},
		"batching.max_batch_size: must be at least 1, got -1")
	f(batcher.Config{MaxQueueDelay: -time.Millisecond},
		"batching.max_queue_delay: must not be negative, got -1ms")
	f(batcher.Config{MaxBatchSize: 64, PreferredBatchSizes: []int{8, 128}},
		"batching.preferred_batch_sizes[1]: 128 is above max_batch_size 64")
	f(batcher.Config{PreferredBatchSizes: []int{0}},
		"batching.preferred_batch_sizes[0]: must be at least 1, got 0")
	f(batcher.Config{PreferredBatchSizes: []int{4, 8, 4}},
		"batching.preferred_batch_sizes[2]: 4 repeats preferred_batch_sizes[0]")
	f(batcher.Config{MaxQueueSize: -5},
		"batching.max_queue_size: must be at least 1, got -5")
	f(batcher.Config{Instances: -2},
		"batching.instances: must be at least 1, got -2")
	f(batcher.Config{PriorityLevels: 300},
		"batching.priority_levels: must be from 1 to 255, got 300")
	f(batcher.Config{PriorityLevels: 2, DefaultPriorityLevel: 3},
		"batching.default_priority_level: must be a level from 1 to priority_levels 2, got 3")
	f(batcher.Config{PriorityLevels: 2, PriorityQueueSizes: []int{8, 0, 4}},
		"batching.priority_queue_sizes: has 3 entries for priority_levels 2: give one size per level\n"+
			"batching.priority_queue_sizes[1]: must be at least 1, got 0")
	f(batcher.Config{StarvationShare: 0.6},
		"batching.starvation_share: must be above 0 and at most 0.5, got 0.6")
	f(batcher.Config{Order: "lifo"},
		"batching.order: \"lifo\" is not fifo or deadline")

	// Every problem is reported, one a line.
	f(batcher.Config{MaxBatchSize: 16, PreferredBatchSizes: []int{-1, 32}, Instances: -1},
		"batching.preferred_batch_sizes[0]: must be at least 1, got -1\n"+
			"batching.preferred_batch_sizes[1]: 32 is above max_batch_size 16\n"+
			"batching.instances: must be at least 1, got -1")
	// An invalid max_batch_size is not compared with.
	f(batcher.Config{MaxBatchSize: -4, PreferredBatchSizes: []int{8}},
		"batching.max_batch_size: must be at least 1, got -4")
}
