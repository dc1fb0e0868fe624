// Package feedback joins ground-truth labels to the predictions the gateway
// served, and keeps live figures per served model version by what it
// predicts (Kind): a binary classifier's accuracy, AUC, log loss and Brier
// score; a multi-class classifier's accuracy; a regression's MAE, RMSE and
// bias.
//
// A Store keeps the predictions that wait for their label in a table of
// fixed size, and a Tracker per (route, version) pair counts the labelled
// ones. Labels come late (a customer churns weeks after the prediction, a
// transaction is confirmed fraudulent after a day) and only for some
// requests: the store keeps a prediction for Config.TTL (24h by default) or
// until its slot is needed, and the statistics cover the predictions whose
// label came in time.
//
// # Request lifecycle
//
//  1. When a routing table loads, the gateway asks Store.Tracker for the
//     tracker of each (route, model version) it serves. A version that
//     stays over a reload keeps its tracker and its statistics.
//  2. The gateway answers a prediction request and calls Record with the
//     request's id, the tracker of the version that answered, what it
//     predicted (a binary classifier's probability, a classifier's class
//     index, a regression's value) and the time. Record copies the id; the
//     prediction now waits for its label.
//  3. Later the client posts the label: POST /v1/feedback
//     {"request_id": "…", "label": …}. The gateway calls Label with the
//     label as a Truth, which finds the prediction, checks the label fits
//     its kind, marks it labelled, adds (prediction, label) to its tracker
//     and returns the Outcome (route, version, kind, what was predicted,
//     whether it was right). ErrUnknownRequest (404: never predicted,
//     evicted, or older than the TTL), ErrBadLabel (400, a *LabelError
//     that says what the label may be), ErrAlreadyLabelled (409: a
//     prediction takes one label, a second is not counted) and ErrDisabled
//     are sentinels, checked with errors.Is.
//  4. GET /v1/models/{route}/feedback serves Store.RouteReports(route); the
//     metrics (RegisterMetrics) are computed from the same reports at each
//     scrape.
//
// Request ids come from clients and can repeat: an id recorded again
// replaces its earlier prediction, labelled or not, and a label is taken to
// be for the latest prediction of its id. An id longer than MaxIDLen (128
// bytes) is not recorded, only counted.
//
// # Table
//
// The table is set-associative: an id's hash (hash/maphash, with a seed per
// store) picks one of Capacity/Ways sets, and the prediction is kept in one
// of that set's Ways (8) entries. Each entry holds the id inline (a
// [MaxIDLen]byte array and its length), the tracker's number, the
// prediction (float64, so that the Outcome repeats it exactly), the record
// time and whether the label came, plus 32 bits of the hash compared before
// the id. When the set is full, Record replaces an entry whose label came or
// whose TTL passed, the oldest first, or else the oldest entry; a
// prediction pushed out within its TTL before its label is counted as
// evicted, one whose TTL had passed as expired.
//
// Why this shape: the table is allocated once, in New, and never grows, so
// its memory is bounded and known at start; recording allocates nothing
// and does not rehash; and each set has its own lock, so there is no global
// lock and no single hot cache line. Entries hold no pointers (the tracker
// is a number into the store's list of trackers), so the garbage collector
// never scans the table. What is lost against an exact map with expiry:
// a set takes only Ways predictions, so in a busy TTL a prediction can be
// pushed out early by ids that happen to hash to its set, before its TTL
// and while other sets have room; its label then gets ErrUnknownRequest.
// With the table sized to the predictions of one TTL this is rare, and
// Stats.Evicted (infergate_feedback_evicted_total) says how rare.
//
// # Bounds
//
// An entry takes 160 bytes, and a set's lock 8 bytes more for 8 entries:
// EntrySize is 161 bytes a prediction. The default capacity, 100 000,
// takes 12 500 sets of 1288 bytes, 16.1 MB; MaxCapacity, 10 000 000, takes
// 1.61 GB. A tracker takes 2 × Bins × 8 = 64 KiB for its histograms, made
// once per (route, version) pair and kept for the store's life.
//
// # Concurrency model
//
// Record and Label lock only the set the id hashes to, with a sync.Mutex
// per set, and hold it for a scan of the set's 8 entries (32-bit tags
// compared first, then at most one id), and for Record a copy of at most
// 128 bytes; the hash is computed before the lock, and the tracker's
// statistics are updated after it. Striped mutexes rather than a per-set
// seqlock: both calls write the set (Label marks the entry labelled), so a
// seqlock would need writers to exclude each other anyway, and its
// optimistic readers read memory a writer is changing, which the race
// detector reports unless every field is an atomic. An uncontended mutex
// costs two atomic operations; with sets far more numerous than cores,
// contention needs two requests to hash to one set at the same instant.
// The counters Record adds to are spread over 64 cache-line-padded shards
// by set.
//
// A Tracker's statistics are atomics, added to by Label (a compare-and-swap
// loop for the two float sums) and read by Report without a lock. labels is
// counted first and read last, so a report taken while labels arrive never
// shows more positives or correct predictions than labels; it may leave
// out the labels in flight. Store.Tracker takes the store's mutex and
// publishes a new list of trackers (copied on write, an atomic.Pointer) that
// Label reads without a lock. Reports and WriteMetrics only read.
//
// # Statistics
//
// Each label adds to its tracker: the label count, the positives, the
// predictions at or above Threshold (predicted positive), those on the same
// side as their label (correct), the log loss (−ln p for a positive,
// −ln(1−p) for a negative, p clipped to [1e-15, 1−1e-15]) and the squared
// error (p − y)² (Brier), and one to the bin of p in the histogram of its
// class. Accuracy, log loss, Brier and the rates are exact (up to float
// rounding of the sums).
//
// AUC is the Mann–Whitney statistic over the two histograms: each positive
// counts the negatives of lower bins, and half of those in its own bin. Two
// predictions in different bins are ordered as their probabilities, so the
// only error is in pairs that share a bin, which count half whatever their
// order: the binned AUC is within
//
//	½ · Σₖ posₖ·negₖ / (P·N)
//
// of the exact AUC (ties counting half) of the same labels, P and N the
// class totals. Report returns this bound beside the AUC
// (auc_error_bound). It is at most half the largest share of either class
// in one bin. The Bins (4096) bins are equal in log-odds, 1/128 of a unit
// each, over [−16, 16]: a bin is 0.8% of p wide for small p (of 1−p near
// 1) and 0.002 wide at 0.5. Equal-width bins of p would put most of an
// imbalanced model's negatives (scores around 0.01 for a 1% base rate)
// into a few bins, and the bound would grow to tens of AUC points; in
// log-odds a model whose scores spread over a few units of log-odds has a
// bound of about 0.001. Bins are found by comparison with their edges, so
// they are ordered as the probabilities whatever rounding does.
//
// # Metrics
//
// RegisterMetrics adds a writer that reports, at each scrape, the store's
// counters (infergate_feedback_predictions_total, …_evicted_total, …) and,
// labelled route and version, infergate_feedback_labels_total,
// infergate_feedback_accuracy, infergate_feedback_auc,
// infergate_feedback_log_loss and infergate_feedback_brier; see
// WriteMetrics. A figure that is not defined yet (no labels, or no AUC
// with one class) has no line, as in package drift.
package feedback
