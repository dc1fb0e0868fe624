package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// KeyPrefix starts every key NewKey makes, so that a key found in a log, a
// commit or a paste is recognised as one (and secret scanners can match it).
const KeyPrefix = "ig_"

// keyBytes is the entropy of a key: 256 bits, beyond any guessing, which is
// why one unsalted SHA-256 is enough to store it (doc.go).
const keyBytes = 32

// HashKey returns the hex SHA-256 of key: what the config holds.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// NewKey makes a random key, "ig_" and 32 bytes from crypto/rand in
// unpadded base64url (46 characters in all), and returns it with its hash.
func NewKey() (key, hash string, err error) {
	var b [keyBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("cannot read random bytes for a key: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashKey(key), nil
}

// Key is a configured API key: its id, its tenant's routes and its rate
// bucket. Keys live as long as their Authenticator and are shared by every
// request that presents them.
type Key struct {
	// bucket comes first: its padding keeps the counter that Allow writes
	// away from the read-only fields of this key and of its neighbours in
	// the Authenticator's slice.
	bucket bucket
	id     string
	tenant *tenant
	hash   [sha256.Size]byte
}

// tenant is what the keys of one tenant share.
type tenant struct {
	name   string
	all    bool
	routes map[string]struct{}
}

// ID returns the key's id: a name for logs and metrics, not the secret.
func (k *Key) ID() string { return k.id }

// Tenant returns the name of the key's tenant ("" when auth is off).
func (k *Key) Tenant() string { return k.tenant.name }

// MayCall reports whether the key's tenant may call the route named route.
// It allocates nothing.
func (k *Key) MayCall(route []byte) bool {
	if k.tenant.all {
		return true
	}
	_, ok := k.tenant.routes[string(route)]
	return ok
}

// Allow takes a token from the key's bucket at time now. When the bucket is
// empty it returns false and how long until a token is there; the caller
// rounds that up to whole seconds for Retry-After. A key without a rate
// limit is always allowed. Allow is lock-free and allocates nothing.
func (k *Key) Allow(now time.Time) (ok bool, retryAfter time.Duration) {
	return k.bucket.allow(now)
}

// cacheLine is the size of a CPU cache line on the machines we run on
// (amd64, arm64; some arm64 chips have 128, where this still halves the
// sharing).
const cacheLine = 64

// bucket is a token bucket kept in one atomic integer, as the generic cell
// rate algorithm (GCRA) does: instead of a token count and the time of the
// last refill, which would need two words updated together, it keeps tat,
// the time at which the bucket will be full again. At time t the bucket
// holds burst - (tat-t)/interval tokens (burst when tat <= t), so a token is
// there when tat-t <= (burst-1)*interval, and taking it moves tat on by one
// interval. A request is one Load and one CompareAndSwap, retried only when
// another request took a token in between.
type bucket struct {
	_ [cacheLine]byte
	// tat is in nanoseconds since base; math.MinInt64 until the first
	// request, that is full.
	tat atomic.Int64
	_   [cacheLine - 8]byte
	// interval is the time one token takes to come back, in nanoseconds; 0
	// means no limit.
	interval int64
	// tolerance is (burst-1)*interval.
	tolerance int64
	base      time.Time
}

func (b *bucket) init(r RateConfig, base time.Time) {
	if r.RPS <= 0 {
		return
	}
	burst := r.Burst
	if burst <= 0 {
		burst = defaultBurst(r.RPS)
	}
	// Validate bounds rps to [0.001, 1e9] and burst to 1e6, so interval is
	// at most 1e12 and tolerance at most 1e18, below 2^63.
	b.interval = max(1, int64(math.Round(float64(time.Second)/r.RPS)))
	b.tolerance = int64(burst-1) * b.interval
	b.base = base
	b.tat.Store(math.MinInt64)
}

func (b *bucket) allow(now time.Time) (bool, time.Duration) {
	if b.interval == 0 {
		return true, 0
	}
	t := int64(now.Sub(b.base))
	for {
		old := b.tat.Load()
		tat := max(old, t)
		if wait := tat - t - b.tolerance; wait > 0 {
			return false, time.Duration(wait)
		}
		if b.tat.CompareAndSwap(old, tat+b.interval) {
			return true, 0
		}
	}
}
