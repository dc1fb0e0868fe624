// Package drift watches whether a served model version's live traffic still
// looks like the data it was trained on.
//
// At training time, BuildProfile computes a reference Profile of the training
// rows: per feature, quantile bins and their proportions (numeric) or
// category frequencies (categorical), and the same for the model's score on
// those rows. The trainer stores it beside the version's metadata. At serving
// time a Monitor per model version counts a sample of the answered requests
// into the profile's bins, over a sliding window, and Report compares the
// window with the reference: per feature and for the score, PSI, plus a KS
// test (numeric) or a chi-square test (categorical), and a verdict. The
// gateway serves the report on its admin API and exports the figures as
// metrics; a Watcher evaluates it periodically and acts (log, webhook, or a
// retrain command) when the version starts drifting. Every request is also
// checked against the profile's schema: missing features, numeric values
// outside the reference's range, unknown categories and values of the wrong
// type are counted per feature.
//
// # Statistics
//
// PSI (population stability index) is Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) over the bins,
// with e the reference and a the live proportions; a proportion below 1e-4
// counts as 1e-4, so an empty bin adds a large finite term. Numeric bins are
// the reference's deciles (10 bins by default), taken as values of the
// reference (the inverse of its distribution function), right-closed;
// repeated quantiles (ties) are merged and an edge at the maximum dropped, so
// edges are strictly increasing and no reference bin is empty (a binary
// feature has two bins, a constant one). Categorical bins are the
// reference's categories plus an "other" bucket for values outside them. Missing values are left out of
// the bins and reported as shares beside them.
//
// KS (numeric features and the score) is the two-sample Kolmogorov–Smirnov
// statistic D = sup |F_ref − F_live|. The live side is not kept as values
// but counted on a grid: the reference's percentiles 0…100 (the profile's
// CDF), so D is evaluated at those ≤101 points, where the reference's CDF
// is known exactly. That is a lower bound of the exact statistic, off by at
// most one grid interval's mass (1% of the reference, or the live mass in
// one interval): the test errs towards "no drift". The p-value is
// asymptotic, Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D) with nₑ = n·m/(n+m), n the
// reference's and m the window's count (Stephens' correction, as in
// Numerical Recipes and scipy's asymptotic ks_2samp).
//
// Chi-square (categorical features) is Pearson's test of homogeneity on the
// 2×k table of reference counts (proportion × count) and window counts,
// categories empty on both sides left out, df = k−1; the p-value is the
// regularized upper incomplete gamma function Q(df/2, χ²/2), computed by its
// series or continued fraction (GammaP, GammaQ). It is a two-sample test, as
// the KS test is, so the reference's own sampling noise is accounted for;
// for a large reference it equals Evidently's goodness-of-fit test. Like any
// Pearson test it is approximate where expected counts are small: a few
// live values of a category the reference never saw give a small p-value,
// which is why a verdict also needs PSI (and such values are counted as
// unknown categories).
//
// The thresholds are Evidently's defaults: PSI 0.1 (warn) and 0.25 (drift),
// KS p < 0.05, chi-square p < 0.05. A verdict needs both signals: the test
// says the shift is not sampling noise, PSI says it is large enough to
// matter. A feature is
//
//   - insufficient_data below MinSamples live values in the window (100);
//   - none when the test's p-value is at least alpha, or PSI < 0.1;
//   - warn when p < alpha and 0.1 ≤ PSI < 0.25;
//   - drift when p < alpha and PSI ≥ 0.25.
//
// PSI alone is noisy on a small window (its expected value with no shift is
// about (bins−1)·(1/n + 1/m), 0.09 at 100 samples), and a test alone is
// significant at gateway volumes for shifts far too small to act on. The
// overall verdict is the most severe of the features' and the score's.
//
// # Sampling and window
//
// Observe samples SampleRate of the requests (default 10%) with the
// runtime's per-thread random generator (math/rand/v2), which neither locks
// nor shares a cache line. A sampled request's features and score are
// counted into the current slice of a ring: the window (default 1h) is cut
// into Buckets slices (default 12, so 5 minutes each), and a slice's number
// is the clock divided by the slice's duration. Report sums the slices of
// the last Buckets numbers, the current one included, so a report covers
// between 55 and 60 minutes by default; older slices age out without being
// touched. The ring has one slice more than the window, which Report clears
// ahead of time so that the request path seldom has to. Schema problems are
// counted on every request, not only sampled ones: they are rare events
// that a sample would hide, and the common path (no problem) writes no
// shared memory.
//
// # Concurrency model
//
// A Monitor's profile and lookup tables are immutable after NewMonitor.
// Its counters are atomics: Observe is map lookups and atomic adds, so any
// number of request goroutines call it at once, take no lock and allocate
// nothing. A slice moves to a new interval without a lock: each slice holds
// its interval number (the epoch) in an atomic; the first goroutine to see
// an older epoch wins a CAS that marks the slice busy, clears its counters
// and publishes the new epoch. Goroutines that find it busy yield until the
// clear is done (microseconds, once per slice interval, and usually done by
// Report ahead of time); those that find a newer epoch than their clock's (a
// stale timestamp) drop their sample, so a few samples at a slice boundary
// may be lost or counted in the next slice: the statistics do not notice. Report and WriteMetrics only read
// the counters (Report also clears the next slice, by the same CAS); a
// slice cleared while a report read it is left out of that report. A
// Watcher runs in its own goroutine and never touches the request path.
//
// # Request lifecycle
//
//  1. The gateway answers the request.
//  2. It calls Observe (or ObserveAt with a time it has read already) with
//     the request's raw features and the score it answered; the Set is
//     only read, and not retained.
//  3. Observe checks each profile feature's value (missing, out of range,
//     unknown category, wrong type) and, for a sampled request, adds one to
//     the bin of each value and of the score in the current slice.
//
// # Tensor inputs
//
// A model that takes tensors (an image, an audio frame) has no features to
// bin. Its profile holds Inputs instead: per numeric input, the mean,
// standard deviation, min, max and NaN share of the elements of sample
// requests given at import (BuildInputProfile). ObserveInputs sums a
// sampled request's elements, as differences from the reference mean so
// that the sum of squares does not cancel, into the same sliding window, a
// short lock per input; Report gives each input's live statistics, its mean
// shift and change of spread in reference standard deviations and its
// change of NaN share, and a verdict: warn from ShiftWarn (0.25) or
// NaNShareWarn (0.01), drift from ShiftAlert (0.5) or NaNShareAlert (0.05),
// once MinSamples requests are in the window. There is no significance
// test: the elements of one request are not independent draws.
//
// # Profile file format
//
// drift-profile.json (ProfileFile), written by Profile.Encode and read by
// DecodeProfile, which rejects unknown fields and validates:
//
//	{
//	  "format": 1,                       // ProfileFormat
//	  "rows": 20000,                     // reference rows
//	  "features": [                      // ascending name
//	    {"name": "age", "type": "numeric", "count": 19950, "missing": 0.0025,
//	     "edges": [23, 29, …],           // interior quantile edges, right-closed bins
//	     "proportions": [0.1, …],        // per bin, len(edges)+1, sum 1
//	     "min": 18, "max": 90,           // reference range (absent when 0)
//	     "cdf": {"values": [18, 19, …],  // percentiles 0…100, ties merged
//	             "shares": [0.004, …]}}, // share of values ≤ each one; last 1
//	    {"name": "plan", "type": "categorical", "count": 20000, "missing": 0,
//	     "categories": ["basic", "pro"], // by descending frequency (at most 1000)
//	     "proportions": [0.7, 0.3, 0]}   // per category, then "other"
//	  ],
//	  "score": {"name": "score", "type": "numeric", …}
//	}
//
// or, for a model that takes tensors,
//
//	{"format": 1, "rows": 6,               // sample requests
//	 "inputs": [{"name": "x", "datatype": "float32", "requests": 6,
//	             "elements": 165888, "mean": -0.02, "std": 0.58,
//	             "min": -1.1, "max": 1.1, "nan_share": 0}]}
//
// # Actions
//
// A Watcher (one goroutine per monitored version, Run) evaluates the report
// every Interval (1m) and acts when the overall verdict becomes drift: once
// per drift episode (consecutive checks at drift), at most once per Cooldown
// (1h; an episode that starts sooner is acted on when the cooldown ends, if
// it is still on). Actions: log (slog WARN), webhook (POST of the Event —
// route, version, report — as JSON, with a timeout) or command (run without
// a shell, the Event on its standard input, its output logged, killed at
// the timeout). A failed action is logged and counted and, like a
// successful one, starts the cooldown. Check is the run-once method, with
// the time passed in, for tests and manual triggers.
//
// # Metrics
//
// Monitor.WriteMetrics (registered with RegisterMetrics) computes a report
// at each scrape and writes infergate_drift_psi, infergate_drift_ks_pvalue,
// infergate_drift_chi2_pvalue, the verdicts and the schema counters
// infergate_schema_*_total, labelled route, version and feature; see
// WriteMetrics for the list. Watcher.RegisterMetrics adds
// infergate_drift_actions_total.
package drift
