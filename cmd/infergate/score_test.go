package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/score"
	"github.com/infergate/infergate/trainer"
)

// writeChurn writes n generated churn rows as CSV to dir/name, with extra
// lines appended, and returns its path.
func writeChurn(t *testing.T, dir, name string, n int, extra ...string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := trainer.WriteCSV(&buf, trainer.GenerateChurn(n, 1)); err != nil {
		t.Fatal(err)
	}
	for _, line := range extra {
		buf.WriteString(line + "\n")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readScoreCSV reads a whole output file.
func readScoreCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return records
}

// dirHoldsOnly fails unless dir holds exactly names: no temporary file is
// left behind.
func dirHoldsOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}

func TestScoreCommand(t *testing.T) {
	t.Parallel()
	root := servingtest.Store(t).Root()
	dir := t.TempDir()
	in := writeChurn(t, dir, "rows.csv", 500)
	out := filepath.Join(dir, "predictions.csv")

	// No --config and no configs/infergate.yaml here: the built-in
	// defaults, with --registry.
	var stdout, stderr bytes.Buffer
	err := runScore([]string{"--registry", root, "--model", "customer-churn", "--in", in, "--out", out,
		"--id-column", "customer_id", "--instances", "2", "--batch", "32"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("score: %v\nstderr:\n%s", err, stderr.String())
	}
	for _, want := range []string{"model    customer-churn 1.0.0 (production)\n", "rows     500\n", "errors   0\n", "rows/s   ", "output   " + out + "\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("stdout:\n%s\nwant %q", stdout.String(), want)
		}
	}
	// stderr is not a terminal: whole lines, the first when the first
	// chunk is written (the input read is past its first tenth by then).
	progressLine := regexp.MustCompile(`^  [0-9,]+ rows  [0-9,]+ rows/s  0 errors  [0-9]+% read$`)
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	for _, l := range lines {
		if !progressLine.MatchString(l) {
			t.Fatalf("stderr:\n%s\nwant progress lines", stderr.String())
		}
	}
	records := readScoreCSV(t, out)
	if len(records) != 501 || strings.Join(records[0], ",") != "customer_id,prediction,probability,model_version,target,error" {
		t.Fatalf("%d records, header %q", len(records), records[0])
	}
	for i, rec := range records[1:] {
		if rec[0] == "" || rec[1] == "" || rec[2] == "" || rec[3] != "1.0.0" || rec[4] != "primary" || rec[5] != "" {
			t.Fatalf("row %d: %q", i+1, rec)
		}
	}
	dirHoldsOnly(t, dir, "predictions.csv", "rows.csv")

	// An explicit config, a version, and rows that fail: exit 1, the
	// output complete with their errors.
	in = writeChurn(t, dir, "rows.csv", 20, "C999,abc,70,month-to-month,3,,,,0", "C1000,1,2")
	stdout.Reset()
	err = runScore([]string{"--config", writeConfig(t, dir), "--registry", root, "--model", "customer-churn:1.0.0", "--in", in, "--out", out, "--instances", "1"}, &stdout, &stderr)
	if !errors.Is(err, errRowsFailed) || !strings.Contains(err.Error(), "2 of 22 rows; the error column of "+out+" says why") {
		t.Fatalf("score with bad rows: %v", err)
	}
	if !strings.Contains(stdout.String(), "model    customer-churn 1.0.0\n") || !strings.Contains(stdout.String(), "errors   2 (see the error column of the output)\n") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	records = readScoreCSV(t, out)
	if len(records) != 23 || records[21][0] != "21" || !strings.Contains(records[21][5], `"abc" is not a number`) ||
		!strings.Contains(records[22][5], "has 3 fields but the header has 9") || records[20][5] != "" {
		t.Fatalf("output: %q", records[19:])
	}
	dirHoldsOnly(t, dir, "infergate.yaml", "predictions.csv", "rows.csv")
}

