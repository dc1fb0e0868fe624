package featurefetch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Column is one column of an offline table: numbers (NaN: missing) or
// strings ("": missing), as the trainer reads CSV and Parquet files.
type Column struct {
	Name    string
	Numbers []float64
	Strings []string
}

func (c *Column) len() int { return max(len(c.Numbers), len(c.Strings)) }

// MaterializeOptions say which rows of an offline table a store gets.
type MaterializeOptions struct {
	// TimestampColumn holds each row's event time: RFC 3339 text, a date
	// and time ("2026-11-01 12:00:00", UTC), or Unix seconds. Empty: every
	// row has EventTime.
	TimestampColumn string
	EventTime       time.Time
	// AsOf: rows with a later event time are left out, so that the store
	// holds what was known then (point-in-time correct). Zero: no bound.
	AsOf time.Time
}

// Materialized is the latest row per entity of an offline table.
type Materialized struct {
	View *View
	Keys []EntityKey
	Rows []Row
	// Read and Kept count the table's rows and the entities kept; Future
	// the rows after AsOf, Older the rows an entity's later row replaced.
	Read, Kept, Future, Older int
}

// Materialize picks, for each entity of the table, its latest row up to
// opts.AsOf, with the view's features. A column the view needs and the
// table lacks is an error; values are checked against the features' types.
func Materialize(cols []Column, vc ViewConfig, opts MaterializeOptions) (*Materialized, error) {
	cfg := Config{Views: []ViewConfig{vc}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	vc = cfg.Views[0]
	byName := make(map[string]*Column, len(cols))
	for i := range cols {
		byName[cols[i].Name] = &cols[i]
	}
	keyCol := byName[vc.JoinKey]
	if keyCol == nil {
		return nil, fmt.Errorf("the table has no column %q, the view's join key", vc.JoinKey)
	}
	keyType, _ := ParseValueType(vc.KeyType)
	feats := make([]Feature, len(vc.Features))
	fcols := make([]*Column, len(vc.Features))
	for i, f := range vc.Features {
		t, _ := ParseValueType(f.Type)
		feats[i] = Feature{Name: f.Name, Type: t}
		if fcols[i] = byName[f.Name]; fcols[i] == nil {
			return nil, fmt.Errorf("the table has no column %q, a feature of view %q", f.Name, vc.Name)
		}
	}
	view, err := NewView(vc.Name, vc.JoinKey, keyType, feats)
	if err != nil {
		return nil, err
	}
	var tsCol *Column
	if opts.TimestampColumn != "" {
		if tsCol = byName[opts.TimestampColumn]; tsCol == nil {
			return nil, fmt.Errorf("the table has no column %q, the event timestamp", opts.TimestampColumn)
		}
	} else if opts.EventTime.IsZero() {
		return nil, fmt.Errorf("name the event timestamp column, or give every row one event time")
	}
	m := &Materialized{View: view, Read: keyCol.len()}
	latest := map[string]int{} // entity → index in m.Keys
	for r := range keyCol.len() {
		key, ok := entityOf(keyCol, r, keyType)
		if !ok {
			return nil, fmt.Errorf("row %d: %s is missing or not a %s", r+1, vc.JoinKey, keyType)
		}
		at := opts.EventTime
		if tsCol != nil {
			if at, err = eventTime(tsCol, r); err != nil {
				return nil, fmt.Errorf("row %d: %s: %w", r+1, opts.TimestampColumn, err)
			}
		}
		if !opts.AsOf.IsZero() && at.After(opts.AsOf) {
			m.Future++
			continue
		}
		row := Row{Found: true, EventTime: at, Values: make([]Value, len(feats))}
		for i, c := range fcols {
			if row.Values[i], err = cellValue(c, r, feats[i].Type); err != nil {
				return nil, fmt.Errorf("row %d, %s: %w", r+1, feats[i].Name, err)
			}
		}
		id := string(key.Str)
		if key.IsNum {
			id = strconv.FormatFloat(key.Num, 'f', -1, 64)
		}
		if j, seen := latest[id]; seen {
			m.Older++
			if !at.After(m.Rows[j].EventTime) {
				continue
			}
			m.Rows[j] = row
			continue
		}
		latest[id] = len(m.Keys)
		m.Keys = append(m.Keys, key)
		m.Rows = append(m.Rows, row)
	}
	m.Kept = len(m.Keys)
	return m, nil
}

func entityOf(c *Column, r int, t ValueType) (EntityKey, bool) {
	if c.Strings != nil {
		s := c.Strings[r]
		if s == "" {
			return EntityKey{}, false
		}
		if t == TypeInt64 {
			n, err := strconv.ParseInt(s, 10, 64)
			return EntityKey{Num: float64(n), IsNum: true}, err == nil
		}
		return EntityKey{Str: []byte(s)}, true
	}
	x := c.Numbers[r]
	if math.IsNaN(x) || x != math.Trunc(x) {
		return EntityKey{}, false
	}
	if t == TypeString {
		return EntityKey{Str: strconv.AppendFloat(nil, x, 'f', -1, 64)}, true
	}
	return EntityKey{Num: x, IsNum: true}, true
}

// timeLayouts are the text forms of event timestamps, tried in order.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

func eventTime(c *Column, r int) (time.Time, error) {
	if c.Strings == nil {
		x := c.Numbers[r]
		if math.IsNaN(x) {
			return time.Time{}, fmt.Errorf("missing")
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	s := c.Strings[r]
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, \"2006-01-02 15:04:05\" in UTC, or Unix seconds)", s)
}

func cellValue(c *Column, r int, t ValueType) (Value, error) {
	if c.Strings != nil {
		s := c.Strings[r]
		if s == "" {
			return Value{}, nil
		}
		if t == TypeString || t == TypeBytes {
			return Value{Kind: String, Str: []byte(s)}, nil
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a number, as a %s feature needs", s, t)
		}
		return checkedNumber(x, t)
	}
	x := c.Numbers[r]
	if math.IsNaN(x) {
		return Value{}, nil
	}
	if t == TypeString || t == TypeBytes {
		return Value{Kind: String, Str: strconv.AppendFloat(nil, x, 'f', -1, 64)}, nil
	}
	return checkedNumber(x, t)
}

// checkedNumber refuses what AppendValue would: a fraction for an integer
// type, 2 for a bool.
func checkedNumber(x float64, t ValueType) (Value, error) {
	v := Value{Kind: Number, Num: x}
	if _, err := AppendValue(nil, t, v); err != nil {
		return Value{}, err
	}
	return v, nil
}

// SnapshotView returns m as a view of an embedded store's snapshot.
func (m *Materialized) SnapshotView() SnapshotView {
	sv := SnapshotView{Name: m.View.Name, JoinKey: m.View.JoinKey, KeyType: m.View.KeyType.String()}
	for _, f := range m.View.Features {
		sv.Features = append(sv.Features, SnapshotFeature{Name: f.Name, Type: f.Type.String()})
	}
	order := make([]int, len(m.Keys))
	for i := range order {
		order[i] = i
	}
	keyText := func(k EntityKey) string {
		if k.IsNum {
			return strconv.FormatFloat(k.Num, 'f', -1, 64)
		}
		return string(k.Str)
	}
	// Sorted by key, so that the same table gives the same file.
	slices.SortFunc(order, func(a, b int) int {
		ka, kb := keyText(m.Keys[a]), keyText(m.Keys[b])
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	for _, i := range order {
		r := m.Rows[i]
		sr := SnapshotRow{Key: keyText(m.Keys[i]), EventTime: r.EventTime, Values: make([]any, len(r.Values))}
		for j, v := range r.Values {
			switch v.Kind {
			case Number:
				sr.Values[j] = v.Num
			case String:
				sr.Values[j] = string(v.Str)
			}
		}
		sv.Rows = append(sv.Rows, sr)
	}
	return sv
}

// WriteRedis writes m to Redis in Feast's layout, in chunks of 1000
// entities, skipping entities Redis holds a newer row of; ttl > 0 sets each
// key's expiry. It returns the entities written.
func (m *Materialized) WriteRedis(ctx context.Context, s *RedisStore, ttl time.Duration) (int, error) {
	written := 0
	for from := 0; from < len(m.Keys); from += 1000 {
		to := min(from+1000, len(m.Keys))
		n, err := s.WriteRows(ctx, m.View, m.Keys[from:to], m.Rows[from:to], ttl)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
