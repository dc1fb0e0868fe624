package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// grid is a table both the text and the HTML writer render, so that they
// show the same cells.
type grid struct {
	head  []string
	right []bool // per column: right-aligned (numbers)
	rows  []gridRow
}

type gridRow struct {
	Cells []string
	// Mark is "" for a trusted row, else "!N" where N numbers its note.
	Mark string
	// Notes say why the row is marked, and list failures without a
	// status; shown as footnotes.
	Notes []string
	// Warn is true when the row is untrusted (as opposed to only having
	// error messages to list).
	Warn bool
	// ref names the row in its footnote: "gateway closed c=64".
	ref string
}

// stepsGrid lays out one row per step.
func stepsGrid(r *Report, nextMark *int) grid {
	g := grid{
		// "lag" is the open model's own send lateness at p99: latencies
		// count from each request's intended time, so they include it.
		head:  []string{"target", "load", "offered", "achieved", "lag", "p50", "p90", "p99", "p99.9", "max", "mean", "errors", "windows"},
		right: []bool{false, false, true, true, true, true, true, true, true, true, true, false, false},
	}
	for _, s := range r.Steps {
		res := s.Result
		if res == nil {
			g.rows = append(g.rows, gridRow{
				ref:   s.Target + " " + s.Label,
				Cells: []string{s.Target, s.Label, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"},
				Notes: []string{"did not run"},
				Warn:  true,
				Mark:  newMark(nextMark, "!"),
			})
			continue
		}
		offered, lag := "-", "-"
		if res.Offered > 0 {
			offered, lag = formatRate(res.Offered), formatLatency(res.SendLag)
		}
		l := res.Latency
		row := gridRow{ref: s.Target + " " + s.Label, Cells: []string{
			s.Target, s.Label, offered, formatRate(res.Achieved), lag,
			formatMeasured(l.P50), formatMeasured(l.P90), formatMeasured(l.P99), formatMeasured(l.P999),
			formatMeasured(l.Max), formatMeasured(l.Mean),
			formatErrors(res), formatWindows(res),
		}}
		if w := untrusted(res); w != "" {
			row.Notes = append(row.Notes, w)
			row.Warn = true
		}
		if msgs := errorMessages(res); len(msgs) > 0 {
			row.Notes = append(row.Notes, "failures without a status: "+strings.Join(msgs, ", "))
		}
		switch {
		case row.Warn:
			row.Mark = newMark(nextMark, "!")
		case len(row.Notes) > 0:
			row.Mark = newMark(nextMark, "*")
		}
		g.rows = append(g.rows, row)
	}
	return g
}

// ratioGrid is the ratios of one Comparison.
type ratioGrid struct {
	Comparison
	grid
}

// ratiosGrids lays out one grid per Comparison that has ratios, one row
// per load label.
func ratiosGrids(r *Report, ratios []Ratio, nextMark *int) []ratioGrid {
	var out []ratioGrid
	for _, c := range r.Comparisons {
		g := grid{
			head:  []string{"load", "req/s A÷B", "p50 A", "p50 B", "p50 A−B", "p99 A", "p99 B", "p99 A−B"},
			right: []bool{false, true, true, true, true, true, true, true},
		}
		for _, q := range ratios {
			if q.Comparison != c.Name {
				continue
			}
			row := gridRow{ref: q.Label, Cells: []string{
				q.Label, formatRatio(q.Throughput),
				formatMeasured(q.P50A), formatMeasured(q.P50B), formatDiff(q.P50Diff),
				formatMeasured(q.P99A), formatMeasured(q.P99B), formatDiff(q.P99Diff),
			}}
			if !q.Trusted {
				row.Notes = []string{q.Why}
				row.Warn = true
				row.Mark = newMark(nextMark, "!")
			}
			g.rows = append(g.rows, row)
		}
		if len(g.rows) > 0 {
			out = append(out, ratioGrid{c, g})
		}
	}
	return out
}

// newMark numbers the next footnote: "!" marks what is not to be
// trusted, "*" what only has more to say.
func newMark(next *int, sym string) string {
	*next++
	return sym + strconv.Itoa(*next)
}

// WriteTable writes the report as aligned text: a header with the machine,
// one row per step, then the ratios. Latencies have 3 significant digits;
// a step or ratio that is not to be trusted is marked "!N" and footnote N
// says why.
func WriteTable(w io.Writer, r *Report) error {
	var bw strings.Builder
	title := r.Title
	if title == "" {
		title = "infergate benchmark"
	}
	fmt.Fprintln(&bw, title)
	for _, kv := range headerFields(r) {
		fmt.Fprintf(&bw, "%-9s %s\n", kv[0], kv[1])
	}
	mark := 0
	fmt.Fprintln(&bw)
	writeGrid(&bw, stepsGrid(r, &mark))
	for _, g := range ratiosGrids(r, r.Ratios(), &mark) {
		fmt.Fprintln(&bw)
		fmt.Fprintf(&bw, "%s: A = %s, B = %s\n", g.Name, g.A, g.B)
		writeGrid(&bw, g.grid)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(&bw)
		fmt.Fprintln(&bw, "notes")
		for _, n := range r.Notes {
			fmt.Fprintf(&bw, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, bw.String())
	return err
}

// writeGrid writes g with columns padded to their widest cell, a mark
// column first, then its footnotes.
func writeGrid(w *strings.Builder, g grid) {
	markW := 0
	for _, row := range g.rows {
		markW = max(markW, utf8.RuneCountInString(row.Mark))
	}
	widths := make([]int, len(g.head))
	for i, h := range g.head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range g.rows {
		for i, c := range row.Cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(mark string, cells []string) {
		var b strings.Builder
		b.WriteString(pad(mark, markW, false))
		for i, c := range cells {
			b.WriteString("  ")
			b.WriteString(pad(c, widths[i], g.right[i]))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line("", g.head)
	for _, row := range g.rows {
		line(row.Mark, row.Cells)
	}
	first := true
	for _, row := range g.rows {
		if row.Mark == "" {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "%s %s: %s\n", row.Mark, row.ref, strings.Join(row.Notes, "; "))
	}
}

func pad(s string, width int, right bool) string {
	n := width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// headerFields lists the header lines shared by the text and HTML
// writers, skipping what is unknown.
func headerFields(r *Report) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	add("scenario", r.Scenario)
	if !r.Started.IsZero() {
		started := r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if r.Duration > 0 {
			started += ", ran " + r.Duration.Round(time.Second).String()
		}
		add("started", started)
	}
	m := r.Machine
	add("machine", joinNonEmpty(", ",
		m.Hostname,
		joinNonEmpty("/", m.OS, m.Arch),
		m.CPU,
		plural(m.Cores, "core"),
	))
	add("versions", joinNonEmpty(", ",
		m.GoVersion,
		prefixed("infergate ", m.InfergateVersion),
		prefixed("onnxruntime ", m.ORTVersion),
	))
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

func prefixed(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

func plural(n int, unit string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
