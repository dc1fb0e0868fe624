package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// File names inside the store.
const (
	modelFile    = "model.onnx"
	metadataFile = "metadata.json"
	aliasesFile  = "aliases.json"
	// tempPrefix starts every temporary entry; listings skip names that are
	// not valid model or version names, which includes these.
	tempPrefix = ".tmp-"
)

// Version is one registered model version: the contents of its
// metadata.json.
type Version struct {
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// Signature says how requests become the model's input tensor and how
	// its output becomes a response.
	Signature Signature `json:"signature"`
	// Metrics measured on held-out data, such as "auc", "accuracy",
	// "log_loss". Values must be finite.
	Metrics map[string]float64 `json:"metrics"`
	Lineage Lineage            `json:"lineage"`
	// ModelSHA256 is the hex SHA-256 of model.onnx, set by Register.
	ModelSHA256 string `json:"model_sha256"`
	// Tags are free-form labels (owner, ticket, "approved": "yes"). They are
	// the one part of a version that may change after registration
	// (SetTags). Keys match [A-Za-z0-9][A-Za-z0-9._/-]*.
	Tags map[string]string `json:"tags,omitempty"`
	// Files are the version's artifacts beside model.onnx (such as the
	// drift reference profile, DriftProfileFile), by name, each with the hex
	// SHA-256 of its contents; set by RegisterWith.
	Files map[string]string `json:"files,omitempty"`
}

// DriftProfileFile is the artifact holding the training data's drift
// reference profile (the drift package's Profile, as JSON).
const DriftProfileFile = "drift-profile.json"

// Lineage records where a version came from.
type Lineage struct {
	// DataPath is the training data as the trainer saw it (a path or URL).
	DataPath string `json:"data_path"`
	// DataSHA256 is the hex SHA-256 of the training data bytes.
	DataSHA256 string `json:"data_sha256"`
	// Params are the training parameters (seed, epochs, learning rate, …).
	Params map[string]string `json:"params"`
	// TrainerVersion identifies the training algorithm and its export (the
	// trainer's TrainerVersion).
	TrainerVersion string `json:"trainer_version"`
	// CodeVersion is the revision of the program that trained the model (a
	// VCS commit or module version), when known.
	CodeVersion string `json:"code_version,omitempty"`
	// TestDataSHA256 identifies the held-out rows Metrics were measured on:
	// the hex SHA-256 of those rows, or of whatever the trainer uses to name
	// them. The promotion gate compares two versions' metrics only when they
	// were measured on the same held-out data (HeldOutID).
	TestDataSHA256 string `json:"test_data_sha256,omitempty"`
	// Parent is the version this one was derived from or replaces, if any.
	Parent    string    `json:"parent"`
	TrainedAt time.Time `json:"trained_at"`
}

// HeldOutID names the held-out data the version's metrics were measured on,
// for comparing two versions: TestDataSHA256 when set. Versions registered
// without it are identified by their training data hash and the parameters
// that decide the trainer's deterministic split (seed, test_fraction,
// validation_fraction, where Params holds them). It is "" when the lineage
// records no data hash: such metrics cannot be compared.
func (l *Lineage) HeldOutID() string {
	if l.TestDataSHA256 != "" {
		return "test:" + l.TestDataSHA256
	}
	if l.DataSHA256 == "" {
		return ""
	}
	id := "data:" + l.DataSHA256
	for _, k := range [...]string{"seed", "test_fraction", "validation_fraction"} {
		if v, ok := l.Params[k]; ok {
			id += ";" + k + "=" + v
		}
	}
	return id
}

// Store is a model registry on a local file system:
//
//	<root>/<model>/<version>/model.onnx
//	<root>/<model>/<version>/metadata.json
//	<root>/<model>/aliases.json
//	<root>/<model>/aliases.log
//
// A Store is safe for concurrent use. See the package documentation for the
// atomicity guarantees.
type Store struct {
	root string
	// mu serialises this Store's read-modify-write updates: aliases.json
	// with aliases.log, a version's tags, deletion (which checks aliases).
	mu sync.Mutex
	// now is the clock; tests replace it.
	now func() time.Time
}

// Open opens the store at root, creating the directory if needed.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("cannot open registry: root directory must not be empty")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot open registry at %q: %w", root, err)
	}
	return &Store{root: root, now: time.Now}, nil
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// ModelPath returns the path of the model file of a version. It does not
// check that the version exists.
func (s *Store) ModelPath(model, version string) string {
	return filepath.Join(s.root, model, version, modelFile)
}

