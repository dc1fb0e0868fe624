package trainer

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/infergate/infergate/registry"
)

// RegisterOptions control Register.
type RegisterOptions struct {
	// Version to register; default registry.NextVersion of the model's
	// versions ("1.0.0" for a new model).
	Version string
	// Aliases to point at the new version, such as "production".
	Aliases []string
	// Parent recorded in the lineage; default the version "production"
	// pointed at before this registration (the version it replaces), if any.
	Parent string
	// DataPath and DataSHA256 override the model's DataSource and
	// DataSHA256 in the lineage.
	DataPath, DataSHA256 string
}

// Params returns the training parameters recorded in a version's lineage.
func (c *Config) Params() map[string]string {
	p := map[string]string{
		"algorithm":           "logistic_regression",
		"optimizer":           "adam_full_batch",
		"target":              c.Target,
		"id_columns":          strings.Join(c.IDColumns, ","),
		"required":            strings.Join(c.Required, ","),
		"seed":                strconv.FormatUint(c.Seed, 10),
		"test_fraction":       formatFloat(c.TestFraction),
		"validation_fraction": formatFloat(c.ValidationFraction),
		"epochs":              strconv.Itoa(c.Epochs),
		"learning_rate":       formatFloat(c.LearningRate),
		"l2":                  formatFloat(c.l2()),
		"max_categories":      strconv.Itoa(c.MaxCategories),
	}
	// A binary classifier records no task: its parameters stay what every
	// version trained before tasks existed recorded, and a lineage without
	// a task is a binary classifier's.
	switch c.Task {
	case TaskMulticlass:
		p["task"] = c.Task
		p["algorithm"] = "softmax_regression"
	case TaskRegression:
		p["task"] = c.Task
		p["algorithm"] = "linear_regression"
		p["target_scaling"] = "standardised_on_train"
	}
	if c.Algorithm == MLP {
		loss, _ := measures(c.Task)
		p["algorithm"] = "mlp"
		p["optimizer"] = "adam_minibatch"
		p["hidden"] = formatInts(c.Hidden)
		p["activation"] = "relu"
		p["init"] = "he_normal"
		p["batch_size"] = strconv.Itoa(c.BatchSize)
		p["patience"] = strconv.Itoa(c.Patience)
		p["early_stopping"] = "validation_" + loss
	}
	if c.Search != "" {
		p["search"] = c.Search
		p["search_budget"] = c.SearchBudget.String()
		p["search_max_trials"] = strconv.Itoa(c.SearchTrials)
	}
	return p
}

// Params returns the parameters recorded in the lineage of a version of m:
// its Config's, and after a search the trials (search_trial_NN, one line of
// settings and results each, in the order they ran), how many ran, whether
// the budget stopped the search, and which trial was chosen (whose
// settings are the learning_rate, l2 and hidden entries).
func (m *Model) Params() map[string]string {
	p := m.Config.Params()
	s := m.Search
	if s == nil {
		return p
	}
	p["search_planned"] = strconv.Itoa(s.Planned)
	p["search_ran"] = strconv.Itoa(len(s.Trials))
	p["search_stopped_by_budget"] = strconv.FormatBool(s.Stopped)
	p["search_chosen"] = strconv.Itoa(s.Chosen + 1)
	digits := len(strconv.Itoa(s.Planned))
	for i := range s.Trials {
		p[fmt.Sprintf("search_trial_%0*d", digits, i+1)] = s.Trials[i].String()
	}
	return p
}

