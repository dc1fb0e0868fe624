package gateway_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/servingtest"
)

// compressed is s written through the writer newWriter makes.
func compressed(tb testing.TB, s string, newWriter func(io.Writer) io.WriteCloser) string {
	tb.Helper()
	var b bytes.Buffer
	w := newWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

func gzipped(tb testing.TB, s string) string {
	return compressed(tb, s, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

// zlibbed is s as Content-Encoding deflate means it: the zlib format.
func zlibbed(tb testing.TB, s string) string {
	return compressed(tb, s, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

// TestCompressedBodies: /v1 and v2 bodies sent gzip or deflate (zlib, as
// tritonclient compresses them) get the plain body's answer; a body that
// inflates beyond server.max_body_bytes gets 413 (a zip bomb costs no more
// than a plain body may), a corrupt one 400, another encoding 415, each
// in its protocol's error shape.
func TestCompressedBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	_, d := servingtest.Demo(t)
	v1 := s.predict(t, bodyFor(servingtest.Route))
	v2Path := "/v2/models/" + servingtest.Route + "/infer"
	v2Body := v2Infer(t, d, 0, 1, 2)
	v2 := do(t, s.public, "POST", v2Path, v2Body)
	binBody, binHeaders := toBinary(t, v2Body, true)
	v2bin := do(t, s.public, "POST", v2Path, binBody, binHeaders...)
	if v1.status != 200 || v2.status != 200 || v2bin.status != 200 {
		t.Fatalf("plain: %d %s, %d %s, %d", v1.status, v1.body, v2.status, v2.body, v2bin.status)
	}
	same := func(what string, got, want reply) {
		t.Helper()
		// /v1 answers carry their latency: compare the rest.
		strip := func(b []byte) string { return strings.Split(string(b), `"latency_ms"`)[0] }
		if got.status != 200 || strip(got.body) != strip(want.body) {
			t.Errorf("%s: %d %s\nwant the plain body's %s", what, got.status, got.body, want.body)
		}
	}
	for name, enc := range map[string]func(testing.TB, string) string{"gzip": gzipped, "deflate": zlibbed} {
		same(name+" /v1", s.predict(t, enc(t, bodyFor(servingtest.Route)), "Content-Encoding", name), v1)
		same(name+" v2", do(t, s.public, "POST", v2Path, enc(t, v2Body), "Content-Encoding", name), v2)
		same(name+" v2 binary", do(t, s.public, "POST", v2Path, enc(t, binBody), append([]string{"Content-Encoding", name}, binHeaders...)...), v2bin)
	}

	bomb := gzipped(t, strings.Repeat("\x00", 4<<20)) // 4 MiB of zeros in a few KiB
	if len(bomb) >= testMaxBodyBytes {
		t.Fatalf("the bomb is %d bytes, not under the limit", len(bomb))
	}
	wantError(t, s.predict(t, bomb, "Content-Encoding", "gzip"), 413, "body_too_large", "")
	wantError(t, s.predict(t, "not gzip at all", "Content-Encoding", "gzip"), 400, "invalid_field", "")
	wantError(t, s.predict(t, bodyFor(servingtest.Route), "Content-Encoding", "br"), 415, "unsupported_encoding", "")
	for _, tc := range []struct {
		body, enc string
		status    int
		want      string
	}{
		{bomb, "gzip", 413, "inflates to more than server.max_body_bytes"},
		{"not deflate", "deflate", 400, "request body is not valid deflate data"},
		{v2Body, "compress", 415, `Content-Encoding \"compress\" is not supported`},
	} {
		r := do(t, s.public, "POST", v2Path, tc.body, "Content-Encoding", tc.enc)
		if r.status != tc.status || !strings.Contains(string(r.body), `{"error":"`) || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("v2 %s: %d %s, want %d {\"error\": %q…}", tc.enc, r.status, r.body, tc.status, tc.want)
		}
	}
}

// TestCompressedAnswers: a client that accepts gzip gets its answer
// compressed; inflated, it is the plain answer, the v2 binary one with its
// Inference-Header-Content-Length counting the inflated JSON.
func TestCompressedAnswers(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	_, d := servingtest.Demo(t)
	path := "/v2/models/" + servingtest.Route + "/infer"
	body := v2Infer(t, d, 0, 1, 2, 3, 4)
	plain := do(t, s.public, "POST", path, body)
	zipped := do(t, s.public, "POST", path, body, "Accept-Encoding", "gzip")
	if zipped.get("Content-Encoding") != "gzip" || len(zipped.body) >= len(plain.body) {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q, %d bytes against %d", zipped.get("Content-Encoding"), len(zipped.body), len(plain.body))
	}
	inflate := func(b []byte) []byte {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := inflate(zipped.body); !bytes.Equal(got, plain.body) {
		t.Errorf("inflated %s\nwant %s", got, plain.body)
	}
	// br is not offered: Triton's clients cannot decode it.
	if r := do(t, s.public, "POST", path, body, "Accept-Encoding", "br"); r.get("Content-Encoding") != "" || !bytes.Equal(r.body, plain.body) {
		t.Errorf("Accept-Encoding br: Content-Encoding %q", r.get("Content-Encoding"))
	}
	binBody, headers := toBinary(t, body, true)
	bin := do(t, s.public, "POST", path, binBody, headers...)
	binZipped := do(t, s.public, "POST", path, binBody, append(headers, "Accept-Encoding", "gzip")...)
	if binZipped.get("Content-Encoding") != "gzip" || binZipped.get("Inference-Header-Content-Length") != bin.get("Inference-Header-Content-Length") || !bytes.Equal(inflate(binZipped.body), bin.body) {
		t.Errorf("binary answer, gzip: %q %q, inflated equal %v", binZipped.get("Content-Encoding"), binZipped.get("Inference-Header-Content-Length"), bytes.Equal(inflate(binZipped.body), bin.body))
	}
}