func (s *Store) modelDir(model string) string { return filepath.Join(s.root, model) }

// Register stores a new version: model is the ONNX file, v its metadata.
// It validates the names and v.Signature, sets v.ModelSHA256 (and
// v.CreatedAt when zero), and fails with ErrExists when the version is
// already registered. Either the whole version becomes visible or none of it
// does: it is written to a temporary directory and renamed into place, so
// among concurrent registrations of the same version exactly one succeeds.
func (s *Store) Register(v *Version, model []byte) error {
	return s.RegisterWith(v, model, nil)
}

// RegisterWith is Register with artifacts stored beside the model file
// (name → contents), in the same atomic step: a version is never seen
// without its files. Names match [a-z0-9][a-z0-9._-]* and may not be the
// store's own files; v.Files is set to their hashes.
func (s *Store) RegisterWith(v *Version, model []byte, files map[string][]byte) error {
	if len(model) == 0 {
		return s.register(v, nil)
	}
	src := map[string]source{modelFile: bytesSource(model)}
	for name, data := range files {
		if err := validateFileName(name); err != nil {
			return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
		}
		src[name] = bytesSource(data)
	}
	return s.register(v, src)
}

// RegisterFiles is RegisterWith from files on disk, copied (and hashed) as
// they stream, so a model of any size registers in bounded memory:
// modelPath is the ONNX file, data the files its tensors keep their data in
// (external data), by the name the model refers to them by, each stored
// beside model.onnx under that name. Names are plain file names
// ([A-Za-z0-9._-], not starting with a dot) and may not be the store's own.
// artifacts are stored too, as RegisterWith's files are.
func (s *Store) RegisterFiles(v *Version, modelPath string, data map[string]string, artifacts map[string][]byte) error {
	src := map[string]source{modelFile: fileSource(modelPath)}
	for name, path := range data {
		if err := validateDataFileName(name); err != nil {
			return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
		}
		src[name] = fileSource(path)
	}
	for name, b := range artifacts {
		if err := validateFileName(name); err != nil {
			return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
		}
		if _, dup := src[name]; dup {
			return fmt.Errorf("cannot register %s@%s: %w: the model keeps tensor data in %q, the name of an artifact", v.Model, v.Version, ErrInvalidModel, name)
		}
		src[name] = bytesSource(b)
	}
	return s.register(v, src)
}

// source is where one file of a version comes from.
type source interface {
	open() (io.ReadCloser, error)
}

type bytesSource []byte

func (b bytesSource) open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }

type fileSource string

func (p fileSource) open() (io.ReadCloser, error) { return os.Open(string(p)) }

// register writes a version: files (model.onnx among them) into a temporary
// directory, then metadata.json, then renames it into place.
func (s *Store) register(v *Version, files map[string]source) error {
	if v == nil {
		return errors.New("cannot register: version metadata is nil")
	}
	if err := ValidateModelName(v.Model); err != nil {
		return fmt.Errorf("cannot register: %w", err)
	}
	if err := ValidateVersion(v.Version); err != nil {
		return fmt.Errorf("cannot register model %q: %w", v.Model, err)
	}
	if err := v.Signature.Validate(); err != nil {
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	if _, ok := files[modelFile]; !ok {
		return fmt.Errorf("cannot register %s@%s: the model file is empty", v.Model, v.Version)
	}
	for k, m := range v.Metrics {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("cannot register %s@%s: metrics[%s]: must be finite, got %v", v.Model, v.Version, k, m)
		}
	}
	dir := s.modelDir(v.Model)
	final := filepath.Join(dir, v.Version)
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("cannot register: version %q of model %q: %w", v.Version, v.Model, ErrExists)
	}
	if err := s.mkdirModel(dir); err != nil {
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	tmp, err := os.MkdirTemp(dir, tempPrefix+v.Version+"-")
	if err != nil {
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.RemoveAll(tmp)
		}
	}()
	v.Files = nil
	for name, src := range files {
		sum, size, err := copySync(filepath.Join(tmp, name), src)
		if err != nil {
			return fmt.Errorf("cannot register %s@%s: %s: %w", v.Model, v.Version, name, err)
		}
		if name == modelFile {
			if size == 0 {
				return fmt.Errorf("cannot register %s@%s: the model file is empty", v.Model, v.Version)
			}
			v.ModelSHA256 = sum
			continue
		}
		if v.Files == nil {
			v.Files = make(map[string]string, len(files)-1)
		}
		v.Files[name] = sum
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.now().UTC()
	}
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot register %s@%s: cannot encode metadata: %w", v.Model, v.Version, err)
	}
	meta = append(meta, '\n')
	// metadata.json goes last: a crash before the rename leaves only a
	// temporary directory, which listings skip.
	if err := writeFileSync(filepath.Join(tmp, metadataFile), meta); err != nil {
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	// rename(2) of a directory onto a non-empty directory fails, so the
	// first writer to get here wins and the others see ErrExists.
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Lstat(final); statErr == nil {
			return fmt.Errorf("cannot register: version %q of model %q: %w", v.Version, v.Model, ErrExists)
		}
		return fmt.Errorf("cannot register %s@%s: %w", v.Model, v.Version, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("registered %s@%s but cannot sync %q: %w", v.Model, v.Version, dir, err)
	}
	return nil
}

