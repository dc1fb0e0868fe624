package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/runtime"
)

// importModel runs `infergate registry import FILE --model NAME --version V`.
func (c *registryCmd) importModel() error {
	if err := c.want(1, 1, "FILE.onnx or a FOLDER with the model and its data files"); err != nil {
		return err
	}
	if c.model == "" || c.version == "" {
		return c.misuse("registry import needs --model NAME and --version V")
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if c.root == "" {
		c.root = cfg.Registry.Root
	}
	store, err := registry.Open(c.root)
	if err != nil {
		return err
	}
	c.store = store
	var sig *registry.SignatureFile
	if c.signature != "" {
		if sig, err = registry.LoadSignatureFile(c.signature); err != nil {
			return err
		}
	}
	env, err := runtime.Open(cfg.Runtime)
	if err != nil {
		return err
	}
	defer func() { _ = env.Close() }()
	req := registry.ImportRequest{
		Model: c.model, Version: c.version, Source: c.args[0], Signature: sig,
		Alias: c.aliasName, By: c.by, Check: modelChecker(env),
	}
	if len(c.samples) > 0 {
		samples := make([]gateway.Sample, len(c.samples))
		for i, path := range c.samples {
			body, err := readSample(path)
			if err != nil {
				return err
			}
			samples[i] = gateway.Sample{Name: path, Body: body}
		}
		req.Artifacts = gateway.SampleArtifacts(samples)
	}
	v, err := store.Import(req)
	if err != nil {
		return err
	}
	aliases, err := store.Aliases(v.Model)
	if err != nil {
		return err
	}
	if c.json {
		return c.out(v)
	}
	if _, err := fmt.Fprintf(c.stdout, "imported %s as %s %s\n\n", c.args[0], v.Model, v.Version); err != nil {
		return err
	}
	return c.showVersion(v, versionAliases(aliases, v.Version))
}

// readSample reads a sample request file, refusing one over
// gateway.MaxSampleBytes before reading it.
func readSample(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--sample: %w", err)
	}
	if st.Size() > gateway.MaxSampleBytes {
		return nil, fmt.Errorf("--sample %s: %d bytes, at most %d: a sample is one request", path, st.Size(), gateway.MaxSampleBytes)
	}
	return os.ReadFile(path)
}

// modelChecker is the registry's CheckFunc over ONNX Runtime: it loads the
// model as a route would serve it and runs it once.
func modelChecker(env *runtime.Environment) registry.CheckFunc {
	return func(path string, shapes map[string][]int64, noBatch bool) (ins, outs []registry.TensorSpec, err error) {
		rins, routs, err := env.Check(path, runtime.SessionOptions{Shapes: shapes, NoBatch: noBatch})
		if err != nil {
			return nil, nil, err
		}
		return tensorSpecs(rins), tensorSpecs(routs), nil
	}
}

func tensorSpecs(infos []runtime.TensorInfo) []registry.TensorSpec {
	specs := make([]registry.TensorSpec, len(infos))
	for i, t := range infos {
		specs[i] = registry.TensorSpec{Name: t.Name, DType: t.DType.String(), Shape: slices.Clone(t.Shape)}
	}
	return specs
}

// versionAliases lists, sorted, the aliases that name version.
func versionAliases(aliases map[string]string, version string) []string {
	var names []string
	for a, v := range aliases {
		if v == version {
			names = append(names, a)
		}
	}
	slices.Sort(names)
	return names
}

// tensorLine describes a tensor for show: float32 [-1,3,48,192].
func tensorLine(t registry.TensorSpec) string {
	return t.DType + " " + tensor.ShapeString(t.Shape)
}
