package featurefetch_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/featurefetch"
)

func snapshotOf(rows ...featurefetch.SnapshotRow) *featurefetch.Snapshot {
	return &featurefetch.Snapshot{Views: []featurefetch.SnapshotView{{
		Name: "customer_stats", JoinKey: "customer_id", KeyType: "string",
		Features: []featurefetch.SnapshotFeature{{Name: "tenure_months", Type: "int64"}, {Name: "monthly_charges", Type: "double"}, {Name: "contract", Type: "string"}},
		Rows:     rows,
	}}}
}

func writeSnapshot(t testing.TB, path string, s *featurefetch.Snapshot) {
	t.Helper()
	var b bytes.Buffer
	if err := featurefetch.WriteSnapshot(&b, s); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedStore: a snapshot reads back in the view's feature order
// (whatever the file's order), missing values stay missing, a changed file
// is loaded again and a broken one is refused while the old one serves.
func TestEmbeddedStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "features.json")
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	writeSnapshot(t, path, snapshotOf(
		featurefetch.SnapshotRow{Key: "C000001", EventTime: at, Values: []any{24, 89.99, "month-to-month"}},
		featurefetch.SnapshotRow{Key: "C000002", EventTime: at, Values: []any{3, nil, "two-year"}},
	))
	logs := &syncBuffer{}
	store, err := featurefetch.NewEmbeddedStore(path, 10*time.Millisecond, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The view asks in another order, and for a feature the file lacks.
	v, err := featurefetch.NewView("customer_stats", "customer_id", featurefetch.TypeString, []featurefetch.Feature{
		{Name: "contract", Type: featurefetch.TypeString}, {Name: "tenure_months", Type: featurefetch.TypeInt64}, {Name: "support_calls", Type: featurefetch.TypeInt64},
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]featurefetch.Row, 3)
	read := func() {
		t.Helper()
		if err := store.Read(context.Background(), v, []featurefetch.EntityKey{str("C000001"), str("C000002"), str("C9")}, rows); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if r := rows[0]; !r.Found || !r.EventTime.Equal(at) || string(r.Values[0].Str) != "month-to-month" || r.Values[1].Num != 24 || r.Values[2].Kind != featurefetch.Missing {
		t.Fatalf("C000001: %+v", r)
	}
	if !rows[1].Found || rows[2].Found {
		t.Fatalf("C000002 %+v, C9 %+v", rows[1], rows[2])
	}

	writeSnapshot(t, path, snapshotOf(featurefetch.SnapshotRow{Key: "C9", EventTime: at, Values: []any{1, 2, "one-year"}}))
	waitUntil(t, "the new snapshot", func() bool { read(); return rows[2].Found })
	if rows[0].Found {
		t.Fatal("C000001 is still found after a snapshot without it")
	}

	if err := os.WriteFile(path, []byte(`{"format":"infergate-features/1","views":[{"name":"x","features":[{"name":"a","type":"complex"}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the broken snapshot's log line", func() bool { return strings.Contains(logs.String(), "cannot be loaded") })
	read()
	if !rows[2].Found {
		t.Fatal("a broken snapshot replaced the one in memory")
	}
}

func TestEmbeddedStoreErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := func(content, want string) {
		t.Helper()
		path := filepath.Join(dir, "s.json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := featurefetch.NewEmbeddedStore(path, 0, quiet)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want it to mention %q", content, err, want)
		}
	}
	f(`{}`, `format ""`)
	f(`[`, "not a feature snapshot")
	f(`{"format":"infergate-features/1","views":[{"name":"v","features":[{"name":"a","type":"int64"}],"rows":[{"key":"k","values":[1,2]}]}]}`, "2 values for 1 features")
	f(`{"format":"infergate-features/1","views":[{"name":"v","features":[{"name":"a","type":"int64"}],"rows":[{"key":"k","values":["x"]}]}]}`, `feature "a": a string for a int64 feature`)
	if _, err := featurefetch.NewEmbeddedStore(filepath.Join(dir, "none.json"), 0, quiet); err == nil || !strings.Contains(err.Error(), "materialize") {
		t.Errorf("missing file: %v", err)
	}
}

// waitUntil polls cond every few milliseconds for at most 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a logger may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
