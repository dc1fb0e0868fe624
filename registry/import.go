package registry

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/infergate/infergate/internal/onnxpb"
)

// ImportedBy is the Lineage.TrainerVersion of a version Import registered:
// it was brought, not trained.
const ImportedBy = "import"

// ErrInvalidModel: an imported file is not a model infergate can serve (it
// does not load, or does not run on inputs of its declared shape), or its
// signature file does not fit it. The message says what failed.
var ErrInvalidModel = errors.New("invalid model")

// CheckFunc proves a model serves, as ONNX Runtime would run it: it loads
// the file at path with shapes narrowing its dynamic dimensions (by tensor
// name; nil for none) and noBatch saying the first dimension is not a
// batch, runs it once on inputs of its declared shape (dynamic dimensions
// at 1), and returns its inputs and outputs as narrowed. The composition
// root gives one that uses package runtime; the registry knows nothing of
// ONNX Runtime.
type CheckFunc func(path string, shapes map[string][]int64, noBatch bool) (ins, outs []TensorSpec, err error)

// ImportRequest is a model file a user brings.
type ImportRequest struct {
	Model, Version string
	// Source is the ONNX file, or a folder holding it (model.onnx, or its
	// only .onnx file) with the files its tensors keep their data in.
	Source string
	// Name is what messages and the lineage call the source; default
	// Source ("the upload", for the admin API's temporary folder).
	Name string
	// Signature is what the user says of the model; nil: every output raw,
	// shapes as the model declares them.
	Signature *SignatureFile
	// Alias is moved to the new version; "" moves production when the
	// model had no version before, and none otherwise.
	Alias string
	// By and Reason go to the alias log with the move.
	By, Reason string
	// Check loads and runs the model; required.
	Check CheckFunc
	// Artifacts, when set, makes the files stored with the version from its
	// signature (the drift reference of sample inputs, DriftProfileFile);
	// its error refuses the import.
	Artifacts func(sig *Signature) (map[string][]byte, error)
}

// Import registers a model a user brings: it finds its file (and external
// data), checks it with req.Check, writes its signature from what ONNX
// Runtime reads and what the signature file says, registers it (streaming
// the files, so size costs no memory) and moves the alias. Errors wrap
// ErrInvalidModel (the model or its signature is at fault), ErrExists,
// ErrInvalidName or an I/O error.
func (s *Store) Import(req ImportRequest) (*Version, error) {
	if req.Check == nil {
		return nil, errors.New("BUG: ImportRequest.Check is nil")
	}
	if err := ValidateModelName(req.Model); err != nil {
		return nil, fmt.Errorf("cannot import: %w", err)
	}
	if err := ValidateVersion(req.Version); err != nil {
		return nil, fmt.Errorf("cannot import model %q: %w", req.Model, err)
	}
	if req.Alias != "" {
		if err := ValidateAliasName(req.Alias); err != nil {
			return nil, fmt.Errorf("cannot import %s@%s: %w", req.Model, req.Version, err)
		}
	}
	if _, err := s.Get(req.Model, req.Version); err == nil {
		return nil, fmt.Errorf("cannot import: version %q of model %q: %w", req.Version, req.Model, ErrExists)
	}
	name := cmp.Or(req.Name, req.Source)
	modelPath, data, err := findModelFiles(req.Source)
	if err != nil {
		return nil, fmt.Errorf("cannot import %s: %w", name, hidePath(err, req.Source, name))
	}
	sig, err := checkSignature(modelPath, req.Signature, req.Check)
	if err != nil {
		return nil, fmt.Errorf("cannot import %s as %s@%s: %w", name, req.Model, req.Version, hidePath(err, req.Source, name))
	}
	hadVersions := false
	if vs, err := s.Versions(req.Model); err == nil && len(vs) > 0 {
		hadVersions = true
	}
	v := &Version{
		Model:     req.Model,
		Version:   req.Version,
		Signature: *sig,
		Lineage: Lineage{
			DataPath:       name,
			TrainerVersion: ImportedBy,
			Params:         map[string]string{"imported_file": filepath.Base(modelPath)},
		},
	}
	var artifacts map[string][]byte
	if req.Artifacts != nil {
		if artifacts, err = req.Artifacts(sig); err != nil {
			return nil, fmt.Errorf("cannot import %s as %s@%s: %w", name, req.Model, req.Version, err)
		}
	}
	if err := s.RegisterFiles(v, modelPath, data, artifacts); err != nil {
		return nil, err
	}
	alias := req.Alias
	if alias == "" && !hadVersions {
		alias = ProductionAlias
	}
	if alias != "" {
		reason := req.Reason
		if reason == "" {
			reason = "imported"
		}
		if _, err := s.Promote(req.Model, req.Version, alias, PromoteOptions{By: req.By, Reason: reason}); err != nil {
			return v, fmt.Errorf("imported %s@%s but cannot set alias %q: %w", req.Model, req.Version, alias, err)
		}
	}
	return v, nil
}

