package oip

import (
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/internal/tensor"
)

// Triton's model configuration extension: GET /v2/models/NAME/config
// answers the model's configuration as Triton's JSON, which tritonclient's
// get_model_config returns and perf_analyzer reads before it sends load.
// Field names and enum strings are Triton's (model_config.proto); the
// fields infergate has no counterpart for are left out, except those
// perf_analyzer and Triton's clients read.

// ModelConfig is a route's model configuration, marshalled with
// encoding/json.
type ModelConfig struct {
	Name          string           `json:"name"`
	Platform      string           `json:"platform"`
	Backend       string           `json:"backend"`
	VersionPolicy map[string]any   `json:"version_policy"`
	MaxBatchSize  int              `json:"max_batch_size"`
	Input         []ConfigTensor   `json:"input"`
	Output        []ConfigTensor   `json:"output"`
	Dynamic       *DynamicBatching `json:"dynamic_batching,omitempty"`
	InstanceGroup []InstanceGroup  `json:"instance_group"`
	ModelFile     string           `json:"default_model_filename"`
	Parameters    map[string]Param `json:"parameters"`
}

// ConfigTensor is one input or output of a ModelConfig. Dims leave out
// the batch dimension when max_batch_size > 0; -1 is dynamic.
type ConfigTensor struct {
	Name     string   `json:"name"`
	DataType string   `json:"data_type"`
	Format   string   `json:"format,omitempty"`
	Dims     []int64  `json:"dims"`
	Reshape  *Reshape `json:"reshape,omitempty"`
	// IsShapeTensor is always false; Triton's clients read it.
	IsShapeTensor bool `json:"is_shape_tensor"`
	// Optional: a feature input the route can do without (imputed); a
	// required feature's is not.
	Optional bool `json:"optional"`
}

// Reshape is the shape the model sees for a tensor whose dims differ.
type Reshape struct {
	Shape []int64 `json:"shape"`
}

// DynamicBatching is the batcher's configuration in Triton's terms.
type DynamicBatching struct {
	PreferredBatchSize        []int        `json:"preferred_batch_size"`
	MaxQueueDelayMicroseconds int64        `json:"max_queue_delay_microseconds"`
	PreserveOrdering          bool         `json:"preserve_ordering"`
	PriorityLevels            int          `json:"priority_levels"`
	DefaultPriorityLevel      int          `json:"default_priority_level"`
	DefaultQueuePolicy        *QueuePolicy `json:"default_queue_policy,omitempty"`
}

// QueuePolicy bounds a queue, as Triton's ModelQueuePolicy.
type QueuePolicy struct {
	MaxQueueSize int `json:"max_queue_size"`
}

// InstanceGroup is one group of instances of a kind.
type InstanceGroup struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	GPUs  []int  `json:"gpus"`
}

// Param is a configuration parameter, as Triton's ModelParameter.
type Param struct {
	StringValue string `json:"string_value"`
}

// Batching is what a ModelConfig says of the route's batcher, as it runs.
type Batching struct {
	// MaxBatchSize is the most rows of a batch; 0 for a model that does
	// not batch (every request is its own run).
	MaxBatchSize         int
	MaxQueueDelay        time.Duration
	TargetLatency        time.Duration // adaptive batching; 0 in fixed mode
	Preferred            []int
	PriorityLevels       int // 0 or 1: one level
	DefaultPriorityLevel int
	MaxQueueSize         int
	// Placement is where each instance runs: "cpu", "gpu 0".
	Placement []string
}

// configType is Triton's TYPE_ name of a tensor type.
func configType(dt tensor.DType) string {
	if dt == tensor.String {
		return "TYPE_STRING"
	}
	return "TYPE_" + dt.V2()
}

// Config returns the model configuration of a route name whose model takes
// tensors, batched as b says.
func (s *TensorSchema) Config(name string, b Batching) ModelConfig {
	c := newConfig(name, b, s.batched)
	dims := func(shape []int64) []int64 {
		if c.MaxBatchSize > 0 && len(shape) > 0 {
			shape = shape[1:] // the batch dimension
		}
		return append([]int64{}, shape...)
	}
	for _, in := range s.inputs {
		c.Input = append(c.Input, ConfigTensor{Name: in.name, DataType: configType(in.dtype), Format: "FORMAT_NONE", Dims: dims(in.shape)})
	}
	for _, o := range s.outputs {
		c.Output = append(c.Output, ConfigTensor{Name: o.name, DataType: configType(o.dtype), Dims: dims(o.shape)})
	}
	return c
}

