package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// aliasLogFile is the append-only history of a model's alias moves, one JSON
// object (an AliasMove) per line.
const aliasLogFile = "aliases.log"

// What an alias move did (AliasMove.Op).
const (
	// OpSet: SetAlias pointed the alias at a version.
	OpSet = "set"
	// OpUnset: DeleteAlias removed the alias.
	OpUnset = "unset"
	// OpPromote: Promote pointed the alias at a version.
	OpPromote = "promote"
	// OpRollback: Rollback moved the alias back.
	OpRollback = "rollback"
	// OpRecover: aliases.json held a move the log lacked (a crash between
	// writing the one and the other, or a write by an older infergate); the
	// next update recorded it.
	OpRecover = "recover"
)

// AliasMove is one change of an alias: a line of <root>/<model>/aliases.log.
type AliasMove struct {
	Time  time.Time `json:"time"`
	Alias string    `json:"alias"`
	// From is the version the alias named before the move, "" when unset.
	From string `json:"from"`
	// To is the version it names after the move, "" when the move removed it.
	To string `json:"to"`
	// Op is what made the move: OpSet, OpPromote, OpRollback, ….
	Op string `json:"op"`
	// By is who asked for it, as the caller says (a user, "canary").
	By string `json:"by,omitempty"`
	// Reason is why, as the caller says; required to override the gate.
	Reason string `json:"reason,omitempty"`
	// Gate is the promotion gate's verdict when the move was gated.
	Gate string `json:"gate,omitempty"`
}

// SetAlias points alias at version, which must exist, and records the move
// (OpSet) in the alias log. Setting an alias to the version it already names
// changes nothing and records nothing.
func (s *Store) SetAlias(model, alias, version string) error {
	if err := ValidateAliasName(alias); err != nil {
		return fmt.Errorf("cannot set alias of model %q: %w", model, err)
	}
	_, _, err := s.moveAlias(model, func(*aliasState) (*AliasMove, error) {
		if _, err := s.Get(model, version); err != nil {
			return nil, fmt.Errorf("cannot set alias %q: %w", alias, err)
		}
		return &AliasMove{Alias: alias, To: version, Op: OpSet}, nil
	})
	return err
}

// DeleteAlias removes alias and records the move (OpUnset); ErrNotFound
// when it is not set.
func (s *Store) DeleteAlias(model, alias string) error {
	if err := ValidateAliasName(alias); err != nil {
		return fmt.Errorf("cannot delete alias of model %q: %w", model, err)
	}
	_, _, err := s.moveAlias(model, func(st *aliasState) (*AliasMove, error) {
		if _, ok := st.aliases[alias]; !ok {
			return nil, fmt.Errorf("cannot delete alias %q of model %q: %w", alias, model, ErrNotFound)
		}
		return &AliasMove{Alias: alias, To: "", Op: OpUnset}, nil
	})
	return err
}

// Aliases returns the aliases of model (alias → version); empty, not nil,
// when it has none.
func (s *Store) Aliases(model string) (map[string]string, error) {
	aliases, _, err := s.readAliases(model)
	return aliases, err
}

// readAliases returns the aliases of model and the time aliases.json was
// last written (zero when it does not exist).
func (s *Store) readAliases(model string) (map[string]string, time.Time, error) {
	if err := s.checkModel(model); err != nil {
		return nil, time.Time{}, err
	}
	path := filepath.Join(s.modelDir(model), aliasesFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cannot read aliases of model %q: %w", model, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cannot read aliases of model %q: %w", model, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cannot read aliases of model %q: %w", model, err)
	}
	aliases := map[string]string{}
	if err := json.Unmarshal(data, &aliases); err != nil {
		return nil, time.Time{}, fmt.Errorf("cannot decode %q: %w", path, err)
	}
	return aliases, fi.ModTime().UTC(), nil
}

// History returns the recorded moves of alias, oldest first, or of every
// alias of model when alias is "". A move that aliases.json shows but the
// log lacks (an update interrupted between its two writes) is reported at
// the end as OpRecover, timed by aliases.json; the next alias update writes
// it down.
func (s *Store) History(model, alias string) ([]AliasMove, error) {
	if alias != "" {
		if err := ValidateAliasName(alias); err != nil {
			return nil, fmt.Errorf("model %q: %w", model, err)
		}
	}
	st, err := s.loadAliasState(model)
	if err != nil {
		return nil, err
	}
	if alias == "" {
		return st.log, nil
	}
	return st.history(alias), nil
}

// aliasState is a model's aliases and their history, read together.
type aliasState struct {
	aliases map[string]string
	// log is the alias log, then the recovered moves (pending).
	log     []AliasMove
	pending int
	// logFile describes aliases.log: whether it exists, its size and the
	// size of its complete lines (a torn last line is excluded).
	logExists       bool
	logSize, logLen int64
}

// history returns the moves of one alias, oldest first.
func (st *aliasState) history(alias string) []AliasMove {
	var out []AliasMove
	for _, m := range st.log {
		if m.Alias == alias {
			out = append(out, m)
		}
	}
	return out
}

