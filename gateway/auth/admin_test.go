package auth_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway/auth"
)

func newAdmin(t *testing.T, cfg auth.AdminConfig) *auth.Admin {
	t.Helper()
	a, err := auth.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

func TestAdminCheck(t *testing.T) {
	t.Parallel()
	a := newAdmin(t, auth.AdminConfig{Mode: "token", TokenSHA256: auth.HashKey(adminToken), AuditLog: "-"})
	if !a.Enabled() || a.Who() != "admin" {
		t.Errorf("token mode: Enabled %t, Who %q", a.Enabled(), a.Who())
	}
	f := func(authorization string, wantErr error, wantMsg string) {
		t.Helper()
		err := a.Check([]byte(authorization))
		if wantErr == nil {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", authorization, err)
			}
			return
		}
		if !errors.Is(err, wantErr) || err.Error() != wantMsg {
			t.Errorf("Check(%q) = %v, want %v: %s", authorization, err, wantErr, wantMsg)
		}
	}
	const (
		none      = `no admin token: send it as "Authorization: Bearer TOKEN"`
		wrong     = "the admin token is not valid; it is the token whose hash is auth.admin.token_sha256"
		notBearer = `the Authorization header must be "Bearer TOKEN" with the admin token`
	)
	f("Bearer "+adminToken, nil, "")
	f("bearer \t"+adminToken+" ", nil, "")
	f("", auth.ErrNoCredentials, none)
	f("  ", auth.ErrNoCredentials, none)
	f("Bearer "+keyA1, auth.ErrBadCredentials, wrong)
	f("Bearer "+adminToken[:len(adminToken)-1], auth.ErrBadCredentials, wrong)
	f("Bearer "+auth.HashKey(adminToken), auth.ErrBadCredentials, wrong)
	f("Bearer", auth.ErrBadCredentials, notBearer)
	f("Basic "+adminToken, auth.ErrBadCredentials, notBearer)
	f(adminToken, auth.ErrBadCredentials, notBearer)

	off := newAdmin(t, auth.AdminConfig{Mode: "off", AuditLog: "-"})
	if off.Enabled() || off.Who() != "admin-off" {
		t.Errorf("mode off: Enabled %t, Who %q", off.Enabled(), off.Who())
	}
	for _, h := range []string{"", "Bearer wrong", "Basic x"} {
		if err := off.Check([]byte(h)); err != nil {
			t.Errorf("mode off: Check(%q) = %v", h, err)
		}
	}
}

func TestNewAdminRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	f := func(cfg auth.AdminConfig, want string) {
		t.Helper()
		if _, err := auth.NewAdmin(cfg); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("NewAdmin(%+v) = %v, want %s…", cfg, err, want)
		}
	}
	f(auth.AdminConfig{Mode: "token", AuditLog: "-"}, "auth.admin.token_sha256: must be set in token mode")
	f(auth.AdminConfig{Mode: "token", TokenSHA256: adminToken, AuditLog: "-"}, "auth.admin.token_sha256: is not a hex SHA-256")
	f(auth.AdminConfig{Mode: "", AuditLog: "-"}, `auth.admin.mode: "" is not token or off`)
	f(auth.AdminConfig{Mode: "off", AuditLog: "/dev/null/audit.log"}, "cannot create the folder of auth.admin.audit_log: ")
}

