// Package auth decides who may call the gateway, what, and how often: API
// keys that belong to tenants, the routes each tenant may call, a token
// bucket per key, a global limit of requests in flight, and the admin token
// with its audit log. It knows nothing of HTTP but header values; the
// gateway maps its errors to statuses.
//
// The config (auth block, Config) lists keys by their SHA-256 hashes and the
// tenants they belong to:
//
//	auth:
//	  mode: keys                # or off, written explicitly: every request allowed
//	  keys:
//	    - id: team-a-1          # printed by `infergate keys new`
//	      sha256: 9f86d08…      # the key's hash, never the key
//	      tenant: team-a
//	  tenants:
//	    - name: team-a
//	      routes: [customer-churn]   # or ["*"]
//	      rate: {rps: 50, burst: 100}
//	  admin:
//	    token_sha256: 60303ae…
//	    audit_log: var/audit.log
//
// A request presents its key as "Authorization: Bearer KEY" or "X-API-Key:
// KEY". The gateway answers, in this order:
//
//   - 401 with WWW-Authenticate when Authenticate fails: Challenge for no
//     key (ErrNoCredentials); ChallengeInvalidToken for a key that is not
//     configured, a malformed Authorization header, or two keys
//     (ErrBadCredentials). 401 means "who are you?": the gateway does not
//     know the caller.
//   - 403 when Key.MayCall is false: the caller is known, and its tenant may
//     not call this route. A 403 tells a valid key holder that the route
//     exists; it tells nothing to anyone without a key, who gets 401 first.
//   - 429 with Retry-After when Key.Allow is false: the key's bucket is
//     empty.
//   - 503 with Retry-After when Limiter.Acquire fails (ErrOverloaded): the
//     gateway has too many requests in flight and none finished within the
//     bounded wait.
//
// # Threat model
//
// The config, its backups and the logs may be read by more people than the
// keys' holders, so they hold no secret: a key is stored as its SHA-256 and
// named by its id everywhere (logs, metrics, audit log); Validate refuses a
// value that is not 64 hex digits, and never echoes it, in case it is a key
// pasted by mistake. A fast unsalted hash is enough because keys made by
// NewKey carry 256 random bits: nobody can search that space, salt or not.
// (A key a person chose is weaker; `infergate keys hash` refuses short
// ones.) The admin token is stored and checked the same way.
//
// Timing: Authenticate hashes the presented key first, then compares the
// 32-byte digest with every configured hash using crypto/subtle, without an
// early exit and selecting the match without a branch. Hashing first is what
// makes the comparison's time independent of the secret. Comparing the
// presented key with a stored key byte by byte would stop at the first
// difference, so an attacker could learn the key a byte at a time from
// response times. Here the attacker chooses the input of SHA-256, not its
// output: to make the digest agree with a stored hash on one more byte they
// would have to find preimages, so whatever timing a comparison leaked would
// tell them nothing they can steer. The digests have one fixed length, so no
// length check leaks the stored key's length either, and the hash's own time
// depends on the presented key's length, which the attacker knows already.
// What the loop over every key does leak is the number of keys configured,
// which is not a secret.
//
// Out of scope: transport security (run behind TLS), key rotation (add the
// new key, reload, remove the old one) and brute force of the keys' space
// (256 bits; a client guessing gets 401 every time and can be rate limited
// upstream by address).
//
// # Concurrency model
//
// An Authenticator is built once per config and then read by every request
// goroutine without locks: its keys, tenants and route sets never change.
// The only mutable state is each key's rate bucket, one atomic integer (see
// bucket) updated by compare-and-swap, padded onto its own cache line so
// that keys used by different cores do not slow each other down. A reload
// builds a new Authenticator, whose buckets start full. The Limiter is a
// buffered channel used as a semaphore; a waiter blocks on it and on a
// pooled timer, never longer than its bound. Admin.Audit serialises writes
// with a mutex: admin calls are rare, and one Write per line keeps lines
// whole. Authenticate, MayCall and Allow allocate nothing (alloc_test.go).
package auth