func TestScoreUsage(t *testing.T) {
	t.Parallel()
	f := func(args []string, want string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := runScore(args, &stdout, &stderr)
		var usage usageError
		if !errors.As(err, &usage) || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "infergate score scores a CSV file") {
			t.Fatalf("score %q: error %v\nstderr:\n%s\nwant a usage error saying %q", args, err, stderr.String(), want)
		}
		if stdout.Len() != 0 {
			t.Fatalf("score %q: stdout %q", args, stdout.String())
		}
	}
	f(nil, "--model is required")
	f([]string{"--model", "customer-churn"}, "--in and --out are required")
	f([]string{"--model", "customer-churn", "--in", "a.csv"}, "--in and --out are required")
	f([]string{"--model", "customer-churn", "--in", "a.csv", "--out", "./a.csv"}, "--out must differ from --in")
	f([]string{"--model", "customer-churn:staging", "--in", "a.csv", "--out", "b.csv"},
		`--model: model reference "customer-churn:staging": invalid name: "staging" is an alias, and ":" takes a version; write customer-churn@staging`)
	f([]string{"--model", "Churn", "--in", "a.csv", "--out", "b.csv"}, `--model: model name "Churn": invalid name`)
	f([]string{"--model", "m", "--in", "a.csv", "--out", "b.csv", "--batch", "0"}, "--batch, --instances and --chunk must be at least 1")
	f([]string{"--model", "m", "--in", "a.csv", "--out", "b.csv", "--timeout", "-1s"}, "--concurrency and --timeout must not be negative")
	f([]string{"--model", "m", "rows.csv"}, `unexpected argument "rows.csv"`)
	f([]string{"--bogus"}, "flag provided but not defined: -bogus")

	var stderr bytes.Buffer
	if err := runScore([]string{"-h"}, &stderr, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "--model is NAME (its production alias)") {
		t.Fatalf("-h: %v\n%s", err, stderr.String())
	}
}

func TestScoreErrors(t *testing.T) {
	t.Parallel()
	root := servingtest.Store(t).Root()
	dir := t.TempDir()
	in := writeChurn(t, dir, "rows.csv", 10)
	out := filepath.Join(dir, "out.csv")
	f := func(want string, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := runScore(append([]string{"--registry", root, "--out", out, "--instances", "1"}, args...), &stdout, &stderr)
		var usage usageError
		if err == nil || errors.As(err, &usage) || !strings.Contains(err.Error(), want) {
			t.Fatalf("score %q: error %v, want one saying %q", args, err, want)
		}
		dirHoldsOnly(t, dir, "rows.csv", "wide.csv") // no output, no temporary file
	}
	wide := filepath.Join(dir, "wide.csv")
	if err := os.WriteFile(wide, []byte("customer_id,tenure_months,contract\nC1,3,two-year\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f(`the input cannot be scored: the header lacks "monthly_charges", "support_calls", which model customer-churn 1.0.0 requires`,
		"--model", "customer-churn", "--in", wide)
	f("customer-churn has the versions 1.0.0 and the aliases production=1.0.0 (write --model customer-churn:VERSION or customer-churn@ALIAS)",
		"--model", "customer-churn:2.0.0", "--in", in)
	f(`alias "staging" of model "customer-churn": not found`, "--model", "customer-churn@staging", "--in", in)
	f("holds the models customer-churn", "--model", "fraud", "--in", in)
	f("cannot open the input: open "+filepath.Join(dir, "missing.csv"), "--model", "customer-churn", "--in", filepath.Join(dir, "missing.csv"))
	f("the id column \"id\" is not in the header", "--model", "customer-churn", "--in", in, "--id-column", "id")
	f("cannot create the output", "--model", "customer-churn", "--in", in, "--out", filepath.Join(dir, "no", "out.csv"))
	f("registry "+filepath.Join(dir, "none")+" does not exist: train a model into it", "--model", "customer-churn", "--in", in, "--registry", filepath.Join(dir, "none"))
	f("cannot read config", "--model", "customer-churn", "--in", in, "--config", filepath.Join(dir, "missing.yaml"))
}

// TestScoreInterrupted stops a run after its first chunk, as Ctrl-C does:
// the output holds the rows scored, and the command says so.
func TestScoreInterrupted(t *testing.T) {
	t.Parallel()
	root := servingtest.Store(t).Root()
	dir := t.TempDir()
	in := writeChurn(t, dir, "rows.csv", 2000)
	out := filepath.Join(dir, "out.csv")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	j := scoreJob{configPath: filepath.Join(dir, "absent.yaml"), registryRoot: root, model: "customer-churn", ref: "production",
		in: in, out: out, batch: 16, instances: 1, opt: score.Options{Chunk: 16, Concurrency: 1},
		// The clock is read once at the start, then once per chunk
		// written: the second read is the first chunk's progress.
		now: func() time.Time {
			if calls++; calls == 2 {
				cancel()
			}
			return time.Now()
		}}
	var stdout, stderr bytes.Buffer
	err := j.run(ctx, &stdout, &stderr)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "interrupted after ") || !strings.Contains(err.Error(), out+" holds them") {
		t.Fatalf("error %v, want an interruption", err)
	}
	records := readScoreCSV(t, out)
	if n := len(records) - 1; n < 16 || n > 48 || n%16 != 0 || !strings.Contains(stdout.String(), "rows     "+thousands(n)+"\n") {
		t.Fatalf("%d rows written, stdout:\n%s\nwant whole chunks, the first to third", n, stdout.String())
	}
	dirHoldsOnly(t, dir, "out.csv", "rows.csv")
}

