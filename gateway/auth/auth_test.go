package auth_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway/auth"
)

func newAuthenticator(tb testing.TB, c auth.Config) *auth.Authenticator {
	tb.Helper()
	a, err := auth.New(c, testRoutes)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t, testConfig())
	if !a.Enabled() {
		t.Fatal("Enabled() = false in keys mode")
	}
	// wantID "" is a failure of class wantErr, with message wantMsg.
	f := func(authorization, apiKey, wantID string, wantErr error, wantMsg string) {
		t.Helper()
		k, err := a.Authenticate([]byte(authorization), []byte(apiKey))
		if wantID != "" {
			if err != nil || k == nil || k.ID() != wantID {
				t.Errorf("Authenticate(%q, %q) = %v, %v; want key %s", authorization, apiKey, k, err, wantID)
			}
			return
		}
		if k != nil || !errors.Is(err, wantErr) || err.Error() != wantMsg {
			t.Errorf("Authenticate(%q, %q) = %v, %q; want %v: %q", authorization, apiKey, k, err, wantErr, wantMsg)
		}
	}
	const (
		noKey      = `no API key: send it as "Authorization: Bearer KEY" or "X-API-Key: KEY"`
		unknown    = "the API key is not valid; check it, or ask the gateway's operator for a key"
		notBearer  = `the Authorization header must be "Bearer KEY"; or send the key as "X-API-Key: KEY"`
		emptyToken = `the Authorization header says Bearer but holds no key; send "Authorization: Bearer KEY"`
		twoKeys    = "both Authorization and X-API-Key were sent; send the key in one of them"
	)
	f("Bearer "+keyA1, "", "team-a-1", nil, "")
	f("Bearer "+keyA2, "", "team-a-2", nil, "")
	f("", keyB, "team-b-1", nil, "")
	f("bearer "+keyB, "", "team-b-1", nil, "")
	f("BEARER "+keyB, "", "team-b-1", nil, "")
	f("BeArEr \t "+keyB, "", "team-b-1", nil, "")
	f("  Bearer "+keyA1+" \t", "", "team-a-1", nil, "")
	f("", " \t"+keyA1+"  ", "team-a-1", nil, "")

	f("", "", "", auth.ErrNoCredentials, noKey)
	f(" \t ", "  ", "", auth.ErrNoCredentials, noKey)
	f("Bearer "+keyA1+"x", "", "", auth.ErrBadCredentials, unknown)
	f("Bearer "+keyA1[1:], "", "", auth.ErrBadCredentials, unknown)
	f("", keyA1[:len(keyA1)-1], "", auth.ErrBadCredentials, unknown)
	f("", "x", "", auth.ErrBadCredentials, unknown)
	f("Bearer "+strings.ToUpper(keyA1), "", "", auth.ErrBadCredentials, unknown)
	f("Bearer "+keyA1+" "+keyA2, "", "", auth.ErrBadCredentials, unknown)
	f("Bearer "+auth.HashKey(keyA1), "", "", auth.ErrBadCredentials, unknown) // the hash is not the key
	f("Bearer "+adminToken, "", "", auth.ErrBadCredentials, unknown)          // nor is the admin token
	f("Bearer", "", "", auth.ErrBadCredentials, emptyToken)
	f("Bearer   ", "", "", auth.ErrBadCredentials, emptyToken)
	f("Basic dXNlcjpwYXNz", "", "", auth.ErrBadCredentials, notBearer)
	f("Token "+keyA1, "", "", auth.ErrBadCredentials, notBearer)
	f("Bearer:"+keyA1, "", "", auth.ErrBadCredentials, notBearer)
	f("Bearerx "+keyA1, "", "", auth.ErrBadCredentials, notBearer)
	f(keyA1, "", "", auth.ErrBadCredentials, notBearer)
	f("Bearer "+keyA1, keyA1, "", auth.ErrBadCredentials, twoKeys)
	f("Bearer "+keyA1, keyB, "", auth.ErrBadCredentials, twoKeys)
}

