// Package rules is the "rules" target of a route: an ordered list of rules,
// written in the config, that answers a prediction from the request's raw
// features. It is the fallback that serves when the models cannot, so it
// depends on nothing that can fail at request time.
//
// Each rule lists conditions and the answer it gives when they all hold:
//
//	rules:
//	  - when: ["contract == month-to-month", "tenure_months < 6"]
//	    prediction: churn
//	    probability: 0.85
//	  - when: ["monthly_charges is missing"]
//	    probability: 0.5        # labelled with the primary model's thresholds
//	  - probability: 0.1        # no conditions: every request
//
// The first rule whose conditions all hold answers, so order matters: specific
// rules first, and a catch-all (a rule without conditions) last. Compile
// refuses rules after a catch-all, since they could never match. When no rule
// matches, Eval says so and the router decides what happens next.
//
// # Conditions
//
// A condition is one string, FEATURE OP VALUE, with free whitespace around the
// tokens ("tenure_months<6" is fine):
//
//	tenure_months < 6
//	monthly_charges >= 70.5
//	contract == month-to-month
//	contract != "two year"
//	payment_method in [electronic_check, 'mailed check', 3]
//	region not in [eu-west, eu-north]
//	partner is missing
//	partner is present
//
// FEATURE is a feature name made of letters, digits, _, - and . (a word
// operator such as in must be separated from it by whitespace).
//
// OP is one of:
//   - <, <=, >, >=: VALUE is a number;
//   - ==, !=: VALUE is a number or a string;
//   - in, not in: VALUE is a list in brackets of at least one number or string,
//     kinds mixed as needed, separated by commas;
//   - is missing, is present: no VALUE.
//
// A number is written in decimal: 6, -2.5, .5, 1e3. NaN, infinities and
// numbers out of the float64 range are compile errors.
//
// A string is quoted with double or single quotes ("two year", 'two year'),
// without escapes: a string that contains one kind of quote is quoted with the
// other. A one-word string may also be written bare (month-to-month): a bare
// word runs up to whitespace, a quote, a bracket, a comma or one of < > = !.
// A bare word that starts with a digit, a sign or a dot must be a number
// (quote '3rd-party'), and bare NaN, Inf and Infinity are errors rather than
// strings, so that a value meant as a number is never silently a string.
//
// # Missing values and kinds
//
// A feature the request does not send (or sends as null) makes every condition
// on it false except "is missing". A missing value never satisfies a rule
// through a negative condition: "contract != two_year" does not hold for a
// request without a contract; write "contract is missing" to match those.
//
// Values are compared by kind, without coercion. <, <=, > and >= hold only for
// a numeric feature. == and in compare a numeric feature with the numbers of
// the condition, numerically (6 == 6.0), and a string feature with its strings,
// byte for byte (case matters, "6" is not 6). A feature of a kind the condition
// has no value of fails it, negative conditions included: != and not in are the
// negations of == and in only for a present feature that has a comparable
// kind, so "tenure != 5" fails for a tenure sent as the string "five" as it
// does for a missing tenure. A feature the request repeats has its last value.
//
// # Concurrency model
//
// A Set is immutable once Compile returns: Eval takes no lock and allocates
// nothing, so any number of request goroutines share one Set. Changing the
// rules means compiling a new Set as part of a new route table. Eval only reads
// the features.Set it is given and keeps nothing of it.
//
// Eval's cost is linear in the conditions it tries; each looks its feature up
// in the request's features, and an in condition scans its list.
package rules
