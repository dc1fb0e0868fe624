package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/trainer"
)

const (
	defaultDemoData = "var/data/churn.csv"
	// defaultTrainAlias is the alias a trained version gets unless --alias
	// says otherwise: it is a candidate until someone promotes it.
	defaultTrainAlias = "staging"
)

// trainingFlags shape a --data training; --demo trains the demo models as
// they are and refuses them.
var trainingFlags = []string{
	"data", "target", "task", "required", "id-columns", "algo", "hidden", "epochs", "lr", "batch-size", "patience", "l2",
	"seed", "search", "search-budget", "search-trials", "progress-every", "version", "alias",
}

func runTrain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	configPath := fs.String("config", defaultConfig, "configuration file (for registry.root)")
	registryRoot := fs.String("registry", "", "registry folder (overrides registry.root)")
	demo := fs.Bool("demo", false, "generate the demo churn dataset, train the demo models on it ("+demoNames()+") and promote them to production")
	ifMissing := fs.Bool("if-missing", false, "with --demo: train only the demo models that have no production version yet")
	demoData := fs.String("demo-data", defaultDemoData, "with --demo: where to write the generated dataset")
	data := fs.String("data", "", "training data: CSV with a header row, or Parquet")
	target := fs.String("target", "", "the column to predict")
	task := fs.String("task", "", "what to learn: binary, multiclass or regression (default: from --target: 0/1 binary, text multiclass, other numbers regression)")
	model := fs.String("model", "", "registry model name (with --demo: the churn model's, default "+trainer.DemoModel+")")
	required := fs.String("required", "", "comma-separated features requests must carry (others are imputed)")
	idColumns := fs.String("id-columns", strings.Join(trainer.DefaultIDColumns, ","), "comma-separated columns that are not features: entity keys, and any the model must not see")
	algo := fs.String("algo", trainer.LogReg, "model: logreg (linear: logistic, softmax or linear regression) or mlp (ReLU hidden layers, early stopping)")
	hidden := fs.String("hidden", "", "mlp: hidden layer widths, one or two, such as 32 or 32,16 (default 32)")
	epochs := fs.Int("epochs", 0, "the most passes over the train rows (default 2000 for logreg, 200 for mlp)")
	lr := fs.Float64("lr", 0, "Adam learning rate (default 0.05 for logreg, 0.01 for mlp)")
	batchSize := fs.Int("batch-size", 0, "mlp: mini-batch size (default 64)")
	patience := fs.Int("patience", 0, "mlp: epochs without a lower validation loss before stopping (default 10)")
	l2 := fs.Float64("l2", trainer.DefaultL2, "L2 weight decay; 0 turns it off")
	seed := fs.Uint64("seed", 1, "seed of the split, the initial weights and the batch order")
	search := fs.String("search", "", "hyperparameter search over --lr, --l2 and --hidden: grid or random; the lowest validation loss wins")
	searchBudget := fs.Duration("search-budget", trainer.DefaultSearchBudget, "with --search: no trial starts after this time")
	searchTrials := fs.Int("search-trials", trainer.DefaultSearchTrials, "with --search: the most trials")
	progressEvery := fs.Int("progress-every", 0, "print a progress line every N epochs (default 1 for mlp, 100 for logreg; -1: none)")
	version := fs.String("version", "", "version to register (default: next minor)")
	alias := fs.String("alias", defaultTrainAlias, "alias to point at the new version (empty: none)")
	promote := fs.Bool("promote", false, "also point the production alias at the new version (always with --demo)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if *demo {
		for _, name := range trainingFlags {
			if set[name] {
				return fmt.Errorf("--%s shapes a training on --data; --demo trains the demo model as it is (drop --%s, or train the demo data with --data %s)", name, name, *demoData)
			}
		}
	} else {
		switch {
		case *data == "":
			return errors.New("--data is required (or --demo for the demo models)")
		case *target == "":
			return errors.New("--target is required: the column to predict")
		case *model == "":
			return errors.New("--model is required: the registry model name")
		}
		if *search != "" {
			for _, name := range []string{"lr", "l2", "hidden"} {
				if set[name] {
					return fmt.Errorf("--%s and --search: the search chooses the learning rate, L2 and hidden layout; drop --%s", name, name)
				}
			}
		} else {
			for _, name := range []string{"search-budget", "search-trials"} {
				if set[name] {
					return fmt.Errorf("--%s needs --search grid or --search random", name)
				}
			}
		}
	}

	root := *registryRoot
	if root == "" {
		cfg, err := loadConfig(*configPath, nil)
		if err != nil {
			return err
		}
		root = cfg.Registry.Root
	}
	store, err := registry.Open(root)
	if err != nil {
		return err
	}

	if *demo {
		return trainDemos(stdout, store, root, *model, *demoData, *ifMissing)
	}

	cfg := trainer.Config{
		Target: *target, Task: *task, Algorithm: *algo, Seed: *seed, IDColumns: splitList(*idColumns), Required: splitList(*required),
		Epochs: *epochs, LearningRate: *lr, L2: trainer.Float(*l2), BatchSize: *batchSize, Patience: *patience,
	}
	if *hidden != "" {
		if cfg.Hidden, err = parseHidden(*hidden); err != nil {
			return err
		}
	}
	if *search != "" {
		cfg.Search, cfg.SearchBudget, cfg.SearchTrials = *search, *searchBudget, *searchTrials
	}
	d, err := trainer.LoadDataset(*data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "training %s on %s (%d rows, %d columns) to predict %s, seed %d\n",
		*algo, *data, d.Rows(), len(d.Columns), *target, *seed); err != nil {
		return err
	}
	every := *progressEvery
	if every == 0 {
		every = 100
		if *algo == trainer.MLP {
			every = 1
		}
	}
	var opts trainer.Options
	progress := &trainer.ProgressPrinter{W: stdout, Every: every}
	if every > 0 {
		opts.Progress = progress.Report
	}
	m, err := trainer.TrainWith(d, cfg, opts)
	if err != nil {
		return err
	}
	if err := progress.Err(); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout); err != nil {
		return err
	}
	if err := trainer.WriteSummary(stdout, m); err != nil {
		return err
	}

	var aliases []string
	if *alias != "" {
		aliases = append(aliases, *alias)
	}
	if *promote && *alias != registry.ProductionAlias {
		aliases = append(aliases, registry.ProductionAlias)
	}
	v, err := trainer.Register(store, *model, m, trainer.RegisterOptions{Version: *version, Aliases: aliases})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout); err != nil {
		return err
	}
	return printRegistered(stdout, store, v, aliases)
}