// loadAliasState reads the alias log, then aliases.json (a writer updates
// them in the other order, so the log never runs ahead of what is read),
// and appends a recovered move for each alias whose current version is not
// the one its last logged move left.
func (s *Store) loadAliasState(model string) (*aliasState, error) {
	if err := s.checkModel(model); err != nil {
		return nil, err
	}
	st := &aliasState{}
	path := filepath.Join(s.modelDir(model), aliasLogFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("cannot read the alias log of model %q: %w", model, err)
	default:
		st.logExists, st.logSize = true, int64(len(data))
		st.logLen = int64(bytes.LastIndexByte(data, '\n') + 1)
		if st.log, err = ParseAliasLog(data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	aliases, modTime, err := s.readAliases(model)
	if err != nil {
		return nil, err
	}
	st.aliases = aliases
	last := map[string]string{}
	for _, m := range st.log {
		last[m.Alias] = m.To
	}
	names := slices.Sorted(maps.Keys(aliases))
	for a := range last {
		if _, ok := aliases[a]; !ok {
			names = append(names, a)
		}
	}
	slices.Sort(names)
	for _, a := range names {
		if last[a] == aliases[a] {
			continue
		}
		st.log = append(st.log, AliasMove{
			Time: modTime, Alias: a, From: last[a], To: aliases[a], Op: OpRecover, By: "registry",
			Reason: "aliases.json holds a move the log lacks (an interrupted update or an older infergate)",
		})
		st.pending++
	}
	return st, nil
}

// ParseAliasLog decodes an alias log: one JSON AliasMove per line, oldest
// first. Bytes after the last newline are a line torn by a crash during an
// append and are ignored (the next append removes them); blank lines are
// skipped. Any other line that does not decode, or names a malformed alias
// or version, is an error naming the line: the log was damaged or edited.
func ParseAliasLog(data []byte) ([]AliasMove, error) {
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var moves []AliasMove
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		line := bytes.TrimSpace(data[:i])
		data = data[i+1:]
		if len(line) == 0 {
			continue
		}
		var m AliasMove
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if err := m.validate(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		moves = append(moves, m)
	}
	return moves, nil
}

func (m *AliasMove) validate() error {
	if err := ValidateAliasName(m.Alias); err != nil {
		return err
	}
	for _, v := range [...]string{m.From, m.To} {
		if v == "" {
			continue
		}
		if err := ValidateVersion(v); err != nil {
			return err
		}
	}
	if m.Op == "" {
		return errors.New(`"op" must not be empty`)
	}
	return nil
}

// moveAlias makes one alias move of model under the Store's lock. decide
// sees the current aliases and their history (recovered moves included) and
// returns the move to make (Alias, To, Op, By, Reason, Gate), or an error;
// moveAlias fills in From and Time. It returns the move and whether the
// alias changed: a move to the version the alias already names writes
// nothing.
//
// aliases.json is replaced first and the log appended second. A crash
// between the two leaves a move the log lacks, which the next update records
// as OpRecover: the log never claims a move that did not happen.
func (s *Store) moveAlias(model string, decide func(*aliasState) (*AliasMove, error)) (*AliasMove, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.loadAliasState(model)
	if err != nil {
		return nil, false, err
	}
	m, err := decide(st)
	if err != nil {
		return m, false, err
	}
	cur, set := st.aliases[m.Alias]
	m.From = cur
	if m.To == cur && (set || m.To == "") {
		return m, false, nil
	}
	m.Time = s.now().UTC()
	if m.To == "" {
		delete(st.aliases, m.Alias)
	} else {
		st.aliases[m.Alias] = m.To
	}
	data, err := json.MarshalIndent(st.aliases, "", "  ")
	if err != nil {
		return m, false, fmt.Errorf("cannot encode aliases of model %q: %w", model, err)
	}
	dir := s.modelDir(model)
	if err := writeFileAtomic(dir, aliasesFile, append(data, '\n')); err != nil {
		return m, false, fmt.Errorf("cannot write aliases of model %q: %w", model, err)
	}
	moves := append(slices.Clone(st.log[len(st.log)-st.pending:]), *m)
	if err := appendAliasLog(dir, st, moves); err != nil {
		return m, true, fmt.Errorf("alias %q of model %q now names %q, but the move is not in %s (the next update records it): %w",
			m.Alias, model, m.To, aliasLogFile, err)
	}
	return m, true, nil
}

// appendAliasLog appends moves to dir/aliases.log and syncs it. A torn last
// line left by a crash is cut off first, so that it cannot run into the
// first new line.
func appendAliasLog(dir string, st *aliasState, moves []AliasMove) error {
	var buf []byte
	for i := range moves {
		line, err := json.Marshal(&moves[i])
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	f, err := os.OpenFile(filepath.Join(dir, aliasLogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if st.logSize > st.logLen {
		if err := f.Truncate(st.logLen); err != nil {
			_ = f.Close()
			return err
		}
	}
	if _, err := f.Write(buf); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !st.logExists {
		return syncDir(dir)
	}
	return nil
}
