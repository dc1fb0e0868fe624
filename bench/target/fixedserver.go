package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// fixedServerShutdownTimeout bounds how long Close waits for connections in
// use to finish before it closes them.
const fixedServerShutdownTimeout = 5 * time.Second

// FixedServer is the baseline HTTP server: fasthttp answering every
// request, whatever its method, path or body, with status 200 and one fixed
// body (Content-Type application/json). It measures what HTTP alone costs on
// the machine, the ceiling the gateway's throughput is compared with. With a
// FixedAnswer it plays a failing (status) or slow or hung (delay) dependency.
type FixedServer struct {
	srv   *fasthttp.Server
	ln    net.Listener
	addr  string
	serve chan error // Serve's result
	// closing is closed by Close, to end the waits of delayed answers.
	closing chan struct{}
}

var contentTypeJSON = []byte("application/json")

// StartFixedServer listens on addr ("127.0.0.1:0" picks a free port) and
// serves body until Close. The body is kept, not copied: the caller must
// not modify it afterwards.
func StartFixedServer(addr string, body []byte) (*FixedServer, error) {
	return StartFixedServerAnswering(addr, body, FixedAnswer{})
}

// FixedAnswer changes how a FixedServer answers, to stand in for a failing
// or slow dependency (a shadow or fallback target under test).
type FixedAnswer struct {
	// Status of every answer. Default 200.
	Status int
	// Delay before each answer; a delay longer than any client's timeout
	// is a target that hangs. Close cuts the waits short.
	Delay time.Duration
}

// StartFixedServerAnswering is StartFixedServer with the answer's status and
// delay set by ans.
func StartFixedServerAnswering(addr string, body []byte, ans FixedAnswer) (*FixedServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fixed server: %w", err)
	}
	status := ans.Status
	if status == 0 {
		status = fasthttp.StatusOK
	}
	s := &FixedServer{
		ln:      ln,
		addr:    ln.Addr().String(),
		serve:   make(chan error, 1),
		closing: make(chan struct{}),
	}
	s.srv = &fasthttp.Server{
		Name: "fixedbody",
		// Keep-alive connections get "Connection: close" on the answer
		// in progress at shutdown, rather than stay open.
		CloseOnShutdown: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if ans.Delay > 0 {
				t := time.NewTimer(ans.Delay)
				select {
				case <-t.C:
				case <-s.closing:
					t.Stop()
				}
			}
			ctx.SetStatusCode(status)
			ctx.SetContentTypeBytes(contentTypeJSON)
			ctx.SetBody(body)
		},
	}
	go func() { s.serve <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on, e.g. "127.0.0.1:41237".
func (s *FixedServer) Addr() string { return s.addr }

// Close stops accepting connections, closes the idle ones and waits up to 5
// seconds for those in use to finish their request (the answer then says
// "Connection: close"); it reports the connections still open after that. A
// second Close is a no-op; Close must not run concurrently with itself.
func (s *FixedServer) Close() error {
	if s.serve == nil {
		return nil
	}
	close(s.closing)
	ctx, cancel := context.WithTimeout(context.Background(), fixedServerShutdownTimeout)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	// Shutdown closes only the listeners Serve has registered: one that
	// has not started yet would otherwise accept forever.
	_ = s.ln.Close()
	if serr := <-s.serve; serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	s.serve = nil
	if err != nil {
		return fmt.Errorf("fixed server %s: %w", s.addr, err)
	}
	return nil
}
