package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// Name limits. Names become directory and file names, so they are kept short
// and free of characters that mean something to a shell or a file system.
const (
	maxNameLen = 128
	// ProductionAlias is the alias Resolve follows when no ref is given.
	ProductionAlias = "production"
	// LatestAlias, unless set explicitly, resolves to the highest version.
	LatestAlias = "latest"
)

// ValidateModelName reports whether name is a valid model name:
// [a-z0-9][a-z0-9._-]*, at most 128 bytes.
func ValidateModelName(name string) error {
	if !validName(name, isLowerOrDigit, func(c byte) bool {
		return isLowerOrDigit(c) || c == '.' || c == '_' || c == '-'
	}) {
		return fmt.Errorf("model name %q: %w: must match [a-z0-9][a-z0-9._-]* (at most %d bytes)", name, ErrInvalidName, maxNameLen)
	}
	return nil
}

// ValidateAliasName reports whether name is a valid alias: [a-z][a-z0-9_-]*,
// at most 128 bytes. Aliases start with a letter and versions with a digit,
// so a reference is never ambiguous.
func ValidateAliasName(name string) error {
	if !validName(name, isLower, func(c byte) bool {
		return isLowerOrDigit(c) || c == '_' || c == '-'
	}) {
		return fmt.Errorf("alias %q: %w: must match [a-z][a-z0-9_-]* (at most %d bytes)", name, ErrInvalidName, maxNameLen)
	}
	return nil
}

// ValidateVersion reports whether v is a valid version: MAJOR.MINOR.PATCH,
// three decimal numbers without leading zeros, such as "1.0.0" or "2.13.4".
// Leading zeros are refused so that each version has one spelling and one
// directory.
func ValidateVersion(v string) error {
	if _, ok := parseVersion(v); !ok {
		return fmt.Errorf("version %q: %w: must be MAJOR.MINOR.PATCH such as \"1.0.0\" (decimal numbers, no leading zeros)", v, ErrInvalidName)
	}
	return nil
}

func validName(s string, first, rest func(byte) bool) bool {
	if s == "" || len(s) > maxNameLen || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool        { return c >= 'a' && c <= 'z' }
func isLowerOrDigit(c byte) bool { return isLower(c) || (c >= '0' && c <= '9') }

type semver [3]uint64

func parseVersion(v string) (semver, bool) {
	var sv semver
	if len(v) > maxNameLen {
		return sv, false
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return sv, false
	}
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return sv, false
		}
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return sv, false
			}
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return sv, false
		}
		sv[i] = n
	}
	return sv, true
}

func (a semver) compare(b semver) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

func (a semver) String() string {
	return strconv.FormatUint(a[0], 10) + "." + strconv.FormatUint(a[1], 10) + "." + strconv.FormatUint(a[2], 10)
}

// CompareVersions orders two valid versions numerically (-1, 0, +1); an
// invalid version sorts before every valid one, and invalid versions compare
// as strings.
func CompareVersions(a, b string) int {
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	switch {
	case okA && okB:
		return va.compare(vb)
	case okA:
		return 1
	case okB:
		return -1
	}
	return strings.Compare(a, b)
}

// NextVersion returns the version to register after existing: "1.0.0" when
// there is none, else the highest valid version with its minor number bumped
// and its patch reset ("1.3.2" → "1.4.0"). Invalid entries are ignored.
func NextVersion(existing []string) string {
	var hi semver
	found := false
	for _, v := range existing {
		sv, ok := parseVersion(v)
		if !ok {
			continue
		}
		if !found || sv.compare(hi) > 0 {
			hi, found = sv, true
		}
	}
	if !found {
		return "1.0.0"
	}
	return semver{hi[0], hi[1] + 1, 0}.String()
}
