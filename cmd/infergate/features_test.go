package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/featurefetch"
)

// TestFeaturesMaterialize runs `infergate features materialize` on a table
// with several rows per customer: the snapshot keeps each customer's latest
// row up to --as-of, and usage errors say what to do.
func TestFeaturesMaterialize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	snapshot := filepath.Join(dir, "features", "snapshot.json")
	config := filepath.Join(dir, "infergate.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `registry: {root: %s}
routes: [{name: customer-churn, features: {view: stats}}]
auth: {mode: off, admin: {mode: off}}
features:
  store: {snapshot: %s}
  views:
    - name: stats
      join_key: customer_id
      features: [{name: tenure_months, type: int64}, {name: contract, type: string}]
`, filepath.Join(dir, "registry"), snapshot), 0o644); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "table.csv")
	if err := os.WriteFile(table, []byte(`customer_id,event_timestamp,tenure_months,contract
C1,2026-01-01T00:00:00Z,1,month-to-month
C1,2026-03-01T00:00:00Z,3,one-year
C2,2026-02-01T00:00:00Z,7,two-year
C1,2026-09-01T00:00:00Z,9,two-year
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, "features", "materialize", "--config", config, "--from", table, "--timestamp-column", "event_timestamp", "--as-of", "2026-06-01T00:00:00Z")
	want := "4 rows read, 2 entities, 2 written; 1 rows after --as-of and 1 older rows left out"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant %q", r.code, r.stdout, r.stderr, want)
	}
	snap, err := featurefetch.ReadSnapshot(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	rows := snap.Views[0].Rows
	if len(rows) != 2 || rows[0].Key != "C1" || rows[0].Values[0] != 3.0 || rows[0].Values[1] != "one-year" {
		t.Fatalf("snapshot rows %+v", rows)
	}

	f := func(wantCode int, mention string, args ...string) {
		t.Helper()
		r := run(t, dir, append([]string{"features"}, args...)...)
		if r.code != wantCode || !strings.Contains(r.stderr+r.stdout, mention) {
			t.Errorf("features %s: exit %d, want %d mentioning %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, wantCode, mention, r.stdout, r.stderr)
		}
	}
	f(2, "--from is required", "materialize", "--config", config)
	f(2, "--timestamp-column", "materialize", "--config", config, "--from", table)
	f(1, `no view "other"`, "materialize", "--config", config, "--from", table, "--view", "other", "--event-time", "now")
	f(1, `no column "when"`, "materialize", "--config", config, "--from", table, "--timestamp-column", "when")
	f(2, "subcommand is required", "load")
}
