package gateway_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// TestAdminRegistry walks the registry API as `infergate registry` would be
// used: list, show, alias, a gated promotion refused and then overridden,
// rollback, tags, delete; every change lands in the registry itself and in
// the audit log, every refusal says why.
func TestAdminRegistry(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t) // 1.0.0, production
	servingtest.RegisterVersion(t, store, "1.1.0", "staging")
	gates := servingtest.NewGates(t)
	table := loadTable(t, store, gates, router.RouteConfig{Name: "churn-registry", Model: servingtest.Route})
	releaseGates(t, gates)
	audit := filepath.Join(t.TempDir(), "audit.log")
	s := serveTable(t, table, gateway.Config{Auth: auth.Config{Mode: auth.ModeOff,
		Admin: auth.AdminConfig{Mode: auth.ModeToken, TokenSHA256: auth.HashKey(adminToken), AuditLog: audit}}})
	const base = "/v1/registry/models"
	const model = servingtest.Route
	token := []string{"Authorization", "Bearer " + adminToken}
	call := func(method, path, body string, status int) reply {
		t.Helper()
		r := do(t, s.admin, method, path, body, token...)
		if r.status != status {
			t.Fatalf("%s %s %s: status %d, body %s; want %d", method, path, body, r.status, r.body, status)
		}
		return r
	}
	// part reads the fields a check needs from an answer.
	part := func(r reply, v any) {
		t.Helper()
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
	}
	production := func() string {
		t.Helper()
		v, err := store.Resolve(model, registry.ProductionAlias)
		if err != nil {
			t.Fatal(err)
		}
		return v.Version
	}

	var list struct{ Models []registry.ModelSummary }
	decode(t, call("GET", base, "", 200), &list)
	if len(list.Models) != 1 || list.Models[0].Name != model || strings.Join(list.Models[0].Versions, ",") != "1.0.0,1.1.0" {
		t.Fatalf("list: %+v", list.Models)
	}
	var shown struct {
		Model    string
		Aliases  map[string]string
		Versions []registry.Version
	}
	part(call("GET", base+"/"+model, "", 200), &shown)
	if shown.Aliases["production"] != "1.0.0" || shown.Aliases["staging"] != "1.1.0" || len(shown.Versions) != 2 || shown.Versions[1].ModelSHA256 == "" {
		t.Fatalf("show: %+v", shown)
	}
	var version struct {
		Version string
		Aliases []string
	}
	part(call("GET", base+"/"+model+"/versions/1.1.0", "", 200), &version)
	if version.Version != "1.1.0" || strings.Join(version.Aliases, ",") != "staging" {
		t.Fatalf("version: %+v", version)
	}

	// Refusals: unknown model or version 404, a bad body 400, a wrong
	// method 405, a path that names nothing 404; none changes anything.
	wantError(t, call("GET", base+"/nope", "", 404), 404, "not_found", "")
	wantError(t, call("GET", base+"/"+model+"/versions/9.9.9", "", 404), 404, "not_found", "")
	wantError(t, call("POST", base+"/"+model+"/promote", `{"version":"1.1.0","colour":"red"}`, 400), 400, "invalid_json", "colour")
	wantError(t, call("POST", base+"/"+model+"/promote", `{"version":11}`, 400), 400, "invalid_json", "version")
	wantError(t, call("POST", base+"/"+model+"/promote", `{}`, 400), 400, "missing_field", "version")
	wantError(t, call("POST", base+"/"+model+"/promote", `{"version":"1.1.0","gate":true,"override":true}`, 400), 400, "missing_field", "reason")
	wantError(t, call("POST", base+"/"+model+"/promote", `{"version":"9.9.9"}`, 404), 404, "not_found", "")
	wantError(t, call("GET", base+"/"+model+"/promote", "", 405), 405, "method_not_allowed", "")
	wantError(t, call("GET", base+"/"+model+"/elsewhere/x/y/z", "", 404), 404, "not_found", "")
	wantError(t, call("POST", base+"/"+model+"/aliases/Bad Alias", `{"version":"1.1.0"}`, 400), 400, "invalid_field", "")

	// The demo versions carry the same held-out metrics, so make 1.1.0
	// look worse: the gate refuses it and says why, with its verdict.
	v, err := store.Get(model, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	worse := *v
	worse.Version = "1.2.0"
	worse.Metrics = map[string]float64{"auc": v.Metrics["auc"] - 0.05, "log_loss": v.Metrics["log_loss"] + 0.05}
	onnx, _, err := store.ReadModel(model, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Register(&worse, onnx); err != nil {
		t.Fatal(err)
	}
	r := call("POST", base+"/"+model+"/promote", `{"version":"1.2.0","gate":true}`, 409)
	var refused struct {
		Error  struct{ Code, Message string }
		Result registry.PromoteResult
	}
	part(r, &refused)
	if refused.Error.Code != "conflict" || refused.Result.Gate == nil || refused.Result.Gate.Passed || refused.Result.Gate.Baseline != "1.0.0" {
		t.Fatalf("gate refusal: %s", r.body)
	}
	if got := production(); got != "1.0.0" {
		t.Fatalf("production moved to %s on a refused promotion", got)
	}
	var promoted registry.PromoteResult
	decode(t, call("POST", base+"/"+model+"/promote", `{"version":"1.2.0","gate":true,"override":true,"reason":"INC-7 hotfix","by":"ana"}`, 200), &promoted)
	if !promoted.Overridden || !promoted.Changed || production() != "1.2.0" {
		t.Fatalf("override: %+v, production %s", promoted, production())
	}
	call("POST", base+"/"+model+"/aliases/production", `{"version":"1.1.0"}`, 200)
	if got := production(); got != "1.1.0" {
		t.Fatalf("alias: production is %s, want 1.1.0", got)
	}

	// Rollback undoes the last move, then the one before; the history runs
	// out at the first version.
	call("POST", base+"/"+model+"/rollback", `{"reason":"latency"}`, 200)
	if got := production(); got != "1.2.0" {
		t.Fatalf("rollback: production is %s, want 1.2.0", got)
	}
	call("POST", base+"/"+model+"/rollback", "", 200)
	if got := production(); got != "1.0.0" {
		t.Fatalf("second rollback: production is %s, want 1.0.0", got)
	}
	wantError(t, call("POST", base+"/"+model+"/rollback", "", 409), 409, "conflict", "")

	var tagged registry.Version
	decode(t, call("POST", base+"/"+model+"/versions/1.2.0/tags", `{"ticket":"INC-7"}`, 200), &tagged)
	if tagged.Tags["ticket"] != "INC-7" {
		t.Fatalf("tags: %+v", tagged.Tags)
	}
	// A version an alias names cannot go; one no alias names can.
	wantError(t, call("DELETE", base+"/"+model+"/versions/1.1.0", "", 409), 409, "conflict", "")
	call("DELETE", base+"/"+model+"/versions/1.2.0", "", 200)
	if _, err := store.Get(model, "1.2.0"); err == nil {
		t.Fatal("1.2.0 is still registered after DELETE")
	}

	// Without the token nothing is shown or changed.
	if r := do(t, s.admin, "POST", base+"/"+model+"/aliases/production", `{"version":"1.1.0"}`); r.status != 401 || production() != "1.0.0" {
		t.Fatalf("no token: status %d, production %s", r.status, production())
	}

	// The audit log holds every call that asked for a change, refused ones
	// included, with its status; reads are not in it.
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var e struct {
			Method, Path string
			Status       int
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Method == fasthttp.MethodGet {
			t.Fatalf("audit line %s (%v)", line, err)
		}
		statuses = append(statuses, e.Status)
	}
	want := []int{400, 400, 400, 400, 404, 400, 409, 200, 200, 200, 200, 409, 200, 409, 200}
	if len(statuses) != len(want) {
		t.Fatalf("audit statuses %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("audit statuses %v, want %v", statuses, want)
		}
	}
}
