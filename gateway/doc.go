// Package gateway is infergate's HTTP edge: the public prediction API and the
// admin API, on fasthttp (docs/adr/0001-fasthttp.md).
//
// Public listener (server.listen):
//
//	POST /v1/predictions  {"model_id": ROUTE, "features": {NAME: VALUE, ...}}
//	GET  /healthz         live
//	GET  /readyz          ready: every configured model loaded and warmed
//
// Admin listener (server.admin_listen): GET /metrics (Prometheus text),
// GET /v1/models (what is served, versions, aliases), /healthz, /readyz.
//
// Errors are JSON, {"error": {"code", "message", "field"}}, with the status
// attached here and only here: 400 for malformed input (naming the field),
// 404 unknown model, 413 body too large, 429 full queue (with Retry-After),
// 500 model failure, 503 shutting down, 504 deadline exceeded.
//
// # Request lifecycle
//
// A request takes its id (X-Request-Id echoed, else generated), parses its
// body with a pooled fastjson parser, looks its route up in the current
// routing snapshot (one atomic load), encodes its features into a pooled row
// with the model's signature encoder, looks the encoded row up in the route's
// response cache when it has one (cache.go: the full key is compared, so a
// hash collision is a miss), and otherwise waits in the model's batcher until
// its deadline: the configured timeout, or X-Request-Timeout capped at
// server.max_timeout. The response is written into fasthttp's reused buffer.
// In steady state nothing on this path allocates (alloc_test.go guards it;
// gateway_timing_test.go measures it).
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
