package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/fieldpath"
)

// The modes of Config.Mode and AdminConfig.Mode.
const (
	ModeKeys  = "keys"
	ModeToken = "token"
	ModeOff   = "off"
)

// AllRoutes in a tenant's routes lets it call every route.
const AllRoutes = "*"

// Defaults of Config.
const (
	DefaultMode      = ModeKeys
	DefaultAdminMode = ModeToken
	DefaultAuditLog  = "var/audit.log"
)

// Bounds of RateConfig, so that a bucket's arithmetic in nanoseconds never
// overflows.
const (
	minRPS   = 0.001
	maxRPS   = 1e9
	maxBurst = 1_000_000
)

// maxNameLen bounds key ids and tenant names.
const maxNameLen = 64

// Config is the auth block: who may call the public API, which routes, how
// often, and who may call the admin API.
type Config struct {
	// Mode is "keys": every public request needs an API key of Keys. "off"
	// allows every request without a key, and the startup log says so; it
	// must be written explicitly. Default keys.
	Mode string `yaml:"mode"`
	// Keys are the API keys, by their SHA-256 hashes: the config never holds
	// a key itself. `infergate keys new` makes a key and its entry. Required
	// in keys mode.
	Keys []KeyConfig `yaml:"keys"`
	// Tenants are the owners of keys: the routes their keys may call and
	// their keys' rate limits.
	Tenants []TenantConfig `yaml:"tenants"`
	// Admin guards the admin API.
	Admin AdminConfig `yaml:"admin"`
}

// KeyConfig is one API key.
type KeyConfig struct {
	// ID names the key in logs, metrics and the audit log; it is never the
	// secret. Letters, digits, '.', '_' and '-'. Required, unique.
	ID string `yaml:"id"`
	// SHA256 is the hex SHA-256 of the key (64 hex digits), as printed by
	// `infergate keys new` or `infergate keys hash`. Required, unique.
	SHA256 string `yaml:"sha256"`
	// Tenant is the name of the key's tenant. Required.
	Tenant string `yaml:"tenant"`
	// Rate overrides the tenant's rate limit for this key. Default: the
	// tenant's.
	Rate *RateConfig `yaml:"rate"`
}

// TenantConfig is one tenant: a team or a customer that holds keys.
type TenantConfig struct {
	// Name is what keys' tenant fields refer to. Letters, digits, '.', '_'
	// and '-'. Required, unique.
	Name string `yaml:"name"`
	// Routes are the names of the routes the tenant's keys may call; "*"
	// (alone) allows every route. Other routes answer 403. Required.
	Routes []string `yaml:"routes"`
	// Rate limits each key of the tenant, each key on its own. Default:
	// unlimited.
	Rate RateConfig `yaml:"rate"`
}

// RateConfig is a token bucket: a key may send Burst requests at once, then
// RPS per second on average; more answer 429 with Retry-After.
type RateConfig struct {
	// RPS is the sustained rate in requests per second, 0.001 to 1e9, or 0
	// for unlimited. Default 0.
	RPS float64 `yaml:"rps"`
	// Burst is the bucket's size, at most 1000000. Default: RPS rounded up,
	// at least 1.
	Burst int `yaml:"burst"`
}

