package registry

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a writer (as os/exec's tests
// do): with crashRootEnv set, TestCrashWriterProcess writes to the registry
// in that folder until it is killed.
const (
	crashRootEnv = "INFERGATE_REGISTRY_CRASH_ROOT"
	crashSeedEnv = "INFERGATE_REGISTRY_CRASH_SEED"
)

// Figures of the crash test; set INFERGATE_REGISTRY_CRASH_KILLS for a longer
// run.
const (
	crashKills = 30
	// crashMaxDelay bounds the random time a writer runs before it is killed.
	crashMaxDelay = 60 * time.Millisecond
)

// TestCrashSafety kills a writing process with SIGKILL at random points and
// checks, after each kill, that a fresh Store reads the registry as
// consistent: every listed version loads and matches its checksum, every
// alias names a listed version, the alias log parses (a torn last line
// ignored), and writes go on from there.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the crash test starts 30 writer processes and kills them")
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "registry")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set %s to repeat)", seed, crashSeedEnv)
	r := rand.New(rand.NewPCG(seed, 0))
	kills := crashKills
	if n, err := strconv.Atoi(os.Getenv("INFERGATE_REGISTRY_CRASH_KILLS")); err == nil && n > 0 {
		kills = n
	}

	var (
		writes, torn, unlogged int
		during                 = map[string]int{} // the write a kill interrupted → kills
		temps                  = map[string]bool{}
	)
	for i := range kills {
		n, interrupted := runAndKill(t, root, seed+uint64(i), time.Duration(r.Int64N(int64(crashMaxDelay))))
		writes += n
		during[cmp.Or(interrupted, "between writes")]++
		f := checkConsistent(t, root)
		for _, p := range f.temps {
			temps[p] = true
		}
		torn += f.torn
		unlogged += f.unlogged
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(during)) {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, during[k]))
	}
	t.Logf("%d kills after %d completed writes; kills during: %s", kills, writes, strings.Join(kinds, ", "))
	t.Logf("left behind: %d temporary entries, %d torn log lines, %d checks that found an alias move missing from the log (recovered)",
		len(temps), torn, unlogged)

	// Every kind of write still works on what the kills left.
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	w := crashWriter{s: s, r: rand.New(rand.NewPCG(seed, 1))}
	for _, op := range w.ops() {
		if _, err := op.do(); err != nil && !expectedCrashErr(err) {
			t.Fatalf("%s after the kills: %v", op.name, err)
		}
	}
	for _, model := range crashModels {
		if _, err := s.Promote(model, w.register(model), "", PromoteOptions{Gate: true, Override: true, Reason: "final"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rollback(model, "", RollbackOptions{}); err != nil {
			t.Fatal(err)
		}
		// The writes recorded every recovered move: log and aliases agree.
		hist, err := s.History(model, "")
		if err != nil {
			t.Fatal(err)
		}
		if raw := readLog(t, s, model); len(raw) != len(hist) {
			t.Fatalf("%s: %d moves in the log, %d in the history after writes", model, len(raw), len(hist))
		}
	}
	checkConsistent(t, root)
	// What the kills left behind can be cleaned up.
	if _, err := s.RemoveStale(0); err != nil {
		t.Fatal(err)
	}
	if f := checkConsistent(t, root); len(f.temps) != 0 {
		t.Fatalf("RemoveStale left %v", f.temps)
	}
}

// runAndKill starts a writer on root, kills it delay after it is ready, and
// returns how many writes it completed and the one it was in the middle of.
func runAndKill(t *testing.T, root string, seed uint64, delay time.Duration) (writes int, interrupted string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashRootEnv+"="+root, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The writer prints "ready", then "begin OP" and "end OP …" around
	// each write.
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			word, op, _ := strings.Cut(sc.Text(), " ")
			switch word {
			case "ready":
				close(ready)
			case "begin":
				interrupted = op
			case "end":
				interrupted = ""
				writes++
			}
		}
	}()
	select {
	case <-ready:
	case <-done:
		_ = cmd.Wait()
		t.Fatalf("the writer ended before it was ready:\n%s", stderr.String())
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the writer ended by itself (%v) after %d writes:\n%s", err, writes, stderr.String())
	}
	return writes, interrupted
}

