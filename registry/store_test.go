package registry

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func testSignature() Signature {
	return Signature{
		Input: "features",
		Features: []Feature{
			{Name: "tenure_months", Type: Numeric, Required: true, Mean: 30, Std: 20, Impute: 28},
			{Name: "contract", Type: Categorical, Vocabulary: []string{"month-to-month", "one-year"}},
		},
		Output: Output{Name: "probability", Labels: []Label{{0, "low"}, {0.5, "high"}}},
	}
}

func testVersion(model, version string) *Version {
	return &Version{
		Model:     model,
		Version:   version,
		Signature: testSignature(),
		Metrics:   map[string]float64{"auc": 0.85},
		Lineage: Lineage{
			DataPath: "data/churn.csv", DataSHA256: "abc", Params: map[string]string{"seed": "42"},
			TrainerVersion: "test", TrainedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
	}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC) }
	return s
}

func mustRegister(t *testing.T, s *Store, model, version string) *Version {
	t.Helper()
	v := testVersion(model, version)
	if err := s.Register(v, []byte("onnx "+model+"@"+version)); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRegisterGetRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	v := mustRegister(t, s, "churn", "1.0.0")
	// sha256sum of the model bytes.
	const wantSum = "39620523cb82b7c84b3cbf5145571a3697eedc536a21700ad3995347fdb34da9"
	if v.ModelSHA256 != wantSum {
		t.Fatalf("ModelSHA256 = %q, want %q", v.ModelSHA256, wantSum)
	}
	if !v.CreatedAt.Equal(s.now()) {
		t.Fatalf("CreatedAt = %v, want the store clock %v", v.CreatedAt, s.now())
	}
	got, err := s.Get("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("Get = %+v\nwant %+v", got, v)
	}
	data, meta, err := s.ReadModel("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "onnx churn@1.0.0" || meta.ModelSHA256 != v.ModelSHA256 {
		t.Fatalf("ReadModel = %q, %s", data, meta.ModelSHA256)
	}
	if p := s.ModelPath("churn", "1.0.0"); p != filepath.Join(s.Root(), "churn", "1.0.0", "model.onnx") {
		t.Fatalf("ModelPath = %q", p)
	}
	if b, err := os.ReadFile(s.ModelPath("churn", "1.0.0")); err != nil || string(b) != "onnx churn@1.0.0" {
		t.Fatalf("model file = %q, %v", b, err)
	}
}

