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
// the machine, the ceiling the gateway's throughput is compared with.
type FixedServer struct {
	srv   *fasthttp.Server
	ln    net.Listener
	addr  string
	serve chan error // Serve's result
}

var contentTypeJSON = []byte("application/json")

// StartFixedServer listens on addr ("127.0.0.1:0" picks a free port) and
// serves body until Close. The body is kept, not copied: the caller must
// not modify it afterwards.
func StartFixedServer(addr string, body []byte) (*FixedServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fixed server: %w", err)
	}
	s := &FixedServer{
		ln:    ln,
		addr:  ln.Addr().String(),
		serve: make(chan error, 1),
		srv: &fasthttp.Server{
			Name: "fixedbody",
			// Keep-alive connections get "Connection: close" on the answer
			// in progress at shutdown, rather than stay open.
			CloseOnShutdown: true,
			Handler: func(ctx *fasthttp.RequestCtx) {
				ctx.SetContentTypeBytes(contentTypeJSON)
				ctx.SetBody(body)
			},
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
