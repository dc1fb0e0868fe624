// Package featurefetch looks up the features a model needs by an entity key
// (a customer id) at request time, and merges them with what the request
// carries (the request's own values win).
//
// # Stores
//
// EmbeddedStore holds a snapshot file (JSON, written by `infergate features
// materialize` through Materialize and WriteSnapshot) in memory and loads
// it again when it changes. RedisStore reads, and writes, the layout Feast's
// Redis online store uses (feast.go): a team running Feast can point
// infergate at its Redis.
//
// # Request lifecycle
//
// ViewFetcher.Fetch (FetchAll for a request's rows) finds the features the
// request lacks and its entity key, looks the row up in the view's cache
// (ristretto, rows and absences, the full key kept beside each entry) and
// on a miss queues a lookup for the readers; it waits at most the store's
// timeout and half of the request's remaining time. Then each feature
// takes the row's value or, when the row lacks it, it is stale (older than
// max_age) or the store could not answer, its policy: default, fail (a
// *FeatureError) or fallback (Result.Fallback: the gateway then lets only
// the route's non-model targets answer).
//
// # Concurrency model
//
// A request's goroutine does the cache lookup and the merge. Readers
// (StoreConfig.Readers goroutines) each take every lookup queued at that
// moment, up to MaxBatch, read them in one Store.Read (one pipelined round
// trip to Redis) through the store's circuit breaker, fill the cache and
// complete each lookup exactly once: when its waiter has already given up,
// the reader returns it to the pool. A warm lookup allocates nothing.
package featurefetch