// trainDemos trains the demo models into store — all of them, or with
// ifMissing those without a production version — and promotes each. name,
// when set, replaces the churn model's registry name. The demo data is
// written once, before the first model that needs it. A blank line sets
// each trained model's table apart from what surrounds it.
func trainDemos(stdout io.Writer, store *registry.Store, root, name, dataPath string, ifMissing bool) error {
	var data *trainer.Dataset
	printed, afterTable := false, false
	separate := func(block bool) error {
		if afterTable || block && printed {
			if _, err := fmt.Fprintln(stdout); err != nil {
				return err
			}
		}
		printed, afterTable = true, block
		return nil
	}
	for _, spec := range trainer.Demos() {
		if spec.Model == trainer.DemoModel && name != "" {
			spec.Model = name
		}
		if ifMissing {
			v, err := store.Resolve(spec.Model, registry.ProductionAlias)
			if err == nil {
				if err := separate(false); err != nil {
					return err
				}
				if _, err := fmt.Fprintf(stdout, "registry %s already has %s production=%s; nothing to train\n", root, spec.Model, v.Version); err != nil {
					return err
				}
				continue
			}
			if !errors.Is(err, registry.ErrNotFound) {
				return err
			}
		}
		if data == nil {
			var err error
			if data, err = trainer.WriteDemoData(dataPath); err != nil {
				return err
			}
		}
		if err := separate(true); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "training the demo model %s on %d generated rows (seed %d)…\n", spec.Model, trainer.DemoRows, trainer.DemoSeed); err != nil {
			return err
		}
		v, _, err := spec.Train(store, data, true)
		if err != nil {
			return err
		}
		if err := printVersion(stdout, store, v, true); err != nil {
			return err
		}
	}
	return nil
}

// demoNames lists the demo models' names for --demo's help.
func demoNames() string {
	var names []string
	for _, spec := range trainer.Demos() {
		names = append(names, spec.Model)
	}
	return strings.Join(names, ", ")
}

// splitList splits a comma-separated flag value; "" is no items.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// parseHidden parses --hidden: one or two positive widths, comma-separated.
func parseHidden(s string) ([]int, error) {
	var widths []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--hidden %q: want one or two positive layer widths, such as 32 or 32,16", s)
		}
		widths = append(widths, n)
	}
	return widths, nil
}

// printRegistered writes where a trained version went, as a two-column
// table (its metrics are in the summary above it).
func printRegistered(w io.Writer, store *registry.Store, v *registry.Version, aliases []string) error {
	rows := [][2]string{{"model", v.Model}, {"version", v.Version}}
	if len(aliases) > 0 {
		rows = append(rows, [2]string{"aliases", strings.Join(aliases, ", ") + " → " + v.Version})
	}
	rows = append(rows,
		[2]string{"features", fmt.Sprintf("%d (%d tensor columns)", len(v.Signature.Features), v.Signature.Width())},
		[2]string{"file", store.ModelPath(v.Model, v.Version)})
	return writeRows(w, rows)
}

// printVersion writes a registered version as a two-column table.
func printVersion(w io.Writer, store *registry.Store, v *registry.Version, promoted bool) error {
	rows := [][2]string{{"model", v.Model}, {"version", v.Version}}
	if promoted {
		rows = append(rows, [2]string{"alias", "production → " + v.Version})
	}
	names := make([]string, 0, len(v.Metrics))
	for k := range v.Metrics {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		rows = append(rows, [2]string{k, fmt.Sprintf("%.4g", v.Metrics[k])})
	}
	rows = append(rows,
		[2]string{"features", fmt.Sprintf("%d (%d tensor columns)", len(v.Signature.Features), v.Signature.Width())},
		[2]string{"file", store.ModelPath(v.Model, v.Version)})
	return writeRows(w, rows)
}

func writeRows(w io.Writer, rows [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}
