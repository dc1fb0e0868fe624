package trainer

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"testing"
)

func csvBytes(t testing.TB, d *Dataset) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateChurnDeterministic(t *testing.T) {
	t.Parallel()
	a := csvBytes(t, GenerateChurn(2000, 7))
	b := csvBytes(t, GenerateChurn(2000, 7))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different data")
	}
	if c := csvBytes(t, GenerateChurn(2000, 8)); bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same data")
	}
	// A prefix of a larger table is the smaller table.
	if big := csvBytes(t, GenerateChurn(2001, 7)); !bytes.HasPrefix(big, a) {
		t.Fatal("GenerateChurn(2001) does not extend GenerateChurn(2000)")
	}
	if d := GenerateChurn(0, 1); d.Rows() != 0 || len(d.Columns) != len(churnColumns) {
		t.Fatalf("GenerateChurn(0): %d rows, %d columns", d.Rows(), len(d.Columns))
	}
}

func TestGenerateChurnShape(t *testing.T) {
	t.Parallel()
	const n = 20000
	d := GenerateChurn(n, 42)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d.Columns {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, churnColumns) {
		t.Fatalf("columns = %v", names)
	}
	idRE := regexp.MustCompile(`^C\d{6}$`)
	for i, id := range d.Column("customer_id").Strings {
		if !idRE.MatchString(id) {
			t.Fatalf("row %d: customer_id %q", i+1, id)
		}
	}
	numeric := func(name string, lo, hi float64, integer bool) {
		t.Helper()
		for i, v := range d.Column(name).Numbers {
			if v < lo || v > hi || (integer && v != math.Trunc(v)) {
				t.Fatalf("row %d: %s = %v, want %v…%v (integer %v)", i+1, name, v, lo, hi, integer)
			}
		}
	}
	numeric("tenure_months", 0, 72, true)
	numeric("support_calls", 0, 10, true)
	numeric("churned", 0, 1, true)
	numeric("monthly_charges", 18, 120, false)
	for i, v := range d.Column("monthly_charges").Numbers {
		if math.Abs(v*100-math.Round(v*100)) > 1e-6 {
			t.Fatalf("row %d: monthly_charges %v has more than 2 decimals", i+1, v)
		}
	}
	categorical := func(name string, allowed ...string) map[string]int {
		t.Helper()
		counts := map[string]int{}
		for i, v := range d.Column(name).Strings {
			if !slices.Contains(allowed, v) {
				t.Fatalf("row %d: %s = %q", i+1, name, v)
			}
			counts[v]++
		}
		return counts
	}
	categorical("contract", "month-to-month", "one-year", "two-year")
	paperless := categorical("paperless_billing", "yes", "no", "")
	payments := categorical("payment_method", "electronic-check", "mailed-check", "bank-transfer", "credit-card", "")
	rate := func(count int) float64 { return float64(count) / n }
	if r := rate(paperless[""]); r < 0.02 || r > 0.04 {
		t.Errorf("paperless_billing missing in %.3f of rows, want ~3%%", r)
	}
	if r := rate(payments[""]); r < 0.005 || r > 0.015 {
		t.Errorf("payment_method missing in %.3f of rows, want ~1%%", r)
	}
	missingTotal, churned := 0, 0
	tenure, monthly, total := d.Column("tenure_months").Numbers, d.Column("monthly_charges").Numbers, d.Column("total_charges").Numbers
	for i := range n {
		if math.IsNaN(total[i]) {
			missingTotal++
			continue
		}
		if tenure[i] >= 12 && math.Abs(total[i]/(tenure[i]*monthly[i])-1) > 0.3 {
			t.Errorf("row %d: total_charges %v far from tenure %v × monthly %v", i+1, total[i], tenure[i], monthly[i])
		}
	}
	if r := rate(missingTotal); r < 0.015 || r > 0.025 {
		t.Errorf("total_charges missing in %.3f of rows, want ~2%%", r)
	}
	for _, v := range d.Column("churned").Numbers {
		churned += int(v)
	}
	if r := rate(churned); r < 0.21 || r > 0.29 {
		t.Errorf("churn rate %.3f, want ~25%%", r)
	}
}

// The hidden relationship shows in the raw data: churn is higher for the
// groups the generator says.
func TestGenerateChurnRelationship(t *testing.T) {
	t.Parallel()
	d := GenerateChurn(20000, 3)
	y := d.Column("churned").Numbers
	rate := func(in func(i int) bool) float64 {
		n, pos := 0, 0.0
		for i := range y {
			if in(i) {
				n++
				pos += y[i]
			}
		}
		return pos / float64(n)
	}
	f := func(name string, high, low func(i int) bool) {
		t.Helper()
		if h, l := rate(high), rate(low); h <= l+0.05 {
			t.Errorf("%s: churn %.3f vs %.3f, want clearly higher", name, h, l)
		}
	}
	tenure, calls, charges := d.Column("tenure_months").Numbers, d.Column("support_calls").Numbers, d.Column("monthly_charges").Numbers
	contract, payment := d.Column("contract").Strings, d.Column("payment_method").Strings
	f("short tenure", func(i int) bool { return tenure[i] < 12 }, func(i int) bool { return tenure[i] >= 36 })
	f("month-to-month", func(i int) bool { return contract[i] == "month-to-month" }, func(i int) bool { return contract[i] == "two-year" })
	f("support calls", func(i int) bool { return calls[i] >= 4 }, func(i int) bool { return calls[i] <= 1 })
	f("electronic check", func(i int) bool { return payment[i] == "electronic-check" }, func(i int) bool { return payment[i] == "credit-card" })
	f("high charges", func(i int) bool { return charges[i] >= 90 }, func(i int) bool { return charges[i] < 40 })
}
