package gateway

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/infergate/infergate/gateway/auth"
	"github.com/valyala/fasthttp"
)

// Error codes of authentication, authorization, rate limits and admission.
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeRateLimited  = "rate_limited"
	codeOverloaded   = "overloaded"
)

// protocol says in which shape an error is answered: /v1's
// {"error":{"code",...}} or the Open Inference Protocol's {"error": "..."}.
type protocol uint8

const (
	protoV1 protocol = iota
	protoV2
)

func (g *Gateway) fail(ctx *fasthttp.RequestCtx, p protocol, status int, code, msg string) {
	if p == protoV2 {
		g.v2Error(ctx, status, msg)
		return
	}
	writeError(ctx, status, code, "", msg)
}

// admit authenticates the request's API key, applies its rate limit and
// takes an admission slot, in that order (cheapest refusal first). When it
// returns ok, the caller must call g.admit.Release once the request is
// answered; otherwise it has answered 401, 429 or 503 itself.
func (g *Gateway) admitRequest(ctx *fasthttp.RequestCtx, p protocol, deadline time.Time) (*auth.Key, bool) {
	key, ok := g.authenticate(ctx, p)
	if !ok || !g.admitKey(ctx, p, key, deadline) {
		return nil, false
	}
	return key, true
}

// admitKey applies key's rate limit and takes an admission slot; see
// admitRequest.
func (g *Gateway) admitKey(ctx *fasthttp.RequestCtx, p protocol, key *auth.Key, deadline time.Time) bool {
	if allowed, wait := key.Allow(requestTime(ctx)); !allowed {
		g.limited.Inc()
		g.fail(ctx, p, fasthttp.StatusTooManyRequests, codeRateLimited,
			"API key "+strconv.Quote(key.ID())+" is over its rate limit; retry after the Retry-After delay")
		// After fail: writeError's Retry-After of 1 second is for queues.
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return false
	}
	if err := g.admit.Acquire(deadline); err != nil {
		g.fail(ctx, p, fasthttp.StatusServiceUnavailable, codeOverloaded,
			"the server is at server.max_concurrency ("+strconv.Itoa(g.cfg.MaxConcurrency)+" requests in progress) and none finished within server.max_queue_wait; retry after the Retry-After delay")
		return false
	}
	return true
}

// authenticate finds the request's API key, or answers 401 with a
// WWW-Authenticate challenge. With auth off, every request has a key.
func (g *Gateway) authenticate(ctx *fasthttp.RequestCtx, p protocol) (*auth.Key, bool) {
	key, err := g.auth.Authenticate(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization), ctx.Request.Header.Peek(headerAPIKey))
	if err == nil {
		return key, true
	}
	g.authFail.Inc()
	challenge := auth.Challenge
	if errors.Is(err, auth.ErrBadCredentials) {
		challenge = auth.ChallengeInvalidToken
	}
	g.fail(ctx, p, fasthttp.StatusUnauthorized, codeUnauthorized, err.Error())
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, challenge)
	return nil, false
}

// mayCall answers 403 unless key's tenant may call route.
func (g *Gateway) mayCall(ctx *fasthttp.RequestCtx, p protocol, key *auth.Key, route string) bool {
	if key.MayCall([]byte(route)) {
		return true
	}
	g.authFail.Inc()
	g.fail(ctx, p, fasthttp.StatusForbidden, codeForbidden,
		"API key "+strconv.Quote(key.ID())+" of tenant "+strconv.Quote(key.Tenant())+" may not call model "+strconv.Quote(route)+
			"; add the route to the tenant's routes in auth.tenants, or use another key")
	return false
}

// adminAllowed checks the admin token of an admin request, or answers 401.
func (g *Gateway) adminAllowed(ctx *fasthttp.RequestCtx) bool {
	err := g.adminAuth.Check(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if err == nil {
		return true
	}
	g.authFail.Inc()
	challenge := auth.Challenge
	if errors.Is(err, auth.ErrBadCredentials) {
		challenge = auth.ChallengeInvalidToken
	}
	writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, "", err.Error())
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, challenge)
	return false
}

// audit writes a mutating admin call to the audit log, with its answer.
func (g *Gateway) audit(ctx *fasthttp.RequestCtx) {
	status := ctx.Response.StatusCode()
	result := "ok"
	if status >= 400 {
		result = string(ctx.Response.Body())
	}
	g.adminAuth.Audit(auth.AuditEntry{
		RemoteAddr: ctx.RemoteAddr().String(),
		Method:     string(ctx.Method()),
		Path:       string(ctx.Path()),
		Body:       ctx.PostBody(),
		Status:     status,
		Result:     result,
	})
}
