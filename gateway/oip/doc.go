// Package oip is the codec of the Open Inference Protocol v2 (the KServe /
// Triton "v2" REST protocol) for infergate: it decodes inference requests
// into rows of features, and writes inference responses, errors and
// metadata. It knows nothing of HTTP or routing: the gateway wires the
// endpoints, looks the route up and serves the rows.
//
// # Mapping to infergate routes
//
// A v2 model is an infergate route (GET /v2/models/{route}), and its
// versions are the route's model versions. The route takes features, not an
// encoded tensor, so a v2 request sends one input tensor per feature, named
// after it, as MLServer's pandas codec does for tabular models:
//
//	{"id": "42", "parameters": {"timeout": 250000},
//	 "inputs": [
//	   {"name": "tenure_months", "datatype": "FP32", "shape": [2], "data": [24, 3]},
//	   {"name": "contract", "datatype": "BYTES", "shape": [2, 1], "data": [["one-year"], ["monthly"]]}],
//	 "outputs": [{"name": "probability"}, {"name": "label"}]}
//
// Every input has shape [N] or [N,1], where N, the same for every input, is
// the batch: the request holds N rows, which the route serves as N
// predictions. Data are flat in row-major order or nested exactly as the
// shape, and hold as many elements as the shape says. A numeric feature's
// datatype is FP32, FP64, INT8/16/32/64, UINT8/16/32/64 (integral values in
// the type's range) or BOOL (true is 1, false 0); numbers must be finite. A
// categorical feature's datatype is BYTES, with JSON strings as data.
// Inputs the route's signature does not list are ignored (their shape still
// counts towards the batch and the limits), as /v1 ignores extra features; a
// feature the request lacks is left to the router, which imputes it or
// reports a missing required feature. Giving a feature twice is an error.
// Limits bound N (server.max_instances) and the tensor elements of the
// whole request (server.max_elements).
//
// Every model has four outputs, each of shape [N]: "probability" (FP32, of
// the positive class), "label" (BYTES, the prediction), "model_version"
// (BYTES, the version that answered the row: a canary or a fallback may
// answer some rows of a batch, so the response's top-level model_version is
// present only when every row has the same) and "target" (BYTES, the route's
// target that answered). A request that lists "outputs" gets those, in its
// order; an unknown output is an error, an output's parameters are ignored.
//
// Request parameters: "priority" (an integer >= 0) and "timeout" (an integer
// number of microseconds, as Triton's; 0 means none given) are returned to
// the caller (Request.Priority, Request.TimeoutMicros); other parameters are
// ignored. The request's "id" is echoed in the response.
//
// A route whose model takes tensors (not features) is its model, as Triton
// serves it (tensors.go, tensorresp.go): TensorSchema lists the model's
// inputs and outputs with their datatypes and dims (-1 for dynamic), and
// DecodeTensors takes each input by its graph name, checks its datatype
// (exactly the model's), rank and every fixed dimension (all but the first
// for a model that batches, whose first is the rows of every input), and
// converts its data into the model's element type; an unknown, missing or
// repeated input, or one that does not fit, is a 400 naming it (and the
// dimension). AppendTensorResponse answers the outputs asked for, or all,
// as tensors, or, for an output asked with parameters.classification K,
// Triton's classification strings "score:index:label". A tabular
// multi-class model answers "probabilities" ([N, classes]) too, and a
// regression "value" (FP64) instead of probability and label.
//
// # Binary tensor data (binary.go)
//
// Triton's binary tensor data extension, on both kinds of route: SplitBody
// cuts a body at its Inference-Header-Content-Length into the JSON and the
// tail of raw bytes after it, which Decode and DecodeTensors take beside
// the JSON. An input whose parameters hold binary_data_size N (and which
// has no data) owns the next N bytes of the tail, in the order the inputs
// come: elements little-endian, row-major, BOOL one byte (0 or 1), BYTES
// each a 4-byte little-endian length and its bytes. N must be exactly what
// the shape needs, and the inputs must claim the whole tail; anything else
// is a 400 naming the input and both sizes. A tensor route's fixed-size
// input is not copied: its Data is a slice of the tail (the batcher copies
// it into the batch); binary floats may hold NaN and infinities, which JSON
// cannot, but a feature's may not. An output with parameters.binary_data
// true, or every output when the request's binary_data_output is true
// (unless the output says binary_data false), is answered with
// binary_data_size in place of data and its bytes after the JSON; the
// Append functions then return the JSON's length for the answer's
// Inference-Header-Content-Length.
//
// # Model configuration and statistics (config.go, stats.go)
//
// Triton's model configuration extension (ModelConfig, from a schema and
// the batcher's settings as it runs) and statistics extension
// (Statistics), as Triton's JSON: the field names and enum strings of its
// model_config.proto, which tritonclient and perf_analyzer read.
//
// Not supported: shared memory (an input naming shared_memory_region is a
// 400), raw tensor input to a feature route (the model's encoded
// [batch, width] tensor: clients send features, and the route encodes them
// with the model's signature), FP16 and BF16 feature inputs, and the
// protocol's extensions other than binary_tensor_data, classification,
// model_configuration and statistics, which the server metadata lists.
//
// # Errors
//
// Decode returns *Error: Status is the HTTP status the specification and
// Triton use, 400 for every malformed or unacceptable request, and Msg says
// which field or input is at fault and what to do, such as
//
//	input "tenure_months": shape [2,3] holds 6 elements but data has 5
//
// The gateway answers it with AppendError's {"error": Msg}, the protocol's
// error object, and chooses the statuses of the errors it finds itself (an
// unknown model, a missing feature, a full queue…).
//
// # Request lifecycle and pooling
//
// A handler takes a Request with AcquireRequest, decodes the body into it
// and into its own pooled []features.Set (Decode resizes it to N rows and
// reuses the Sets), serves the rows, writes the answer with AppendResponse
// into a reused buffer, and gives the Request back with ReleaseRequest. The
// Request holds a fastjson parser: ID and the rows' values refer to its
// memory, so they are valid until the Request is decoded again or released
// and must not be retained after that; work that outlives the request copies
// a row (features.Set.CopyFrom). The rows' feature names belong to the
// Schema. In steady state, Decode and AppendResponse allocate nothing
// (alloc_test.go guards it); error paths allocate their message.
//
// # Concurrency model
//
// A Schema is immutable and shared by every request of a route: build it
// once per routing snapshot. A Request, and the rows decoded with it, belong
// to one request's goroutine.
package oip
