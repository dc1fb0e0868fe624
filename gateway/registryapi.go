package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/infergate/infergate/registry"
	"github.com/valyala/fasthttp"
)

// registryPath is the admin API's view of the model registry, the same
// actions as `infergate registry`:
//
//	GET    /v1/registry/models                                  list
//	GET    /v1/registry/models/{model}                          show a model
//	GET    /v1/registry/models/{model}/versions/{version}       show a version
//	POST   /v1/registry/models/{model}/versions/{version}       import a model (registryimport.go)
//	DELETE /v1/registry/models/{model}/versions/{version}       delete
//	POST   /v1/registry/models/{model}/versions/{version}/tags  tag
//	POST   /v1/registry/models/{model}/aliases/{alias}          alias
//	POST   /v1/registry/models/{model}/promote                  promote
//	POST   /v1/registry/models/{model}/rollback                 rollback
//
// A change reaches the routes that follow an alias when the registry
// watcher next looks (registry.watch_interval).
const registryPath = "/v1/registry/models"

// registryHelp lists the endpoints, for 404 answers.
const registryHelp = "the registry API is GET " + registryPath + ", GET " + registryPath + "/{model}, " +
	"GET|POST|DELETE " + registryPath + "/{model}/versions/{version}, POST " + registryPath + "/{model}/versions/{version}/tags, " +
	"POST " + registryPath + "/{model}/aliases/{alias}, POST " + registryPath + "/{model}/promote, POST " + registryPath + "/{model}/rollback"

// serveRegistry answers the endpoints under registryPath; rest is the path
// after it ("" for the list, else "/model…"). It reports whether the call
// was one that changes the registry, for the audit log.
func (g *Gateway) serveRegistry(ctx *fasthttp.RequestCtx, rest string) (mutating bool) {
	store := g.state.Load().table.Store()
	if store == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotConfigured, "", "this gateway serves no registry")
		return false
	}
	if rest == "" || rest == "/" {
		if !getOnly(ctx) {
			return false
		}
		list, err := store.List()
		if err != nil {
			writeRegistryError(ctx, err)
			return false
		}
		writeJSON(ctx, struct {
			Models []registry.ModelSummary `json:"models"`
		}{list}, "the model list")
		return false
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	model := parts[0]
	switch {
	case len(parts) == 1:
		if getOnly(ctx) {
			showModel(ctx, store, model)
		}
		return false
	case len(parts) == 2 && parts[1] == "promote":
		return postOnly(ctx) && promoteVersion(ctx, store, model)
	case len(parts) == 2 && parts[1] == "rollback":
		return postOnly(ctx) && rollbackAlias(ctx, store, model)
	case len(parts) == 3 && parts[1] == "aliases":
		return postOnly(ctx) && setAlias(ctx, store, model, parts[2])
	case len(parts) == 3 && parts[1] == "versions":
		switch {
		case ctx.IsGet() || ctx.IsHead():
			showVersion(ctx, store, model, parts[2])
			return false
		case ctx.IsPost():
			g.importVersion(ctx, store, model, parts[2])
			return true
		case ctx.IsDelete():
			deleteVersion(ctx, store, model, parts[2])
			return true
		}
		methodNotAllowed(ctx, "GET, POST, DELETE")
		return false
	case len(parts) == 4 && parts[1] == "versions" && parts[3] == "tags":
		return postOnly(ctx) && tagVersion(ctx, store, model, parts[2])
	}
	writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "", "no such endpoint "+string(ctx.Path())+"; "+registryHelp)
	return false
}

func getOnly(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	methodNotAllowed(ctx, fasthttp.MethodGet)
	return false
}

func postOnly(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsPost() {
		return true
	}
	methodNotAllowed(ctx, fasthttp.MethodPost)
	return false
}

// writeRegistryError answers a registry error with the status its class
// calls for.
func writeRegistryError(ctx *fasthttp.RequestCtx, err error) {
	status, code := fasthttp.StatusInternalServerError, codeInternal
	switch {
	case errors.Is(err, registry.ErrNotFound):
		status, code = fasthttp.StatusNotFound, codeNotFound
	case errors.Is(err, registry.ErrInvalidName):
		status, code = fasthttp.StatusBadRequest, codeInvalidField
	case errors.Is(err, registry.ErrGateRefused), errors.Is(err, registry.ErrInUse),
		errors.Is(err, registry.ErrNoHistory), errors.Is(err, registry.ErrExists):
		status, code = fasthttp.StatusConflict, codeConflict
	}
	writeError(ctx, status, code, "", err.Error())
}

// decodeBody decodes a JSON object body into v, refusing unknown fields;
// an empty body leaves v as it is. It answers 400 and reports false when the
// body does not fit; help says what to send.
func decodeBody(ctx *fasthttp.RequestCtx, v any, help string) bool {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field, _ = strconv.Unquote(name)
		}
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, field, "cannot read the body: "+err.Error()+"; "+help)
		return false
	}
	return true
}

// by names who asked for an alias move in the alias log: the body's "by",
// else the admin API and the caller's address.
func by(ctx *fasthttp.RequestCtx, given string) string {
	if given != "" {
		return given
	}
	return "admin-api " + ctx.RemoteAddr().String()
}

