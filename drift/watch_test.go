package drift

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// sourceFunc is a Source scripted by the test.
type sourceFunc func(now time.Time) Report

func (f sourceFunc) Report(now time.Time) Report { return f(now) }

// byMinute returns a Source whose verdict at minute i (since testStart) is
// script[i], and none past its end.
func byMinute(script string) Source {
	return sourceFunc(func(now time.Time) Report {
		i := int(now.Sub(testStart) / time.Minute)
		if i >= 0 && i < len(script) && script[i] == 'D' {
			return Report{Time: now, Verdict: Drift, Drifted: []string{"a"}}
		}
		return Report{Time: now, Verdict: None}
	})
}

// captureHandler keeps the log records, for tests to read.
type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *captureHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		out = append(out, r.Message)
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The watcher acts once per drift episode, and not twice within the
// cooldown: an episode that starts sooner waits for it, and is dropped if
// it ends first.
func TestWatcherEpisodesAndCooldown(t *testing.T) {
	t.Parallel()
	// Minute by minute: D drift, . none.
	script := "" +
		".DD.DD" + strings.Repeat("D", 55) + // 0–60: episode 1 fires at 1; episode 2 starts at 4, waits for the cooldown (61)
		"DD.D." + strings.Repeat(".", 59) + // 61–125: episode 3 starts at 64 and ends at 65 within the cooldown: dropped
		"DD" // 125–126: episode 4 fires at 125
	w, err := NewWatcher(byMinute(script), "churn", "1.0.0", ActionConfig{Cooldown: time.Hour}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	var fired []int
	for i := range len(script) + 3 {
		ok, err := w.Check(t.Context(), testStart.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("minute %d: %v", i, err)
		}
		if ok {
			fired = append(fired, i)
		}
	}
	if want := []int{1, 61, 125}; !slices.Equal(fired, want) {
		t.Errorf("fired at minutes %v, want %v", fired, want)
	}
	if ok, failed := w.Actions(); ok != 3 || failed != 0 {
		t.Errorf("actions ok %d, failed %d; want 3, 0", ok, failed)
	}
}

func TestWatcherLogAction(t *testing.T) {
	t.Parallel()
	h := &captureHandler{}
	w, err := NewWatcher(byMinute("D"), "churn", "1.0.0", ActionConfig{}, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Check(t.Context(), testStart); !ok || err != nil {
		t.Fatalf("Check = %t, %v; want true, nil", ok, err)
	}
	if msgs := h.messages(); len(msgs) != 1 || msgs[0] != "model drift detected" {
		t.Errorf("logged %q, want one \"model drift detected\"", msgs)
	}
}

// A real monitor fed a shifted sample drives a webhook, which receives the
// report.
func TestWatcherWebhook(t *testing.T) {
	t.Parallel()
	got := make(chan Event, 2)
	var status atomic.Int32
	status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		var ev Event
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got <- ev
		rw.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()

	m := newTestMonitor(t, MonitorConfig{SampleRate: 1})
	feed(m, genRows(rand.New(rand.NewPCG(20, 20)), 1000, 1, refMix), testStart)
	w, err := NewWatcher(m, "churn", "1.0.0", ActionConfig{Kind: ActionWebhook, URL: srv.URL + "/hook"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Check(t.Context(), testStart); !ok || err != nil {
		t.Fatalf("Check = %t, %v; want true, nil", ok, err)
	}
	ev := <-got
	if ev.Route != "churn" || ev.Version != "1.0.0" || ev.Report.Verdict != Drift || !slices.Equal(ev.Report.Drifted, []string{"a"}) ||
		ev.Report.Samples != 1000 || len(ev.Report.Features) != 3 {
		t.Errorf("webhook got route %q version %q verdict %s drifted %q samples %d; want churn 1.0.0 drift [a] 1000",
			ev.Route, ev.Version, ev.Report.Verdict, ev.Report.Drifted, ev.Report.Samples)
	}

	// A failing webhook is an error, counted, and not retried within the
	// episode.
	status.Store(http.StatusInternalServerError)
	w2, _ := NewWatcher(m, "churn", "1.0.0", ActionConfig{Kind: ActionWebhook, URL: srv.URL}, quietLogger())
	ok, err := w2.Check(t.Context(), testStart)
	<-got
	if !ok || err == nil || !strings.Contains(err.Error(), "answered 500 Internal Server Error") {
		t.Errorf("failing webhook: Check = %t, %v; want true and a 500 error", ok, err)
	}
	if ok, err := w2.Check(t.Context(), testStart.Add(time.Minute)); ok || err != nil {
		t.Errorf("second check in the episode = %t, %v; want false, nil", ok, err)
	}
	if ok, failed := w2.Actions(); ok != 0 || failed != 1 {
		t.Errorf("actions ok %d, failed %d; want 0, 1", ok, failed)
	}
}

func TestWatcherCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "event.json")
	env := filepath.Join(dir, "env.txt")
	script := `cat > '` + out + `'; echo "$INFERGATE_DRIFT_ROUTE $INFERGATE_DRIFT_VERSION $INFERGATE_DRIFT_FEATURES" > '` + env + `'; echo retrained`
	h := &captureHandler{}
	w, err := NewWatcher(byMinute("D"), "churn", "1.0.0", ActionConfig{Kind: ActionCommand, Command: []string{"/bin/sh", "-c", script}}, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Check(t.Context(), testStart); !ok || err != nil {
		t.Fatalf("Check = %t, %v; want true, nil", ok, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil || ev.Route != "churn" || ev.Report.Verdict != Drift {
		t.Errorf("the command's stdin: %v, route %q verdict %s; want churn, drift", err, ev.Route, ev.Report.Verdict)
	}
	if b, _ := os.ReadFile(env); string(b) != "churn 1.0.0 a\n" {
		t.Errorf("the command's environment: %q, want %q", b, "churn 1.0.0 a\n")
	}
	if msgs := h.messages(); len(msgs) != 2 || msgs[1] != "drift command finished" {
		t.Errorf("logged %q, want the detection and the command's output", msgs)
	}

	f := func(cfg ActionConfig, want string) {
		t.Helper()
		w, err := NewWatcher(byMinute("D"), "churn", "1.0.0", cfg, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		ok, err := w.Check(t.Context(), testStart)
		if !ok || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %t, %v; want true and an error containing %q", ok, err, want)
		}
	}
	f(ActionConfig{Kind: ActionCommand, Command: []string{"/bin/sh", "-c", "echo broken; exit 3"}}, "exit status 3; output: broken")
	f(ActionConfig{Kind: ActionCommand, Command: []string{"/bin/sh", "-c", "exec sleep 30"}, Timeout: 50 * time.Millisecond}, "signal: killed")
	f(ActionConfig{Kind: ActionCommand, Command: []string{filepath.Join(dir, "no-such-program")}}, "no such file")
}

// Run checks every Interval on the clock; in a synctest bubble the clock is
// fake, so the minutes pass at once.
func TestWatcherRun(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		// Drift in minutes [1, 3) and from 4 on; cooldown 10 minutes.
		src := sourceFunc(func(now time.Time) Report {
			m := now.Sub(start)
			if (m >= time.Minute && m < 3*time.Minute) || m >= 4*time.Minute {
				return Report{Verdict: Drift}
			}
			return Report{Verdict: None}
		})
		h := &captureHandler{}
		w, err := NewWatcher(src, "churn", "1.0.0", ActionConfig{Interval: time.Minute, Cooldown: 10 * time.Minute}, slog.New(h))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		time.Sleep(30*time.Minute + time.Second)
		synctest.Wait()
		cancel()
		<-done
		var at []time.Duration
		h.mu.Lock()
		for _, r := range h.recs {
			at = append(at, r.Time.Sub(start))
		}
		h.mu.Unlock()
		// The first episode fires at its first check (1m); the second
		// starts at 4m and waits for the cooldown (11m).
		if want := []time.Duration{time.Minute, 11 * time.Minute}; !slices.Equal(at, want) {
			t.Errorf("acted at %v, want %v", at, want)
		}
	})
}

func TestActionConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(cfg ActionConfig, want string) {
		t.Helper()
		_, err := NewWatcher(byMinute(""), "r", "v", cfg, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewWatcher(%+v) = %v, want an error containing %q", cfg, err, want)
		}
	}
	f(ActionConfig{Kind: "email"}, `drift.action.kind: unknown kind "email"`)
	f(ActionConfig{Kind: ActionWebhook}, `drift.action.url: "" must be an http:// or https:// URL`)
	f(ActionConfig{Kind: ActionWebhook, URL: "ftp://x/y"}, "must be an http:// or https:// URL")
	f(ActionConfig{Kind: ActionCommand}, "drift.action.command: must name a program")
	f(ActionConfig{Timeout: -time.Second}, "drift.action.timeout: -1s must not be negative")
	f(ActionConfig{Cooldown: -time.Second}, "drift.action.cooldown")
	f(ActionConfig{Interval: -time.Second}, "drift.action.interval")

	cfg := ActionConfig{Kind: ActionCommand, Command: []string{"true"}}
	cfg.ApplyDefaults()
	if cfg.Timeout != DefaultCommandTimeout || cfg.Cooldown != time.Hour || cfg.Interval != time.Minute {
		t.Errorf("command defaults = %+v", cfg)
	}
	cfg = ActionConfig{}
	cfg.ApplyDefaults()
	if cfg.Kind != ActionLog || cfg.Timeout != DefaultWebhookTimeout {
		t.Errorf("defaults = %+v", cfg)
	}
}
