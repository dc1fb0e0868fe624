// Package bench is infergate's load-benchmark harness, `infergate bench`: it
// runs a scenario (configs/bench/*.yaml) that starts servers on loopback,
// loads several targets side by side with the same steps, and reports
// latency distributions, throughput and the ratios between targets.
//
// The parts live in subpackages: loadgen generates open-loop (arrival rate,
// latency from each request's intended send time, so coordinated omission
// cannot hide a stalled server's queue) and closed-loop load and measures it
// in HDR histograms; target holds what load is sent to (HTTP endpoints, the
// in-process runtime baseline, a bare fixed-body fasthttp server) and the
// request bodies (dataset rows, templates, random rows from a model's
// signature); report renders the terminal table, JSON and a self-contained
// HTML report with plots.
//
// # Side by side
//
// Each step (a closed-loop concurrency or an open-loop rate) runs on every
// target before the next step begins, so noise on a shared machine falls on
// all targets alike and their ratios stay meaningful. Servers the scenario
// starts run for the whole scenario; an idle server costs next to nothing.
//
// # Thresholds
//
// A step may carry pass marks (Thresholds: p99 below a bound, an error
// ratio at most one, a throughput ratio against another target at least
// one), checked once the run ends on every load of the step
// (CheckThresholds); infergate bench prints each check and exits 1 when
// one is broken, as k6 does.
//
// The harness talks to infergate only over HTTP, as a user's load test
// would; only the in-process baseline uses package runtime directly.
package bench
