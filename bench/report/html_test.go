package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// node is an SVG element decoded with encoding/xml.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f on n and every element below it.
func (n *node) walk(f func(*node)) {
	f(n)
	for i := range n.Nodes {
		n.Nodes[i].walk(f)
	}
}

var svgRe = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

// renderHTML writes r as HTML and returns the page and its SVG plots,
// each decoded strictly with encoding/xml.
func renderHTML(t *testing.T, r *Report) (string, []node) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	var plots []node
	for _, raw := range svgRe.FindAllString(page, -1) {
		// Every token must decode: well-formed XML.
		dec := xml.NewDecoder(strings.NewReader(raw))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("SVG is not well-formed: %v\n%s", err, raw)
			}
		}
		var n node
		if err := xml.Unmarshal([]byte(raw), &n); err != nil {
			t.Fatal(err)
		}
		plots = append(plots, n)
	}
	return page, plots
}

func TestWriteHTML(t *testing.T) {
	t.Parallel()
	r := fixture()
	page, plots := renderHTML(t, r)
	if out := os.Getenv("REPORT_HTML"); out != "" {
		// REPORT_HTML=/tmp/report.html go test -run TestWriteHTML writes
		// the page to look at.
		if err := os.WriteFile(out, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Errorf("not a whole HTML page")
	}
	// Self-contained: nothing fetched from elsewhere.
	for _, bad := range []string{"http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// A throughput plot, then one percentile plot per load label.
	labels := r.labels()
	if len(plots) != 1+len(labels) {
		t.Fatalf("got %d plots, want %d", len(plots), 1+len(labels))
	}
	seriesCount := func(n *node) int {
		c := 0
		n.walk(func(e *node) {
			if e.XMLName.Local == "path" || e.XMLName.Local == "polyline" {
				c++
			}
		})
		return c
	}
	// Throughput: p50 and p99 for each of 2 targets.
	if got := seriesCount(&plots[0]); got != 4 {
		t.Errorf("throughput plot: %d series, want 4", got)
	}
	for i, l := range labels {
		want := 0
		for _, s := range r.Steps {
			if s.Label == l && s.Result != nil {
				want++
			}
		}
		if got := seriesCount(&plots[1+i]); got != want {
			t.Errorf("percentile plot %q: %d series, want %d", l, got, want)
		}
	}
	for i := range plots {
		checkTicks(t, &plots[i])
	}
	// Untrusted steps are marked with their reason, in the tables.
	for _, want := range []string{
		`generator fell behind (p99 send lag 31ms, 9% of requests late)`,
		`unstable: the last 3 of 6 windows differ by more than 10%`,
		`class="untrusted has-why"`,
		"99.9%", "99.99%",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// checkTicks checks that tick labels run along their axis in order: x
// left to right with rising percentiles or rates, y bottom to top with
// rising latencies.
func checkTicks(t *testing.T, svg *node) {
	t.Helper()
	var xs, ys []float64
	var xl, yl []string
	svg.walk(func(e *node) {
		switch e.attr("class") {
		case "xtick":
			v, _ := strconv.ParseFloat(e.attr("x"), 64)
			xs, xl = append(xs, v), append(xl, e.Text)
		case "ytick":
			v, _ := strconv.ParseFloat(e.attr("y"), 64)
			ys, yl = append(ys, v), append(yl, e.Text)
		}
	})
	title := svg.attr("aria-label")
	if len(xs) < 2 || len(ys) < 2 {
		t.Errorf("%s: %d x ticks and %d y ticks", title, len(xs), len(ys))
	}
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] || tickValue(xl[i]) <= tickValue(xl[i-1]) {
			t.Errorf("%s: x ticks not increasing: %v %q", title, xs, xl)
		}
	}
	for i := 1; i < len(ys); i++ {
		if ys[i] >= ys[i-1] || tickValue(yl[i]) <= tickValue(yl[i-1]) {
			t.Errorf("%s: y ticks not increasing upwards: %v %q", title, ys, yl)
		}
	}
}

// tickValue reads a tick label back as a number in a common unit: "99.9%",
// "2.5k", "200µs", "5ms", "1s".
func tickValue(s string) float64 {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"%", 1}, {"k", 1e3}, {"M", 1e6}, {"µs", 1}, {"ms", 1e3}, {"s", 1e6}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return v * mult
}

func TestWriteHTMLEscapes(t *testing.T) {
	t.Parallel()
	evil := `<b>"gw" & 'co'</b>`
	label := `closed <c>=64 & "x"`
	r := fixture()
	r.Title = `<script>alert(1)</script>`
	r.Notes = []string{`<img src=x onerror=alert(1)>`}
	for i := range r.Steps {
		if r.Steps[i].Target == "gateway" {
			r.Steps[i].Target = evil
		}
		if r.Steps[i].Label == "closed c=64" {
			r.Steps[i].Label = label
		}
	}
	r.Comparisons = []Comparison{{Name: `A<B & "C"`, A: evil, B: "fixedbody"}}
	page, plots := renderHTML(t, r)
	for _, raw := range []string{evil, label, r.Title, r.Notes[0], `A<B`, "<b>\"", "<c>", "<script", "<img"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	// The names come back intact once decoded: legends and titles.
	var texts []string
	for i := range plots {
		plots[i].walk(func(e *node) {
			if e.XMLName.Local == "text" || e.XMLName.Local == "title" {
				texts = append(texts, e.Text)
			}
		})
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{evil, "Latency by percentile: " + label} {
		if !strings.Contains(joined, want) {
			t.Errorf("plots lack %q once decoded", want)
		}
	}
	if !strings.Contains(page, "&lt;b&gt;&#34;gw&#34; &amp; &#39;co&#39;&lt;/b&gt;") {
		t.Errorf("target name not escaped as expected")
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	t.Parallel()
	page, plots := renderHTML(t, &Report{})
	if len(plots) != 0 || !strings.Contains(page, "<h1>infergate benchmark</h1>") {
		t.Errorf("empty report: %d plots\n%s", len(plots), page)
	}
}

func TestLogTicks(t *testing.T) {
	t.Parallel()
	f := func(lo, hi, wantLo, wantHi float64, wantLabels string) {
		t.Helper()
		gotLo, gotHi, ticks := logTicks(lo, hi, tickLatency)
		var labels []string
		for _, tk := range ticks {
			if tk.label != "" {
				labels = append(labels, tk.label)
			}
		}
		if gotLo != wantLo || gotHi != wantHi || strings.Join(labels, " ") != wantLabels {
			t.Errorf("logTicks(%v, %v) = %v, %v, %q; want %v, %v, %q", lo, hi, gotLo, gotHi, labels, wantLo, wantHi, wantLabels)
		}
	}
	f(60, 12000, 50, 20000, "100µs 1ms 10ms")
	f(150, 8600, 100, 10000, "100µs 200µs 500µs 1ms 2ms 5ms 10ms")
	f(1100, 3400, 1000, 5000, "1ms 2ms 5ms")
	f(1000, 1000, 1000, 2000, "1ms 2ms")
	f(0, 0, 1, 2, "1µs 2µs")
}

func TestNines(t *testing.T) {
	t.Parallel()
	f := func(p float64, count int64, want float64) {
		t.Helper()
		if got := nines(p, count); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("nines(%v, %d) = %v, want %v", p, count, got, want)
		}
	}
	f(0, 1000, 0)
	f(90, 1000, 1)
	f(99, 1000, 2)
	f(99.9, 1000, 3)
	f(99.99, 1000, 3) // past what 1000 samples resolve
	f(100, 1000, 3)
	f(100, 1_000_000, 6)
	for n, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := ninesLabel(n); got != want {
			t.Errorf("ninesLabel(%d) = %q, want %q", n, got, want)
		}
	}
}
