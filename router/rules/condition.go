package rules

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/infergate/infergate/internal/features"
)

type operator uint8

const (
	opLess operator = iota + 1
	opLessOrEqual
	opGreater
	opGreaterOrEqual
	opEqual
	opNotEqual
	opIn
	opNotIn
	opMissing
	opPresent
)

// operatorText is how the config writes each operator.
var operatorText = [...]string{
	opLess:           "<",
	opLessOrEqual:    "<=",
	opGreater:        ">",
	opGreaterOrEqual: ">=",
	opEqual:          "==",
	opNotEqual:       "!=",
	opIn:             "in",
	opNotIn:          "not in",
	opMissing:        "is missing",
	opPresent:        "is present",
}

func (op operator) String() string { return operatorText[op] }

// Advice repeated by several messages.
const (
	useAnOperator = "use one of <, <=, >, >=, ==, !=, in, not in, is missing, is present"
	nameChars     = "feature names are made of letters, digits, _, - and ."
	conditionForm = `a condition reads FEATURE OP VALUE, such as "tenure_months < 6"`
	listExample   = `such as [a, "b c", 3]`
)

// condition is one compiled condition. == and != keep their single value in
// the lists, so that they evaluate as in and not in do.
type condition struct {
	feature string
	op      operator
	bound   float64   // of <, <=, >, >=
	numbers []float64 // of ==, !=, in, not in: the values that are numbers
	texts   []string  // and those that are strings
}

// holds reports whether the condition holds for f. A feature that is absent,
// or whose kind no value of the condition has, fails every operator but
// "is missing", negative ones included: a rule never matches because a value
// is not there or is not what the config expected.
func (c *condition) holds(f *features.Set) bool {
	v := f.Get(c.feature)
	switch c.op {
	case opMissing:
		return v == nil
	case opPresent:
		return v != nil
	}
	if v == nil {
		return false
	}
	switch c.op {
	case opLess:
		return v.Kind == features.Number && v.Num < c.bound
	case opLessOrEqual:
		return v.Kind == features.Number && v.Num <= c.bound
	case opGreater:
		return v.Kind == features.Number && v.Num > c.bound
	case opGreaterOrEqual:
		return v.Kind == features.Number && v.Num >= c.bound
	case opEqual, opIn, opNotEqual, opNotIn:
		var found bool
		switch {
		case v.Kind == features.Number && len(c.numbers) > 0:
			found = slices.Contains(c.numbers, v.Num)
		case v.Kind == features.String && len(c.texts) > 0:
			found = containsBytes(c.texts, v.Str)
		default:
			return false
		}
		return found == (c.op == opEqual || c.op == opIn)
	}
	panic(fmt.Sprintf("BUG: rules: condition on %q has no operator", c.feature))
}

func containsBytes(list []string, b []byte) bool {
	for _, s := range list {
		if s == string(b) { // the conversion does not allocate in a comparison
			return true
		}
	}
	return false
}

// parser reads one condition. Its errors quote the whole condition, which is
// what the user wrote and can find in the config.
type parser struct {
	src string
	pos int
}

func parseCondition(src string) (condition, error) {
	p := parser{src: src}
	p.skipSpace()
	if p.eof() {
		return condition{}, errors.New(`empty condition; ` + conditionForm + `, or remove it`)
	}
	c := condition{feature: p.takeWhile(isNameRune)}
	if c.feature == "" {
		if r := p.peek(); !isOperatorRune(r) {
			return condition{}, p.fail(fmt.Sprintf("feature name starts with %q", p.nextRune()), nameChars)
		}
		return condition{}, p.fail("missing feature name", conditionForm)
	}
	if r := p.peek(); !p.eof() && !unicode.IsSpace(r) && !isOperatorRune(r) {
		return condition{}, p.fail(fmt.Sprintf("unexpected %q after feature name %q", p.nextRune(), c.feature), nameChars)
	}
	p.skipSpace()
	var err error
	if c.op, err = p.operator(); err != nil {
		return condition{}, err
	}
	p.skipSpace()
	if c.op == opMissing || c.op == opPresent {
		if !p.eof() {
			return condition{}, p.fail(fmt.Sprintf("unexpected %q after %q", p.src[p.pos:], c.op), "is missing and is present take no value")
		}
		return c, nil
	}
	what, advice := "value", `a condition has one value, so quote a string that contains spaces, such as "month to month"`
	if c.op == opIn || c.op == opNotIn {
		what, advice = "list", "a condition ends with its list; write another test as a condition of its own"
	}
	if err := p.operand(&c); err != nil {
		return condition{}, err
	}
	if p.skipSpace(); !p.eof() {
		return condition{}, p.fail(fmt.Sprintf("unexpected %q after the %s", p.src[p.pos:], what), advice)
	}
	return c, nil
}

