package remote

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/infergate/infergate/internal/defaults"
)

// Protocols a remote target speaks.
const (
	// ProtocolInfergate: POST {url}/v1/predictions
	// {"model_id": MODEL, "features": {...}}.
	ProtocolInfergate = "infergate"
	// ProtocolV2: POST {url}/v2/models/{MODEL}[/versions/{VERSION}]/infer
	// with one FP32 tensor [1, width] (the Open Inference Protocol).
	ProtocolV2 = "v2"
)

// Defaults of Config.
const (
	DefaultProtocol = ProtocolInfergate
	DefaultInput    = "input"
	DefaultMaxConns = 64
)

// What a v2 remote takes (Config.Inputs).
const (
	// InputsTensor: the row the route's encoder made, one FP32 tensor
	// [1, width] named Config.Input.
	InputsTensor = "tensor"
	// InputsFeatures: the request's features as they came, one input per
	// feature named after it, FP32 [1] for a number and BYTES [1] for a
	// string, as infergate's own v2 routes, KServe's tabular models and
	// MLServer's pandas codec take them.
	InputsFeatures = "features"
)

// headerRequestTimeout carries the call's remaining time to an infergate
// remote, so that it gives up when the caller does instead of computing an
// answer nobody waits for.
const headerRequestTimeout = "X-Request-Timeout"

// Config configures one remote target.
type Config struct {
	// URL is the remote's base URL, http:// or https://, e.g.
	// http://churn-b:8080; a path prefix is kept (http://lb/churn).
	// Required.
	URL string `yaml:"url"`
	// Protocol is what the remote speaks: infergate (another infergate's
	// /v1/predictions) or v2 (Open Inference Protocol: Triton, KServe,
	// Seldon MLServer). Default: infergate.
	Protocol string `yaml:"protocol"`
	// Model is the model name at the remote: an infergate remote's route,
	// a v2 server's model. Default: the route's name.
	Model string `yaml:"model"`
	// Version (v2 only) is the model version to put in the path; without
	// it the v2 server picks one.
	Version string `yaml:"version"`
	// Inputs (v2 only) is what the remote takes: tensor (the encoded row,
	// one tensor named Input) or features (one input per feature, by its
	// name). Default: tensor.
	Inputs string `yaml:"inputs"`
	// Input (v2 only, inputs: tensor) is the name of the model's input
	// tensor. Default: input.
	Input string `yaml:"input"`
	// Output (v2 only) is the output tensor whose first element is the
	// probability. Default: the first output the server returns.
	Output string `yaml:"output"`
	// Headers are sent with every request, e.g. Authorization for the
	// remote, or Host for a server behind a virtual-host ingress (KServe on
	// Knative). Content-Type, Content-Length, Transfer-Encoding and
	// Connection are the client's own, and so is X-Request-Timeout on an
	// infergate remote (the call's remaining time).
	Headers map[string]string `yaml:"headers"`
	// MaxConns is the most connections kept open to the remote; a call
	// finding them all busy waits for one until its deadline. Default: 64.
	MaxConns int `yaml:"max_conns"`
}

// ApplyDefaults fills unset fields with their documented defaults. Model has
// none here: the router sets it to the route's name.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.Protocol, DefaultProtocol)
	if c.Protocol == ProtocolV2 {
		// Only v2 names tensors: leaving Input empty otherwise lets
		// Validate tell a v2-only field set on an infergate remote.
		defaults.Set(&c.Inputs, InputsTensor)
		if c.Inputs == InputsTensor {
			defaults.Set(&c.Input, DefaultInput)
		}
	}
	defaults.Set(&c.MaxConns, DefaultMaxConns)
}