// String is the trial in one line of key=value pairs, its validation
// measures named as the task names them (measures).
func (t *Trial) String() string {
	s := "learning_rate=" + formatFloat(t.LearningRate) + " l2=" + formatFloat(t.L2)
	if t.Hidden != nil {
		s += " hidden=" + formatInts(t.Hidden)
	}
	s += fmt.Sprintf(" epochs=%d best_epoch=%d", t.Epochs, t.BestEpoch)
	if t.Task == TaskAuto || t.Task == TaskBinary {
		return s + fmt.Sprintf(" validation_log_loss=%.6f validation_auc=%.6f", t.ValidationLogLoss, t.ValidationAUC)
	}
	loss, metric := measures(t.Task)
	return s + fmt.Sprintf(" validation_%s=%.6f validation_%s=%.6f", loss, t.ValidationLoss, metric, t.ValidationMetric)
}

// buildCodeVersion is the revision of this program for lineage, from its
// build information (codeVersion); "" when the binary has none.
func buildCodeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return codeVersion(info)
}

// codeVersion is the VCS commit info records ("+dirty" when the tree had
// local changes), else the main module's version when it was built as a
// versioned module (go install …@v1.2.3), else "": a test binary or a
// build outside a repository records neither, and "(devel)" names no
// revision.
func codeVersion(info *debug.BuildInfo) string {
	var revision string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case revision != "" && modified:
		return revision + "+dirty"
	case revision != "":
		return revision
	case info.Main.Version != "(devel)":
		return info.Main.Version
	}
	return ""
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func formatInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// Version returns the registry metadata of m as version of model, with the
// given lineage; TrainerVersion, CodeVersion (this program's revision),
// Params, TestDataSHA256 and TrainedAt are filled in when empty. None of
// them is in the ONNX file, whose bytes depend on the trained model alone,
// so the same training gives the same model_sha256 from any build.
func (m *Model) Version(model, version string, lineage registry.Lineage) *registry.Version {
	if lineage.TrainerVersion == "" {
		lineage.TrainerVersion = TrainerVersion
	}
	if lineage.CodeVersion == "" {
		lineage.CodeVersion = buildCodeVersion()
	}
	if lineage.TestDataSHA256 == "" {
		lineage.TestDataSHA256 = m.TestDataSHA256
	}
	if lineage.Params == nil {
		lineage.Params = m.Params()
	}
	if lineage.TrainedAt.IsZero() {
		lineage.TrainedAt = m.TrainedAt
	}
	return &registry.Version{
		Model:     model,
		Version:   version,
		Signature: m.Signature,
		Metrics:   maps.Clone(m.Metrics),
		Lineage:   lineage,
	}
}

// Register stores m in store as a new version of name, with its drift
// reference profile (m.Profile) as the version's registry.DriftProfileFile,
// and points opts.Aliases at it. When an alias cannot be set, the registered version is
// returned with the error.
func Register(store *registry.Store, name string, m *Model, opts RegisterOptions) (*registry.Version, error) {
	version := opts.Version
	parent := opts.Parent
	existing, err := store.Versions(name)
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("cannot register model %q: %w", name, err)
	}
	if version == "" {
		version = registry.NextVersion(existing)
	}
	if parent == "" && len(existing) > 0 {
		if prod, err := store.Resolve(name, registry.ProductionAlias); err == nil {
			parent = prod.Version
		}
	}
	lineage := registry.Lineage{
		DataPath:   cmp.Or(opts.DataPath, m.DataSource),
		DataSHA256: cmp.Or(opts.DataSHA256, m.DataSHA256),
		Parent:     parent,
	}
	v := m.Version(name, version, lineage)
	var files map[string][]byte
	if m.Profile != nil {
		profile, err := m.Profile.Encode()
		if err != nil {
			return nil, fmt.Errorf("cannot register model %q: %w", name, err)
		}
		files = map[string][]byte{registry.DriftProfileFile: profile}
	}
	// One atomic step: the version is never visible without its profile.
	if err := store.RegisterWith(v, m.ONNX(), files); err != nil {
		return nil, err
	}
	for _, alias := range opts.Aliases {
		if err := store.SetAlias(name, alias, version); err != nil {
			return v, fmt.Errorf("registered %s@%s: %w", name, version, err)
		}
	}
	return v, nil
}
