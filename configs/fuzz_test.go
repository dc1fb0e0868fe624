package configs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/infergate/infergate/configs"
)

// problemRE is what every line of a configuration error starts with: the
// line of the file it is about (line 12: …, yaml: line 12: …, or yaml:'s own
// whole-file complaints such as invalid UTF-8), or the field path it is about
// (routes[churn].targets[0].remote.url: …, log.format: …). The path's item
// labels are the names the file gives, so they may hold any character but a
// line break.
var problemRE = regexp.MustCompile(`^(line [0-9]+: |yaml: |[a-z_][a-z0-9_]*(\[[^\n]*?\]|\.[a-z_][a-z0-9_]*)*: )`)

// moreThanOneDocument is yamlstrict.Decode's whole-file error, the one error that
// names neither a line nor a field.
const moreThanOneDocument = `the file holds more than one YAML document (a second "---"); keep one`

// checkProblems fails unless msg, once its first line header is removed, is
// one problem a line, each naming its line or field path.
func checkProblems(t *testing.T, data []byte, header, msg string) {
	t.Helper()
	body, ok := strings.CutPrefix(msg, header)
	if !ok {
		body = msg
	}
	if body == "" {
		t.Fatalf("input %q: error %q names no problem", data, msg)
	}
	for line := range strings.SplitSeq(body, "\n") {
		if line != moreThanOneDocument && !problemRE.MatchString(line) {
			t.Fatalf("input %q: error line %q names neither a line nor a field path; the whole error:\n%s", data, line, msg)
		}
	}
}

// readSeeds returns the contents of the files that the patterns match.
func readSeeds(f *testing.F, patterns ...string) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, p := range patterns {
		paths, err := filepath.Glob(p)
		if err != nil || len(paths) == 0 {
			f.Fatalf("seed files %s: none found (%v)", p, err)
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, data)
		}
	}
	return seeds
}

// brokenYAML are inputs that are wrong in every way a file can be, for both
// fuzzers: their problems are ones yaml.v3 finds before any schema applies.
func brokenYAML() []string {
	// A billion laughs: nine levels of nine aliases each. yaml.v3 refuses
	// to decode it ("excessive aliasing") rather than expanding it.
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		bomb.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" +
			strings.Repeat(prev+", ", 8) + prev + "]\n")
	}
	return []string{
		"", "\n", "---\n", "~\n", "[]\n", "routes\n", "\t", "\xff\xfe", "a: \x00\n",
		"{", "[", "a: [1\n", "a: {b\n", "a: 'x\n", "a: |\n b\n c: d\n",
		strings.Repeat("[", 10001),
		strings.Repeat("{a: ", 200) + "1" + strings.Repeat("}", 200),
		bomb.String(),
		bomb.String() + "routes: *a8\n",
		"a: &x 1\nb: *y\n",
		"a: &x [*x]\n",
		"a: !!binary AAAA\n", "a: !custom 1\n", "? [a, b]\n: c\n", "<<: {a: 1}\n",
		"a: 1\na: 2\n",
		// yaml.v3 panics ("hash of unhashable type") on a merge key in a
		// mapping whose keys include a mapping or a list: go-yaml/yaml#895,
		// #932; the first is what FuzzParse found.
		"<<:\n{a 1} : 1} ", "0:\n<<:\n  {}:\n", "<<:\n? -\n",
		"---\na: 1\n---\nb: 2\n",
	}
}

