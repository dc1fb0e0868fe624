package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/configs"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
	"github.com/infergate/infergate/score"
)

const scoreUsage = `infergate score scores a CSV file offline, through the same runtime and
dynamic batcher as serve:

  infergate score --model customer-churn --in rows.csv --out predictions.csv
  infergate score --model customer-churn:1.0.0 --in rows.csv --out predictions.csv --id-column customer_id

--model is NAME (its production alias), NAME@ALIAS or NAME:VERSION.
The input has a header row naming its columns: every feature the model
requires, any of its optional ones (an empty cell is a missing value), and
other columns, which the model ignores. The output has one row per input
row, in order: row (or the --id-column), prediction, probability,
model_version, target, error. A row that cannot be scored is written with
its error. The summary goes to standard output, progress to standard error.

Exit status: 0 when every row scored; 1 when some rows have errors, on
another error, or on Ctrl-C (the output then holds the rows scored so far);
2 for a usage error.

Flags:
`

// Defaults of the score command's batcher.
const defaultScoreBatch = 64

func runScore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), scoreUsage)
		fs.PrintDefaults()
	}
	var j scoreJob
	fs.StringVar(&j.configPath, "config", defaultConfig, "configuration file (for registry.root and runtime); built-in defaults when the default file is absent")
	fs.StringVar(&j.registryRoot, "registry", "", "registry folder (overrides registry.root)")
	model := fs.String("model", "", "model to score with: NAME, NAME@ALIAS or NAME:VERSION (required)")
	fs.StringVar(&j.in, "in", "", "input CSV with a header row (required)")
	fs.StringVar(&j.out, "out", "", "output CSV, replaced when the run ends (required)")
	fs.StringVar(&j.opt.IDColumn, "id-column", "", "input column copied into the output's first column (default: the row number)")
	fs.IntVar(&j.batch, "batch", defaultScoreBatch, "largest batch given to a model instance")
	fs.IntVar(&j.instances, "instances", goruntime.GOMAXPROCS(0), "model instances (ONNX Runtime sessions)")
	fs.IntVar(&j.opt.Chunk, "chunk", score.DefaultChunk, "rows handed to the batcher together")
	fs.IntVar(&j.opt.Concurrency, "concurrency", 0, "chunks in flight at once (default: enough to give every instance a full batch, at least 2)")
	fs.DurationVar(&j.opt.Timeout, "timeout", 0, "deadline of each row, e.g. 5s (default: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { j.configSet = j.configSet || f.Name == "config" })
	misuse := func(msg string) error {
		_, _ = fmt.Fprintln(fs.Output(), msg)
		fs.Usage()
		return usageError{errors.New(msg)}
	}
	var err error
	switch {
	case *model == "":
		return misuse("--model is required: NAME, NAME@ALIAS or NAME:VERSION")
	case j.in == "" || j.out == "":
		return misuse("--in and --out are required: the input CSV and where to write the predictions")
	case sameFilePath(j.in, j.out):
		return misuse("--out must differ from --in: the input would be overwritten")
	case j.batch < 1 || j.instances < 1 || j.opt.Chunk < 1:
		return misuse("--batch, --instances and --chunk must be at least 1")
	case j.opt.Concurrency < 0 || j.opt.Timeout < 0:
		return misuse("--concurrency and --timeout must not be negative")
	}
	if j.model, j.ref, err = score.ParseModelRef(*model); err != nil {
		return misuse("--model: " + err.Error())
	}
	if j.opt.Concurrency == 0 {
		// Enough rows in flight for a full batch on every instance.
		j.opt.Concurrency = max(score.DefaultConcurrency, (j.batch*j.instances+j.opt.Chunk-1)/j.opt.Chunk)
	}
	j.terminal = writerIsTerminal(stderr)
	j.now = time.Now

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return j.run(ctx, stdout, stderr)
}

// scoreJob is one score command, its flags checked.
type scoreJob struct {
	configPath   string
	configSet    bool // --config was given
	registryRoot string
	model, ref   string
	in, out      string
	batch        int
	instances    int
	// opt lacks In, Out, Route and Progress until run fills them.
	opt      score.Options
	terminal bool
	now      func() time.Time
}

// errRowsFailed is the command's error when it scored the input but some
// rows have errors: it exits 1.
var errRowsFailed = errors.New("some rows could not be scored")