// Validate checks c after ApplyDefaults and reports every problem at once,
// one per line, each starting with its field's name relative to the target
// ("url: ...", "headers[Host]: ..."); the router prefixes the target's path.
func (c *Config) Validate() error {
	var errs []error
	if _, err := parseBaseURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if c.Protocol != ProtocolInfergate && c.Protocol != ProtocolV2 {
		errs = append(errs, fmt.Errorf("protocol: unknown protocol %q; use %s or %s", c.Protocol, ProtocolInfergate, ProtocolV2))
	}
	if err := checkName(c.Model, true); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	}
	for _, f := range [...]struct {
		name, value string
		required    bool
	}{
		{"version", c.Version, false}, {"input", c.Input, c.Inputs == InputsTensor}, {"output", c.Output, false},
	} {
		switch {
		case c.Protocol == ProtocolV2:
			if err := checkName(f.value, f.required); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			}
		case f.value != "":
			errs = append(errs, fmt.Errorf("%s: only protocol v2 uses it (an infergate remote serves the version its own route names, and takes features, not tensors); remove it or set protocol: v2", f.name))
		}
	}
	switch {
	case c.Protocol != ProtocolV2 && c.Inputs != "":
		errs = append(errs, errors.New("inputs: only protocol v2 uses it (an infergate remote takes the features as they came); remove it or set protocol: v2"))
	case c.Protocol == ProtocolV2 && c.Inputs != InputsTensor && c.Inputs != InputsFeatures:
		errs = append(errs, fmt.Errorf("inputs: unknown %q; use %s (the encoded row as one tensor) or %s (one input per feature)", c.Inputs, InputsTensor, InputsFeatures))
	case c.Inputs == InputsFeatures && c.Input != "":
		errs = append(errs, errors.New("input: names the one tensor of inputs: tensor; with inputs: features each input is named after its feature, so remove it"))
	}
	errs = append(errs, c.validateHeaders()...)
	if c.MaxConns <= 0 {
		errs = append(errs, fmt.Errorf("max_conns: must be positive, got %d", c.MaxConns))
	}
	return errors.Join(errs...)
}

// baseURL is a validated Config.URL, split the way fasthttp.HostClient
// wants it.
type baseURL struct {
	tls  bool
	addr string // host:port, the port defaulted from the scheme
	// prefix is the URL up to and without its trailing slash: the endpoint
	// paths are appended to it.
	prefix string
}

func parseBaseURL(raw string) (baseURL, error) {
	if raw == "" {
		return baseURL{}, errors.New("must not be empty; set the remote's base URL, e.g. http://churn-b:8080")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return baseURL{}, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.User != nil {
		// Not quoted, not even redacted: a token may be the user name.
		return baseURL{}, errors.New("must not carry credentials (user info before @); send them in headers (Authorization)")
	}
	var b baseURL
	port := u.Port()
	switch u.Scheme {
	case "http":
		defaults.Set(&port, "80")
	case "https":
		b.tls = true
		defaults.Set(&port, "443")
	default:
		return baseURL{}, fmt.Errorf("%q must start with http:// or https://", raw)
	}
	switch {
	case u.Hostname() == "":
		return baseURL{}, fmt.Errorf("%q names no host; write it as http://HOST[:PORT]", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return baseURL{}, fmt.Errorf("%q must not have a query or fragment: the client appends the endpoint's path", raw)
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	b.addr = host + ":" + port
	// The host is kept as written: the Host header a virtual-host server
	// matches on has no default port.
	b.prefix = u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/")
	return b, nil
}

// checkName checks a name that goes into a path or a JSON string: it must be
// printable, which also keeps it from splitting a log line.
func checkName(s string, required bool) error {
	if s == "" {
		if required {
			return errors.New("must not be empty")
		}
		return nil
	}
	if strings.ContainsFunc(s, isControl) {
		return fmt.Errorf("%q must not contain control characters", s)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validateHeaders reports the headers that cannot go on the wire as
// written, in name order so that the messages do not shuffle between runs.
func (c *Config) validateHeaders() []error {
	var errs []error
	seen := make(map[string]string, len(c.Headers))
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		value := c.Headers[name]
		field := "headers[" + name + "]"
		canonical := strings.ToLower(name)
		switch {
		case name == "" || strings.ContainsFunc(name, notTokenChar):
			errs = append(errs, fmt.Errorf("%s: %q is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only)", field, name))
			continue
		case isClientHeader(canonical, c.Protocol):
			errs = append(errs, fmt.Errorf("%s: the client sets %s itself; remove it", field, name))
		case seen[canonical] != "":
			errs = append(errs, fmt.Errorf("%s: names the same header as headers[%s] (names are case-insensitive); keep one", field, seen[canonical]))
		}
		seen[canonical] = name
		if strings.ContainsAny(value, "\r\n\x00") {
			errs = append(errs, fmt.Errorf("%s: the value must not contain line breaks or NUL", field))
		}
	}
	return errs
}

// isClientHeader reports whether the client owns the header named by
// lowerName: it frames the body, or (infergate) carries the deadline.
func isClientHeader(lowerName, protocol string) bool {
	switch lowerName {
	case "content-type", "content-length", "transfer-encoding", "connection":
		return true
	}
	return protocol == ProtocolInfergate && lowerName == strings.ToLower(headerRequestTimeout)
}

// notTokenChar reports a rune that RFC 9110 does not allow in a field name.
func notTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