func TestAudit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "logs", "audit.log")
	a := newAdmin(t, auth.AdminConfig{Mode: "token", TokenSHA256: auth.HashKey(adminToken), AuditLog: path})
	at := time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
	long := strings.Repeat("é", 600) // 1200 bytes: cut at 1024, a character boundary
	entries := []auth.AuditEntry{
		{Time: at, RemoteAddr: "10.0.0.1:5000", Method: "POST", Path: "/v1/routes/churn/canary", Body: []byte(`{"weight": 20}`), Status: 200, Result: "ok"},
		{Time: at, RemoteAddr: "10.0.0.2:5000", Method: "POST", Path: "/v1/routes/x/canary", Body: []byte(long), Status: 409, Result: `route "x" has no canary`},
		{Time: at, Method: "POST", Path: "/p", Body: []byte(`{"note": "Authorization: Bearer s3cret", "key": "` + keyA1[:3] + strings.Repeat("A", 43) + `"}`), Status: 400, Result: "bad"},
		{Method: "DELETE", Path: "/now", Status: 204, Result: "ok"},
	}
	for _, e := range entries {
		a.Audit(e)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("the audit log has mode %o, want 600", perm)
	}
	if dir, err := os.Stat(filepath.Dir(path)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("the audit log's folder: %v, %v; want mode 700", dir.Mode(), err)
	}
	type line struct {
		Time          string `json:"time"`
		Who           string `json:"who"`
		RemoteAddr    string `json:"remote_addr"`
		Method        string `json:"method"`
		Path          string `json:"path"`
		Body          string `json:"body"`
		BodyTruncated bool   `json:"body_truncated"`
		Status        int    `json:"status"`
		Result        string `json:"result"`
	}
	lines := readLines(t, path)
	if len(lines) != len(entries) {
		t.Fatalf("%d lines, want %d", len(lines), len(entries))
	}
	var got []line
	for i, l := range lines {
		var v line
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d is not an entry: %v\n%s", i+1, err, l)
		}
		got = append(got, v)
	}
	const atUTC = "2026-03-01T11:30:00.123456789Z"
	f := func(i int, want line) {
		t.Helper()
		if got[i] != want {
			t.Errorf("line %d:\ngot  %+v\nwant %+v", i+1, got[i], want)
		}
	}
	f(0, line{atUTC, "admin", "10.0.0.1:5000", "POST", "/v1/routes/churn/canary", `{"weight": 20}`, false, 200, "ok"})
	f(1, line{atUTC, "admin", "10.0.0.2:5000", "POST", "/v1/routes/x/canary", strings.Repeat("é", 512), true, 409, `route "x" has no canary`})
	f(2, line{atUTC, "admin", "", "POST", "/p", `{"note": "Authorization: Bearer [redacted]", "key": "ig_[redacted]"}`, false, 400, "bad"})
	if now, err := time.Parse(time.RFC3339Nano, got[3].Time); err != nil || time.Since(now) > time.Minute || got[3].Status != 204 {
		t.Errorf("line 4: %+v (%v), want the time now", got[3], err)
	}

	// Reopened, it appends.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := newAdmin(t, auth.AdminConfig{Mode: "off", AuditLog: path})
	b.Audit(auth.AuditEntry{Method: "POST", Path: "/again", Status: 200, Result: "ok"})
	lines = readLines(t, path)
	if len(lines) != len(entries)+1 || !strings.Contains(lines[len(entries)], `"who":"admin-off"`) {
		t.Errorf("after reopening in mode off:\n%s", strings.Join(lines, "\n"))
	}
}

// TestAuditConcurrent: concurrent entries are whole lines.
func TestAuditConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	a := newAdmin(t, auth.AdminConfig{Mode: "off", AuditLog: path})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				a.Audit(auth.AuditEntry{Method: "POST", Path: "/x", Body: bytes.Repeat([]byte("b"), 2000), Status: 200, Result: "ok"})
			}
		})
	}
	wg.Wait()
	lines := readLines(t, path)
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %.80s…", i+1, l)
		}
	}
}

// TestAuditFailureIsLogged: a write that fails is logged, and Audit goes on.
func TestAuditFailureIsLogged(t *testing.T) {
	// Not parallel: it replaces slog's default logger.
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(prev)

	a, err := auth.NewAdmin(auth.AdminConfig{Mode: "off", AuditLog: filepath.Join(t.TempDir(), "audit.log")})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a.Audit(auth.AuditEntry{Method: "POST", Path: "/v1/routes/r/canary", Body: []byte("Bearer s3cret"), Status: 200, Result: "ok"})
	got := buf.String()
	if !strings.Contains(got, `level=ERROR msg="cannot write to the audit log (auth.admin.audit_log)"`) ||
		!strings.Contains(got, `path=/v1/routes/r/canary`) || !strings.Contains(got, `err="the audit log is closed"`) {
		t.Errorf("the log says:\n%s", got)
	}
	if strings.Contains(got, "s3cret") {
		t.Errorf("the log holds the body:\n%s", got)
	}
	if err := a.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestAdminLogStartup(t *testing.T) {
	t.Parallel()
	f := func(cfg auth.AdminConfig, want string) {
		t.Helper()
		var buf bytes.Buffer
		newAdmin(t, cfg).LogStartup(slog.New(slog.NewTextHandler(&buf, nil)))
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the startup log\n%s\ndoes not say %q", buf.String(), want)
		}
	}
	f(auth.AdminConfig{Mode: "token", TokenSHA256: auth.HashKey(adminToken), AuditLog: "-"}, `level=INFO msg="admin API: requests need the admin token" audit_log=-`)
	f(auth.AdminConfig{Mode: "off", AuditLog: "-"}, `level=WARN msg="the admin API is open (auth.admin.mode: off)`)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
