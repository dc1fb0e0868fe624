package score_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/score"
	"github.com/infergate/infergate/trainer"
)

// demoRoute loads the demo model behind a real batcher and returns its
// route.
func demoRoute(t *testing.T, batching batcher.Config) *router.Route {
	t.Helper()
	return servingtest.Table(t, batching).Lookup([]byte(servingtest.Route))
}

// churnCSV is GenerateChurn's table of n rows as CSV.
func churnCSV(t *testing.T, n int, seed uint64) (*trainer.Dataset, []byte) {
	t.Helper()
	d := trainer.GenerateChurn(n, seed)
	var buf bytes.Buffer
	if err := trainer.WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	return d, buf.Bytes()
}

// readOutput parses Run's output: its header and its rows.
func readOutput(t *testing.T, out []byte) (header []string, rows [][]string) {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("the output is not CSV: %v\n%s", err, out)
	}
	if len(records) == 0 {
		t.Fatal("the output is empty")
	}
	return records[0], records[1:]
}

// serveAlone is what the route answers for row i of d sent on its own, as
// the gateway sends it: the signature's features, missing cells left out.
func serveAlone(t *testing.T, route *router.Route, d *trainer.Dataset, i int) router.Result {
	t.Helper()
	req := servingtest.DemoRequest(route, d, i)
	defer router.ReleaseRequest(req)
	if _, err := route.Prepare(req); err != nil {
		t.Fatalf("row %d: %v", i+1, err)
	}
	var res router.Result
	if err := route.Serve(req, &res); err != nil {
		t.Fatalf("row %d: %v", i+1, err)
	}
	return res
}

var wantHeader = []string{"row", "prediction", "probability", "model_version", "target", "error"}

func TestRunMatchesServe(t *testing.T) {
	t.Parallel()
	const n, chunk = 300, 64
	table, gate := servingtest.GatedTable(t, router.RouteConfig{Name: servingtest.Route,
		Batching: batcher.Config{MaxBatchSize: chunk}})
	route := table.Lookup([]byte(servingtest.Route))
	d, in := churnCSV(t, n, 7)

	// The instance holds its first batch until the rest of the first chunk
	// waits in the queue: ServeAll hands the batcher a chunk's rows at once.
	gate.Hold()
	var out bytes.Buffer
	var calls, lastDone int
	var sum score.Summary
	var err error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sum, err = score.Run(t.Context(), score.Options{In: bytes.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), Chunk: chunk, Concurrency: 1,
			Progress: func(done, errs int) {
				calls++
				if done <= lastDone || errs != 0 {
					t.Errorf("progress (%d, %d) after %d done", done, errs, lastDone)
				}
				lastDone = done
			}})
	}()
	for gate.Blocked()+route.Target().QueueDepth() < chunk {
		select {
		case <-finished:
			t.Fatalf("Run ended with the gate held: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	gate.Release()
	<-finished
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != n || sum.Errors != 0 || sum.Elapsed <= 0 || sum.RowsPerSecond <= 0 {
		t.Fatalf("summary %+v, want %d rows, no errors", sum, n)
	}
	if calls != (n+chunk-1)/chunk || lastDone != n {
		t.Fatalf("progress called %d times, last with %d rows; want once a chunk (%d), ending at %d", calls, lastDone, (n+chunk-1)/chunk, n)
	}
	if gate.Rows() != n || gate.MaxBatch() < chunk/2 {
		t.Fatalf("the model computed %d rows in %d batches of at most %d; want %d rows, the first chunk in at most two batches",
			gate.Rows(), gate.Batches(), gate.MaxBatch(), n)
	}

	header, rows := readOutput(t, out.Bytes())
	if strings.Join(header, ",") != strings.Join(wantHeader, ",") {
		t.Fatalf("header %q, want %q", header, wantHeader)
	}
	if len(rows) != n {
		t.Fatalf("%d output rows, want %d", len(rows), n)
	}
	for i, rec := range rows {
		want := serveAlone(t, route, d, i)
		p, err := strconv.ParseFloat(rec[2], 32)
		if rec[0] != strconv.Itoa(i+1) || err != nil || p != want.Probability || rec[1] != want.Label ||
			rec[3] != "1.0.0" || rec[4] != router.PrimaryTarget || rec[5] != "" {
			t.Fatalf("output row %d: %q; want row %d, probability %v, label %q, version 1.0.0, target primary, no error",
				i+1, rec, i+1, want.Probability, want.Label)
		}
	}
}

func TestRunIDColumn(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{MaxBatchSize: 16})
	d, in := churnCSV(t, 50, 3)
	var out bytes.Buffer
	if _, err := score.Run(t.Context(), score.Options{In: bytes.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), IDColumn: "customer_id", Chunk: 16}); err != nil {
		t.Fatal(err)
	}
	header, rows := readOutput(t, out.Bytes())
	if header[0] != "customer_id" || header[1] != "prediction" {
		t.Fatalf("header %q, want customer_id first", header)
	}
	ids := d.Column("customer_id").Strings
	for i, rec := range rows {
		if rec[0] != ids[i] || rec[5] != "" {
			t.Fatalf("output row %d: %q, want id %s and no error", i+1, rec, ids[i])
		}
	}
	if len(rows) != len(ids) {
		t.Fatalf("%d rows, want %d", len(rows), len(ids))
	}
}

