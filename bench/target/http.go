package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
	"github.com/valyala/fasthttp"
)

// Defaults of HTTPConfig.
const (
	// DefaultHTTPTimeout bounds one request, connecting included: the
	// timeout bench/run.sh gives wrk.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultMaxConns is the default connection cap: loadgen's default cap
	// on requests in flight, so that the cap of the load, not the client's,
	// is the one that binds.
	DefaultMaxConns = 10000
	// DefaultContentType is sent with a body when HTTPConfig.ContentType
	// is empty.
	DefaultContentType = "application/json"
)

// HTTPConfig configures an HTTP target.
type HTTPConfig struct {
	// URL is the full address requests go to, e.g.
	// http://127.0.0.1:8080/v1/predictions. Required; http or https.
	URL string
	// Method defaults to POST when Body is set, GET otherwise.
	Method string
	// Body gives each request's body; nil sends none.
	Body BodySource
	// ContentType is sent with a body; default DefaultContentType.
	ContentType string
	// Timeout bounds each request from the start of Do to the end of the
	// response, waiting for a free connection and connecting included;
	// default DefaultHTTPTimeout. A deadline on Do's context that comes
	// sooner takes its place.
	Timeout time.Duration
	// MaxConns caps the open connections; default DefaultMaxConns. Keep it
	// at or above the load's concurrency: a request that finds every
	// connection busy waits for one, and that wait is measured as latency
	// of the target.
	MaxConns int
	// Headers are sent with every request.
	Headers map[string]string
}

// HTTP is a loadgen.Target that sends one HTTP request per Do, over
// keep-alive connections of a fasthttp.HostClient, without retries.
type HTTP struct {
	client      *fasthttp.HostClient
	uri         []byte
	method      []byte
	contentType []byte
	headers     [][2][]byte
	body        BodySource
	appender    BodyAppender // body as a BodyAppender, or nil
	timeout     time.Duration
}

var _ loadgen.Target = (*HTTP)(nil)

// NewHTTP checks cfg, applies its defaults and returns the target. No
// connection is opened until the first Do.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("http target: URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("http target: URL %q: the scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("http target: URL %q: no host; write it in full, e.g. http://127.0.0.1:8080/v1/predictions", cfg.URL)
	}
	var errs []error
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("http target: Timeout: must be >= 0, got %s", cfg.Timeout))
	}
	if cfg.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("http target: MaxConns: must be >= 0, got %d", cfg.MaxConns))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Method == "" {
		cfg.Method = fasthttp.MethodGet
		if cfg.Body != nil {
			cfg.Method = fasthttp.MethodPost
		}
	}
	if cfg.ContentType == "" && cfg.Body != nil {
		cfg.ContentType = DefaultContentType
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}

	h := &HTTP{
		uri:         []byte(u.String()),
		method:      []byte(cfg.Method),
		contentType: []byte(cfg.ContentType),
		body:        cfg.Body,
		timeout:     cfg.Timeout,
	}
	h.appender, _ = cfg.Body.(BodyAppender)
	names := make([]string, 0, len(cfg.Headers))
	for k := range cfg.Headers {
		names = append(names, k)
	}
	sort.Strings(names) // a stable order on the wire
	for _, k := range names {
		h.headers = append(h.headers, [2][]byte{[]byte(k), []byte(cfg.Headers[k])})
	}
	h.client = &fasthttp.HostClient{
		Addr:     fasthttp.AddMissingPort(u.Host, u.Scheme == "https"),
		IsTLS:    u.Scheme == "https",
		MaxConns: cfg.MaxConns,
		// Wait for a busy connection rather than fail at once; the
		// request's timeout still bounds the wait.
		MaxConnWaitTimeout: cfg.Timeout,
		// One attempt: a retried request would be measured as one slow one.
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		NoDefaultUserAgentHeader:  true,
		// The client writes what it is given; the gateway sees the bytes
		// a user's client would send.
		DisablePathNormalizing: true,
	}
	return h, nil
}

// bodyBuf is the scratch into which a BodyAppender renders one body.
type bodyBuf struct{ b []byte }

var bodyBufPool = sync.Pool{New: func() any { return new(bodyBuf) }}

// Do sends request seq and returns the response's HTTP status. Any status,
// 404 and 500 included, is a status, not an error; err is for requests
// that got no response: connection refused or reset, timeout. Error
// messages leave out socket addresses, so that the load generator, which
// counts errors by message, sees one kind of failure as one entry.
//
// fasthttp cannot abandon a request in flight: ctx is checked before
// sending, and its deadline, if sooner than the configured timeout, bounds
// the request.
//
// Do allocates nothing in steady state: the request, the response and the
// body buffer are pooled.
func (h *HTTP) Do(ctx context.Context, seq uint64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	timeout := h.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURIBytes(h.uri)
	req.Header.SetMethodBytes(h.method)
	for _, kv := range h.headers {
		req.Header.SetBytesKV(kv[0], kv[1])
	}
	var buf *bodyBuf
	switch {
	case h.appender != nil:
		buf = bodyBufPool.Get().(*bodyBuf)
		buf.b = h.appender.AppendBody(buf.b[:0], seq)
		req.SetBodyRaw(buf.b)
	case h.body != nil:
		// Not copied: the body is only read, and the request is released
		// before Do returns.
		req.SetBodyRaw(h.body.Body(seq))
	}
	if len(h.contentType) > 0 {
		req.Header.SetContentTypeBytes(h.contentType)
	}
	err := h.client.DoTimeout(req, resp, timeout)
	status := resp.StatusCode()
	fasthttp.ReleaseRequest(req) // drops the raw body before buf goes back
	fasthttp.ReleaseResponse(resp)
	if buf != nil {
		bodyBufPool.Put(buf)
	}
	if err != nil {
		return 0, requestError(err)
	}
	return status, nil
}

// requestError drops the socket addresses from network errors ("read tcp
// 127.0.0.1:53412->127.0.0.1:8080: connection reset by peer" becomes "read
// tcp: connection reset by peer"): the local port differs on every
// connection. The cause stays wrapped.
func requestError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("%s %s: %w", op.Op, op.Net, op.Err)
	}
	return err
}

// Close closes the idle connections. Requests in flight finish on theirs,
// which close when they are done only if the server closes them; call Close
// once the load has stopped.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
