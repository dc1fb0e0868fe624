package oip

// Triton's statistics extension: GET /v2/models[/NAME[/versions/V]]/stats
// answers, per model version, cumulative counts and durations as Triton's
// JSON, which tritonclient's get_inference_statistics returns and
// perf_analyzer reads for its server-side breakdown (queue, compute input,
// infer and output).

// Statistics is the answer, marshalled with encoding/json.
type Statistics struct {
	ModelStats []ModelStats `json:"model_stats"`
}

// ModelStats are one model version's.
type ModelStats struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// LastInference is in milliseconds since the epoch; 0 before any.
	LastInference  int64          `json:"last_inference"`
	InferenceCount int64          `json:"inference_count"`
	ExecutionCount int64          `json:"execution_count"`
	InferenceStats InferenceStats `json:"inference_stats"`
	ResponseStats  struct{}       `json:"response_stats"`
	BatchStats     []BatchStats   `json:"batch_stats"`
	MemoryUsage    []struct{}     `json:"memory_usage"`
}

// StatDuration is a count and the nanoseconds it took, as Triton's
// StatisticDuration.
type StatDuration struct {
	Count uint64 `json:"count"`
	Ns    uint64 `json:"ns"`
}

// InferenceStats are a version's request counts and durations.
type InferenceStats struct {
	Success       StatDuration `json:"success"`
	Fail          StatDuration `json:"fail"`
	Queue         StatDuration `json:"queue"`
	ComputeInput  StatDuration `json:"compute_input"`
	ComputeInfer  StatDuration `json:"compute_infer"`
	ComputeOutput StatDuration `json:"compute_output"`
	CacheHit      StatDuration `json:"cache_hit"`
	CacheMiss     StatDuration `json:"cache_miss"`
}

// BatchStats are the executions of one batch size.
type BatchStats struct {
	BatchSize     int          `json:"batch_size"`
	ComputeInput  StatDuration `json:"compute_input"`
	ComputeInfer  StatDuration `json:"compute_infer"`
	ComputeOutput StatDuration `json:"compute_output"`
}