// copySync copies src into a new file at path, flushed to stable storage,
// and returns the hex SHA-256 and size of what it copied.
func copySync(path string, src source) (sum string, size int64, err error) {
	in, err := src.open()
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = in.Close() }()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), in)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// Get returns the metadata of a version.
func (s *Store) Get(model, version string) (*Version, error) {
	if err := ValidateModelName(model); err != nil {
		return nil, err
	}
	if err := ValidateVersion(version); err != nil {
		return nil, fmt.Errorf("model %q: %w", model, err)
	}
	path := filepath.Join(s.modelDir(model), version, metadataFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if err := s.checkModel(model); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("version %q of model %q: %w", version, model, ErrNotFound)
		}
		return nil, fmt.Errorf("cannot read %s@%s: %w", model, version, err)
	}
	v := new(Version)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", path, err)
	}
	if v.Model != model || v.Version != version {
		return nil, fmt.Errorf("%q describes %s@%s, not %s@%s: the store was modified outside the registry", path, v.Model, v.Version, model, version)
	}
	return v, nil
}

// ReadModel returns the model file of a version after checking it against
// the SHA-256 its metadata records (ErrChecksum when they differ).
func (s *Store) ReadModel(model, version string) ([]byte, *Version, error) {
	v, err := s.Get(model, version)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(s.ModelPath(model, version))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read model file of %s@%s: %w", model, version, err)
	}
	if got := sha256Hex(data); got != v.ModelSHA256 {
		return nil, nil, fmt.Errorf("model file of %s@%s has sha256 %s, metadata says %s: %w", model, version, got, v.ModelSHA256, ErrChecksum)
	}
	return data, v, nil
}

