// Package report shows a benchmark run: the steps a load generator ran
// against each target (bench/loadgen), the ratios between targets that a
// person compares, and the machine they ran on.
//
// A Report is data. Four writers present it:
//
//   - WriteTable: an aligned text table, for a terminal or a results file.
//   - WriteJSON: everything, percentile curves included, for other
//     programs. Units are in the field names (see "JSON units" below).
//   - WriteHTML: one self-contained HTML file (no scripts, no external
//     styles or fonts) with inline SVG plots: per load label, latency by
//     percentile on a "nines" scale (the HdrHistogram plot); throughput
//     against p50 and p99 latency; then the tables.
//   - Progress: a live line while a step runs, rewritten in place on a
//     terminal and printed every few seconds elsewhere (CI logs).
//
// # Trust
//
// A step whose generator fell behind its schedule (loadgen.Result.FellBehind)
// or whose windows did not agree (!Stable) measures the generator or the
// noise as much as the target. Every writer marks such a step with "!" and
// says why, and a Ratio that uses one is not Trusted.
//
// # Ratios
//
// A Comparison names two targets, A and B. For every load label both ran,
// Ratios gives A's throughput divided by B's and A's latency minus B's at
// p50 and p99: the gateway's overhead over a baseline, in µs. When a target
// ran a label more than once (rounds), the k-th run of A is paired with the
// k-th run of B.
//
// # JSON units
//
// Durations are integer microseconds in fields whose names end in _us
// (latencies have microsecond resolution); rates are float64 requests per
// second in fields ending in _rps; times are RFC 3339 strings; a
// throughput ratio is a plain float64 (A ÷ B). The document carries a
// "format" number, 1, which changes only when a field changes meaning.
//
// # Escaping
//
// Target names, labels and notes come from user files. The HTML writer
// escapes every one of them in text and attributes, in the page and in the
// SVG.
//
// # Concurrency model
//
// A Report is not safe for concurrent mutation; the writers only read it.
// A Progress may be updated from any goroutine: its methods are serialised
// by a mutex.
package report
