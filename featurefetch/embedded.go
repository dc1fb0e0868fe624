package featurefetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SnapshotFormat names the embedded store's file format, the first thing
// in every snapshot.
const SnapshotFormat = "infergate-features/1"

// Snapshot is the embedded store's file: per view, its schema and one row
// per entity (the latest as of materialization). It is JSON:
//
//	{"format": "infergate-features/1", "views": [{"name": "customer_stats",
//	  "join_key": "customer_id", "key_type": "string",
//	  "features": [{"name": "tenure_months", "type": "int64"}, …],
//	  "rows": [{"key": "C000001", "event_time": "2026-11-01T00:00:00Z",
//	            "values": [24, 89.99, "month-to-month", null]}, …]}]}
type Snapshot struct {
	Format string         `json:"format"`
	Views  []SnapshotView `json:"views"`
}

// SnapshotView is one view of a Snapshot.
type SnapshotView struct {
	Name     string            `json:"name"`
	JoinKey  string            `json:"join_key"`
	KeyType  string            `json:"key_type"`
	Features []SnapshotFeature `json:"features"`
	Rows     []SnapshotRow     `json:"rows"`
}

// SnapshotFeature is a feature's name and value type.
type SnapshotFeature struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SnapshotRow is one entity's row: its key (an integer key in decimal),
// event time and values in the view's feature order (null: missing).
type SnapshotRow struct {
	Key       string    `json:"key"`
	EventTime time.Time `json:"event_time"`
	Values    []any     `json:"values"`
}

// WriteSnapshot writes s as JSON, one row per line so that a diff of two
// snapshots reads well.
func WriteSnapshot(w io.Writer, s *Snapshot) error {
	s.Format = SnapshotFormat
	enc := json.NewEncoder(w)
	if _, err := fmt.Fprintf(w, "{\"format\":%q,\"views\":[", SnapshotFormat); err != nil {
		return err
	}
	for i, v := range s.Views {
		head, err := json.Marshal(struct {
			Name     string            `json:"name"`
			JoinKey  string            `json:"join_key"`
			KeyType  string            `json:"key_type"`
			Features []SnapshotFeature `json:"features"`
		}{v.Name, v.JoinKey, v.KeyType, v.Features})
		if err != nil {
			return err
		}
		sep := ""
		if i > 0 {
			sep = ","
		}
		if _, err := fmt.Fprintf(w, "%s\n%s,\"rows\":[\n", sep, head[:len(head)-1]); err != nil {
			return err
		}
		for j := range v.Rows {
			if j > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			if err := enc.Encode(&v.Rows[j]); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "]}"); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}

// ReadSnapshot reads the snapshot file at path (os.ErrNotExist when there
// is none).
func ReadSnapshot(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("not a feature snapshot: %w", err)
	}
	if s.Format != SnapshotFormat {
		return nil, fmt.Errorf("format %q, want %q", s.Format, SnapshotFormat)
	}
	return &s, nil
}

// snapshotRows is one view's rows by entity key, as loaded.
type snapshotRows struct {
	features map[string]int // feature name → index in the file's rows
	types    []ValueType
	rows     map[string]*Row
}

// loadSnapshot reads a snapshot file into rows per view name.
func loadSnapshot(data []byte) (map[string]*snapshotRows, error) {
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("not a feature snapshot: %w", err)
	}
	if s.Format != SnapshotFormat {
		return nil, fmt.Errorf("format %q, want %q (write it with infergate features materialize)", s.Format, SnapshotFormat)
	}
	out := make(map[string]*snapshotRows, len(s.Views))
	for _, v := range s.Views {
		if _, dup := out[v.Name]; dup {
			return nil, fmt.Errorf("view %q appears twice", v.Name)
		}
		sr := &snapshotRows{features: make(map[string]int, len(v.Features)), rows: make(map[string]*Row, len(v.Rows))}
		for i, f := range v.Features {
			t, err := ParseValueType(f.Type)
			if err != nil {
				return nil, fmt.Errorf("view %q, feature %q: %w", v.Name, f.Name, err)
			}
			sr.features[f.Name] = i
			sr.types = append(sr.types, t)
		}
		for i, r := range v.Rows {
			if len(r.Values) != len(v.Features) {
				return nil, fmt.Errorf("view %q, row %d (key %q): %d values for %d features", v.Name, i+1, r.Key, len(r.Values), len(v.Features))
			}
			row := &Row{Found: true, EventTime: r.EventTime, Values: make([]Value, len(r.Values))}
			for j, x := range r.Values {
				val, err := valueOf(x, sr.types[j])
				if err != nil {
					return nil, fmt.Errorf("view %q, row %d (key %q), feature %q: %w", v.Name, i+1, r.Key, v.Features[j].Name, err)
				}
				row.Values[j] = val
			}
			sr.rows[r.Key] = row
		}
		out[v.Name] = sr
	}
	return out, nil
}