func TestRunErrorRows(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{MaxBatchSize: 8})
	in := strings.Join([]string{
		"customer_id,tenure_months,monthly_charges,contract,support_calls,extra",
		"a,12,70.5,month-to-month,2,x",         // 1 ok
		"b,twelve,70.5,month-to-month,2,x",     // 2 not a number
		"c,12,70.5,month-to-month,2",           // 3 a field short
		"d,12,70.5,month-to-month,2,x,y",       // 4 a field too many
		"e,,70.5,month-to-month,2,x",           // 5 required cell empty
		"f, 24 ,99,two-year,0,",                // 6 ok: spaces around a number, optional text cell empty
		"g,NaN,70.5,month-to-month,2,x",        // 7 not a finite number
		"h,1e999,70.5,month-to-month,2,x",      // 8 overflows a float64
		"i,1e300,70.5,month-to-month,2,x",      // 9 a number, but out of the model's range
		`j,12,70.5,"month-to-month",2,"a,b"`,   // 10 ok: quoted fields
		`k,12,70.5,month-to-month,2,bad"quote`, // 11 a bare quote
		"l,3,20,one-year,1,x",                  // 12 ok
	}, "\n") + "\n"
	var out bytes.Buffer
	sum, err := score.Run(t.Context(), score.Options{In: strings.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), IDColumn: "customer_id", Chunk: 4})
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readOutput(t, out.Bytes())
	want := map[string]string{
		"b": `column "tenure_months": "twelve" is not a number`,
		"c": "line 4 has 5 fields but the header has 6",
		"d": "line 5 has 7 fields but the header has 6",
		"e": `column "tenure_months" is empty, and the model requires it`,
		"g": `column "tenure_months": "NaN" is not a number`,
		"h": `column "tenure_months": "1e999" is not a number`,
		"i": `feature "tenure_months" is out of range`,
		"k": `line 12: cannot parse the row: bare " in non-quoted-field`,
	}
	if sum.Rows != 12 || sum.Errors != len(want) || len(rows) != 12 {
		t.Fatalf("summary %+v with %d output rows; want 12 rows, %d errors", sum, len(rows), len(want))
	}
	for i, rec := range rows {
		id := string(rune('a' + i))
		wantErr, bad := want[id]
		if id == "k" {
			id = "" // a row that does not parse has no id
		}
		switch {
		case bad && (rec[0] != id || !strings.Contains(rec[5], wantErr) || rec[1] != "" || rec[2] != ""):
			t.Errorf("row %d: %q; want an error row with %q", i+1, rec, wantErr)
		case !bad && (rec[0] != id || rec[5] != "" || rec[2] == "" || rec[3] != "1.0.0"):
			t.Errorf("row %d: %q; want it scored", i+1, rec)
		}
	}
}

