package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infergate/infergate/configs"
	"github.com/infergate/infergate/registry"
)

const registryUsage = `infergate registry lists and changes the model registry: versions, their
metadata and tags, and the aliases (production, staging, …) that routes follow.

  infergate registry list
  infergate registry show     MODEL | MODEL@ALIAS | MODEL:VERSION
  infergate registry import   FILE.onnx|FOLDER --model NAME --version V [--signature FILE.yaml] [--sample REQUEST.json]... [--alias ALIAS]
  infergate registry alias    MODEL ALIAS VERSION [--reason TEXT]
  infergate registry promote  MODEL VERSION [--alias production] [--gate] [--override --reason TEXT]
  infergate registry rollback MODEL [--alias production] [--reason TEXT]
  infergate registry delete   MODEL VERSION
  infergate registry tag      MODEL VERSION KEY=VALUE... (KEY= removes the tag)
  infergate registry gc       [--older-than 1h]

import registers an ONNX model you bring (exported from PyTorch, scikit-learn,
XGBoost, Keras, PaddlePaddle…): it reads its inputs and outputs through ONNX
Runtime, runs it once on inputs of its declared shape (dynamic dimensions at 1,
or as the signature file says) and refuses a file that does not load or run.
A FOLDER holds the model (model.onnx, or its only .onnx file) and the files its
tensors keep their data in. The signature file says what outputs mean
(probabilities with labels, label, score, embedding, raw), narrows shapes and,
for a tabular model, how features encode. Each --sample is a v2 inference
request like the model's traffic: the summary statistics of its inputs (mean,
std, min, max, NaN share) become the version's drift reference. The model's
first version gets the alias production unless --alias names another.

promote --gate requires the version's held-out metrics (a binary classifier's
auc and log_loss, a multi-class one's log_loss and accuracy, a regression's
rmse and mae) to be at least as good as those of the version the alias names,
measured on the same held-out data; --override --reason TEXT promotes anyway and records why.
rollback moves the alias back to the version it named before its last move.
Every alias move is recorded with --by and --reason in the model's alias log
(show MODEL prints it). delete refuses a version an alias names.

Each command takes --config FILE or --registry DIR to find the registry, and
--json for machine-readable output.
`

// registrySubcommands are the subcommands of infergate registry, in usage
// order.
var registrySubcommands = []string{"list", "show", "import", "alias", "promote", "rollback", "delete", "tag", "gc"}

// runRegistry runs infergate registry SUBCOMMAND.
func runRegistry(args []string, stdout io.Writer) error {
	return registryMain(args, stdout, os.Stderr)
}

func registryMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(registrySubcommands, args[0]) {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			_, err := fmt.Fprint(stdout, registryUsage)
			return err
		}
		msg := "a subcommand is required: " + strings.Join(registrySubcommands, ", ")
		if len(args) > 0 {
			msg = fmt.Sprintf("unknown subcommand %q: want one of %s", args[0], strings.Join(registrySubcommands, ", "))
		}
		_, _ = fmt.Fprintf(stderr, "%s\n\n%s", msg, registryUsage)
		return usageError{errors.New(msg)}
	}
	c := &registryCmd{name: args[0], stdout: stdout}
	c.fs = flag.NewFlagSet("registry "+c.name, flag.ContinueOnError)
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		_, _ = fmt.Fprint(c.fs.Output(), registryUsage, "\nFlags of registry "+c.name+":\n")
		c.fs.PrintDefaults()
	}
	c.fs.StringVar(&c.configPath, "config", defaultConfig, "configuration file (for registry.root); built-in defaults when the default file is absent")
	c.fs.StringVar(&c.root, "registry", "", "registry folder (overrides registry.root)")
	c.fs.BoolVar(&c.json, "json", false, "write JSON instead of tables")
	run := map[string]func() error{
		"list": c.list, "show": c.show, "import": c.importModel, "alias": c.alias, "promote": c.promote,
		"rollback": c.rollback, "delete": c.delete, "tag": c.tag, "gc": c.gc,
	}[c.name]
	switch c.name {
	case "import":
		c.fs.StringVar(&c.model, "model", "", "the registry model to import into (required)")
		c.fs.StringVar(&c.version, "version", "", "the new version, MAJOR.MINOR.PATCH (required)")
		c.fs.StringVar(&c.signature, "signature", "", "a signature file (YAML): output kinds and labels, shapes, batch mode, features")
		c.fs.Func("sample", "a v2 inference request (JSON) like the model's traffic, the drift reference of its tensor inputs; repeat for more", func(path string) error {
			c.samples = append(c.samples, path)
			return nil
		})
		c.fs.StringVar(&c.aliasName, "alias", "", "the alias to move to the new version (default: production for a model's first version)")
		c.fs.StringVar(&c.by, "by", os.Getenv("USER"), "who imports, for the alias log (default $USER)")
	case "alias", "promote", "rollback":
		c.fs.StringVar(&c.by, "by", os.Getenv("USER"), "who moves the alias, for the alias log (default $USER)")
		c.fs.StringVar(&c.reason, "reason", "", "why, for the alias log (required with --override)")
	}
	switch c.name {
	case "promote", "rollback":
		c.fs.StringVar(&c.aliasName, "alias", registry.ProductionAlias, "the alias to move")
	}
	if c.name == "promote" {
		c.fs.BoolVar(&c.gate, "gate", false, "refuse unless the version's held-out metrics are at least as good as the alias's version's")
		c.fs.BoolVar(&c.override, "override", false, "with --gate: promote although the gate refuses (needs --reason)")
	}
	if c.name == "gc" {
		c.fs.DurationVar(&c.olderThan, "older-than", time.Hour, "remove temporary entries older than this (younger ones may be writes in progress)")
	}
	if err := c.parse(args[1:]); err != nil {
		return err
	}
	return run()
}

