package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/trainer"
)

const defaultDemoData = "var/data/churn.csv"

func runTrain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	configPath := fs.String("config", defaultConfig, "configuration file (for registry.root)")
	registryRoot := fs.String("registry", "", "registry folder (overrides registry.root)")
	demo := fs.Bool("demo", false, "generate the demo churn dataset, train on it and promote it to production")
	ifMissing := fs.Bool("if-missing", false, "with --demo: do nothing when the model already has a production version")
	demoData := fs.String("demo-data", defaultDemoData, "with --demo: where to write the generated dataset")
	data := fs.String("data", "", "training data (CSV with a header row)")
	target := fs.String("target", "", "the 0/1 column to predict")
	model := fs.String("model", "", "registry model name (default with --demo: "+trainer.DemoModel+")")
	required := fs.String("required", "", "comma-separated features requests must carry (others are imputed)")
	seed := fs.Uint64("seed", 0, "seed of the split and of training (default 1)")
	version := fs.String("version", "", "version to register (default: next minor)")
	promote := fs.Bool("promote", false, "point the production alias at the new version (always with --demo)")
	if err := parseFlags(fs, args); err != nil {
		return err
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
		name := *model
		if name == "" {
			name = trainer.DemoModel
		}
		if *ifMissing {
			v, err := store.Resolve(name, registry.ProductionAlias)
			if err == nil {
				_, err := fmt.Fprintf(stdout, "registry %s already has %s production=%s; nothing to train\n", root, name, v.Version)
				return err
			}
			if !errors.Is(err, registry.ErrNotFound) {
				return err
			}
		}
		if _, err := fmt.Fprintf(stdout, "training the demo model %s on %d generated rows (seed %d)…\n", name, trainer.DemoRows, trainer.DemoSeed); err != nil {
			return err
		}
		v, _, err := trainer.TrainDemo(store, name, *demoData, true)
		if err != nil {
			return err
		}
		return printVersion(stdout, store, v, true)
	}

	switch {
	case *data == "":
		return errors.New("--data is required (or --demo for the demo model)")
	case *target == "":
		return errors.New("--target is required: the 0/1 column to predict")
	case *model == "":
		return errors.New("--model is required: the registry model name")
	}
	d, err := trainer.LoadCSV(*data)
	if err != nil {
		return err
	}
	cfg := trainer.Config{Target: *target, Seed: *seed}
	if *required != "" {
		cfg.Required = strings.Split(*required, ",")
	}
	m, err := trainer.Train(d, cfg)
	if err != nil {
		return err
	}
	opts := trainer.RegisterOptions{Version: *version}
	if *promote {
		opts.Aliases = []string{registry.ProductionAlias}
	}
	v, err := trainer.Register(store, *model, m, opts)
	if err != nil {
		return err
	}
	return printVersion(stdout, store, v, *promote)
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}