// TestCrashWriterProcess is the writer of TestCrashSafety; it does nothing
// unless that test started it.
func TestCrashWriterProcess(t *testing.T) {
	root := os.Getenv(crashRootEnv)
	if root == "" {
		return
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	s, err := Open(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	w := crashWriter{s: s, r: rand.New(rand.NewPCG(seed, 2))}
	parent := os.Getppid()
	fmt.Println("ready")
	for {
		if os.Getppid() != parent {
			os.Exit(4) // the test died without killing its writer
		}
		ops := w.ops()
		op := ops[w.r.IntN(len(ops))]
		fmt.Println("begin", op.name)
		what, err := op.do()
		if err != nil && !expectedCrashErr(err) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", op.name, err)
			os.Exit(3)
		}
		fmt.Println("end", op.name, what)
	}
}

var crashModels = []string{"churn", "fraud"}

// crashWriter makes random registry writes.
type crashWriter struct {
	s *Store
	r *rand.Rand
}

type crashOp struct {
	name string
	do   func() (string, error)
}

// expectedCrashErr reports whether a random write failed as it may: a gate
// refusing, a delete of an aliased version, nothing to roll back to.
func expectedCrashErr(err error) bool {
	return errors.Is(err, ErrGateRefused) || errors.Is(err, ErrInUse) || errors.Is(err, ErrNoHistory) || errors.Is(err, ErrNotFound)
}

func (w *crashWriter) model() string { return crashModels[w.r.IntN(len(crashModels))] }

// version returns a random version of model, registering one if it has none.
func (w *crashWriter) version(model string) string {
	versions, err := w.s.Versions(model)
	if err != nil || len(versions) == 0 {
		return w.register(model)
	}
	return versions[w.r.IntN(len(versions))]
}

// register registers the next version of model with a model file of up to
// 1 MiB, so that kills land in the middle of writing it, and returns it.
func (w *crashWriter) register(model string) string {
	versions, _ := w.s.Versions(model)
	v := testVersion(model, NextVersion(versions))
	v.Metrics = map[string]float64{"auc": 0.8 + 0.1*w.r.Float64(), "log_loss": 0.3 + 0.1*w.r.Float64()}
	v.Lineage.TestDataSHA256 = []string{"h1", "h1", "h2"}[w.r.IntN(3)]
	data := make([]byte, 1+w.r.IntN(1<<20))
	for i := 0; i < len(data); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w.r.Uint64())
		copy(data[i:], b[:])
	}
	if err := w.s.Register(v, data); err != nil {
		panic(fmt.Sprintf("register %s@%s: %v", model, v.Version, err))
	}
	return v.Version
}

func (w *crashWriter) ops() []crashOp {
	return []crashOp{
		{"register", func() (string, error) {
			m := w.model()
			return m + "@" + w.register(m), nil
		}},
		{"promote", func() (string, error) {
			m := w.model()
			v := w.version(m)
			override := w.r.IntN(3) == 0
			_, err := w.s.Promote(m, v, "", PromoteOptions{Gate: true, Override: override, Reason: "crash test", By: "writer"})
			return m + "@" + v, err
		}},
		{"alias", func() (string, error) {
			m := w.model()
			v := w.version(m)
			return m + " staging=" + v, w.s.SetAlias(m, "staging", v)
		}},
		{"unalias", func() (string, error) {
			m := w.model()
			return m + " staging", w.s.DeleteAlias(m, "staging")
		}},
		{"rollback", func() (string, error) {
			m := w.model()
			alias := []string{"production", "staging"}[w.r.IntN(2)]
			_, err := w.s.Rollback(m, alias, RollbackOptions{By: "writer"})
			return m + " " + alias, err
		}},
		{"tag", func() (string, error) {
			m := w.model()
			v := w.version(m)
			_, err := w.s.SetTags(m, v, map[string]string{"n": strconv.Itoa(w.r.IntN(100)), "gone": ""})
			return m + "@" + v, err
		}},
		{"delete", func() (string, error) {
			m := w.model()
			versions, _ := w.s.Versions(m)
			if len(versions) < 3 {
				return m + " (too few versions)", nil
			}
			v := versions[w.r.IntN(len(versions))]
			return m + "@" + v, w.s.Delete(m, v)
		}},
	}
}

// crashFigures are what a check found that interrupted writes left behind.
type crashFigures struct {
	temps    []string // paths of temporary entries
	torn     int      // alias logs ending with a torn line
	unlogged int      // models with an alias move the log lacks
}

// checkConsistent opens a fresh Store on root and checks that it reads
// as consistent; it returns what interrupted writes left behind.
func checkConsistent(t *testing.T, root string) crashFigures {
	t.Helper()
	var f crashFigures
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, m := range list {
		for _, v := range m.Versions {
			data, meta, err := s.ReadModel(m.Name, v)
			if err != nil {
				t.Fatalf("listed version %s@%s does not load: %v", m.Name, v, err)
			}
			if len(data) == 0 || meta.Signature.Validate() != nil {
				t.Fatalf("listed version %s@%s: %d model bytes, signature %v", m.Name, v, len(data), meta.Signature.Validate())
			}
			entries, err := os.ReadDir(filepath.Join(root, m.Name, v))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), tempPrefix) {
					f.temps = append(f.temps, filepath.Join(m.Name, v, e.Name()))
				}
			}
		}
		for alias, v := range m.Aliases {
			if !slices.Contains(m.Versions, v) {
				t.Fatalf("alias %q of %s names %s, which is not listed (%v)", alias, m.Name, v, m.Versions)
			}
			if got, err := s.Resolve(m.Name, alias); err != nil || got.Version != v {
				t.Fatalf("Resolve(%s, %s) = %v, %v; want %s", m.Name, alias, got, err, v)
			}
		}
		hist, err := s.History(m.Name, "")
		if err != nil {
			t.Fatalf("History of %s: %v", m.Name, err)
		}
		last := map[string]string{}
		for _, mv := range hist {
			last[mv.Alias] = mv.To
		}
		for alias, v := range m.Aliases {
			if last[alias] != v {
				t.Fatalf("alias %q of %s names %s, its history ends at %q", alias, m.Name, v, last[alias])
			}
		}
		data, err := os.ReadFile(filepath.Join(root, m.Name, aliasLogFile))
		if err == nil && len(data) > 0 && data[len(data)-1] != '\n' {
			f.torn++
		}
		if raw, err := ParseAliasLog(data); err != nil {
			t.Fatalf("alias log of %s: %v", m.Name, err)
		} else if len(raw) < len(hist) {
			f.unlogged++
		}
		entries, err := os.ReadDir(filepath.Join(root, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				f.temps = append(f.temps, filepath.Join(m.Name, e.Name()))
			}
		}
	}
	return f
}