// registryCmd is one registry subcommand, its flags parsed.
type registryCmd struct {
	name       string
	fs         *flag.FlagSet
	args       []string // positional arguments
	stdout     io.Writer
	configPath string
	root       string
	json       bool
	by, reason string
	aliasName  string
	gate       bool
	override   bool
	olderThan  time.Duration
	model      string // import
	version    string
	signature  string
	samples    []string // files of sample requests
	store      *registry.Store
}

// parse parses flags wherever they stand among the positional arguments
// ("promote churn 1.1.0 --gate" as well as "promote --gate churn 1.1.0").
func (c *registryCmd) parse(args []string) error {
	for {
		if err := c.fs.Parse(args); err != nil {
			return usageError{err}
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return nil
		}
		// After "--" every argument is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			c.args = append(c.args, rest...)
			return nil
		}
		c.args = append(c.args, rest[0])
		args = rest[1:]
	}
}

// misuse reports a usage error with the command's usage.
func (c *registryCmd) misuse(format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	_, _ = fmt.Fprintln(c.fs.Output(), err)
	c.fs.Usage()
	return usageError{err}
}

// want checks the number of positional arguments, named in usage.
func (c *registryCmd) want(min, max int, usage string) error {
	if len(c.args) < min || (max >= 0 && len(c.args) > max) {
		return c.misuse("registry %s takes %s; got %d argument(s)", c.name, usage, len(c.args))
	}
	return nil
}

// config loads the configuration --config names, or the built-in defaults
// when it is the default file and that is absent.
func (c *registryCmd) config() (*configs.Config, error) {
	configSet := false
	c.fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
	cfg, err := loadConfig(c.configPath, nil)
	if !configSet && errors.Is(err, os.ErrNotExist) {
		cfg, err = new(configs.Config), nil
		cfg.ApplyDefaults()
	}
	return cfg, err
}

// open opens the registry the flags or the config name; it must exist.
func (c *registryCmd) open() error {
	root := c.root
	if root == "" {
		cfg, err := c.config()
		if err != nil {
			return err
		}
		root = cfg.Registry.Root
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("registry %s does not exist: train a model into it (`infergate train --demo --registry %s`), or name another with --registry", root, root)
	}
	store, err := registry.Open(root)
	if err != nil {
		return err
	}
	c.store = store
	return nil
}

// out writes v as indented JSON.
func (c *registryCmd) out(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *registryCmd) list() error {
	if err := c.want(0, 0, "no arguments"); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	models, err := c.store.List()
	if err != nil {
		return err
	}
	if c.json {
		return c.out(models)
	}
	if len(models) == 0 {
		_, err := fmt.Fprintf(c.stdout, "registry %s holds no model: train one with `infergate train`\n", c.store.Root())
		return err
	}
	t := newTable(c.stdout, "MODEL", "VERSIONS", "LATEST", "ALIASES")
	for _, m := range models {
		t.row(m.Name, strconv.Itoa(len(m.Versions)), m.Versions[len(m.Versions)-1], aliasList(m.Aliases))
	}
	return t.flush()
}

func (c *registryCmd) alias() error {
	if err := c.want(3, 3, "MODEL ALIAS VERSION"); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	model, alias, version := c.args[0], c.args[1], c.args[2]
	res, err := c.store.Promote(model, version, alias, registry.PromoteOptions{By: c.by, Reason: c.reason})
	if err != nil {
		return err
	}
	return c.printPromotion(res)
}

