package rules_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router/rules"
)

func probability(p float64) *float64 { return &p }

// request builds a request's features from name, value pairs: a float64 value
// is a number, a string value a string.
func request(pairs ...any) *features.Set {
	var s features.Set
	for i := 0; i < len(pairs); i += 2 {
		name := []byte(pairs[i].(string))
		switch v := pairs[i+1].(type) {
		case float64:
			s.AddNumber(name, v)
		case string:
			s.AddString(name, []byte(v))
		default:
			panic(fmt.Sprintf("request: value %v of %s is neither float64 nor string", v, name))
		}
	}
	return &s
}

// holds compiles cond as the only condition of one rule and reports whether
// it matches req.
func holds(t *testing.T, cond string, req *features.Set) bool {
	t.Helper()
	s, err := rules.Compile([]rules.Rule{{When: []string{cond}, Probability: probability(0.5)}})
	if err != nil {
		t.Fatalf("Compile(%q): %v", cond, err)
	}
	_, ok := s.Eval(req)
	return ok
}

func TestOperators(t *testing.T) {
	t.Parallel()
	f := func(cond string, want bool, pairs ...any) {
		t.Helper()
		if got := holds(t, cond, request(pairs...)); got != want {
			t.Fatalf("%q with %v: got %v, want %v", cond, pairs, got, want)
		}
	}
	// Numeric comparisons, at and around their bound.
	f("tenure < 6", true, "tenure", 5.9)
	f("tenure < 6", false, "tenure", 6.0)
	f("tenure <= 6", true, "tenure", 6.0)
	f("tenure <= 6", false, "tenure", 6.1)
	f("tenure > 6", true, "tenure", 6.1)
	f("tenure > 6", false, "tenure", 6.0)
	f("tenure >= 6", true, "tenure", 6.0)
	f("tenure >= 6", false, "tenure", 5.9)

	// Whitespace around tokens is free, none included.
	f("tenure<6", true, "tenure", 5.0)
	f("tenure>=6", true, "tenure", 6.0)
	f("tenure==-6", true, "tenure", -6.0)
	f("  tenure \t<=\n 6  ", true, "tenure", 6.0)
	f("contract==month-to-month", true, "contract", "month-to-month")
	f("plan in[a,b]", true, "plan", "b")
	f("plan not in[a]", true, "plan", "b")
	f("plan   not   in   [ a ,b ]  ", false, "plan", "b")
	f("plan is   missing", true)
	f(" plan is present ", true, "plan", "a")

	// Number forms.
	f("x == -2.5", true, "x", -2.5)
	f("x == +4", true, "x", 4.0)
	f("x == .5", true, "x", 0.5)
	f("x == 1.", true, "x", 1.0)
	f("x == 1e3", true, "x", 1000.0)
	f("x == 1E-3", true, "x", 0.001)
	f("x == 2.5e+2", true, "x", 250.0)
	f("x == 6.0", true, "x", 6.0)
	f("x == 0", true, "x", math.Copysign(0, -1))
	f("x < 1e-400", false, "x", 0.0) // underflows to 0, which is not below 0
	f("x > -1e308", true, "x", -1e307)

	// == and != with a number, a bare word, quoted strings.
	f("x == 6", true, "x", 6.0)
	f("x == 6", false, "x", 7.0)
	f("x != 6", true, "x", 7.0)
	f("x != 6", false, "x", 6.0)
	f("contract == month-to-month", true, "contract", "month-to-month")
	f("contract == month-to-month", false, "contract", "Month-to-month")
	f("contract != month-to-month", true, "contract", "one_year")
	f("contract != month-to-month", false, "contract", "month-to-month")
	f(`contract == "two year"`, true, "contract", "two year")
	f(`contract == 'two year'`, true, "contract", "two year")
	f(`contract == "it's"`, true, "contract", "it's")
	f(`contract == 'say "yes"'`, true, "contract", `say "yes"`)
	f(`contract == "a, [b] <= c"`, true, "contract", "a, [b] <= c")
	f(`contract == ""`, true, "contract", "")
	f(`contract == ''`, false, "contract", " ")
	f(`contract == "6"`, true, "contract", "6")
	f(`contract == Zürich`, true, "contract", "Zürich")
	f(`contract == in`, true, "contract", "in") // operator words are plain words as values
	f(`contract == 'NaN'`, true, "contract", "NaN")

	// in and not in, with lists that mix kinds.
	const list = `plan in [a, "b c", 3, 'd,e']`
	f(list, true, "plan", "a")
	f(list, true, "plan", "b c")
	f(list, true, "plan", "d,e")
	f(list, true, "plan", 3.0)
	f(list, false, "plan", "3")
	f(list, false, "plan", "A")
	f(list, false, "plan", 4.0)
	const notList = `plan not in [a, "b c", 3]`
	f(notList, false, "plan", "a")
	f(notList, false, "plan", "b c")
	f(notList, false, "plan", 3.0)
	f(notList, true, "plan", "3")
	f(notList, true, "plan", 4.0)
	f("plan in [a]", true, "plan", "a")
	f("plan in [1, 2, 2]", true, "plan", 2.0)

	// is missing and is present.
	f("plan is missing", true)
	f("plan is missing", true, "other", "a")
	f("plan is missing", false, "plan", "")
	f("plan is missing", false, "plan", 0.0)
	f("plan is present", false)
	f("plan is present", true, "plan", "")
	f("plan is present", true, "plan", 0.0)

	// Feature names: letters (any script), digits, _, - and .
	f("größe > 1", true, "größe", 2.0)
	f("user.age-years_2 >= 18", true, "user.age-years_2", 18.0)
	f("2x == 1", true, "2x", 1.0)
}

