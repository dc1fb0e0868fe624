package remote_test

import (
	"strings"
	"testing"

	"github.com/infergate/infergate/router/remote"
)

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	f := func(cfg, want remote.Config) {
		t.Helper()
		cfg.ApplyDefaults()
		if cfg.Protocol != want.Protocol || cfg.Input != want.Input || cfg.MaxConns != want.MaxConns || cfg.Model != want.Model {
			t.Errorf("defaults %+v, want %+v", cfg, want)
		}
	}
	f(remote.Config{}, remote.Config{Protocol: "infergate", MaxConns: 64})
	f(remote.Config{Protocol: "v2"}, remote.Config{Protocol: "v2", Input: "input", MaxConns: 64})
	f(remote.Config{Protocol: "v2", Input: "x", MaxConns: 3, Model: "m"}, remote.Config{Protocol: "v2", Input: "x", MaxConns: 3, Model: "m"})
}

// TestValidate: each problem is one line that starts with its field's name,
// in field order.
func TestValidate(t *testing.T) {
	t.Parallel()
	f := func(cfg remote.Config, want ...string) {
		t.Helper()
		cfg.ApplyDefaults()
		err := cfg.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("%+v: unexpected error:\n%v", cfg, err)
			}
			return
		}
		if err == nil {
			t.Errorf("%+v: no error, want %q", cfg, want)
			return
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(want) {
			t.Errorf("%+v: %d problems, want %d:\n%v", cfg, len(lines), len(want), err)
			return
		}
		for i, line := range lines {
			if !strings.HasPrefix(line, want[i]) {
				t.Errorf("%+v: line %d\n%s\nwant it to start with\n%s", cfg, i, line, want[i])
			}
		}
	}
	ok := remote.Config{URL: "http://churn-b:8080", Model: "churn"}
	with := func(edit func(c *remote.Config)) remote.Config {
		c := ok
		edit(&c)
		return c
	}

	f(ok)
	f(with(func(c *remote.Config) { c.URL = "https://[::1]:8443/base/" }))
	f(with(func(c *remote.Config) { c.URL = "HTTP://Churn-B" }))
	f(with(func(c *remote.Config) {
		c.Protocol, c.Version, c.Input, c.Output = "v2", "3", "dense", "probability"
		c.Headers = map[string]string{"Authorization": "Bearer x", "Host": "churn.example.com", "X-Request-Timeout": "1s"}
	}))

	f(remote.Config{}, "url: must not be empty; set the remote's base URL", "model: must not be empty")
	f(with(func(c *remote.Config) { c.URL = "ftp://churn-b" }), `url: "ftp://churn-b" must start with http:// or https://`)
	f(with(func(c *remote.Config) { c.URL = "churn-b:8080" }), `url: "churn-b:8080" must start with http://`)
	f(with(func(c *remote.Config) { c.URL = "http://" }), `url: "http://" names no host`)
	f(with(func(c *remote.Config) { c.URL = "http://churn-b:port" }), `url: "http://churn-b:port" is not a URL`)
	f(with(func(c *remote.Config) { c.URL = "http://churn-b/?debug=1" }), "url: \"http://churn-b/?debug=1\" must not have a query or fragment")
	f(with(func(c *remote.Config) { c.URL = "http://churn-b#x" }), "url: \"http://churn-b#x\" must not have a query or fragment")
	f(with(func(c *remote.Config) { c.URL = "http://bob:hunter2@churn-b" }), "url: must not carry credentials (user info before @); send them in headers")
	f(with(func(c *remote.Config) { c.URL = "ftp://ghp_token@churn-b" }), "url: must not carry credentials")
	f(with(func(c *remote.Config) { c.Protocol = "grpc" }), `protocol: unknown protocol "grpc"; use infergate or v2`)
	f(with(func(c *remote.Config) { c.Version, c.Input, c.Output = "3", "x", "y" }),
		"version: only protocol v2 uses it", "input: only protocol v2 uses it", "output: only protocol v2 uses it")
	f(with(func(c *remote.Config) { c.Protocol, c.Version, c.Output = "v2", "3\n", "p\x00" }),
		`version: "3\n" must not contain control characters`, `output: "p\x00" must not contain control characters`)
	f(remote.Config{URL: "http://churn-b", Protocol: "grpc", Version: "1"},
		`protocol: unknown protocol "grpc"`, "model: must not be empty", "version: only protocol v2 uses it")
	f(with(func(c *remote.Config) { c.Model = "" }), "model: must not be empty")
	f(with(func(c *remote.Config) { c.Model = "churn\t" }), `model: "churn\t" must not contain control characters`)
	f(with(func(c *remote.Config) { c.MaxConns = -1 }), "max_conns: must be positive, got -1")
	f(with(func(c *remote.Config) {
		c.Headers = map[string]string{
			"":                  "x",
			"Bad Name":          "x",
			"Content-Length":    "3",
			"X-Request-Timeout": "1s",
			"authorization":     "a",
			"Authorization":     "b",
			"X-Split":           "a\r\nInjected: yes",
		}
	}),
		// In name order; a name that differs only in case is a duplicate.
		`headers[]: "" is not a header name`,
		`headers[Bad Name]: "Bad Name" is not a header name`,
		"headers[Content-Length]: the client sets Content-Length itself",
		"headers[X-Request-Timeout]: the client sets X-Request-Timeout itself",
		"headers[X-Split]: the value must not contain line breaks or NUL",
		"headers[authorization]: names the same header as headers[Authorization]",
	)
}
