package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/trainer"
)

const featuresUsage = `infergate features loads an offline table into the online feature store.

  infergate features materialize --from FILE [--view NAME] [--to embedded|redis]
                                 [--timestamp-column COLUMN | --event-time TIME] [--as-of TIME]

FILE is CSV (with a header row) or Parquet. For each entity (the view's
join key) it keeps the latest row whose event time is at or before --as-of
(default: now), so the store holds what was known then, as training saw it.
The view (default: the config's only one) says which columns are features
and their types. --to embedded (the default, or the config's
features.store.kind) writes the snapshot file features.store.snapshot; the
gateway loads it again when it changes. --to redis writes Feast's Redis
layout to features.store.redis (an entity whose stored row is newer is
left alone).
`

func runFeatures(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "materialize" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			_, err := fmt.Fprint(stdout, featuresUsage)
			return err
		}
		return featuresUsageError(errors.New("a subcommand is required: materialize"))
	}
	fs := flag.NewFlagSet("features materialize", flag.ContinueOnError)
	configPath := fs.String("config", defaultConfig, "configuration file (features.store and features.views)")
	from := fs.String("from", "", "the offline table: CSV or Parquet")
	viewName := fs.String("view", "", "the feature view to fill (default: the config's only one)")
	to := fs.String("to", "", "embedded or redis (default: features.store.kind)")
	snapshot := fs.String("snapshot", "", "with --to embedded: the file to write (default: features.store.snapshot)")
	tsColumn := fs.String("timestamp-column", "", "the column of each row's event time (RFC 3339, \"2006-01-02 15:04:05\" UTC, or Unix seconds)")
	eventTime := fs.String("event-time", "", "without --timestamp-column: one event time for every row (RFC 3339, or now)")
	asOf := fs.String("as-of", "now", "leave out rows whose event time is later (RFC 3339, or now)")
	ttl := fs.Duration("ttl", 0, "with --to redis: expire each entity's key after this long (Feast's key_ttl_seconds); 0: never")
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), featuresUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *from == "" {
		return featuresUsageError(errors.New("--from is required: the offline table (CSV or Parquet)"))
	}
	cfg, err := loadConfig(*configPath, nil)
	if err != nil {
		return err
	}
	fc := cfg.Features
	vc, err := pickView(&fc, *viewName)
	if err != nil {
		return err
	}
	opts := featurefetch.MaterializeOptions{TimestampColumn: *tsColumn}
	// One "now" for both flags: an event time of now is never after an
	// as-of of now.
	now := time.Now().UTC()
	if opts.AsOf, err = parseTime("--as-of", *asOf, now); err != nil {
		return err
	}
	if *tsColumn == "" {
		if *eventTime == "" {
			return featuresUsageError(errors.New("give --timestamp-column (the rows' event times) or --event-time (one for all rows)"))
		}
		if opts.EventTime, err = parseTime("--event-time", *eventTime, now); err != nil {
			return err
		}
	}
	start := time.Now()
	data, err := trainer.LoadDataset(*from)
	if err != nil {
		return err
	}
	cols := make([]featurefetch.Column, len(data.Columns))
	for i, c := range data.Columns {
		cols[i] = featurefetch.Column{Name: c.Name, Numbers: c.Numbers, Strings: c.Strings}
	}
	m, err := featurefetch.Materialize(cols, vc, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", *from, err)
	}
	kind := fc.Store.Kind
	if *to != "" {
		kind = *to
	}
	var where string
	var written int
	switch kind {
	case featurefetch.StoreEmbedded:
		path := fc.Store.Snapshot
		if *snapshot != "" {
			path = *snapshot
		}
		if written, err = writeSnapshotView(path, m); err != nil {
			return err
		}
		where = path
	case featurefetch.StoreRedis:
		rc := fc.Store.Redis
		if rc.PasswordEnv != "" && rc.Password == "" {
			rc.Password = os.Getenv(rc.PasswordEnv)
		}
		store, err := featurefetch.NewRedisStore(rc)
		if err != nil {
			return err
		}
		defer store.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if written, err = m.WriteRedis(ctx, store, *ttl); err != nil {
			return err
		}
		where = "redis " + rc.Addr + " (project " + rc.Project + ")"
	default:
		return featuresUsageError(fmt.Errorf("--to %q: want embedded or redis", kind))
	}
	_, err = fmt.Fprintf(stdout, "materialized view %s from %s into %s: %d rows read, %d entities, %d written; %d rows after --as-of and %d older rows left out (%s)\n",
		m.View.Name, *from, where, m.Read, m.Kept, written, m.Future, m.Older, time.Since(start).Round(time.Millisecond))
	return err
}

// pickView returns the named view of fc (with defaults), or its only one.
func pickView(fc *featurefetch.Config, name string) (featurefetch.ViewConfig, error) {
	fc.ApplyDefaults()
	names := make([]string, len(fc.Views))
	for i, v := range fc.Views {
		names[i] = v.Name
		if v.Name == name || (name == "" && len(fc.Views) == 1) {
			return v, nil
		}
	}
	switch {
	case len(fc.Views) == 0:
		return featurefetch.ViewConfig{}, errors.New("the config defines no feature view (features.views)")
	case name == "":
		return featurefetch.ViewConfig{}, fmt.Errorf("the config defines several views (%s): name one with --view", strings.Join(names, ", "))
	}
	slices.Sort(names)
	return featurefetch.ViewConfig{}, fmt.Errorf("no view %q in features.views (it has %s)", name, strings.Join(names, ", "))
}

func parseTime(flagName, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, featuresUsageError(fmt.Errorf("%s %q: want RFC 3339 (2026-11-01T00:00:00Z) or now", flagName, s))
	}
	return t, nil
}

// writeSnapshotView replaces the view in the snapshot at path (keeping its
// other views), atomically: the gateway never reads a half-written file.
func writeSnapshotView(path string, m *featurefetch.Materialized) (int, error) {
	snap := &featurefetch.Snapshot{}
	if old, err := featurefetch.ReadSnapshot(path); err == nil {
		snap = old
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("cannot update %s: %w (remove it to start a new snapshot)", path, err)
	}
	sv := m.SnapshotView()
	replaced := false
	for i := range snap.Views {
		if snap.Views[i].Name == sv.Name {
			snap.Views[i], replaced = sv, true
		}
	}
	if !replaced {
		snap.Views = append(snap.Views, sv)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := featurefetch.WriteSnapshot(tmp, snap); err != nil {
		_ = tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, err
	}
	return len(sv.Rows), os.Rename(tmp.Name(), path)
}

// featuresUsageError says what is wrong with the command line, then the
// usage, on stderr; the command exits 2.
func featuresUsageError(err error) error {
	fmt.Fprintf(os.Stderr, "infergate features: %v\n\n%s", err, featuresUsage)
	return usageError{err}
}
