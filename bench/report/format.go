package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

// formatLatency writes a latency with 3 significant digits: "412µs",
// "1.21ms", "12.3ms", "123ms", "1.23s".
func formatLatency(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + formatLatency(-d)
	case d == 0:
		return "0"
	case d < time.Millisecond-time.Microsecond/2:
		return strconv.FormatInt(int64(math.Round(float64(d)/float64(time.Microsecond))), 10) + "µs"
	case d < time.Second-time.Millisecond/2:
		return sig3(float64(d)/float64(time.Millisecond)) + "ms"
	default:
		return sig3(float64(d)/float64(time.Second)) + "s"
	}
}

// formatMeasured writes a measured latency: like formatLatency, except that
// below the histograms' 1µs resolution it says "<1µs" rather than "0".
func formatMeasured(d time.Duration) string {
	if d >= 0 && d < time.Microsecond {
		return "<1µs"
	}
	return formatLatency(d)
}

// formatDiff writes a latency difference with its sign: "+412µs", "-1.20ms".
func formatDiff(d time.Duration) string {
	if d < 0 {
		return "-" + formatLatency(-d)
	}
	return "+" + formatLatency(d)
}

// sig3 writes v (≥ 1) with 3 significant digits, deciding the decimals
// after rounding so that 9.996 becomes "10.0", not "10.00".
func sig3(v float64) string {
	for dec := 2; dec > 0; dec-- {
		s := strconv.FormatFloat(v, 'f', dec, 64)
		if r, _ := strconv.ParseFloat(s, 64); r < math.Pow10(3-dec) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// formatRate writes a rate in req/s: whole numbers grouped by thousands
// from 100 up ("45,210"), one decimal below.
func formatRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return groupThousands(int64(math.Round(v)))
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatRatio writes a throughput ratio: "0.48×", "4.78×", "12.3×".
func formatRatio(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// formatSeconds writes a duration in seconds with one decimal: "12.3s".
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// failedStatus reports whether an HTTP status counts as an error: anything
// outside 2xx and 3xx.
func failedStatus(status int) bool { return status < 200 || status >= 400 }

// errorCount is the number of failed requests: error statuses and
// failures without a status.
func errorCount(res *loadgen.Result) uint64 {
	var n uint64
	for st, c := range res.Statuses {
		if failedStatus(st) {
			n += c
		}
	}
	for _, c := range res.Errors {
		n += c
	}
	return n
}

// formatErrors writes the failures of a step by status: "0",
// "15 (429×12, 503×3)", "5 (err×5)" for failures without a status.
func formatErrors(res *loadgen.Result) string {
	n := errorCount(res)
	if n == 0 {
		return "0"
	}
	statuses := make([]int, 0, len(res.Statuses))
	for st, c := range res.Statuses {
		if failedStatus(st) && c > 0 {
			statuses = append(statuses, st)
		}
	}
	sort.Ints(statuses)
	parts := make([]string, 0, len(statuses)+1)
	for _, st := range statuses {
		parts = append(parts, fmt.Sprintf("%d×%s", st, groupThousands(int64(res.Statuses[st]))))
	}
	var other uint64
	for _, c := range res.Errors {
		other += c
	}
	if other > 0 {
		parts = append(parts, "err×"+groupThousands(int64(other)))
	}
	return groupThousands(int64(n)) + " (" + strings.Join(parts, ", ") + ")"
}

// errorMessages lists the failures without a status, most frequent first:
// "connection refused ×3".
func errorMessages(res *loadgen.Result) []string {
	msgs := make([]string, 0, len(res.Errors))
	for m := range res.Errors {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool {
		ci, cj := res.Errors[msgs[i]], res.Errors[msgs[j]]
		if ci != cj {
			return ci > cj
		}
		return msgs[i] < msgs[j]
	})
	for i, m := range msgs {
		msgs[i] = m + " ×" + groupThousands(int64(res.Errors[m]))
	}
	return msgs
}

// formatWindows writes the windows counted and whether they agreed:
// "5/stable", "10/unstable".
func formatWindows(res *loadgen.Result) string {
	if res.Stable {
		return strconv.Itoa(res.Windows) + "/stable"
	}
	return strconv.Itoa(res.Windows) + "/unstable"
}
