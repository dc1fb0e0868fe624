package router_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// TestDriftProfileCorrupted: a version whose stored drift profile (any
// file registered with it) no longer matches its registered hash is refused
// at load, as a corrupted model file is.
func TestDriftProfileCorrupted(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	path := filepath.Join(filepath.Dir(store.ModelPath(demo, "1.1.0")), registry.DriftProfileFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	table, err := router.Load([]router.RouteConfig{{Name: "bad", Model: demo, Version: "1.1.0"}}, store, gates)
	if err == nil {
		_ = table.Close()
		t.Fatal("a version with a corrupted drift profile was loaded")
	}
	if !errors.Is(err, registry.ErrChecksum) || !strings.Contains(err.Error(), registry.DriftProfileFile) {
		t.Fatalf("err %v, want ErrChecksum naming %s", err, registry.DriftProfileFile)
	}
}
