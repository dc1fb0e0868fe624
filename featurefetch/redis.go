package featurefetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/rueidis"
)

// RedisConfig is the Redis online store: the server Feast materializes into,
// or that `infergate features materialize --to redis` fills.
type RedisConfig struct {
	// Addr is host:port. Required for the redis store.
	Addr string `yaml:"addr"`
	// Username and Password authenticate (Redis 6 ACLs); Password may also
	// come from the environment variable PasswordEnv, which keeps it out of
	// the file. Default none.
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
	// DB is the database number. Default 0.
	DB int `yaml:"db"`
	// Project is the Feast project name, the suffix of every key. Required.
	Project string `yaml:"project"`
	// KeyVersion is Feast's entity_key_serialization_version, 2 or 3.
	// Default 3 (Feast's since 0.38).
	KeyVersion int `yaml:"key_version"`
	// DialTimeout bounds connecting. Default 1s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
}

// Defaults of RedisConfig.
const (
	DefaultKeyVersion       = KeyVersion3
	DefaultRedisDialTimeout = time.Second
)

// RedisStore reads feature rows from Redis in Feast's layout: one HMGET of
// the features' fields and the view's timestamp per entity, every entity of
// a Read pipelined in one round trip.
type RedisStore struct {
	client  rueidis.Client
	project string
	version int
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore connects to the Redis of cfg (with its defaults applied).
func NewRedisStore(cfg RedisConfig) (*RedisStore, error) {
	opt := rueidis.ClientOption{
		InitAddress:       []string{cfg.Addr},
		Username:          cfg.Username,
		Password:          cfg.Password,
		SelectDB:          cfg.DB,
		ForceSingleClient: true,
		// A lookup has a deadline of a few milliseconds; retrying inside
		// it only spends that deadline.
		DisableRetry:     true,
		DisableCache:     true,
		Dialer:           netDialer(cfg.DialTimeout),
		ConnWriteTimeout: cfg.DialTimeout,
		ClientName:       "infergate",
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to Redis at %s: %w", cfg.Addr, err)
	}
	return &RedisStore{client: client, project: cfg.Project, version: cfg.KeyVersion}, nil
}

// Close closes the connections.
func (s *RedisStore) Close() { s.client.Close() }

// Read pipelines one HMGET per key.
func (s *RedisStore) Read(ctx context.Context, v *View, keys []EntityKey, rows []Row) error {
	cmds := make(rueidis.Commands, len(keys))
	var buf []byte
	for i, k := range keys {
		jk, err := v.joinKey(k)
		if err != nil {
			return err
		}
		buf, err = AppendRedisKey(buf[:0], s.version, []JoinKey{jk}, s.project)
		if err != nil {
			return err
		}
		cmds[i] = s.client.B().Hmget().Key(string(buf)).Field(v.redisFields...).Build()
	}
	for i, res := range s.client.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		vals, err := res.ToArray()
		if err != nil {
			return fmt.Errorf("redis: HMGET answered %w", err)
		}
		if rows[i], err = v.parseRow(vals); err != nil {
			return fmt.Errorf("redis: entity %d of %d: %w", i+1, len(keys), err)
		}
	}
	return nil
}

// parseRow makes a Row of an HMGET answer: the features' fields, then the
// timestamp's. A row without any field is not found, as Feast's Go server
// reads it.
func (v *View) parseRow(vals []rueidis.RedisMessage) (Row, error) {
	if len(vals) != len(v.Features)+1 {
		return Row{}, fmt.Errorf("HMGET answered %d values for %d fields", len(vals), len(v.Features)+1)
	}
	row := Row{Values: make([]Value, len(v.Features))}
	// One allocation holds every string value's bytes.
	var arena []byte
	type span struct{ i, from, to int }
	var strs []span
	for i := range v.Features {
		raw, err := vals[i].ToString()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			return Row{}, err
		}
		val, err := ParseValue([]byte(raw))
		if err != nil {
			return Row{}, fmt.Errorf("feature %q: %w", v.Features[i].Name, err)
		}
		row.Found = true
		if val.Kind == String {
			strs = append(strs, span{i, len(arena), len(arena) + len(val.Str)})
			arena = append(arena, val.Str...)
			val.Str = nil
		}
		row.Values[i] = val
	}
	for _, s := range strs {
		row.Values[s.i].Str = arena[s.from:s.to:s.to]
	}
	raw, err := vals[len(v.Features)].ToString()
	switch {
	case rueidis.IsRedisNil(err):
	case err != nil:
		return Row{}, err
	default:
		row.Found = true
		if row.EventTime, err = ParseTimestamp([]byte(raw)); err != nil {
			return Row{}, fmt.Errorf("%s: %w", TimestampField(v.Name), err)
		}
	}
	return row, nil
}

// WriteRows writes rows of v to Redis as Feast's materialization does: per
// entity one HSET of every feature field and the timestamp (other views'
// fields in the same hash are left alone), skipping an entity whose stored
// timestamp is as new or newer, then EXPIRE when ttl > 0. It returns how
// many entities it wrote.
func (s *RedisStore) WriteRows(ctx context.Context, v *View, keys []EntityKey, rows []Row, ttl time.Duration) (int, error) {
	if len(keys) != len(rows) {
		return 0, errors.New("BUG: WriteRows with keys and rows of different lengths")
	}
	redisKeys := make([]string, len(keys))
	reads := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		jk, err := v.joinKey(k)
		if err != nil {
			return 0, err
		}
		b, err := AppendRedisKey(nil, s.version, []JoinKey{jk}, s.project)
		if err != nil {
			return 0, err
		}
		redisKeys[i] = string(b)
		reads[i] = s.client.B().Hmget().Key(redisKeys[i]).Field(TimestampField(v.Name)).Build()
	}
	var writes rueidis.Commands
	for i, res := range s.client.DoMulti(ctx, reads...) {
		vals, err := res.ToArray()
		if err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
		if raw, err := vals[0].ToString(); err == nil {
			if stored, err := ParseTimestamp([]byte(raw)); err == nil && !stored.Before(rows[i].EventTime) {
				continue
			}
		}
		hset := s.client.B().Hset().Key(redisKeys[i]).FieldValue()
		for j, f := range v.Features {
			b, err := AppendValue(nil, f.Type, rows[i].Values[j])
			if err != nil {
				return 0, fmt.Errorf("entity %d, feature %q: %w", i+1, f.Name, err)
			}
			hset = hset.FieldValue(v.redisFields[j], string(b))
		}
		hset = hset.FieldValue(TimestampField(v.Name), string(AppendTimestamp(nil, rows[i].EventTime)))
		writes = append(writes, hset.Build())
		if ttl > 0 {
			writes = append(writes, s.client.B().Expire().Key(redisKeys[i]).Seconds(int64(ttl/time.Second)).Build())
		}
	}
	for _, res := range s.client.DoMulti(ctx, writes...) {
		if err := res.Error(); err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
	}
	n := len(writes)
	if ttl > 0 {
		n /= 2
	}
	return n, nil
}

func netDialer(timeout time.Duration) net.Dialer {
	if timeout <= 0 {
		timeout = DefaultRedisDialTimeout
	}
	return net.Dialer{Timeout: timeout, KeepAlive: time.Second}
}
