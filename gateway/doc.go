// Package gateway is infergate's HTTP edge: the public prediction API and the
// admin API, on fasthttp (docs/adr/0001-fasthttp.md).
//
// Public listener (server.listen):
//
//	POST /v1/predictions  {"model_id": ROUTE, "features": {NAME: VALUE, ...}}
//	                      or {"model_id": ROUTE, "instances": [{...}, ...]}: rows
//	                      served together, answered in order, errors per row
//	GET  /healthz         live
//	POST /v1/feedback     {"request_id": ID, "label": 0|1}: the ground truth of a
//	                      logged prediction (feedback.go, package drift/feedback);
//	                      row i of a request of several is "ID/i"
//	GET  /readyz          ready: every configured model loaded and warmed
//	/v2/...               the Open Inference Protocol v2 (v2.go, package oip):
//	                      GET /v2, /v2/health/{live,ready},
//	                      /v2/models/NAME[/versions/V][/ready],
//	                      POST /v2/models/NAME[/versions/V]/infer; a route is a
//	                      v2 model whose inputs are its features (a tabular
//	                      model) or its model's own tensors, by graph name
//	                      (v2tensor.go; any other model); errors are
//	                      {"error": "..."}
//
// Every prediction request (and v2 model metadata) needs an API key unless
// auth.mode is off (package auth): Authorization: Bearer KEY or X-API-Key;
// 401 (with WWW-Authenticate) without a valid one, 403 for a route outside
// the key's tenant, 429 with Retry-After over the key's rate limit, 503 when
// server.max_concurrency requests are in progress and none ends within
// server.max_queue_wait. The probes (/healthz, /readyz, /v2/health/*) need
// no key.
//
// A 200 answer is {"model_id", "prediction", "probability", "model_version",
// "latency_ms", "request_id", "route", "target"} ("probabilities" per class
// for a multi-class model; for a regression, "prediction" is a number and
// there is no probability): target names the route's
// target that answered ("primary", a canary candidate, or a fallback such as
// a rules or static target), and model_version is absent when that target
// has no model version (rules, static, a remote that sent none). When a
// fallback answered, "fallback": true and "fallback_reason" says why the
// target picked for the request did not ("failed", "timeout",
// "breaker_open", "queue_full", "unavailable"…); an answer from the response
// cache carries "cached": true. The headers repeat it: X-Infergate-Route,
// X-Infergate-Target, X-Infergate-Model-Version (when there is one),
// X-Infergate-Fallback (the reason, only on a fallback answer) and
// X-Infergate-Cache (hit or miss, on a cached route).
//
// Admin listener (server.admin_listen), JSON unless said otherwise:
//
//	GET  /metrics                      Prometheus text
//	GET  /v1/models                    what is served: versions, aliases, signatures
//	GET  /v1/routes                    every route: primary, targets with their
//	                                   breakers, fallbacks, canary, shadow summary
//	GET  /v1/routes/{name}             one route, as above
//	POST /v1/routes/{name}/canary      {"weight": 20} sets the candidate's share
//	                                   in percent and stops the analysis;
//	                                   {"analysis": "restart"} restarts the
//	                                   analysis from its first step; answers the
//	                                   canary's new status
//	GET  /v1/routes/{name}/shadow      the shadow comparison since start, or over
//	     [?window=5m]                  the last window (per minute, up to 1h)
//	GET  /v1/models/{name}/drift       each served version's drift against its
//	     [?format=text]                training data (monitoring.go)
//	GET  /v1/models/{name}/feedback    live accuracy, AUC, log loss, Brier per version
//	/v1/registry/models/...            the registry's actions (registryapi.go):
//	                                   list, show, import an uploaded model
//	                                   (registryimport.go), alias, gated promote,
//	                                   rollback, tags, delete
//	GET  /v1/devices                   the ONNX Runtime library and the GPUs
//	                                   (what the command reports, SetDeviceReport)
//	GET  /debug/pprof/...              Go's profiles
//	GET  /healthz, GET /readyz         as on the public listener
//
// Everything on the admin listener but the probes wants the admin token
// (Authorization: Bearer TOKEN) unless auth.admin.mode is off; every POST is
// written to the audit log (auth.admin.audit_log) with its answer, as is
// every change asked of the registry API.
//
// Errors are JSON, {"error": {"code", "message", "field"}}, with the status
// attached here and only here: 400 for malformed input (naming the field),
// 404 unknown model, route or endpoint, 405 wrong method (with Allow), 409 a
// canary change on a route without a canary (or without analysis), 413 body
// too large, 429 full queue (with Retry-After), 500 model failure, 503
// shutting down or no target of the route could answer, 504 deadline
// exceeded. Every message says what to do about it.
//
// # Request lifecycle
//
// A request takes its id (X-Request-Id echoed, else generated), its deadline
// and, cheapest refusal first, its API key, the key's rate limit and an
// admission slot; then it refuses bodies nested deeper than
// server.max_json_depth, and its codec decodes the body: /v1 (predict.go,
// instances.go) and v2 feature mode (v2.go) into one router.Request per
// row, v2 tensor mode (v2tensor.go) into one request of all its rows. From
// there every protocol goes through the one pipeline (pipeline.go): an
// exchange of the client request's router.Requests, a single row being an
// exchange of one. The pipeline fills what the requests lack from the
// online store by their entity keys (features.go, package featurefetch; one
// round trip for all of them where the store can), within half the time
// left; a feature the store cannot give gets its policy (a default,
// 400/503, or the route's non-model fallbacks: Request.SkipModels). It pins
// the version a model_id or v2 path named, and the route picks the target
// (its canary candidate for the candidate's share, else the primary) and
// encodes the request for it (Route.Prepare). The request is looked up in
// the route's response cache when it has one (cache.go: keyed by the picked
// model's version and the full encoded row or tensors, so a hash collision
// is a miss); the rest go to Route.ServeAll together, which calls the
// picked target, then for a canary request the primary, then the fallbacks
// in order, each within its share of the deadline: the configured timeout,
// or X-Request-Timeout capped at server.max_timeout. The codec writes the
// answers into fasthttp's reused buffer; then the pipeline settles each
// answered request, cached ones too: the cache takes a model's fresh answer
// (never a fallback's), the feedback store logs it for a later label (a
// lock per set of its table, no allocation), the answering version's drift
// window counts it (drift.go), and Route.Mirror offers the request to the
// route's shadow targets, which never blocks (a full shadow queue drops the
// copy and counts it). In steady state nothing on this path allocates for a
// route of one model (alloc_test.go guards it; gateway_timing_test.go
// measures it). Callers that are not HTTP clients (`infergate score`) use
// the same pipeline through NewOffline, without the stages that watch live
// traffic.
//
// # Concurrency model
//
// fasthttp runs each request on its own goroutine. The routing snapshot is
// immutable, with its per-route caches, and swapped whole through an atomic
// pointer (an old snapshot's caches close at once; requests still on it miss);
// per-request scratch
// comes from sync.Pools and is never retained after the handler returns. A
// panic in a handler is recovered into a 500 and logged with a stack: the
// process never dies on a request.
package gateway
