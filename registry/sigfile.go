package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/infergate/infergate/internal/yamlstrict"
)

// SignatureFile is what a user says of a model they import, in YAML, as
// Triton's model configuration and label files say it:
//
//	batch: none                 # optional: requests never batch (default: when the shapes allow)
//	inputs:                     # optional: narrow dynamic dimensions
//	  - name: x
//	    shape: [-1, 3, 48, 192]
//	outputs:                    # optional: what outputs mean (default raw)
//	  - name: softmax_0.tmp_0
//	    kind: probabilities     # probabilities, label, score (regression), embedding, raw
//	    labels: ["0", "180"]    # or labels_file: labels.txt, one per line
//	  - name: probability
//	    kind: probabilities
//	    thresholds: [{min: 0, label: stay}, {min: 0.5, label: churn}]
//	pad:                        # optional: a dimension requests may be padded along, to batch nearby lengths
//	  - input: x
//	    dim: 3
//	    value: 0
//	    to_multiple_of: 32
//	    crop: [{output: softmax_11.tmp_0, dim: 1, divide: 8, add: 3}]   # cut back to floor((width + 3) / 8)
//	input: features             # a tabular model: the input its features encode into
//	features: [...]             # and the features, as the trainer writes them
//
// Every name must be one of the model's; Import checks them against it.
type SignatureFile struct {
	Batch   string       `yaml:"batch"`
	Inputs  []FileInput  `yaml:"inputs"`
	Outputs []FileOutput `yaml:"outputs"`
	Input   string       `yaml:"input"`
	// Features are a tabular model's, with the fields of Feature.
	Features []FileFeature `yaml:"features"`
	// Pad are the pad rules, with the fields of PadRule.
	Pad []FilePad `yaml:"pad"`
}

// FilePad is one pad rule (see PadRule).
type FilePad struct {
	Input        string     `yaml:"input"`
	Dim          int        `yaml:"dim"`
	Value        float64    `yaml:"value"`
	ToMultipleOf int64      `yaml:"to_multiple_of"`
	Crop         []FileCrop `yaml:"crop"`
}

// FileCrop is one crop rule (see CropRule).
type FileCrop struct {
	Output string `yaml:"output"`
	Dim    int    `yaml:"dim"`
	Divide int64  `yaml:"divide"`
	Add    int64  `yaml:"add"`
}

// FileInput narrows one input's shape.
type FileInput struct {
	Name  string  `yaml:"name"`
	Shape []int64 `yaml:"shape"`
}

// FileOutput says what one output means.
type FileOutput struct {
	Name       string      `yaml:"name"`
	Shape      []int64     `yaml:"shape"`
	Kind       string      `yaml:"kind"`
	Labels     []string    `yaml:"labels"`
	LabelsFile string      `yaml:"labels_file"`
	Thresholds []FileLabel `yaml:"thresholds"`
}

// FileLabel is one threshold: the label of probabilities from Min up.
type FileLabel struct {
	Min   float64 `yaml:"min"`
	Label string  `yaml:"label"`
}

// FileFeature is one feature of a tabular model (see Feature).
type FileFeature struct {
	Name       string   `yaml:"name"`
	Type       string   `yaml:"type"`
	Required   bool     `yaml:"required"`
	Mean       float64  `yaml:"mean"`
	Std        float64  `yaml:"std"`
	Impute     float64  `yaml:"impute"`
	Vocabulary []string `yaml:"vocabulary"`
}

// maxLabels bounds a labels file: more classes than any classifier has.
const maxLabels = 1 << 20