func TestRunModelFailure(t *testing.T) {
	t.Parallel()
	table, gate := servingtest.GatedTable(t, router.RouteConfig{Name: servingtest.Route,
		Batching: batcher.Config{MaxBatchSize: 64}, Breaker: router.BreakerConfig{Disabled: true}})
	route := table.Lookup([]byte(servingtest.Route))
	_, in := churnCSV(t, 40, 5)
	gate.Fail(errors.New("the GPU caught fire"))
	var out bytes.Buffer
	sum, err := score.Run(t.Context(), score.Options{In: bytes.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), Chunk: 10})
	if err != nil {
		t.Fatalf("a model failure is the rows' error, not the run's: %v", err)
	}
	_, rows := readOutput(t, out.Bytes())
	if sum.Rows != 40 || sum.Errors != 40 || len(rows) != 40 {
		t.Fatalf("summary %+v, %d rows; want 40 error rows", sum, len(rows))
	}
	for i, rec := range rows {
		if rec[0] != strconv.Itoa(i+1) || !strings.Contains(rec[5], "the GPU caught fire") || rec[2] != "" {
			t.Fatalf("row %d: %q; want the model's error", i+1, rec)
		}
	}
}

func TestRunInputErrors(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{})
	f := func(in, idColumn string, wantErr ...string) {
		t.Helper()
		var out bytes.Buffer
		sum, err := score.Run(t.Context(), score.Options{In: strings.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), IDColumn: idColumn})
		if !errors.Is(err, score.ErrInput) {
			t.Fatalf("input %q: error %v, want ErrInput", in, err)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("input %q: error %q, want it to say %q", in, err, w)
			}
		}
		if out.Len() != 0 || sum.Rows != 0 {
			t.Fatalf("input %q: %d rows, output %q; want nothing written", in, sum.Rows, out.String())
		}
	}
	const features = "tenure_months,monthly_charges,total_charges,contract,support_calls,payment_method,paperless_billing"
	f("", "", "it is empty; it needs a header row", features)
	f("customer_id,monthly_charges,contract\nC1,70,two-year\n", "",
		`the header lacks "tenure_months", "support_calls", which model customer-churn 1.0.0 requires; add the column`)
	f("a,b\n1,2\n", "", `the header lacks "tenure_months", "monthly_charges", "contract", "support_calls"`)
	f("tenure_months,monthly_charges,contract,support_calls\n", "customer_id",
		`the id column "customer_id" is not in the header; name one of its columns: tenure_months,monthly_charges,contract,support_calls`)
	f("tenure_months,monthly_charges,contract,support_calls,contract\n", "", `names column "contract" twice (columns 3 and 5)`)
	f("tenure_months,,contract,support_calls\n", "", "header column 2 has no name")
	f("\"tenure_months\n", "", "cannot read its header row")
}

