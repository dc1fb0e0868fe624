package report

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

// The plots are hand-written SVG: one <path class="series"> per series,
// <line> for axes and grid, <text> for labels. Every user-provided string
// goes through esc.

// palette is Okabe and Ito's colour-blind-safe palette, darkest first,
// without its yellow, which vanishes on white paper.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// dashes tell apart repeated runs of one target (rounds) in the
// percentile plot.
var dashes = []string{"", "7 4", "2 3", "10 3 2 3"}

const (
	plotW     = 640.0
	plotH     = 400.0
	padLeft   = 62.0
	padRight  = 40.0
	padBottom = 50.0
	charW     = 6.6 // approximate width of one character at 12px
)

// pt is a data point: x in axis units, y a latency in µs.
type pt struct {
	x, y float64
	tip  string // tooltip
	// label is written next to the point, when it has room.
	label string
	// gap starts a new stretch of line at this point: it does not
	// continue from the previous one.
	gap bool
}

type series struct {
	name   string
	color  string
	dash   string
	marker string // "" none, "dot" filled, "ring" hollow
	pts    []pt
	mode   loadgen.Mode // of the last point added (throughput plot)
}

type tick struct {
	v     float64
	label string // "" for a minor grid line
}

type legendItem struct {
	label string
	color string
	dash  string
}

type chart struct {
	title          string
	xTitle, yTitle string
	xlo, xhi       float64 // x axis range
	xLog           bool    // log x axis (throughputs spanning decades)
	ylo, yhi       float64 // log y axis range, µs
	xticks, yticks []tick
	series         []series
	legend         []legendItem
}

