package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/score"
)

func (c *registryCmd) show() error {
	if err := c.want(1, 1, "MODEL, MODEL@ALIAS or MODEL:VERSION"); err != nil {
		return err
	}
	ref := c.args[0]
	if !strings.ContainsAny(ref, "@:") {
		if err := registry.ValidateModelName(ref); err != nil {
			return c.misuse("%w", err)
		}
		if err := c.open(); err != nil {
			return err
		}
		return c.showModel(ref)
	}
	model, version, err := score.ParseModelRef(ref)
	if err != nil {
		return c.misuse("%w", err)
	}
	if err := c.open(); err != nil {
		return err
	}
	v, err := c.store.Resolve(model, version)
	if err != nil {
		return err
	}
	aliases, err := c.store.Aliases(model)
	if err != nil {
		return err
	}
	names := versionAliases(aliases, v.Version)
	if c.json {
		return c.out(struct {
			*registry.Version
			Aliases []string `json:"aliases"`
		}{v, names})
	}
	return c.showVersion(v, names)
}

// showModel prints a model's versions, aliases and alias history.
func (c *registryCmd) showModel(model string) error {
	versions, err := c.store.Versions(model)
	if err != nil {
		return err
	}
	aliases, err := c.store.Aliases(model)
	if err != nil {
		return err
	}
	history, err := c.store.History(model, "")
	if err != nil {
		return err
	}
	metas := make([]*registry.Version, 0, len(versions))
	for _, v := range versions {
		meta, err := c.store.Get(model, v)
		if err != nil {
			return err
		}
		metas = append(metas, meta)
	}
	if c.json {
		return c.out(struct {
			Model    string               `json:"model"`
			Versions []*registry.Version  `json:"versions"`
			Aliases  map[string]string    `json:"aliases"`
			History  []registry.AliasMove `json:"history"`
		}{model, metas, aliases, history})
	}
	byVersion := map[string][]string{}
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		byVersion[aliases[a]] = append(byVersion[aliases[a]], a)
	}
	if _, err := fmt.Fprintf(c.stdout, "model %s: %d versions, aliases %s\n\n", model, len(versions), cmp.Or(aliasList(aliases), "none")); err != nil {
		return err
	}
	// The metrics the gate compares for the task of the latest version.
	var gated []string
	if len(metas) > 0 {
		gated = registry.GateMetrics(metas[len(metas)-1].Signature.Task())
	}
	header := []string{"VERSION", "CREATED"}
	for _, m := range gated {
		header = append(header, strings.ToUpper(m))
	}
	t := newTable(c.stdout, append(header, "PARENT", "ALIASES", "TAGS")...)
	for _, v := range metas {
		row := []string{v.Version, v.CreatedAt.UTC().Format(time.DateTime)}
		for _, m := range gated {
			row = append(row, metric(v.Metrics, m))
		}
		t.row(append(row, cmp.Or(v.Lineage.Parent, "-"), cmp.Or(strings.Join(byVersion[v.Version], ","), "-"), cmp.Or(tagList(v.Tags), "-"))...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(history) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(c.stdout, "\nalias history (oldest first):"); err != nil {
		return err
	}
	t = newTable(c.stdout, "TIME", "ALIAS", "FROM", "TO", "OP", "BY", "REASON")
	for _, m := range history {
		reason := m.Reason
		if m.Gate != "" {
			reason = strings.TrimSpace(reason + " [gate " + m.Gate + "]")
		}
		t.row(m.Time.UTC().Format(time.DateTime), m.Alias, cmp.Or(m.From, "-"), cmp.Or(m.To, "-"), m.Op, cmp.Or(m.By, "-"), cmp.Or(reason, "-"))
	}
	return t.flush()
}

// showVersion prints one version's metadata as a two-column table.
func (c *registryCmd) showVersion(v *registry.Version, aliases []string) error {
	t := newTable(c.stdout)
	t.row("model", v.Model)
	t.row("version", v.Version)
	t.row("aliases", cmp.Or(strings.Join(aliases, ", "), "-"))
	t.row("created", v.CreatedAt.UTC().Format(time.RFC3339))
	t.row("file", c.store.ModelPath(v.Model, v.Version))
	t.row("sha256", v.ModelSHA256)
	for _, k := range slices.Sorted(maps.Keys(v.Metrics)) {
		t.row("metric "+k, metric(v.Metrics, k))
	}
	l := &v.Lineage
	if l.TrainerVersion == registry.ImportedBy {
		t.row("imported from", cmp.Or(l.DataPath, "-"))
	} else {
		t.row("data", cmp.Or(l.DataPath, "-"))
		t.row("data sha256", cmp.Or(l.DataSHA256, "-"))
		t.row("held-out data", cmp.Or(l.HeldOutID(), "unknown (metrics cannot be gated)"))
		t.row("parent", cmp.Or(l.Parent, "-"))
		t.row("trainer", cmp.Or(l.TrainerVersion, "-"))
		t.row("code", cmp.Or(l.CodeVersion, "-"))
	}
	if !l.TrainedAt.IsZero() {
		t.row("trained", l.TrainedAt.UTC().Format(time.RFC3339))
	}
	for _, k := range slices.Sorted(maps.Keys(l.Params)) {
		t.row("param "+k, l.Params[k])
	}
	for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
		t.row("tag "+k, v.Tags[k])
	}
	sig := &v.Signature
	if sig.Tabular() {
		features := make([]string, len(sig.Features))
		for i, f := range sig.Features {
			features[i] = f.Name
			if f.Required {
				features[i] += "*"
			}
		}
		t.row("features", fmt.Sprintf("%d, %d tensor columns (* required): %s", len(features), sig.Width(), strings.Join(features, ", ")))
	}
	for _, in := range sig.InputSpecs() {
		t.row("input "+in.Name, tensorLine(in))
	}
	for _, o := range sig.OutputSpecs() {
		t.row("output "+o.Name, tensorLine(o.TensorSpec)+" "+outputMeaning(o))
	}
	if _, ok := v.Files[registry.DriftProfileFile]; ok {
		t.row("drift reference", registry.DriftProfileFile)
	} else {
		t.row("drift reference", "none (unmonitored)")
	}
	switch {
	case sig.Batched():
		t.row("batch", "along the first dimension")
	case sig.Batch == registry.BatchNone:
		t.row("batch", "none (the signature says so): every request runs alone")
	default:
		t.row("batch", "none (a tensor has no dynamic first dimension): every request runs alone")
	}
	for _, p := range sig.Pad {
		line := fmt.Sprintf("dimension %d to a multiple of %d with %g", p.Dim, p.ToMultipleOf, p.Value)
		for _, c := range p.Crop {
			line += fmt.Sprintf("; %s dimension %d cut to (n + %d) / %d", c.Output, c.Dim, c.Add, max(c.Divide, 1))
		}
		t.row("pad "+p.Input, line)
	}
	return t.flush()
}

// outputMeaning says what an output is for show: its kind, labels and
// thresholds.
func outputMeaning(o registry.OutputSpec) string {
	s := string(cmp.Or(o.Kind, registry.KindRaw))
	if len(o.Labels) > 0 {
		shown := o.Labels
		if len(shown) > 10 {
			shown = shown[:10]
		}
		s += " labels " + strings.Join(shown, ",")
		if len(o.Labels) > 10 {
			s += fmt.Sprintf(",… (%d in all)", len(o.Labels))
		}
	}
	for i, th := range o.Thresholds {
		if i == 0 {
			s += " thresholds"
		}
		s += fmt.Sprintf(" %s>=%g", th.Label, th.Min)
	}
	return s
}
