// Package configs decodes infergate's YAML configuration and composes each
// package's own Config: server (gateway), runtime, registry, routes (router,
// with each route's batching block from batcher, its drift block, and the
// gateway's cache and features blocks), auth (gateway/auth), feedback
// (drift/feedback), features (featurefetch) and log. A YAML panic of the
// decoder (a merge key beside a complex key) is an error with its line,
// never a crash.
//
// Decoding is strict: an unknown key is an error, so a typo never silently
// falls back to a default. Decoding errors name the line and the field path
// (line 6: routes[customer-churn].batching.max_batch: unknown key), all of
// them at once, and a second YAML document in the file is refused. Defaults are the named constants of each package,
// applied after decoding; Validate then reports every problem at once, each
// with its field path (routes[customer-churn].batching.max_batch_size: ...).
// Durations are strings such as "250ms" or "2s".
//
// configs/infergate.yaml is the default that `make run` uses; every key it
// sets is documented there.
package configs
