package auth_test

import (
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/auth"
)

// The keys of the tests, in plain text as their holders have them.
const (
	keyA1      = "ig_team-a-first-key-0123456789abcdefghijklmnopq"
	keyA2      = "ig_team-a-second-key-0123456789abcdefghijklmnop"
	keyB       = "ig_team-b-key-0123456789abcdefghijklmnopqrstuvwx"
	adminToken = "ig_admin-token-0123456789abcdefghijklmnopqrstuvw"
)

var testRoutes = []string{"customer-churn", "fraud", "ranker"}

// testConfig is a valid config: team-a may call two routes with a rate
// limit, team-b every route without one; key team-a-2 has its own rate.
func testConfig() auth.Config {
	c := auth.Config{
		Keys: []auth.KeyConfig{
			{ID: "team-a-1", SHA256: auth.HashKey(keyA1), Tenant: "team-a"},
			{ID: "team-a-2", SHA256: auth.HashKey(keyA2), Tenant: "team-a", Rate: &auth.RateConfig{RPS: 1}},
			{ID: "team-b-1", SHA256: auth.HashKey(keyB), Tenant: "team-b"},
		},
		Tenants: []auth.TenantConfig{
			{Name: "team-a", Routes: []string{"customer-churn", "fraud"}, Rate: auth.RateConfig{RPS: 10, Burst: 20}},
			{Name: "team-b", Routes: []string{"*"}},
		},
		Admin: auth.AdminConfig{TokenSHA256: auth.HashKey(adminToken), AuditLog: "-"},
	}
	c.ApplyDefaults()
	return c
}

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	c := auth.Config{
		Keys:    []auth.KeyConfig{{Rate: &auth.RateConfig{RPS: 2.5}}, {Rate: &auth.RateConfig{RPS: 3, Burst: 7}}},
		Tenants: []auth.TenantConfig{{Rate: auth.RateConfig{RPS: 0.5}}, {}},
	}
	c.ApplyDefaults()
	f := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	f("mode", c.Mode, "keys")
	f("admin.mode", c.Admin.Mode, "token")
	f("admin.audit_log", c.Admin.AuditLog, "var/audit.log")
	f("keys[0].rate.burst", c.Keys[0].Rate.Burst, 3)
	f("keys[1].rate.burst", c.Keys[1].Rate.Burst, 7)
	f("tenants[0].rate.burst", c.Tenants[0].Rate.Burst, 1)
	f("tenants[1].rate.burst", c.Tenants[1].Rate.Burst, 0)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	f := func(name string, edit func(c *auth.Config), want ...string) {
		t.Helper()
		c := testConfig()
		edit(&c)
		err := c.Validate(testRoutes)
		var got []string
		if err != nil {
			got = strings.Split(err.Error(), "\n")
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\ngot\n\t%s\nwant\n\t%s", name, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	f("valid", func(*auth.Config) {})
	f("auth off with no keys", func(c *auth.Config) { c.Mode = "off"; c.Keys = nil })
	f("admin off without token", func(c *auth.Config) { c.Admin = auth.AdminConfig{Mode: "off", AuditLog: "x"} })
	f("upper-case hash", func(c *auth.Config) { c.Keys[0].SHA256 = strings.ToUpper(c.Keys[0].SHA256) })

	f("mode", func(c *auth.Config) { c.Mode = "none" },
		`auth.mode: "none" is not keys or off`)
	f("no keys", func(c *auth.Config) { c.Keys = nil },
		"auth.keys: auth.mode keys needs at least one key; make one with `infergate keys new`, or set auth.mode: off to let every request through")
	f("key id empty", func(c *auth.Config) { c.Keys[1].ID = "" },
		"auth.keys[1].id: must not be empty; it names the key in logs")
	f("key id repeated", func(c *auth.Config) { c.Keys[2].ID = "team-a-1" },
		`auth.keys[2].id: duplicate key id "team-a-1" (auth.keys[0] has it already); key ids must be unique`)
	f("key id with a space", func(c *auth.Config) { c.Keys[0].ID = "team a" },
		`auth.keys[team a].id: "team a" may hold only letters, digits, '.', '_' and '-'`)
	f("sha256 empty", func(c *auth.Config) { c.Keys[0].SHA256 = "" },
		"auth.keys[team-a-1].sha256: must not be empty; `infergate keys new` makes a key and prints its hash")
	f("a key instead of its hash", func(c *auth.Config) { c.Keys[0].SHA256 = keyA1 },
		"auth.keys[team-a-1].sha256: is not a hex SHA-256 (64 hex digits, got 47 characters); put the hash of the key here, never the key: `infergate keys hash` prints it, `infergate keys new` makes a key and its hash")
	f("64 characters but not hex", func(c *auth.Config) { c.Keys[0].SHA256 = strings.Repeat("g", 64) },
		"auth.keys[team-a-1].sha256: is not a hex SHA-256 (64 hex digits, got 64 characters); put the hash of the key here, never the key: `infergate keys hash` prints it, `infergate keys new` makes a key and its hash")
	f("two keys with one hash", func(c *auth.Config) { c.Keys[2].SHA256 = strings.ToUpper(c.Keys[0].SHA256) },
		"auth.keys[team-b-1].sha256: the same hash as auth.keys[team-a-1]; every key must be different")
	f("tenant empty", func(c *auth.Config) { c.Keys[0].Tenant = "" },
		"auth.keys[team-a-1].tenant: must not be empty; the tenants are team-a, team-b")
	f("tenant unknown", func(c *auth.Config) { c.Keys[0].Tenant = "team-c" },
		`auth.keys[team-a-1].tenant: unknown tenant "team-c"; the tenants are team-a, team-b`)
	f("no tenants", func(c *auth.Config) { c.Tenants = nil; c.Keys = c.Keys[:1] },
		`auth.keys[team-a-1].tenant: unknown tenant "team-a"; auth.tenants is empty: add the tenant there`)
	f("key rate", func(c *auth.Config) { c.Keys[1].Rate = &auth.RateConfig{RPS: -1, Burst: -2} },
		"auth.keys[team-a-2].rate.rps: -1 is not 0 (unlimited) or at least 0.001",
		"auth.keys[team-a-2].rate.burst: must be positive, got -2")

	f("tenant name empty", func(c *auth.Config) { c.Tenants[1].Name = ""; c.Keys = c.Keys[:2] },
		"auth.tenants[1].name: must not be empty")
	f("tenant name repeated", func(c *auth.Config) { c.Tenants[1].Name = "team-a" },
		`auth.tenants[1].name: duplicate tenant "team-a" (auth.tenants[0] has it already); tenant names must be unique`,
		`auth.keys[team-b-1].tenant: unknown tenant "team-b"; the tenants are team-a`)
	f("tenant name with a slash", func(c *auth.Config) { c.Tenants[1].Name = "team/b"; c.Keys[2].Tenant = "team/b" },
		`auth.tenants[team/b].name: "team/b" may hold only letters, digits, '.', '_' and '-'`)
	f("tenant name too long", func(c *auth.Config) {
		c.Tenants[1].Name = strings.Repeat("b", 65)
		c.Keys[2].Tenant = c.Tenants[1].Name
	}, `auth.tenants[`+strings.Repeat("b", 65)+`].name: "`+strings.Repeat("b", 65)+`" must be 1 to 64 characters long`)
	f("no routes", func(c *auth.Config) { c.Tenants[0].Routes = nil },
		`auth.tenants[team-a].routes: must list the routes the tenant may call, or "*" for every route`)
	f("unknown route", func(c *auth.Config) { c.Tenants[0].Routes = []string{"fraud", "x"} },
		`auth.tenants[team-a].routes[1]: unknown route "x"; the routes are customer-churn, fraud, ranker`)
	f("unknown route, no routes", func(c *auth.Config) {
		c.Tenants[0].Routes = []string{"fraud"}
		if err := c.Validate(nil); err == nil || err.Error() != `auth.tenants[team-a].routes[0]: unknown route "fraud"; no route is configured` {
			t.Errorf("no routes: got %v", err)
		}
	})
	f("route twice", func(c *auth.Config) { c.Tenants[0].Routes = []string{"fraud", "ranker", "fraud"} },
		`auth.tenants[team-a].routes[2]: route "fraud" is listed twice`)
	f("star with others", func(c *auth.Config) { c.Tenants[1].Routes = []string{"fraud", "*"} },
		`auth.tenants[team-b].routes[1]: "*" allows every route, so it must be alone in the list`)
	f("tenant rate", func(c *auth.Config) { c.Tenants[0].Rate = auth.RateConfig{RPS: 0.0001, Burst: 2_000_000} },
		"auth.tenants[team-a].rate.rps: 0.0001 is not 0 (unlimited) or at least 0.001",
		"auth.tenants[team-a].rate.burst: 2000000 is above 1000000")
	f("rate too high", func(c *auth.Config) { c.Tenants[0].Rate = auth.RateConfig{RPS: 2e9, Burst: 1} },
		"auth.tenants[team-a].rate.rps: 2e+09 is above 1e+09; use 0 for unlimited")
	f("burst without rps", func(c *auth.Config) { c.Tenants[1].Rate.Burst = 5 },
		"auth.tenants[team-b].rate.burst: has no effect without rps (rps 0 is unlimited); set rps too")

	f("admin mode", func(c *auth.Config) { c.Admin.Mode = "password" },
		`auth.admin.mode: "password" is not token or off`)
	f("admin token missing", func(c *auth.Config) { c.Admin.TokenSHA256 = "" },
		"auth.admin.token_sha256: must be set in token mode; make a token with `infergate keys new` and put its sha256 here, or set auth.admin.mode: off to leave the admin API open")
	f("admin token in plain text", func(c *auth.Config) { c.Admin.TokenSHA256 = adminToken },
		"auth.admin.token_sha256: is not a hex SHA-256 (64 hex digits, got 48 characters); put the hash of the key here, never the key: `infergate keys hash` prints it, `infergate keys new` makes a key and its hash")
	f("admin token is an API key", func(c *auth.Config) { c.Admin.TokenSHA256 = c.Keys[2].SHA256 },
		"auth.admin.token_sha256: the same hash as auth.keys[team-b-1]; the admin token must differ from every API key")
	f("audit log empty", func(c *auth.Config) { c.Admin.AuditLog = "" },
		`auth.admin.audit_log: must not be empty; "-" writes to standard error, the default is var/audit.log`)

	f("several at once", func(c *auth.Config) {
		c.Mode = ""
		c.Keys[0].SHA256 = "secret"
		c.Tenants[0].Routes = []string{"nope"}
	},
		`auth.mode: "" is not keys or off`,
		`auth.tenants[team-a].routes[0]: unknown route "nope"; the routes are customer-churn, fraud, ranker`,
		"auth.keys[team-a-1].sha256: is not a hex SHA-256 (64 hex digits, got 6 characters); put the hash of the key here, never the key: `infergate keys hash` prints it, `infergate keys new` makes a key and its hash")
}

// TestValidateNeverEchoesSecrets: a key pasted where its hash belongs must
// not reach the log through the error message.
func TestValidateNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	c := testConfig()
	c.Keys[0].SHA256 = keyA1
	c.Admin.TokenSHA256 = adminToken
	err := c.Validate(testRoutes)
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{keyA1, adminToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the message holds the secret %q:\n%s", secret, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	f := func(name string, ok bool) {
		t.Helper()
		if err := auth.ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok %t", name, err, ok)
		}
	}
	f("team-a.prod_1", true)
	f(strings.Repeat("x", 64), true)
	f("", false)
	f(strings.Repeat("x", 65), false)
	f("a:b", false)
	f("é", false)
	f("a\n", false)
}