// A feature the request lacks fails every operator but "is missing",
// negative ones included.
func TestMissingFeatures(t *testing.T) {
	t.Parallel()
	for _, req := range []*features.Set{request(), request("other", 1.0, "other2", "a")} {
		for _, cond := range []string{
			"x < 6", "x <= 6", "x > 6", "x >= 6",
			"x == 6", "x != 6", "x == a", "x != a",
			"x in [a, 6]", "x not in [a, 6]", "x is present",
		} {
			if holds(t, cond, req) {
				t.Errorf("%q holds without x", cond)
			}
		}
		if !holds(t, "x is missing", req) {
			t.Error(`"x is missing" fails without x`)
		}
	}
}

// Values are compared by kind without coercion: a condition with no value of
// the feature's kind fails, != and not in included.
func TestKindMismatch(t *testing.T) {
	t.Parallel()
	f := func(cond string, want bool, value any) {
		t.Helper()
		if got := holds(t, cond, request("x", value)); got != want {
			t.Fatalf("%q with x=%#v: got %v, want %v", cond, value, got, want)
		}
	}
	for _, cond := range []string{"x < 6", "x <= 6", "x > 6", "x >= 6"} {
		f(cond, false, "5")
		f(cond, false, "6")
		f(cond, false, "7")
	}
	f("x == 6", false, "6")
	f("x != 6", false, "6")
	f("x != 6", false, "7")
	f("x == a", false, 6.0)
	f("x != a", false, 6.0)
	f(`x != "6"`, false, 6.0)
	f("x in [6, 7]", false, "6")
	f("x not in [6, 7]", false, "8")
	f("x in [a, b]", false, 6.0)
	f("x not in [a, b]", false, 6.0)
	// A mixed list compares the feature with the elements of its kind.
	f("x not in [a, 6]", true, 7.0)
	f("x not in [a, 6]", true, "b")
	f("x not in [a, 6]", true, "6") // the string "6" is not the number 6
	f("x not in [a, 6]", false, "a")
	f("x not in [a, 6]", false, 6.0)
}

func TestRepeatedFeatureHasLastValue(t *testing.T) {
	t.Parallel()
	req := request("x", 1.0, "x", "ten", "x", 10.0)
	if !holds(t, "x > 5", req) || holds(t, "x == ten", req) {
		t.Fatal("a repeated feature must have its last value")
	}
}

