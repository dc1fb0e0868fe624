package report

import (
	"html/template"
	"io"
)

// htmlTable is a grid ready for the template.
type htmlTable struct {
	Head  []string
	Right []bool
	Rows  []gridRow
	// Emph marks the columns to highlight (the ratios).
	Emph   []bool
	Wrap   []bool // columns whose cells may wrap
	Ratios bool
}

// htmlRatios is the ratios of one Comparison.
type htmlRatios struct {
	Comparison
	Table htmlTable
}

type htmlPage struct {
	Title  string
	Header [][2]string
	Ratios []htmlRatios
	Plots  []template.HTML
	Steps  htmlTable
	Notes  []string
}

// WriteHTML writes the report as one self-contained HTML page: no
// scripts, no external styles, fonts or images. It shows the machine, the
// ratios, one latency-by-percentile plot per load label, a throughput
// against latency plot, and the steps table. Steps and ratios that are not
// to be trusted are marked with the reason.
func WriteHTML(w io.Writer, r *Report) error {
	p := htmlPage{Title: r.Title, Header: headerFields(r), Notes: r.Notes}
	if p.Title == "" {
		p.Title = "infergate benchmark"
	}
	colors := map[string]string{}
	for i, t := range r.targets() {
		colors[t] = palette[i%len(palette)]
	}
	mark := 0
	steps := stepsGrid(r, &mark)
	for _, g := range ratiosGrids(r, r.Ratios(), &mark) {
		p.Ratios = append(p.Ratios, htmlRatios{g.Comparison, htmlTable{
			Head: g.head, Right: g.right, Rows: g.rows, Ratios: true,
			Emph: []bool{false, true, false, false, true, false, false, true},
			Wrap: make([]bool, len(g.head)),
		}})
	}
	p.Steps = htmlTable{Head: steps.head, Right: steps.right, Rows: steps.rows,
		Emph: make([]bool, len(steps.head)), Wrap: make([]bool, len(steps.head))}
	p.Steps.Wrap[10] = true // errors: "1,248 (429×1,200, 503×34, err×14)"
	if c := throughputChart(r, colors); c != nil {
		p.Plots = append(p.Plots, template.HTML(c.svg())) // every user string in it went through esc
	}
	for _, l := range r.labels() {
		if c := percentileChart(r, l, colors); c != nil {
			p.Plots = append(p.Plots, template.HTML(c.svg()))
		}
	}
	return pageTemplate.Execute(w, p)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1b1f24; background: #fff; margin: 0; padding: 24px 32px 48px; }
main { max-width: 1320px; margin: 0 auto; }
h1 { font-size: 22px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
h3 .ab { font-weight: 400; color: #57606a; margin-left: 8px; }
h2 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0 0; color: #374151; }
dl.meta dt { font-weight: 600; color: #57606a; }
dl.meta dd { margin: 0; }
p.explain { color: #57606a; margin: 4px 0 8px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; }
.scroll { overflow-x: auto; }
th, td { padding: 4px 9px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
th { text-align: left; font-weight: 600; color: #57606a; border-bottom: 2px solid #d0d7de; }
th.r, td.r { text-align: right; }
td.wrap { white-space: normal; min-width: 9em; max-width: 16em; }
td.mark { color: #9a3412; font-weight: 700; padding-right: 2px; }
td.emph { font-weight: 700; background: #eef5fb; }
table.ratios td.emph { font-size: 15px; }
tr.untrusted td { background: #fff7e6; }
tr.untrusted td.emph { background: #fdebc8; }
tr.why td { color: #9a3412; font-size: 12.5px; white-space: normal; border-bottom: 1px solid #e5e7eb; padding-top: 0; background: #fff7e6; }
tr.why.info td { color: #57606a; background: none; }
td.mark.info { color: #57606a; }
tr.has-why td { border-bottom: none; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px 24px; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
svg.plot { width: 100%; height: auto; max-width: 760px; overflow: visible; }
svg.plot text.point { font-size: 10px; text-anchor: middle; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; paint-order: stroke; }
svg.plot text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 12px; fill: #1b1f24; }
svg.plot text.title { font-size: 14px; font-weight: 600; }
svg.plot text.xtick { text-anchor: middle; fill: #374151; }
svg.plot text.ytick { text-anchor: end; fill: #374151; }
svg.plot text.axis { text-anchor: middle; fill: #57606a; }
svg.plot line.grid { stroke: #d0d7de; stroke-width: 1; }
svg.plot line.minor { stroke: #eef0f3; stroke-width: 1; }
svg.plot rect.frame { fill: none; stroke: #8c959f; stroke-width: 1; }
ul.notes { padding-left: 20px; }
@media print {
  body { padding: 0; font-size: 11px; }
  .plots { grid-template-columns: 1fr 1fr; }
  table, tr, figure { break-inside: avoid; }
  td.emph, tr.untrusted td, tr.why td, tr.untrusted td.emph { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<dl class="meta">
{{- range .Header}}
<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{- end}}
</dl>
</header>
{{- if .Ratios}}
<section>
<h2>Ratios</h2>
<p class="explain">req/s A÷B is A’s achieved throughput divided by B’s; A−B is A’s latency minus B’s: the overhead of A.</p>
{{- range .Ratios}}
<h3>{{.Name}} <span class="ab">A = <b>{{.A}}</b>, B = <b>{{.B}}</b></span></h3>
{{template "table" .Table}}
{{- end}}
</section>
{{- end}}
{{- if .Plots}}
<section>
<h2>Plots</h2>
<div class="plots">
{{- range .Plots}}
<figure>{{.}}</figure>
{{- end}}
</div>
</section>
{{- end}}
<section>
<h2>Steps</h2>
<p class="explain">Latencies of completed requests (successful or not). Errors are responses outside 2xx/3xx and failures without a status. A step is trusted when the generator kept its schedule and its last 3 windows agreed.</p>
{{template "table" .Steps}}
</section>
{{- if .Notes}}
<section>
<h2>Notes</h2>
<ul class="notes">
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}
</main>
</body>
</html>
{{define "table"}}{{$t := .}}
<div class="scroll"><table{{if .Ratios}} class="ratios"{{end}}>
<thead><tr><th></th>{{range $i, $h := .Head}}<th{{if index $t.Right $i}} class="r"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .Notes}} class="{{if .Warn}}untrusted {{end}}has-why"{{end}}><td class="mark{{if not .Warn}} info{{end}}">{{.Mark}}</td>
{{- range $i, $c := .Cells}}<td class="{{if index $t.Right $i}}r{{end}}{{if index $t.Emph $i}} emph{{end}}{{if index $t.Wrap $i}} wrap{{end}}">{{$c}}</td>{{end}}</tr>
{{- if .Notes}}
<tr class="why{{if not .Warn}} info{{end}}"><td class="mark"></td><td colspan="{{len .Cells}}">{{if .Warn}}⚠ {{end}}{{range $i, $n := .Notes}}{{if $i}}; {{end}}{{$n}}{{end}}</td></tr>
{{- end}}
{{- end}}
</tbody>
</table></div>
{{- end}}
`))
