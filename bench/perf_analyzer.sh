#!/usr/bin/env bash
# bench/perf_analyzer.sh: Triton's perf_analyzer (2.51.0, from PyPI) driving
# infergate over v2 HTTP, as a Triton user load-tests a server: the demo
# route and PaddleOCR's classifier, binary and JSON tensors, 1 and 16
# concurrent requests. It reads the model configuration
# (/v2/models/NAME/config) before it sends load, and the statistics
# (/v2/models/NAME/stats) for its server-side breakdown. --input-data zero:
# its random FP32 data holds NaN, which JSON cannot carry (a 400 here).
#
# Needs bench/results/registry with the classifier (bench/protocols.sh
# imports it), libb64-0d (Debian's package, installed here when missing)
# and PyPI for bench/peers/perf-analyzer.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-perf_analyzer
ADDR=127.0.0.1:18080
[[ -d bench/results/registry/ocr-direction ]] || { echo "perf_analyzer.sh: run bench/protocols.sh first (it imports the classifier)" >&2; exit 2; }
if ! ldconfig -p | grep -q libb64.so.0d; then
	{ apt-get update -qq && apt-get install -y -qq libb64-0d; } >/dev/null || { echo "perf_analyzer.sh: perf_analyzer needs libb64-0d (apt-get install libb64-0d)" >&2; exit 2; }
fi
venv=$(scripts/pyvenv.sh bench/peers/perf-analyzer.txt perf-analyzer)
cudart=$(dirname "$(find "$venv" -name 'libcudart.so.12' | head -1)")
mkdir -p "$OUT"
make build >/dev/null
bin/infergate serve --config configs/bench/gateway-protocols.yaml >"$OUT/serve.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null && break; sleep 0.1; done
for model in customer-churn ocr; do
	for format in binary json; do
		echo "== $model, $format tensors"
		LD_LIBRARY_PATH=$cudart "$venv/bin/perf_analyzer" -m "$model" -u "$ADDR" -i http \
			--input-tensor-format "$format" --output-tensor-format "$format" --input-data zero \
			--concurrency-range 1:16:15 --measurement-interval 3000 --stability-percentage 25 \
			-f "$OUT/$model-$format.csv" 2>&1 | tee "$OUT/$model-$format.txt" | grep -E "Concurrency:|Throughput|p99 latency|Avg latency|Server:|Queue|Compute (input|infer|output)" || true
	done
done
echo "results: $OUT"
