package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/trainer"
)

// registryFixture is a registry holding the demo model as 1.0.0
// (production), 1.1.0 (better held-out metrics) and 1.2.0 (worse), all
// measured on the same held-out data.
func registryFixture(t *testing.T) string {
	t.Helper()
	m, _ := servingtest.Demo(t)
	root := filepath.Join(t.TempDir(), "registry")
	store, err := registry.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	register := func(version string, delta float64, aliases ...string) {
		t.Helper()
		c := *m
		c.Metrics = maps.Clone(m.Metrics)
		c.Metrics["auc"] += delta
		c.Metrics["log_loss"] -= delta
		opts := trainer.RegisterOptions{Version: version, Aliases: aliases, DataPath: "var/data/churn.csv", DataSHA256: "0123456789abcdef0123"}
		if _, err := trainer.Register(store, trainer.DemoModel, &c, opts); err != nil {
			t.Fatal(err)
		}
	}
	register("1.0.0", 0, registry.ProductionAlias)
	register("1.1.0", 0.01)
	register("1.2.0", -0.01)
	return root
}

func TestRegistryCommand(t *testing.T) {
	t.Parallel()
	root := registryFixture(t)
	run := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--registry", root)
		switch args[0] {
		case "alias", "promote", "rollback":
			args = append(args, "--by", "ana")
		}
		err := registryMain(args, &stdout, &stderr)
		return stdout.String(), err
	}
	ok := func(args []string, wants ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("registry %s: %v\nstdout:\n%s", strings.Join(args, " "), err, out)
		}
		for _, w := range wants {
			if !strings.Contains(squash(out), squash(w)) {
				t.Fatalf("registry %s: stdout\n%s\nwant %q", strings.Join(args, " "), out, w)
			}
		}
		return out
	}
	fail := func(args []string, target error, mention string, wants ...string) {
		t.Helper()
		out, err := run(args...)
		if err == nil || (target != nil && !errors.Is(err, target)) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("registry %s: err = %v, want %v mentioning %q", strings.Join(args, " "), err, target, mention)
		}
		for _, w := range wants {
			if !strings.Contains(squash(out), squash(w)) {
				t.Fatalf("registry %s: stdout\n%s\nwant %q", strings.Join(args, " "), out, w)
			}
		}
	}
	const model = trainer.DemoModel
	args := func(a ...string) []string { return a }

	ok(args("list"), "MODEL           VERSIONS  LATEST  ALIASES\n", "customer-churn  3         1.2.0   production=1.0.0\n")
	ok(args("show", model+"@production"), "version        1.0.0\n", "aliases        production\n", "held-out data  test:", "code           ",
		"param seed     42\n", "features       7, ")

	// The gate refuses a worse version and shows why; the alias stays.
	fail(args("promote", model, "1.2.0", "--gate"), registry.ErrGateRefused, "1.2.0 is worse than 1.0.0 (production)",
		"gate refused: ", "METRIC    1.2.0", "auc       ", "worse\n")
	fail(args("promote", model, "1.2.0", "--gate", "--override"), nil, "--override needs --reason")
	fail(args("promote", model, "1.2.0", "--override", "--reason", "x"), nil, "--override needs --gate")
	// A better one passes, flags before or after the arguments.
	ok(args("promote", "--gate", model, "1.1.0"), "gate passed: 1.1.0 is at least as good", "production of customer-churn: 1.0.0 → 1.1.0 (promote)\n")
	ok(args("promote", model, "1.1.0", "--gate"), "production of customer-churn already names 1.1.0: nothing changed\n")
	// An override is recorded with its reason.
	ok(args("promote", model, "1.2.0", "--alias", "canary", "--gate", "--override", "--reason", "shadow test"), "canary of customer-churn: unset → 1.2.0 (promote)\n")
	ok(args("promote", model, "1.2.0", "--gate", "--override", "--reason", "INC-42 hotfix"),
		"gate refused, overridden with --reason: ", "production of customer-churn: 1.1.0 → 1.2.0 (promote)\n")

	// Rollbacks walk back through the history.
	ok(args("rollback", model, "--reason", "latency"), "production of customer-churn: 1.2.0 → 1.1.0 (rollback)\n")
	ok(args("rollback", model), "production of customer-churn: 1.1.0 → 1.0.0 (rollback)\n")
	fail(args("rollback", model), registry.ErrNoHistory, "unset before")
	fail(args("rollback", model, "--alias", "staging"), registry.ErrNoHistory, `alias "staging"`)

	// alias, delete, tag.
	ok(args("alias", model, "staging", "1.2.0", "--reason", "qa"), "staging of customer-churn: unset → 1.2.0 (promote)\n")
	fail(args("delete", model, "1.2.0"), registry.ErrInUse, `aliases "canary", "staging" name it`)
	ok(args("tag", model, "1.1.0", "owner=ana", "ticket=INC-42"), "customer-churn@1.1.0 tags: owner=ana,ticket=INC-42\n")
	ok(args("tag", model, "1.1.0", "ticket="), "customer-churn@1.1.0 tags: owner=ana\n")
	ok(args("alias", model, "staging", "1.1.0"))
	ok(args("alias", model, "canary", "1.1.0"))
	ok(args("delete", model, "1.2.0"), "deleted customer-churn@1.2.0\n")
	fail(args("show", model+":1.2.0"), registry.ErrNotFound, `version "1.2.0"`)

	// show MODEL: the versions and the alias history.
	out := ok(args("show", model), "model customer-churn: 2 versions, aliases canary=1.1.0, production=1.0.0, staging=1.1.0\n",
		"VERSION  CREATED", "1.1.0    ", "owner=ana\n", "alias history (oldest first):\n")
	for _, w := range []string{"production  -      1.0.0  set       -", "production  1.1.0  1.2.0  promote   ana  INC-42 hotfix [gate refused, overridden: 1.2.0 is worse",
		"production  1.2.0  1.1.0  rollback  ana  latency\n"} {
		if !strings.Contains(squash(out), squash(w)) {
			t.Fatalf("show %s:\n%s\nwant %q", model, out, w)
		}
	}

	// --json.
	var list []registry.ModelSummary
	decodeJSON(t, ok(args("list", "--json")), &list)
	if len(list) != 1 || strings.Join(list[0].Versions, " ") != "1.0.0 1.1.0" || list[0].Aliases["staging"] != "1.1.0" {
		t.Fatalf("list --json = %+v", list)
	}
	var v struct {
		registry.Version
		Aliases []string `json:"aliases"`
	}
	decodeJSON(t, ok(args("show", model+":1.1.0", "--json")), &v)
	if v.Version.Version != "1.1.0" || v.Tags["owner"] != "ana" || strings.Join(v.Aliases, ",") != "canary,staging" || v.Lineage.DataSHA256 == "" {
		t.Fatalf("show --json = %+v", v)
	}
	var detail struct {
		Model    string               `json:"model"`
		Versions []registry.Version   `json:"versions"`
		History  []registry.AliasMove `json:"history"`
	}
	decodeJSON(t, ok(args("show", model, "--json")), &detail)
	if detail.Model != model || len(detail.Versions) != 2 || len(detail.History) < 8 {
		t.Fatalf("show MODEL --json = %+v", detail)
	}
	var res registry.PromoteResult
	decodeJSON(t, ok(args("promote", model, "1.1.0", "--gate", "--json")), &res)
	if !res.Changed || res.Gate == nil || !res.Gate.Passed || len(res.Gate.Metrics) != 2 || res.Move.By != "ana" {
		t.Fatalf("promote --json = %+v", res)
	}
	var move registry.AliasMove
	decodeJSON(t, ok(args("rollback", model, "--json")), &move)
	if move.Op != registry.OpRollback || move.To != "1.0.0" {
		t.Fatalf("rollback --json = %+v", move)
	}
	ok(args("gc"), "removed 0 temporary entries")
}