// Config returns the model configuration of a route name whose model takes
// features, batched as b says: each feature an input of one value per row
// (dims [1], which the route takes as [N, 1] or, reshaped, [N]), TYPE_FP32
// for a numeric feature (the other numeric types are taken too) and
// TYPE_STRING for a categorical one; the outputs every model has.
func (s *Schema) Config(name string, b Batching) ModelConfig {
	c := newConfig(name, b, true)
	// One value per row: dims [1] reshaped to none beside the batch
	// dimension, or, without one, the whole [N].
	perRow := func(t ConfigTensor) ConfigTensor {
		if c.MaxBatchSize > 0 {
			t.Dims, t.Reshape = []int64{1}, &Reshape{Shape: []int64{}}
		} else {
			t.Dims = []int64{-1}
		}
		return t
	}
	for i := range s.features {
		dt := "TYPE_FP32"
		if s.features[i].categorical {
			dt = "TYPE_STRING"
		}
		c.Input = append(c.Input, perRow(ConfigTensor{Name: s.features[i].name, DataType: dt, Format: "FORMAT_NONE", Optional: !s.features[i].required}))
	}
	for _, o := range s.outputs {
		t := perRow(ConfigTensor{Name: o.String(), DataType: "TYPE_" + o.Datatype()})
		if o.Datatype() == "BYTES" {
			t.DataType = "TYPE_STRING"
		}
		if o == OutputProbabilities { // [N, classes]
			t.Dims, t.Reshape = []int64{-1}, nil
			if c.MaxBatchSize == 0 {
				t.Dims = []int64{-1, -1}
			}
		}
		c.Output = append(c.Output, t)
	}
	return c
}

func newConfig(name string, b Batching, batched bool) ModelConfig {
	c := ModelConfig{
		Name:          name,
		Platform:      "onnxruntime_onnx",
		Backend:       "onnxruntime",
		VersionPolicy: map[string]any{"latest": map[string]int{"num_versions": 1}},
		Input:         []ConfigTensor{},
		Output:        []ConfigTensor{},
		InstanceGroup: instanceGroups(name, b.Placement),
		ModelFile:     "model.onnx",
		Parameters:    map[string]Param{},
	}
	if !batched || b.MaxBatchSize <= 1 {
		return c // max_batch_size 0: no batch dimension, no dynamic batcher
	}
	c.MaxBatchSize = b.MaxBatchSize
	levels := b.PriorityLevels
	if levels <= 1 {
		levels = 0
	}
	c.Dynamic = &DynamicBatching{
		PreferredBatchSize:        append([]int{}, b.Preferred...),
		MaxQueueDelayMicroseconds: b.MaxQueueDelay.Microseconds(),
		PriorityLevels:            levels,
		DefaultQueuePolicy:        &QueuePolicy{MaxQueueSize: b.MaxQueueSize},
	}
	if levels > 0 {
		c.Dynamic.DefaultPriorityLevel = b.DefaultPriorityLevel
	}
	if b.TargetLatency > 0 {
		// Triton has no adaptive batching: say what runs instead.
		c.Parameters["batching"] = Param{StringValue: "adaptive"}
		c.Parameters["target_latency_microseconds"] = Param{StringValue: strconv.FormatInt(b.TargetLatency.Microseconds(), 10)}
	}
	return c
}

// instanceGroups groups placement ("cpu", "gpu 0", …) as Triton's
// instance_group: one group per device, in order, counting its instances.
func instanceGroups(name string, placement []string) []InstanceGroup {
	groups := []InstanceGroup{}
	for _, p := range placement {
		if n := len(groups); n > 0 && groups[n-1].Name == name+"_"+strings.ReplaceAll(p, " ", "") {
			groups[n-1].Count++
			continue
		}
		g := InstanceGroup{Name: name + "_" + strings.ReplaceAll(p, " ", ""), Kind: "KIND_CPU", Count: 1, GPUs: []int{}}
		if id, ok := strings.CutPrefix(p, "gpu "); ok {
			n, _ := strconv.Atoi(id)
			g.Kind, g.GPUs = "KIND_GPU", []int{n}
		}
		groups = append(groups, g)
	}
	return groups
}
