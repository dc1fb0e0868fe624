//go:build !race

// The race detector allocates on its own account, so the zero-allocation
// guards run only in builds without it.

package target

import (
	"context"
	"testing"
)

func TestHTTPDoDoesNotAllocate(t *testing.T) {
	srv, err := StartFixedServer("127.0.0.1:0", []byte(`{"prediction":"low_risk"}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	tmpl, err := Template(`{"model_id":"m","features":{"n":{{seq}},"x":{{rand_float 0 100}},"c":"{{choice a|b}}"}}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]BodySource{"fixed": Fixed([]byte(`{"a":1}`)), "template": tmpl, "none": nil} {
		h := newHTTP(t, HTTPConfig{URL: "http://" + srv.Addr() + "/v1/predictions", Body: body, Headers: map[string]string{"X-Test": "1"}})
		ctx := context.Background()
		seq := uint64(0)
		do := func() {
			seq++
			if status, err := h.Do(ctx, seq); err != nil || status != 200 {
				t.Fatalf("%s: Do = %d, %v", name, status, err)
			}
		}
		for range 100 { // warm the pools and the connection
			do()
		}
		if n := testing.AllocsPerRun(1000, do); n != 0 {
			t.Errorf("%s body: Do allocates %.2f times per request, want 0", name, n)
		}
	}
}

func TestBodySourcesDoNotAllocate(t *testing.T) {
	tmpl, err := Template(`{"n":{{seq}},"i":{{rand_int 0 9}},"x":{{rand_float 0 1}},"c":"{{choice a|b}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	data := readModels(t)
	sig, err := SignatureFromJSON(data, "customer-churn", 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	seq := uint64(0)
	f := func(name string, fn func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s allocates %.2f times per call, want 0", name, n)
		}
	}
	f("Template.AppendBody", func() { seq++; buf = tmpl.(BodyAppender).AppendBody(buf[:0], seq) })
	f("Signature Body", func() { seq++; buf = sig.Body(seq) })
	f("Fixed Body", func() { seq++; buf = Fixed(buf).Body(seq) })
}
