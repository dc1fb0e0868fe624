// Package remote is the HTTP client behind a route's "remote" target: another
// infergate, or any server of the Open Inference Protocol v2 (Triton, KServe,
// Seldon MLServer). The router calls it with a per-attempt deadline and reads
// the class of its errors to pick a fallback and to feed the remote's circuit
// breaker.
//
// # Protocols
//
// Protocol infergate (the default) sends the request's features as they
// came, to the remote's /v1/predictions, and reads its label and version:
//
//	POST {url}/v1/predictions
//	X-Request-Timeout: 187ms
//	{"model_id":"churn","features":{"tenure_months":24,"contract":"month-to-month"}}
//
//	200 {"model_id":"churn","prediction":"churn","probability":0.83,"model_version":"1.2.0",...}
//
// X-Request-Timeout is the call's remaining time in whole milliseconds, so
// that the remote stops working when the caller stops waiting.
//
// Protocol v2 sends the row the route's encoder made, as one FP32 tensor
// of shape [1, width], and reads the first element of an output tensor
// (Config.Output, else the first output), of any numeric datatype, with its
// data flat or nested:
//
//	POST {url}/v2/models/churn/versions/3/infer
//	{"parameters":{"timeout":187000},"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[0.5,-1.25,1]}]}
//
//	200 {"model_name":"churn","model_version":"3",
//	     "outputs":[{"name":"probability","shape":[1,1],"datatype":"FP32","data":[0.83]}]}
//
// With Config.Inputs features, it sends the features instead, one input
// per feature named after it, as KServe's and MLServer's tabular models
// (and infergate's own v2 routes) take them:
//
//	{"parameters":{"timeout":187000},"inputs":[
//	  {"name":"tenure_months","shape":[1],"datatype":"FP32","data":[24]},
//	  {"name":"contract","shape":[1],"datatype":"BYTES","data":["month-to-month"]}]}
//
// Every v2 request starts with the call's remaining time in microseconds
// as its timeout parameter (Triton's; other servers ignore it), as
// X-Request-Timeout does for an infergate remote. A v2 answer has no
// label: the router labels the probability with its own signature. With
// Config.Output set, the request also asks for that output only
// ("outputs":[{"name":OUTPUT}]).
//
// A tensor route's v2 remote gets the request's tensors (PredictTensors):
// every input by its name, datatype and shape, sent as binary tensor data
// (Triton's extension) with binary_data_output, and its answer's outputs
// are read by name into the route's model's outputs, from binary data or
// JSON, each checked against the model's datatype.
//
// # Errors
//
// Every error wraps one class, for errors.Is, with the status, the remote's
// own reason (its JSON error message, or the start of its body; at most 200
// bytes) and the URL:
//
//   - ErrUnavailable: refused or dropped connections, 429, 5xx other than
//     504. The router tries the next target and counts a failure against the
//     remote's breaker.
//   - ErrTimeout: the deadline passed, or the remote answered 504 or 408. As
//     unavailable for fallback and the breaker: a remote that is too slow is
//     no better than one that is down.
//   - ErrRejected: any other 4xx (and a 3xx: redirects are not followed), or
//     features JSON cannot carry (NaN, ±Inf), in which case nothing is sent.
//     The request is at fault: it says nothing of the remote's health, and
//     the router does not count it against the breaker.
//   - ErrBadResponse: a 2xx that is not the protocol's answer, or whose
//     probability is not finite. The remote or its config is wrong (an
//     output naming the wrong tensor, say); it counts against the breaker.
//
// A connection the remote closed before answering (a keep-alive connection
// it timed out, or one from before it restarted) is tried again on another,
// up to 3 tries within the deadline: a prediction changes nothing at the
// remote. A refused connection is not: the remote is down, and the next
// target should serve now.
//
// # Concurrency model
//
// A Client is safe for concurrent use. It holds one fasthttp.HostClient
// with at most Config.MaxConns connections; a call that finds them all busy
// waits for one until its deadline. Per-call scratch (the body buffer, the
// JSON parser, fasthttp's request and response) is pooled and never outlives
// the call. In steady state a call allocates nothing: an Answer's strings are
// written only when they differ from those it holds, so a caller that reuses
// its Answer pays for them once (alloc_test.go guards it;
// remote_timing_test.go measures it). Errors allocate.
//
// Close closes the idle connections; calls in flight finish, and their
// connections close once idle. The caller stops calling before Close.
package remote
