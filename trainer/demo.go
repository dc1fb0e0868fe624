package trainer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/infergate/infergate/registry"
)

// The demo registry: three models trained on one generated churn table, one
// of each task.
const (
	DemoRows = 5000
	DemoSeed = 42
	// DemoModel is the binary classifier of churn, the model the default
	// configuration routes.
	DemoModel = "customer-churn"
	// DemoContractModel is the multi-class classifier of the contract a
	// customer holds.
	DemoContractModel = "customer-contract"
	// DemoChargesModel is the regression of a customer's monthly charges.
	DemoChargesModel = "customer-charges"
)

// DemoConfig is the training configuration of the demo churn model: tenure,
// charges, contract and support calls are required in requests; total
// charges, payment method and paperless billing are optional.
func DemoConfig() Config {
	return Config{
		Target:    ChurnTarget,
		IDColumns: []string{"customer_id"},
		Required:  []string{"tenure_months", "monthly_charges", "contract", "support_calls"},
		Seed:      DemoSeed,
	}
}

// DemoContractConfig is the training configuration of the demo contract
// model, a multi-class classifier of the contract column. Churn is left
// out of the features: it is known only after the contract, and the model
// answers for a customer who is still one.
func DemoContractConfig() Config {
	return Config{
		Target:    "contract",
		Task:      TaskMulticlass,
		IDColumns: []string{"customer_id", ChurnTarget},
		Required:  []string{"tenure_months", "monthly_charges", "support_calls"},
		Seed:      DemoSeed,
	}
}

// DemoChargesConfig is the training configuration of the demo charges
// model, a regression of the monthly charges. Churn is left out as for the
// contract model, and so are the total charges: they are about tenure ×
// monthly charges, the answer given away.
func DemoChargesConfig() Config {
	return Config{
		Target:    "monthly_charges",
		Task:      TaskRegression,
		IDColumns: []string{"customer_id", ChurnTarget, "total_charges"},
		Required:  []string{"tenure_months", "contract", "support_calls"},
		Seed:      DemoSeed,
	}
}

// DemoSpec is one model of the demo registry: its registry name and how it
// is trained from the demo data.
type DemoSpec struct {
	Model  string
	Config Config
}

// Demos are the models of the demo registry, in the order TrainDemos
// trains them. The churn model comes last: it is the one the default
// configuration serves, so the end of `infergate train --demo`'s output —
// what a terminal or a script's tail shows — is about it, as it was when it
// was the only demo model.
func Demos() []DemoSpec {
	return []DemoSpec{
		{Model: DemoContractModel, Config: DemoContractConfig()},
		{Model: DemoChargesModel, Config: DemoChargesConfig()},
		{Model: DemoModel, Config: DemoConfig()},
	}
}

// WriteDemoData generates the demo churn dataset (DemoRows rows, DemoSeed),
// writes it to dataPath as CSV, and returns the file's contents read back,
// so that the lineage of every demo model names the file and its hash.
func WriteDemoData(dataPath string) (*Dataset, error) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, GenerateChurn(DemoRows, DemoSeed)); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(dataPath); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot write demo data: %w", err)
		}
	}
	if err := os.WriteFile(dataPath, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write demo data: %w", err)
	}
	d, err := ReadCSV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("BUG: cannot read back the demo data: %w", err)
	}
	d.Source = dataPath
	return d, nil
}

// Train trains s on d (the demo data, WriteDemoData), registers the model
// as the next version of s.Model and, when promote is set, points
// "production" at it.
func (s DemoSpec) Train(store *registry.Store, d *Dataset, promote bool) (*registry.Version, *Model, error) {
	m, err := Train(d, s.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot train the demo model %q: %w", s.Model, err)
	}
	opts := RegisterOptions{}
	if promote {
		opts.Aliases = []string{registry.ProductionAlias}
	}
	v, err := Register(store, s.Model, m, opts)
	return v, m, err
}

// TrainDemo generates the demo churn dataset, writes it to dataPath as CSV,
// trains the churn model on the file's contents with DemoConfig, registers
// it as the next version of modelName and, when promote is set, points
// "production" at it. TrainDemos trains the other demo models too.
func TrainDemo(store *registry.Store, modelName, dataPath string, promote bool) (*registry.Version, *Model, error) {
	d, err := WriteDemoData(dataPath)
	if err != nil {
		return nil, nil, err
	}
	return DemoSpec{Model: modelName, Config: DemoConfig()}.Train(store, d, promote)
}

// TrainDemos writes the demo data to dataPath (WriteDemoData) and trains
// and registers every model of Demos on it, in order, as DemoSpec.Train
// does, returning their versions and models in the same order. It stops at
// the first error.
func TrainDemos(store *registry.Store, dataPath string, promote bool) ([]*registry.Version, []*Model, error) {
	d, err := WriteDemoData(dataPath)
	if err != nil {
		return nil, nil, err
	}
	var versions []*registry.Version
	var models []*Model
	for _, spec := range Demos() {
		v, m, err := spec.Train(store, d, promote)
		if err != nil {
			return versions, models, err
		}
		versions, models = append(versions, v), append(models, m)
	}
	return versions, models, nil
}
