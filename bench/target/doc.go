// Package target is what the load generator (bench/loadgen) sends requests
// to, and with what bodies.
//
// # Targets
//
// A target implements loadgen.Target: Do(ctx, seq) sends request number seq
// and returns its status.
//
//   - HTTP sends one HTTP request per Do to a URL (the gateway's
//     POST /v1/predictions, typically) over keep-alive connections of a
//     fasthttp.HostClient. Every answer is a status, 404 and 500 included;
//     only a request without an answer (connection refused or reset,
//     timeout) is an error. It never retries: a retried request would be
//     measured as one slow one. MaxConns must be at least the load's
//     concurrency, or requests queue for a connection inside the client.
//   - Runtime runs the model in process through package runtime, with
//     neither HTTP nor batcher: the floor under which no gateway can go. It
//     keeps a pool of sessions at batch size 1 and feeds them precomputed
//     random rows (a model's cost does not depend on its input values).
//   - FixedServer is not a target but the baseline server HTTP targets are
//     compared with: fasthttp answering every request with one fixed body,
//     the cost of HTTP alone (bench/fixedbody runs it as a binary).
//
// The package talks to the gateway only over HTTP: it imports none of the
// gateway's packages, only runtime for the in-process baseline.
//
// # Body sources
//
// A BodySource gives the body of request seq:
//
//   - Fixed: the same body every time.
//   - Dataset: rows of a CSV or JSONL file turned into /v1/predictions
//     bodies, rendered once at start and cycled through.
//   - Template: a body with placeholders ({{seq}}, {{rand_int A B}},
//     {{rand_float A B}}, {{choice a|b|c}}) rendered for each request from
//     a template parsed once; the random values are a function of seq, so a
//     run is reproducible whatever the concurrency.
//   - Signature and SignatureFromJSON: random valid bodies generated from a
//     route's signature, as the gateway's admin API (GET /v1/models) lists
//     it: every required feature, optional ones 80% of the time, numbers
//     near the training mean, categories from the vocabulary.
//
// # Request path
//
// HTTP.Do allocates nothing in steady state, so that the generator measures
// the target and not its own garbage collector: the fasthttp request and
// response are acquired from and released to their pools; a pre-rendered
// body (Fixed, Dataset, Signature) is handed to the request without a copy;
// a source that renders each body (Template) implements BodyAppender and
// renders into a pooled buffer. Runtime.Do copies a precomputed row into the
// session's own input buffer and runs it, allocating nothing either.
// alloc_test.go guards both; target_timing_test.go measures them.
//
// # Concurrency model
//
// Every target and body source is safe for concurrent use: the generator
// calls Do from many goroutines. Body sources are immutable once built. An
// HTTP target shares one HostClient, which holds up to MaxConns
// connections, each carrying one request at a time. A Runtime target hands
// each Do an idle session from a channel and takes it back when the run
// ends, so no session is ever run by two goroutines (ONNX Runtime sessions
// are not safe for concurrent runs); callers beyond Sessions wait for one,
// or until their context ends. Close on a Runtime waits for the sessions in
// use, makes the waiting callers return runtime.ErrClosed, then frees every
// session and its hold on the ONNX Runtime environment.
package target