func TestEvalOrder(t *testing.T) {
	t.Parallel()
	s, err := rules.Compile([]rules.Rule{
		{When: []string{"contract == month-to-month", "tenure < 6"}, Prediction: "churn", Probability: probability(0.9)},
		{When: []string{"contract == month-to-month"}, Prediction: "churn", Probability: probability(0.6)},
		{When: []string{"tenure < 6"}, Probability: probability(0.4)},
		{Prediction: "stay", Probability: probability(0.1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := func(req *features.Set, want rules.Match) {
		t.Helper()
		got, ok := s.Eval(req)
		if !ok || got != want {
			t.Fatalf("Eval: got %+v, %v; want %+v, true", got, ok, want)
		}
	}
	// Rules 0, 1 and 2 all hold: the first wins.
	f(request("contract", "month-to-month", "tenure", 2.0), rules.Match{Index: 0, Prediction: "churn", Probability: 0.9})
	f(request("contract", "month-to-month", "tenure", 12.0), rules.Match{Index: 1, Prediction: "churn", Probability: 0.6})
	f(request("contract", "month-to-month"), rules.Match{Index: 1, Prediction: "churn", Probability: 0.6})
	f(request("contract", "one_year", "tenure", 2.0), rules.Match{Index: 2, Probability: 0.4})
	f(request("contract", "one_year", "tenure", 12.0), rules.Match{Index: 3, Prediction: "stay", Probability: 0.1})
	f(request(), rules.Match{Index: 3, Prediction: "stay", Probability: 0.1})

	// Without a catch-all, a request may match nothing.
	s, err = rules.Compile([]rules.Rule{{When: []string{"tenure < 6"}, Probability: probability(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Eval(request("tenure", 6.0)); ok || m != (rules.Match{}) {
		t.Fatalf("Eval: got %+v, %v; want no match", m, ok)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	f := func(rs []rules.Rule, wantLines ...string) {
		t.Helper()
		s, err := rules.Compile(rs)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want := strings.Join(wantLines, "\n"); got != want {
			t.Fatalf("Compile(%+v):\ngot:\n%s\nwant:\n%s", rs, got, want)
		}
		if (err == nil) != (s != nil) {
			t.Fatalf("Compile returned set %v with error %v", s, err)
		}
	}
	// cond checks the error of one condition, the second of its rule.
	cond := func(text, wantErr string) {
		t.Helper()
		f([]rules.Rule{{When: []string{"ok is present", text}, Probability: probability(0.5)}},
			"rules[0].when[1]: "+wantErr)
	}
	const ops = "; use one of <, <=, >, >=, ==, !=, in, not in, is missing, is present"
	const names = "; feature names are made of letters, digits, _, - and ."
	const notNumber = "; write a decimal number such as -2.5 or 1e3, or quote it to compare with the string"

	f(nil, "rules: at least one rule is required")
	f([]rules.Rule{}, "rules: at least one rule is required")
	f([]rules.Rule{{Probability: probability(0)}, {Probability: probability(1)}},
		"rules[1]: never matches, because rules[0] before it has no conditions and matches every request; move the catch-all last or remove this rule")

	// Probability.
	f([]rules.Rule{{}}, "rules[0].probability: required: a number between 0 and 1")
	f([]rules.Rule{{Probability: probability(-0.1)}}, "rules[0].probability: must be between 0 and 1, got -0.1")
	f([]rules.Rule{{Probability: probability(1.5)}}, "rules[0].probability: must be between 0 and 1, got 1.5")
	f([]rules.Rule{{Probability: probability(math.NaN())}}, "rules[0].probability: must be between 0 and 1, got NaN")
	f([]rules.Rule{{Probability: probability(math.Inf(1))}}, "rules[0].probability: must be between 0 and 1, got +Inf")

	// Feature names.
	cond("", `empty condition; a condition reads FEATURE OP VALUE, such as "tenure_months < 6", or remove it`)
	cond(" \t ", `empty condition; a condition reads FEATURE OP VALUE, such as "tenure_months < 6", or remove it`)
	cond("< 6", `missing feature name in "< 6"; a condition reads FEATURE OP VALUE, such as "tenure_months < 6"`)
	cond("$x < 6", `feature name starts with "$" in "$x < 6"`+names)
	cond(`"x" < 6`, `feature name starts with "\"" in "\"x\" < 6"`+names)
	cond("\xff < 6", `feature name starts with "\xff" in "\xff < 6"`+names)
	cond("user/id < 6", `unexpected "/" after feature name "user" in "user/id < 6"`+names)

	// Operators.
	cond("tenure", `missing operator in "tenure"`+ops)
	cond("tenure  ", `missing operator in "tenure  "`+ops)
	cond("tenure_months =< 6", `unknown operator "=<" in "tenure_months =< 6"`+ops)
	cond("tenure = 6", `unknown operator "=" in "tenure = 6"`+ops)
	cond("tenure === 6", `unknown operator "===" in "tenure === 6"`+ops)
	cond("tenure ~ 6", `unknown operator "~" in "tenure ~ 6"`+ops)
	cond("tenure IN [1]", `unknown operator "IN" in "tenure IN [1]"`+ops)
	cond("tenure not [1]", `unknown operator "not" in "tenure not [1]"`+ops)
	cond("tenure notin [1]", `unknown operator "notin" in "tenure notin [1]"`+ops)
	cond("tenure is", `unknown operator "is" in "tenure is"`+ops)
	cond("tenure is gone", `unknown operator "is gone" in "tenure is gone"`+ops)
	cond("tenure is missing 5", `unexpected "5" after "is missing" in "tenure is missing 5"; is missing and is present take no value`)
	cond("tenure is present x", `unexpected "x" after "is present" in "tenure is present x"; is missing and is present take no value`)

	// Values.
	cond("tenure <", `missing value after "<" in "tenure <"; write a number such as 6`)
	cond("tenure >= ", `missing value after ">=" in "tenure >= "; write a number such as 6`)
	cond("tenure ==", `missing value after "==" in "tenure =="; write a number, a quoted string or a bare word`)
	cond("tenure not in", `missing value after "not in" in "tenure not in"; write a list such as [a, "b c", 3]`)
	cond("tenure < [1]", `a list after "<" in "tenure < [1]"; "<" compares with one number, such as 6`)
	cond("tenure < abc", `"<" compares numbers, but abc is a string in "tenure < abc"; write a number such as 6`)
	cond(`tenure > "5"`, `">" compares numbers, but "5" is a string in "tenure > \"5\""; write a number such as 6`)
	cond("tenure != [1]", `a list after "!=" in "tenure != [1]"; "!=" compares with one value; use in or not in for a list`)
	cond("tenure in a", `"in" needs a list in brackets in "tenure in a"; write a list such as [a, "b c", 3]`)
	cond("tenure == a b", `unexpected "b" after the value in "tenure == a b"; a condition has one value, so quote a string that contains spaces, such as "month to month"`)
	cond("tenure == 'a' b", `unexpected "b" after the value in "tenure == 'a' b"; a condition has one value, so quote a string that contains spaces, such as "month to month"`)
	cond("tenure == ]", `unexpected "]" where a value belongs in "tenure == ]"; write a number, a quoted string or a bare word`)
	cond("tenure == =5", `unexpected "=" where a value belongs in "tenure == =5"; write a number, a quoted string or a bare word`)
	cond(`tenure == "abc`, `unterminated string in "tenure == \"abc"; close it with "`)
	cond(`tenure == 'it"s`, `unterminated string in "tenure == 'it\"s"; close it with '`)

	// Numbers.
	cond("tenure == NaN", `NaN is not a finite number in "tenure == NaN"; use a finite number, or quote it ('NaN') to compare with the string`)
	cond("tenure < inf", `inf is not a finite number in "tenure < inf"; use a finite number, or quote it ('inf') to compare with the string`)
	cond("tenure != Infinity", `Infinity is not a finite number in "tenure != Infinity"; use a finite number, or quote it ('Infinity') to compare with the string`)
	cond("tenure == -Inf", `-Inf is not a number in "tenure == -Inf"`+notNumber)
	cond("tenure == 1e400", `1e400 is out of range in "tenure == 1e400"; use a finite number`)
	cond("tenure > -1e400", `-1e400 is out of range in "tenure > -1e400"; use a finite number`)
	cond("tenure == 12abc", `12abc is not a number in "tenure == 12abc"`+notNumber)
	cond("tenure == 0x10", `0x10 is not a number in "tenure == 0x10"`+notNumber)
	cond("tenure == 1_000", `1_000 is not a number in "tenure == 1_000"`+notNumber)
	cond("tenure == 1.2.3", `1.2.3 is not a number in "tenure == 1.2.3"`+notNumber)
	cond("tenure == 1e", `1e is not a number in "tenure == 1e"`+notNumber)
	cond("tenure == -", `- is not a number in "tenure == -"`+notNumber)

	// Lists.
	cond("tenure in []", `empty list in "tenure in []"; "in" needs at least one value, such as [a, "b c", 3]`)
	cond("tenure not in [ ]", `empty list in "tenure not in [ ]"; "not in" needs at least one value, such as [a, "b c", 3]`)
	cond("tenure in [a, b", `unterminated list in "tenure in [a, b"; close it with ]`)
	cond("tenure in [a,", `unterminated list in "tenure in [a,"; close it with ]`)
	cond("tenure in [", `unterminated list in "tenure in ["; close it with ]`)
	cond("tenure in [a,]", `missing value before "]" in "tenure in [a,]"; write a value between the commas, or remove the extra comma`)
	cond("tenure in [,a]", `missing value before "," in "tenure in [,a]"; write a value between the commas, or remove the extra comma`)
	cond("tenure in [a,,b]", `missing value before "," in "tenure in [a,,b]"; write a value between the commas, or remove the extra comma`)
	cond("tenure in [a b]", `missing comma before "b]" in "tenure in [a b]"; separate the values with commas, and quote a string that contains spaces`)
	cond("tenure in [[a]]", `list inside a list in "tenure in [[a]]"; list elements are numbers or strings`)
	cond("tenure in [a, 'b]", `unterminated string in "tenure in [a, 'b]"; close it with '`)
	cond("tenure in [NaN]", `NaN is not a finite number in "tenure in [NaN]"; use a finite number, or quote it ('NaN') to compare with the string`)
	cond("tenure in [1, 2x]", `2x is not a number in "tenure in [1, 2x]"`+notNumber)
	cond("tenure in [a] b", `unexpected "b" after the list in "tenure in [a] b"; a condition ends with its list; write another test as a condition of its own`)

	// Every problem is reported at once, one per line, in config order.
	f([]rules.Rule{
		{When: []string{"a < 1", "b =< 2"}, Probability: probability(0.5)},
		{When: []string{"c in []", "ok is present", "d"}},
		{Probability: probability(0.1)},
		{When: []string{"e == 1"}, Probability: probability(2)},
	},
		`rules[0].when[1]: unknown operator "=<" in "b =< 2"`+ops,
		`rules[1].when[0]: empty list in "c in []"; "in" needs at least one value, such as [a, "b c", 3]`,
		`rules[1].when[2]: missing operator in "d"`+ops,
		"rules[1].probability: required: a number between 0 and 1",
		"rules[3]: never matches, because rules[2] before it has no conditions and matches every request; move the catch-all last or remove this rule",
		"rules[3].probability: must be between 0 and 1, got 2",
	)
}

func TestFeatures(t *testing.T) {
	t.Parallel()
	s, err := rules.Compile([]rules.Rule{
		{When: []string{"tenure < 6", "contract == month-to-month", "tenure > 1"}, Probability: probability(0.9)},
		{When: []string{"b.x is missing", "contract in [a]"}, Probability: probability(0.5)},
		{Probability: probability(0.1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b.x", "contract", "tenure"}
	got := s.Features()
	if !slices.Equal(got, want) {
		t.Fatalf("Features: got %q, want %q", got, want)
	}
	got[0] = "changed"
	if got := s.Features(); !slices.Equal(got, want) {
		t.Fatalf("Features after the caller changed its slice: got %q, want %q", got, want)
	}

	s, err = rules.Compile([]rules.Rule{{Probability: probability(0.1)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Features(); len(got) != 0 {
		t.Fatalf("Features of a catch-all: got %q, want none", got)
	}
}

// The config decodes into Rule by the YAML names the documentation uses.
func TestDecodeYAML(t *testing.T) {
	t.Parallel()
	const config = `
- when: ["contract == month-to-month", "tenure_months < 6"]
  prediction: churn
  probability: 0.85
- when:
    - monthly_charges is missing
  probability: 0.5
- probability: 0
`
	var rs []rules.Rule
	dec := yaml.NewDecoder(strings.NewReader(config))
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		t.Fatal(err)
	}
	s, err := rules.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	f := func(req *features.Set, want rules.Match) {
		t.Helper()
		if got, ok := s.Eval(req); !ok || got != want {
			t.Fatalf("Eval: got %+v, %v; want %+v", got, ok, want)
		}
	}
	f(request("contract", "month-to-month", "tenure_months", 3.0, "monthly_charges", 70.0),
		rules.Match{Index: 0, Prediction: "churn", Probability: 0.85})
	f(request("contract", "month-to-month", "tenure_months", 3.0), rules.Match{Index: 0, Prediction: "churn", Probability: 0.85})
	f(request("tenure_months", 3.0), rules.Match{Index: 1, Probability: 0.5})
	// probability: 0 is set, not missing.
	f(request("monthly_charges", 70.0), rules.Match{Index: 2})
}

func TestEvalDoesNotAllocate(t *testing.T) {
	s, err := rules.Compile([]rules.Rule{
		{When: []string{"tenure < 6", "contract == month-to-month"}, Probability: probability(0.9)},
		{When: []string{"contract not in [one_year, 'two year', 3]", "charges >= 70.5", "partner is missing"}, Probability: probability(0.7)},
		{When: []string{"payment in [a, b, electronic_check]", "contract != x", "tenure is present"}, Probability: probability(0.6)},
		{Probability: probability(0.1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*features.Set{
		request("tenure", 3.0, "contract", "month-to-month"),
		request("tenure", 12.0, "contract", "month-to-month", "charges", 80.0),
		request("tenure", 12.0, "contract", "one_year", "payment", "electronic_check"),
		request(),
	}
	for i, req := range reqs {
		if allocs := testing.AllocsPerRun(100, func() { s.Eval(req) }); allocs != 0 {
			t.Errorf("Eval of request %d: %v allocations, want 0", i, allocs)
		}
	}
}

// Under -race: one Set serves many goroutines.
func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	s, err := rules.Compile([]rules.Rule{
		{When: []string{"tenure < 6"}, Probability: probability(0.9)},
		{Probability: probability(0.1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			req := request("tenure", float64(g))
			want := 0
			if g >= 6 {
				want = 1
			}
			for range 1000 {
				if m, ok := s.Eval(req); !ok || m.Index != want {
					t.Errorf("goroutine %d: got %+v, %v; want rule %d", g, m, ok, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// The examples of the package documentation compile.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ cond, feature string }{
		{"tenure_months < 6", "tenure_months"},
		{"tenure_months<6", "tenure_months"},
		{"monthly_charges >= 70.5", "monthly_charges"},
		{"contract == month-to-month", "contract"},
		{`contract != "two year"`, "contract"},
		{"payment_method in [electronic_check, 'mailed check', 3]", "payment_method"},
		{"region not in [eu-west, eu-north]", "region"},
		{"partner is missing", "partner"},
		{"partner is present", "partner"},
	} {
		s, err := rules.Compile([]rules.Rule{{When: []string{tc.cond}, Probability: probability(0.5)}})
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.cond, err)
			continue
		}
		if got := s.Features(); !slices.Equal(got, []string{tc.feature}) {
			t.Errorf("Compile(%q): Features = %q, want [%q]", tc.cond, got, tc.feature)
		}
	}
}
