package feedback

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(cfg Config, want string) {
		t.Helper()
		cfg.ApplyDefaults()
		err := cfg.Validate()
		if err == nil || err.Error() != want {
			t.Errorf("Validate(%+v) = %v, want %q", cfg, err, want)
		}
		if _, err := New(cfg); err == nil || err.Error() != want {
			t.Errorf("New(%+v) = %v, want %q", cfg, err, want)
		}
	}
	f(Config{Capacity: -1}, "feedback.capacity: -1 must be in [1, 10000000]")
	f(Config{Capacity: MaxCapacity + 1}, "feedback.capacity: 10000001 must be in [1, 10000000]")
	f(Config{TTL: -time.Second}, "feedback.ttl: -1s must be positive")
	f(Config{Threshold: 1}, "feedback.threshold: 1 must be in (0, 1)")
	f(Config{Threshold: -0.5}, "feedback.threshold: -0.5 must be in (0, 1)")

	var cfg Config
	cfg.ApplyDefaults()
	want := Config{Capacity: 100000, TTL: 24 * time.Hour, Threshold: 0.5}
	if cfg != want {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	off := Config{Disabled: true, Capacity: -1, Threshold: 2}
	if err := off.Validate(); err != nil {
		t.Errorf("a disabled config is refused: %v", err)
	}
	if s, err := New(Config{Capacity: MaxCapacity, Disabled: true}); err != nil || s.Stats().Capacity != 0 {
		t.Errorf("a disabled store allocates its table: %v", err)
	}
}

// The YAML keys, durations as strings, unknown keys refused.
func TestConfigYAML(t *testing.T) {
	t.Parallel()
	f := func(doc string, want Config, wantErr string) {
		t.Helper()
		var cfg Config
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		err := dec.Decode(&cfg)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("decoding %q: %v, want an error containing %q", doc, err, wantErr)
			}
			return
		}
		if err != nil || cfg != want {
			t.Errorf("decoding %q = %+v, %v; want %+v", doc, cfg, err, want)
		}
	}
	f("capacity: 5000\nttl: 90m\nthreshold: 0.35\n", Config{Capacity: 5000, TTL: 90 * time.Minute, Threshold: 0.35}, "")
	f("disabled: true\n", Config{Disabled: true}, "")
	f("ttl: 1d\n", Config{}, "`1d` into time.Duration")
	f("capacty: 5\n", Config{}, "capacty")
	var b bytes.Buffer
	if err := yaml.NewEncoder(&b).Encode(Config{TTL: time.Hour}); err != nil || !strings.Contains(b.String(), "ttl: 1h0m0s") {
		t.Errorf("encoded %q, %v", b.String(), err)
	}
}