// operator reads an operator. A word operator needs the whitespace before it,
// which the feature name would otherwise swallow.
func (p *parser) operator() (operator, error) {
	start := p.pos
	r := p.peek()
	switch {
	case p.eof():
		return 0, p.fail("missing operator", useAnOperator)
	case isOperatorRune(r):
		switch p.takeWhile(isOperatorRune) {
		case "<":
			return opLess, nil
		case "<=":
			return opLessOrEqual, nil
		case ">":
			return opGreater, nil
		case ">=":
			return opGreaterOrEqual, nil
		case "==":
			return opEqual, nil
		case "!=":
			return opNotEqual, nil
		}
	case unicode.IsLetter(r):
		switch p.takeWhile(unicode.IsLetter) {
		case "in":
			return opIn, nil
		case "not":
			p.skipSpace()
			if p.takeWhile(unicode.IsLetter) == "in" {
				return opNotIn, nil
			}
		case "is":
			p.skipSpace()
			switch p.takeWhile(unicode.IsLetter) {
			case "missing":
				return opMissing, nil
			case "present":
				return opPresent, nil
			}
		}
	default:
		p.pos += len(p.nextRune())
	}
	token := strings.TrimRightFunc(p.src[start:p.pos], unicode.IsSpace)
	return 0, p.fail(fmt.Sprintf("unknown operator %q", token), useAnOperator)
}

// operand reads the value of c.op into c.
func (p *parser) operand(c *condition) error {
	var want string
	switch c.op {
	case opLess, opLessOrEqual, opGreater, opGreaterOrEqual:
		want = "write a number such as 6"
	case opEqual, opNotEqual:
		want = "write a number, a quoted string or a bare word"
	default:
		want = "write a list " + listExample
	}
	if p.eof() {
		return p.fail(fmt.Sprintf("missing value after %q", c.op), want)
	}
	isList := p.peek() == '['
	switch c.op {
	case opLess, opLessOrEqual, opGreater, opGreaterOrEqual:
		if isList {
			return p.fail(fmt.Sprintf("a list after %q", c.op), fmt.Sprintf("%q compares with one number, such as 6", c.op))
		}
		start := p.pos
		v, err := p.scalar()
		if err != nil {
			return err
		}
		if !v.isNumber {
			return p.fail(fmt.Sprintf("%q compares numbers, but %s is a string", c.op, printable(p.src[start:p.pos])), want)
		}
		c.bound = v.number
		return nil
	case opEqual, opNotEqual:
		if isList {
			return p.fail(fmt.Sprintf("a list after %q", c.op), fmt.Sprintf("%q compares with one value; use in or not in for a list", c.op))
		}
		v, err := p.scalar()
		if err != nil {
			return err
		}
		c.add(v)
		return nil
	}
	if !isList {
		return p.fail(fmt.Sprintf("%q needs a list in brackets", c.op), want)
	}
	return p.list(c)
}

// list reads a bracketed list into c.
func (p *parser) list(c *condition) error {
	p.pos++ // the '['
	for n := 0; ; n++ {
		p.skipSpace()
		switch r := p.peek(); {
		case p.eof():
			return p.fail("unterminated list", "close it with ]")
		case r == ']' && n == 0:
			return p.fail("empty list", fmt.Sprintf("%q needs at least one value, %s", c.op, listExample))
		case r == ']' || r == ',':
			return p.fail(fmt.Sprintf("missing value before %q", p.nextRune()), "write a value between the commas, or remove the extra comma")
		}
		v, err := p.scalar()
		if err != nil {
			return err
		}
		c.add(v)
		p.skipSpace()
		switch r := p.peek(); {
		case p.eof():
			return p.fail("unterminated list", "close it with ]")
		case r == ']':
			p.pos++
			return nil
		case r == ',':
			p.pos++
		default:
			return p.fail(fmt.Sprintf("missing comma before %q", p.src[p.pos:]), "separate the values with commas, and quote a string that contains spaces")
		}
	}
}

