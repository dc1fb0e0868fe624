package rules_test

import (
	"math"
	"strings"
	"testing"
	"unicode"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router/rules"
)

// FuzzCompile checks that Compile never panics, that it reports a bad
// condition as one line under the condition's path, and that a condition it
// accepts evaluates on requests of every kind.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"tenure_months < 6", "x<=6", "x > -2.5", "x >= 1e3", "x == .5", "x != +4",
		"contract == month-to-month", `contract != "two year"`, `contract == 'say "yes"'`, `x == ""`,
		`plan in [a, "b c", 3, 'd,e']`, "plan not in[a]", "x is missing", "x is present",
		"größe > 1", "user.age-years_2 >= 18", "  x \t==\n y  ",
		"", "< 6", "$x < 6", "user/id < 6", "x", "x =< 6", "x = 6", "x ~ 6", "x not [1]", "x is gone",
		"x is missing 5", "x <", "x < [1]", "x < abc", `x < "5"`, "x == [1]", "x in a", "x in []",
		"x in [a, b", "x in [a,]", "x in [a b]", "x in [[a]]", `x == "abc`, "x == NaN", "x < inf",
		"x == -Inf", "x == 1e400", "x == 12abc", "x == 0x10", "x == 1_000", "x == a b", "x in [a] b",
		"\xff < 1", "x == \xff", "x in [\"\xff\"]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		s, err := rules.Compile([]rules.Rule{{When: []string{cond}, Probability: probability(0.5)}})
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "rules[0].when[0]: ") || strings.Contains(msg, "\n") {
				t.Fatalf("Compile(%q): want one line under rules[0].when[0], got:\n%s", cond, msg)
			}
			return
		}
		names := s.Features()
		if len(names) != 1 || names[0] == "" ||
			!strings.HasPrefix(strings.TrimLeftFunc(cond, unicode.IsSpace), names[0]) {
			t.Fatalf("Compile(%q): Features = %q, want the name the condition starts with", cond, names)
		}
		name := []byte(names[0])

		// Only "is missing" matches a request without the feature.
		fields := strings.Fields(cond)
		isMissing := len(fields) >= 2 && fields[len(fields)-2] == "is" && fields[len(fields)-1] == "missing"
		if _, ok := s.Eval(&features.Set{}); ok != isMissing {
			t.Fatalf("Eval(%q) without the feature: got %v, want %v", cond, ok, isMissing)
		}

		var req features.Set
		for _, x := range []float64{0, math.Copysign(0, -1), -1.5, 6, 1e300, math.NaN(), math.Inf(1)} {
			req.Reset()
			req.AddNumber(name, x)
			s.Eval(&req)
		}
		for _, v := range []string{"", "a", "month-to-month", "6", "\xff", cond} {
			req.Reset()
			req.AddString(name, []byte(v))
			s.Eval(&req)
		}
	})
}