func showModel(ctx *fasthttp.RequestCtx, store *registry.Store, model string) {
	versions, err := store.Versions(model)
	if err == nil && len(versions) == 0 {
		err = registry.ErrNotFound
	}
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	out := struct {
		Model    string               `json:"model"`
		Aliases  map[string]string    `json:"aliases"`
		Versions []*registry.Version  `json:"versions"`
		History  []registry.AliasMove `json:"history"`
	}{Model: model}
	if out.Aliases, err = store.Aliases(model); err == nil {
		out.History, err = store.History(model, "")
	}
	for _, v := range versions {
		if err != nil {
			break
		}
		var meta *registry.Version
		if meta, err = store.Get(model, v); err == nil {
			out.Versions = append(out.Versions, meta)
		}
	}
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	writeJSON(ctx, out, "the model")
}

// versionWithAliases is a version's metadata and the aliases naming it.
type versionWithAliases struct {
	*registry.Version
	Aliases []string `json:"aliases"`
}

func showVersion(ctx *fasthttp.RequestCtx, store *registry.Store, model, version string) {
	v, err := store.Get(model, version)
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	aliases, err := store.Aliases(model)
	if err != nil {
		writeRegistryError(ctx, err)
		return
	}
	writeJSON(ctx, versionWithAliases{Version: v, Aliases: aliasesOf(aliases, version)}, "the version")
}

func deleteVersion(ctx *fasthttp.RequestCtx, store *registry.Store, model, version string) {
	if err := store.Delete(model, version); err != nil {
		writeRegistryError(ctx, err)
		return
	}
	writeJSON(ctx, struct {
		Model   string `json:"model"`
		Deleted string `json:"deleted"`
	}{model, version}, "the deletion")
}

const tagsHelp = `send {"KEY": "VALUE", ...}; an empty value removes the tag`

func tagVersion(ctx *fasthttp.RequestCtx, store *registry.Store, model, version string) bool {
	var tags map[string]string
	if !decodeBody(ctx, &tags, tagsHelp) {
		return true
	}
	if len(tags) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "", "the body names no tag; "+tagsHelp)
		return true
	}
	v, err := store.SetTags(model, version, tags)
	if err != nil {
		writeRegistryError(ctx, err)
		return true
	}
	writeJSON(ctx, v, "the version")
	return true
}

// moveBody is the body of the alias, promote and rollback calls.
type moveBody struct {
	Version  string `json:"version"`
	Alias    string `json:"alias"`
	Gate     bool   `json:"gate"`
	Override bool   `json:"override"`
	Reason   string `json:"reason"`
	By       string `json:"by"`
}

const (
	aliasHelp    = `send {"version": "1.2.0"} and optionally "reason" and "by", which the alias log records`
	promoteHelp  = `send {"version": "1.2.0"} and optionally "alias" (default production), "gate": true, "override": true with a "reason", and "by"`
	rollbackHelp = `send {} or {"alias": "staging"} (default production), optionally with "reason" and "by"`
)

func setAlias(ctx *fasthttp.RequestCtx, store *registry.Store, model, alias string) bool {
	var b moveBody
	if !decodeBody(ctx, &b, aliasHelp) {
		return true
	}
	switch {
	case b.Alias != "" || b.Gate || b.Override:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "", "the alias is named by the path; use "+registryPath+"/"+model+"/promote for a gated move; "+aliasHelp)
		return true
	case b.Version == "":
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "version", "version is required; "+aliasHelp)
		return true
	}
	res, err := store.Promote(model, b.Version, alias, registry.PromoteOptions{Reason: b.Reason, By: by(ctx, b.By)})
	if err != nil {
		writeRegistryError(ctx, err)
		return true
	}
	writeJSON(ctx, res, "the alias move")
	return true
}

func promoteVersion(ctx *fasthttp.RequestCtx, store *registry.Store, model string) bool {
	var b moveBody
	if !decodeBody(ctx, &b, promoteHelp) {
		return true
	}
	switch {
	case b.Version == "":
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "version", "version is required; "+promoteHelp)
		return true
	case b.Override && !b.Gate:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "override", "override applies to a gated promotion only: add \"gate\": true")
		return true
	case b.Override && strings.TrimSpace(b.Reason) == "":
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "reason", "an override needs a reason, which the alias log records")
		return true
	}
	res, err := store.Promote(model, b.Version, b.Alias, registry.PromoteOptions{
		Gate: b.Gate, Override: b.Override, Reason: b.Reason, By: by(ctx, b.By),
	})
	if errors.Is(err, registry.ErrGateRefused) && res != nil {
		// The verdict says why; the client needs it to decide on an override.
		ctx.SetStatusCode(fasthttp.StatusConflict)
		writeJSON(ctx, struct {
			Error  errorObject             `json:"error"`
			Result *registry.PromoteResult `json:"result"`
		}{errorObject{Code: codeConflict, Message: err.Error()}, res}, "the gate's verdict")
		return true
	}
	if err != nil {
		writeRegistryError(ctx, err)
		return true
	}
	writeJSON(ctx, res, "the promotion")
	return true
}

func rollbackAlias(ctx *fasthttp.RequestCtx, store *registry.Store, model string) bool {
	var b moveBody
	if !decodeBody(ctx, &b, rollbackHelp) {
		return true
	}
	if b.Version != "" || b.Gate || b.Override {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "", "a rollback returns the alias to the version it named before; it takes no version, gate or override; "+rollbackHelp)
		return true
	}
	move, err := store.Rollback(model, b.Alias, registry.RollbackOptions{Reason: b.Reason, By: by(ctx, b.By)})
	if err != nil {
		writeRegistryError(ctx, err)
		return true
	}
	writeJSON(ctx, struct {
		Model string             `json:"model"`
		Move  registry.AliasMove `json:"move"`
	}{model, *move}, "the rollback")
	return true
}
