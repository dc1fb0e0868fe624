package target

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// request is a /v1/predictions body, decoded.
type request struct {
	ModelID  string         `json:"model_id"`
	Features map[string]any `json:"features"`
}

// decode parses a generated body strictly: valid JSON, those two fields
// only, nothing after the object.
func decode(tb testing.TB, body []byte) request {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var r request
	if err := dec.Decode(&r); err != nil {
		tb.Fatalf("body %s: %s", body, err)
	}
	if dec.More() {
		tb.Fatalf("body %s: text after the object", body)
	}
	if r.Features == nil {
		tb.Fatalf("body %s: no features object", body)
	}
	return r
}

// writeFile writes content to a file named name in a fresh temporary folder
// and returns its path.
func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// decodeInto parses body into v, failing the test on any error.
func decodeInto(tb testing.TB, body []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("body %s: %s", body, err)
	}
}
