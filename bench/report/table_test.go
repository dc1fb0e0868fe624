package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/golden"
)

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteTable(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "table.golden", b.Bytes())
}

func TestWriteTableEmpty(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteTable(&b, &Report{}); err != nil {
		t.Fatal(err)
	}
	want := "infergate benchmark\n\n  target  load  offered  achieved  lag  p50  p90  p99  p99.9  max  mean  errors  windows\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestFormatLatency(t *testing.T) {
	t.Parallel()
	f := func(d time.Duration, want string) {
		t.Helper()
		if got := formatLatency(d); got != want {
			t.Errorf("formatLatency(%v) = %q, want %q", d, got, want)
		}
	}
	f(0, "0")
	f(7*time.Microsecond, "7µs")
	f(412*time.Microsecond, "412µs")
	f(999*time.Microsecond, "999µs")
	f(999600*time.Nanosecond, "1.00ms")
	f(1210*time.Microsecond, "1.21ms")
	f(1215500*time.Nanosecond, "1.22ms")
	f(9996*time.Microsecond, "10.0ms")
	f(12345*time.Microsecond, "12.3ms")
	f(99960*time.Microsecond, "100ms")
	f(123456*time.Microsecond, "123ms")
	f(999700*time.Microsecond, "1.00s")
	f(1234*time.Millisecond, "1.23s")
	f(150*time.Second, "150s")
	f(-3400*time.Microsecond, "-3.40ms")
	if got := formatDiff(90 * time.Microsecond); got != "+90µs" {
		t.Errorf("formatDiff = %q", got)
	}
}

func TestFormatRate(t *testing.T) {
	t.Parallel()
	f := func(v float64, want string) {
		t.Helper()
		if got := formatRate(v); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", v, got, want)
		}
	}
	f(0, "0.0")
	f(12.34, "12.3")
	f(100, "100")
	f(999.6, "1,000")
	f(45210.2, "45,210")
	f(1234567, "1,234,567")
}

func TestFormatMeasured(t *testing.T) {
	t.Parallel()
	f := func(d time.Duration, want string) {
		t.Helper()
		if got := formatMeasured(d); got != want {
			t.Errorf("formatMeasured(%v) = %q, want %q", d, got, want)
		}
	}
	f(0, "<1µs")
	f(999*time.Nanosecond, "<1µs")
	f(time.Microsecond, "1µs")
	f(1210*time.Microsecond, "1.21ms")
}