// run scores j.in into j.out, reports progress on stderr and the summary
// on stdout. The output is written to a temporary file beside j.out and
// renamed over it when the run ends, also when it was interrupted (with
// the rows scored so far); an input that cannot be scored leaves j.out as
// it was.
func (j *scoreJob) run(ctx context.Context, stdout, stderr io.Writer) (err error) {
	cfg, err := j.config()
	if err != nil {
		return err
	}
	root := cfg.Registry.Root
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("registry %s does not exist: train a model into it (`infergate train --demo --registry %s`), or name another with --registry", root, root)
	}

	in, err := os.Open(j.in)
	if err != nil {
		return fmt.Errorf("cannot open the input: %w", err)
	}
	defer func() { _ = in.Close() }()
	var size int64
	if fi, err := in.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	tmp, err := os.CreateTemp(filepath.Dir(j.out), "."+filepath.Base(j.out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create the output: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	env, err := runtime.Open(cfg.Runtime)
	if err != nil {
		return err
	}
	defer func() { _ = env.Close() }()
	store, err := registry.Open(root)
	if err != nil {
		return err
	}
	table, err := router.Load([]router.RouteConfig{j.route()}, store, batcher.ONNXOpener{Env: env})
	if err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			err = fmt.Errorf("%w; %s", err, registryContents(store, j.model))
		}
		return err
	}
	defer func() { err = errors.Join(err, table.Close()) }()
	route := table.Routes()[0]

	counted := &scoreCounter{r: in}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	p := &scoreProgress{w: stderr, terminal: j.terminal, now: j.now, size: size, read: counted.n.Load}
	opt := j.opt
	opt.In, opt.Out, opt.Pipeline, opt.Progress = counted, bw, gateway.NewOffline(route), p.update
	p.start(j.now())
	sum, runErr := score.Run(ctx, opt)
	p.finish(sum.Rows, sum.Errors)
	canceled := errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded)
	if runErr != nil && !canceled {
		return runErr
	}
	if err := errors.Join(bw.Flush(), tmp.Chmod(0o644), tmp.Close()); err != nil {
		return fmt.Errorf("cannot write the output: %w", err)
	}
	if err := os.Rename(tmp.Name(), j.out); err != nil {
		return fmt.Errorf("cannot write the output: %w", err)
	}
	keep = true

	if err := j.printSummary(stdout, route.Target(), sum); err != nil {
		return err
	}
	switch {
	case canceled:
		return fmt.Errorf("interrupted after %s rows; %s holds them: %w", thousands(sum.Rows), j.out, runErr)
	case sum.Errors > 0:
		return fmt.Errorf("%w: %s of %s rows; the error column of %s says why", errRowsFailed, thousands(sum.Errors), thousands(sum.Rows), j.out)
	}
	return nil
}

// config loads the configuration file for its registry and runtime blocks,
// or takes the built-in defaults when --config was not given and the
// default file is absent (a registry made with `train --registry`).
func (j *scoreJob) config() (*configs.Config, error) {
	override := func(c *configs.Config) {
		if j.registryRoot != "" {
			c.Registry.Root = j.registryRoot
		}
	}
	cfg, err := loadConfig(j.configPath, override)
	if err == nil || j.configSet || !errors.Is(err, os.ErrNotExist) {
		return cfg, err
	}
	cfg = &configs.Config{}
	cfg.ApplyDefaults()
	override(cfg)
	if err := errors.Join(cfg.Runtime.Validate(), cfg.Registry.Validate()); err != nil {
		return nil, err
	}
	return cfg, nil
}

// route is the one route the command loads: the model behind a batcher
// sized for the chunks in flight, without a breaker (there is nothing to
// fall back to, and a row that fails is reported, not retried elsewhere).
func (j *scoreJob) route() router.RouteConfig {
	return router.RouteConfig{
		Name:    j.model,
		Model:   j.model,
		Version: j.ref,
		Batching: batcher.Config{
			MaxBatchSize: j.batch,
			Instances:    j.instances,
			MaxQueueSize: max(batcher.DefaultMaxQueueSize, j.opt.Concurrency*j.opt.Chunk),
		},
		Breaker: router.BreakerConfig{Disabled: true},
	}
}

