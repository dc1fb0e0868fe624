package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tag limits.
const (
	maxTagValueLen = 1024
	maxTags        = 64
)

// trashPrefix starts the name a deleted version's directory takes before it
// is removed; like every temporary name it is no version name, so listings
// skip it.
const trashPrefix = tempPrefix + "del-"

// SetTags merges tags into the tags of a version and returns the updated
// version: a key with a value replaces or adds that tag, a key with an empty
// value removes it. Keys match [A-Za-z0-9][A-Za-z0-9._/-]* (at most 128
// bytes, else ErrInvalidName), values are UTF-8 without control characters (at most 1024 bytes),
// and a version holds at most 64 tags. metadata.json is replaced atomically;
// the rest of the version does not change.
func (s *Store) SetTags(model, version string, tags map[string]string) (*Version, error) {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := validateTag(k, tags[k]); err != nil {
			return nil, fmt.Errorf("cannot tag %s@%s: %w", model, version, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.Get(model, version)
	if err != nil {
		return nil, fmt.Errorf("cannot tag: %w", err)
	}
	merged := maps.Clone(v.Tags)
	if merged == nil {
		merged = make(map[string]string, len(tags))
	}
	for k, val := range tags {
		if val == "" {
			delete(merged, k)
		} else {
			merged[k] = val
		}
	}
	if len(merged) > maxTags {
		return nil, fmt.Errorf("cannot tag %s@%s: it would hold %d tags, at most %d are allowed", model, version, len(merged), maxTags)
	}
	if maps.Equal(merged, v.Tags) || (len(merged) == 0 && len(v.Tags) == 0) {
		return v, nil
	}
	v.Tags = merged
	if len(merged) == 0 {
		v.Tags = nil
	}
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot tag %s@%s: cannot encode metadata: %w", model, version, err)
	}
	if err := writeFileAtomic(filepath.Join(s.modelDir(model), version), metadataFile, append(meta, '\n')); err != nil {
		return nil, fmt.Errorf("cannot tag %s@%s: %w", model, version, err)
	}
	return v, nil
}

func validateTag(key, value string) error {
	if !validName(key, isAlnum, func(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == '/' || c == '-' }) {
		return fmt.Errorf("tag key %q: %w: must match [A-Za-z0-9][A-Za-z0-9._/-]* (at most %d bytes)", key, ErrInvalidName, maxNameLen)
	}
	if len(value) > maxTagValueLen || !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
		return fmt.Errorf("tag %q: the value must be UTF-8 without control characters, at most %d bytes", key, maxTagValueLen)
	}
	return nil
}

func isAlnum(c byte) bool { return isLowerOrDigit(c) || (c >= 'A' && c <= 'Z') }

// Delete removes a version. It refuses, with ErrInUse naming the aliases,
// while an alias names the version: move the alias first. The version's
// directory is renamed to a temporary name (atomically, so the version is
// listed whole or not at all) and then removed; a crash leaves at worst that
// temporary directory, which listings ignore and the next Delete of the
// model removes. The alias log keeps naming the version; a Rollback to it
// fails with ErrNotFound.
func (s *Store) Delete(model, version string) error {
	if err := ValidateModelName(model); err != nil {
		return fmt.Errorf("cannot delete: %w", err)
	}
	if err := ValidateVersion(version); err != nil {
		return fmt.Errorf("cannot delete from model %q: %w", model, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.modelDir(model)
	final := filepath.Join(dir, version)
	if fi, err := os.Stat(final); err != nil || !fi.IsDir() {
		if err := s.checkModel(model); err != nil {
			return fmt.Errorf("cannot delete: %w", err)
		}
		return fmt.Errorf("cannot delete: version %q of model %q: %w", version, model, ErrNotFound)
	}
	aliases, err := s.Aliases(model)
	if err != nil {
		return fmt.Errorf("cannot delete %s@%s: %w", model, version, err)
	}
	var names []string
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		if aliases[a] == version {
			names = append(names, strconv.Quote(a))
		}
	}
	if len(names) > 0 {
		what := "alias " + names[0] + " names it; promote another version to it or delete the alias first"
		if len(names) > 1 {
			what = "aliases " + strings.Join(names, ", ") + " name it; promote other versions to them or delete them first"
		}
		return fmt.Errorf("cannot delete %s@%s: %s: %w", model, version, what, ErrInUse)
	}
	trash := filepath.Join(dir, trashPrefix+version+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(final, trash); err != nil {
		return fmt.Errorf("cannot delete %s@%s: %w", model, version, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("deleted %s@%s but cannot sync %q: %w", model, version, dir, err)
	}
	return removeTrash(dir)
}

// removeTrash removes the directories of deleted versions in a model
// directory: the one just renamed, and any left by an interrupted Delete.
func removeTrash(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot clean %q: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), trashPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleted, but cannot remove what is left in %q: %w", dir, err)
	}
	return nil
}

// ModelSummary is one model of List.
type ModelSummary struct {
	Name string `json:"name"`
	// Versions in ascending order.
	Versions []string `json:"versions"`
	// Aliases: alias → version.
	Aliases map[string]string `json:"aliases"`
}

// List returns every model with at least one version, sorted by name, with
// its versions and aliases.
func (s *Store) List() ([]ModelSummary, error) {
	models, err := s.Models()
	if err != nil {
		return nil, err
	}
	out := make([]ModelSummary, 0, len(models))
	for _, m := range models {
		versions, err := s.Versions(m)
		if err != nil {
			return nil, err
		}
		aliases, err := s.Aliases(m)
		if err != nil {
			return nil, err
		}
		out = append(out, ModelSummary{Name: m, Versions: versions, Aliases: aliases})
	}
	return out, nil
}

// RemoveStale removes the temporary entries (".tmp-…") that interrupted
// writes left in the store — half-registered versions, replacement files
// never renamed, deleted versions not yet removed — once they are older
// than olderThan: a younger one may belong to a write in progress in
// another process. It returns the paths it removed, relative to the root.
func (s *Store) RemoveStale(olderThan time.Duration) ([]string, error) {
	cutoff := time.Now().Add(-olderThan)
	models, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("cannot list models in %q: %w", s.root, err)
	}
	var removed []string
	var errs []error
	// sweep removes the stale temporary entries of dir.
	sweep := func(rel string) []os.DirEntry {
		entries, err := os.ReadDir(filepath.Join(s.root, rel))
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.ModTime().After(cutoff) {
				continue // gone meanwhile, or maybe still being written
			}
			p := filepath.Join(rel, e.Name())
			if err := os.RemoveAll(filepath.Join(s.root, p)); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, p)
		}
		return entries
	}
	for _, m := range models {
		if !m.IsDir() || ValidateModelName(m.Name()) != nil {
			continue
		}
		for _, v := range sweep(m.Name()) {
			if v.IsDir() && ValidateVersion(v.Name()) == nil {
				sweep(filepath.Join(m.Name(), v.Name()))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cannot remove every stale temporary entry: %w", err)
	}
	return removed, nil
}