// hidePath rewrites the source's path in err's message as name, so that
// an upload's answer does not show the server's folders.
func hidePath(err error, source, name string) error {
	if name == source {
		return err
	}
	return &renamedError{msg: strings.ReplaceAll(err.Error(), source, name), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// findModelFiles returns the model file source names (it, or the model in
// the folder it names) and its external data files by the names the model
// uses, each checked to exist beside it.
func findModelFiles(source string) (modelPath string, data map[string]string, err error) {
	fi, err := os.Stat(source)
	if err != nil {
		return "", nil, err
	}
	modelPath = source
	if fi.IsDir() {
		if modelPath, err = modelInFolder(source); err != nil {
			return "", nil, err
		}
	}
	raw, err := os.ReadFile(modelPath)
	if err != nil {
		return "", nil, err
	}
	locations, err := onnxpb.ExternalData(raw)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, modelPath, err)
	}
	dir := filepath.Dir(modelPath)
	data = map[string]string{}
	for _, loc := range locations {
		if strings.ContainsAny(loc, `/\`) || loc == ".." {
			return "", nil, fmt.Errorf("%w: %s keeps tensor data in %q: infergate stores external data beside the model; re-save the model with its data files in its folder",
				ErrInvalidModel, modelPath, loc)
		}
		if err := validateDataFileName(loc); err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
		}
		p := filepath.Join(dir, loc)
		st, err := os.Stat(p)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s keeps tensor data in %s: %w", ErrInvalidModel, modelPath, loc, err)
		}
		if !st.Mode().IsRegular() {
			return "", nil, fmt.Errorf("%w: external data %s is not a regular file", ErrInvalidModel, p)
		}
		data[loc] = p
	}
	return modelPath, data, nil
}

// modelInFolder finds the model of a folder: model.onnx, else its only
// .onnx file.
func modelInFolder(dir string) (string, error) {
	if p := filepath.Join(dir, modelFile); fileExists(p) {
		return p, nil
	}
	matches, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w: the folder holds no .onnx file", fs.ErrNotExist)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("%w: the folder holds %d .onnx files and no model.onnx; name the one to import", ErrInvalidModel, len(matches))
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// checkSignature runs the model through check as it will serve (with the
// shapes and batch mode its signature file gives) and builds its signature
// from the tensors ONNX Runtime reads and what the file says of them.
func checkSignature(modelPath string, file *SignatureFile, check CheckFunc) (*Signature, error) {
	var shapes map[string][]int64
	noBatch := false
	if file != nil {
		shapes, noBatch = fileShapes(file), file.Batch == BatchNone
	}
	ins, outs, err := check(modelPath, shapes, noBatch)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	sig := Signature{Inputs: ins}
	for _, o := range outs {
		sig.Outputs = append(sig.Outputs, OutputSpec{TensorSpec: o, Kind: KindRaw})
	}
	if file != nil {
		if err := file.apply(&sig); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
		}
	}
	for i := range sig.Outputs {
		if sig.Outputs[i].Kind == "" {
			sig.Outputs[i].Kind = KindRaw
		}
	}
	if sig.Tabular() {
		// A tabular model's one input is what its features encode into.
		if len(sig.Inputs) != 1 || sig.Inputs[0].Name != sig.Input {
			return nil, fmt.Errorf("%w: signature.input %q: a tabular model has one input, its features' tensor; the model has %s",
				ErrInvalidModel, sig.Input, specNames(sig.Inputs))
		}
		in := sig.Inputs[0]
		if w := int64(sig.Width()); in.DType != "float32" || len(in.Shape) != 2 || in.Shape[1] != -1 && in.Shape[1] != w {
			return nil, fmt.Errorf("%w: input %q is %s %v, but the features encode into float32 [-1,%d]", ErrInvalidModel, in.Name, in.DType, in.Shape, w)
		}
		sig.Inputs[0].Shape = []int64{in.Shape[0], int64(sig.Width())}
	}
	if err := sig.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	return &sig, nil
}

// fileShapes are the shapes a signature file gives, by tensor name.
func fileShapes(f *SignatureFile) map[string][]int64 {
	m := map[string][]int64{}
	for _, in := range f.Inputs {
		if in.Shape != nil {
			m[in.Name] = in.Shape
		}
	}
	for _, out := range f.Outputs {
		if out.Shape != nil {
			m[out.Name] = out.Shape
		}
	}
	return m
}