// Verify checks a version's model file and every file registered with it
// against the SHA-256 its metadata records (ErrChecksum when one differs),
// reading them as a stream: what the router does before it serves a
// version, whatever its size.
func (s *Store) Verify(model, version string) (*Version, error) {
	v, err := s.Get(model, version)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.modelDir(model), version)
	check := func(name, want string) error {
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("cannot read %s of %s@%s: %w", name, model, version, err)
		}
		if got != want {
			return fmt.Errorf("%s of %s@%s has sha256 %s, metadata says %s: %w", name, model, version, got, want, ErrChecksum)
		}
		return nil
	}
	if err := check(modelFile, v.ModelSHA256); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(v.Files)) {
		if err := check(name, v.Files[name]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
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

// ReadFile returns an artifact of a version (see RegisterWith) after
// checking it against the SHA-256 its metadata records. A version registered
// without that file gives ErrNotFound.
func (s *Store) ReadFile(model, version, name string) ([]byte, error) {
	v, err := s.Get(model, version)
	if err != nil {
		return nil, err
	}
	want, ok := v.Files[name]
	if !ok {
		return nil, fmt.Errorf("file %q of %s@%s: %w", name, model, version, ErrNotFound)
	}
	data, err := os.ReadFile(filepath.Join(s.modelDir(model), version, name))
	if err != nil {
		return nil, fmt.Errorf("cannot read file %q of %s@%s: %w", name, model, version, err)
	}
	if got := sha256Hex(data); got != want {
		return nil, fmt.Errorf("file %q of %s@%s has sha256 %s, metadata says %s: %w", name, model, version, got, want, ErrChecksum)
	}
	return data, nil
}

// validateFileName refuses artifact names that are not plain file names or
// that are the store's own.
func validateFileName(name string) error {
	if name == modelFile || name == metadataFile || !validName(name, isLowerOrDigit, isFileRest) {
		return fmt.Errorf("file name %q: %w: must match [a-z0-9][a-z0-9._-]* and not be %s or %s", name, ErrInvalidName, modelFile, metadataFile)
	}
	return nil
}

func isFileRest(c byte) bool { return isLowerOrDigit(c) || c == '.' || c == '_' || c == '-' }

// validateDataFileName refuses external data names that are not plain file
// names in the model's folder, or that are the store's own.
func validateDataFileName(name string) error {
	ok := name != "" && name[0] != '.' && name != modelFile && name != metadataFile && name != aliasesFile
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("external data file %q: %w: must be a file beside the model named with [A-Za-z0-9._-], not starting with a dot, and not %s or %s",
			name, ErrInvalidName, modelFile, metadataFile)
	}
	return nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Resolve returns the version that ref names: a version ("1.2.0"), an alias
// ("staging"), or "" for the "production" alias. Versions start with a digit
// and aliases with a letter, so a ref is never both. The alias "latest",
// unless set explicitly, names the highest registered version.
func (s *Store) Resolve(model, ref string) (*Version, error) {
	if ref == "" {
		ref = ProductionAlias
	}
	if _, ok := parseVersion(ref); ok {
		return s.Get(model, ref)
	}
	if err := ValidateAliasName(ref); err != nil {
		return nil, fmt.Errorf("model %q: ref must be a version or an alias: %w", model, err)
	}
	aliases, err := s.Aliases(model)
	if err != nil {
		return nil, err
	}
	version, ok := aliases[ref]
	if !ok && ref == LatestAlias {
		versions, err := s.Versions(model)
		if err != nil {
			return nil, err
		}
		if len(versions) > 0 {
			version, ok = versions[len(versions)-1], true
		}
	}
	if !ok {
		hint := ""
		if ref == ProductionAlias {
			hint = " (promote a version with Promote or SetAlias, or name a version explicitly)"
		}
		return nil, fmt.Errorf("alias %q of model %q: %w%s", ref, model, ErrNotFound, hint)
	}
	v, err := s.Get(model, version)
	if err != nil {
		return nil, fmt.Errorf("alias %q of model %q points at a missing version: %w", ref, model, err)
	}
	return v, nil
}

// Versions returns the versions of model in ascending version order.
func (s *Store) Versions(model string) ([]string, error) {
	if err := s.checkModel(model); err != nil {
		return nil, err
	}
	return s.versions(model)
}

func (s *Store) versions(model string) ([]string, error) {
	entries, err := os.ReadDir(s.modelDir(model))
	if err != nil {
		return nil, fmt.Errorf("cannot list versions of model %q: %w", model, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && ValidateVersion(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, CompareVersions)
	return out, nil
}

// Models returns the models that have at least one version, sorted by name.
func (s *Store) Models() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("cannot list models in %q: %w", s.root, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || ValidateModelName(e.Name()) != nil {
			continue
		}
		versions, err := s.versions(e.Name())
		if err != nil {
			return nil, err
		}
		if len(versions) > 0 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// mkdirModel creates a model's directory, syncing the root when it is new,
// so that a registered version survives a power cut with its directory.
func (s *Store) mkdirModel(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return syncDir(s.root)
}

// checkModel returns ErrInvalidName or ErrNotFound unless model has a
// directory in the store.
func (s *Store) checkModel(model string) error {
	if err := ValidateModelName(model); err != nil {
		return err
	}
	fi, err := os.Stat(s.modelDir(model))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("model %q: %w", model, ErrNotFound)
	case err != nil:
		return fmt.Errorf("cannot read model %q: %w", model, err)
	case !fi.IsDir():
		return fmt.Errorf("model %q: %q is not a directory: %w", model, s.modelDir(model), ErrNotFound)
	}
	return nil
}

// writeFileSync creates path with data and flushes it to stable storage.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// writeFileAtomic replaces dir/name with data: temporary file in dir, fsync,
// rename, fsync of dir. Readers see the old or the new file, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, tempPrefix+strings.TrimSuffix(name, filepath.Ext(name))+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir flushes a directory's entries (new or renamed files) to stable
// storage. Some platforms cannot open a directory for sync; that is not an
// error there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && (errors.Is(err, os.ErrInvalid) || errors.Is(err, errors.ErrUnsupported)) {
		return nil
	}
	return err
}