func TestReadModelChecksum(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	if err := os.WriteFile(s.ModelPath("churn", "1.0.0"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadModel("churn", "1.0.0"); !errors.Is(err, ErrChecksum) {
		t.Fatalf("ReadModel of a tampered file: err = %v, want ErrChecksum", err)
	}
}

func TestVersionsModelsNextVersion(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, v := range []string{"1.10.0", "1.2.0", "2.0.0", "1.9.3"} {
		mustRegister(t, s, "churn", v)
	}
	mustRegister(t, s, "fraud", "1.0.0")
	versions, err := s.Versions("churn")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.2.0", "1.9.3", "1.10.0", "2.0.0"}; !reflect.DeepEqual(versions, want) {
		t.Fatalf("Versions = %v, want %v", versions, want)
	}
	if got := NextVersion(versions); got != "2.1.0" {
		t.Fatalf("NextVersion = %q, want 2.1.0", got)
	}
	// An empty model directory (a failed first registration) is not a model.
	if err := os.Mkdir(filepath.Join(s.Root(), "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	models, err := s.Models()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"churn", "fraud"}; !reflect.DeepEqual(models, want) {
		t.Fatalf("Models = %v, want %v", models, want)
	}
}

func TestNextVersion(t *testing.T) {
	t.Parallel()
	f := func(existing []string, want string) {
		t.Helper()
		if got := NextVersion(existing); got != want {
			t.Errorf("NextVersion(%q) = %q, want %q", existing, got, want)
		}
	}
	f(nil, "1.0.0")
	f([]string{"junk"}, "1.0.0")
	f([]string{"1.0.0"}, "1.1.0")
	f([]string{"1.3.2", "1.10.0", "0.9.9"}, "1.11.0")
	f([]string{"3.0.0", "2.99.1"}, "3.1.0")
}

func TestAliases(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	got, err := s.Aliases("churn")
	if err != nil || len(got) != 0 || got == nil {
		t.Fatalf("Aliases before any = %v, %v; want empty map", got, err)
	}
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("churn", "staging", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("churn", "staging", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	got, err = s.Aliases("churn")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"production": "1.0.0", "staging": "1.1.0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Aliases = %v, want %v", got, want)
	}
	if err := s.SetAlias("churn", "production", "9.9.9"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"9.9.9"`) {
		t.Fatalf("SetAlias to a missing version: err = %v, want ErrNotFound naming the version", err)
	}
	if err := s.SetAlias("nope", "production", "1.0.0"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `model "nope"`) {
		t.Fatalf("SetAlias on a missing model: err = %v, want ErrNotFound naming the model", err)
	}
	if err := s.DeleteAlias("churn", "staging"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlias("churn", "staging"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteAlias: err = %v, want ErrNotFound", err)
	}
	got, _ = s.Aliases("churn")
	if want := map[string]string{"production": "1.0.0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Aliases after delete = %v, want %v", got, want)
	}
	// No temporary alias files are left behind.
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "churn"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("leftover temporary entry %q", e.Name())
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	mustRegister(t, s, "churn", "1.2.0")

	// Before any alias: "" names production, which is unset.
	_, err := s.Resolve("churn", "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `alias "production"`) {
		t.Fatalf(`Resolve("") without production: err = %v`, err)
	}
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("churn", "staging", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	f := func(ref, want string) {
		t.Helper()
		v, err := s.Resolve("churn", ref)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", ref, err)
		}
		if v.Version != want {
			t.Fatalf("Resolve(%q) = %s, want %s", ref, v.Version, want)
		}
	}
	f("", "1.0.0")
	f("production", "1.0.0")
	f("staging", "1.1.0")
	f("1.2.0", "1.2.0")
	f("latest", "1.2.0") // implicit: the highest version
	if err := s.SetAlias("churn", "latest", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	f("latest", "1.1.0") // an explicit alias wins

	fail := func(model, ref string, target error, mention string) {
		t.Helper()
		_, err := s.Resolve(model, ref)
		if !errors.Is(err, target) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("Resolve(%q, %q): err = %v, want %v mentioning %s", model, ref, err, target, mention)
		}
	}
	fail("churn", "canary", ErrNotFound, `alias "canary"`)
	fail("churn", "3.0.0", ErrNotFound, `version "3.0.0"`)
	fail("fraud", "", ErrNotFound, `model "fraud"`)
	fail("churn", "1.0", ErrInvalidName, `"1.0"`)
	fail("churn", "Prod", ErrInvalidName, `"Prod"`)
	fail("Churn", "1.0.0", ErrInvalidName, `"Churn"`)
}

func TestResolveDanglingAlias(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(s.Root(), "churn", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Resolve("churn", "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "points at a missing version") {
		t.Fatalf("Resolve of a dangling alias: err = %v", err)
	}
}

func TestNotFoundAndExists(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if _, err := s.Get("churn", "1.0.0"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `model "churn"`) {
		t.Fatalf("Get of an unknown model: err = %v", err)
	}
	for _, call := range []func() error{
		func() error { _, err := s.Versions("churn"); return err },
		func() error { _, err := s.Aliases("churn"); return err },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	mustRegister(t, s, "churn", "1.0.0")
	if _, err := s.Get("churn", "1.1.0"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `version "1.1.0" of model "churn"`) {
		t.Fatalf("Get of an unknown version: err = %v", err)
	}
	err := s.Register(testVersion("churn", "1.0.0"), []byte("other"))
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `version "1.0.0" of model "churn"`) {
		t.Fatalf("second Register: err = %v, want ErrExists", err)
	}
	// The first registration is untouched.
	if data, _, err := s.ReadModel("churn", "1.0.0"); err != nil || string(data) != "onnx churn@1.0.0" {
		t.Fatalf("ReadModel after a refused Register = %q, %v", data, err)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	f := func(mutate func(*Version), model []byte, target error, mention string) {
		t.Helper()
		v := testVersion("churn", "1.0.0")
		mutate(v)
		err := s.Register(v, model)
		if err == nil || (target != nil && !errors.Is(err, target)) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("Register: err = %v, want %v mentioning %q", err, target, mention)
		}
	}
	onnx := []byte("onnx")
	f(func(v *Version) { v.Model = "Churn" }, onnx, ErrInvalidName, `model name "Churn"`)
	f(func(v *Version) { v.Model = "" }, onnx, ErrInvalidName, `model name ""`)
	f(func(v *Version) { v.Model = "../etc" }, onnx, ErrInvalidName, `"../etc"`)
	f(func(v *Version) { v.Model = ".hidden" }, onnx, ErrInvalidName, `".hidden"`)
	f(func(v *Version) { v.Model = strings.Repeat("a", 129) }, onnx, ErrInvalidName, "at most 128")
	f(func(v *Version) { v.Version = "v1.0.0" }, onnx, ErrInvalidName, `version "v1.0.0"`)
	f(func(v *Version) { v.Version = "01.0.0" }, onnx, ErrInvalidName, `version "01.0.0"`)
	f(func(v *Version) { v.Version = "1.0" }, onnx, ErrInvalidName, `version "1.0"`)
	f(func(v *Version) { v.Version = "1.0.0/.." }, onnx, ErrInvalidName, `version "1.0.0/.."`)
	f(func(v *Version) { v.Signature.Input = "" }, onnx, nil, "signature.input")
	f(func(v *Version) { v.Metrics["auc"] = nanValue() }, onnx, nil, "metrics[auc]: must be finite")
	f(func(*Version) {}, nil, nil, "model file is empty")
	if err := s.Register(nil, onnx); err == nil {
		t.Fatal("Register(nil) succeeded")
	}
	if models, _ := s.Models(); len(models) != 0 {
		t.Fatalf("failed registrations left models %v", models)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestNameValidation(t *testing.T) {
	t.Parallel()
	f := func(validate func(string) error, name string, ok bool) {
		t.Helper()
		err := validate(name)
		if ok != (err == nil) {
			t.Errorf("validate(%q) = %v, want ok=%v", name, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("validate(%q) = %v, not ErrInvalidName", name, err)
		}
	}
	f(ValidateModelName, "churn", true)
	f(ValidateModelName, "0churn.v2_b-c", true)
	f(ValidateModelName, "churn model", false)
	f(ValidateModelName, "-churn", false)
	f(ValidateModelName, "churn/x", false)
	f(ValidateAliasName, "production", true)
	f(ValidateAliasName, "canary_2-b", true)
	f(ValidateAliasName, "2prod", false)
	f(ValidateAliasName, "prod.x", false)
	f(ValidateAliasName, "", false)
	f(ValidateVersion, "0.0.0", true)
	f(ValidateVersion, "10.20.30", true)
	f(ValidateVersion, "1.0.0-rc1", false)
	f(ValidateVersion, "1..0", false)
	f(ValidateVersion, "99999999999999999999.0.0", false)
}

func TestLeftoverTempDirIsInvisible(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	// A crash in the middle of Register leaves a temporary directory.
	tmp := filepath.Join(s.Root(), "churn", ".tmp-1.1.0-123456")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "model.onnx"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	// So does a crash while the first version of a model is written.
	if err := os.MkdirAll(filepath.Join(s.Root(), "fraud", ".tmp-1.0.0-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	versions, err := s.Versions("churn")
	if err != nil || !reflect.DeepEqual(versions, []string{"1.0.0"}) {
		t.Fatalf("Versions = %v, %v; want [1.0.0]", versions, err)
	}
	if _, err := s.Get("churn", "1.1.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of the half-written version: err = %v, want ErrNotFound", err)
	}
	models, err := s.Models()
	if err != nil || !reflect.DeepEqual(models, []string{"churn"}) {
		t.Fatalf("Models = %v, %v; want [churn]", models, err)
	}
	// The version can still be registered.
	mustRegister(t, s, "churn", "1.1.0")
}

func TestConcurrentRegisterOneWins(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			v := testVersion("churn", "1.0.0")
			v.Lineage.Params = map[string]string{"writer": string(rune('a' + i))}
			errs[i] = s.Register(v, []byte{byte(i)})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("writer %d: err = %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	data, v, err := s.ReadModel("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 1 || int(data[0]) != winner || v.Lineage.Params["writer"] != string(rune('a'+winner)) {
		t.Fatalf("stored model %v / params %v, want writer %d's", data, v.Lineage.Params, winner)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "churn"))
	if len(entries) != 1 {
		t.Fatalf("model directory holds %d entries, want only the version", len(entries))
	}
}

func TestConcurrentSetAlias(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	var wg sync.WaitGroup
	aliases := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, a := range aliases {
		wg.Go(func() {
			if err := s.SetAlias("churn", a, "1.0.0"); err != nil {
				t.Error(err)
			}
			if _, err := s.Resolve("churn", a); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Aliases("churn")
	if err != nil || len(got) != len(aliases) {
		t.Fatalf("Aliases = %v, %v; want all %d (no lost update)", got, err, len(aliases))
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open(""); err == nil {
		t.Fatal(`Open("") succeeded`)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "cannot open registry") {
		t.Fatalf("Open under a file: err = %v", err)
	}
}