// AdminConfig guards the admin API.
type AdminConfig struct {
	// Mode is "token": every admin request needs "Authorization: Bearer
	// TOKEN" with the token whose hash is TokenSHA256. "off" leaves the
	// admin API open to whoever reaches server.admin_listen, and the startup
	// log says so; it must be written explicitly. Default token.
	Mode string `yaml:"mode"`
	// TokenSHA256 is the hex SHA-256 of the admin token (`infergate keys
	// new` makes one). Required in token mode.
	TokenSHA256 string `yaml:"token_sha256"`
	// AuditLog is the file that every mutating admin call is appended to, as
	// one JSON line (time, who, remote_addr, method, path, body, status,
	// result); "-" writes to standard error. The file is created with mode
	// 0600, its folder with 0700. Default var/audit.log.
	AuditLog string `yaml:"audit_log"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Mode, DefaultMode)
	for i := range c.Keys {
		if c.Keys[i].Rate != nil {
			c.Keys[i].Rate.applyDefaults()
		}
	}
	for i := range c.Tenants {
		c.Tenants[i].Rate.applyDefaults()
	}
	defaults.Set(&c.Admin.Mode, DefaultAdminMode)
	defaults.Set(&c.Admin.AuditLog, DefaultAuditLog)
}

func (r *RateConfig) applyDefaults() {
	if r.RPS > 0 {
		defaults.Set(&r.Burst, defaultBurst(r.RPS))
	}
}

// defaultBurst is rps rounded up, at least 1: a bucket that holds one
// second's worth of requests.
func defaultBurst(rps float64) int {
	return max(1, int(math.Ceil(min(rps, maxBurst))))
}

// Validate checks c after ApplyDefaults and reports every problem at once,
// one per line, each naming its field by its path from the auth block:
// auth.keys[ID].field and auth.tenants[NAME].field, or [INDEX] for an entry
// whose id or name is empty or repeats an earlier one. routes are the names
// of the configured routes, which tenants' routes must name.
func (c *Config) Validate(routes []string) error {
	var errs []error
	if c.Mode != ModeKeys && c.Mode != ModeOff {
		errs = append(errs, fmt.Errorf("auth.mode: %q is not %s or %s", c.Mode, ModeKeys, ModeOff))
	}
	tenants := make(map[string]int, len(c.Tenants))
	for i := range c.Tenants {
		errs = c.Tenants[i].validate(errs, i, tenants, routes)
	}
	if c.Mode == ModeKeys && len(c.Keys) == 0 {
		errs = append(errs, errors.New("auth.keys: auth.mode keys needs at least one key; make one with `infergate keys new`, or set auth.mode: off to let every request through"))
	}
	ids := make(map[string]int, len(c.Keys))
	hashes := make(map[string]string, len(c.Keys)+1)
	for i := range c.Keys {
		k := &c.Keys[i]
		path := fieldpath.Item("auth.keys", k.ID, i)
		prev, dup := ids[k.ID]
		if dup {
			path = fmt.Sprintf("auth.keys[%d]", i)
		}
		switch {
		case k.ID == "":
			errs = append(errs, fmt.Errorf("%s.id: must not be empty; it names the key in logs", path))
		case dup:
			errs = append(errs, fmt.Errorf("%s.id: duplicate key id %q (auth.keys[%d] has it already); key ids must be unique", path, k.ID, prev))
		default:
			ids[k.ID] = i
			if err := ValidateName(k.ID); err != nil {
				errs = append(errs, fmt.Errorf("%s.id: %w", path, err))
			}
		}
		if err := validateHash(k.SHA256); err != nil {
			errs = append(errs, fmt.Errorf("%s.sha256: %w", path, err))
		} else {
			h := strings.ToLower(k.SHA256)
			if other, dup := hashes[h]; dup {
				errs = append(errs, fmt.Errorf("%s.sha256: the same hash as %s; every key must be different", path, other))
			} else {
				hashes[h] = path
			}
		}
		switch _, ok := tenants[k.Tenant]; {
		case k.Tenant == "":
			errs = append(errs, fmt.Errorf("%s.tenant: must not be empty; %s", path, tenantsList(c.Tenants)))
		case !ok:
			errs = append(errs, fmt.Errorf("%s.tenant: unknown tenant %q; %s", path, k.Tenant, tenantsList(c.Tenants)))
		}
		if k.Rate != nil {
			errs = k.Rate.validate(errs, path+".rate")
		}
	}
	return errors.Join(c.Admin.validate(errs, hashes)...)
}

func (t *TenantConfig) validate(errs []error, i int, seen map[string]int, routes []string) []error {
	path := fieldpath.Item("auth.tenants", t.Name, i)
	prev, dup := seen[t.Name]
	if dup {
		path = fmt.Sprintf("auth.tenants[%d]", i)
	}
	switch {
	case t.Name == "":
		errs = append(errs, fmt.Errorf("%s.name: must not be empty", path))
	case dup:
		errs = append(errs, fmt.Errorf("%s.name: duplicate tenant %q (auth.tenants[%d] has it already); tenant names must be unique", path, t.Name, prev))
	default:
		seen[t.Name] = i
		if err := ValidateName(t.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s.name: %w", path, err))
		}
	}
	if len(t.Routes) == 0 {
		errs = append(errs, fmt.Errorf("%s.routes: must list the routes the tenant may call, or \"*\" for every route", path))
	}
	for j, r := range t.Routes {
		rpath := fmt.Sprintf("%s.routes[%d]", path, j)
		switch {
		case r == AllRoutes && len(t.Routes) > 1:
			errs = append(errs, fmt.Errorf("%s: \"*\" allows every route, so it must be alone in the list", rpath))
		case r == AllRoutes:
		case slices.Index(t.Routes, r) < j:
			errs = append(errs, fmt.Errorf("%s: route %q is listed twice", rpath, r))
		case !slices.Contains(routes, r):
			errs = append(errs, fmt.Errorf("%s: unknown route %q; %s", rpath, r, routesList(routes)))
		}
	}
	return t.Rate.validate(errs, path+".rate")
}

func (r *RateConfig) validate(errs []error, path string) []error {
	switch {
	case math.IsNaN(r.RPS) || r.RPS < 0 || (r.RPS > 0 && r.RPS < minRPS):
		errs = append(errs, fmt.Errorf("%s.rps: %g is not 0 (unlimited) or at least %g", path, r.RPS, minRPS))
	case r.RPS > maxRPS:
		errs = append(errs, fmt.Errorf("%s.rps: %g is above %g; use 0 for unlimited", path, r.RPS, maxRPS))
	}
	switch {
	case r.Burst < 0:
		errs = append(errs, fmt.Errorf("%s.burst: must be positive, got %d", path, r.Burst))
	case r.Burst > maxBurst:
		errs = append(errs, fmt.Errorf("%s.burst: %d is above %d", path, r.Burst, maxBurst))
	case r.Burst > 0 && r.RPS == 0:
		errs = append(errs, fmt.Errorf("%s.burst: has no effect without rps (rps 0 is unlimited); set rps too", path))
	}
	return errs
}

func (a *AdminConfig) validate(errs []error, keyHashes map[string]string) []error {
	switch a.Mode {
	case ModeToken:
		if a.TokenSHA256 == "" {
			errs = append(errs, errors.New("auth.admin.token_sha256: must be set in token mode; make a token with `infergate keys new` and put its sha256 here, or set auth.admin.mode: off to leave the admin API open"))
			break
		}
		if err := validateHash(a.TokenSHA256); err != nil {
			errs = append(errs, fmt.Errorf("auth.admin.token_sha256: %w", err))
		} else if key, dup := keyHashes[strings.ToLower(a.TokenSHA256)]; dup {
			errs = append(errs, fmt.Errorf("auth.admin.token_sha256: the same hash as %s; the admin token must differ from every API key", key))
		}
	case ModeOff:
	default:
		errs = append(errs, fmt.Errorf("auth.admin.mode: %q is not %s or %s", a.Mode, ModeToken, ModeOff))
	}
	if a.AuditLog == "" {
		errs = append(errs, fmt.Errorf("auth.admin.audit_log: must not be empty; \"-\" writes to standard error, the default is %s", DefaultAuditLog))
	}
	return errs
}

// validateHash checks that h is a hex SHA-256. The message never repeats h:
// a wrong value may be a key pasted where its hash belongs.
func validateHash(h string) error {
	if h == "" {
		return errors.New("must not be empty; `infergate keys new` makes a key and prints its hash")
	}
	if _, err := hex.DecodeString(h); err != nil || len(h) != 2*32 {
		return fmt.Errorf("is not a hex SHA-256 (64 hex digits, got %d characters); put the hash of the key here, never the key: `infergate keys hash` prints it, `infergate keys new` makes a key and its hash", len(h))
	}
	return nil
}

// ValidateName checks a key id or a tenant name: 1 to 64 letters, digits,
// '.', '_' and '-', so that it reads the same in logs, metrics labels and
// YAML.
func ValidateName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%q must be 1 to %d characters long", s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return fmt.Errorf("%q may hold only letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

func tenantsList(tenants []TenantConfig) string {
	if len(tenants) == 0 {
		return "auth.tenants is empty: add the tenant there"
	}
	names := make([]string, 0, len(tenants))
	for i := range tenants {
		if n := tenants[i].Name; n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return "the tenants are " + strings.Join(names, ", ")
}

func routesList(routes []string) string {
	if len(routes) == 0 {
		return "no route is configured"
	}
	return "the routes are " + strings.Join(slices.Sorted(slices.Values(routes)), ", ")
}
