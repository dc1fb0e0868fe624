package promtext

import "strings"

// LatencyBuckets are the upper bounds, in seconds, of latency histograms:
// 100µs to 10s, the range of an online model's latency. They are Prometheus
// "le" buckets, which stock Prometheus turns into quantiles.
var LatencyBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10,
}

// labelEscaper escapes what the Prometheus text format requires in a label
// value: backslash, double quote and line feed.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// EscapeLabel escapes a label value for the text exposition format.
func EscapeLabel(v string) string { return labelEscaper.Replace(v) }
