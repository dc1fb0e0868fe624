package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/configs"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
)

const defaultConfig = "configs/infergate.yaml"

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", defaultConfig, "configuration file")
	listen := fs.String("listen", "", "public API address (overrides server.listen)")
	adminListen := fs.String("admin-listen", "", "admin API address (overrides server.admin_listen)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, func(c *configs.Config) {
		if *listen != "" {
			c.Server.Listen = *listen
		}
		if *adminListen != "" {
			c.Server.AdminListen = *adminListen
		}
	})
	if err != nil {
		return err
	}
	log := cfg.Log.Logger(os.Stderr)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, log)
}

// loadConfig decodes the file, applies flag overrides, then validates.
func loadConfig(path string, override func(*configs.Config)) (*configs.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	cfg, err := configs.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if override != nil {
		override(cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s is invalid (run `infergate validate --config %s`):\n%w", path, path, err)
	}
	return cfg, nil
}

// serve runs the gateway until ctx ends, then drains: listeners close, in-flight
// requests finish, batchers empty their queues, sessions close.
func serve(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	env, err := runtime.Open(cfg.Runtime)
	if err != nil {
		return err
	}
	defer func() { _ = env.Close() }()
	log.Info("onnx runtime loaded", "version", env.Version(), "library", env.LibraryPath(), "providers", env.Providers())

	store, err := registry.Open(cfg.Registry.Root)
	if err != nil {
		return err
	}
	start := time.Now()
	table, err := router.Load(cfg.RouterRoutes(), store, batcher.ONNXOpener{Env: env})
	if err != nil {
		return fmt.Errorf("%w (train the demo model with `make run` or `infergate train --demo`)", err)
	}
	for _, r := range table.Routes() {
		log.Info("route ready", "route", r.Name(), "model", r.Target().Name(), "version", r.Target().Version(), "ref", r.Ref())
	}
	log.Info("models loaded and warmed", "routes", len(table.Routes()), "took", time.Since(start).Round(time.Millisecond))

	gcfg := cfg.GatewayConfig()
	gcfg.Version = version
	g, err := gateway.New(gcfg, table)
	if err != nil {
		_ = table.Close()
		return err
	}
	g.LogSecurity(slog.Default())
	publicLn, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		_ = table.Close()
		return fmt.Errorf("cannot listen on server.listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.Server.AdminListen)
	if err != nil {
		_ = publicLn.Close()
		_ = table.Close()
		return fmt.Errorf("cannot listen on server.admin_listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(publicLn, adminLn) }()
	g.SetReady(true)
	log.Info("serving", "listen", publicLn.Addr().String(), "admin_listen", adminLn.Addr().String())

	// The registry watch swaps in new versions (and moved aliases) until
	// the shutdown begins; it is stopped before the drain.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	if every := *cfg.Registry.WatchInterval; every > 0 {
		fp, err := router.Fingerprint(cfg.RouterRoutes(), store)
		if err != nil {
			fp = "" // the first successful look swaps, which is harmless
		}
		reloader := gateway.NewReloader(g, cfg.RouterRoutes(), store, batcher.ONNXOpener{Env: env}, fp, log)
		go func() { defer close(watched); reloader.Run(watchCtx, every) }()
		log.Info("watching the registry for new versions", "every", every)
	} else {
		close(watched)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining in-flight requests", "shutdown_delay", cfg.Server.ShutdownDelay, "shutdown_timeout", cfg.Server.ShutdownTimeout)
	case serveErr = <-served:
		log.Error("server stopped", "err", serveErr)
	}
	stopWatch()
	<-watched
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownDelay+cfg.Server.ShutdownTimeout)
	defer cancel()
	err = errors.Join(serveErr, g.Shutdown(shutdownCtx), g.Table().Close())
	if err == nil {
		log.Info("stopped cleanly")
	}
	return err
}

func runValidate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	configPath := fs.String("config", defaultConfig, "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := configs.Load(*configPath); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "%s: ok\n", *configPath)
	return err
}

func runVersion(stdout io.Writer) error {
	if _, err := fmt.Fprintf(stdout, "infergate %s\n", version); err != nil {
		return err
	}
	var cfg runtime.Config
	cfg.ApplyDefaults()
	env, err := runtime.Open(cfg)
	if err != nil {
		// Not a failure of the command: it reports what it finds.
		_, err = fmt.Fprintf(stdout, "onnxruntime: not loaded (`make setup` installs %s): %v\n", runtime.LibraryVersion, err)
		return err
	}
	defer func() { _ = env.Close() }()
	_, err = fmt.Fprintf(stdout, "onnxruntime %s\nlibrary %s\nproviders %s\n", env.Version(), env.LibraryPath(), strings.Join(env.Providers(), ", "))
	return err
}
