package oip_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway/oip"
)

// TestModelConfig: the model configuration as Triton's JSON, field for
// field as tritonclient's get_model_config and perf_analyzer read it: dims
// without the batch dimension, TYPE_ names, the batcher as
// dynamic_batching, instances grouped by device.
func TestModelConfig(t *testing.T) {
	t.Parallel()
	marshal := func(c oip.ModelConfig) string {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	fixed := oip.Batching{MaxBatchSize: 8, MaxQueueDelay: 500 * time.Microsecond, Preferred: []int{4, 8}, PriorityLevels: 2, DefaultPriorityLevel: 2, MaxQueueSize: 100, Placement: []string{"gpu 0", "gpu 0", "gpu 1", "cpu"}}
	for _, tc := range []struct {
		name string
		got  oip.ModelConfig
		want string
	}{
		{"tensors, fixed batching on GPUs and the CPU", kindsSchema.Config("kinds", fixed), `{"name":"kinds","platform":"onnxruntime_onnx","backend":"onnxruntime","version_policy":{"latest":{"num_versions":1}},"max_batch_size":8,` +
			`"input":[{"name":"x","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[2],"is_shape_tensor":false,"optional":false},` +
			`{"name":"ids","data_type":"TYPE_INT64","format":"FORMAT_NONE","dims":[],"is_shape_tensor":false,"optional":false},` +
			`{"name":"mask","data_type":"TYPE_BOOL","format":"FORMAT_NONE","dims":[2],"is_shape_tensor":false,"optional":false},` +
			`{"name":"words","data_type":"TYPE_STRING","format":"FORMAT_NONE","dims":[],"is_shape_tensor":false,"optional":false}],` +
			`"output":[{"name":"scores","data_type":"TYPE_FP32","dims":[3],"is_shape_tensor":false,"optional":false},{"name":"ids","data_type":"TYPE_INT64","dims":[],"is_shape_tensor":false,"optional":false},` +
			`{"name":"flags","data_type":"TYPE_BOOL","dims":[],"is_shape_tensor":false,"optional":false},{"name":"names","data_type":"TYPE_STRING","dims":[],"is_shape_tensor":false,"optional":false}],` +
			`"dynamic_batching":{"preferred_batch_size":[4,8],"max_queue_delay_microseconds":500,"preserve_ordering":false,"priority_levels":2,"default_priority_level":2,"default_queue_policy":{"max_queue_size":100}},` +
			`"instance_group":[{"name":"kinds_gpu0","kind":"KIND_GPU","count":2,"gpus":[0]},{"name":"kinds_gpu1","kind":"KIND_GPU","count":1,"gpus":[1]},{"name":"kinds_cpu","kind":"KIND_CPU","count":1,"gpus":[]}],` +
			`"default_model_filename":"model.onnx","parameters":{}}`},
		{"features, adaptive batching", testSchema.Config("churn", oip.Batching{MaxBatchSize: 64, TargetLatency: 5 * time.Millisecond, MaxQueueSize: 1024, Placement: []string{"cpu", "cpu"}}),
			`{"name":"churn","platform":"onnxruntime_onnx","backend":"onnxruntime","version_policy":{"latest":{"num_versions":1}},"max_batch_size":64,` +
				`"input":[{"name":"tenure_months","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":false},` +
				`{"name":"monthly_charges","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":true},` +
				`{"name":"has_partner","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":true},` +
				`{"name":"contract","data_type":"TYPE_STRING","format":"FORMAT_NONE","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":true}],` +
				`"output":[{"name":"probability","data_type":"TYPE_FP32","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":false},` +
				`{"name":"label","data_type":"TYPE_STRING","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":false},` +
				`{"name":"model_version","data_type":"TYPE_STRING","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":false},` +
				`{"name":"target","data_type":"TYPE_STRING","dims":[1],"reshape":{"shape":[]},"is_shape_tensor":false,"optional":false}],` +
				`"dynamic_batching":{"preferred_batch_size":[],"max_queue_delay_microseconds":0,"preserve_ordering":false,"priority_levels":0,"default_priority_level":0,"default_queue_policy":{"max_queue_size":1024}},` +
				`"instance_group":[{"name":"churn_cpu","kind":"KIND_CPU","count":2,"gpus":[]}],"default_model_filename":"model.onnx",` +
				`"parameters":{"batching":{"string_value":"adaptive"},"target_latency_microseconds":{"string_value":"5000"}}}`},
		{"a model that does not batch", kindsSchema.Config("one", oip.Batching{MaxBatchSize: 1, Placement: []string{"cpu"}}), ""},
	} {
		got := marshal(tc.got)
		if tc.want == "" {
			if tc.got.MaxBatchSize != 0 || tc.got.Dynamic != nil || len(tc.got.Input[0].Dims) != 2 {
				t.Errorf("%s: %s: want max_batch_size 0, no dynamic_batching, full dims", tc.name, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestStatisticsJSON: the statistics as Triton's JSON, the field names
// tritonclient's get_inference_statistics and perf_analyzer read.
func TestStatisticsJSON(t *testing.T) {
	t.Parallel()
	d := func(c, ns uint64) oip.StatDuration { return oip.StatDuration{Count: c, Ns: ns} }
	s := oip.Statistics{ModelStats: []oip.ModelStats{{
		Name: "ocr", Version: "1.0.0", LastInference: 1765152000000, InferenceCount: 18, ExecutionCount: 5,
		InferenceStats: oip.InferenceStats{Success: d(9, 900), Fail: d(1, 0), Queue: d(9, 90), ComputeInput: d(9, 9), ComputeInfer: d(9, 700), ComputeOutput: d(9, 19)},
		BatchStats:     []oip.BatchStats{{BatchSize: 2, ComputeInput: d(3, 3), ComputeInfer: d(3, 300), ComputeOutput: d(3, 6)}},
		MemoryUsage:    []struct{}{},
	}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"model_stats":[{"name":"ocr","version":"1.0.0","last_inference":1765152000000,"inference_count":18,"execution_count":5,` +
		`"inference_stats":{"success":{"count":9,"ns":900},"fail":{"count":1,"ns":0},"queue":{"count":9,"ns":90},"compute_input":{"count":9,"ns":9},` +
		`"compute_infer":{"count":9,"ns":700},"compute_output":{"count":9,"ns":19},"cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}},` +
		`"response_stats":{},"batch_stats":[{"batch_size":2,"compute_input":{"count":3,"ns":3},"compute_infer":{"count":3,"ns":300},"compute_output":{"count":3,"ns":6}}],"memory_usage":[]}]}`
	if string(b) != want {
		t.Errorf("\n got %s\nwant %s", b, want)
	}
}
