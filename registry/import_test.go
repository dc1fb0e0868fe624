package registry

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infergate/infergate/internal/onnxpb"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/runtime"
)

var testEnv = sync.OnceValues(func() (*runtime.Environment, error) { return runtime.Open(runtime.Config{}) })

// ortCheck is the CheckFunc `infergate registry import` uses: real ONNX
// Runtime.
func ortCheck(t *testing.T) CheckFunc {
	t.Helper()
	env, err := testEnv()
	if err != nil {
		t.Fatal(err)
	}
	specs := func(infos []runtime.TensorInfo) []TensorSpec {
		out := make([]TensorSpec, len(infos))
		for i, ti := range infos {
			out[i] = TensorSpec{Name: ti.Name, DType: ti.DType.String(), Shape: ti.Shape}
		}
		return out
	}
	return func(path string, shapes map[string][]int64, noBatch bool) ([]TensorSpec, []TensorSpec, error) {
		ins, outs, err := env.Check(path, runtime.SessionOptions{Shapes: shapes, NoBatch: noBatch})
		if err != nil {
			return nil, nil, err
		}
		return specs(ins), specs(outs), nil
	}
}

func writeONNX(t *testing.T, dir string, m *onnxpb.Model) string {
	t.Helper()
	p := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(p, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sigFile(t *testing.T, yaml string) *SignatureFile {
	t.Helper()
	f, err := ParseSignatureFile([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestImportRealModels(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	v, err := s.Import(ImportRequest{Model: "ocr", Version: "1.0.0", Source: ocr, Check: ortCheck(t), By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	want := Signature{
		Inputs:  []TensorSpec{{Name: "x", DType: "float32", Shape: []int64{-1, 3, -1, -1}}},
		Outputs: []OutputSpec{{TensorSpec: TensorSpec{Name: "softmax_0.tmp_0", DType: "float32", Shape: []int64{-1, 2}}, Kind: KindRaw}},
	}
	if !reflect.DeepEqual(v.Signature, want) {
		t.Errorf("signature %+v, want %+v", v.Signature, want)
	}
	if a, _ := s.Aliases("ocr"); a[ProductionAlias] != "1.0.0" {
		t.Errorf("aliases after the first import: %v, want production=1.0.0", a)
	}
	// The second version, with a signature: shapes narrowed, kinds and
	// labels, no alias moved.
	v2, err := s.Import(ImportRequest{Model: "ocr", Version: "1.1.0", Source: ocr, Check: ortCheck(t), Signature: sigFile(t, `
inputs:
  - {name: x, shape: [-1, 3, 48, 192]}
outputs:
  - {name: softmax_0.tmp_0, kind: probabilities, labels: ["0", "180"]}
`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := v2.Signature.Inputs[0].Shape; !slices.Equal(got, []int64{-1, 3, 48, 192}) {
		t.Errorf("narrowed input shape %v", got)
	}
	if o := v2.Signature.Outputs[0]; o.Kind != KindProbabilities || !slices.Equal(o.Labels, []string{"0", "180"}) {
		t.Errorf("output %+v", o)
	}
	if a, _ := s.Aliases("ocr"); a[ProductionAlias] != "1.0.0" || len(a) != 1 {
		t.Errorf("aliases after the second import: %v, want production=1.0.0 alone", a)
	}
	if _, err := s.Verify("ocr", "1.1.0"); err != nil {
		t.Error(err)
	}
	// A model with no batch dimension; imported under another alias.
	if _, err := s.Import(ImportRequest{Model: "wake", Version: "1.0.0", Source: testmodels.Path(t, testmodels.WakeWord), Check: ortCheck(t), Alias: "staging"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Aliases("wake"); a["staging"] != "1.0.0" || a[ProductionAlias] != "" {
		t.Errorf("aliases of an import with --alias staging: %v", a)
	}
	if _, err := s.Import(ImportRequest{Model: "ocr", Version: "1.1.0", Source: ocr, Check: ortCheck(t)}); !errors.Is(err, ErrExists) {
		t.Errorf("importing an existing version: %v, want ErrExists", err)
	}
}

// TestImportExternalData: a folder with the model and the file its weights
// live in imports whole, serves from the registry, and a folder missing the
// file is refused naming it.
func TestImportExternalData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := onnxpb.Tensor{Name: "W", Dims: []int64{3, 1}, Data: []float32{1, 2, 3}, External: "weights.bin"}
	writeONNX(t, dir, &onnxpb.Model{Graph: onnxpb.Graph{
		Name:         "external",
		Nodes:        []onnxpb.Node{{Op: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"y"}}},
		Initializers: []onnxpb.Tensor{w},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 3}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 1}}}},
	}})
	s := openStore(t)
	req := ImportRequest{Model: "ext", Version: "1.0.0", Source: dir, Check: ortCheck(t)}
	if _, err := s.Import(req); !errors.Is(err, ErrInvalidModel) || !strings.Contains(err.Error(), "keeps tensor data in weights.bin") {
		t.Errorf("import without its data file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), w.RawData(), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := s.Import(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.Files["weights.bin"]; !ok {
		t.Fatalf("files %v: the data file is not registered", v.Files)
	}
	if _, err := s.Verify("ext", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	// It runs from the registry's copy.
	env, _ := testEnv()
	sess, err := env.NewSession(s.ModelPath("ext", "1.0.0"), runtime.SessionOptions{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }()
	in, err := sess.Input(0, []int64{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	copy(tensor.Float32s(in.Data), []float32{1, 1, 2})
	if err := sess.Run(); err != nil {
		t.Fatal(err)
	}
	if got := tensor.Float32s(sess.Output(0).Data); got[0] != 9 {
		t.Errorf("x·W = %v, want 9", got)
	}
	// A damaged data file fails verification.
	if err := os.WriteFile(filepath.Join(s.Root(), "ext", "1.0.0", "weights.bin"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify("ext", "1.0.0"); !errors.Is(err, ErrChecksum) {
		t.Errorf("Verify of a damaged data file: %v, want ErrChecksum", err)
	}
}

func TestImportRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("\x08\x07not a model at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	badDir := t.TempDir()
	bad := writeONNX(t, badDir, &onnxpb.Model{Graph: onnxpb.Graph{
		Name:         "bad",
		Nodes:        []onnxpb.Node{{Op: "Reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}}},
		Initializers: []onnxpb.Tensor{{Name: "shape", Dims: []int64{2}, Type: onnxpb.Int64, Int64s: []int64{5, 7}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 3}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 5}, {Value: 7}}}},
	}})
	ocr := testmodels.Path(t, testmodels.OCRClassifier)
	s := openStore(t)
	f := func(name string, req ImportRequest, want ...string) {
		t.Helper()
		req.Model, req.Check = "m", ortCheck(t)
		if req.Version == "" {
			req.Version = "1.0.0"
		}
		_, err := s.Import(req)
		if err == nil {
			t.Errorf("%s: imported, want an error", name)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, err, w)
			}
		}
	}
	f("garbage", ImportRequest{Source: garbage}, "invalid model", "garbage.onnx")
	f("missing file", ImportRequest{Source: filepath.Join(dir, "nope.onnx")}, "no such file")
	f("empty folder", ImportRequest{Source: t.TempDir()}, "the folder holds no .onnx file")
	f("does not run", ImportRequest{Source: bad}, "invalid model", "failed on inputs x [1,3]")
	f("unknown output", ImportRequest{Source: ocr, Signature: sigFile(t, "outputs: [{name: prob, kind: probabilities}]")},
		`the model has no output "prob"; its outputs are "softmax_0.tmp_0"`)
	f("unknown input", ImportRequest{Source: ocr, Signature: sigFile(t, "inputs: [{name: image, shape: [-1, 3, 48, 192]}]")},
		`a shape is given for "image", which is not an input or output of the model`)
	f("kind against the type", ImportRequest{Source: ocr, Signature: sigFile(t, "outputs: [{name: softmax_0.tmp_0, kind: label}]")},
		"a label is an integer, bool or string, the output is float32")
	f("labels against the classes", ImportRequest{Source: ocr, Signature: sigFile(t, "outputs: [{name: softmax_0.tmp_0, kind: probabilities, labels: [a, b, c]}]")},
		"3 labels for 2 classes")
	f("shape against the model", ImportRequest{Source: ocr, Signature: sigFile(t, "inputs: [{name: x, shape: [-1, 4, 48, 192]}]")},
		"dimension 1 is fixed at 3 by the model")
	f("bad version", ImportRequest{Source: ocr, Version: "v1"}, "invalid name")
	f("bad alias", ImportRequest{Source: ocr, Alias: "Prod!"}, "invalid name")
	if models, _ := s.Models(); len(models) != 0 {
		t.Errorf("a refused import left models %v", models)
	}
}

// TestImportTabular: a model imported with a feature mapping is tabular:
// its signature encodes features like a trained one.
func TestImportTabular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeONNX(t, dir, &onnxpb.Model{Graph: onnxpb.Graph{
		Name: "logistic",
		Nodes: []onnxpb.Node{
			{Op: "Gemm", Inputs: []string{"features", "W", "B"}, Outputs: []string{"logit"}},
			{Op: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"probability"}},
		},
		Initializers: []onnxpb.Tensor{{Name: "W", Dims: []int64{4, 1}, Data: []float32{1, -1, 0.5, 0}}, {Name: "B", Dims: []int64{1}, Data: []float32{0}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "features", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 4}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "probability", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "n"}, {Value: 1}}}},
	}})
	labels := filepath.Join(t.TempDir(), "sig.yaml")
	if err := os.WriteFile(labels, []byte(`
input: features
features:
  - {name: tenure_months, type: numeric, mean: 30, std: 20}
  - {name: contract, type: categorical, vocabulary: [monthly, yearly]}
outputs:
  - name: probability
    kind: probabilities
    thresholds: [{min: 0, label: stay}, {min: 0.5, label: churn}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := LoadSignatureFile(labels)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	v, err := s.Import(ImportRequest{Model: "churn", Version: "1.0.0", Source: dir, Signature: file, Check: ortCheck(t)})
	if err != nil {
		t.Fatal(err)
	}
	sig := &v.Signature
	if !sig.Tabular() || sig.Width() != 4 {
		t.Fatalf("tabular %v, width %d", sig.Tabular(), sig.Width())
	}
	if o, _ := sig.FindOutput("probability"); o.LabelFor(0.7) != "churn" || o.LabelFor(0.2) != "stay" {
		t.Errorf("labels by threshold: %q, %q", o.LabelFor(0.7), o.LabelFor(0.2))
	}
	if _, err := NewEncoder(sig); err != nil {
		t.Error(err)
	}
	// Features that encode into another width than the model's input.
	wide := sigFile(t, "input: features\nfeatures: [{name: a, type: numeric}, {name: b, type: numeric}]\noutputs: [{name: probability, kind: probabilities, thresholds: [{min: 0, label: no}]}]")
	if _, err := s.Import(ImportRequest{Model: "churn", Version: "1.1.0", Source: dir, Signature: wide, Check: ortCheck(t)}); err == nil ||
		!strings.Contains(err.Error(), "the features encode into float32 [-1,2]") {
		t.Errorf("features of the wrong width: %v", err)
	}
}

func TestParseSignatureFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("cat\ndog\nbird\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ParseSignatureFile([]byte("batch: auto\noutputs:\n  - {name: p, kind: probabilities, labels_file: labels.txt}\n  - {name: v, kind: regression}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Outputs[0].Labels, []string{"cat", "dog", "bird"}) || f.Outputs[1].Kind != "score" || f.Batch != BatchAuto {
		t.Errorf("parsed %+v", f)
	}
	bad := func(yaml, want string) {
		t.Helper()
		_, err := ParseSignatureFile([]byte(yaml), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
	bad("outputs: [{name: p, kind: probabilities, lables: [a]}]", "line 1: outputs[p].lables: unknown key")
	bad("outputs: [{name: p, labels_file: labels.txt}]", "give the labels inline")
	bad("inputs: [{name: x, shape: [a]}]", "is not")
}