func TestScoreProgress(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock time.Time
	var read int64
	newScoreProgress := func(terminal bool, size int64) (*scoreProgress, *bytes.Buffer) {
		var buf bytes.Buffer
		p := &scoreProgress{w: &buf, terminal: terminal, now: func() time.Time { return clock }, size: size, read: func() int64 { return read }}
		p.start(t0)
		return p, &buf
	}
	at := func(d time.Duration, bytesRead int64) { clock, read = t0.Add(d), bytesRead }

	// A terminal: at most one redraw per 100ms, then the final line.
	p, buf := newScoreProgress(true, 0)
	at(50*time.Millisecond, 0)
	p.update(256, 0)
	at(100*time.Millisecond, 0)
	p.update(512, 0)
	at(150*time.Millisecond, 0)
	p.update(768, 1)
	at(2*time.Second, 0)
	p.update(12_345, 3)
	p.finish(12_345, 3)
	want := "\r  512 rows  5,120 rows/s  0 errors\x1b[K" +
		"\r  12,345 rows  6,173 rows/s  3 errors\x1b[K" +
		"\r  12,345 rows  6,173 rows/s  3 errors\x1b[K\n"
	if buf.String() != want {
		t.Fatalf("terminal:\n%q\nwant\n%q", buf.String(), want)
	}

	// A log: a line every tenth of the input, or after 5s without one.
	p, buf = newScoreProgress(false, 1000)
	at(time.Second, 50)
	p.update(10, 0) // 5%: nothing
	at(2*time.Second, 120)
	p.update(20, 0) // 12%: a line
	at(3*time.Second, 190)
	p.update(30, 0) // still the second tenth: nothing
	at(9*time.Second, 199)
	p.update(40, 0) // 7s since the last line
	at(10*time.Second, 450)
	p.update(100, 1) // 45%: one line for the tenths skipped
	at(11*time.Second, 1000)
	p.update(200, 1) // done
	p.finish(200, 1)
	want = "  20 rows  10 rows/s  0 errors  12% read\n" +
		"  40 rows  4 rows/s  0 errors  19% read\n" +
		"  100 rows  10 rows/s  1 errors  45% read\n" +
		"  200 rows  18 rows/s  1 errors  100% read\n"
	if buf.String() != want {
		t.Fatalf("log:\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestScoreThousands(t *testing.T) {
	t.Parallel()
	f := func(n int, want string) {
		t.Helper()
		if got := thousands(n); got != want {
			t.Fatalf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	f(0, "0")
	f(999, "999")
	f(1000, "1,000")
	f(12_345, "12,345")
	f(1_234_567, "1,234,567")
	f(-1_234, "-1,234")
}

// TestScoreBinary runs `infergate score` as a user does, with its exit
// statuses: 0 when every row scored, 1 when some did not, 2 for a usage
// error. It skips until main.go dispatches the command.
func TestScoreBinary(t *testing.T) {
	t.Parallel()
	if r := run(t, "", "score", "-h"); strings.Contains(r.stderr, `unknown command "score"`) {
		t.Skip("main.go does not dispatch score yet")
	} else if r.code != 0 || !strings.Contains(r.stderr, "infergate score scores a CSV file") {
		t.Fatalf("score -h: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	root := servingtest.Store(t).Root()
	dir := t.TempDir()
	writeChurn(t, dir, "rows.csv", 300)
	writeChurn(t, dir, "bad.csv", 3, "C9,x,1,a,1,,,,0")
	args := []string{"score", "--registry", root, "--model", "customer-churn@production", "--out", "out.csv", "--in"}

	r := run(t, dir, append(args, "rows.csv")...)
	if r.code != 0 || !strings.Contains(r.stdout, "rows     300\n") || !strings.Contains(r.stdout, "errors   0\n") {
		t.Fatalf("score: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := len(readScoreCSV(t, filepath.Join(dir, "out.csv"))); n != 301 {
		t.Fatalf("out.csv has %d records, want 301", n)
	}
	r = run(t, dir, append(args, "bad.csv")...)
	if r.code != 1 || !strings.Contains(r.stderr, "infergate score: some rows could not be scored: 1 of 4 rows; the error column of out.csv says why\n") {
		t.Fatalf("score with a bad row: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, "score", "--model", "customer-churn:latest", "--in", "rows.csv", "--out", "out.csv")
	if r.code != 2 || !strings.Contains(r.stderr, `write customer-churn@latest`) {
		t.Fatalf("score with a bad --model: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}
