package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/registry"
)

// The registry and drift name the profile file separately; the gateway
// reads with one what the trainer wrote with the other.
func TestProfileFileNamesAgree(t *testing.T) {
	t.Parallel()
	if registry.DriftProfileFile != drift.ProfileFile {
		t.Fatalf("registry.DriftProfileFile %q != drift.ProfileFile %q", registry.DriftProfileFile, drift.ProfileFile)
	}
}

// A registered version carries the drift profile of its train rows: raw
// feature values (not the encoded columns) of exactly the signature's
// features, and the model's probability on those rows.
func TestRegisterStoresDriftProfile(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := mustDemoModel(t)
	v, err := Register(store, "churn", m, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Get("churn", v.Version)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Files[registry.DriftProfileFile]; !ok || len(got.Files) != 1 {
		t.Fatalf("files = %v, want only %s", got.Files, registry.DriftProfileFile)
	}
	data, err := store.ReadFile("churn", v.Version, registry.DriftProfileFile)
	if err != nil {
		t.Fatal(err)
	}
	if want, err := m.Profile.Encode(); err != nil || !bytes.Equal(data, want) {
		t.Fatalf("stored profile is not m.Profile.Encode() (err %v)", err)
	}
	p, err := drift.DecodeProfile(data)
	if err != nil {
		t.Fatal(err)
	}

	// The train rows, as Train drew them.
	d := GenerateChurn(DemoRows, DemoSeed)
	train, _, _, err := split(d.Rows(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != len(train) || float64(p.Rows) != m.Metrics["train_rows"] {
		t.Fatalf("rows = %d, want the %d train rows", p.Rows, len(train))
	}

	// Exactly the signature's features, with its types; no id, no target.
	var names, want []string
	for _, f := range p.Features {
		names = append(names, f.Name+":"+f.Type)
	}
	for _, f := range m.Signature.Features {
		want = append(want, f.Name+":"+string(f.Type))
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("profile features %v, want the signature's %v", names, want)
	}

	for _, fp := range p.Features {
		f := m.Signature.Features[slices.IndexFunc(m.Signature.Features, func(f registry.Feature) bool { return f.Name == fp.Name })]
		c := d.Column(f.Name)
		missing := 0
		if f.Type == registry.Categorical {
			// The vocabulary was learned from the same rows, in the
			// same order (descending frequency, then name), under the
			// same cap: a profile of other rows would differ.
			if !slices.Equal(fp.Categories, f.Vocabulary) {
				t.Errorf("%s: categories %v, want the vocabulary %v", f.Name, fp.Categories, f.Vocabulary)
			}
			for _, r := range train {
				if c.Strings[r] == "" {
					missing++
				}
			}
		} else {
			// Raw values: the range of the train rows' cells, not of
			// their standardised or imputed encoding.
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, r := range train {
				if x := c.Numbers[r]; math.IsNaN(x) {
					missing++
				} else {
					lo, hi = min(lo, x), max(hi, x)
				}
			}
			if fp.Min != lo || fp.Max != hi {
				t.Errorf("%s: range [%g, %g], want the train rows' [%g, %g]", f.Name, fp.Min, fp.Max, lo, hi)
			}
		}
		if wantMissing := float64(missing) / float64(len(train)); fp.Missing != wantMissing || fp.Count != len(train)-missing {
			t.Errorf("%s: count %d missing %g, want %d and %g", f.Name, fp.Count, fp.Missing, len(train)-missing, wantMissing)
		}
	}
	if p.Features[slices.IndexFunc(p.Features, func(f drift.FeatureProfile) bool { return f.Name == "total_charges" })].Missing == 0 {
		t.Error("total_charges has missing cells in the demo data, and the profile records none")
	}

	// The score is the model's probability on every train row.
	var sum float64
	for _, x := range p.Score.Proportions {
		sum += x
	}
	if math.Abs(sum-1) > 1e-9 || p.Score.Count != len(train) || p.Score.Missing != 0 {
		t.Fatalf("score: proportions sum to %g, count %d, missing %g", sum, p.Score.Count, p.Score.Missing)
	}
	all, err := m.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, len(train))
	for i, r := range train {
		scores[i] = all[r]
	}
	if want := drift.BuildProfile(nil, nil, scores, drift.DefaultBins).Score; !reflect.DeepEqual(p.Score, want) {
		t.Fatalf("score profile %+v\nwant that of the model's train-row probabilities %+v", p.Score, want)
	}
}

// A Model built by hand has no profile and registers without one.
func TestRegisterWithoutProfile(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := *mustDemoModel(t)
	m.Profile = nil
	v, err := Register(store, "churn", &m, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Files) != 0 {
		t.Fatalf("files = %v, want none", v.Files)
	}
}

// The same data and seed give the same profile bytes and test-data hash; a
// different seed draws other rows, so both change.
func TestProfileAndTestHashDeterministic(t *testing.T) {
	t.Parallel()
	d := GenerateChurn(1500, 7)
	cfg := Config{Target: ChurnTarget, IDColumns: []string{"customer_id"}, Epochs: 50, Seed: 11}
	train := func(seed uint64) *Model {
		t.Helper()
		c := cfg
		c.Seed = seed
		m, err := Train(d, c)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	encode := func(m *Model) []byte {
		t.Helper()
		b, err := m.Profile.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, other := train(11), train(11), train(12)
	if !bytes.Equal(encode(a), encode(b)) {
		t.Fatal("the same data and seed gave different profile bytes")
	}
	if bytes.Equal(encode(a), encode(other)) {
		t.Fatal("another seed gave the same profile bytes: the profile is not of the train split")
	}
	if len(a.TestDataSHA256) != 64 || a.TestDataSHA256 != b.TestDataSHA256 {
		t.Fatalf("test data sha256 %q and %q, want equal hex digests", a.TestDataSHA256, b.TestDataSHA256)
	}
	if a.TestDataSHA256 == other.TestDataSHA256 {
		t.Fatal("another seed's test rows have the same hash")
	}
	// The hash is not in the ONNX file, which stays byte-identical.
	if !bytes.Equal(a.ONNX(), b.ONNX()) || bytes.Contains(a.ONNX(), []byte(a.TestDataSHA256)) {
		t.Fatal("ONNX bytes differ or hold the test data hash")
	}

	// Registered twice, the two versions name the same test data and
	// profile.
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	va, err := Register(store, "churn", a, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := Register(store, "churn", b, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if va.Lineage.TestDataSHA256 != a.TestDataSHA256 || va.Lineage.HeldOutID() != vb.Lineage.HeldOutID() ||
		va.Lineage.HeldOutID() != "test:"+a.TestDataSHA256 {
		t.Fatalf("lineage test data %q / %q, held-out ids %q / %q", va.Lineage.TestDataSHA256, a.TestDataSHA256,
			va.Lineage.HeldOutID(), vb.Lineage.HeldOutID())
	}
	if va.Files[registry.DriftProfileFile] != vb.Files[registry.DriftProfileFile] {
		t.Fatal("the two registrations stored different profiles")
	}
}

// TestDataSHA256 is what its comment promises: the SHA-256 of the CSV of
// the header and the test rows in file order, which for data written by
// WriteCSV is those lines of the file.
func TestTestDataSHA256IsTestRowsCSV(t *testing.T) {
	t.Parallel()
	m := mustDemoModel(t)
	d := GenerateChurn(DemoRows, DemoSeed)
	_, _, test, err := split(d.Rows(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(csvBytes(t, d)), "\n")
	rows := slices.Sorted(slices.Values(test))
	var b strings.Builder
	b.WriteString(lines[0])
	for _, r := range rows {
		b.WriteString(lines[1+r])
	}
	sum := sha256.Sum256([]byte(b.String()))
	if want := hex.EncodeToString(sum[:]); m.TestDataSHA256 != want {
		t.Fatalf("TestDataSHA256 = %s, want %s (the header and test rows of the CSV)", m.TestDataSHA256, want)
	}
}

func TestCodeVersion(t *testing.T) {
	t.Parallel()
	f := func(version string, settings map[string]string, want string) {
		t.Helper()
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/infergate/infergate", Version: version}}
		for _, k := range slices.Sorted(maps.Keys(settings)) {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: k, Value: settings[k]})
		}
		if got := codeVersion(info); got != want {
			t.Errorf("codeVersion(%q, %v) = %q, want %q", version, settings, got, want)
		}
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	f("(devel)", map[string]string{"vcs": "git", "vcs.revision": rev, "vcs.modified": "false"}, rev)
	f("(devel)", map[string]string{"vcs": "git", "vcs.revision": rev, "vcs.modified": "true"}, rev+"+dirty")
	f("(devel)", map[string]string{"vcs.revision": rev}, rev)
	// The commit is more precise than a module version (a pseudo-version
	// names one too, but a tagged build may carry local changes).
	f("v1.2.3", map[string]string{"vcs.revision": rev, "vcs.modified": "true"}, rev+"+dirty")
	f("v1.2.3", nil, "v1.2.3")
	f("v0.0.0-20250101000000-0123456789ab", map[string]string{"-trimpath": "true"}, "v0.0.0-20250101000000-0123456789ab")
	f("(devel)", nil, "")
	f("(devel)", map[string]string{"vcs.modified": "true"}, "")
	f("", nil, "")
}

// rawNumbers and rawStrings read a column whose kind differs from the
// feature's as Encode does.
func TestRawValues(t *testing.T) {
	t.Parallel()
	rows := []int{2, 0, 1}
	num := &Column{Name: "n", Kind: Numeric, Numbers: []float64{1, 2.5, math.NaN()}}
	cat := &Column{Name: "c", Kind: Categorical, Strings: []string{"3", "", "1e2"}}
	if got, want := rawStrings(num, rows), []string{"", "1", "2.5"}; !slices.Equal(got, want) {
		t.Errorf("rawStrings(numeric) = %q, want %q", got, want)
	}
	if got, want := rawStrings(cat, rows), []string{"1e2", "3", ""}; !slices.Equal(got, want) {
		t.Errorf("rawStrings(categorical) = %q, want %q", got, want)
	}
	if got, want := rawStrings(nil, rows), []string{"", "", ""}; !slices.Equal(got, want) {
		t.Errorf("rawStrings(absent) = %q, want %q", got, want)
	}
	same := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
	}
	nan := math.NaN()
	if got, want := rawNumbers(num, rows), []float64{nan, 1, 2.5}; !same(got, want) {
		t.Errorf("rawNumbers(numeric) = %v, want %v", got, want)
	}
	if got, want := rawNumbers(cat, rows), []float64{100, 3, nan}; !same(got, want) {
		t.Errorf("rawNumbers(categorical) = %v, want %v", got, want)
	}
	if got, want := rawNumbers(nil, rows), []float64{nan, nan, nan}; !same(got, want) {
		t.Errorf("rawNumbers(absent) = %v, want %v", got, want)
	}
}
