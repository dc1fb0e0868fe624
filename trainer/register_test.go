package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/infergate/infergate/registry"
)

func TestTrainDemoRegisters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, err := registry.Open(filepath.Join(dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(dir, "data", "churn.csv")
	v, m, err := TrainDemo(store, DemoModel, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "1.0.0" {
		t.Fatalf("first version = %s, want 1.0.0", v.Version)
	}
	// The data file is the generated table, and the lineage names it.
	data, err := os.ReadFile(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, csvBytes(t, GenerateChurn(DemoRows, DemoSeed))) {
		t.Fatal("the demo data file is not GenerateChurn(DemoRows, DemoSeed)")
	}
	sum := sha256.Sum256(data)
	got, err := store.Resolve(DemoModel, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.0.0" {
		t.Fatalf("production = %s", got.Version)
	}
	l := got.Lineage
	if l.DataPath != dataPath || l.DataSHA256 != hex.EncodeToString(sum[:]) || l.TrainerVersion != TrainerVersion ||
		l.TrainedAt.IsZero() || l.Parent != "" {
		t.Fatalf("lineage = %+v", l)
	}
	if want := map[string]string{
		"algorithm": "logistic_regression", "optimizer": "adam_full_batch", "target": "churned",
		"id_columns": "customer_id", "required": "tenure_months,monthly_charges,contract,support_calls",
		"seed": "42", "test_fraction": "0.2", "validation_fraction": "0.1", "epochs": "2000",
		"learning_rate": "0.05", "l2": "0.001", "max_categories": "50",
	}; !reflect.DeepEqual(l.Params, want) {
		t.Fatalf("params = %v\nwant %v", l.Params, want)
	}
	if !reflect.DeepEqual(got.Metrics, m.Metrics) || !reflect.DeepEqual(got.Signature, m.Signature) {
		t.Fatal("stored metrics or signature differ from the model's")
	}
	// The stored file is the model's ONNX, checksum and all.
	onnx, _, err := store.ReadModel(DemoModel, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onnx, m.ONNX()) {
		t.Fatal("the stored model is not m.ONNX()")
	}
	// The same training again is the same model.
	if demo := mustDemoModel(t); !bytes.Equal(onnx, demo.ONNX()) {
		t.Fatal("TrainDemo (through the CSV file) and Train on the generated table differ")
	}

	// A second run registers the next version, without promoting it; its
	// parent is the production version it would replace.
	v2, _, err := TrainDemo(store, DemoModel, dataPath, false)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != "1.1.0" || v2.Lineage.Parent != "1.0.0" || v2.ModelSHA256 != v.ModelSHA256 {
		t.Fatalf("second version = %s parent %q sha %s", v2.Version, v2.Lineage.Parent, v2.ModelSHA256)
	}
	if prod, _ := store.Resolve(DemoModel, ""); prod.Version != "1.0.0" {
		t.Fatalf("production moved to %s without promote", prod.Version)
	}
}

func TestRegisterOptions(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := mustDemoModel(t)
	v, err := Register(store, "churn", m, RegisterOptions{
		Version: "2.0.0", Aliases: []string{"staging", "canary"}, Parent: "1.9.0",
		DataPath: "s3://bucket/churn.csv", DataSHA256: "feed",
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "2.0.0" || v.Lineage.Parent != "1.9.0" || v.Lineage.DataPath != "s3://bucket/churn.csv" || v.Lineage.DataSHA256 != "feed" {
		t.Fatalf("version = %+v", v)
	}
	aliases, err := store.Aliases("churn")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"staging": "2.0.0", "canary": "2.0.0"}; !reflect.DeepEqual(aliases, want) {
		t.Fatalf("aliases = %v", aliases)
	}
	if _, err := Register(store, "churn", m, RegisterOptions{Version: "2.0.0"}); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("re-register: err = %v, want ErrExists", err)
	}
	if _, err := Register(store, "Bad Name", m, RegisterOptions{}); !errors.Is(err, registry.ErrInvalidName) {
		t.Fatalf("bad name: err = %v, want ErrInvalidName", err)
	}
	v, err = Register(store, "churn", m, RegisterOptions{Aliases: []string{"Prod"}})
	if v == nil || v.Version != "2.1.0" || !errors.Is(err, registry.ErrInvalidName) {
		t.Fatalf("bad alias: v = %+v, err = %v; want the version and ErrInvalidName", v, err)
	}
}

// An MLP registers like a logistic regression: its parameters, metrics and
// ONNX file are stored, and a search's trials are in the lineage.
func TestRegisterMLP(t *testing.T) {
	t.Parallel()
	store, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := mustDemoMLP(t)
	v, err := Register(store, "churn", m, RegisterOptions{Aliases: []string{"staging"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Resolve("churn", "staging")
	if err != nil || got.Version != v.Version {
		t.Fatalf("staging = %+v, %v", got, err)
	}
	for k, want := range map[string]string{
		"algorithm": "mlp", "optimizer": "adam_minibatch", "hidden": "32", "activation": "relu", "init": "he_normal",
		"batch_size": "64", "patience": "10", "early_stopping": "validation_log_loss", "epochs": "200",
		"learning_rate": "0.01", "l2": "0.001", "seed": "42",
	} {
		if got.Lineage.Params[k] != want {
			t.Errorf("params[%s] = %q, want %q", k, got.Lineage.Params[k], want)
		}
	}
	if _, ok := got.Lineage.Params["search"]; ok {
		t.Error("params record a search that did not run")
	}
	if got.Metrics["brier"] != m.Metrics["brier"] || got.Metrics["best_epoch"] < 1 || got.Lineage.TrainerVersion != TrainerVersion {
		t.Fatalf("metrics %v, trainer %s", got.Metrics, got.Lineage.TrainerVersion)
	}
	onnx, _, err := store.ReadModel("churn", v.Version)
	if err != nil || !bytes.Equal(onnx, m.ONNX()) {
		t.Fatalf("stored model differs from m.ONNX() (err %v)", err)
	}

	searched := mustSearched(t)
	v, err = Register(store, "churn", searched, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := v.Lineage.Params; p["search"] != "grid" || p["search_ran"] != "4" || p["search_trial_3"] != searched.Search.Trials[2].String() {
		t.Fatalf("search params = %v", p)
	}
}
