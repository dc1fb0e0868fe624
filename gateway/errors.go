package gateway

import (
	"errors"
	"strconv"

	"github.com/infergate/infergate/internal/jsonenc"

	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// Error codes of the JSON error body {"error":{"code","message","field"}}.
// They are part of the API: clients switch on them.
const (
	codeInvalidJSON      = "invalid_json"
	codeInvalidField     = "invalid_field"
	codeMissingField     = "missing_field"
	codeMissingFeature   = "missing_feature"
	codeModelNotFound    = "model_not_found"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeNotConfigured    = "not_configured"
	codeBodyTooLarge     = "body_too_large"
	codeHeaderTooLarge   = "header_too_large"
	codeRequestTimeout   = "request_timeout"
	codeQueueFull        = "queue_full"
	codeDeadline         = "deadline_exceeded"
	codeUnavailable      = "unavailable"
	codeModelFailed      = "model_failed"
	codeInternal         = "internal"
	codeTooManyInstances = "too_many_instances"
	codeConflict         = "conflict"
	// codeUnsupportedEncoding: a Content-Encoding other than gzip or deflate.
	codeUnsupportedEncoding = "unsupported_encoding"
)

// errorObject is the error object of an answer that carries more than the
// error (encoding/json), shaped as appendErrorObject writes it.
type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// retryAfterSeconds is sent with 429 and 503: a full queue drains within
// milliseconds, so the smallest value HTTP allows is the honest one.
const retryAfterSeconds = "1"

// writeError answers with a JSON error. field is the request field at fault,
// or "".
func writeError(ctx *fasthttp.RequestCtx, status int, code, field, message string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentTypeBytes(contentTypeJSON)
	if status == fasthttp.StatusTooManyRequests || status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, retryAfterSeconds)
	}
	b := ctx.Response.Body()[:0]
	b = append(b, `{"error":`...)
	b = appendErrorObject(b, code, field, message)
	b = append(b, "}\n"...)
	ctx.SetBody(b)
}

// writePredictError answers an error of the serving path with its status.
func writePredictError(ctx *fasthttp.RequestCtx, model string, err error) {
	e := predictError(model, err)
	writeError(ctx, e.status, e.code, e.field, e.msg)
}

// apiError is an error answer before it is written.
type apiError struct {
	status           int
	code, field, msg string
}

// predictError maps an error of the serving path (Prepare or Serve) to its
// answer: the request's features at fault (400), or the route's state.
func predictError(model string, err error) apiError {
	if e, ok := featureError(err); ok {
		return e
	}
	var ie *router.InputError
	switch {
	case errors.As(err, &ie):
		code := codeInvalidField
		if ie.Missing {
			code = codeMissingFeature
		}
		return apiError{fasthttp.StatusBadRequest, code, ie.Field, ie.Msg}
	case errors.Is(err, router.ErrInvalidInput):
		return apiError{fasthttp.StatusBadRequest, codeInvalidField, "features", err.Error()}
	case errors.Is(err, router.ErrQueueFull):
		return apiError{fasthttp.StatusTooManyRequests, codeQueueFull, "",
			"model " + strconv.Quote(model) + " has a full queue; retry after the Retry-After delay or lower the request rate"}
	case errors.Is(err, router.ErrDeadlineExceeded):
		return apiError{fasthttp.StatusGatewayTimeout, codeDeadline, "",
			"the request's deadline passed before model " + strconv.Quote(model) + " could run it; raise X-Request-Timeout (up to server.max_timeout) or retry"}
	case errors.Is(err, router.ErrComputeTimeout):
		return apiError{fasthttp.StatusGatewayTimeout, codeDeadline, "",
			"the request's deadline passed while model " + strconv.Quote(model) + " computed it; raise X-Request-Timeout (up to server.max_timeout) or retry"}
	case errors.Is(err, router.ErrUnavailable):
		return apiError{fasthttp.StatusServiceUnavailable, codeUnavailable, "",
			"no target of route " + strconv.Quote(model) + " could answer (" + err.Error() + "); retry after the Retry-After delay"}
	case errors.Is(err, router.ErrClosed):
		return apiError{fasthttp.StatusServiceUnavailable, codeUnavailable, "",
			"model " + strconv.Quote(model) + " is shutting down; retry on another replica"}
	}
	return apiError{fasthttp.StatusInternalServerError, codeModelFailed, "",
		"model " + strconv.Quote(model) + " failed: " + err.Error()}
}

// appendErrorObject appends {"code","message","field"}: the inside of an
// error answer, and of one failed instance of a batch.
func appendErrorObject(b []byte, code, field, message string) []byte {
	b = append(b, `{"code":`...)
	b = jsonenc.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = jsonenc.AppendString(b, message)
	if field != "" {
		b = append(b, `,"field":`...)
		b = jsonenc.AppendString(b, field)
	}
	return append(b, '}')
}
