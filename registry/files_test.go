package registry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRegisterWithFiles(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	v := testVersion("churn", "1.0.0")
	profile := []byte(`{"features":[]}`)
	if err := s.RegisterWith(v, []byte("onnx"), map[string][]byte{DriftProfileFile: profile}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("churn", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Files[DriftProfileFile] != sha256Hex(profile) || len(got.Files) != 1 {
		t.Fatalf("Files = %v, want %s → %s", got.Files, DriftProfileFile, sha256Hex(profile))
	}
	data, err := s.ReadFile("churn", "1.0.0", DriftProfileFile)
	if err != nil || string(data) != string(profile) {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	if _, err := s.ReadFile("churn", "1.0.0", "other.json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadFile of a file never registered: err = %v, want ErrNotFound", err)
	}
	if _, err := s.ReadFile("churn", "9.0.0", DriftProfileFile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadFile of a missing version: err = %v, want ErrNotFound", err)
	}
	path := filepath.Join(s.Root(), "churn", "1.0.0", DriftProfileFile)
	if err := os.WriteFile(path, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFile("churn", "1.0.0", DriftProfileFile); !errors.Is(err, ErrChecksum) {
		t.Fatalf("ReadFile of a tampered file: err = %v, want ErrChecksum", err)
	}
}

func TestRegisterWithRefusesBadFileNames(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, name := range []string{"", "model.onnx", "metadata.json", "../x", "a/b", ".hidden", "Upper.json", "a b"} {
		v := testVersion("churn", "1.0.0")
		err := s.RegisterWith(v, []byte("onnx"), map[string][]byte{name: []byte("x")})
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("file name %q: err = %v, want ErrInvalidName", name, err)
		}
	}
	// Nothing was registered by the refused calls.
	if vs, err := s.Versions("churn"); err == nil && len(vs) != 0 {
		t.Fatalf("refused registrations left versions %v", vs)
	}
}
