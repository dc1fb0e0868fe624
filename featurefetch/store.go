package featurefetch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// View is a feature view as the stores read it: the entity's join key and
// the features of one entity row.
type View struct {
	Name string
	// JoinKey names the entity's key, and the request feature that carries
	// it (customer_id).
	JoinKey string
	// KeyType is the join key's type: TypeString or TypeInt64 (the Redis
	// key of "1001" differs from that of 1001).
	KeyType  ValueType
	Features []Feature

	// redisFields are the Redis hash fields of Features, then the view's
	// timestamp field.
	redisFields []string
}

// Feature is one feature of a view.
type Feature struct {
	Name string
	Type ValueType
}

// NewView returns a view of features keyed by joinKey.
func NewView(name, joinKey string, keyType ValueType, features []Feature) (*View, error) {
	if keyType != TypeString && keyType != TypeInt64 {
		return nil, fmt.Errorf("view %q: join key %q: type %s: %w", name, joinKey, keyType, errKeyType)
	}
	v := &View{Name: name, JoinKey: joinKey, KeyType: keyType, Features: features}
	for _, f := range features {
		field := FieldName(name, f.Name)
		v.redisFields = append(v.redisFields, string(field[:]))
	}
	v.redisFields = append(v.redisFields, TimestampField(name))
	return v, nil
}

// Row is one entity's values of a view, as the store holds them. A Row a
// store returns is immutable and owns its bytes, so a cache may keep it and
// requests may refer into it.
type Row struct {
	// Found is false when the store holds nothing for the entity.
	Found bool
	// EventTime is when the row's values were true (Feast's event
	// timestamp); zero when the store has none.
	EventTime time.Time
	// Values follow View.Features; a Missing value was not in the row.
	Values []Value
}

// Store reads feature rows by entity key.
type Store interface {
	// Read reads the rows of keys in one round trip: rows[i] is keys[i]'s
	// (len(rows) == len(keys)). An error means the store could not answer
	// (down, timed out); a missing entity is a row with Found false.
	Read(ctx context.Context, v *View, keys []EntityKey, rows []Row) error
	Close()
}

// EntityKey is an entity's join key value as a request carries it: a string
// (Str) or a number (Num, when IsNum).
type EntityKey struct {
	Str   []byte
	Num   float64
	IsNum bool
}

// errEntityKey: a request's entity key that cannot be the view's key type.
var errEntityKey = errors.New("invalid entity key")

// joinKey converts k to v's join key type: a string key may arrive as a
// JSON number (customer 1001) and an integer key as a string ("1001").
func (v *View) joinKey(k EntityKey) (JoinKey, error) {
	jk := JoinKey{Name: v.JoinKey, Type: v.KeyType}
	switch {
	case v.KeyType == TypeString && !k.IsNum:
		jk.Str = k.Str
	case v.KeyType == TypeString:
		jk.Str = strconv.AppendFloat(nil, k.Num, 'f', -1, 64)
	case k.IsNum:
		if k.Num != float64(int64(k.Num)) {
			return jk, fmt.Errorf("%s %v is not an integer: %w", v.JoinKey, k.Num, errEntityKey)
		}
		jk.Int = int64(k.Num)
	default:
		n, err := strconv.ParseInt(string(k.Str), 10, 64)
		if err != nil {
			return jk, fmt.Errorf("%s %q is not an integer: %w", v.JoinKey, k.Str, errEntityKey)
		}
		jk.Int = n
	}
	return jk, nil
}
