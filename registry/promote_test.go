package registry

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// registerScored registers model@version with the given held-out metrics
// measured on the held-out data named heldOut ("" for none).
func registerScored(t *testing.T, s *Store, version string, metrics map[string]float64, heldOut string) {
	t.Helper()
	v := testVersion("churn", version)
	v.Metrics = metrics
	v.Lineage.TestDataSHA256 = heldOut
	if heldOut == "" {
		v.Lineage.DataSHA256 = ""
	}
	if err := s.Register(v, []byte("onnx "+version)); err != nil {
		t.Fatal(err)
	}
}

// gateStore holds churn 1.0.0 in production and candidates to gate against it.
func gateStore(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	m := func(auc, logLoss float64) map[string]float64 {
		return map[string]float64{"auc": auc, "log_loss": logLoss}
	}
	registerScored(t, s, "1.0.0", m(0.85, 0.40), "h1")
	registerScored(t, s, "1.1.0", m(0.86, 0.39), "h1")                   // better on both
	registerScored(t, s, "1.2.0", m(0.84, 0.38), "h1")                   // worse auc
	registerScored(t, s, "1.3.0", m(0.90, 0.30), "h2")                   // other held-out data
	registerScored(t, s, "1.4.0", m(0.90, 0.30), "")                     // no held-out data recorded
	registerScored(t, s, "1.5.0", map[string]float64{"auc": 0.90}, "h1") // no log loss
	registerScored(t, s, "1.6.0", m(0.85, 0.40), "h1")                   // equal: at least as good
	registerScored(t, s, "1.7.0", m(0.86, 0.41), "h1")                   // worse log loss
	if err := s.SetAlias("churn", ProductionAlias, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPromoteGate(t *testing.T) {
	t.Parallel()
	f := func(version string, opts PromoteOptions, target error, mention string) {
		t.Helper()
		s := gateStore(t)
		opts.Gate = true
		res, err := s.Promote("churn", version, "", opts)
		prod, _ := s.Resolve("churn", "")
		if target == nil {
			if err != nil {
				t.Fatalf("Promote(%s): %v", version, err)
			}
			if !res.Changed || res.Move.From != "1.0.0" || res.Move.To != version || prod.Version != version {
				t.Fatalf("Promote(%s) = %+v, production %s", version, res, prod.Version)
			}
			if !strings.Contains(res.Gate.Message, mention) {
				t.Fatalf("Promote(%s): verdict %q, want it to mention %q", version, res.Gate.Message, mention)
			}
			return
		}
		if !errors.Is(err, target) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("Promote(%s): err = %v, want %v mentioning %q", version, err, target, mention)
		}
		if prod.Version != "1.0.0" {
			t.Fatalf("a refused promotion moved production to %s", prod.Version)
		}
		if errors.Is(target, ErrGateRefused) && (res == nil || res.Gate == nil || res.Gate.Passed || res.Gate.Baseline != "1.0.0" ||
			res.Move.From != "1.0.0" || res.Move.To != version || res.Changed) {
			t.Fatalf("Promote(%s) refused without the verdict: %+v", version, res)
		}
	}
	f("1.1.0", PromoteOptions{}, nil, "auc 0.86 >= 0.85, log_loss 0.39 <= 0.4")
	f("1.6.0", PromoteOptions{}, nil, "at least as good as 1.0.0 (production)")
	f("1.2.0", PromoteOptions{}, ErrGateRefused, "1.2.0 is worse than 1.0.0 (production) on the same held-out data: auc 0.84 < 0.85")
	f("1.7.0", PromoteOptions{}, ErrGateRefused, "log_loss 0.41 > 0.4")
	f("1.3.0", PromoteOptions{}, ErrGateRefused, "measured on different held-out data")
	f("1.4.0", PromoteOptions{}, ErrGateRefused, "1.4.0 records no held-out data")
	f("1.5.0", PromoteOptions{}, ErrGateRefused, "1.5.0 has no log_loss metric")
	f("1.2.0", PromoteOptions{}, ErrGateRefused, "override and a reason")
	f("9.0.0", PromoteOptions{}, ErrNotFound, `version "9.0.0"`)
	// An override without a reason is refused before the gate runs.
	s := gateStore(t)
	if _, err := s.Promote("churn", "1.2.0", "", PromoteOptions{Gate: true, Override: true, Reason: "  "}); err == nil || !strings.Contains(err.Error(), "an override needs a reason") {
		t.Fatalf("override without a reason: err = %v", err)
	}
}

func TestPromoteOverrideIsRecorded(t *testing.T) {
	t.Parallel()
	s := gateStore(t)
	s.now = func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
	res, err := s.Promote("churn", "1.2.0", ProductionAlias, PromoteOptions{Gate: true, Override: true, Reason: "auc dip is noise; INC-42", By: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Overridden || res.Gate.Passed || !res.Changed {
		t.Fatalf("result = %+v", res)
	}
	hist, err := s.History("churn", ProductionAlias)
	if err != nil {
		t.Fatal(err)
	}
	want := []AliasMove{
		{Time: s.now(), Alias: "production", To: "1.0.0", Op: OpSet},
		{Time: s.now(), Alias: "production", From: "1.0.0", To: "1.2.0", Op: OpPromote, By: "ana", Reason: "auc dip is noise; INC-42",
			Gate: "refused, overridden: " + res.Gate.Message},
	}
	want[0].Time = hist[0].Time // set by gateStore's clock
	if !reflect.DeepEqual(hist, want) {
		t.Fatalf("History =\n%+v\nwant\n%+v", hist, want)
	}
}

func TestPromoteWithoutGateAndNoOps(t *testing.T) {
	t.Parallel()
	s := gateStore(t)
	// Ungated: a worse version is promoted; the log names no verdict.
	res, err := s.Promote("churn", "1.2.0", "", PromoteOptions{})
	if err != nil || res.Gate != nil || res.Move.Gate != "" || !res.Changed {
		t.Fatalf("ungated Promote = %+v, %v", res, err)
	}
	// The version the alias names already: nothing changes, nothing is logged.
	res, err = s.Promote("churn", "1.2.0", "", PromoteOptions{Gate: true})
	if err != nil || res.Changed || res.Gate != nil {
		t.Fatalf("Promote to the current version = %+v, %v", res, err)
	}
	// A gated promotion of an unset alias passes: nothing to compare with.
	res, err = s.Promote("churn", "1.4.0", "staging", PromoteOptions{Gate: true})
	if err != nil || !res.Gate.Passed || res.Gate.Baseline != "" || !strings.Contains(res.Gate.Message, "staging was unset") {
		t.Fatalf("gated Promote of an unset alias = %+v, %v", res, err)
	}
	hist, _ := s.History("churn", "")
	if len(hist) != 3 {
		t.Fatalf("History = %+v, want set, promote, promote", hist)
	}
	if _, err := s.Promote("churn", "1.0.0", "Prod", PromoteOptions{}); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Promote to a malformed alias: err = %v", err)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	s := gateStore(t)
	step := func(what string, do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	prod := func(want string) {
		t.Helper()
		aliases, err := s.Aliases("churn")
		if err != nil || aliases[ProductionAlias] != want {
			t.Fatalf("production = %q (%v), want %q", aliases[ProductionAlias], err, want)
		}
	}
	rollback := func(want string) {
		t.Helper()
		m, err := s.Rollback("churn", "", RollbackOptions{By: "ops", Reason: "latency"})
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if m.To != want || m.Op != OpRollback || m.By != "ops" || m.Reason != "latency" {
			t.Fatalf("Rollback = %+v, want a rollback to %s", m, want)
		}
		prod(want)
	}
	step("promote 1.1.0", func() error { _, err := s.Promote("churn", "1.1.0", "", PromoteOptions{}); return err })
	step("promote 1.6.0", func() error { _, err := s.Promote("churn", "1.6.0", "", PromoteOptions{}); return err })
	rollback("1.1.0")
	rollback("1.0.0") // rollbacks stack: the one before is undone too
	_, err := s.Rollback("churn", ProductionAlias, RollbackOptions{})
	if !errors.Is(err, ErrNoHistory) || !strings.Contains(err.Error(), "unset before") {
		t.Fatalf("Rollback past the first set: err = %v, want ErrNoHistory", err)
	}
	// A promotion after rollbacks is undone by the next rollback.
	step("promote 1.7.0", func() error { _, err := s.Promote("churn", "1.7.0", "", PromoteOptions{}); return err })
	rollback("1.0.0")

	// An alias with no history at all.
	if _, err := s.Rollback("churn", "staging", RollbackOptions{}); !errors.Is(err, ErrNoHistory) || !strings.Contains(err.Error(), `alias "staging"`) {
		t.Fatalf("Rollback of an alias never set: err = %v, want ErrNoHistory", err)
	}
	// A deleted alias comes back.
	step("set staging", func() error { return s.SetAlias("churn", "staging", "1.1.0") })
	step("delete staging", func() error { return s.DeleteAlias("churn", "staging") })
	m, err := s.Rollback("churn", "staging", RollbackOptions{})
	if err != nil || m.From != "" || m.To != "1.1.0" {
		t.Fatalf("Rollback of a deleted alias = %+v, %v", m, err)
	}
	// The version to return to was deleted.
	step("promote 1.2.0", func() error { _, err := s.Promote("churn", "1.2.0", "staging", PromoteOptions{}); return err })
	step("promote 1.3.0", func() error { _, err := s.Promote("churn", "1.3.0", "staging", PromoteOptions{}); return err })
	step("delete 1.2.0", func() error { return s.Delete("churn", "1.2.0") })
	if _, err := s.Rollback("churn", "staging", RollbackOptions{}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "to 1.2.0") {
		t.Fatalf("Rollback to a deleted version: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Rollback("nope", "", RollbackOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rollback of an unknown model: err = %v", err)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	mustRegister(t, s, "churn", "1.1.0")
	if err := s.SetAlias("churn", "production", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("churn", "canary", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	f := func(model, version string, target error, mention string) {
		t.Helper()
		err := s.Delete(model, version)
		if !errors.Is(err, target) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("Delete(%s, %s): err = %v, want %v mentioning %q", model, version, err, target, mention)
		}
	}
	f("churn", "1.0.0", ErrInUse, `aliases "canary", "production" name it`)
	if err := s.DeleteAlias("churn", "canary"); err != nil {
		t.Fatal(err)
	}
	f("churn", "1.0.0", ErrInUse, `alias "production" names it`)
	f("churn", "2.0.0", ErrNotFound, `version "2.0.0"`)
	f("fraud", "1.0.0", ErrNotFound, `model "fraud"`)
	f("churn", "1.0", ErrInvalidName, `"1.0"`)

	// What an interrupted Delete left behind is removed by the next one.
	leftover := filepath.Join(s.Root(), "churn", trashPrefix+"0.9.0-x")
	if err := os.MkdirAll(filepath.Join(leftover, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("churn", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("churn", "1.1.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v", err)
	}
	versions, _ := s.Versions("churn")
	if !reflect.DeepEqual(versions, []string{"1.0.0"}) {
		t.Fatalf("Versions = %v", versions)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "churn"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("leftover %q after Delete", e.Name())
		}
	}
	// A deleted version can be registered again.
	mustRegister(t, s, "churn", "1.1.0")
}

func TestSetTags(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	orig := mustRegister(t, s, "churn", "1.0.0")
	v, err := s.SetTags("churn", "1.0.0", map[string]string{"owner": "ana", "ticket/id": "INC-42", "Approved.By": "bo b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"owner": "ana", "ticket/id": "INC-42", "Approved.By": "bo b"}
	if !reflect.DeepEqual(v.Tags, want) {
		t.Fatalf("tags = %v, want %v", v.Tags, want)
	}
	// Merge: replace one, remove one, add one.
	if _, err := s.SetTags("churn", "1.0.0", map[string]string{"owner": "bo", "ticket/id": "", "stage": "qa"}); err != nil {
		t.Fatal(err)
	}
	// A fresh Store reads them back; nothing else changed.
	s2, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := s2.ReadModel("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"owner": "bo", "Approved.By": "bo b", "stage": "qa"}; !reflect.DeepEqual(got.Tags, want) {
		t.Fatalf("tags after merge = %v, want %v", got.Tags, want)
	}
	got.Tags = nil
	if !reflect.DeepEqual(got, orig) {
		t.Fatalf("SetTags changed more than tags:\n%+v\nwant\n%+v", got, orig)
	}
	// Removing every tag drops the field.
	if v, err := s.SetTags("churn", "1.0.0", map[string]string{"owner": "", "Approved.By": "", "stage": ""}); err != nil || v.Tags != nil {
		t.Fatalf("tags after removing all = %v, %v", v.Tags, err)
	}
	data, _ := os.ReadFile(filepath.Join(s.Root(), "churn", "1.0.0", metadataFile))
	if strings.Contains(string(data), `"tags"`) {
		t.Fatalf("metadata without tags still names them:\n%s", data)
	}

	fail := func(tags map[string]string, target error, mention string) {
		t.Helper()
		_, err := s.SetTags("churn", "1.0.0", tags)
		if err == nil || (target != nil && !errors.Is(err, target)) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("SetTags(%v): err = %v, want %v mentioning %q", tags, err, target, mention)
		}
	}
	fail(map[string]string{"": "x"}, ErrInvalidName, `tag key ""`)
	fail(map[string]string{"-x": "x"}, ErrInvalidName, `tag key "-x"`)
	fail(map[string]string{"a b": "x"}, ErrInvalidName, `tag key "a b"`)
	fail(map[string]string{"k": "line\nbreak"}, nil, "control characters")
	fail(map[string]string{"k": strings.Repeat("x", 1025)}, nil, "at most 1024 bytes")
	if _, err := s.SetTags("churn", "9.0.0", map[string]string{"k": "v"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetTags of a missing version: err = %v, want ErrNotFound", err)
	}
	many := map[string]string{}
	for i := range maxTags + 1 {
		many["k"+strings.Repeat("x", i)] = "v"
	}
	fail(many, nil, "at most 64")
}

func TestRemoveStale(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustRegister(t, s, "churn", "1.0.0")
	old := time.Now().Add(-2 * time.Hour)
	mk := func(rel string, dir bool, mtime time.Time) {
		t.Helper()
		p := filepath.Join(s.Root(), rel)
		var err error
		if dir {
			err = os.MkdirAll(filepath.Join(p, "sub"), 0o755)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk("churn/.tmp-1.1.0-123", true, old)           // an interrupted Register
	mk("churn/.tmp-aliases-456", false, old)        // an interrupted alias update
	mk("churn/1.0.0/.tmp-metadata-789", false, old) // an interrupted SetTags
	mk("churn/.tmp-1.2.0-999", true, time.Now())    // maybe a Register in progress
	removed, err := s.RemoveStale(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{"churn/.tmp-1.1.0-123", "churn/.tmp-aliases-456", "churn/1.0.0/.tmp-metadata-789"}
	if !reflect.DeepEqual(removed, want) {
		t.Fatalf("RemoveStale = %v, want %v", removed, want)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "churn/.tmp-1.2.0-999")); err != nil {
		t.Fatalf("a young temporary entry was removed: %v", err)
	}
	if _, _, err := s.ReadModel("churn", "1.0.0"); err != nil {
		t.Fatal(err)
	}
}
