package score_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/score"
)

func TestParseModelRef(t *testing.T) {
	t.Parallel()
	ok := func(s, wantModel, wantRef string) {
		t.Helper()
		model, ref, err := score.ParseModelRef(s)
		if err != nil || model != wantModel || ref != wantRef {
			t.Fatalf("ParseModelRef(%q) = %q, %q, %v; want %q, %q", s, model, ref, err, wantModel, wantRef)
		}
	}
	ok("customer-churn", "customer-churn", "production")
	ok("customer-churn@staging", "customer-churn", "staging")
	ok("customer-churn@latest", "customer-churn", "latest")
	ok("customer-churn:1.0.0", "customer-churn", "1.0.0")
	ok("customer-churn@1.2.3", "customer-churn", "1.2.3")
	ok("m.v2_x", "m.v2_x", "production")

	bad := func(s, want string) {
		t.Helper()
		_, _, err := score.ParseModelRef(s)
		if !errors.Is(err, registry.ErrInvalidName) || !strings.Contains(err.Error(), want) {
			t.Fatalf("ParseModelRef(%q): error %v, want ErrInvalidName saying %q", s, err, want)
		}
	}
	bad("", "empty model reference: invalid name: write NAME, NAME@ALIAS or NAME:VERSION")
	bad("Customer", `model name "Customer": invalid name: must match [a-z0-9][a-z0-9._-]*`)
	bad("@staging", `model reference "@staging": model name "": invalid name`)
	bad("customer-churn@", `model reference "customer-churn@": invalid name: nothing follows '@'`)
	bad("customer-churn:", `nothing follows ':'`)
	bad("customer-churn:staging", `"staging" is an alias, and ":" takes a version; write customer-churn@staging`)
	bad("customer-churn:1.0", `version "1.0": invalid name: must be MAJOR.MINOR.PATCH`)
	bad("customer-churn:01.0.0", `version "01.0.0": invalid name`)
	bad("customer-churn@Staging", `"Staging" after "@" is neither an alias`)
	bad("customer-churn@staging@x", `"staging@x" after "@" is neither an alias`)
	bad("customer-churn:1.0.0:1", `version "1.0.0:1": invalid name`)
}

func FuzzParseModelRef(f *testing.F) {
	for _, s := range []string{"", "customer-churn", "customer-churn@staging", "customer-churn:1.0.0", "a@1.2.3", "a:b", "a@@b", "a:1.0.0@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		model, ref, err := score.ParseModelRef(s)
		if err != nil {
			if !errors.Is(err, registry.ErrInvalidName) {
				t.Fatalf("ParseModelRef(%q): error %v is not ErrInvalidName", s, err)
			}
			return
		}
		if registry.ValidateModelName(model) != nil {
			t.Fatalf("ParseModelRef(%q): invalid model %q", s, model)
		}
		if registry.ValidateVersion(ref) != nil && registry.ValidateAliasName(ref) != nil {
			t.Fatalf("ParseModelRef(%q): ref %q is neither a version nor an alias", s, ref)
		}
		if s != model && s != model+"@"+ref && s != model+":"+ref {
			t.Fatalf("ParseModelRef(%q) = %q, %q: not what it said", s, model, ref)
		}
	})
}