// squash collapses runs of spaces, so that checks of a table do not depend
// on its column widths.
func squash(s string) string { return spaces.ReplaceAllString(s, " ") }

var spaces = regexp.MustCompile(` {2,}`)

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in:\n%s", err, s)
	}
}

func TestRegistryUsage(t *testing.T) {
	t.Parallel()
	root := registryFixture(t)
	f := func(args []string, mention string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := registryMain(args, &stdout, &stderr)
		var usage usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("registry %q: err = %v, want a usage error mentioning %q", args, err, mention)
		}
		if !strings.Contains(stderr.String(), "infergate registry list") {
			t.Fatalf("registry %q: stderr lacks the usage:\n%s", args, stderr.String())
		}
	}
	f(nil, "a subcommand is required")
	f([]string{"lst"}, `unknown subcommand "lst"`)
	f([]string{"list", "extra", "--registry", root}, "takes no arguments; got 1")
	f([]string{"show", "--registry", root}, "takes MODEL, MODEL@ALIAS or MODEL:VERSION")
	f([]string{"show", "Churn", "--registry", root}, `model name "Churn"`)
	f([]string{"show", "churn:staging", "--registry", root}, `"staging" is an alias`)
	f([]string{"promote", "churn", "--registry", root}, "takes MODEL VERSION; got 1")
	f([]string{"tag", "churn", "1.0.0", "owner", "--registry", root}, `tag "owner": write KEY=VALUE`)
	f([]string{"delete", "churn", "1.0.0", "--nope"}, "flag provided but not defined: -nope")

	// -h prints the usage and is no error to report.
	var stdout, stderr bytes.Buffer
	if err := registryMain([]string{"promote", "-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-gate") {
		t.Fatalf("promote -h: err = %v, stderr:\n%s", err, stderr.String())
	}
	if err := runRegistry([]string{"help"}, &stdout); err != nil || !strings.Contains(stdout.String(), "infergate registry promote") {
		t.Fatalf("registry help: %v\n%s", err, stdout.String())
	}

	// A registry that does not exist is not created.
	missing := filepath.Join(t.TempDir(), "none")
	err := registryMain([]string{"list", "--registry", missing}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "registry "+missing+" does not exist: train a model into it") {
		t.Fatalf("list of a missing registry: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("list created %s", missing)
	}
	// An empty registry says how to fill it.
	stdout.Reset()
	empty := t.TempDir()
	if err := registryMain([]string{"list", "--registry", empty}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "holds no model: train one") {
		t.Fatalf("list of an empty registry: %v\n%s", err, stdout.String())
	}
}

// TestRegistryImport imports PaddleOCR's classifier with a signature file
// and shows it, as a user would.
func TestRegistryImport(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "registry")
	dir := t.TempDir()
	sig := filepath.Join(dir, "ocr.yaml")
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("0\n180\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, []byte("inputs:\n  - {name: x, shape: [-1, 3, 48, 192]}\noutputs:\n  - {name: softmax_0.tmp_0, kind: probabilities, labels_file: labels.txt}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	var stdout, stderr bytes.Buffer
	err := registryMain([]string{"import", ocr, "--model", "ocr-direction", "--version", "1.0.0", "--signature", sig, "--registry", root}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	t.Logf("registry import:\n%s", out)
	for _, want := range []string{
		"imported " + ocr + " as ocr-direction 1.0.0",
		"aliases                 production",
		"input x                 float32 [-1,3,48,192]",
		"output softmax_0.tmp_0  float32 [-1,2] probabilities labels 0,180",
		"drift reference         none (unmonitored)",
		"batch                   along the first dimension",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q", want)
		}
	}
	// Samples that are not requests to the model are refused, naming the file.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"inputs": [{"name": "image", "datatype": "FP32", "shape": [1], "data": [1]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sample, want string }{
		{bad, `bad.json: unknown input "image"`},
		{filepath.Join(dir, "missing.json"), "--sample: stat"},
	} {
		err := registryMain([]string{"import", ocr, "--model", "ocr-direction", "--version", "1.0.1", "--signature", sig, "--sample", tc.sample, "--registry", root}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--sample %s: %v, want an error saying %q", tc.sample, err, tc.want)
		}
	}
	stdout.Reset()
	if err := registryMain([]string{"show", "ocr-direction@production", "--registry", root}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "probabilities labels 0,180") {
		t.Errorf("show: %v\n%s", err, stdout.String())
	}
	stdout.Reset()
	err = registryMain([]string{"import", ocr, "--model", "ocr-direction", "--registry", root}, &stdout, &stderr)
	if !errors.As(err, new(usageError)) {
		t.Errorf("import without --version: %v, want a usage error", err)
	}
}
