package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/promtext"
)

// Action kinds.
const (
	// ActionLog logs the drift at level WARN.
	ActionLog = "log"
	// ActionWebhook POSTs the Event as JSON to a URL.
	ActionWebhook = "webhook"
	// ActionCommand runs a command (a retrain, say) with the Event as JSON
	// on its standard input.
	ActionCommand = "command"
)

// Defaults of ActionConfig.
const (
	DefaultActionInterval = time.Minute
	DefaultActionCooldown = time.Hour
	DefaultWebhookTimeout = 10 * time.Second
	DefaultCommandTimeout = time.Hour
)

// maxLoggedOutput bounds the command output a log line carries.
const maxLoggedOutput = 4096

// ActionConfig says what a Watcher does when a model version drifts.
type ActionConfig struct {
	// Kind is "log", "webhook" or "command". Default log. Every kind logs
	// the drift; webhook and command also do what they say.
	Kind string `yaml:"kind"`
	// URL receives the webhook's POST (kind webhook).
	URL string `yaml:"url"`
	// Command is the program and its arguments (kind command), run without
	// a shell; the Event arrives as JSON on its standard input, and
	// INFERGATE_DRIFT_ROUTE, INFERGATE_DRIFT_VERSION and
	// INFERGATE_DRIFT_FEATURES (comma-separated) in its environment.
	Command []string `yaml:"command"`
	// Timeout bounds a webhook call or a command's run. Default 10s for a
	// webhook, 1h for a command.
	Timeout time.Duration `yaml:"timeout"`
	// Cooldown is the least time between two actions: a drift episode that
	// starts sooner is acted on when the cooldown ends, if it lasts that
	// long. Default 1h.
	Cooldown time.Duration `yaml:"cooldown"`
	// Interval is how often the report is evaluated. Default 1m.
	Interval time.Duration `yaml:"interval"`
}

// ApplyDefaults fills the fields left at zero.
func (c *ActionConfig) ApplyDefaults() {
	defaults.Set(&c.Kind, ActionLog)
	if c.Kind == ActionCommand {
		defaults.Set(&c.Timeout, DefaultCommandTimeout)
	} else {
		defaults.Set(&c.Timeout, DefaultWebhookTimeout)
	}
	defaults.Set(&c.Cooldown, DefaultActionCooldown)
	defaults.Set(&c.Interval, DefaultActionInterval)
}

// Validate reports the first invalid field of a config with defaults applied.
func (c *ActionConfig) Validate() error {
	switch c.Kind {
	case ActionLog:
	case ActionWebhook:
		u, err := url.Parse(c.URL)
		if err != nil {
			return fmt.Errorf("drift.action.url: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("drift.action.url: %q must be an http:// or https:// URL", c.URL)
		}
	case ActionCommand:
		if len(c.Command) == 0 || c.Command[0] == "" {
			return errors.New(`drift.action.command: must name a program, e.g. ["/usr/local/bin/retrain", "--model", "churn"]`)
		}
	default:
		return fmt.Errorf("drift.action.kind: unknown kind %q (want log, webhook or command)", c.Kind)
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("drift.action.timeout: %s must not be negative", c.Timeout)
	case c.Cooldown < 0:
		return fmt.Errorf("drift.action.cooldown: %s must not be negative", c.Cooldown)
	case c.Interval <= 0:
		return fmt.Errorf("drift.action.interval: %s must be positive", c.Interval)
	}
	return nil
}

// Source is what a Watcher evaluates; a *Monitor is one.
type Source interface {
	Report(now time.Time) Report
}

var _ Source = (*Monitor)(nil)

// Event is what an action receives: the webhook's body, the command's
// standard input.
type Event struct {
	Route   string `json:"route"`
	Version string `json:"version"`
	Report  Report `json:"report"`
}

// Watcher evaluates a model version's drift report every Interval, off the
// request path, and runs its action when the overall verdict becomes drift:
// once per drift episode (a run of checks whose verdict is drift), and not
// twice within Cooldown. An action's failure is logged and counted; it does
// not shorten the cooldown, so a failing retrain is not retried at every
// check.
type Watcher struct {
	src     Source
	route   string
	version string
	cfg     ActionConfig
	log     *slog.Logger
	client  *http.Client

	mu        sync.Mutex // serialises Check
	drifting  bool       // the last check's verdict was drift
	pending   bool       // the current episode's action has not run yet
	lastFired time.Time  // zero: never

	ok     atomic.Uint64
	failed atomic.Uint64
}

// NewWatcher returns a watcher of src, the monitor of route's version.
// cfg's zero fields take their defaults; log nil means slog.Default().
func NewWatcher(src Source, route, version string, cfg ActionConfig, log *slog.Logger) (*Watcher, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{
		src: src, route: route, version: version, cfg: cfg, log: log,
		client: &http.Client{Timeout: cfg.Timeout},
	}, nil
}

// Run calls Check every Interval until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, _ = w.Check(ctx, now) // Check logs what went wrong
		}
	}
}