// EmbeddedStore serves feature rows from a snapshot file held in memory,
// and loads the file again when it changes.
type EmbeddedStore struct {
	path string
	// views is the loaded snapshot; replaced whole on reload.
	views atomic.Pointer[map[string]*snapshotRows]
	// stamp is the loaded file's size and modification time.
	stamp   fileStamp
	stop    chan struct{}
	stopped sync.WaitGroup
	log     *slog.Logger
}

var _ Store = (*EmbeddedStore)(nil)

type fileStamp struct {
	size int64
	mod  time.Time
}

// NewEmbeddedStore loads the snapshot at path and, when reload > 0, looks
// for a new one that often; a snapshot that fails to load is logged and
// the one in memory stays.
func NewEmbeddedStore(path string, reload time.Duration, log *slog.Logger) (*EmbeddedStore, error) {
	s := &EmbeddedStore{path: path, stop: make(chan struct{}), log: log}
	if err := s.load(); err != nil {
		return nil, err
	}
	if reload > 0 {
		s.stopped.Add(1)
		go s.watch(reload)
	}
	return s, nil
}

func (s *EmbeddedStore) load() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("cannot read the feature snapshot: %w (infergate features materialize writes one)", err)
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("cannot read the feature snapshot: %w", err)
	}
	views, err := loadSnapshot(data)
	if err != nil {
		return fmt.Errorf("feature snapshot %s: %w", s.path, err)
	}
	s.views.Store(&views)
	s.stamp = fileStamp{fi.Size(), fi.ModTime()}
	return nil
}

func (s *EmbeddedStore) watch(every time.Duration) {
	defer s.stopped.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		fi, err := os.Stat(s.path)
		if err != nil || (fileStamp{fi.Size(), fi.ModTime()}) == s.stamp {
			continue
		}
		start := time.Now()
		if err := s.load(); err != nil {
			s.log.Error("feature snapshot changed but cannot be loaded; serving the previous one", "path", s.path, "err", err)
			// Do not retry the same file on every tick.
			s.stamp = fileStamp{fi.Size(), fi.ModTime()}
			continue
		}
		s.log.Info("feature snapshot reloaded", "path", s.path, "took", time.Since(start).Round(time.Millisecond))
	}
}

// Close stops the reloads.
func (s *EmbeddedStore) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.stopped.Wait()
}

// errNoView: the snapshot holds no rows of a view.
var errNoView = errors.New("the snapshot has no such view")

// Read looks the keys up in memory; a row's values are put in v's feature
// order (a feature the snapshot lacks is missing).
func (s *EmbeddedStore) Read(_ context.Context, v *View, keys []EntityKey, rows []Row) error {
	sr := (*s.views.Load())[v.Name]
	if sr == nil {
		return fmt.Errorf("view %q: %w", v.Name, errNoView)
	}
	order := sr.order(v)
	var buf [24]byte
	for i, k := range keys {
		var row *Row
		if k.IsNum {
			if k.Num != math.Trunc(k.Num) {
				return fmt.Errorf("%s %v is not an integer: %w", v.JoinKey, k.Num, errEntityKey)
			}
			row = sr.rows[string(strconv.AppendInt(buf[:0], int64(k.Num), 10))]
		} else {
			row = sr.rows[string(k.Str)]
		}
		if row == nil {
			rows[i] = Row{}
			continue
		}
		rows[i] = project(row, order)
	}
	return nil
}

// order maps v's features to the snapshot's columns: nil when they are the
// same, in the same order (the usual case: rows are then used as they are),
// else the snapshot's index of each of v's features, -1 where it has none.
func (sr *snapshotRows) order(v *View) []int {
	same := len(sr.types) == len(v.Features)
	idx := make([]int, len(v.Features))
	for i, f := range v.Features {
		j, ok := sr.features[f.Name]
		if !ok {
			j = -1
		}
		idx[i] = j
		same = same && j == i
	}
	if same {
		return nil
	}
	return idx
}

// project returns row with its values in the order order gives.
func project(row *Row, order []int) Row {
	if order == nil {
		return *row
	}
	out := Row{Found: true, EventTime: row.EventTime, Values: make([]Value, len(order))}
	for i, j := range order {
		if j >= 0 {
			out.Values[i] = row.Values[j]
		}
	}
	return out
}