func TestAuthenticateOff(t *testing.T) {
	t.Parallel()
	c := testConfig()
	c.Mode = auth.ModeOff
	a := newAuthenticator(t, c)
	if a.Enabled() {
		t.Fatal("Enabled() = true in mode off")
	}
	for _, h := range [][2]string{{"", ""}, {"Basic x", ""}, {"Bearer " + keyA1, ""}, {"", "wrong"}} {
		k, err := a.Authenticate([]byte(h[0]), []byte(h[1]))
		if err != nil {
			t.Fatalf("Authenticate(%q, %q): %v", h[0], h[1], err)
		}
		if k.ID() != "anonymous" || k.Tenant() != "" || !k.MayCall([]byte("anything")) {
			t.Errorf("Authenticate(%q, %q) = key %q of tenant %q; want anonymous, every route", h[0], h[1], k.ID(), k.Tenant())
		}
		for range 1000 {
			if ok, _ := k.Allow(testStart); !ok {
				t.Fatal("the anonymous key is rate limited")
			}
		}
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	c := testConfig()
	c.Keys[0].SHA256 = "nope"
	if _, err := auth.New(c, testRoutes); err == nil || !strings.HasPrefix(err.Error(), "auth.keys[team-a-1].sha256: ") {
		t.Errorf("New: %v", err)
	}
	c = testConfig()
	if _, err := auth.New(c, []string{"fraud"}); err == nil || !strings.Contains(err.Error(), `unknown route "customer-churn"`) {
		t.Errorf("New with fewer routes: %v", err)
	}
}

func TestKeyTenantAndMayCall(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t, testConfig())
	f := func(key, wantTenant string, routes map[string]bool) {
		t.Helper()
		k, err := a.Authenticate(nil, []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if k.Tenant() != wantTenant {
			t.Errorf("%s: Tenant() = %q, want %q", k.ID(), k.Tenant(), wantTenant)
		}
		for r, want := range routes {
			if got := k.MayCall([]byte(r)); got != want {
				t.Errorf("%s: MayCall(%q) = %t, want %t", k.ID(), r, got, want)
			}
		}
	}
	f(keyA1, "team-a", map[string]bool{"customer-churn": true, "fraud": true, "ranker": false, "": false, "*": false, "Fraud": false, "fraud ": false})
	f(keyA2, "team-a", map[string]bool{"customer-churn": true, "ranker": false})
	f(keyB, "team-b", map[string]bool{"customer-churn": true, "fraud": true, "ranker": true, "not-configured-yet": true})
}

func TestHashKey(t *testing.T) {
	t.Parallel()
	// sha256("test"), as `printf test | sha256sum` prints it.
	if got, want := auth.HashKey("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; got != want {
		t.Errorf("HashKey(test) = %s, want %s", got, want)
	}
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		key, hash, err := auth.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(key, "ig_")
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if !ok || err != nil || len(raw) != 32 || len(key) != 46 {
			t.Fatalf("NewKey() = %q: want ig_ and 32 bytes in unpadded base64url (%v)", key, err)
		}
		sum := sha256.Sum256([]byte(key))
		if hash != hex.EncodeToString(sum[:]) || hash != auth.HashKey(key) {
			t.Fatalf("NewKey() hash %s is not the SHA-256 of %s", hash, key)
		}
		if seen[key] {
			t.Fatalf("NewKey() made %s twice", key)
		}
		seen[key] = true
	}
	// A new key goes through the config and authenticates.
	key, hash, _ := auth.NewKey()
	c := testConfig()
	c.Keys = append(c.Keys, auth.KeyConfig{ID: "new", SHA256: hash, Tenant: "team-b"})
	if k, err := newAuthenticator(t, c).Authenticate([]byte("Bearer "+key), nil); err != nil || k.ID() != "new" {
		t.Errorf("a new key: %v, %v", k, err)
	}
}

func TestLogStartup(t *testing.T) {
	t.Parallel()
	f := func(mode, want string) {
		t.Helper()
		c := testConfig()
		c.Mode = mode
		var buf bytes.Buffer
		newAuthenticator(t, c).LogStartup(slog.New(slog.NewTextHandler(&buf, nil)))
		if !strings.Contains(buf.String(), want) {
			t.Errorf("mode %s: the startup log\n%s\ndoes not say %q", mode, buf.String(), want)
		}
	}
	f("keys", `level=INFO msg="auth: requests need an API key" keys=3 tenants=2`)
	f("off", `level=WARN msg="auth is off (auth.mode: off): every request is allowed without an API key`)
}
