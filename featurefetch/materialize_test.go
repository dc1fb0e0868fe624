package featurefetch_test

import (
	"math"
	"testing"
	"time"

	"github.com/infergate/infergate/featurefetch"
)

// TestMaterializePointInTime: each entity keeps its latest row up to as_of;
// later rows are left out, so the store holds what was known then.
func TestMaterializePointInTime(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	cols := []featurefetch.Column{
		{Name: "customer_id", Strings: []string{"C1", "C1", "C2", "C1", "C3"}},
		{Name: "ts", Strings: []string{"2026-01-01T00:00:00Z", "2026-03-01 00:00:00", "2026-02-01", "2026-06-01T00:00:00Z", "2026-01-15T00:00:00Z"}},
		{Name: "tenure_months", Numbers: []float64{1, 3, 7, 6, nan}},
		{Name: "monthly_charges", Numbers: []float64{10, 30, 70, 60, 5}},
		{Name: "contract", Strings: []string{"a", "b", "c", "d", ""}},
	}
	asOf := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	m, err := featurefetch.Materialize(cols, statsView(), featurefetch.MaterializeOptions{TimestampColumn: "ts", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if m.Read != 5 || m.Kept != 3 || m.Future != 1 || m.Older != 1 {
		t.Fatalf("read %d kept %d future %d older %d; want 5, 3, 1, 1", m.Read, m.Kept, m.Future, m.Older)
	}
	sv := m.SnapshotView()
	got := map[string][]any{}
	for _, r := range sv.Rows {
		got[r.Key] = r.Values
	}
	// C1: the 2026-03-01 row (the June one is after as_of).
	if v := got["C1"]; v[0] != 3.0 || v[1] != 30.0 || v[2] != "b" {
		t.Errorf("C1: %v", v)
	}
	if v := got["C3"]; v[0] != nil || v[2] != nil {
		t.Errorf("C3's missing values: %v", v)
	}
	if sv.Rows[0].Key != "C1" || sv.Rows[2].Key != "C3" {
		t.Errorf("rows not sorted by key: %v", sv.Rows)
	}

	// Errors name the row and the column.
	bad := func(cols []featurefetch.Column, opts featurefetch.MaterializeOptions, want string) {
		t.Helper()
		if _, err := featurefetch.Materialize(cols, statsView(), opts); err == nil || !contains(err.Error(), want) {
			t.Errorf("err %v, want it to mention %q", err, want)
		}
	}
	bad(cols[:2], featurefetch.MaterializeOptions{TimestampColumn: "ts"}, `no column "tenure_months"`)
	bad(cols, featurefetch.MaterializeOptions{TimestampColumn: "when"}, `no column "when"`)
	bad(cols, featurefetch.MaterializeOptions{}, "event timestamp")
	frac := append([]featurefetch.Column(nil), cols...)
	frac[2] = featurefetch.Column{Name: "tenure_months", Numbers: []float64{1.5, 3, 7, 6, 1}}
	bad(frac, featurefetch.MaterializeOptions{TimestampColumn: "ts"}, "row 1, tenure_months: 1.5 is not an integer")
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
