// Package loadgen applies one step of load to a Target and measures it: the
// engine under `infergate bench`. It knows nothing of HTTP; a Target sends
// one request however it likes.
//
// # Load models
//
// The open model (Mode Open) sends at a fixed arrival rate whatever the
// target does: constant gaps of 1/Rate, or Poisson arrivals (exponential
// gaps of mean 1/Rate from a math/rand/v2 PCG seeded with Load.Seed). The
// closed model (Mode Closed) runs Concurrency clients, each sending its next
// request when the previous one answers.
//
// # Measuring without coordinated omission
//
// In the open model every request has an intended send time, fixed by the
// schedule before anything is sent, and its latency is completion minus
// intended time. A server that stalls for S therefore shows it in every
// request that was due during the stall (latencies from S down to 0), not
// only in the one request that was in flight, as a closed client, or a
// generator that waits for answers before sending, would record: those stop
// sending while the server stalls and so omit exactly the samples that
// carry the queue. The closed model measures from send to completion, which
// is all it can do; its percentiles describe the clients' experience, not
// the server's under a given arrival rate.
//
// # Concurrency model
//
// Run's own goroutine is the collector: it cuts time into the warm-up and
// windows, gathers measurements, reports progress (every 250ms, from that
// goroutine only) and decides when to stop.
//
// Open model: one scheduler goroutine computes intended times and, each
// time it wakes, hands every request due by now (a batch, at high rates) to
// a pool of workers through a channel, then sleeps until the next is due. It
// never waits for answers. Go's timers wake up to 1ms late on Linux, so the
// last 2ms of a wait are a nanosleep (50–100µs late, typically). The pool
// starts with enough workers for 1ms of requests (16 to 1024) and grows
// whenever a request is queued with every worker busy, up to Concurrency,
// the in-flight cap. When the cap is reached the scheduler waits for a slot
// (the waiting request's latency still runs from its intended time) and
// counts the wait. Each worker measures its send lag (actual send minus
// intended time) and the latency.
//
// Closed model: Concurrency goroutines, each a client looping on Do, so no
// more than Concurrency requests are ever in flight.
//
// Recording: each worker owns a shard with a 32-sample buffer per epoch
// parity; an epoch is the time between two collections (a window ends, or a
// progress report is due). A completion is written to the worker's own
// buffer inside a "busy" section marked with an atomic store; no lock is
// taken per request. A full buffer is flushed by its worker into the epoch's
// HDR histograms under that epoch's mutex, once per 32 requests. To collect,
// the collector advances the epoch, waits until no shard is still busy in
// the old one (sections never block, so this is brief), then drains the old
// buffers and histograms. Per-worker HDR histograms were rejected: 188 KB
// each at this range and precision, 1.9 GB for 10000 workers.
//
// # What is counted where
//
// Latencies go into HDR histograms of microseconds, 1µs to 1h, 3
// significant digits (percentiles within 0.1%); Min, Max and Mean are
// exact. A completion is counted in the window in which it completes, so a
// request in flight at a window's end belongs to the next window, and one
// sent in the warm-up but answered in the first window is counted there.
// Requests that fail with an error have a latency like any other (a timeout
// is a latency, and leaving it out would hide a stall), and are counted in
// Result.Errors by message; statuses go to Result.Statuses.
//
// When the last window ends no request intended after that moment is sent;
// in the closed model no client starts another. Requests already due
// (queued in the open model) still go out. Run waits for what is in flight,
// up to Load.Drain: those completions count in Result.Completed, Statuses,
// Errors and Latency but in no window, so Result.Achieved (completions in
// the windows ÷ their time) is not raised by them. Whatever is still
// unanswered then is counted in Errors as "unfinished", not in Latency, and
// Run returns without waiting further (a Do that ignores its ctx finishes in
// the background and is not counted). When ctx is cancelled, the partial
// window is counted, requests not yet sent are dropped uncounted, and the
// drain bound is 100ms.
//
// # Windows and stability
//
// After the warm-up (not counted), windows of Load.Window run one after
// another until the last 3 agree or Load.MaxWindows have run. They agree
// when their p50 latencies and their achieved throughputs each lie within
// ±Tolerance of their own mean (p50s within 2µs of the mean always agree:
// the histogram's resolution). A window in which nothing completed never
// agrees. The Result merges all counted windows, not only the last 3, and
// every completion is counted once; Result.PerWindow lists each window's own
// figures. Sent counts sends after the warm-up while Completed counts every
// completion in the counted windows, so requests sent in the warm-up that
// finish in the first window make Completed exceed Sent by up to the number
// then in flight. In the open model, requests still waiting for an in-flight
// slot when the run stops are neither sent nor counted; a run that hit its
// cap is marked as having fallen behind.
//
// # Falling behind
//
// An open-model run in which the generator, not the target, set the pace is
// not to be trusted. Result.FellBehind is set, with the reasons and the
// amounts in FellBehindReason, when any of these holds over the counted
// time:
//   - the send lag p99 (Result.SendLag) exceeds 1ms, or a tenth of the mean
//     inter-arrival interval where that is longer: a generator later than
//     that no longer applies the arrival process it was asked for, and
//     inflates every latency by its own lateness;
//   - the in-flight cap (Concurrency) was reached even once;
//   - fewer than 95% of the requests the schedule had due were sent
//     (Result.Sent in the windows against Result.Scheduled).
//
// # Cost
//
// loadgen_timing_test.go measures the generator against a no-op target, by
// the process's CPU time per request: the closed model costs about 0.2µs
// per request; the open model costs one or two OS wake-ups per scheduler
// wake (about 10µs each on a 2-core VM), shared by the requests of a batch,
// so its cost per request falls with the rate: about 33µs at 10k req/s,
// 4µs at 100k and 1.4µs at 500k. Recording a completion takes about 26ns
// and allocates nothing.
package loadgen
