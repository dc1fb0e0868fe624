#!/usr/bin/env bash
# bench/priority.sh: priority levels under saturation (issue 15).
#
# Level-1 requests (product traffic: X-Priority: 1, one row each) arrive
# open-loop at RATE req/s, measured by `infergate bench` with
# configs/bench/priority.yaml. Three cases, interleaved, ROUNDS times:
#
#   unloaded   level 1 alone, served with gateway-heavy-priority.yaml
#   priority   level 1 beside a level-2 flood, same config (two levels,
#              level 2's queue bounded at 64 requests)
#   nolevels   the same flood, served with gateway-heavy-adaptive.yaml
#              (one level: X-Priority is ignored, one queue of 1024)
#
# The flood is wrk, closed-loop, FLOOD_CONNS connections each posting
# FLOOD_ROWS rows per request (/v1 instances, X-Priority: 2): a batch job
# beside the product, offering the heavy MLP more rows than it computes.
# wrk runs at nice 19 so that it takes the CPU the server leaves; the
# machine has 2 cores, shared by the server and both load generators.
#
# Needs wrk, and bench/results/registry with the heavy MLP (bench/run.sh
# builds it: run that first, or KEEP_REGISTRY=1 bench/run.sh once).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
FLOOD_CONNS=${FLOOD_CONNS:-16}
FLOOD_ROWS=${FLOOD_ROWS:-64}
ADDR=127.0.0.1:18080
ADMIN=127.0.0.1:18081
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-priority

command -v wrk >/dev/null || { echo "priority.sh: wrk not found: apt-get install -y wrk" >&2; exit 2; }
[[ -d bench/results/registry/customer-churn ]] || { echo "priority.sh: no bench/results/registry: run bench/run.sh first" >&2; exit 2; }
mkdir -p "$OUT"
make build >/dev/null

python3 - "$FLOOD_ROWS" >"$OUT/flood.lua" <<'EOF'
import sys
row = '{"customer_id":"12345","tenure_months":24,"monthly_charges":89.99,"contract":"month-to-month","support_calls":3}'
body = '{"model_id":"customer-churn","instances":[' + ",".join([row] * int(sys.argv[1])) + "]}"
print('wrk.method = "POST"\nwrk.path = "/v1/predictions"\nwrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["X-Priority"] = "2"\nwrk.body = \'%s\'' % body)
EOF

srv=""
cleanup() { [[ -n $srv ]] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; pkill -P $$ wrk 2>/dev/null || true; }
trap cleanup EXIT

serve() { # serve CONFIG: start the server, wait until ready
	bin/infergate serve --config "$1" --listen "$ADDR" --admin-listen "$ADMIN" >"$OUT/serve.log" 2>&1 &
	srv=$!
	for _ in $(seq 150); do
		curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "priority.sh: the server did not become ready" >&2
	cat "$OUT/serve.log" >&2
	exit 1
}

# wait_p99 LEVEL: the queue-wait p99 bucket of a level (all levels: "")
wait_p99() {
	curl -fsS "http://$ADMIN/metrics" | awk -v lv="$1" '
		/_queue_duration_seconds_bucket/ && (lv == "" ? /^infergate_batcher_queue_duration/ : index($0, "level=\"" lv "\"")) {
			match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); n[++k] = $NF; b[k] = le }
		END { total = n[k]; if (total == 0) { print "-"; exit }
			for (i = 1; i <= k; i++) if (n[i] >= 0.99 * total) { print b[i]; exit } }'
}

printf '%-9s %5s %9s %9s %9s %8s %11s %11s %11s\n' case round "p50_us" "p99_us" "lag99_us" "l1_errs" "l1_wait99" "l2_wait99" "l2_shed" | tee "$OUT/summary.txt"
for round in $(seq "$ROUNDS"); do
	for c in unloaded priority nolevels; do
		cfg=configs/bench/gateway-heavy-priority.yaml
		[[ $c == nolevels ]] && cfg=configs/bench/gateway-heavy-adaptive.yaml
		serve "$cfg"
		if [[ $c != unloaded ]]; then
			nice -n 19 wrk -t1 -c"$FLOOD_CONNS" -d12s -s "$OUT/flood.lua" "http://$ADDR" >"$OUT/wrk-$c-$round.txt" 2>&1 &
			sleep 2
		fi
		bin/infergate bench --scenario configs/bench/priority.yaml --out "$OUT/$c-$round" >"$OUT/$c-$round.txt" 2>&1
		if [[ $c == nolevels ]]; then
			l1=$(wait_p99 "") l2=$l1
			shed=$(curl -fsS "http://$ADMIN/metrics" | awk '/^infergate_batcher_rejected_total.*queue_full/ {s += $NF} END {print s + 0}')
		else
			l1=$(wait_p99 1) l2=$(wait_p99 2)
			shed=$(curl -fsS "http://$ADMIN/metrics" | awk '/^infergate_batcher_level_rejected_total.*level="2"/ {s += $NF} END {print s + 0}')
		fi
		python3 - "$OUT/$c-$round/report.json" "$c" "$round" "$l1" "$l2" "$shed" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))["steps"][0]["result"]
lat = r["latency"]
errs = r["error_count"]
print("%-9s %5s %9d %9d %9d %8d %11s %11s %11s" % (sys.argv[2], sys.argv[3], lat["p50_us"], lat["p99_us"], r["send_lag_p99_us"], errs, sys.argv[4], sys.argv[5], sys.argv[6]))
EOF
		wait_wrk=$(jobs -p | grep -v "^$srv$" || true)
		[[ -n $wait_wrk ]] && wait $wait_wrk 2>/dev/null || true
		kill "$srv" && wait "$srv" 2>/dev/null || true
		srv=""
	done
done
echo "results: $OUT"
