package report

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

func step(phase string, elapsed time.Duration, rate float64) loadgen.Progress {
	return loadgen.Progress{
		Phase: phase, Elapsed: elapsed, Completed: uint64(rate * elapsed.Seconds()), Rate: rate,
		P50: 1210 * time.Microsecond, P99: 3400 * time.Microsecond,
	}
}

func TestProgressPlain(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var b bytes.Buffer
		p := NewProgress(&b)
		p.Update("gateway", "closed c=64", step("warmup", 250*time.Millisecond, 40000))
		time.Sleep(time.Second)
		p.Update("gateway", "closed c=64", step("warmup", 1250*time.Millisecond, 41000)) // within 2s: not printed
		p.Update("gateway", "closed c=64", step("window 1", 0, 0))                       // new phase: printed
		time.Sleep(2 * time.Second)
		p.Update("gateway", "closed c=64", step("window 1", 2*time.Second, 45210)) // 2s later: printed
		time.Sleep(500 * time.Millisecond)
		p.Update("gateway", "closed c=64", step("window 1", 12300*time.Millisecond, 45210.4)) // not yet printed
		p.Done()                                                                              // prints it
		p.Done()                                                                              // nothing more
		want := strings.Join([]string{
			"[gateway closed c=64] warmup  0.2s  40,000 req/s  p50 1.21ms  p99 3.40ms  errors 0",
			"[gateway closed c=64] window 1  0.0s  0.0 req/s  p50 1.21ms  p99 3.40ms  errors 0",
			"[gateway closed c=64] window 1  2.0s  45,210 req/s  p50 1.21ms  p99 3.40ms  errors 0",
			"[gateway closed c=64] window 1  12.3s  45,210 req/s  p50 1.21ms  p99 3.40ms  errors 0",
		}, "\n") + "\n"
		if b.String() != want {
			t.Errorf("got\n%s\nwant\n%s", b.String(), want)
		}
		if strings.Contains(b.String(), "\r") {
			t.Errorf("carriage return written to a non-terminal")
		}
	})
}

func TestProgressDoneAfterPrinted(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := NewProgress(&b)
	p.Update("fixedbody", "open 5000/s", step("window 2", time.Second, 5000))
	p.Done()
	want := "[fixedbody open 5000/s] window 2  1.0s  5,000 req/s  p50 1.21ms  p99 3.40ms  errors 0\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestProgressTerminal(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &Progress{w: &b, tty: true}
	p.Update("gw", "c=1", step("window 10", time.Second, 5000))
	p.Update("gw", "c=1", step("window 9", time.Second, 5000)) // one character shorter: padded
	p.Done()
	want := "\r[gw c=1] window 10  1.0s  5,000 req/s  p50 1.21ms  p99 3.40ms  errors 0" +
		"\r[gw c=1] window 9  1.0s  5,000 req/s  p50 1.21ms  p99 3.40ms  errors 0 \n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
