package importrules

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/infergate/infergate/"

// mayImport is DESIGN.md's table: the top-level packages each top-level
// package may import directly. A package's subpackages (router/remote,
// gateway/oip, bench/loadgen…) are part of it. Packages under internal/ are
// leaf helpers anyone may import, and import no top-level package
// themselves, but for internal/servingtest, which only tests import.
var mayImport = map[string][]string{
	"runtime":      {},
	"batcher":      {"runtime"},
	"registry":     {},
	"router":       {"batcher", "registry"},
	"featurefetch": {},
	"drift":        {},
	"trainer":      {"registry", "drift"},
	"gateway":      {"router", "featurefetch", "drift", "registry"},
	"bench":        {"runtime"},
	"score":        {"router", "registry"},
	// configs composes every package's Config; cmd is the composition root.
	"configs": nil,
	"cmd":     nil,
}

// testOnly are internal packages allowed to import top-level ones.
var testOnly = []string{"internal/servingtest"}

// TestImportsFollowTheDesign runs `go list -deps` over the module and fails
// on every import the table does not allow, transitively: a package may
// depend on what the packages it may import depend on, and nothing else.
func TestImportsFollowTheDesign(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{} // package → the module's packages it imports
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		for _, imp := range fields[1:] {
			if rest, ok := strings.CutPrefix(imp, module); ok {
				imports[pkg] = append(imports[pkg], rest)
			}
		}
	}
	if len(imports) == 0 {
		t.Fatal("go list found no package of the module importing another")
	}
	allowed := closure()
	for pkg, deps := range imports {
		top := topLevel(pkg)
		for _, dep := range deps {
			dtop := topLevel(dep)
			switch {
			case dtop == top:
			case strings.HasPrefix(dep, "internal/"):
			case strings.HasPrefix(pkg, "internal/"):
				if !slices.Contains(testOnly, pkg) {
					t.Errorf("%s imports %s: a package under internal/ imports no top-level package", pkg, dep)
				}
			default:
				rules, known := mayImport[top]
				if !known {
					t.Errorf("%s: package %s is not in DESIGN.md's table; add it there and here", pkg, top)
					continue
				}
				if rules != nil && !allowed[top][dtop] {
					t.Errorf("%s imports %s: DESIGN.md lets %s import only %v (and what they import)", pkg, dep, top, rules)
				}
			}
		}
	}
}

// closure is, per package, every top-level package it may depend on:
// what it may import, and what those may, and so on.
func closure() map[string]map[string]bool {
	all := map[string]map[string]bool{}
	var visit func(pkg string, into map[string]bool)
	visit = func(pkg string, into map[string]bool) {
		for _, dep := range mayImport[pkg] {
			if !into[dep] {
				into[dep] = true
				visit(dep, into)
			}
		}
	}
	for pkg := range mayImport {
		all[pkg] = map[string]bool{}
		visit(pkg, all[pkg])
	}
	return all
}

// topLevel is the top-level package of a package path within the module:
// router for router/remote, cmd for cmd/infergate; internal packages are
// themselves.
func topLevel(pkg string) string {
	if strings.HasPrefix(pkg, "internal/") {
		return pkg
	}
	first, _, _ := strings.Cut(pkg, "/")
	return first
}