// FuzzParse checks that Parse, the whole of reading a config file (strict
// YAML decoding, defaults and Validate), never panics; that it explains a
// refusal one problem a line, each naming its line or field path; and that a
// config it accepts stays valid. It knows no field of the schema: the seeds
// are the repository's config files and variants of them.
func FuzzParse(f *testing.F) {
	for _, seed := range readSeeds(f, "infergate.yaml", "examples/*.yaml", "bench/gateway-*.yaml") {
		f.Add(seed)
	}
	for _, seed := range brokenYAML() {
		f.Add([]byte(seed))
	}
	const route = "routes:\n  - name: churn\n"
	for _, seed := range []string{
		"routes: [{name: a}]\n",
		route + "routez: 1\n",                                 // an unknown key at the top
		route + "    batching: {max_batch_sise: 8}\n",         // and nested
		route + "    batching: {max_batch_size: eight}\n",     // a wrong type
		route + "    batching: {max_batch_size: [8]}\n",       // a list for a number
		route + "    batching: {max_batch_size: \"a\\nb\"}\n", // a line break in a refused value
		route + "    batching: 8\n",                           // a number for a mapping
		route + "    timeout: soon\n",                         // a bad duration
		route + "    timeout: 10\n",                           // a duration without its unit
		route + "    timeout: -1s\n",
		route + "    timeout: 9999999999999999h\n",                       // a duration past int64
		route + "    batching: {max_batch_size: 99999999999999999999}\n", // a number past int
		route + "    batching: {max_batch_size: 1e308}\n",
		route + "    batching: {max_batch_size: -9223372036854775808}\n",
		route + "    canary: {target: x, weight: 1e400}\n",
		route + "    canary: {target: x, weight: .nan}\n",
		route + "    canary: {target: x, weight: -.inf}\n",
		route + "  - name: churn\n",    // a duplicate route
		"routes:\n  - name: \"a b\"\n", // a name that cannot be a path
		"routes:\n  - name: \"a\\nb\"\n",
		"routes:\n  - name: \"a]\"\n    timeout: soon\n",
		"routes: [{name: a}]\n\"a\\nb\": 1\n", // a line break in an unknown key
		"routes: [{name: a}]\nlog: {level: loud, format: xml}\n",
		"server: {}\nserver: {}\n",
		"routes: [{name: a\n",
		"routes: [{name: a}]\n---\n",
		"routes: [&r {name: a}, *r]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := configs.Parse(data)
		if err != nil {
			checkProblems(t, data, "cannot decode config:\n", err.Error())
			return
		}
		// Parse validates; a config it accepts stays valid.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("input %q: Parse accepted a config that Validate refuses: %v", data, err)
		}
	})
}

// FuzzLoadScenario does for benchmark scenarios what FuzzParse does for
// config files. LoadScenario reads a file, so each input is written to one
// file of the process's own; a worker runs one input at a time.
func FuzzLoadScenario(f *testing.F) {
	for _, seed := range readSeeds(f, "bench/standard.yaml", "bench/shadow.yaml") {
		f.Add(seed)
	}
	for _, seed := range brokenYAML() {
		f.Add([]byte(seed))
	}
	const target = "targets: [{name: t, url: \"http://127.0.0.1:1/\"}]\n"
	for _, seed := range []string{
		target + "steps: [{mode: closed, concurrency: [1, 2]}]\n",
		target + "steps: [{mode: open, rate_range: \"1:1000:1\"}]\n",
		target + "steps: [{mode: open, rate_range: \"5:1\"}]\n",
		target + "steps: [{mode: open, rate: [0], arrival: bursty}]\n",
		target + "steps: [{mode: closed, concurrency_range: \"1:99999999999999999999\"}]\n",
		target + "steps: [{mode: sideways}]\nwindow: 0s\ntolerance: 1\n",
		"targets: [{name: \"a\\nb\"}]\n",
		"targets: [{name: t, servre: x}]\n",
		"servers: [{name: s, fixed_body: x, status: 99999999999}]\n",
		"comparisons: [{a: x, b: y}]\n",
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "scenario.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sc, err := configs.LoadScenario(path)
		if err != nil {
			msg := err.Error()
			if strings.HasPrefix(msg, path+" is invalid:\n") {
				checkProblems(t, data, path+" is invalid:\n", msg)
			} else {
				checkProblems(t, data, path+": cannot decode scenario:\n", msg)
			}
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("input %q: LoadScenario accepted a scenario that Validate refuses: %v", data, err)
		}
	})
}