// ParseSignatureFile decodes a signature file strictly (unknown keys are
// errors naming their line and path). dir is the folder labels_file paths
// are relative to; "" refuses them (a signature sent to the admin API
// carries its labels inline).
func ParseSignatureFile(data []byte, dir string) (*SignatureFile, error) {
	var f SignatureFile
	if err := yamlstrict.Decode(data, &f, "the keys are batch, inputs, outputs, pad, input and features (docs: README, Serve your own model)"); err != nil {
		return nil, fmt.Errorf("cannot decode the signature file:\n%w", err)
	}
	if f.Batch == "auto" {
		f.Batch = BatchAuto
	}
	for i := range f.Outputs {
		o := &f.Outputs[i]
		if o.Kind == "regression" {
			o.Kind = string(KindScore)
		}
		if o.LabelsFile == "" {
			continue
		}
		if len(o.Labels) > 0 {
			return nil, fmt.Errorf("outputs[%s]: give labels or labels_file, not both", o.Name)
		}
		if dir == "" {
			return nil, fmt.Errorf("outputs[%s].labels_file: give the labels inline (labels: [...]) here", o.Name)
		}
		labels, err := readLabels(filepath.Join(dir, o.LabelsFile))
		if err != nil {
			return nil, fmt.Errorf("outputs[%s].labels_file: %w", o.Name, err)
		}
		o.Labels, o.LabelsFile = labels, ""
	}
	return &f, nil
}

// LoadSignatureFile reads and parses the signature file at path; its
// labels files are relative to its folder.
func LoadSignatureFile(path string) (*SignatureFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read signature file: %w", err)
	}
	f, err := ParseSignatureFile(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// readLabels reads one label per line, as Triton's label files hold them;
// a trailing empty line is not a label.
func readLabels(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if text == "" {
		return nil, errors.New("the labels file is empty")
	}
	labels := strings.Split(text, "\n")
	if len(labels) > maxLabels {
		return nil, fmt.Errorf("%d labels, more than %d", len(labels), maxLabels)
	}
	return labels, nil
}

// apply merges the file into sig, whose Inputs and Outputs the model gave:
// it narrows shapes, sets kinds, labels and thresholds, the batch mode and
// a tabular model's features. Every name must be the model's.
func (f *SignatureFile) apply(sig *Signature) error {
	var errs []error
	sig.Batch = f.Batch
	for _, in := range f.Inputs {
		k := indexOf(len(sig.Inputs), func(i int) string { return sig.Inputs[i].Name }, in.Name)
		if k < 0 {
			errs = append(errs, fmt.Errorf("signature file: inputs[%s]: the model has no input %q; its inputs are %s", in.Name, in.Name, specNames(sig.Inputs)))
			continue
		}
		if in.Shape != nil {
			sig.Inputs[k].Shape = in.Shape
		}
	}
	for _, out := range f.Outputs {
		k := indexOf(len(sig.Outputs), func(i int) string { return sig.Outputs[i].Name }, out.Name)
		if k < 0 {
			names := make([]TensorSpec, len(sig.Outputs))
			for i := range sig.Outputs {
				names[i] = sig.Outputs[i].TensorSpec
			}
			errs = append(errs, fmt.Errorf("signature file: outputs[%s]: the model has no output %q; its outputs are %s", out.Name, out.Name, specNames(names)))
			continue
		}
		o := &sig.Outputs[k]
		if out.Shape != nil {
			o.Shape = out.Shape
		}
		o.Kind = OutputKind(out.Kind)
		o.Labels = out.Labels
		o.Thresholds = nil
		for _, t := range out.Thresholds {
			o.Thresholds = append(o.Thresholds, Label(t))
		}
	}
	sig.Pad = nil
	for _, p := range f.Pad {
		rule := PadRule{Input: p.Input, Dim: p.Dim, Value: p.Value, ToMultipleOf: p.ToMultipleOf}
		for _, c := range p.Crop {
			rule.Crop = append(rule.Crop, CropRule(c))
		}
		sig.Pad = append(sig.Pad, rule)
	}
	sig.Input = f.Input
	sig.Features = nil
	for _, ff := range f.Features {
		sig.Features = append(sig.Features, Feature{Name: ff.Name, Type: FeatureType(ff.Type), Required: ff.Required,
			Mean: ff.Mean, Std: ff.Std, Impute: ff.Impute, Vocabulary: ff.Vocabulary})
	}
	return errors.Join(errs...)
}

func indexOf(n int, name func(int) string, want string) int {
	for i := range n {
		if name(i) == want {
			return i
		}
	}
	return -1
}

func specNames(specs []TensorSpec) string {
	names := make([]string, len(specs))
	for i, t := range specs {
		names[i] = fmt.Sprintf("%q", t.Name)
	}
	return strings.Join(names, ", ")
}
