package rules

import (
	"errors"
	"fmt"
	"slices"

	"github.com/infergate/infergate/internal/features"
)

// Rule is one rule as written in the config.
type Rule struct {
	// When lists conditions that must all hold, such as "tenure_months < 6"
	// (see the package documentation for the grammar). An empty list matches
	// every request: a catch-all, which must come last.
	When []string `yaml:"when"`
	// Prediction is the label answered. Default: none, and the router labels
	// Probability with the thresholds of the route's primary model.
	Prediction string `yaml:"prediction"`
	// Probability is the probability answered, between 0 and 1. Required.
	Probability *float64 `yaml:"probability"`
}

// Match is the rule that matched and its answer.
type Match struct {
	// Index is the rule's position in the list given to Compile.
	Index int
	// Prediction is the rule's label, empty when the config gave none.
	Prediction string
	// Probability is the rule's probability, in [0, 1].
	Probability float64
}

// Set is a compiled, immutable rule list, safe for concurrent use.
type Set struct {
	rules    []compiledRule
	features []string // sorted, unique
}

type compiledRule struct {
	conditions []condition
	match      Match
}

// Compile checks and compiles rules. It reports every problem at once, one
// per line, each starting with its path relative to the list
// ("rules[1].when[0]: …"), so that the caller only prefixes the route's path.
func Compile(rules []Rule) (*Set, error) {
	if len(rules) == 0 {
		return nil, errors.New("rules: at least one rule is required")
	}
	var errs []error
	s := &Set{rules: make([]compiledRule, len(rules))}
	catchAll := -1
	for i := range rules {
		r := &rules[i]
		cr := &s.rules[i]
		cr.match = Match{Index: i, Prediction: r.Prediction}
		if catchAll >= 0 {
			errs = append(errs, fmt.Errorf("rules[%d]: never matches, because rules[%d] before it has no conditions and matches every request; move the catch-all last or remove this rule", i, catchAll))
		} else if len(r.When) == 0 {
			catchAll = i
		}
		cr.conditions = make([]condition, 0, len(r.When))
		for j, text := range r.When {
			c, err := parseCondition(text)
			if err != nil {
				errs = append(errs, fmt.Errorf("rules[%d].when[%d]: %w", i, j, err))
				continue
			}
			cr.conditions = append(cr.conditions, c)
			s.features = append(s.features, c.feature)
		}
		switch p := r.Probability; {
		case p == nil:
			errs = append(errs, fmt.Errorf("rules[%d].probability: required: a number between 0 and 1", i))
		case !(*p >= 0 && *p <= 1): // written so that NaN fails too
			errs = append(errs, fmt.Errorf("rules[%d].probability: must be between 0 and 1, got %v", i, *p))
		default:
			cr.match.Probability = *p
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(s.features)
	s.features = slices.Compact(s.features)
	return s, nil
}

// Eval returns the first rule whose conditions all hold for f, and false when
// none does. It does not allocate, and keeps nothing of f.
func (s *Set) Eval(f *features.Set) (Match, bool) {
	for i := range s.rules {
		r := &s.rules[i]
		if r.holds(f) {
			return r.match, true
		}
	}
	return Match{}, false
}

func (r *compiledRule) holds(f *features.Set) bool {
	for i := range r.conditions {
		if !r.conditions[i].holds(f) {
			return false
		}
	}
	return true
}

// Features returns the names of the features the rules read, sorted and
// unique, so that the router can check at load time that some model's
// signature has them. The caller may modify the slice.
func (s *Set) Features() []string {
	return slices.Clone(s.features)
}
