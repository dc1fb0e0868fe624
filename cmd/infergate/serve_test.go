package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// predictBody is the README's first curl request.
const predictBody = `{"model_id":"customer-churn","features":{"customer_id":"12345","tenure_months":24,"monthly_charges":89.99,"contract":"month-to-month","support_calls":3}}`

// writeConfig writes a config whose registry lives in dir and whose
// addresses are ones the test never serves on, so that only the flags can make
// `serve` listen where the test looks.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "infergate.yaml")
	config := fmt.Sprintf(`server:
  listen: 127.0.0.1:1
  admin_listen: 127.0.0.1:2
registry:
  root: %s
routes:
  - name: customer-churn
    batching:
      max_batch_size: 16
      instances: 2
auth: {mode: off, admin: {mode: off, audit_log: %q}}
`, filepath.Join(dir, "registry"), filepath.Join(dir, "audit.log"))
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddrs returns n distinct loopback addresses that were free a moment
// ago: all are held open together so they differ, then released for the
// server to take.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running `infergate serve`.
type server struct {
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's, once exited is closed
}

func startServer(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	s := &server{log: new(lockedBuffer), exited: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("infergate serve log:\n%s", s.log)
		}
	})
	return s
}

// waitReady polls url until it answers 200, the process exits, or 10s pass.
func (s *server) waitReady(t *testing.T, client *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("infergate serve exited before it was ready (%v):\n%s", s.err, s.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 10s (last error %v):\n%s", url, err, s.log)
		}
	}
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeConfig(t, dir)

	// Train the demo model into the config's registry, once.
	r := run(t, dir, "train", "--demo", "--config", config, "--demo-data", filepath.Join(dir, "churn.csv"))
	if r.code != 0 || !strings.Contains(r.stdout, "alias                production → 1.0.0") {
		t.Fatalf("train --demo: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, "train", "--demo", "--if-missing", "--config", config)
	if want := "already has customer-churn production=1.0.0; nothing to train\n"; r.code != 0 || !strings.HasSuffix(r.stdout, want) {
		t.Fatalf("train --demo --if-missing: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); err == nil {
		t.Fatal("train wrote under the working directory although --demo-data named another place")
	}

	addrs := freeAddrs(t, 2)
	public, admin := addrs[0], addrs[1]
	s := startServer(t, dir, "--config", config, "--listen", public, "--admin-listen", admin)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
	defer client.CloseIdleConnections()
	s.waitReady(t, client, "http://"+public+"/readyz")

	// The flags, not the config, decided where it listens.
	if want := fmt.Sprintf("msg=serving listen=%s admin_listen=%s\n", public, admin); !strings.Contains(s.log.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, s.log)
	}

	// The README's request.
	resp, err := client.Post("http://"+public+"/v1/predictions", "application/json", strings.NewReader(predictBody))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/predictions: %d %s", resp.StatusCode, body)
	}
	var pred struct {
		ModelID      string   `json:"model_id"`
		Prediction   string   `json:"prediction"`
		Probability  *float64 `json:"probability"`
		ModelVersion string   `json:"model_version"`
		LatencyMS    *float64 `json:"latency_ms"`
	}
	if err := json.Unmarshal(body, &pred); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if pred.ModelID != "customer-churn" || pred.Prediction == "" || pred.Probability == nil || *pred.Probability <= 0 || *pred.Probability >= 1 ||
		pred.ModelVersion != "1.0.0" || pred.LatencyMS == nil || *pred.LatencyMS < 0 {
		t.Fatalf("POST /v1/predictions: %s", body)
	}

	// The admin port: metrics count that request, the model list shows the route.
	get := func(url string) string {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return string(body)
	}
	metrics := get("http://" + admin + "/metrics")
	for _, want := range []string{
		`infergate_http_requests_total{route="customer-churn",code="200"} 1` + "\n",
		`infergate_batcher_requests_total{model="customer-churn",version="1.0.0"} 1` + "\n",
		`infergate_batcher_queue_depth{model="customer-churn",version="1.0.0"} 0` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var models struct {
		Models []struct {
			Route   string            `json:"route"`
			Model   string            `json:"model"`
			Version string            `json:"version"`
			Ref     string            `json:"ref"`
			Aliases map[string]string `json:"aliases"`
			State   string            `json:"state"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(get("http://"+admin+"/v1/models")), &models); err != nil {
		t.Fatal(err)
	}
	if len(models.Models) != 1 {
		t.Fatalf("/v1/models: %+v", models)
	}
	if m := models.Models[0]; m.Route != "customer-churn" || m.Model != "customer-churn" || m.Version != "1.0.0" ||
		m.Ref != "production" || m.Aliases["production"] != "1.0.0" || m.State != "ready" {
		t.Fatalf("/v1/models: %+v", m)
	}
	// The admin API is not on the public port, nor predictions on the admin one.
	for _, url := range []string{"http://" + public + "/metrics", "http://" + admin + "/v1/predictions"} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET %s: %d, want 404 or 405", url, resp.StatusCode)
		}
	}

	sigtermUnderLoad(t, s, client, public)
}

// sigtermUnderLoad sends SIGTERM while clients keep predicting, and checks
// the drain: every answered request got a 200 (never a 5xx), a request that
// got no answer failed only because the server was closing its connections
// or listener, and the process exits 0 within 10s after logging that it
// stopped cleanly.
func sigtermUnderLoad(t *testing.T, s *server, client *http.Client, public string) {
	const workers = 16
	var (
		ok, refused, dropped atomic.Int64
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		failures             []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	for range workers {
		wg.Go(func() {
			for {
				resp, err := client.Post("http://"+public+"/v1/predictions", "application/json", strings.NewReader(predictBody))
				if err != nil {
					switch {
					case errors.Is(err, syscall.ECONNREFUSED):
						// The listener is closed: the server has stopped
						// accepting, which is the end of this worker's load.
						refused.Add(1)
						return
					case closedBeforeAnswer(err):
						dropped.Add(1)
						continue
					default:
						fail("unexpected client error: %v", err)
						return
					}
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail("status %d during shutdown: %s", resp.StatusCode, body)
					return
				}
				ok.Add(1)
			}
		})
	}

	// Signal once the load is flowing.
	for deadline := time.Now().Add(10 * time.Second); ok.Load() < 200; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d predictions succeeded in 10s", ok.Load())
		}
		time.Sleep(time.Millisecond)
	}
	atSignal := ok.Load()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("infergate serve did not exit within 10s of SIGTERM:\n%s", s.log)
	}
	wg.Wait()
	t.Logf("SIGTERM after %d predictions; %d in all, %d connections closed before an answer, %d workers refused",
		atSignal, ok.Load(), dropped.Load(), refused.Load())
	for _, f := range failures {
		t.Error(f)
	}
	if s.err != nil {
		t.Fatalf("infergate serve: %v, want exit 0\n%s", s.err, s.log)
	}
	log := s.log.String()
	for _, want := range []string{"msg=\"shutting down: draining in-flight requests\"", `msg="stopped cleanly"`} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %s:\n%s", want, log)
		}
	}
	_, drain, _ := strings.Cut(log, "shutting down")
	if regexp.MustCompile(`level=(ERROR|WARN)`).MatchString(drain) {
		t.Fatalf("errors or warnings during the drain:\n%s", log)
	}
}

// closedBeforeAnswer reports whether a client error is the server closing a
// connection whose request it never read: fasthttp's Shutdown closes
// kept-alive connections it sees idle, and one may already hold the client's
// next request (the server resets it), and closing the listener resets the
// connections still in its accept queue. Go's client does not retry a POST
// then; a caller that knows its request is safe to repeat does.
func closedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

func TestServeRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeConfig(t, dir)
	f := func(wantParts []string, args ...string) {
		t.Helper()
		r := run(t, dir, append([]string{"serve", "--config", config}, args...)...)
		if r.code != 1 {
			t.Fatalf("serve %v: exit %d, want 1\n%s", args, r.code, r.stderr)
		}
		for _, part := range wantParts {
			if !strings.Contains(r.stderr, part) {
				t.Fatalf("serve %v: stderr lacks %q:\n%s", args, part, r.stderr)
			}
		}
	}
	// Flags are validated with the config.
	f([]string{"is invalid (run `infergate validate --config", "server.admin_listen: must differ from server.listen (127.0.0.1:9)"},
		"--listen", "127.0.0.1:9", "--admin-listen", "127.0.0.1:9")
	f([]string{`server.listen: "nohost" is not host:port`}, "--listen", "nohost")
	// An empty registry: the error says how to fill it.
	addrs := freeAddrs(t, 2)
	f([]string{`route "customer-churn": cannot resolve customer-churn@production in the registry`, "infergate train --demo"},
		"--listen", addrs[0], "--admin-listen", addrs[1])
}
