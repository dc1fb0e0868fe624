// Package router maps public model names (routes) to the targets that serve
// them, and decides, per request, which target answers.
//
// A route has a primary target (a model version resolved from the registry,
// by alias or exact version, served through its own batcher) and may name
// others: more model versions, remote HTTP endpoints (another infergate or an
// Open Inference Protocol v2 server, package router/remote), rules over the
// request's features (package router/rules) and a static answer. On top of
// them a route may have:
//
//   - a canary: a weight (0–100%) of the traffic goes to a candidate target,
//     sticky per user by hashing a header or feature value, so one user sees
//     one model and raising the weight only moves users towards the
//     candidate; with analysis, the weight steps up while the candidate's
//     error rate, p99 latency and (when it is also shadowed) label agreement
//     stay within bounds of the primary's over the same window, and the
//     registry alias moves to it after the last step (recorded in the alias
//     log by "canary"), or it rolls back to 0%; a candidate that serves the
//     primary's own version is idle (no traffic, no analysis);
//   - shadows: a sample of requests is mirrored, after the client's answer,
//     to candidate targets whose answers are compared with the client's
//     (agreement, probability difference, latency, errors) and never returned;
//   - a fallback chain: targets tried in order when the picked one fails,
//     times out or has its circuit breaker open.
//
// A route takes what its primary model takes (tensor.go): features, for a
// tabular model (each model target encodes them with its own signature; a
// tabular model answers as its outputs' kinds say: a binary classifier's
// probability and label, a classifier's probabilities per class, or a
// regression's value, answer.go), or tensors by input name, for any other
// model (Request.Tensors in, Result.Outputs out, through the same chain).
// Load refuses a target that cannot take the route's requests: rules or a
// remote on a tensor route, a model of the other kind, a candidate whose
// inputs differ. A tensor route's static target answers a row of each
// output; its shadows compare one output by its kind (compare.go). A tensor
// model whose signature has pad rules gets its inputs padded up to the
// rule's multiple before its batcher (so nearby lengths batch together) and
// its outputs cropped back after (pad.go, ADR 18).
//
// The gateway only asks a route to Prepare and Serve a request and never
// learns how the target was chosen.
//
// # Request lifecycle
//
//  1. The caller fills a pooled Request (AcquireRequest) with the request's
//     raw features (or, on a tensor route, its tensors), the sticky header's
//     value and the deadline; it calls
//     SkipModels when features only the feature store could give are
//     missing and their policy says fall back: Serve then answers from the
//     first rules, static or remote fallback.
//  2. Prepare picks the target (canary or primary) and, for a tabular model,
//     encodes the features with its signature; the encoded row (a tensor
//     request's tensors) keys the response cache, which the gateway consults
//     before Serve.
//  3. Serve calls the picked target, then (for a canary request) the primary,
//     then the fallbacks. A target whose breaker is open is skipped without
//     a call. Each model or remote target gets an even share of the time left
//     among the waiting targets still ahead (capped by its timeout; a
//     millisecond is kept back for a rules or static tier behind them), and
//     retries, when configured, only while a call as long as the last still
//     fits its share. An input error of the picked model ends the request
//     (the client must fix it); any other failure moves on, counted per
//     target and reason (infergate_fallbacks_total). The caller counts the
//     answer into the answering version's drift monitor and feedback log
//     (Result.Target says which): the router knows nothing of drift.
//  4. Mirror offers the request to the shadow queue; the caller then
//     releases the Request (ReleaseRequest).
//
// # Concurrency model
//
// A Table's configuration is immutable once Load returns: lookups take no
// lock and allocate nothing, so any number of request goroutines share it.
// Replacing the routes means loading a new Table and swapping one pointer at
// the holder (the gateway); the old table is closed after it drains. Run-time
// state lives beside the configuration and is safe for concurrent use: the
// canary weight and the analysis window are atomics written by the request
// path and read by one analysis goroutine per analysed canary (which also
// takes a mutex for its step moves and status); breakers are gobreaker's
// (a mutex per target, internal/breaker); shadow requests are copied into pooled jobs, offered
// to a bounded channel without blocking, and served by the route's shadow
// workers, which alone write the comparison figures (under a mutex). Each
// Model's batcher owns its own goroutines (see package batcher); targets of a
// table that name the same version share one Model, so Load refuses two
// whose batching settings differ (naming both) rather than give one the
// other's batcher.
//
// # Metrics
//
// Each Table registers its own metrics.Set, unregistered by Close:
//
//	infergate_target_calls_total{route,target,result}      calls by outcome (ok, timeout, breaker_open…)
//	infergate_target_duration_seconds{route,target}        successful calls, retries included
//	infergate_breaker_state{route,target}                  0 closed, 1 half-open, 2 open
//	infergate_route_served_total{route,target}             which tier answered
//	infergate_fallbacks_total{route,target,reason}         the chain moved past target
//	infergate_canary_weight_percent{route}                 the candidate's share now
//	infergate_canary_promotions_total{route}, infergate_canary_rollbacks_total{route}
//	infergate_shadow_calls_total{route,target,result}      shadow calls by outcome
//	infergate_shadow_mirrored_total{route}                 requests handed to the shadow workers
//	infergate_shadow_dropped_total{route}                  sampled requests dropped (queue full)
//	infergate_shadow_skipped_total{route}                  sampled requests not mirrored: every shadow breaker open
//	infergate_shadow_agreement_ratio{route,target}         label agreement since start
//	infergate_shadow_probability_diff{route,target}        |shadow - primary| histogram
//	infergate_shadow_duration_seconds{route,target}        shadow call latency histogram
package router