func (c *condition) add(v value) {
	if v.isNumber {
		c.numbers = append(c.numbers, v.number)
	} else {
		c.texts = append(c.texts, v.text)
	}
}

type value struct {
	isNumber bool
	number   float64
	text     string
}

// scalar reads a number, a quoted string or a bare word.
func (p *parser) scalar() (value, error) {
	switch r := p.peek(); {
	case p.eof():
		return value{}, p.fail("missing value", "write a number, a quoted string or a bare word")
	case r == '"' || r == '\'':
		end := strings.IndexRune(p.src[p.pos+1:], r)
		if end < 0 {
			return value{}, p.fail("unterminated string", fmt.Sprintf("close it with %c", r))
		}
		v := value{text: p.src[p.pos+1 : p.pos+1+end]}
		p.pos += end + 2
		return v, nil
	case r == '[':
		return value{}, p.fail("list inside a list", "list elements are numbers or strings")
	case !isWordRune(r):
		return value{}, p.fail(fmt.Sprintf("unexpected %q where a value belongs", p.nextRune()), "write a number, a quoted string or a bare word")
	}
	word := p.takeWhile(isWordRune)
	if first := word[0]; (first >= '0' && first <= '9') || first == '+' || first == '-' || first == '.' {
		return p.number(word)
	}
	// Read as strings, these would silently never equal a numeric feature.
	switch strings.ToLower(word) {
	case "nan", "inf", "infinity":
		return value{}, p.fail(word+" is not a finite number", fmt.Sprintf("use a finite number, or quote it ('%s') to compare with the string", word))
	}
	return value{text: word}, nil
}

// number parses a bare word that starts as a number does. Only decimal forms
// are numbers: strconv.ParseFloat alone would also take hexadecimal and
// underscores, which a config reader would not expect to be numbers.
func (p *parser) number(word string) (value, error) {
	const advice = "write a decimal number such as -2.5 or 1e3, or quote it to compare with the string"
	if strings.Trim(word, "0123456789+-.eE") != "" {
		return value{}, p.fail(fmt.Sprintf("%s is not a number", word), advice)
	}
	x, err := strconv.ParseFloat(word, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return value{}, p.fail(fmt.Sprintf("%s is out of range", word), "use a finite number")
	case err != nil:
		return value{}, p.fail(fmt.Sprintf("%s is not a number", word), advice)
	}
	return value{isNumber: true, number: x}, nil
}

func (p *parser) fail(problem, advice string) error {
	return fmt.Errorf("%s in %q; %s", problem, p.src, advice)
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// peek returns the next rune, or utf8.RuneError at the end.
func (p *parser) peek() rune {
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return r
}

// nextRune returns the bytes of the next rune: a byte of invalid UTF-8 alone,
// which an error then shows as \x.. rather than as U+FFFD.
func (p *parser) nextRune() string {
	_, size := utf8.DecodeRuneInString(p.src[p.pos:])
	return p.src[p.pos : p.pos+size]
}

func (p *parser) takeWhile(ok func(rune) bool) string {
	start := p.pos
	for !p.eof() {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !ok(r) {
			break
		}
		p.pos += size
	}
	return p.src[start:p.pos]
}

func (p *parser) skipSpace() { p.takeWhile(unicode.IsSpace) }

func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.'
}

func isOperatorRune(r rune) bool { return r == '<' || r == '>' || r == '=' || r == '!' }

// isWordRune reports whether r can be part of a bare word: anything but
// whitespace and the characters that delimit values and operators.
func isWordRune(r rune) bool {
	return !unicode.IsSpace(r) && !isOperatorRune(r) && !strings.ContainsRune(`"'[],`, r)
}

// printable shows a token of a condition in a one-line error message: as
// written, unless it holds a control character (a newline inside quotes),
// which would break the message's one-error-per-line form.
func printable(token string) string {
	if strings.ContainsFunc(token, unicode.IsControl) {
		return strconv.Quote(token)
	}
	return token
}
