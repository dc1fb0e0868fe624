package gateway

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// modelsPath is the admin API's model list; a route's monitoring is under
// modelsPath/NAME/: drift and feedback.
const modelsPath = "/v1/models"

// serveModel answers the endpoints under /v1/models/; rest is the path after
// that prefix: NAME/drift or NAME/feedback.
func (g *Gateway) serveModel(ctx *fasthttp.RequestCtx, rest string) {
	name, sub, _ := strings.Cut(rest, "/")
	if name == "" || (sub != "drift" && sub != "feedback") {
		adminNotFound(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, fasthttp.MethodGet)
		return
	}
	route := g.state.Load().table.Lookup([]byte(name))
	if route == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeModelNotFound, "",
			"unknown model "+strconv.Quote(name)+"; GET "+modelsPath+" lists the models served")
		return
	}
	if sub == "feedback" {
		g.serveFeedbackReport(ctx, route)
		return
	}
	g.serveDrift(ctx, g.state.Load().routes[route], route)
}

// serveDrift answers GET /v1/models/{route}/drift[?format=text]: the drift
// report of each monitored version the route serves, computed now, as JSON
// or as a table for a terminal.
func (g *Gateway) serveDrift(ctx *fasthttp.RequestCtx, rs *routeState, route *router.Route) {
	text := false
	switch f := string(ctx.QueryArgs().Peek("format")); f {
	case "", "json":
	case "text":
		text = true
	default:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "query.format",
			"format must be json (the default) or text, got "+strconv.Quote(f))
		return
	}
	if rs == nil || rs.drift == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "",
			"model "+strconv.Quote(route.Name())+" serves no version with a drift reference profile "+
				"(infergate train stores one with each version; `registry import --sample FILE` one of a model that takes tensors), "+
				"or routes[].drift.disabled is set for it")
		return
	}
	now := time.Now()
	versions := make([]versionReport, 0, len(rs.drift.versions))
	for _, v := range rs.drift.versions {
		vr := versionReport{Version: v.version, Report: v.monitor.Report(now)}
		if v.watcher != nil {
			ok, failed := v.watcher.Actions()
			vr.Actions = &driftActions{OK: ok, Failed: failed}
		}
		versions = append(versions, vr)
	}
	if text {
		ctx.SetContentType("text/plain; charset=utf-8")
		writeDriftText(ctx, route.Name(), versions)
		return
	}
	writeJSON(ctx, struct {
		Route    string          `json:"route"`
		Versions []versionReport `json:"versions"`
	}{route.Name(), versions}, "the drift report")
}

// versionReport is the drift report of one version a route serves.
type versionReport struct {
	Version string       `json:"version"`
	Report  drift.Report `json:"report"`
	// Actions are the watcher's actions run and failed since the snapshot
	// was loaded (absent without an action).
	Actions *driftActions `json:"actions,omitempty"`
}

// driftActions counts a watcher's actions.
type driftActions struct {
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
}

// writeDriftText writes the drift reports as a table per version: a line
// per feature and one for the score.
func writeDriftText(w io.Writer, route string, versions []versionReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, v := range versions {
		r := &v.Report
		if i > 0 {
			_, _ = fmt.Fprintln(tw)
		}
		drifted := "none"
		if len(r.Drifted) > 0 {
			drifted = strings.Join(r.Drifted, ", ")
		}
		_, _ = fmt.Fprintf(tw, "route %s, version %s: %s (drifted: %s); %d samples from %s to %s\n",
			route, v.Version, r.Verdict, drifted, r.Samples, r.From.Format(time.TimeOnly), r.Time.Format(time.TimeOnly))
		if len(r.Inputs) > 0 {
			writeInputsText(tw, r.Inputs)
			continue
		}
		_, _ = fmt.Fprintln(tw, "FEATURE\tTYPE\tSAMPLES\tMISSING\tPSI\tTEST\tP-VALUE\tVERDICT")
		for _, f := range append(r.Features, r.Score) {
			test, p := "-", "-"
			switch {
			case f.KS != nil:
				test, p = fmt.Sprintf("ks %.3f", f.KS.Statistic), fmt.Sprintf("%.3g", f.KS.PValue)
			case f.ChiSquare != nil:
				test, p = fmt.Sprintf("chi2 %.1f", f.ChiSquare.Statistic), fmt.Sprintf("%.3g", f.ChiSquare.PValue)
			}
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.3f\t%s\t%s\t%s\n",
				f.Name, f.Type, f.Samples, f.MissingShare*100, f.PSI, test, p, f.Verdict)
		}
	}
	_ = tw.Flush()
}

// writeInputsText writes a line per tensor input: the reference's and the
// window's mean and standard deviation, and the shifts.
func writeInputsText(tw io.Writer, ins []drift.InputReport) {
	_, _ = fmt.Fprintln(tw, "INPUT\tTYPE\tSAMPLES\tMEAN (REF)\tSTD (REF)\tNAN\tMEAN SHIFT\tSTD CHANGE\tVERDICT")
	for _, in := range ins {
		mean, std, nan := "-", "-", "-"
		if l := in.Live; l != nil {
			mean, std, nan = fmt.Sprintf("%.4g", l.Mean), fmt.Sprintf("%.4g", l.Std), fmt.Sprintf("%.2f%%", l.NaNShare*100)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%s (%.4g)\t%s (%.4g)\t%s\t%.3f\t%.3f\t%s\n",
			in.Name, in.DType, in.Samples, mean, in.Reference.Mean, std, in.Reference.Std, nan, in.MeanShift, in.StdChange, in.Verdict)
	}
}