func (j *scoreJob) printSummary(w io.Writer, m *router.Model, sum score.Summary) error {
	model := m.Name() + " " + m.Version()
	if j.ref != m.Version() {
		model += " (" + j.ref + ")"
	}
	errs := thousands(sum.Errors)
	if sum.Errors > 0 {
		errs += " (see the error column of the output)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range [][2]string{
		{"model", model},
		{"rows", thousands(sum.Rows)},
		{"errors", errs},
		{"elapsed", sum.Elapsed.Round(time.Millisecond).String()},
		{"rows/s", thousands(int(sum.RowsPerSecond + 0.5))},
		{"output", j.out},
	} {
		if _, err := fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// registryContents says what the registry holds of model, or which models
// it holds, for an error about a version it lacks.
func registryContents(store *registry.Store, model string) string {
	versions, err := store.Versions(model)
	if err != nil || len(versions) == 0 {
		models, _ := store.Models()
		if len(models) == 0 {
			return fmt.Sprintf("registry %s holds no model: train one with `infergate train`", store.Root())
		}
		return fmt.Sprintf("registry %s holds the models %s", store.Root(), strings.Join(models, ", "))
	}
	s := fmt.Sprintf("%s has the versions %s", model, strings.Join(versions, ", "))
	aliases, _ := store.Aliases(model)
	if len(aliases) > 0 {
		var list []string
		for _, a := range slices.Sorted(maps.Keys(aliases)) {
			list = append(list, a+"="+aliases[a])
		}
		s += " and the aliases " + strings.Join(list, ", ")
	}
	return s + " (write --model " + model + ":VERSION or " + model + "@ALIAS)"
}

// sameFilePath reports whether a and b name the same file, as far as their
// cleaned absolute paths say.
func sameFilePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// writerIsTerminal reports whether w is a terminal (a character device),
// where progress is one line rewritten in place.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// scoreCounter counts the bytes read through it, for the progress's
// percentage; score.Run reads it on one goroutine while progress reads n
// on another.
type scoreCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *scoreCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Progress reporting rates.
const (
	// scoreRedraw is the least time between two redraws of the
	// terminal's progress line.
	scoreRedraw = 100 * time.Millisecond
	// scoreLogEvery is the most time between two progress lines in a
	// log (stderr not a terminal), which also gets one for every tenth of
	// the input read.
	scoreLogEvery = 5 * time.Second
)

// scoreProgress writes a run's progress to w: on a terminal, one line
// rewritten in place at most every scoreRedraw; elsewhere (a CI log), one
// line every scoreLogEvery or every tenth of the input. score.Run calls
// update from one goroutine.
type scoreProgress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	size     int64        // input bytes; 0 when unknown
	read     func() int64 // input bytes read so far

	began, last time.Time
	nextTenth   int64 // the tenth of the input whose reading is logged next
	drawn       bool  // the terminal line is on screen
}

func (p *scoreProgress) start(now time.Time) {
	p.began, p.last, p.nextTenth = now, now, 1
}

func (p *scoreProgress) update(done, errs int) {
	now := p.now()
	if p.terminal {
		if now.Sub(p.last) < scoreRedraw {
			return
		}
		p.last, p.drawn = now, true
		_, _ = fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(now, done, errs))
		return
	}
	tenth := false
	if p.size > 0 {
		if t := p.read() * 10 / p.size; t >= p.nextTenth && p.nextTenth < 10 {
			tenth, p.nextTenth = true, t+1
		}
	}
	if tenth || now.Sub(p.last) >= scoreLogEvery {
		p.last = now
		_, _ = fmt.Fprintln(p.w, p.line(now, done, errs))
	}
}

// finish ends the terminal's progress line with the final figures.
func (p *scoreProgress) finish(done, errs int) {
	if p.terminal && p.drawn {
		_, _ = fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.line(p.now(), done, errs))
	}
}

// line is a progress line: "  12,345 rows  3,456 rows/s  0 errors  45% read".
func (p *scoreProgress) line(now time.Time, done, errs int) string {
	rate := 0
	if s := now.Sub(p.began).Seconds(); s > 0 {
		rate = int(float64(done)/s + 0.5)
	}
	l := fmt.Sprintf("  %s rows  %s rows/s  %s errors", thousands(done), thousands(rate), thousands(errs))
	if p.size > 0 {
		// The reader runs a few chunks ahead of the rows written: a
		// difference that only a small input notices.
		l += fmt.Sprintf("  %d%% read", min(p.read()*100/p.size, 100))
	}
	return l
}

// thousands writes n with thousands separators: 12,345.
func thousands(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	var b strings.Builder
	b.WriteString(s[:start])
	digits := s[start:]
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
