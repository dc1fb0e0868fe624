package main

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/trainer"
)

// trainData writes a generated churn table as CSV in dir and returns its
// path.
func trainData(t *testing.T, dir string, rows int) string {
	t.Helper()
	path := filepath.Join(dir, "churn.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trainer.WriteCSV(f, trainer.GenerateChurn(rows, 1)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// churnRow is a row of the generated churn table as a Parquet export types
// it: integers as integers, the label a boolean, missing cells null.
type churnRow struct {
	CustomerID       string   `parquet:"customer_id"`
	TenureMonths     int32    `parquet:"tenure_months"`
	MonthlyCharges   float64  `parquet:"monthly_charges"`
	TotalCharges     *float64 `parquet:"total_charges"`
	Contract         string   `parquet:"contract,dict"`
	SupportCalls     int64    `parquet:"support_calls"`
	PaymentMethod    *string  `parquet:"payment_method"`
	PaperlessBilling *string  `parquet:"paperless_billing,dict"`
	Churned          bool     `parquet:"churned"`
}

// trainParquet writes the table trainData writes as Parquet in dir, in
// several row groups, and returns its path.
func trainParquet(t *testing.T, dir string, rows int) string {
	t.Helper()
	d := trainer.GenerateChurn(rows, 1)
	text := func(name string, i int) *string {
		if s := d.Column(name).Strings[i]; s != "" {
			return &s
		}
		return nil
	}
	out := make([]churnRow, rows)
	for i := range out {
		num := func(name string) float64 { return d.Column(name).Numbers[i] }
		out[i] = churnRow{
			CustomerID: d.Column("customer_id").Strings[i], TenureMonths: int32(num("tenure_months")),
			MonthlyCharges: num("monthly_charges"), Contract: d.Column("contract").Strings[i],
			SupportCalls: int64(num("support_calls")), PaymentMethod: text("payment_method", i),
			PaperlessBilling: text("paperless_billing", i), Churned: num("churned") == 1,
		}
		if x := num("total_charges"); !math.IsNaN(x) {
			out[i].TotalCharges = &x
		}
	}
	path := filepath.Join(dir, "churn.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[churnRow](f, parquet.MaxRowsPerRowGroup(500), parquet.Compression(&parquet.Zstd))
	if _, err := w.Write(out); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// matches fails unless every pattern matches out.
func matches(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Fatalf("stdout:\n%s\nwant a match for %q", out, p)
		}
	}
}

func TestTrainCommandMLP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := trainData(t, dir, 2000)
	reg := filepath.Join(dir, "registry")
	args := []string{"train", "--registry", reg, "--data", data, "--target", "churned", "--model", "churn",
		"--algo", "mlp", "--hidden", "16,8", "--epochs", "30", "--seed", "7"}
	r := run(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	matches(t, r.stdout,
		`^training mlp on .*churn\.csv \(2000 rows, 9 columns\) to predict churned, seed 7\n`,
		`(?m)^epoch  1/30  train_loss 0\.\d{4}  val_loss 0\.\d{4}  val_auc 0\.\d{4}  elapsed \S+  best$`,
		`(?m)^epoch  2/30  `, // every epoch of an MLP
		`(?m)^algorithm  mlp `,
		`(?m)^params     hidden=16,8 learning_rate=0.01 l2=0.001 batch_size=64 patience=10 max_epochs=30 seed=7$`,
		`(?m)^test +400 +0\.\d{4} +0\.\d{4} +0\.\d{4} +0\.\d{4}$`,
		`(?m)^aliases   staging → 1\.0\.0$`,
		`(?m)^features  7 \(16 tensor columns\)$`)
	store, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Resolve("churn", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if p := v.Lineage.Params; v.Version != "1.0.0" || p["algorithm"] != "mlp" || p["hidden"] != "16,8" || p["seed"] != "7" || v.Metrics["brier"] <= 0 {
		t.Fatalf("version %s, params %v, metrics %v", v.Version, p, v.Metrics)
	}
	if _, err := store.Resolve("churn", registry.ProductionAlias); err == nil {
		t.Fatal("production was set without --promote")
	}

	// The same training again, promoted: the same bytes, both aliases.
	r = run(t, dir, append(args, "--promote", "--progress-every", "-1")...)
	if r.code != 0 || strings.Contains(r.stdout, "epoch ") {
		t.Fatalf("exit %d, want 0 and no progress lines\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	matches(t, r.stdout, `(?m)^aliases   staging, production → 1\.1\.0$`)
	v2, err := store.Resolve("churn", registry.ProductionAlias)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != "1.1.0" || v2.ModelSHA256 != v.ModelSHA256 {
		t.Fatalf("production = %s (sha %s), want 1.1.0 with 1.0.0's bytes (%s)", v2.Version, v2.ModelSHA256, v.ModelSHA256)
	}
}

func TestTrainCommandLogRegAndSearch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := trainData(t, dir, 2000)
	reg := filepath.Join(dir, "registry")
	// The default algorithm prints every 100th epoch; --alias "" sets none.
	r := run(t, dir, "train", "--registry", reg, "--data", data, "--target", "churned", "--model", "churn", "--alias", "")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "\nepoch "); n != 21 {
		t.Fatalf("%d progress lines, want 21 (epoch 1 and every 100th of 2000)\nstdout:\n%s", n, r.stdout)
	}
	matches(t, r.stdout, `(?m)^algorithm  logistic regression`, `(?m)^params     learning_rate=0.05 l2=0.001 epochs=2000 seed=1$`)
	if strings.Contains(r.stdout, "aliases") {
		t.Fatalf("--alias \"\" set an alias:\n%s", r.stdout)
	}

	r = run(t, dir, "train", "--registry", reg, "--data", data, "--target", "churned", "--model", "churn",
		"--algo", "mlp", "--search", "grid", "--search-trials", "3", "--epochs", "8", "--progress-every", "-1")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	matches(t, r.stdout,
		`(?m)^search grid: 3 of 3 trials in \S+ \(budget 30s\)$`,
		`(?m)^1\*? +0\.003 +0 +16 +\d+ +\d+ +0\.\d{4} +0\.\d{4} +\S+$`,
		`(?m)^\* chosen: trial \d, the lowest validation log loss$`,
		`(?m)^aliases   staging → 1\.1\.0$`)
	store, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Get("churn", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	p := v.Lineage.Params
	if p["search"] != "grid" || p["search_ran"] != "3" || !strings.HasPrefix(p["search_trial_2"], "learning_rate=0.01 l2=0 hidden=16 epochs=") {
		t.Fatalf("params = %v", p)
	}
}

func TestTrainCommandParquet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	f := func(data string) *registry.Version {
		t.Helper()
		r := run(t, dir, "train", "--registry", reg, "--data", data, "--target", "churned", "--model", "churn",
			"--epochs", "300", "--progress-every", "-1")
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		matches(t, r.stdout, `^training logreg on `+regexp.QuoteMeta(data)+` \(2000 rows, 9 columns\) to predict churned, seed 1\n`)
		store, err := registry.Open(reg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := store.Resolve("churn", "staging")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(raw); v.Lineage.DataPath != data || v.Lineage.DataSHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("lineage data %s sha256 %s, want %s %x", v.Lineage.DataPath, v.Lineage.DataSHA256, data, sum)
		}
		return v
	}
	fromCSV := f(trainData(t, dir, 2000))
	fromParquet := f(trainParquet(t, dir, 2000))
	// The same table in either container trains the same model.
	if fromParquet.Version != "1.1.0" || fromParquet.ModelSHA256 != fromCSV.ModelSHA256 {
		t.Fatalf("Parquet version %s (model sha %s), want 1.1.0 with the CSV version's bytes (%s)",
			fromParquet.Version, fromParquet.ModelSHA256, fromCSV.ModelSHA256)
	}

	// A Parquet file whose end was lost says so.
	raw, err := os.ReadFile(fromParquet.Lineage.DataPath)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.parquet")
	if err := os.WriteFile(cut, raw[:len(raw)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, "train", "--registry", reg, "--data", cut, "--target", "churned", "--model", "churn")
	if r.code != 1 || !strings.Contains(r.stderr, cut+": cannot read Parquet file: ") || !strings.Contains(r.stderr, "check that it was copied whole") {
		t.Fatalf("exit %d, want 1 and a Parquet error\nstderr:\n%s", r.code, r.stderr)
	}
}

func TestTrainCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := trainData(t, dir, 300)
	base := []string{"train", "--registry", filepath.Join(dir, "registry"), "--data", data, "--target", "churned", "--model", "churn"}
	f := func(args []string, wantCode int, want string) {
		t.Helper()
		r := run(t, dir, args...)
		if r.code != wantCode || !strings.Contains(r.stderr, want) {
			t.Fatalf("infergate %v: exit %d, want %d\nstderr:\n%s\nwant %q", args, r.code, wantCode, r.stderr, want)
		}
	}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	f([]string{"train", "--demo", "--algo", "mlp", "--registry", dir}, 1, "--algo shapes a training on --data; --demo trains the demo model as it is")
	f(with("--search", "grid", "--lr", "0.1"), 1, "--lr and --search: the search chooses")
	f(with("--search-budget", "5s"), 1, "--search-budget needs --search grid or --search random")
	f(with("--algo", "mlp", "--hidden", "32,x"), 1, `--hidden "32,x": want one or two positive layer widths`)
	f(with("--algo", "svm"), 1, `algorithm: "svm" is not "logreg" or "mlp"`)
	f(with("--hidden", "8"), 1, "hidden: only the mlp has hidden layers")
	f(with("--algo", "mlp", "--hidden", "8,8,8"), 1, "hidden: must list 1 or 2 hidden layer widths, got 3")
	f(with("--search", "bayes"), 1, `search: "bayes" is not "grid" or "random"`)
	f(with("--search-budget", "soon"), 2, `invalid value "soon" for flag -search-budget`)
	f([]string{"train", "--registry", dir, "--data", data, "--target", "churned"}, 1, "--model is required")
}

// train --demo fills a registry with one model of each task; --if-missing
// trains those without a production version, so a registry of an older
// release, which holds only the churn model, gets the other two.
func TestTrainCommandDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg, data := filepath.Join(dir, "registry"), filepath.Join(dir, "churn.csv")
	store, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	churn, _, err := trainer.TrainDemo(store, trainer.DemoModel, data, true)
	if err != nil {
		t.Fatal(err)
	}
	demo := []string{"train", "--demo", "--registry", reg, "--demo-data", data}
	r := run(t, dir, append(demo, "--if-missing")...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	matches(t, r.stdout,
		`^training the demo model customer-contract on 5000 generated rows \(seed 42\)…\nmodel +customer-contract\n`,
		`(?m)^macro_f1 +0\.\d+$`,
		`\n\ntraining the demo model customer-charges on 5000 generated rows \(seed 42\)…\n`,
		`(?m)^rmse +\d+(\.\d+)?$`,
		`\n\nregistry .* already has customer-churn production=1\.0\.0; nothing to train\n$`)
	tasks := map[string]string{
		trainer.DemoModel: registry.TaskBinary, trainer.DemoContractModel: registry.TaskMulticlass, trainer.DemoChargesModel: registry.TaskRegression,
	}
	for name, task := range tasks {
		v, err := store.Resolve(name, registry.ProductionAlias)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != "1.0.0" || v.Signature.Task() != task {
			t.Fatalf("%s: production %s, task %q", name, v.Version, v.Signature.Task())
		}
	}

	// Nothing is missing any more; the churn model's line comes last.
	r = run(t, dir, append(demo, "--if-missing")...)
	if n := strings.Count(r.stdout, "; nothing to train\n"); r.code != 0 || n != 3 || strings.Contains(r.stdout, "training") {
		t.Fatalf("exit %d, %d lines of nothing to train\nstdout:\n%s", r.code, n, r.stdout)
	}
	matches(t, r.stdout, `already has customer-churn production=1\.0\.0; nothing to train\n$`)

	// Without --if-missing, every model gets its next version, promoted;
	// the churn model's bytes are those it always had.
	r = run(t, dir, demo...)
	if r.code != 0 || strings.Count(r.stdout, "alias") != 3 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for name := range tasks {
		v, err := store.Resolve(name, registry.ProductionAlias)
		if err != nil || v.Version != "1.1.0" {
			t.Fatalf("%s: production %+v, %v", name, v, err)
		}
		if name == trainer.DemoModel && v.ModelSHA256 != churn.ModelSHA256 {
			t.Fatalf("the churn model's bytes changed: %s, was %s", v.ModelSHA256, churn.ModelSHA256)
		}
	}
}

// --task (or the target's values) says what to learn, and the summary and
// the registry say what was learned.
func TestTrainCommandTasks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := trainData(t, dir, 2000)
	reg := filepath.Join(dir, "registry")
	f := func(model, task string, extra []string, patterns ...string) {
		t.Helper()
		args := append([]string{"train", "--registry", reg, "--data", data, "--model", model, "--epochs", "300", "--progress-every", "100"}, extra...)
		r := run(t, dir, args...)
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		matches(t, r.stdout, patterns...)
		store, err := registry.Open(reg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := store.Resolve(model, "staging")
		if err != nil {
			t.Fatal(err)
		}
		if v.Signature.Task() != task || v.Lineage.Params["task"] != task {
			t.Fatalf("%s: signature task %q, lineage %v", model, v.Signature.Task(), v.Lineage.Params)
		}
	}
	f("contract", registry.TaskMulticlass, []string{"--target", "contract", "--task", "multiclass", "--id-columns", "customer_id,churned"},
		`(?m)^epoch 100/300  train_loss 0\.\d{4}  val_loss 0\.\d{4}  val_accuracy 0\.\d{4}  elapsed `,
		`(?m)^task       multiclass: contract \(3 classes: month-to-month, one-year, two-year\)$`,
		`(?m)^algorithm  softmax regression \(full-batch Adam\)$`,
		`(?m)^split +rows +accuracy +log_loss +macro_f1 +brier$`,
		`(?m)^test +400 +0\.\d{4} +0\.\d{4} +0\.\d{4} +0\.\d{4}$`)
	// Numbers other than 0/1 are a regression's, without --task.
	f("charges", registry.TaskRegression, []string{"--target", "monthly_charges", "--algo", "mlp", "--id-columns", "customer_id,churned,total_charges"},
		`(?m)^epoch   1/300  train_loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_r2 -?\d\.\d{4}  elapsed `,
		`(?m)^task       regression: monthly_charges$`,
		`(?m)^algorithm  mlp \(ReLU hidden layers, linear output, mini-batch Adam, early stopping\)$`,
		`(?m)^split +rows +rmse +mae +r2$`)

	r := run(t, dir, "train", "--registry", reg, "--data", data, "--model", "x", "--target", "contract", "--task", "ranking")
	if r.code != 1 || !strings.Contains(r.stderr, `task: "ranking" is not "binary", "multiclass" or "regression"`) {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	r = run(t, dir, "train", "--demo", "--registry", reg, "--task", "multiclass")
	if r.code != 1 || !strings.Contains(r.stderr, "--task shapes a training on --data") {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}