// Check evaluates the report at now once, and runs the action when a drift
// episode is on and not yet acted on, and the cooldown since the last
// action has passed. It reports whether it ran the action, and the action's
// error.
func (w *Watcher) Check(ctx context.Context, now time.Time) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.src.Report(now)
	if r.Verdict != Drift {
		w.drifting, w.pending = false, false
		return false, nil
	}
	if !w.drifting {
		w.drifting, w.pending = true, true
	}
	if !w.pending || (!w.lastFired.IsZero() && now.Sub(w.lastFired) < w.cfg.Cooldown) {
		return false, nil
	}
	w.pending, w.lastFired = false, now
	err := w.act(ctx, &Event{Route: w.route, Version: w.version, Report: r})
	if err != nil {
		w.failed.Add(1)
		w.log.Error("drift action failed", "route", w.route, "version", w.version, "action", w.cfg.Kind, "err", err)
		return true, err
	}
	w.ok.Add(1)
	return true, nil
}

func (w *Watcher) act(ctx context.Context, ev *Event) error {
	r := &ev.Report
	w.log.Warn("model drift detected", "route", w.route, "version", w.version,
		"drifted", r.Drifted, "score", r.Score.Verdict, "samples", r.Samples, "action", w.cfg.Kind)
	if w.cfg.Kind == ActionLog {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("cannot encode drift event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if w.cfg.Kind == ActionWebhook {
		return w.post(ctx, body)
	}
	return w.run(ctx, body, r.Drifted)
}

func (w *Watcher) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cannot make the drift webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("drift webhook %s: %w", w.cfg.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	_ = resp.Body.Close()                                         // the status is the answer; a read error changes nothing
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("drift webhook %s answered %s", w.cfg.URL, resp.Status)
	}
	return nil
}

func (w *Watcher) run(ctx context.Context, body []byte, drifted []string) error {
	cmd := exec.CommandContext(ctx, w.cfg.Command[0], w.cfg.Command[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(),
		"INFERGATE_DRIFT_ROUTE="+w.route,
		"INFERGATE_DRIFT_VERSION="+w.version,
		"INFERGATE_DRIFT_FEATURES="+strings.Join(drifted, ","))
	// A killed command's children may hold its output open: stop waiting
	// for them soon after.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if len(out) > maxLoggedOutput {
		out = append(out[:maxLoggedOutput:maxLoggedOutput], "…"...)
	}
	if err != nil {
		return fmt.Errorf("drift command %q: %w; output: %s", w.cfg.Command, err, out)
	}
	w.log.Info("drift command finished", "route", w.route, "version", w.version, "command", w.cfg.Command, "output", string(out))
	return nil
}

// Actions returns the number of actions run that succeeded and that failed.
func (w *Watcher) Actions() (ok, failed uint64) { return w.ok.Load(), w.failed.Load() }

// RegisterMetrics adds the watcher's counters to set:
//
//	infergate_drift_actions_total{route,version,kind,result="ok"|"error"}
func (w *Watcher) RegisterMetrics(set *metrics.Set) {
	lbl := `route="` + promtext.EscapeLabel(w.route) + `",version="` + promtext.EscapeLabel(w.version) +
		`",kind="` + promtext.EscapeLabel(w.cfg.Kind) + `"`
	set.NewGauge(`infergate_drift_actions_total{`+lbl+`,result="ok"}`, func() float64 { return float64(w.ok.Load()) })
	set.NewGauge(`infergate_drift_actions_total{`+lbl+`,result="error"}`, func() float64 { return float64(w.failed.Load()) })
}