func esc(s string) string { return html.EscapeString(s) }

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// svg renders the chart as an inline <svg> element.
func (c *chart) svg() string {
	var b strings.Builder
	// Legend rows, wrapped to the width.
	type placed struct {
		legendItem
		x, y float64
	}
	var items []placed
	x, y := padLeft, 44.0
	for _, it := range c.legend {
		w := 30 + charW*float64(len([]rune(it.label))) + 18
		if x+w > plotW-padRight && x > padLeft {
			x, y = padLeft, y+18
		}
		items = append(items, placed{it, x, y})
		x += w
	}
	top := y + 18
	px0, px1 := padLeft, plotW-padRight
	py0, py1 := plotH-padBottom, top
	sx := func(v float64) float64 { return px0 + (v-c.xlo)/(c.xhi-c.xlo)*(px1-px0) }
	if c.xLog {
		lx0, lx1 := math.Log10(c.xlo), math.Log10(c.xhi)
		sx = func(v float64) float64 {
			v = min(max(v, c.xlo), c.xhi)
			return px0 + (math.Log10(v)-lx0)/(lx1-lx0)*(px1-px0)
		}
	}
	ly0, ly1 := math.Log10(c.ylo), math.Log10(c.yhi)
	sy := func(v float64) float64 {
		v = min(max(v, c.ylo), c.yhi)
		return py0 - (math.Log10(v)-ly0)/(ly1-ly0)*(py0-py1)
	}

	fmt.Fprintf(&b, `<svg class="plot" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, plotW, plotH, plotW, plotH, esc(c.title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.title))
	fmt.Fprintf(&b, `<text class="title" x="%g" y="22">%s</text>`, padLeft, esc(c.title))
	for _, it := range items {
		fmt.Fprintf(&b, `<line class="swatch" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`,
			f1(it.x), f1(it.y-4), f1(it.x+24), f1(it.y-4), it.color, dashAttr(it.dash))
		fmt.Fprintf(&b, `<text class="legend" x="%s" y="%s">%s</text>`, f1(it.x+30), f1(it.y), esc(it.label))
	}
	// Grid and ticks.
	for _, t := range c.yticks {
		y := sy(t.v)
		cls := "grid"
		if t.label == "" {
			cls = "minor"
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, cls, f1(px0), f1(y), f1(px1), f1(y))
		if t.label != "" {
			fmt.Fprintf(&b, `<text class="ytick" x="%s" y="%s">%s</text>`, f1(px0-6), f1(y+4), esc(t.label))
		}
	}
	for _, t := range c.xticks {
		x := sx(t.v)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, f1(x), f1(py1), f1(x), f1(py0))
		// A label that would pass the right edge ends at its tick instead.
		anchor := ""
		if x+charW*float64(len([]rune(t.label)))/2 > plotW-2 {
			anchor = ` text-anchor="end" style="text-anchor:end"`
		}
		fmt.Fprintf(&b, `<text class="xtick" x="%s" y="%s"%s>%s</text>`, f1(x), f1(py0+17), anchor, esc(t.label))
	}
	fmt.Fprintf(&b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>`, f1(px0), f1(py1), f1(px1-px0), f1(py0-py1))
	fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s">%s</text>`, f1((px0+px1)/2), f1(plotH-10), esc(c.xTitle))
	fmt.Fprintf(&b, `<text class="axis" transform="translate(16 %s) rotate(-90)">%s</text>`, f1((py0+py1)/2), esc(c.yTitle))
	// Series: one path each, then its markers.
	for _, s := range c.series {
		var d strings.Builder
		for i, p := range s.pts {
			if i == 0 || p.gap {
				if i > 0 {
					d.WriteString(" ")
				}
				d.WriteString("M")
			} else {
				d.WriteString(" L")
			}
			d.WriteString(f1(sx(p.x)) + " " + f1(sy(p.y)))
		}
		fmt.Fprintf(&b, `<path class="series" d="%s" stroke="%s" stroke-width="2"%s fill="none"><title>%s</title></path>`,
			d.String(), s.color, dashAttr(s.dash), esc(s.name))
		for _, p := range s.pts {
			if s.marker == "" {
				continue
			}
			fill := s.color
			if s.marker == "ring" {
				fill = "#fff"
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5" fill="%s" stroke="%s" stroke-width="1.5"><title>%s</title></circle>`,
				f1(sx(p.x)), f1(sy(p.y)), fill, s.color, esc(p.tip))
		}
	}
	// Point labels, above their point, skipping any that would overlap a
	// label already placed.
	type box struct{ x0, y0, x1, y1 float64 }
	var placedLabels []box
	for _, s := range c.series {
		for _, p := range s.pts {
			if p.label == "" {
				continue
			}
			x, y := sx(p.x), sy(p.y)-8
			w := charW * 0.85 * float64(len([]rune(p.label)))
			bb := box{x - w/2, y - 10, x + w/2, y + 2}
			if bb.x0 < px0 || bb.x1 > px1 || bb.y0 < py1 {
				continue
			}
			free := true
			for _, o := range placedLabels {
				if bb.x0 < o.x1 && o.x0 < bb.x1 && bb.y0 < o.y1 && o.y0 < bb.y1 {
					free = false
					break
				}
			}
			if !free {
				continue
			}
			placedLabels = append(placedLabels, bb)
			fmt.Fprintf(&b, `<text class="point" x="%s" y="%s" style="fill:%s">%s</text>`, f1(x), f1(y), s.color, esc(p.label))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

// logTicks chooses a log axis range that holds [lo, hi] with bounds on the
// 1-2-5 sequence, ticks on 1-2-5 (or decades only when the range is wide)
// labelled by label, and unlabelled minor lines on every other multiple.
func logTicks(lo, hi float64, label func(float64) string) (float64, float64, []tick) {
	lo, hi = max(lo, 1), max(hi, 1)
	if hi <= lo {
		hi = lo * 1.5
	}
	lo, hi = step125(lo, false), step125(hi, true)
	wide := math.Log10(hi/lo) > 2.5
	var ticks []tick
	for dec := math.Floor(math.Log10(lo)); dec <= math.Ceil(math.Log10(hi)); dec++ {
		base := math.Pow(10, dec)
		for m := 1.0; m <= 9; m++ {
			v := m * base
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			text := ""
			if m == 1 || (!wide && (m == 2 || m == 5)) {
				text = label(v)
			}
			ticks = append(ticks, tick{v, text})
		}
	}
	return lo, hi, ticks
}

// step125 rounds v to the 1-2-5 sequence: down, or up when up is set.
func step125(v float64, up bool) float64 {
	dec := math.Pow(10, math.Floor(math.Log10(v)))
	steps := []float64{1, 2, 5, 10}
	if up {
		for _, s := range steps {
			if s*dec >= v*0.999 {
				return s * dec
			}
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i]*dec <= v*1.001 {
			return steps[i] * dec
		}
	}
	return dec
}

// tickLatency labels a round latency in µs: "200µs", "1ms", "50ms", "2s".
func tickLatency(v float64) string {
	d := time.Duration(math.Round(v)) * time.Microsecond
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', -1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) + "s"
}

// linearTicks chooses a linear axis from 0 that holds hi, with about 5
// ticks on the 1-2-2.5-5 sequence, labelled as rates ("20k").
func linearTicks(hi float64) (float64, []tick) {
	if hi <= 0 {
		hi = 1
	}
	raw := hi / 5
	dec := math.Pow(10, math.Floor(math.Log10(raw)))
	step := dec * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*dec >= raw {
			step = m * dec
			break
		}
	}
	top := math.Ceil(hi/step) * step
	var ticks []tick
	for i := 0.0; i*step <= top*1.0001; i++ {
		ticks = append(ticks, tick{i * step, tickRate(i * step)})
	}
	return top, ticks
}

// tickRate labels a round rate: "0", "500", "2.5k", "40k", "1.2M".
func tickRate(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// nines maps a percentile to the x of a "nines" axis: 0 → 0, 90 → 1,
// 99 → 2, 99.9 → 3. The 100th percentile (the maximum) of count samples
// sits where the resolution of count samples ends, at log10(count).
func nines(p float64, count int64) float64 {
	limit := math.Log10(max(float64(count), 10))
	if p >= 100 {
		return limit
	}
	return min(-math.Log10(1-p/100), limit)
}

// ninesLabel labels the n-th nine: 0 → "0%", 1 → "90%", 3 → "99.9%".
func ninesLabel(n int) string {
	if n == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100-math.Pow(10, float64(2-n)), 'f', max(n-2, 0), 64) + "%"
}

// curve returns a result's latency distribution as plot points, from its
// Percentiles, or from its summary when the curve is empty.
func curve(res *loadgen.Result) []loadgen.Percentile {
	if len(res.Latency.Percentiles) > 0 {
		pts := slices.Clone(res.Latency.Percentiles)
		slices.SortStableFunc(pts, func(a, b loadgen.Percentile) int { return cmp.Compare(a.Percentile, b.Percentile) })
		return pts
	}
	s := res.Latency
	if s.Count == 0 {
		return nil
	}
	return []loadgen.Percentile{
		{Percentile: 0, Latency: s.Min},
		{Percentile: 50, Latency: s.P50},
		{Percentile: 90, Latency: s.P90},
		{Percentile: 99, Latency: s.P99},
		{Percentile: 99.9, Latency: s.P999},
		{Percentile: 100, Latency: s.Max},
	}
}

func usOf(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// percentileChart plots, for one load label, each step's latency by
// percentile on a nines axis.
func percentileChart(r *Report, label string, colors map[string]string) *chart {
	c := &chart{
		title:  "Latency by percentile: " + label,
		xTitle: "percentile",
		yTitle: "latency (log scale)",
		ylo:    math.Inf(1),
	}
	runs := map[string]int{}
	xmax := 0.0
	for _, s := range r.Steps {
		if s.Label != label || s.Result == nil {
			continue
		}
		pts := curve(s.Result)
		if len(pts) == 0 {
			continue
		}
		k := runs[s.Target]
		runs[s.Target]++
		name := s.Target
		if k > 0 {
			name += " #" + strconv.Itoa(k+1)
		}
		se := series{name: name, color: colors[s.Target], dash: dashes[k%len(dashes)]}
		for _, p := range pts {
			x, y := nines(p.Percentile, s.Result.Latency.Count), max(usOf(p.Latency), 1)
			se.pts = append(se.pts, pt{x: x, y: y})
			xmax = max(xmax, x)
			c.ylo, c.yhi = min(c.ylo, y), max(c.yhi, y)
		}
		c.series = append(c.series, se)
		c.legend = append(c.legend, legendItem{label: name, color: se.color, dash: se.dash})
	}
	if len(c.series) == 0 {
		return nil
	}
	// The axis ends at the last nine the data reach, or the next one when
	// the data go well past it.
	top := math.Floor(xmax)
	if xmax-top > 0.2 {
		top++
	}
	top = max(top, 2)
	c.xlo, c.xhi = 0, max(top, xmax)
	c.xticks = append(c.xticks, tick{math.Log10(2), "50%"})
	for n := 1; n <= int(top); n++ {
		c.xticks = append(c.xticks, tick{float64(n), ninesLabel(n)})
	}
	c.ylo, c.yhi, c.yticks = logTicks(c.ylo, c.yhi, tickLatency)
	return c
}

// throughputChart plots each target's p50 (solid) and p99 (dashed)
// latency against its achieved throughput, one point per step.
func throughputChart(r *Report, colors map[string]string) *chart {
	c := &chart{
		title:  "Latency against throughput",
		xTitle: "achieved throughput (req/s)",
		yTitle: "latency (log scale)",
		ylo:    math.Inf(1),
	}
	xmin, xmax := math.Inf(1), 0.0
	for _, t := range r.targets() {
		p50 := series{name: t + " p50", color: colors[t], marker: "dot"}
		p99 := series{name: t + " p99", color: colors[t], dash: "6 4", marker: "ring"}
		for i, s := range loadOrder(r.Steps, t) {
			res := s.Result
			x := res.Achieved
			tip := fmt.Sprintf("%s %s: %s req/s, p50 %s, p99 %s", t, s.Label, formatRate(x),
				formatLatency(res.Latency.P50), formatLatency(res.Latency.P99))
			y50, y99 := max(usOf(res.Latency.P50), 1), max(usOf(res.Latency.P99), 1)
			gap := i > 0 && res.Load.Mode != p50.mode
			p50.mode = res.Load.Mode
			p50.pts = append(p50.pts, pt{x: x, y: y50, tip: tip, gap: gap})
			p99.pts = append(p99.pts, pt{x: x, y: y99, tip: tip, gap: gap, label: s.Label})
			xmax = max(xmax, x)
			if x > 0 {
				xmin = min(xmin, x)
			}
			c.ylo, c.yhi = min(c.ylo, y50, y99), max(c.yhi, y50, y99)
		}
		if len(p50.pts) == 0 {
			continue
		}
		c.series = append(c.series, p50, p99)
		c.legend = append(c.legend, legendItem{label: t, color: colors[t]})
	}
	if len(c.series) == 0 {
		return nil
	}
	c.legend = append(c.legend,
		legendItem{label: "p50", color: "#555"},
		legendItem{label: "p99", color: "#555", dash: "6 4"})
	// Throughputs a few decades apart (an in-process baseline beside HTTP
	// targets) would squeeze all but the fastest into one corner.
	if xmax > 30*xmin {
		c.xLog = true
		c.xTitle = "achieved throughput (req/s, log scale)"
		c.xlo, c.xhi, c.xticks = logTicks(xmin, xmax, tickRate)
	} else {
		c.xhi, c.xticks = linearTicks(xmax * 1.04)
	}
	c.ylo, c.yhi, c.yticks = logTicks(c.ylo, c.yhi, tickLatency)
	return c
}

// loadOrder returns target's steps that measured something, closed-loop
// steps first by concurrency, then open-loop steps by offered rate, so
// that a line joins each mode's steps from light load to heavy.
func loadOrder(steps []Step, target string) []Step {
	var out []Step
	for _, s := range steps {
		if s.Target == target && s.Result != nil && s.Result.Latency.Count > 0 {
			out = append(out, s)
		}
	}
	weight := func(s Step) float64 {
		if s.Result.Load.Mode == loadgen.Open {
			return s.Result.Offered
		}
		return float64(s.Result.Load.Concurrency)
	}
	slices.SortStableFunc(out, func(a, b Step) int {
		ao, bo := a.Result.Load.Mode == loadgen.Open, b.Result.Load.Mode == loadgen.Open
		if ao != bo {
			if ao {
				return 1
			}
			return -1
		}
		return cmp.Compare(weight(a), weight(b))
	})
	return out
}