func TestRunHeaderOnly(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{})
	var out bytes.Buffer
	// A byte order mark, and the columns in another order than the model's.
	in := "\ufeffsupport_calls,contract,monthly_charges,tenure_months\n"
	sum, err := score.Run(t.Context(), score.Options{In: strings.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route)})
	if err != nil || sum.Rows != 0 || out.String() != strings.Join(wantHeader, ",")+"\n" {
		t.Fatalf("summary %+v, error %v, output %q; want the header alone", sum, err, out.String())
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{MaxBatchSize: 16})
	const n, chunk = 2000, 16
	_, in := churnCSV(t, n, 11)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out bytes.Buffer
	sum, err := score.Run(ctx, score.Options{In: bytes.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route), Chunk: chunk, Concurrency: 1,
		Progress: func(done, _ int) {
			if done == chunk {
				cancel() // as Ctrl-C after the first chunk
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	// The reader stops before its next chunk: at most the chunks it had
	// read already (Concurrency + 2 of them) are written.
	_, rows := readOutput(t, out.Bytes())
	if sum.Rows < chunk || sum.Rows > 3*chunk || sum.Rows%chunk != 0 || len(rows) != sum.Rows || sum.Errors != 0 {
		t.Fatalf("summary %+v with %d output rows; want whole chunks, %d to %d rows", sum, len(rows), chunk, 3*chunk)
	}
	for i, rec := range rows {
		if rec[0] != strconv.Itoa(i+1) || rec[5] != "" {
			t.Fatalf("row %d: %q; want the first rows, scored", i+1, rec)
		}
	}

	// Ended before it starts: nothing is read or written.
	out.Reset()
	sum, err = score.Run(ctx, score.Options{In: bytes.NewReader(in), Out: &out, Pipeline: gateway.NewOffline(route)})
	if !errors.Is(err, context.Canceled) || sum.Rows != 0 || out.Len() != 0 {
		t.Fatalf("cancelled run: summary %+v, error %v, output %d bytes", sum, err, out.Len())
	}
}

// errWriter fails after limit bytes.
type errWriter struct{ limit int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

// errReader fails after its data.
type errReader struct{ r io.Reader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestRunIOErrors(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{MaxBatchSize: 16})
	_, in := churnCSV(t, 3000, 13)
	sum, err := score.Run(t.Context(), score.Options{In: bytes.NewReader(in), Out: &errWriter{limit: 10_000}, Pipeline: gateway.NewOffline(route), Chunk: 32})
	if err == nil || !strings.Contains(err.Error(), "cannot write the output: disk full") {
		t.Fatalf("write error: summary %+v, error %v", sum, err)
	}
	var out bytes.Buffer
	sum, err = score.Run(t.Context(), score.Options{In: errReader{bytes.NewReader(in[:len(in)/2])}, Out: &out, Pipeline: gateway.NewOffline(route), Chunk: 32})
	if err == nil || !strings.Contains(err.Error(), "cannot read the input: connection reset") {
		t.Fatalf("read error: summary %+v, error %v", sum, err)
	}
	// What was read before the error is written.
	if _, rows := readOutput(t, out.Bytes()); len(rows) != sum.Rows || sum.Rows == 0 {
		t.Fatalf("read error: summary %+v, %d rows written", sum, len(rows))
	}
}

// lineCounter counts the output's lines without keeping them.
type lineCounter struct{ lines, bytes int }

func (w *lineCounter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte{'\n'})
	w.bytes += len(p)
	return len(p), nil
}

// TestRunLarge streams 20,000 rows from a pipe to a writer that keeps
// nothing: Run holds a few chunks, never the file.
func TestRunLarge(t *testing.T) {
	t.Parallel()
	const n = 20_000
	route := demoRoute(t, batcher.Config{MaxBatchSize: 64, Instances: 2})
	d := trainer.GenerateChurn(n, 17)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(trainer.WriteCSV(pw, d)) }()
	var out lineCounter
	sum, err := score.Run(t.Context(), score.Options{In: pr, Out: &out, Pipeline: gateway.NewOffline(route)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != n || sum.Errors != 0 || out.lines != n+1 {
		t.Fatalf("summary %+v, %d output lines; want %d rows and a header", sum, out.lines, n)
	}
	t.Logf("%d rows in %s: %.0f rows/s (%d output bytes)", sum.Rows, sum.Elapsed.Round(time.Millisecond), sum.RowsPerSecond, out.bytes)
}

func TestRunOptions(t *testing.T) {
	t.Parallel()
	route := demoRoute(t, batcher.Config{})
	f := func(opt score.Options, want string) {
		t.Helper()
		if _, err := score.Run(t.Context(), opt); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("options %+v: error %v, want %q", opt, err, want)
		}
	}
	in, out := strings.NewReader(""), io.Discard
	f(score.Options{Out: out, Pipeline: gateway.NewOffline(route)}, "Options.In is nil")
	f(score.Options{In: in, Pipeline: gateway.NewOffline(route)}, "Options.Out is nil")
	f(score.Options{In: in, Out: out}, "Options.Pipeline is nil")
	f(score.Options{In: in, Out: out, Pipeline: gateway.NewOffline(route), Chunk: -1}, "must not be negative")
}
