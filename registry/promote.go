package registry

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// gateMetrics are the held-out metrics the promotion gate compares, in
// order, and whether a higher value is better (the trainer's Metrics names).
type gateMetric struct {
	Name           string
	HigherIsBetter bool
}

// gateMetrics are the metrics the gate compares for each task (by the
// candidate's signature): a binary classifier's AUC and log loss, a
// multi-class one's log loss and accuracy, a regression's RMSE and MAE.
var gateMetrics = map[string][]gateMetric{
	TaskBinary:     {{"auc", true}, {"log_loss", false}},
	TaskMulticlass: {{"log_loss", false}, {"accuracy", true}},
	TaskRegression: {{"rmse", false}, {"mae", false}},
}

// GateMetrics names the held-out metrics the promotion gate compares for
// task (Signature.Task), in order; nil for a task it does not gate.
func GateMetrics(task string) []string {
	var names []string
	for _, m := range gateMetrics[task] {
		names = append(names, m.Name)
	}
	return names
}

// PromoteOptions control Promote.
type PromoteOptions struct {
	// Gate requires the candidate's held-out metrics — for a binary
	// classifier "auc" (higher is better) and "log_loss" (lower is better),
	// for a multi-class one "log_loss" and "accuracy", for a regression
	// "rmse" and "mae" (lower is better) — to be at least as good as
	// those of the version the alias names now, measured on the same
	// held-out data (Lineage.HeldOutID). An unset alias passes.
	Gate bool
	// Override promotes although the gate refuses; Reason is then required
	// and is recorded with the gate's verdict.
	Override bool
	// Reason is recorded in the alias log.
	Reason string
	// By says who promotes (a user, "canary"), for the alias log.
	By string
}

// PromoteResult is what Promote did.
type PromoteResult struct {
	Model string `json:"model"`
	// Move is the alias move: Alias, From (the version it named before), To;
	// when the gate refused, the move it refused.
	Move AliasMove `json:"move"`
	// Changed is false when the alias already named the version.
	Changed bool `json:"changed"`
	// Gate is the gate's verdict; nil when the promotion was not gated.
	Gate *GateVerdict `json:"gate,omitempty"`
	// Overridden is true when the gate refused and Override promoted anyway.
	Overridden bool `json:"overridden,omitempty"`
}

// GateVerdict is the promotion gate's comparison of a candidate version with
// the version the alias names (the baseline).
type GateVerdict struct {
	Passed bool `json:"passed"`
	// Baseline is the version compared with; "" when the alias was unset.
	Baseline string `json:"baseline,omitempty"`
	// Metrics compared, auc then log_loss; empty when the versions could
	// not be compared.
	Metrics []MetricComparison `json:"metrics,omitempty"`
	// Message says why the gate passed or refused, in a sentence.
	Message string `json:"message"`
}

// MetricComparison is one metric of a gate verdict.
type MetricComparison struct {
	Name           string  `json:"name"`
	Candidate      float64 `json:"candidate"`
	Baseline       float64 `json:"baseline"`
	HigherIsBetter bool    `json:"higher_is_better"`
	// OK is true when the candidate is at least as good.
	OK bool `json:"ok"`
}

// Promote points alias (default ProductionAlias) at version and records the
// move (OpPromote, opts.By, opts.Reason and the gate's verdict) in the alias
// log. With opts.Gate it first compares the candidate with the version the
// alias names (see PromoteOptions.Gate): when the candidate is worse, or the
// two cannot be compared (no common held-out data, a missing metric), it
// fails with ErrGateRefused and returns the verdict in the result, unless
// opts.Override is set, which requires a Reason.
func (s *Store) Promote(model, version, alias string, opts PromoteOptions) (*PromoteResult, error) {
	alias = cmp.Or(alias, ProductionAlias)
	if err := ValidateAliasName(alias); err != nil {
		return nil, fmt.Errorf("cannot promote in model %q: %w", model, err)
	}
	if opts.Override && strings.TrimSpace(opts.Reason) == "" {
		return nil, fmt.Errorf("cannot promote %s@%s to %s: an override needs a reason, which the alias log records", model, version, alias)
	}
	res := &PromoteResult{Model: model}
	m, changed, err := s.moveAlias(model, func(st *aliasState) (*AliasMove, error) {
		cand, err := s.Get(model, version)
		if err != nil {
			return nil, fmt.Errorf("cannot promote: %w", err)
		}
		m := &AliasMove{Alias: alias, To: version, Op: OpPromote, By: opts.By, Reason: opts.Reason}
		cur := st.aliases[alias]
		if !opts.Gate || cur == version {
			return m, nil
		}
		res.Gate = s.gate(model, alias, cand, cur)
		switch {
		case res.Gate.Passed:
			m.Gate = "passed: " + res.Gate.Message
		case opts.Override:
			res.Overridden = true
			m.Gate = "refused, overridden: " + res.Gate.Message
		default:
			m.From = cur
			res.Move = *m
			return nil, fmt.Errorf("cannot promote %s@%s to %s: %w: %s; promote with an override and a reason to record an exception",
				model, version, alias, ErrGateRefused, res.Gate.Message)
		}
		return m, nil
	})
	if m != nil {
		res.Move, res.Changed = *m, changed
	}
	if err != nil {
		if res.Gate != nil {
			return res, err
		}
		return nil, err
	}
	return res, nil
}

