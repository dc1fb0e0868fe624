package remote

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/infergate/infergate/internal/jsonenc"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// Error classes. Every error a Client returns wraps exactly one of them, with
// the status, the remote's reason and the URL as detail.
var (
	// ErrUnavailable: the remote cannot serve now. It refused or dropped
	// the connection, or answered 429 or a 5xx other than 504. Another
	// target may succeed; the router counts it against the remote's
	// circuit breaker.
	ErrUnavailable = errors.New("remote unavailable")
	// ErrTimeout: no answer before the deadline, or the remote said it ran
	// out of time itself (504, 408).
	ErrTimeout = errors.New("remote timed out")
	// ErrRejected: the remote refused the request as invalid (a 4xx other
	// than 408 and 429), or the request could not be sent as JSON at all.
	// The request is at fault, not the remote: trying it elsewhere is
	// likely to fail the same way, and it says nothing of the remote's
	// health.
	ErrRejected = errors.New("remote rejected the request")
	// ErrBadResponse: a 2xx whose body is not the protocol's answer, or
	// whose probability is not a finite number. The remote is misbehaving
	// or misconfigured (output names the wrong tensor, say).
	ErrBadResponse = errors.New("remote answered an unexpected response")
)

// Answer is what the remote answered.
type Answer struct {
	// Probability is the remote's probability, always finite.
	Probability float64
	// Label is an infergate remote's "prediction"; empty from a v2 remote
	// (the router labels it).
	Label string
	// Version is the remote's model_version, or empty when it sent none.
	Version string
}

// Client calls one remote target. It is safe for concurrent use.
type Client struct {
	hc       *fasthttp.HostClient
	protocol string
	endpoint string // the URL every call posts to
	headers  []header
	host     string // the Host header to send instead of the URL's
	output   string // v2: the output tensor to read, "" for the first

	// Constant request bytes, built once: infergate's model_id as a JSON
	// string, v2's body around the row.
	modelID    []byte
	tensorHead []byte
	tensorTail []byte // v2: the request's end after the inputs
	// featuresV2: a v2 remote of inputs: features.
	featuresV2 bool
	// sendsTimeout: the remote is an infergate, which reads
	// X-Request-Timeout.
	sendsTimeout bool
}

var (
	contentTypeJSON        = []byte("application/json")
	contentTypeOctetStream = []byte("application/octet-stream")
)

type header struct{ name, value string }

// Tuning of the HostClient that no config field exposes.
const (
	// maxResponseBytes bounds what a remote can make a call buffer: a
	// classifier's answer is a few hundred bytes, so 1 MiB only stops a
	// misbehaving remote.
	maxResponseBytes = 1 << 20
	// maxAttempts counts the tries of a call whose connection the remote
	// closed before answering. A pooled keep-alive connection may have been
	// closed by the remote (its idle timeout, or a restart) as the call
	// takes it: the next try gets another connection, or dials a fresh
	// one. Predictions change nothing at the remote, so sending one twice
	// is safe; the deadline bounds all tries together.
	maxAttempts = 3
	// maxConnWait is longer than any per-attempt deadline: a call waits for
	// a free connection until its own deadline, so a burst beyond MaxConns
	// queues rather than failing as unavailable.
	maxConnWait = time.Hour
)

