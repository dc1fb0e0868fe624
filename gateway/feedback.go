package gateway

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/gateway/auth"
	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// feedbackPath is where clients send the ground truth of a prediction:
//
//	POST /v1/feedback {"request_id": "a491ad81…", "label": 1}
//
// The request id is the one the prediction's answer carried (its
// X-Request-Id, or request_id in the body); the i-th row of a request with
// several rows (instances, a v2 tensor of N rows) is "REQUEST_ID/i".
const feedbackPath = "/v1/feedback"

// tenantTagLen is the length of the tenant tag that starts every logged
// prediction's key, so that a tenant's labels can find only the predictions
// made with its own keys: another tenant's request id is simply unknown.
const tenantTagLen = 8

// maxFeedbackIDLen is the longest request id (row suffix included) whose
// prediction is logged; longer ones are counted as too long.
const maxFeedbackIDLen = feedback.MaxIDLen - tenantTagLen

// appendFeedbackKey appends the store key of request id (and, for row >= 0,
// "/row") made with key: the tenant's tag, then the id.
func appendFeedbackKey(b []byte, key *auth.Key, id []byte, row int) []byte {
	b = binary.LittleEndian.AppendUint64(b, xxhash.Sum64String(key.Tenant()))
	b = append(b, id...)
	if row >= 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(row), 10)
	}
	return b
}

// trackers maps each target of a route to the feedback statistics of what
// it answers: its model version's, or for a remote, rules or static target,
// "KIND:NAME"'s. nil when feedback is off.
func (g *Gateway) trackers(r *router.Route) map[*router.Target]*feedback.Tracker {
	if !g.feedback.Enabled() {
		return nil
	}
	m := make(map[*router.Target]*feedback.Tracker, len(r.Targets()))
	for _, t := range r.Targets() {
		version := t.Kind().String() + ":" + t.Name()
		if mdl := t.Model(); mdl != nil {
			version = mdl.Version()
		}
		m[t] = g.feedback.Tracker(r.Name(), version)
	}
	return m
}

// logPrediction logs an answer made at now for a later label: row is the
// answer's row in a request of several, or -1. It allocates nothing once
// scratch, the caller's buffer for the store key, has grown: it is returned
// for reuse.
func (g *Gateway) logPrediction(scratch []byte, rs *routeState, key *auth.Key, id []byte, row int, res *router.Result, now time.Time) []byte {
	tr := rs.trackers[res.Target]
	if tr == nil {
		return scratch
	}
	scratch = appendFeedbackKey(scratch[:0], key, id, row)
	g.feedback.Record(scratch, tr, res.Probability, now)
	return scratch
}

// feedbackHelp is the shape of a POST /v1/feedback body, for errors.
const feedbackHelp = `send {"request_id": "<the X-Request-Id of the prediction>", "label": 1} (label 1 or true: the outcome was positive; 0 or false: negative)`

// serveFeedback answers POST /v1/feedback: it joins the label to the logged
// prediction and answers what was predicted.
func (g *Gateway) serveFeedback(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		methodNotAllowed(ctx, fasthttp.MethodPost)
		return
	}
	start := requestTime(ctx)
	key, ok := g.admitRequest(ctx, protoV1, start.Add(g.cfg.Timeout))
	if !ok {
		return
	}
	defer g.admit.Release()
	if !g.feedback.Enabled() {
		writeError(ctx, fasthttp.StatusNotFound, codeNotConfigured, "", "feedback is off on this server (feedback.disabled in the config)")
		return
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(ctx.PostBody())
	if err != nil || v.Type() != fastjson.TypeObject {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidJSON, "", "request body is not a JSON object; "+feedbackHelp)
		return
	}
	idv, lv := v.Get("request_id"), v.Get("label")
	var id []byte
	switch {
	case idv == nil:
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "request_id", "request_id is required; "+feedbackHelp)
		return
	case idv.Type() != fastjson.TypeString:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "request_id", "request_id must be a string; "+feedbackHelp)
		return
	case lv == nil:
		writeError(ctx, fasthttp.StatusBadRequest, codeMissingField, "label", "label is required; "+feedbackHelp)
		return
	}
	id = idv.GetStringBytes()
	positive, ok := labelValue(lv)
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "label", "label must be 0, 1, false or true, got "+string(lv.MarshalTo(nil))+"; "+feedbackHelp)
		return
	}
	if len(id) == 0 || len(id) > maxFeedbackIDLen {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "request_id",
			"no prediction is logged under a request id of "+strconv.Itoa(len(id))+" bytes: ids of 1 to "+strconv.Itoa(maxFeedbackIDLen)+" bytes (row suffix included) are")
		return
	}
	out, err := g.feedback.Label(appendFeedbackKey(nil, key, id, -1), positive, start)
	switch {
	case errors.Is(err, feedback.ErrUnknownRequest):
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "request_id",
			"no prediction with request_id "+strconv.Quote(string(id))+" is waiting for a label: it was never made with this tenant's keys, "+
				"is older than feedback.ttl ("+g.feedback.Config().TTL.String()+"), or was evicted (feedback.capacity)")
		return
	case errors.Is(err, feedback.ErrAlreadyLabelled):
		writeError(ctx, fasthttp.StatusConflict, codeConflict, "request_id",
			"the prediction with request_id "+strconv.Quote(string(id))+" has a label already; a prediction counts once")
		return
	case err != nil:
		writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "", err.Error())
		return
	}
	b := append([]byte(nil), `{"request_id":`...)
	b = jsonenc.AppendString(b, string(id))
	b = append(b, `,"route":`...)
	b = jsonenc.AppendString(b, out.Route)
	b = append(b, `,"model_version":`...)
	b = jsonenc.AppendString(b, out.Version)
	b = append(b, `,"probability":`...)
	// As the prediction wrote it: the model computes float32.
	b = strconv.AppendFloat(b, out.Probability, 'g', -1, 32)
	b = append(b, `,"label":`...)
	b = strconv.AppendBool(b, positive)
	b = append(b, `,"correct":`...)
	b = strconv.AppendBool(b, out.PredictedPositive == positive)
	b = append(b, "}\n"...)
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.SetBody(b)
}

// labelValue reads a label: 0, 1, false or true.
func labelValue(v *fastjson.Value) (positive, ok bool) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, true
	case fastjson.TypeFalse:
		return false, true
	case fastjson.TypeNumber:
		switch f := v.GetFloat64(); f {
		case 0, 1:
			return f == 1, true
		}
	}
	return false, false
}

// serveFeedbackReport answers GET /v1/models/{route}/feedback on the admin
// API: live accuracy, AUC, log loss and Brier score per version of what the
// route answered, from the labels received.
func (g *Gateway) serveFeedbackReport(ctx *fasthttp.RequestCtx, route *router.Route) {
	if !g.feedback.Enabled() {
		writeError(ctx, fasthttp.StatusNotFound, codeNotConfigured, "", "feedback is off on this server (feedback.disabled in the config)")
		return
	}
	versions := g.feedback.RouteReports(route.Name())
	if versions == nil {
		versions = []feedback.Report{}
	}
	writeJSON(ctx, struct {
		Route    string            `json:"route"`
		Versions []feedback.Report `json:"versions"`
		Store    feedback.Stats    `json:"store"`
	}{route.Name(), versions, g.feedback.Stats()}, "the feedback report")
}
