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

	"github.com/VictoriaMetrics/metrics"
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

	opener, closeDevices := openDevices(env, cfg.Runtime, log)
	defer closeDevices()

	store, err := registry.Open(cfg.Registry.Root)
	if err != nil {
		return err
	}
	start := time.Now()
	table, err := router.Load(cfg.RouterRoutes(), store, opener)
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("%w (train the demo model with `make run` or `infergate train --demo`)", err)
	}
	if err != nil {
		return err
	}
	for _, r := range table.Routes() {
		log.Info("route ready", "route", r.Name(), "model", r.Target().Name(), "version", r.Target().Version(), "ref", r.Ref(),
			"instances", r.Target().Placement())
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
	g.SetDeviceReport(func() any { return deviceReport(env, opener) })
	g.SetModelChecker(modelChecker(env))
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
		reloader := gateway.NewReloader(g, cfg.RouterRoutes(), store, opener, fp, log)
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

// openDevices starts the GPU telemetry when NVML is there (a GPU machine)
// and returns the opener that places models with it, and what closes it.
// Without NVML every instance runs on the CPU, as gpu_policy allows.
func openDevices(env *runtime.Environment, cfg runtime.Config, log *slog.Logger) (batcher.ONNXOpener, func()) {
	opener := batcher.ONNXOpener{Env: env, Log: log}
	// CUDA numbers devices fastest first unless told otherwise; NVML, and
	// so the instance groups' device numbers, by PCI bus.
	if os.Getenv("CUDA_DEVICE_ORDER") == "" {
		_ = os.Setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
	}
	nv, err := runtime.OpenNVML()
	if err != nil {
		opener.NoGPU = err
		log.Info("no GPU telemetry; GPU instances will run on the CPU (gpu_policy: prefer_gpu) or refuse to load (require_gpu)", "why", err)
		return opener, func() {}
	}
	tel := runtime.NewTelemetry(nv, cfg.GPUTelemetryInterval, log)
	tel.Start()
	set := metrics.NewSet()
	tel.RegisterMetrics(set)
	metrics.RegisterSet(set)
	for _, d := range tel.Latest() {
		log.Info("GPU found", "device", d.Index, "name", d.Name, "uuid", d.UUID, "memory_total", d.MemoryTotal, "memory_free", d.MemoryFree, "healthy", d.Healthy)
	}
	if !env.HasCUDA() {
		log.Warn("GPUs are present but the ONNX Runtime library has no CUDA execution provider: GPU instances run on the CPU (prefer_gpu); set runtime.library_path or INFERGATE_ORT_LIB to a CUDA-enabled build", "library", env.LibraryPath())
	}
	opener.Telemetry = tel
	return opener, func() {
		metrics.UnregisterSet(set, true)
		_ = tel.Close()
		_ = nv.Close()
	}
}

// deviceReport is the answer of GET /v1/devices on the admin API.
func deviceReport(env *runtime.Environment, opener batcher.ONNXOpener) any {
	type library struct {
		Path      string   `json:"path"`
		Version   string   `json:"version"`
		Providers []string `json:"providers"`
		CUDA      bool     `json:"cuda"`
	}
	r := struct {
		Library   library              `json:"library"`
		Telemetry string               `json:"gpu_telemetry"`
		Devices   []runtime.DeviceInfo `json:"devices"`
	}{
		Library:   library{env.LibraryPath(), env.Version(), env.Providers(), env.HasCUDA()},
		Telemetry: "nvml",
		Devices:   []runtime.DeviceInfo{},
	}
	if opener.Telemetry == nil {
		r.Telemetry = "unavailable: " + opener.NoGPU.Error()
	} else {
		r.Devices = append(r.Devices, opener.Telemetry.Latest()...)
	}
	return r
}