// New returns a client for the remote cfg names. It applies cfg's defaults
// and validates it itself, so the router may pass a config it checked.
func New(cfg Config) (*Client, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("BUG: url passed Validate: %w", err)
	}
	c := &Client{protocol: cfg.Protocol, output: cfg.Output}
	switch cfg.Protocol {
	case ProtocolInfergate:
		c.endpoint = base.prefix + "/v1/predictions"
		c.modelID = jsonenc.AppendBytes(nil, []byte(cfg.Model))
		c.sendsTimeout = true
	case ProtocolV2:
		c.endpoint = base.prefix + "/v2/models/" + url.PathEscape(cfg.Model)
		if cfg.Version != "" {
			c.endpoint += "/versions/" + url.PathEscape(cfg.Version)
		}
		c.endpoint += "/infer"
		if cfg.Inputs == InputsFeatures {
			c.featuresV2, c.tensorTail = true, outputsTail(cfg.Output)
		} else {
			c.tensorHead, c.tensorTail = tensorBodyParts(cfg.Input, cfg.Output)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Headers)) {
		if strings.EqualFold(name, fasthttp.HeaderHost) {
			c.host = cfg.Headers[name]
			continue
		}
		c.headers = append(c.headers, header{name, cfg.Headers[name]})
	}
	c.hc = &fasthttp.HostClient{
		Addr:  base.addr,
		IsTLS: base.tls,
		Name:  "infergate",
		// fasthttp dials IPv4 only unless told otherwise.
		DialDualStack: true,
		// The endpoint is escaped already; normalizing would decode a
		// model name's %2F into a path separator.
		DisablePathNormalizing:    true,
		MaxConns:                  cfg.MaxConns,
		MaxConnWaitTimeout:        maxConnWait,
		MaxResponseBodySize:       maxResponseBytes,
		MaxIdemponentCallAttempts: maxAttempts,
		RetryIfErr:                retryOnDroppedConn,
	}
	return c, nil
}

// Protocol is the protocol the remote speaks: ProtocolInfergate or
// ProtocolV2.
func (c *Client) Protocol() string { return c.protocol }

// Close closes the idle connections. Calls still in flight finish, and
// their connections close once idle; the caller stops calling first.
// Close is idempotent.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// call is the per-call scratch, pooled. It must not be retained after the
// call returns.
type call struct {
	body    []byte
	timeout []byte
	parser  fastjson.Parser
	// A tensor call (PredictTensors): the JSON header's length in body, and
	// the outputs to fill; scratch views an output before it is copied.
	headerLen  int
	headerText []byte // headerLen in decimal, for the header
	outs       []tensor.Tensor
	scratch    tensor.Tensor
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// TakesRow reports whether the remote takes the row the route's encoder
// makes (PredictTensor: a v2 remote of inputs: tensor) rather than the
// features (PredictFeatures).
func (c *Client) TakesRow() bool { return c.protocol == ProtocolV2 && !c.featuresV2 }

// PredictFeatures asks a remote that takes features (an infergate remote,
// or a v2 one of inputs: features) for a prediction from f, waiting until
// deadline at the latest. It fills a on success; on error a is left as it
// was. f is only read, and not retained. Calling it on a remote that takes
// the encoded row is a bug, and panics.
func (c *Client) PredictFeatures(f *features.Set, deadline time.Time, a *Answer) error {
	if c.TakesRow() {
		panic("BUG: PredictFeatures on a v2 remote of inputs: tensor (" + c.endpoint + "); it takes PredictTensor")
	}
	st := callPool.Get().(*call)
	defer callPool.Put(st)
	var err error
	if c.featuresV2 {
		st.body, err = appendV2FeaturesBody(st.body[:0], f, c.tensorTail, deadline)
	} else {
		st.body, err = appendFeaturesBody(st.body[:0], c.modelID, f)
	}
	if err != nil {
		return c.notSent(err)
	}
	return c.do(st, deadline, a)
}

// PredictTensor asks a v2 remote for a prediction from one encoded row,
// waiting until deadline at the latest. It fills a on success; on error a
// is left as it was. row is only read, and not retained. Calling it on an
// infergate remote, or with an empty row, is a bug, and panics.
func (c *Client) PredictTensor(row []float32, deadline time.Time, a *Answer) error {
	if !c.TakesRow() {
		panic("BUG: PredictTensor on a remote that takes features (" + c.endpoint + "); it takes PredictFeatures")
	}
	if len(row) == 0 {
		panic("BUG: PredictTensor with an empty row (" + c.endpoint + ")")
	}
	st := callPool.Get().(*call)
	defer callPool.Put(st)
	var err error
	st.body, err = appendTensorBody(st.body[:0], c.tensorHead, c.tensorTail, row, deadline)
	if err != nil {
		return c.notSent(err)
	}
	return c.do(st, deadline, a)
}

// do posts st.body and reads the answer into a.
func (c *Client) do(st *call, deadline time.Time, a *Answer) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(c.endpoint)
	if st.headerLen > 0 { // a JSON header, then binary tensors
		req.Header.SetContentTypeBytes(contentTypeOctetStream)
		st.headerText = strconv.AppendInt(st.headerText[:0], int64(st.headerLen), 10)
		req.Header.SetBytesV(headerContentLength, st.headerText)
	} else {
		req.Header.SetContentTypeBytes(contentTypeJSON)
	}
	for _, h := range c.headers {
		req.Header.Set(h.name, h.value)
	}
	if c.host != "" {
		req.Header.SetHost(c.host)
		req.UseHostHeader = true
	}
	if c.sendsTimeout {
		// Whole milliseconds, rounded down: the remote gives up no later
		// than the caller does. Below 1ms the call fails at once anyway.
		ms := time.Until(deadline).Milliseconds()
		st.timeout = append(strconv.AppendInt(st.timeout[:0], max(ms, 1), 10), "ms"...)
		req.Header.SetBytesV(headerRequestTimeout, st.timeout)
	}
	// The body is st's buffer, not a copy: st outlives the request.
	req.SetBodyRaw(st.body)

	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		return c.transportError(err, deadline)
	}
	if status := resp.StatusCode(); status < 200 || status > 299 {
		return c.statusError(resp, &st.parser)
	}
	var err error
	switch {
	case st.outs != nil:
		err = parseV2Tensors(&st.parser, resp, st.outs, &st.scratch, a)
	case c.protocol == ProtocolV2:
		err = parseV2(&st.parser, resp.Body(), c.output, a)
	default:
		err = parseInfergate(&st.parser, resp.Body(), a)
	}
	if err != nil {
		return fmt.Errorf("%w: POST %s: %w", ErrBadResponse, c.endpoint, err)
	}
	return nil
}