// gate compares cand with the version alias names now (baseline).
func (s *Store) gate(model, alias string, cand *Version, baseline string) *GateVerdict {
	v := &GateVerdict{Baseline: baseline}
	if baseline == "" {
		v.Passed = true
		v.Message = fmt.Sprintf("%s was unset: nothing to compare with", alias)
		return v
	}
	name := fmt.Sprintf("%s (%s)", baseline, alias)
	base, err := s.Get(model, baseline)
	if err != nil {
		v.Message = fmt.Sprintf("cannot read %s to compare with: %v", name, err)
		return v
	}
	candID, baseID := cand.Lineage.HeldOutID(), base.Lineage.HeldOutID()
	switch {
	case candID == "":
		v.Message = fmt.Sprintf("%s records no held-out data (lineage test_data_sha256 or data_sha256), so its metrics cannot be compared with %s", cand.Version, name)
		return v
	case baseID == "":
		v.Message = fmt.Sprintf("%s records no held-out data (lineage test_data_sha256 or data_sha256), so %s cannot be compared with it", name, cand.Version)
		return v
	case candID != baseID:
		v.Message = fmt.Sprintf("%s and %s were measured on different held-out data (%s, %s); evaluate both on the same test set",
			cand.Version, name, shortID(candID), shortID(baseID))
		return v
	}
	var worse, better []string
	task := cand.Signature.Task()
	metrics, ok := gateMetrics[task]
	if !ok {
		v.Message = fmt.Sprintf("%s has outputs infergate does not score (no probabilities, label or score): the gate has no metric to compare; promote without --gate", cand.Version)
		return v
	}
	if bt := base.Signature.Task(); bt != task {
		v.Message = fmt.Sprintf("%s is a %s model, %s a %s one: their metrics do not compare", cand.Version, task, name, cmp.Or(bt, "raw"))
		return v
	}
	for _, gm := range metrics {
		c, okC := cand.Metrics[gm.Name]
		b, okB := base.Metrics[gm.Name]
		switch {
		case !okC:
			v.Metrics = nil
			v.Message = fmt.Sprintf("%s has no %s metric to compare", cand.Version, gm.Name)
			return v
		case !okB:
			v.Metrics = nil
			v.Message = fmt.Sprintf("%s has no %s metric to compare", name, gm.Name)
			return v
		}
		mc := MetricComparison{Name: gm.Name, Candidate: c, Baseline: b, HigherIsBetter: gm.HigherIsBetter}
		op := "<="
		if gm.HigherIsBetter {
			mc.OK, op = c >= b, ">="
		} else {
			mc.OK = c <= b
		}
		v.Metrics = append(v.Metrics, mc)
		if mc.OK {
			better = append(better, fmt.Sprintf("%s %s %s %s", gm.Name, fmtMetric(c), op, fmtMetric(b)))
		} else {
			op = map[string]string{"<=": ">", ">=": "<"}[op]
			worse = append(worse, fmt.Sprintf("%s %s %s %s", gm.Name, fmtMetric(c), op, fmtMetric(b)))
		}
	}
	if len(worse) > 0 {
		v.Message = fmt.Sprintf("%s is worse than %s on the same held-out data: %s", cand.Version, name, strings.Join(worse, ", "))
		return v
	}
	v.Passed = true
	v.Message = fmt.Sprintf("%s is at least as good as %s on the same held-out data: %s", cand.Version, name, strings.Join(better, ", "))
	return v
}

func fmtMetric(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// shortID abbreviates a held-out data identity for a message.
func shortID(id string) string {
	kind, rest, _ := strings.Cut(id, ":")
	hash, params, _ := strings.Cut(rest, ";")
	if len(hash) > 12 {
		hash = hash[:12] + "…"
	}
	if params != "" {
		return kind + " " + hash + " " + params
	}
	return kind + " " + hash
}

// RollbackOptions control Rollback.
type RollbackOptions struct {
	// Reason and By are recorded in the alias log.
	Reason, By string
}

// Rollback moves alias (default ProductionAlias) back to the version it
// named before its last move, and records the move (OpRollback). Rollbacks
// stack: each undoes the latest move that no later rollback has undone, so
// two rollbacks after two promotions return to the version before both. It
// fails with ErrNoHistory when the log holds no earlier version, and with
// ErrNotFound when that version has been deleted.
func (s *Store) Rollback(model, alias string, opts RollbackOptions) (*AliasMove, error) {
	alias = cmp.Or(alias, ProductionAlias)
	if err := ValidateAliasName(alias); err != nil {
		return nil, fmt.Errorf("cannot roll back in model %q: %w", model, err)
	}
	m, _, err := s.moveAlias(model, func(st *aliasState) (*AliasMove, error) {
		undo, ok := rollbackTarget(st.history(alias))
		switch {
		case !ok:
			return nil, fmt.Errorf("cannot roll back alias %q of model %q: its log records no move to undo: %w", alias, model, ErrNoHistory)
		case undo.From == "":
			return nil, fmt.Errorf("cannot roll back alias %q of model %q: it was unset before it was pointed at %s (%s): %w",
				alias, model, undo.To, undo.Time.Format("2006-01-02T15:04:05Z07:00"), ErrNoHistory)
		}
		if _, err := s.Get(model, undo.From); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("cannot roll back alias %q of model %q to %s, the version it named before: %w", alias, model, undo.From, err)
			}
			return nil, fmt.Errorf("cannot roll back alias %q: %w", alias, err)
		}
		return &AliasMove{Alias: alias, To: undo.From, Op: OpRollback, By: opts.By, Reason: opts.Reason}, nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// rollbackTarget returns the move of one alias's history (oldest first) that
// a rollback undoes: the latest move not undone by a later rollback.
func rollbackTarget(history []AliasMove) (AliasMove, bool) {
	undone := 0
	for i := len(history) - 1; i >= 0; i-- {
		switch {
		case history[i].Op == OpRollback:
			undone++
		case undone > 0:
			undone--
		default:
			return history[i], true
		}
	}
	return AliasMove{}, false
}
