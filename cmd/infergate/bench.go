package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/infergate/infergate/bench"
	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/bench/report"
	"github.com/infergate/infergate/configs"
)

const benchUsage = `infergate bench runs a load benchmark.

A scenario file (configs/bench/*.yaml) starts servers, loads several targets
side by side and compares them:

  infergate bench --scenario configs/bench/standard.yaml [--out DIR]

Or one target, given on the command line:

  infergate bench --url http://127.0.0.1:8080/v1/predictions --body '{"model_id":...}' --concurrency 64
  infergate bench --url URL --dataset rows.csv --model-id customer-churn --drop churned --rate 5000 [--arrival poisson]

The table goes to standard output; report.json and report.html to --out
(default bench/results/<time>-<scenario>/). --header 'Name: value' (again
for more) is sent with every HTTP request, on every target of a scenario
too: an API key, say. A scenario's steps may have thresholds (p99,
error_ratio, ratios against another target); the run then prints each
check, and exits 1 when one is broken.

Flags:
`

func runBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	scenarioPath := fs.String("scenario", "", "scenario file (configs/bench/*.yaml)")
	out := fs.String("out", "", "folder for report.json, report.html and server logs (default bench/results/<time>-<scenario>)")
	url := fs.String("url", "", "one target: this URL")
	method := fs.String("method", "POST", "one target: HTTP method")
	body := fs.String("body", "", "one target: fixed request body")
	bodyFile := fs.String("body-file", "", "one target: file holding a fixed request body")
	dataset := fs.String("dataset", "", "one target: CSV or JSONL rows that become /v1/predictions bodies")
	modelID := fs.String("model-id", "", "one target: the model_id of dataset rows")
	drop := fs.String("drop", "", "one target: comma-separated dataset columns to leave out (a label)")
	concurrency := fs.Int("concurrency", 0, "one target: closed model with this many clients")
	rate := fs.Float64("rate", 0, "one target: open model at this many requests per second")
	arrival := fs.String("arrival", "constant", "one target: open-model arrivals, constant or poisson")
	warmup := fs.Duration("warmup", bench.DefaultWarmup, "one target: warm-up, not counted")
	window := fs.Duration("window", bench.DefaultWindow, "one target: measurement window")
	windows := fs.Int("max-windows", bench.DefaultMaxWindows, "one target: windows at most, until the last 3 agree")
	headers := map[string]string{}
	fs.Func("header", "'Name: value' sent with every HTTP request (repeat for more)", func(v string) error {
		name, value, ok := strings.Cut(v, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("%q is not a header: give 'Name: value', such as 'Authorization: Bearer KEY'", v)
		}
		headers[name] = value
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// misuse reports a wrong combination of flags as parseFlags reports a
	// bad flag: the message, the usage, exit 2.
	misuse := func(msg string) error {
		_, _ = fmt.Fprintln(fs.Output(), msg)
		fs.Usage()
		return usageError{errors.New(msg)}
	}

	var sc *bench.Scenario
	switch {
	case *scenarioPath != "" && *url != "":
		return misuse("give --scenario or --url, not both")
	case *scenarioPath != "":
		var err error
		if sc, err = configs.LoadScenario(*scenarioPath); err != nil {
			return err
		}
	case *url != "":
		fixed := *body
		if *bodyFile != "" {
			data, err := os.ReadFile(*bodyFile)
			if err != nil {
				return err
			}
			fixed = string(data)
		}
		step := bench.StepConfig{Arrival: loadgen.Arrival(*arrival)}
		switch {
		case *rate > 0 && *concurrency > 0:
			return misuse("give --rate (open model) or --concurrency (closed model), not both")
		case *rate > 0:
			step.Mode, step.Rate = loadgen.Open, []float64{*rate}
		case *concurrency > 0:
			step.Mode, step.Concurrency = loadgen.Closed, []int{*concurrency}
		default:
			return misuse("give --rate (open model) or --concurrency (closed model)")
		}
		t := bench.TargetConfig{Name: "target", URL: *url, Method: *method, Headers: headers,
			Body: bench.BodyConfig{Fixed: fixed, Dataset: *dataset, ModelID: *modelID}}
		if *drop != "" {
			t.Body.Drop = strings.Split(*drop, ",")
		}
		sc = &bench.Scenario{Name: "adhoc", Warmup: *warmup, Window: *window, MaxWindows: *windows,
			Targets: []bench.TargetConfig{t}, Steps: []bench.StepConfig{step}}
		sc.ApplyDefaults()
		if err := sc.Validate(); err != nil {
			return err
		}
	default:
		return misuse("give --scenario FILE, or --url URL with --rate or --concurrency")
	}
	for i := range sc.Targets {
		if t := &sc.Targets[i]; t.Runtime == nil && len(headers) > 0 {
			if t.Headers == nil {
				t.Headers = map[string]string{}
			}
			for k, v := range headers {
				t.Headers[k] = v // the command line's win over the scenario's
			}
		}
	}

	dir := *out
	if dir == "" {
		dir = filepath.Join("bench", "results", time.Now().UTC().Format("20060102T150405Z")+"-"+sc.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, runErr := bench.Run(ctx, sc, bench.Options{Progress: os.Stderr, LogDir: dir, Version: version, Log: log})
	if rep == nil {
		return runErr
	}
	if err := report.WriteTable(stdout, rep); err != nil {
		return errors.Join(runErr, err)
	}
	err := errors.Join(runErr,
		writeFile(filepath.Join(dir, "report.json"), func(w io.Writer) error { return report.WriteJSON(w, rep) }),
		writeFile(filepath.Join(dir, "report.html"), func(w io.Writer) error { return report.WriteHTML(w, rep) }))
	_, printErr := fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(dir, "report.html"))
	return errors.Join(err, printErr, printThresholds(stdout, bench.CheckThresholds(sc, rep)))
}

// printThresholds prints every threshold check and returns an error when
// one is broken.
func printThresholds(w io.Writer, checks []bench.Check) error {
	if len(checks) == 0 {
		return nil
	}
	broken := 0
	_, err := fmt.Fprintln(w, "\nthresholds")
	for _, c := range checks {
		mark := "ok    "
		if !c.OK {
			mark, broken = "BROKEN", broken+1
		}
		if _, e := fmt.Fprintf(w, "  %s  %-14s %-18s %s\n", mark, c.Load, c.Target, c.What); e != nil {
			err = e
		}
	}
	if broken > 0 {
		return errors.Join(err, fmt.Errorf("%d of %d thresholds broken", broken, len(checks)))
	}
	_, e := fmt.Fprintf(w, "  all %d held\n", len(checks))
	return errors.Join(err, e)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}
