package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/bench/report"
	"github.com/infergate/infergate/bench/target"
	"github.com/infergate/infergate/runtime"
)

// Options are how a scenario is run, beside what it says itself.
type Options struct {
	// Infergate is the binary that serves the scenario's infergate
	// servers. Default: the running executable.
	Infergate string
	// Progress receives the progress line; nil for none.
	Progress io.Writer
	// LogDir keeps each started server's log; "" discards them (the last
	// lines still appear in the error of a server that fails to start).
	LogDir string
	// Version is infergate's version, for the report.
	Version string
	// Log receives what the harness does (servers started, steps begun).
	Log *slog.Logger
}

// Run runs sc: it starts its servers, applies each step to every target in
// turn, stops the servers and returns the report. ctx cancels the run; the
// report then holds the steps that finished.
func Run(ctx context.Context, sc *Scenario, opts Options) (rep *report.Report, err error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Infergate == "" {
		if opts.Infergate, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("cannot find the infergate binary to start servers: %w", err)
		}
	}
	started := time.Now()
	rep = &report.Report{
		Title:    sc.Name,
		Scenario: sc.Name,
		Started:  started,
		Machine:  report.DetectMachine(),
	}
	rep.Machine.InfergateVersion = opts.Version
	rep.Machine.ORTVersion = runtime.LibraryVersion
	for _, c := range sc.Comparisons {
		rep.Comparisons = append(rep.Comparisons, report.Comparison{Name: c.Name, A: c.A, B: c.B})
	}

	servers := make(map[string]*server, len(sc.Servers))
	defer func() {
		for _, s := range servers {
			err = errors.Join(err, s.stop())
		}
	}()
	for _, cfg := range sc.Servers {
		s, err := startServer(ctx, cfg, opts)
		if err != nil {
			return rep, err
		}
		servers[cfg.Name] = s
		opts.Log.Info("server ready", "server", cfg.Name, "addr", s.addr)
	}

	targets := make([]namedTarget, 0, len(sc.Targets))
	defer func() {
		for _, t := range targets {
			err = errors.Join(err, t.close())
		}
	}()
	maxConns := maxConcurrency(sc)
	for i := range sc.Targets {
		t, err := buildTarget(&sc.Targets[i], servers, maxConns)
		if err != nil {
			return rep, fmt.Errorf("targets[%s]: %w", sc.Targets[i].Name, err)
		}
		targets = append(targets, t)
	}

	progress := report.NewProgress(progressWriter(opts.Progress))
	for _, step := range sc.Steps {
		loads, err := step.Loads()
		if err != nil {
			return rep, err
		}
		for _, l := range loads {
			l.Warmup, l.Window, l.MaxWindows, l.Tolerance = sc.Warmup, sc.Window, sc.MaxWindows, sc.Tolerance
			name := label(l)
			for _, t := range targets {
				opts.Log.Info("step", "target", t.name, "load", name)
				res, err := loadgen.Run(ctx, t, l, func(p loadgen.Progress) { progress.Update(t.name, name, p) })
				progress.Done()
				if res != nil {
					rep.Steps = append(rep.Steps, report.Step{Target: t.name, Label: name, Result: res})
				}
				if err != nil {
					return rep, fmt.Errorf("target %s, %s: %w", t.name, name, err)
				}
			}
		}
	}
	rep.Duration = time.Since(started)
	return rep, nil
}

// namedTarget is a built target and what frees it.
type namedTarget struct {
	loadgen.Target
	name  string
	close func() error
}

func buildTarget(cfg *TargetConfig, servers map[string]*server, maxConns int) (namedTarget, error) {
	if cfg.Runtime != nil {
		rt, err := target.NewRuntime(target.RuntimeConfig{ModelPath: cfg.Runtime.Model, Sessions: cfg.Runtime.Sessions})
		if err != nil {
			return namedTarget{}, err
		}
		return namedTarget{Target: rt, name: cfg.Name, close: rt.Close}, nil
	}
	url, adminURL := cfg.URL, ""
	if cfg.Server != "" {
		s := servers[cfg.Server]
		url = "http://" + s.addr + cfg.Path
		if s.adminAddr != "" {
			adminURL = "http://" + s.adminAddr
		}
	}
	body, err := buildBody(&cfg.Body, adminURL)
	if err != nil {
		return namedTarget{}, fmt.Errorf("body: %w", err)
	}
	h, err := target.NewHTTP(target.HTTPConfig{
		URL:         url,
		Method:      cfg.Method,
		Body:        body,
		ContentType: "application/json",
		Timeout:     cfg.Timeout,
		MaxConns:    maxConns,
		Headers:     cfg.Headers,
	})
	if err != nil {
		return namedTarget{}, err
	}
	return namedTarget{Target: h, name: cfg.Name, close: h.Close}, nil
}

func buildBody(b *BodyConfig, adminURL string) (target.BodySource, error) {
	switch {
	case b.Dataset != "":
		return target.Dataset(b.Dataset, b.ModelID, b.Drop)
	case b.Template != "":
		return target.Template(b.Template)
	case b.File != "":
		data, err := os.ReadFile(b.File)
		if err != nil {
			return nil, err
		}
		return target.Fixed(data), nil
	case b.Signature:
		if adminURL == "" {
			return nil, errors.New("signature: the server has no admin API")
		}
		return target.Signature(adminURL, b.ModelID, b.Rows, 1)
	default:
		return target.Fixed([]byte(b.Fixed)), nil
	}
}

// maxConcurrency is the most connections any step may hold open: the largest
// client count, and room for open-model bursts.
func maxConcurrency(sc *Scenario) int {
	n := 512
	for i := range sc.Steps {
		loads, _ := sc.Steps[i].Loads()
		for _, l := range loads {
			n = max(n, l.Concurrency)
		}
	}
	return n
}

// progressWriter drops progress when w is nil.
func progressWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
