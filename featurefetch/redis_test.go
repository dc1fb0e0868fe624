package featurefetch_test

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/internal/redistest"
	"github.com/redis/rueidis"
)

// customerStats is the worked example's view.
func customerStats(t testing.TB) *featurefetch.View {
	t.Helper()
	v, err := featurefetch.NewView("customer_stats", "customer_id", featurefetch.TypeString, []featurefetch.Feature{
		{Name: "tenure_months", Type: featurefetch.TypeInt64},
		{Name: "monthly_charges", Type: featurefetch.TypeDouble},
		{Name: "contract", Type: featurefetch.TypeString},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rawClient(t *testing.T, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func mustHex(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func str(s string) featurefetch.EntityKey { return featurefetch.EntityKey{Str: []byte(s)} }

// TestRedisReadsFeastLayout: a hash written byte for byte as Feast writes it
// (the worked example's bytes, not this package's encoder) reads back
// exactly; an entity Redis does not hold is not found; a hash holding
// another view's fields only is not found for this view.
func TestRedisReadsFeastLayout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	raw := rawClient(t, srv.Addr())
	ctx := context.Background()
	key := mustHex(t, "01000000"+"02000000"+"0b000000"+"637573746f6d65725f6964"+"02000000"+"07000000"+"43303030303031"+"636875726e")
	contract := featurefetch.FieldName("customer_stats", "contract")
	err := raw.Do(ctx, raw.B().Hset().Key(key).FieldValue().
		FieldValue(mustHex(t, "01cf5482"), mustHex(t, "2018")).
		FieldValue(mustHex(t, "6321fee7"), mustHex(t, "298fc2f5285c7f5640")).
		FieldValue(string(contract[:]), "\x12\x0emonth-to-month").
		FieldValue("_ts:customer_stats", mustHex(t, "0880829ad706")).
		FieldValue("_ts:other_view", mustHex(t, "08")).Build()).Error()
	if err != nil {
		t.Fatal(err)
	}
	// Another entity with only another view's fields.
	other := mustHex(t, "01000000"+"02000000"+"0b000000"+"637573746f6d65725f6964"+"02000000"+"07000000"+"43303030303032"+"636875726e")
	if err := raw.Do(ctx, raw.B().Hset().Key(other).FieldValue().FieldValue("_ts:other_view", "\x08\x01").Build()).Error(); err != nil {
		t.Fatal(err)
	}

	store, err := featurefetch.NewRedisStore(featurefetch.RedisConfig{Addr: srv.Addr(), Project: "churn", KeyVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v := customerStats(t)
	rows := make([]featurefetch.Row, 3)
	if err := store.Read(ctx, v, []featurefetch.EntityKey{str("C000001"), str("C000002"), str("C999999")}, rows); err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if !r.Found || !r.EventTime.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) ||
		r.Values[0].Kind != featurefetch.Number || r.Values[0].Num != 24 ||
		r.Values[1].Kind != featurefetch.Number || r.Values[1].Num != 89.99 ||
		r.Values[2].Kind != featurefetch.String || string(r.Values[2].Str) != "month-to-month" {
		t.Fatalf("C000001: %+v", r)
	}
	if rows[1].Found || rows[2].Found {
		t.Fatalf("C000002 %+v and C999999 %+v, want not found", rows[1], rows[2])
	}
}

// TestRedisWriteIsFeastLayout: what WriteRows writes is the bytes Feast
// writes; an older row does not overwrite a newer one; another view's
// fields in the same hash survive.
func TestRedisWriteIsFeastLayout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	raw := rawClient(t, srv.Addr())
	ctx := context.Background()
	store, err := featurefetch.NewRedisStore(featurefetch.RedisConfig{Addr: srv.Addr(), Project: "churn", KeyVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v := customerStats(t)
	key := mustHex(t, "01000000"+"02000000"+"0b000000"+"637573746f6d65725f6964"+"02000000"+"07000000"+"43303030303031"+"636875726e")
	if err := raw.Do(ctx, raw.B().Hset().Key(key).FieldValue().FieldValue("_ts:other_view", "\x08\x01").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	row := featurefetch.Row{Found: true, EventTime: at, Values: []featurefetch.Value{
		{Kind: featurefetch.Number, Num: 24}, {Kind: featurefetch.Number, Num: 89.99}, {Kind: featurefetch.String, Str: []byte("month-to-month")},
	}}
	n, err := store.WriteRows(ctx, v, []featurefetch.EntityKey{str("C000001")}, []featurefetch.Row{row}, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("WriteRows: %d, %v", n, err)
	}
	all, err := raw.Do(ctx, raw.B().Hgetall().Key(key).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	contract := featurefetch.FieldName("customer_stats", "contract")
	want := map[string]string{
		mustHex(t, "01cf5482"): mustHex(t, "2018"), mustHex(t, "6321fee7"): mustHex(t, "298fc2f5285c7f5640"),
		string(contract[:]): "\x12\x0emonth-to-month", "_ts:customer_stats": mustHex(t, "0880829ad706"), "_ts:other_view": "\x08\x01",
	}
	if len(all) != len(want) {
		t.Fatalf("hash has %d fields, want %d: %q", len(all), len(want), all)
	}
	for f, val := range want {
		if all[f] != val {
			t.Errorf("field %x = %x, want %x", f, all[f], val)
		}
	}
	if ttl, err := raw.Do(ctx, raw.B().Ttl().Key(key).Build()).AsInt64(); err != nil || ttl <= 0 || ttl > 3600 {
		t.Errorf("TTL %d (%v), want within an hour", ttl, err)
	}
	// An older row is skipped; a newer one replaces it.
	older := row
	older.EventTime = at.Add(-time.Hour)
	older.Values = []featurefetch.Value{{Kind: featurefetch.Number, Num: 1}, {Kind: featurefetch.Number, Num: 1}, {Kind: featurefetch.String, Str: []byte("x")}}
	if n, err := store.WriteRows(ctx, v, []featurefetch.EntityKey{str("C000001")}, []featurefetch.Row{older}, 0); err != nil || n != 0 {
		t.Fatalf("older row: wrote %d, %v; want 0", n, err)
	}
	rows := make([]featurefetch.Row, 1)
	if err := store.Read(ctx, v, []featurefetch.EntityKey{str("C000001")}, rows); err != nil || rows[0].Values[0].Num != 24 {
		t.Fatalf("after the older row: %+v, %v", rows[0], err)
	}
}

// TestRedisDown: a Read against a killed Redis fails within its context's
// deadline, never hangs; once Redis is back, reads succeed again.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	store, err := featurefetch.NewRedisStore(featurefetch.RedisConfig{Addr: srv.Addr(), Project: "churn", KeyVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v := customerStats(t)
	rows := make([]featurefetch.Row, 1)
	read := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := store.Read(ctx, v, []featurefetch.EntityKey{str("C000001")}, rows)
		return time.Since(start), err
	}
	if _, err := read(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for range 5 {
		took, err := read()
		if err == nil {
			t.Fatal("a read succeeded against a killed Redis")
		}
		if took > time.Second {
			t.Fatalf("a read against a killed Redis took %s (deadline 50ms): %v", took, err)
		}
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := read()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful read within 10s of the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rows[0].Found {
		t.Fatal("the restarted (empty) Redis found a row")
	}
}
