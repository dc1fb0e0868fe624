package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/infergate/infergate/bench/target"
)

// serverStartTimeout bounds how long a started gateway may take to answer
// /readyz: loading and warming models takes milliseconds; a minute means it
// is stuck.
const serverStartTimeout = time.Minute

// server is one server the harness started.
type server struct {
	addr, adminAddr string
	stop            func() error
}

func startServer(ctx context.Context, cfg ServerConfig, opts Options) (*server, error) {
	if cfg.FixedBody != "" {
		addr := cfg.Listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		fs, err := target.StartFixedServerAnswering(addr, []byte(cfg.FixedBody), target.FixedAnswer{Status: cfg.Status, Delay: cfg.Delay})
		if err != nil {
			return nil, fmt.Errorf("servers[%s]: %w", cfg.Name, err)
		}
		return &server{addr: fs.Addr(), stop: fs.Close}, nil
	}
	return startInfergate(ctx, cfg, opts)
}

// startInfergate runs `infergate serve` on two free loopback ports and waits
// until it is ready.
func startInfergate(ctx context.Context, cfg ServerConfig, opts Options) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	logs := &tailBuffer{max: 8 << 10}
	var out io.Writer = logs
	var logFile *os.File
	if opts.LogDir != "" {
		if logFile, err = os.Create(filepath.Join(opts.LogDir, cfg.Name+".log")); err != nil {
			return nil, fmt.Errorf("servers[%s]: %w", cfg.Name, err)
		}
		out = io.MultiWriter(logs, logFile)
	}
	cmd := exec.Command(opts.Infergate, "serve", "--config", cfg.Infergate, "--listen", addr, "--admin-listen", adminAddr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		closeQuietly(logFile)
		return nil, fmt.Errorf("servers[%s]: cannot start %s: %w", cfg.Name, opts.Infergate, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s := &server{addr: addr, adminAddr: adminAddr}
	s.stop = func() error {
		defer closeQuietly(logFile)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				return fmt.Errorf("servers[%s] exited with %w; its log ends:\n%s", cfg.Name, err, logs.String())
			}
			return nil
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("servers[%s] did not stop within 15s of SIGTERM and was killed", cfg.Name)
		}
	}
	if err := waitReady(ctx, "http://"+addr+"/readyz", exited); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("servers[%s] (infergate serve --config %s): %w; its log ends:\n%s", cfg.Name, cfg.Infergate, err, logs.String())
	}
	return s, nil
}

// waitReady polls url until it answers 200, the process exits, or the start
// timeout passes.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(serverStartTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it was ready: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", serverStartTimeout)
		}
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cannot find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func closeQuietly(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
