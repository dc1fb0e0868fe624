package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/infergate/infergate/registry"
	"github.com/valyala/fasthttp"
)

// SetModelChecker sets what proves an uploaded model serves (the command's
// ONNX Runtime; the gateway does not import it). Without one, uploads get
// 501.
func (g *Gateway) SetModelChecker(check registry.CheckFunc) { g.checkModel.Store(&check) }

// codeInvalidModel answers a model that does not load or run, or a
// signature that does not fit it.
const codeInvalidModel = "invalid_model"

// importHelp says what an upload holds, for 400 answers.
const importHelp = "send the ONNX file as the body (Content-Type: application/octet-stream), or a multipart/form-data form " +
	"with a file part \"model\", optional file parts \"data\" (its external data files, by the names the model uses), " +
	"an optional \"signature\" (YAML), optional file parts \"sample\" (v2 inference requests, the drift reference of a model that takes tensors) " +
	"and fields \"alias\", \"by\" and \"reason\"; ?alias=, ?by= and ?reason= work with either"

// importVersion answers POST /v1/registry/models/{model}/versions/{version}:
// the upload is written to a temporary folder in the registry's root, checked
// and registered as `infergate registry import` does, then removed. It is
// size-bounded by server.admin_max_body_bytes, behind the admin token, and
// audited like every registry change.
func (g *Gateway) importVersion(ctx *fasthttp.RequestCtx, store *registry.Store, model, version string) {
	check := g.checkModel.Load()
	if check == nil {
		writeError(ctx, fasthttp.StatusNotImplemented, codeNotConfigured, "", "this gateway cannot check models; import with `infergate registry import`")
		return
	}
	dir, err := os.MkdirTemp(store.Root(), ".tmp-import-")
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	args := ctx.QueryArgs()
	req := registry.ImportRequest{
		Model: model, Version: version, Source: dir, Name: "the upload", Check: *check,
		Alias: string(args.Peek("alias")), Reason: string(args.Peek("reason")), By: by(ctx, string(args.Peek("by"))),
	}
	if field, msg := saveUpload(ctx, dir, &req); msg != "" {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, field, msg)
		return
	}
	v, err := store.Import(req)
	if err != nil {
		if errors.Is(err, ErrBadSample) {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "sample", err.Error())
			return
		}
		if errors.Is(err, registry.ErrInvalidModel) {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalidModel, "", err.Error())
			return
		}
		writeRegistryError(ctx, err)
		return
	}
	aliases, err := store.Aliases(model)
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusCreated)
	writeJSON(ctx, versionWithAliases{v, aliasesOf(aliases, version)}, "the imported version")
}

// saveUpload writes the upload's model (and data files) into dir and reads
// its signature and fields into req; it returns the field at fault and why
// when the upload does not fit.
func saveUpload(ctx *fasthttp.RequestCtx, dir string, req *registry.ImportRequest) (field, msg string) {
	if !strings.HasPrefix(string(ctx.Request.Header.ContentType()), "multipart/form-data") {
		body := ctx.PostBody()
		if len(body) == 0 {
			return "body", "the body is empty; " + importHelp
		}
		if err := os.WriteFile(filepath.Join(dir, "model.onnx"), body, 0o600); err != nil {
			return "body", "cannot store the upload: " + err.Error()
		}
		return "", ""
	}
	form, err := ctx.MultipartForm()
	if err != nil {
		return "body", "cannot read the multipart form: " + err.Error() + "; " + importHelp
	}
	defer ctx.Request.RemoveMultipartFormFiles()
	models := form.File["model"]
	if len(models) != 1 {
		return "model", fmt.Sprintf("the form holds %d \"model\" files, want 1; %s", len(models), importHelp)
	}
	if err := saveFile(models[0], filepath.Join(dir, "model.onnx")); err != nil {
		return "model", "cannot store the model: " + err.Error()
	}
	for _, fh := range form.File["data"] {
		name := filepath.Base(fh.Filename)
		if name != fh.Filename || name == "model.onnx" || strings.HasPrefix(name, ".") {
			return "data", fmt.Sprintf("data file %q: name it as the model names it, a plain file name (not model.onnx)", fh.Filename)
		}
		if err := saveFile(fh, filepath.Join(dir, name)); err != nil {
			return "data", "cannot store " + name + ": " + err.Error()
		}
	}
	value := func(key string) string {
		if v := form.Value[key]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for _, kv := range []struct {
		key string
		dst *string
	}{{"alias", &req.Alias}, {"reason", &req.Reason}} {
		if v := value(kv.key); v != "" {
			*kv.dst = v
		}
	}
	if v := value("by"); v != "" {
		req.By = v
	}
	sig := value("signature")
	if sig == "" && len(form.File["signature"]) == 1 {
		data, err := readFormFile(form.File["signature"][0], maxSignatureBytes)
		if err != nil {
			return "signature", err.Error()
		}
		sig = string(data)
	}
	if sig != "" {
		file, err := registry.ParseSignatureFile([]byte(sig), "")
		if err != nil {
			return "signature", err.Error()
		}
		req.Signature = file
	}
	if parts := form.File["sample"]; len(parts) > 0 {
		samples := make([]Sample, len(parts))
		for i, fh := range parts {
			data, err := readFormFile(fh, MaxSampleBytes)
			if err != nil {
				return "sample", fmt.Sprintf("sample %s: %v", fh.Filename, err)
			}
			samples[i] = Sample{Name: fh.Filename, Body: data}
		}
		req.Artifacts = SampleArtifacts(samples)
	}
	return "", ""
}

func saveFile(fh *multipart.FileHeader, dst string) error {
	return fasthttp.SaveMultipartFile(fh, dst)
}

// maxSignatureBytes bounds a signature file part: labels for a million
// classes fit.
const maxSignatureBytes = 16 << 20

// readFormFile reads a form file of at most limit bytes.
func readFormFile(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	if fh.Size > limit {
		return nil, fmt.Errorf("%d bytes, more than %d", fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, limit))
}

// aliasesOf lists, sorted, the aliases that name version; [] when none.
func aliasesOf(aliases map[string]string, version string) []string {
	names := []string{}
	for a, v := range aliases {
		if v == version {
			names = append(names, a)
		}
	}
	slices.Sort(names)
	return names
}