func (c *registryCmd) promote() error {
	if err := c.want(2, 2, "MODEL VERSION"); err != nil {
		return err
	}
	if c.override && !c.gate {
		return c.misuse("--override needs --gate: it promotes although the gate refuses")
	}
	if c.override && strings.TrimSpace(c.reason) == "" {
		return c.misuse("--override needs --reason TEXT: the alias log records why the gate was overridden")
	}
	if err := c.open(); err != nil {
		return err
	}
	res, err := c.store.Promote(c.args[0], c.args[1], c.aliasName, registry.PromoteOptions{
		Gate: c.gate, Override: c.override, Reason: c.reason, By: c.by,
	})
	if err != nil {
		if res != nil && res.Gate != nil {
			if perr := c.printPromotion(res); perr != nil {
				return errors.Join(err, perr)
			}
		}
		return err
	}
	return c.printPromotion(res)
}

// printPromotion prints the gate's verdict, if any, and the move.
func (c *registryCmd) printPromotion(res *registry.PromoteResult) error {
	if c.json {
		return c.out(res)
	}
	if g := res.Gate; g != nil {
		verdict := "passed"
		switch {
		case res.Overridden:
			verdict = "refused, overridden with --reason"
		case !g.Passed:
			verdict = "refused"
		}
		if _, err := fmt.Fprintf(c.stdout, "gate %s: %s\n", verdict, g.Message); err != nil {
			return err
		}
		if len(g.Metrics) > 0 {
			t := newTable(c.stdout, "METRIC", res.Move.To, g.Baseline+" ("+res.Move.Alias+")", "")
			for _, m := range g.Metrics {
				verdict := "worse"
				if m.OK {
					verdict = "ok"
				}
				t.row(m.Name, strconv.FormatFloat(m.Candidate, 'g', 6, 64), strconv.FormatFloat(m.Baseline, 'g', 6, 64), verdict)
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		if !g.Passed && !res.Overridden {
			return nil
		}
	}
	return c.printMove(res.Model, &res.Move, res.Changed)
}

func (c *registryCmd) printMove(model string, m *registry.AliasMove, changed bool) error {
	var err error
	if !changed {
		_, err = fmt.Fprintf(c.stdout, "%s of %s already names %s: nothing changed\n", m.Alias, model, m.To)
	} else {
		_, err = fmt.Fprintf(c.stdout, "%s of %s: %s → %s (%s)\n", m.Alias, model, cmp.Or(m.From, "unset"), m.To, m.Op)
	}
	return err
}

func (c *registryCmd) rollback() error {
	if err := c.want(1, 1, "MODEL"); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	m, err := c.store.Rollback(c.args[0], c.aliasName, registry.RollbackOptions{By: c.by, Reason: c.reason})
	if err != nil {
		return err
	}
	if c.json {
		return c.out(m)
	}
	return c.printMove(c.args[0], m, true)
}

func (c *registryCmd) delete() error {
	if err := c.want(2, 2, "MODEL VERSION"); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	model, version := c.args[0], c.args[1]
	if err := c.store.Delete(model, version); err != nil {
		return err
	}
	if c.json {
		return c.out(map[string]string{"model": model, "deleted": version})
	}
	_, err := fmt.Fprintf(c.stdout, "deleted %s@%s\n", model, version)
	return err
}

func (c *registryCmd) tag() error {
	if err := c.want(3, -1, "MODEL VERSION KEY=VALUE..."); err != nil {
		return err
	}
	tags := make(map[string]string, len(c.args)-2)
	for _, kv := range c.args[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c.misuse("tag %q: write KEY=VALUE, or KEY= to remove the tag", kv)
		}
		tags[k] = v
	}
	if err := c.open(); err != nil {
		return err
	}
	v, err := c.store.SetTags(c.args[0], c.args[1], tags)
	if err != nil {
		return err
	}
	if c.json {
		if v.Tags == nil {
			v.Tags = map[string]string{}
		}
		return c.out(v.Tags)
	}
	_, err = fmt.Fprintf(c.stdout, "%s@%s tags: %s\n", v.Model, v.Version, cmp.Or(tagList(v.Tags), "none"))
	return err
}

func (c *registryCmd) gc() error {
	if err := c.want(0, 0, "no arguments"); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	removed, err := c.store.RemoveStale(c.olderThan)
	if c.json {
		if removed == nil {
			removed = []string{}
		}
		if jerr := c.out(removed); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	for _, p := range removed {
		if _, werr := fmt.Fprintln(c.stdout, "removed", p); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "removed %d temporary entries left by interrupted writes\n", len(removed))
	return err
}

// metric formats a metric, "-" when absent.
func metric(m map[string]float64, name string) string {
	v, ok := m[name]
	if !ok {
		return "-"
	}
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// aliasList writes aliases as "production=1.0.0, staging=1.1.0".
func aliasList(aliases map[string]string) string {
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		parts = append(parts, a+"="+aliases[a])
	}
	return strings.Join(parts, ", ")
}

// tagList writes tags as "owner=ana,stage=qa".
func tagList(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

// table writes aligned columns; its first row is the header, if any.
type table struct {
	tw  *tabwriter.Writer
	err error
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
	}
}

func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}