// notSent fails a call whose request cannot be written: the request is at
// fault, as when the remote rejects it, but the remote saw nothing.
func (c *Client) notSent(err error) error {
	return fmt.Errorf("%w: POST %s: not sent: %w", ErrRejected, c.endpoint, err)
}

// transportError classifies a call that got no HTTP answer.
func (c *Client) transportError(err error, deadline time.Time) error {
	switch {
	case isTimeout(err) || !time.Now().Before(deadline):
		return fmt.Errorf("%w: POST %s: no answer by the deadline: %w", ErrTimeout, c.endpoint, err)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fmt.Errorf("%w: POST %s: the answer is larger than %d bytes: %w", ErrBadResponse, c.endpoint, maxResponseBytes, err)
	}
	return fmt.Errorf("%w: POST %s: %w", ErrUnavailable, c.endpoint, err)
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryOnDroppedConn lets fasthttp try again when the remote closed or reset
// the connection before answering (see maxAttempts). Other errors, a refused
// dial among them, fail the call at once.
func retryOnDroppedConn(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// statusError classifies an answer that is not a 2xx.
func (c *Client) statusError(resp *fasthttp.Response, p *fastjson.Parser) error {
	status := resp.StatusCode()
	var class error
	switch {
	case status == fasthttp.StatusGatewayTimeout, status == fasthttp.StatusRequestTimeout:
		class = ErrTimeout
	case status == fasthttp.StatusTooManyRequests, status >= 500:
		class = ErrUnavailable
	default:
		// 4xx, and 3xx: redirects are not followed, since a prediction's
		// URL that moves is a config to fix.
		class = ErrRejected
	}
	var reason string
	if loc := resp.Header.Peek(fasthttp.HeaderLocation); status >= 300 && status < 400 && len(loc) > 0 {
		reason = "redirected to " + excerptBytes(loc) + "; set url to where the remote is now"
	} else {
		reason = remoteMessage(p, resp.Body())
	}
	return fmt.Errorf("%w: POST %s: %d %s: %s", class, c.endpoint, status, fasthttp.StatusMessage(status), reason)
}
