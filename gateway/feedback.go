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
	if !g.feedback.Enabled() || !r.Tabular() {
		return nil
	}
	m := make(map[*router.Target]*feedback.Tracker, len(r.Targets()))
	for _, t := range r.Targets() {
		version := t.Kind().String() + ":" + t.Name()
		// Rules and static answers are scored as the route's model's.
		mdl := r.Target()
		if t.Model() != nil {
			mdl = t.Model()
			version = mdl.Version()
		}
		kind, classes := feedback.Binary, []string(nil)
		switch mdl.Answer() {
		case router.AnswerClasses:
			kind, classes = feedback.Classes, mdl.Classes()
		case router.AnswerValue:
			kind = feedback.Value
		}
		m[t] = g.feedback.TrackerOf(r.Name(), version, kind, classes)
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
	prediction := res.Probability
	switch tr.Kind() {
	case feedback.Classes:
		prediction = float64(tr.ClassIndex(res.Label))
	case feedback.Value:
		prediction = res.Value
	}
	g.feedback.Record(scratch, tr, prediction, now)
	return scratch
}

// feedbackHelp is the shape of a POST /v1/feedback body, for errors.
const feedbackHelp = `send {"request_id": "<the X-Request-Id of the prediction>", "label": 1} (a binary classifier's label is 1 or true: the outcome was positive, 0 or false: negative; a classifier's is the class's name; a regression's is the true number)`

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
	truth, ok := labelValue(lv)
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "label", "label must be a number, true, false or a string, got "+string(lv.MarshalTo(nil))+"; "+feedbackHelp)
		return
	}
	if len(id) == 0 || len(id) > maxFeedbackIDLen {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "request_id",
			"no prediction is logged under a request id of "+strconv.Itoa(len(id))+" bytes: ids of 1 to "+strconv.Itoa(maxFeedbackIDLen)+" bytes (row suffix included) are")
		return
	}
	out, err := g.feedback.Label(appendFeedbackKey(nil, key, id, -1), truth, start)
	switch {
	case errors.Is(err, feedback.ErrBadLabel):
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalidField, "label", err.Error())
		return
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
	switch out.Kind {
	case feedback.Binary:
		b = append(b, `,"probability":`...)
		// As the prediction wrote it: the model computes float32.
		b = strconv.AppendFloat(b, out.Probability, 'g', -1, 32)
		b = append(b, `,"label":`...)
		b = strconv.AppendBool(b, truth.Number == 1)
	case feedback.Classes:
		b = append(b, `,"prediction":`...)
		b = jsonenc.AppendString(b, out.Class)
		b = append(b, `,"label":`...)
		b = lv.MarshalTo(b)
	case feedback.Value:
		b = append(b, `,"prediction":`...)
		b = strconv.AppendFloat(b, out.Value, 'g', -1, 64)
		b = append(b, `,"label":`...)
		b = strconv.AppendFloat(b, truth.Number, 'g', -1, 64)
		b = append(b, `,"error":`...)
		b = strconv.AppendFloat(b, out.Value-truth.Number, 'g', -1, 64)
	}
	b = append(b, `,"correct":`...)
	b = strconv.AppendBool(b, out.Correct)
	b = append(b, "}\n"...)
	ctx.SetContentTypeBytes(contentTypeJSON)
	ctx.SetBody(b)
}

// labelValue reads a label: a number, true (1), false (0) or a string;
// the store checks that it fits the prediction.
func labelValue(v *fastjson.Value) (feedback.Truth, bool) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return feedback.Truth{Number: 1}, true
	case fastjson.TypeFalse:
		return feedback.Truth{}, true
	case fastjson.TypeNumber:
		return feedback.Truth{Number: v.GetFloat64()}, true
	case fastjson.TypeString:
		return feedback.Truth{Text: string(v.GetStringBytes()), IsText: true}, true
	}
	return feedback.Truth{}, false
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
