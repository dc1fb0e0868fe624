#!/usr/bin/env bash
# The GPU checks of issue 8, for a machine with an NVIDIA GPU and no Go
# toolchain (the device tool's). Build here, carry bin/, run there:
#
#   make gpu-check-build          # bin/infergate and bin/heavymodel
#   (device) scripts/gpu-check.sh # with carry: ["bin"]; results in $OUT
#
# It uses the ONNX Runtime library of the machine's Python onnxruntime
# package (or INFERGATE_ORT_LIB), serves the demo model with a GPU instance
# group (prefer_gpu), saves GET /v1/devices, the infergate_gpu_* metrics, the
# serve log and a prediction, then runs the standard bench scenario
# (BENCH=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-$(mktemp -d)}
BENCH=${BENCH:-1}
BIN=bin/infergate
[ -x "$BIN" ] && [ -x bin/heavymodel ] || { echo "gpu-check: build first: make gpu-check-build" >&2; exit 1; }

if [ -z "${INFERGATE_ORT_LIB:-}" ]; then
	capi=$(python3 -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))' 2>/dev/null || true)
	lib=$(ls "$capi"/libonnxruntime.so.* 2>/dev/null | head -n 1 || true)
	[ -n "$lib" ] || { echo "gpu-check: no ONNX Runtime library: set INFERGATE_ORT_LIB" >&2; exit 1; }
	export INFERGATE_ORT_LIB=$lib
fi
echo "gpu-check: ONNX Runtime library $INFERGATE_ORT_LIB" | tee "$OUT/summary.txt"
nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu --format=csv >>"$OUT/summary.txt" 2>&1 || true
nproc >>"$OUT/summary.txt"

WORK=$(mktemp -d)
trap 'kill "${SERVE:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" train --demo --registry "$WORK/registry" --demo-data "$WORK/churn.csv" >/dev/null
cat >"$WORK/gpu.yaml" <<YAML
server: {listen: 127.0.0.1:18480, admin_listen: 127.0.0.1:18481}
registry: {root: $WORK/registry}
auth: {mode: off, admin: {mode: off, audit_log: $WORK/audit.log}}
runtime: {gpu_telemetry_interval: 1s}
routes:
  - name: customer-churn
    batching:
      gpu_policy: prefer_gpu
      instance_groups: [{kind: gpu, count: 2, min_free_memory: 1073741824}, {kind: cpu, count: 2}]
YAML
"$BIN" serve --config "$WORK/gpu.yaml" >"$OUT/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do curl -fs 127.0.0.1:18480/readyz >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2 # two telemetry samples
curl -fs 127.0.0.1:18481/v1/devices >"$OUT/devices.json"
curl -fs 127.0.0.1:18481/metrics | grep -E '^infergate_gpu_|^infergate_batcher_unhealthy' >"$OUT/gpu-metrics.txt" || true
curl -fs 127.0.0.1:18481/v1/models | grep -A6 '"instances"' >"$OUT/instances.txt" || true
curl -fs 127.0.0.1:18480/v1/predictions -d '{"model_id":"customer-churn","features":{"tenure_months":24,"monthly_charges":89.99,"contract":"month-to-month","support_calls":3}}' >"$OUT/prediction.json"
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true
{ echo; echo "== devices"; cat "$OUT/devices.json"; echo "== gpu metrics"; cat "$OUT/gpu-metrics.txt"; echo "== instances"; cat "$OUT/instances.txt";
  echo "== prediction"; cat "$OUT/prediction.json"; echo "== placement log"; grep -E 'GPU|NVML|telemetry|CUDA' "$OUT/serve.log" || true; } >>"$OUT/summary.txt"

if [ "$BENCH" = 1 ]; then
	rm -rf bench/results/registry
	"$BIN" train --demo --registry bench/results/registry --demo-data bench/results/churn.csv >/dev/null
	bin/heavymodel --registry bench/results/registry --hidden 1024 --layers 2 >/dev/null
	"$BIN" bench --scenario configs/bench/standard.yaml --out "$OUT/bench" | tee -a "$OUT/summary.txt"
fi
cat "$OUT/summary.txt"
