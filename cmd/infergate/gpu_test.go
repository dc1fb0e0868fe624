package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeGPUPlacement: a route that asks for a GPU instance on a machine
// where none can be placed (no NVML here, or a CPU-only ONNX Runtime build)
// is refused with require_gpu and served on the CPU with prefer_gpu, which
// says why in its log; /v1/devices and /v1/models say what was placed.
func TestServeGPUPlacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := writeConfig(t, dir)
	if r := run(t, dir, "train", "--demo", "--config", base, "--demo-data", filepath.Join(dir, "churn.csv")); r.code != 0 {
		t.Fatalf("train --demo: exit %d\n%s", r.code, r.stderr)
	}
	config := func(name, batching string) string {
		t.Helper()
		data, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(data), "      instances: 2\n", batching, 1)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	require := config("require.yaml", "      gpu_policy: require_gpu\n      instance_groups: [{kind: gpu, count: 1}]\n")
	prefer := config("prefer.yaml", "      instance_groups: [{kind: gpu, count: 1, cuda: {cudnn_conv_algo_search: HEURISTIC}}, {kind: cpu}]\n")

	addrs := freeAddrs(t, 4)
	r := run(t, dir, "serve", "--config", require, "--listen", addrs[2], "--admin-listen", addrs[3])
	if r.code != 1 || !strings.Contains(r.stderr, "cannot place the model's GPU instances (gpu_policy: require_gpu)") {
		t.Fatalf("require_gpu: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	s := startServer(t, dir, "--config", prefer, "--listen", addrs[0], "--admin-listen", addrs[1])
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	s.waitReady(t, client, "http://"+addrs[0]+"/readyz")
	if !strings.Contains(s.log.String(), `msg="GPU instance placed on the CPU"`) {
		t.Errorf("the log does not say the GPU instance went to the CPU:\n%s", s.log)
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := client.Get("http://" + addrs[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(body, v); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s (%v)", path, resp.StatusCode, body, err)
		}
	}
	var devices struct {
		Library struct {
			Providers []string
			CUDA      bool
		}
		Telemetry string `json:"gpu_telemetry"`
	}
	get("/v1/devices", &devices)
	if devices.Library.CUDA || len(devices.Library.Providers) == 0 || devices.Telemetry == "" {
		t.Errorf("/v1/devices: %+v", devices)
	}
	var models struct {
		Models []struct{ Instances []string }
	}
	get("/v1/models", &models)
	if len(models.Models) != 1 || strings.Join(models.Models[0].Instances, ",") != "cpu,cpu" {
		t.Errorf("/v1/models instances: %+v", models.Models)
	}
	t.Logf("telemetry: %s", devices.Telemetry)
}
