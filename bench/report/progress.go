package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/infergate/infergate/bench/loadgen"
)

// plainEvery is how often a Progress on a non-terminal prints a line.
const plainEvery = 2 * time.Second

// Progress shows a running step on one line:
//
//	[gateway closed c=64] window 2  12.3s  45,210 req/s  p50 1.21ms  p99 3.40ms  errors 0
//
// On a terminal the line is rewritten in place with \r at every Update;
// elsewhere (a file, a CI log) a plain line is printed at most every 2s,
// and at once when the step or phase changes. It is safe for concurrent
// use.
type Progress struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	last string // the last line formatted
	// shown is the width of what is on the terminal line (tty), or
	// whether last was printed (plain: shown > 0).
	shown   int
	key     string // target, label and phase of the last line printed
	printed time.Time
}

// NewProgress returns a Progress writing to w. It rewrites its line in
// place only when w is an *os.File on a terminal.
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, tty: isTerminal(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update shows the progress of target's step under label. Write errors
// are ignored: progress is a courtesy, not a result.
func (p *Progress) Update(target, label string, pr loadgen.Progress) {
	line := progressLine(target, label, pr)
	key := target + "\x00" + label + "\x00" + pr.Phase
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = line
	if p.tty {
		n := utf8.RuneCountInString(line)
		pad := ""
		if p.shown > n {
			pad = strings.Repeat(" ", p.shown-n)
		}
		_, _ = io.WriteString(p.w, "\r"+line+pad)
		p.shown = n
		return
	}
	now := time.Now()
	if key != p.key || now.Sub(p.printed) >= plainEvery {
		_, _ = io.WriteString(p.w, line+"\n")
		p.key, p.printed, p.shown = key, now, 1
		return
	}
	p.shown = 0
}

// Done ends the progress line: on a terminal it moves to the next line;
// elsewhere it prints the last update if it was not printed yet. The
// Progress can be used again for the next step.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		if p.shown > 0 {
			_, _ = io.WriteString(p.w, "\n")
		}
	} else if p.shown == 0 && p.last != "" {
		_, _ = io.WriteString(p.w, p.last+"\n")
	}
	p.last, p.shown, p.key, p.printed = "", 0, "", time.Time{}
}

func progressLine(target, label string, pr loadgen.Progress) string {
	return fmt.Sprintf("[%s %s] %s  %s  %s req/s  p50 %s  p99 %s  errors %s",
		target, label, pr.Phase, formatSeconds(pr.Elapsed), formatRate(pr.Rate),
		formatMeasured(pr.P50), formatMeasured(pr.P99), groupThousands(int64(pr.Errors)))
}
