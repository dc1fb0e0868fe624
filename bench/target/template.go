package target

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Template returns a BodySource that renders tmpl for each request,
// replacing its placeholders:
//
//	{{seq}}              the request number, in decimal
//	{{rand_int A B}}     a uniform integer in [A, B]
//	{{rand_float A B}}   a uniform number in [A, B], with as many decimals
//	                     as the more precise of A and B, and at least 2
//	{{choice a|b|c}}     one of the '|'-separated items (trimmed), uniformly
//
// Everything else is copied as it is, so a JSON body quotes its own strings:
//
//	{"model_id":"customer-churn","features":{"tenure_months":{{rand_int 0 72}},"contract":"{{choice month-to-month|one-year|two-year}}"}}
//
// Random values are a function of seq and of the placeholder's position
// alone: the same request number always gets the same body, whichever
// goroutine renders it and in whatever order. The template is parsed once;
// rendering does no parsing, and AppendBody into a buffer with room
// allocates nothing. Errors name the line and column of the placeholder.
func Template(tmpl string) (BodySource, error) {
	t := &template{}
	rest, off := tmpl, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.lit = append(t.lit, rest...)
			break
		}
		t.lit = append(t.lit, rest[:i]...)
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, templateError(tmpl, off+i, "{{ is not closed by }}")
		}
		inner := rest[i+2 : i+2+j]
		ph, err := parsePlaceholder(inner)
		if err != nil {
			return nil, templateError(tmpl, off+i, fmt.Sprintf("{{%s}}: %s", inner, err))
		}
		ph.at = len(t.lit)
		t.size += ph.width()
		t.phs = append(t.phs, ph)
		rest, off = rest[i+2+j+2:], off+i+2+j+2
	}
	t.size += len(t.lit)
	return t, nil
}

// template is a parsed Template: its literal text with the placeholders
// cut out, and each placeholder with the offset in lit where it goes.
type template struct {
	lit  []byte
	phs  []placeholder
	size int // a body's usual length, to size Body's allocation
}

type placeholderKind uint8

const (
	phSeq placeholderKind = iota
	phRandInt
	phRandFloat
	phChoice
)

type placeholder struct {
	kind     placeholderKind
	at       int // offset in template.lit
	lo, hi   int64
	flo, fhi float64
	decimals int
	items    []string
}

const placeholderHelp = "the placeholders are {{seq}}, {{rand_int A B}}, {{rand_float A B}} and {{choice a|b|c}}"

func parsePlaceholder(inner string) (placeholder, error) {
	s := strings.TrimSpace(inner)
	name, args, _ := strings.Cut(s, " ")
	args = strings.TrimSpace(args)
	switch name {
	case "seq":
		if args != "" {
			return placeholder{}, errors.New("seq takes no arguments")
		}
		return placeholder{kind: phSeq}, nil
	case "rand_int":
		a, b, err := twoArgs(name, args)
		if err != nil {
			return placeholder{}, err
		}
		lo, err1 := strconv.ParseInt(a, 10, 64)
		hi, err2 := strconv.ParseInt(b, 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return placeholder{}, fmt.Errorf("rand_int needs two integers: %w", err)
		}
		if lo > hi {
			return placeholder{}, fmt.Errorf("rand_int %d %d: the lower bound is above the upper one", lo, hi)
		}
		return placeholder{kind: phRandInt, lo: lo, hi: hi}, nil
	case "rand_float":
		a, b, err := twoArgs(name, args)
		if err != nil {
			return placeholder{}, err
		}
		lo, err1 := strconv.ParseFloat(a, 64)
		hi, err2 := strconv.ParseFloat(b, 64)
		if err := errors.Join(err1, err2); err != nil {
			return placeholder{}, fmt.Errorf("rand_float needs two numbers: %w", err)
		}
		if math.IsInf(hi-lo, 0) || math.IsNaN(hi-lo) {
			return placeholder{}, fmt.Errorf("rand_float %s %s: the bounds must be finite and their difference too", a, b)
		}
		if lo > hi {
			return placeholder{}, fmt.Errorf("rand_float %s %s: the lower bound is above the upper one", a, b)
		}
		return placeholder{kind: phRandFloat, flo: lo, fhi: hi, decimals: max(decimals(a), decimals(b), 2)}, nil
	case "choice":
		if args == "" {
			return placeholder{}, errors.New("choice needs items separated by '|', e.g. {{choice a|b|c}}")
		}
		items := strings.Split(args, "|")
		for k := range items {
			items[k] = strings.TrimSpace(items[k])
			if items[k] == "" {
				return placeholder{}, fmt.Errorf("choice item %d is empty", k+1)
			}
		}
		return placeholder{kind: phChoice, items: items}, nil
	case "":
		return placeholder{}, errors.New("empty placeholder; " + placeholderHelp)
	}
	return placeholder{}, fmt.Errorf("unknown placeholder %q; %s", name, placeholderHelp)
}

func twoArgs(name, args string) (string, string, error) {
	f := strings.Fields(args)
	if len(f) != 2 {
		return "", "", fmt.Errorf("%s takes two arguments A B, got %d", name, len(f))
	}
	return f[0], f[1], nil
}

// decimals is the number of digits after the point of a decimal number.
func decimals(s string) int {
	if e := strings.IndexAny(s, "eE"); e >= 0 {
		return 6 // an exponent: enough for everyday magnitudes
	}
	if _, frac, ok := strings.Cut(s, "."); ok {
		return min(len(frac), 15)
	}
	return 0
}

// width is a generous guess of a placeholder's rendered length.
func (p *placeholder) width() int {
	switch p.kind {
	case phChoice:
		n := 0
		for _, it := range p.items {
			n = max(n, len(it))
		}
		return n
	case phRandFloat:
		return 24 + p.decimals
	}
	return 20
}

func templateError(tmpl string, off int, msg string) error {
	line := 1 + strings.Count(tmpl[:off], "\n")
	col := off - strings.LastIndexByte(tmpl[:off], '\n')
	return fmt.Errorf("template:%d:%d: %s", line, col, msg)
}

// Body renders request seq into a new slice. AppendBody does the same into
// a buffer of the caller's.
func (t *template) Body(seq uint64) []byte {
	return t.AppendBody(make([]byte, 0, t.size), seq)
}

// AppendBody appends the body of request seq to dst.
func (t *template) AppendBody(dst []byte, seq uint64) []byte {
	prev := 0
	h := mix64(seq)
	for k := range t.phs {
		p := &t.phs[k]
		dst = append(dst, t.lit[prev:p.at]...)
		prev = p.at
		// One independent stream per placeholder position.
		r := mix64(h ^ (uint64(k+1) * 0x9e3779b97f4a7c15))
		switch p.kind {
		case phSeq:
			dst = strconv.AppendUint(dst, seq, 10)
		case phRandInt:
			span := uint64(p.hi-p.lo) + 1 // wraps to 0 for the full int64 range
			v := r
			if span != 0 {
				v, _ = bits.Mul64(r, span)
			}
			dst = strconv.AppendInt(dst, p.lo+int64(v), 10)
		case phRandFloat:
			u := float64(r>>11) / (1 << 53)
			dst = strconv.AppendFloat(dst, p.flo+(p.fhi-p.flo)*u, 'f', p.decimals, 64)
		case phChoice:
			i, _ := bits.Mul64(r, uint64(len(p.items)))
			dst = append(dst, p.items[i]...)
		}
	}
	return append(dst, t.lit[prev:]...)
}

// mix64 is SplitMix64's finaliser: a bijection of uint64 whose outputs for
// consecutive inputs look independent.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
