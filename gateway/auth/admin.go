package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"
)

// The "who" of audit entries: the holder of the admin token, or anyone when
// the admin API is open.
const (
	WhoAdmin    = "admin"
	WhoAdminOff = "admin-off"
)

// maxAuditBody is how much of a request body an audit entry keeps.
const maxAuditBody = 1 << 10

// Admin guards the admin API with the admin token and keeps the audit log.
// It is safe for concurrent use.
type Admin struct {
	off  bool
	hash [sha256.Size]byte
	path string

	mu     sync.Mutex // guards what follows
	w      io.Writer
	file   *os.File // nil for standard error
	closed bool
	line   []byte
}

// AuditEntry is one mutating admin call, as the admin handler saw it.
type AuditEntry struct {
	// Time the call was made; zero is now.
	Time       time.Time
	RemoteAddr string
	Method     string
	Path       string
	// Body is the request body: Audit keeps its first KiB, with anything
	// that looks like a key or a Bearer token blanked out. Request headers
	// are never written.
	Body []byte
	// Status is the HTTP status answered.
	Status int
	// Result says what came of the call: "ok", or the error message.
	Result string
}

// auditLine is an AuditEntry as written, one JSON object per line.
type auditLine struct {
	Time          string `json:"time"`
	Who           string `json:"who"`
	RemoteAddr    string `json:"remote_addr"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Body          string `json:"body"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
	Status        int    `json:"status"`
	Result        string `json:"result"`
}

// NewAdmin checks cfg (after ApplyDefaults) and opens its audit log for
// appending, creating the file with mode 0600 and its folder with 0700 when
// they do not exist. Close closes the log.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if err := errors.Join(cfg.validate(nil, nil)...); err != nil {
		return nil, err
	}
	a := &Admin{off: cfg.Mode == ModeOff, path: cfg.AuditLog}
	if !a.off {
		if _, err := hex.Decode(a.hash[:], []byte(cfg.TokenSHA256)); err != nil {
			return nil, fmt.Errorf("BUG: auth.admin.token_sha256 passed validate but does not decode: %w", err)
		}
	}
	if cfg.AuditLog == "-" {
		a.w = os.Stderr
		return a, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.AuditLog), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the folder of auth.admin.audit_log: %w", err)
	}
	f, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open auth.admin.audit_log: %w", err)
	}
	a.w, a.file = f, f
	return a, nil
}

// Close closes the audit log; later Audit calls are logged as failures.
func (a *Admin) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	if a.file == nil {
		return nil
	}
	if err := a.file.Close(); err != nil {
		return fmt.Errorf("cannot close the audit log: %w", err)
	}
	return nil
}

// Enabled reports whether admin calls need the token; false in
// auth.admin.mode off.
func (a *Admin) Enabled() bool { return !a.off }

// Who is the "who" of the audit entries: WhoAdmin, or WhoAdminOff when the
// admin API is open.
func (a *Admin) Who() string {
	if a.off {
		return WhoAdminOff
	}
	return WhoAdmin
}

// LogStartup says at startup how the admin API is guarded: a warning when
// it is open.
func (a *Admin) LogStartup(log *slog.Logger) {
	if a.off {
		log.Warn("the admin API is open (auth.admin.mode: off): whoever reaches server.admin_listen may change routes", "audit_log", a.path)
		return
	}
	log.Info("admin API: requests need the admin token", "audit_log", a.path)
}

// Check checks the admin token in an Authorization value ("Bearer TOKEN"):
// an error of class ErrNoCredentials when there is none, ErrBadCredentials
// when it is wrong or not Bearer. The comparison is of SHA-256 digests in
// constant time, as Authenticate's. Always nil in auth.admin.mode off.
func (a *Admin) Check(authorization []byte) error {
	if a.off {
		return nil
	}
	return checkToken(authorization, &a.hash)
}

// Audit appends e to the audit log as one JSON line, written to the file
// (one write call, not synced to disk: a crash of the process loses
// nothing, one of the machine may) before it returns. A failure is logged
// with slog's default logger; Audit never panics.
func (a *Admin) Audit(e AuditEntry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	body, truncated := auditBody(e.Body)
	line := auditLine{
		Time:          e.Time.UTC().Format(time.RFC3339Nano),
		Who:           a.Who(),
		RemoteAddr:    e.RemoteAddr,
		Method:        e.Method,
		Path:          e.Path,
		Body:          body,
		BodyTruncated: truncated,
		Status:        e.Status,
		Result:        e.Result,
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.write(&line)
	if err != nil {
		slog.Error("cannot write to the audit log (auth.admin.audit_log)", "audit_log", a.path,
			"method", e.Method, "path", e.Path, "status", e.Status, "err", err)
	}
}

// write writes one line with one Write call, so that lines of concurrent
// processes appending to one file do not interleave. a.mu is held.
func (a *Admin) write(line *auditLine) error {
	if a.closed {
		return errors.New("the audit log is closed")
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("cannot encode the entry: %w", err)
	}
	a.line = append(append(a.line[:0], b...), '\n')
	_, err = a.w.Write(a.line)
	return err
}

// Secrets that a body may hold by mistake, and that the audit log must not
// keep: Bearer credentials and keys in NewKey's format.
var (
	bearerRE = regexp.MustCompile(`(?i)(bearer[ \t]+)[^\s"',;]+`)
	keyRE    = regexp.MustCompile(KeyPrefix + `[A-Za-z0-9_-]{43}`)
)

// auditBody is what the audit log keeps of a request body: secrets blanked
// out, then the first KiB, cut at a character boundary.
func auditBody(body []byte) (string, bool) {
	b := body
	// The searches first: regexp is slow, and most bodies hold neither.
	if bytes.Contains(bytes.ToLower(b), []byte("bearer")) {
		b = bearerRE.ReplaceAll(b, []byte("${1}[redacted]"))
	}
	if bytes.Contains(b, []byte(KeyPrefix)) {
		b = keyRE.ReplaceAll(b, []byte(KeyPrefix+"[redacted]"))
	}
	if len(b) <= maxAuditBody {
		return string(b), false
	}
	n := maxAuditBody
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]), true
}
