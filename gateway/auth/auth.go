package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// The WWW-Authenticate values of a 401 answer (RFC 6750): Challenge when
// no key was sent (ErrNoCredentials), ChallengeInvalidToken when the key
// sent is wrong (ErrBadCredentials).
const (
	Challenge             = `Bearer realm="infergate"`
	ChallengeInvalidToken = `Bearer realm="infergate", error="invalid_token"`
)

// anonymousID is the id of the key that every request holds when auth is
// off.
const anonymousID = "anonymous"

// Authenticator finds the API key of a request. It is immutable after New,
// but for its keys' rate buckets, and safe for concurrent use. A config
// reload builds a new one, whose buckets start full.
type Authenticator struct {
	enabled bool
	keys    []Key
	// anonymous is what Authenticate returns when auth is off: every route,
	// no rate limit.
	anonymous Key
	tenants   int
}

// New builds the Authenticator of cfg after ApplyDefaults; it validates cfg
// against routes, the configured route names, and returns what Validate
// returns.
func New(cfg Config, routes []string) (*Authenticator, error) {
	if err := cfg.Validate(routes); err != nil {
		return nil, err
	}
	base := time.Now()
	tenants := make(map[string]*tenant, len(cfg.Tenants))
	rates := make(map[string]RateConfig, len(cfg.Tenants))
	for _, tc := range cfg.Tenants {
		t := &tenant{name: tc.Name, routes: make(map[string]struct{}, len(tc.Routes))}
		for _, r := range tc.Routes {
			if r == AllRoutes {
				t.all = true
			}
			t.routes[r] = struct{}{}
		}
		tenants[tc.Name] = t
		rates[tc.Name] = tc.Rate
	}
	a := &Authenticator{
		enabled:   cfg.Mode == ModeKeys,
		keys:      make([]Key, len(cfg.Keys)),
		anonymous: Key{id: anonymousID, tenant: &tenant{all: true}},
		tenants:   len(cfg.Tenants),
	}
	for i, kc := range cfg.Keys {
		k := &a.keys[i]
		k.id = kc.ID
		k.tenant = tenants[kc.Tenant]
		if _, err := hex.Decode(k.hash[:], []byte(kc.SHA256)); err != nil {
			return nil, fmt.Errorf("BUG: auth.keys[%s].sha256 passed Validate but does not decode: %w", kc.ID, err)
		}
		rate := rates[kc.Tenant]
		if kc.Rate != nil {
			rate = *kc.Rate
		}
		k.bucket.init(rate, base)
	}
	return a, nil
}

// Enabled reports whether requests need a key; false in auth.mode off.
func (a *Authenticator) Enabled() bool { return a.enabled }

// LogStartup says at startup how requests are authenticated: a warning when
// auth is off, as every request is then let through.
func (a *Authenticator) LogStartup(log *slog.Logger) {
	if !a.enabled {
		log.Warn("auth is off (auth.mode: off): every request is allowed without an API key, to every route, without rate limits")
		return
	}
	log.Info("auth: requests need an API key", "keys", len(a.keys), "tenants", a.tenants)
}

// Authenticate returns the key a request presents in its Authorization
// header ("Bearer KEY", the scheme in any case) or its X-API-Key header
// ("KEY"), given the two headers' values (nil or empty when absent). Spaces
// and tabs around the values are ignored. It fails with an error of class
// ErrNoCredentials when neither header holds anything, and of class
// ErrBadCredentials when the key is not configured, the Authorization
// header is not Bearer, or both headers are sent. When auth is off it
// returns a key that may call every route without a rate limit, whatever
// the headers. It allocates nothing; the Key lives as long as a.
//
// The presented key is hashed with SHA-256 and the digest is compared with
// every configured hash in constant time, with no early exit (doc.go says
// why).
func (a *Authenticator) Authenticate(authorization, apiKey []byte) (*Key, error) {
	if !a.enabled {
		return &a.anonymous, nil
	}
	authorization, apiKey = trimOWS(authorization), trimOWS(apiKey)
	var secret []byte
	switch {
	case len(authorization) == 0 && len(apiKey) == 0:
		return nil, errNoKey
	case len(authorization) != 0 && len(apiKey) != 0:
		return nil, errTwoKeys
	case len(apiKey) != 0:
		secret = apiKey
	default:
		token, ok := bearerToken(authorization)
		switch {
		case !ok:
			return nil, errNotBearer
		case len(token) == 0:
			return nil, errEmptyBearer
		}
		secret = token
	}
	if i := a.find(sha256.Sum256(secret)); i >= 0 {
		return &a.keys[i], nil
	}
	return nil, errUnknownKey
}

// find returns the index of the key whose hash is h, or -1. It looks at
// every key whichever matches, and selects without a branch.
func (a *Authenticator) find(h [sha256.Size]byte) int {
	found := -1
	for i := range a.keys {
		eq := subtle.ConstantTimeCompare(h[:], a.keys[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}

// bearerToken returns the credentials of an Authorization value (already
// trimmed) whose scheme is Bearer, in any case; ok is false for another
// scheme.
func bearerToken(h []byte) (token []byte, ok bool) {
	scheme := h
	for i, c := range h {
		if c == ' ' || c == '\t' {
			scheme, token = h[:i], trimOWS(h[i:])
			break
		}
	}
	return token, bytes.EqualFold(scheme, bearerScheme)
}

var bearerScheme = []byte("Bearer")

// trimOWS removes spaces and tabs (HTTP's optional whitespace) around b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// checkToken compares the Bearer token of authorization with the hash want,
// as Authenticate does, with the admin token's errors.
func checkToken(authorization []byte, want *[sha256.Size]byte) error {
	authorization = trimOWS(authorization)
	if len(authorization) == 0 {
		return errNoAdminToken
	}
	token, ok := bearerToken(authorization)
	if !ok || len(token) == 0 {
		return errAdminNotBearer
	}
	h := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(h[:], want[:]) != 1 {
		return errBadAdminToken
	}
	return nil
}
