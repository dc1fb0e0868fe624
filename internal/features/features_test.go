package features

import "testing"

func TestCopyFromOwnsItsBytes(t *testing.T) {
	t.Parallel()
	body := []byte(`tenure_monthscontractmonth-to-month`)
	var src Set
	src.AddNumber(body[0:13], 24)
	src.AddString(body[13:21], body[21:])
	var dst Set
	dst.CopyFrom(&src)
	if !Equal(&src, &dst) {
		t.Fatalf("copy differs from its source")
	}
	for i := range body {
		body[i] = 'x' // the request's buffer is reused by the next request
	}
	if f := dst.Get("contract"); f == nil || string(f.Str) != "month-to-month" {
		t.Fatalf("copy changed with its source's bytes: %+v", f)
	}
	if f := dst.Get("tenure_months"); f == nil || f.Num != 24 {
		t.Fatalf("tenure_months = %+v, want 24", f)
	}
}

func TestGetReturnsTheLastRepeat(t *testing.T) {
	t.Parallel()
	var s Set
	s.AddNumber([]byte("a"), 1)
	s.AddNumber([]byte("a"), 2)
	if f := s.Get("a"); f.Num != 2 {
		t.Fatalf("Get(a) = %v, want the last value 2", f.Num)
	}
	if s.Get("b") != nil {
		t.Fatalf("Get(b) found a feature that was never set")
	}
}

func TestAppendKey(t *testing.T) {
	t.Parallel()
	f := func(feat Feature, want string) {
		t.Helper()
		if got := string(feat.AppendKey(nil)); got != want {
			t.Errorf("AppendKey = %q, want %q", got, want)
		}
	}
	f(Feature{Kind: String, Str: []byte("12345")}, "12345")
	f(Feature{Kind: Number, Num: 12345}, "12345")
	f(Feature{Kind: Number, Num: 0.5}, "0.5")
}

func TestSetDoesNotAllocateOnceWarm(t *testing.T) {
	name, value := []byte("contract"), []byte("one-year")
	var s, c Set
	fill := func() {
		s.Reset()
		s.AddNumber(name, 1)
		s.AddString(name, value)
		c.CopyFrom(&s)
	}
	fill()
	if n := testing.AllocsPerRun(100, fill); n != 0 {
		t.Fatalf("filling and copying a warm Set allocates %v times, want 0", n)
	}
}
